//! The set-wise SQL of a run. Statements are written once with PostgreSQL's `$1`
//! placeholders; SQLite reads the same numbers as `?1`. Every statement works on the staging
//! table of the run's own connection (`reconciliation_stage`, see [`super::stage`]).

use sea_orm::{DatabaseBackend, Statement, Value};

use crate::domain::identity::policy::OrgScope;

pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `col` restricted to the organisations of `scope` (and to none when the scope allows
/// unassigned objects). Ids are integers, so they are written inline.
pub fn scope_condition(col: &str, scope: Option<&OrgScope>) -> String {
    let Some(scope) = scope else { return "1 = 1".to_owned() };
    let ids: Vec<String> = scope.org_ids.iter().map(i64::to_string).collect();
    let mut parts = Vec::new();
    if !ids.is_empty() {
        parts.push(format!("{col} IN ({})", ids.join(",")));
    }
    if scope.include_unassigned {
        parts.push(format!("{col} IS NULL"));
    }
    if parts.is_empty() { "1 = 0".to_owned() } else { format!("({})", parts.join(" OR ")) }
}

/// The account a file line is for: the payment intent's when the line names one of ours
/// (`ia`), otherwise the account whose number the payer quoted (`na`). Used with
/// `COALESCE(ia.…, na.…)`. `provider` is the placeholder of the provider key.
fn line_account_joins(provider: &str) -> String {
    format!(
        "LEFT JOIN payment_intent pi ON pi.provider = {provider} AND pi.public_id = s.reference
           LEFT JOIN rent_account ia ON ia.id = pi.account_id
           LEFT JOIN rent_account na ON na.account_number = s.account_number"
    )
}

/// Classifies every line at once: in the ledger with the same amount (matched), with another
/// amount (amount_mismatch), not in the ledger but for a known account (late, posted next),
/// or for no account (unknown_account). `$1` run, `$2` ledger source, `$3` provider,
/// `$4` the note on late items.
pub fn classify_lines() -> String {
    let joins = line_account_joins("$3");
    format!(
        "INSERT INTO reconciliation_item
           (run_id, organisation_id, line_no, provider_payment_id, account_reference, file_amount_pence,
            ledger_amount_pence, channel, paid_at, status, ledger_entry_id, resolution, note)
         SELECT $1,
                CASE WHEN l.id IS NOT NULL THEN la.organisation_id
                     ELSE COALESCE(ia.organisation_id, na.organisation_id) END,
                s.line_no, s.payment_id, s.account_number, s.amount_pence,
                -l.amount_pence,
                s.channel, s.paid_at,
                CASE WHEN l.id IS NOT NULL AND -l.amount_pence = s.amount_pence THEN 'matched'
                     WHEN l.id IS NOT NULL THEN 'amount_mismatch'
                     WHEN COALESCE(ia.id, na.id) IS NULL THEN 'unknown_account'
                     ELSE 'late' END,
                l.id,
                CASE WHEN l.id IS NOT NULL AND -l.amount_pence = s.amount_pence THEN 'resolved'
                     WHEN l.id IS NULL AND COALESCE(ia.id, na.id) IS NOT NULL THEN 'resolved'
                     ELSE 'open' END,
                CASE WHEN l.id IS NULL AND COALESCE(ia.id, na.id) IS NOT NULL THEN $4 END
           FROM reconciliation_stage s
           LEFT JOIN ledger_entry l ON l.source = $2 AND l.source_ref = s.payment_id
           LEFT JOIN rent_account la ON la.id = l.account_id
           {joins}
          ORDER BY s.line_no"
    )
}

/// The lines to post now, with their accounts. `$1` run, `$2` provider.
pub fn late_lines() -> String {
    let joins = line_account_joins("$2");
    format!(
        "SELECT s.line_no AS line_no, COALESCE(ia.id, na.id) AS account_id
           FROM reconciliation_item i
           JOIN reconciliation_stage s ON s.line_no = i.line_no
           {joins}
          WHERE i.run_id = $1 AND i.status = 'late'
          ORDER BY s.line_no"
    )
}

/// This provider's ledger payments on the file's business dates that the file lacks, unless
/// an earlier run already accounted for them (an item of its points at the entry). `$1` run,
/// `$2` ledger source, `$3` first date, `$4` last date.
pub const NOT_IN_FILE: &str = "
    INSERT INTO reconciliation_item
      (run_id, organisation_id, line_no, provider_payment_id, account_reference, file_amount_pence,
       ledger_amount_pence, channel, paid_at, status, ledger_entry_id, resolution, note)
    SELECT $1, a.organisation_id, 0, l.source_ref, a.account_number, NULL,
           -l.amount_pence, l.channel, NULL, 'not_in_file', l.id, 'open', NULL
      FROM ledger_entry l
      JOIN rent_account a ON a.id = l.account_id
     WHERE l.source = $2 AND l.kind = 'payment'
       AND l.effective_date >= $3 AND l.effective_date <= $4
       AND NOT EXISTS (SELECT 1 FROM reconciliation_stage s WHERE s.payment_id = l.source_ref)
       AND NOT EXISTS (SELECT 1 FROM reconciliation_item e WHERE e.ledger_entry_id = l.id AND e.run_id <> $1)
     ORDER BY l.id";

/// Settles "not in file" items of earlier runs whose payment this file lists after all.
/// `$1` run, `$2` now, `$3` note, `$4` provider.
pub const SETTLE_EARLIER: &str = "
    UPDATE reconciliation_item SET resolution = 'resolved', resolved_at = $2, note = $3
     WHERE status = 'not_in_file' AND resolution = 'open' AND run_id <> $1
       AND run_id IN (SELECT id FROM reconciliation_run WHERE provider = $4)
       AND provider_payment_id IN (SELECT payment_id FROM reconciliation_stage)";

/// Points the late items at the entries just posted. `$1` run, `$2` ledger source.
pub const LINK_LATE: &str = "
    UPDATE reconciliation_item
       SET ledger_entry_id = (SELECT l.id FROM ledger_entry l
                               WHERE l.source = $2 AND l.source_ref = reconciliation_item.provider_payment_id),
           ledger_amount_pence = (SELECT -l.amount_pence FROM ledger_entry l
                                   WHERE l.source = $2 AND l.source_ref = reconciliation_item.provider_payment_id)
     WHERE run_id = $1 AND status = 'late'";

/// The run's figures per organisation and status. `$1` run.
pub const SUMMARISE: &str = "
    INSERT INTO reconciliation_summary (run_id, organisation_id, status, items, file_pence, ledger_pence)
    SELECT run_id, organisation_id, status, COUNT(*),
           CAST(COALESCE(SUM(file_amount_pence), 0) AS BIGINT), CAST(COALESCE(SUM(ledger_amount_pence), 0) AS BIGINT)
      FROM reconciliation_item
     WHERE run_id = $1
     GROUP BY run_id, organisation_id, status";
