//! Reading runs back: the report (counts, totals, a line per reason code), the items, and
//! the report as CSV and as text. Everything takes an optional [`OrgScope`]: staff read the
//! figures of their own organisations (a group's head office also those of payments for no
//! known account); the command line and the jobs read everything.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_shared::Money;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::error::ReconciliationError;
use super::model::{
    ItemStatus, ReconciliationCounts, ReconciliationItemView, ReconciliationReason, ReconciliationReport,
    ReconciliationRunView, ReconciliationTotals,
};
use super::sql::{scope_condition, statement};
use crate::domain::identity::policy::OrgScope;

#[derive(FromQueryResult)]
struct RunRow {
    id: i64,
    provider: String,
    file_name: String,
    file_sha256: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    started_by: Option<String>,
    business_date_from: Option<NaiveDate>,
    business_date_to: Option<NaiveDate>,
    lines: i32,
}

const RUN_COLUMNS: &str = "r.id, r.provider, r.file_name, r.file_sha256, r.started_at, r.finished_at, r.started_by, \
                           r.business_date_from, r.business_date_to, r.lines";

/// Whether run `r` is one the scope may see: it has items of the scope's organisations, or
/// it has no items at all and the scope takes unassigned objects.
pub fn run_visible(scope: Option<&OrgScope>) -> String {
    let Some(s) = scope else { return "1 = 1".to_owned() };
    let mut cond = format!(
        "EXISTS (SELECT 1 FROM reconciliation_summary vs WHERE vs.run_id = r.id AND {})",
        scope_condition("vs.organisation_id", Some(s))
    );
    if s.include_unassigned {
        cond = format!("({cond} OR NOT EXISTS (SELECT 1 FROM reconciliation_summary ve WHERE ve.run_id = r.id))");
    }
    cond
}

#[derive(FromQueryResult)]
struct Figures {
    run_id: i64,
    status: String,
    items: i64,
    file_pence: i64,
    ledger_pence: i64,
}

#[derive(FromQueryResult)]
struct OpenCount {
    run_id: i64,
    status: String,
    n: i64,
}

/// Runs newest first, `limit` at most, older than id `before`. Returns one more than asked
/// for when there are more.
pub async fn runs(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<ReconciliationRunView>, ReconciliationError> {
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = Vec::new();
    let before_cond = match before {
        Some(b) => {
            values.push(b.into());
            "r.id < $1"
        }
        None => "1 = 1",
    };
    let rows = RunRow::find_by_statement(statement(
        backend,
        &format!(
            "SELECT {RUN_COLUMNS} FROM reconciliation_run r WHERE {before_cond} AND {} ORDER BY r.id DESC LIMIT {}",
            run_visible(scope),
            limit + 1
        ),
        values,
    ))
    .all(db)
    .await?;
    views(db, scope, rows).await
}

/// One run, if the scope may see it.
pub async fn run(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    id: i64,
) -> Result<Option<ReconciliationRunView>, ReconciliationError> {
    let rows = RunRow::find_by_statement(statement(
        db.get_database_backend(),
        &format!("SELECT {RUN_COLUMNS} FROM reconciliation_run r WHERE r.id = $1 AND {}", run_visible(scope)),
        vec![id.into()],
    ))
    .all(db)
    .await?;
    Ok(views(db, scope, rows).await?.into_iter().next())
}

/// The report of one run, if the scope may see it.
pub async fn report(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    id: i64,
) -> Result<Option<ReconciliationReport>, ReconciliationError> {
    let Some(run) = run(db, scope, id).await? else { return Ok(None) };
    let (figures, open) = figures(db, scope, &[id]).await?;
    let reasons = ItemStatus::ALL
        .iter()
        .map(|s| {
            let f = figures.iter().find(|f| f.status == s.as_str());
            ReconciliationReason {
                reason_code: s.as_str().to_owned(),
                exception: s.is_exception(),
                description: s.describe().to_owned(),
                items: f.map_or(0, |f| f.items),
                open: open.iter().filter(|o| o.status == s.as_str()).map(|o| o.n).sum(),
                file_pence: f.map_or(0, |f| f.file_pence),
                ledger_pence: f.map_or(0, |f| f.ledger_pence),
            }
        })
        .collect();
    Ok(Some(ReconciliationReport { run, reasons }))
}

async fn figures(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    ids: &[i64],
) -> Result<(Vec<Figures>, Vec<OpenCount>), ReconciliationError> {
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let backend = db.get_database_backend();
    let in_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let figures = Figures::find_by_statement(statement(
        backend,
        &format!(
            "SELECT run_id, status, CAST(SUM(items) AS BIGINT) AS items, CAST(SUM(file_pence) AS BIGINT) AS file_pence,
                    CAST(SUM(ledger_pence) AS BIGINT) AS ledger_pence
               FROM reconciliation_summary
              WHERE run_id IN ({in_list}) AND {}
              GROUP BY run_id, status",
            scope_condition("organisation_id", scope)
        ),
        vec![],
    ))
    .all(db)
    .await?;
    let open = OpenCount::find_by_statement(statement(
        backend,
        &format!(
            "SELECT run_id, status, COUNT(*) AS n
               FROM reconciliation_item
              WHERE run_id IN ({in_list}) AND status IN ('amount_mismatch', 'unknown_account', 'not_in_file')
                AND resolution = 'open' AND {}
              GROUP BY run_id, status",
            scope_condition("organisation_id", scope)
        ),
        vec![],
    ))
    .all(db)
    .await?;
    Ok((figures, open))
}

async fn views(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    rows: Vec<RunRow>,
) -> Result<Vec<ReconciliationRunView>, ReconciliationError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let (figures, open) = figures(db, scope, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine: Vec<&Figures> = figures.iter().filter(|f| f.run_id == r.id).collect();
            let of = |s: ItemStatus| mine.iter().find(|f| f.status == s.as_str()).copied();
            let items = |s: ItemStatus| of(s).map_or(0, |f| f.items);
            let file = |s: ItemStatus| of(s).map_or(0, |f| f.file_pence);
            let ledger = |s: ItemStatus| of(s).map_or(0, |f| f.ledger_pence);
            let counts = ReconciliationCounts {
                matched: items(ItemStatus::Matched),
                late: items(ItemStatus::Late),
                amount_mismatch: items(ItemStatus::AmountMismatch),
                unknown_account: items(ItemStatus::UnknownAccount),
                not_in_file: items(ItemStatus::NotInFile),
                exceptions: ItemStatus::ALL.iter().filter(|s| s.is_exception()).map(|s| items(*s)).sum(),
                open_exceptions: open.iter().filter(|o| o.run_id == r.id).map(|o| o.n).sum(),
            };
            let totals = ReconciliationTotals {
                file_pence: ItemStatus::ALL.iter().map(|s| file(*s)).sum(),
                matched_pence: file(ItemStatus::Matched),
                late_posted_pence: ledger(ItemStatus::Late),
                amount_mismatch_file_pence: file(ItemStatus::AmountMismatch),
                amount_mismatch_ledger_pence: ledger(ItemStatus::AmountMismatch),
                unknown_account_pence: file(ItemStatus::UnknownAccount),
                not_in_file_pence: ledger(ItemStatus::NotInFile),
            };
            ReconciliationRunView {
                id: r.id,
                provider: r.provider,
                file_name: r.file_name,
                file_sha256: r.file_sha256,
                started_at: r.started_at,
                finished_at: r.finished_at,
                started_by: r.started_by,
                business_date_from: r.business_date_from,
                business_date_to: r.business_date_to,
                lines: i64::from(r.lines),
                counts,
                totals,
            }
        })
        .collect())
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    /// A reason code, or `exceptions` for the three that staff work.
    pub status: Option<String>,
    /// `open` or `resolved`.
    pub resolution: Option<String>,
    /// Only items after this id.
    pub after: Option<i64>,
    /// Leave out matched items (the report file).
    pub not_matched: bool,
}

impl ItemFilter {
    pub fn check(&self) -> Result<(), ReconciliationError> {
        if let Some(s) = self.status.as_deref()
            && s != "exceptions"
            && ItemStatus::parse(s).is_none()
        {
            return Err(ReconciliationError::invalid(
                "status",
                format!(
                    "must be exceptions or one of {}",
                    ItemStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let Some(r) = self.resolution.as_deref()
            && r != "open"
            && r != "resolved"
        {
            return Err(ReconciliationError::invalid("resolution", "must be open or resolved"));
        }
        Ok(())
    }
}

#[derive(FromQueryResult)]
pub(crate) struct ItemRow {
    pub id: i64,
    pub run_id: i64,
    pub line_no: i32,
    pub status: String,
    pub provider_payment_id: String,
    pub account_reference: String,
    pub account_id: Option<i64>,
    pub file_amount_pence: Option<i64>,
    pub ledger_amount_pence: Option<i64>,
    pub channel: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub ledger_entry_id: Option<i64>,
    pub suspense_payment_id: Option<i64>,
    pub resolution: String,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<ItemRow> for ReconciliationItemView {
    fn from(r: ItemRow) -> ReconciliationItemView {
        let difference = match (r.file_amount_pence, r.ledger_amount_pence) {
            (Some(f), Some(l)) if f != l => Some(f - l),
            _ => None,
        };
        ReconciliationItemView {
            id: r.id,
            run_id: r.run_id,
            line: (r.line_no > 0).then_some(r.line_no),
            reason: ItemStatus::parse(&r.status).map_or("", ItemStatus::describe).to_owned(),
            status: r.status,
            provider_payment_id: r.provider_payment_id,
            account_reference: r.account_reference,
            account_id: r.account_id,
            file_amount_pence: r.file_amount_pence,
            ledger_amount_pence: r.ledger_amount_pence,
            difference_pence: difference,
            channel: r.channel,
            paid_at: r.paid_at,
            ledger_entry_id: r.ledger_entry_id,
            suspense_payment_id: r.suspense_payment_id,
            resolution: r.resolution,
            note: r.note,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
        }
    }
}

/// The select of an item with what staff need beside it: the account it is on, the suspense
/// payment holding it, who resolved it.
pub(crate) const ITEM_SELECT: &str = "
    SELECT i.id, i.run_id, i.line_no, i.status, i.provider_payment_id, i.account_reference, l.account_id,
           i.file_amount_pence, i.ledger_amount_pence, i.channel, i.paid_at, i.ledger_entry_id,
           sp.id AS suspense_payment_id, i.resolution, i.note, u.email AS resolved_by, i.resolved_at
      FROM reconciliation_item i
      JOIN reconciliation_run r ON r.id = i.run_id
      LEFT JOIN ledger_entry l ON l.id = i.ledger_entry_id
      LEFT JOIN suspense_payment sp
             ON i.status = 'unknown_account' AND sp.provider = r.provider AND sp.provider_payment_id = i.provider_payment_id
      LEFT JOIN app_user u ON u.id = i.resolved_by";

/// Items of run `run_id` in the scope, in file order (ledger payments the file lacks last),
/// `limit` at most (one more when there are more).
pub async fn items(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    run_id: i64,
    filter: &ItemFilter,
    limit: Option<u64>,
) -> Result<Vec<ReconciliationItemView>, ReconciliationError> {
    filter.check()?;
    let mut values: Vec<Value> = vec![run_id.into()];
    let mut conds = vec!["i.run_id = $1".to_owned(), scope_condition("i.organisation_id", scope)];
    match filter.status.as_deref() {
        Some("exceptions") => {
            conds.push("i.status IN ('amount_mismatch', 'unknown_account', 'not_in_file')".into());
        }
        Some(s) => {
            values.push(s.to_owned().into());
            conds.push(format!("i.status = ${}", values.len()));
        }
        None => {}
    }
    if filter.not_matched {
        conds.push("i.status <> 'matched'".into());
    }
    if let Some(r) = &filter.resolution {
        values.push(r.clone().into());
        conds.push(format!("i.resolution = ${}", values.len()));
    }
    if let Some(a) = filter.after {
        values.push(a.into());
        conds.push(format!("i.id > ${}", values.len()));
    }
    let limit = limit.map(|n| format!(" LIMIT {}", n + 1)).unwrap_or_default();
    let rows = ItemRow::find_by_statement(statement(
        db.get_database_backend(),
        &format!("{ITEM_SELECT} WHERE {} ORDER BY i.id{limit}", conds.join(" AND ")),
        values,
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(ReconciliationItemView::from).collect())
}

/// One item by id (no scope check: the caller does that on the item's organisation).
pub(crate) async fn item(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<ReconciliationItemView>, ReconciliationError> {
    let rows = ItemRow::find_by_statement(statement(
        db.get_database_backend(),
        &format!("{ITEM_SELECT} WHERE i.id = $1"),
        vec![id.into()],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().next().map(ReconciliationItemView::from))
}

/// The CSV columns of a report file.
pub const CSV_HEADER: [&str; 14] = [
    "run_id",
    "reason_code",
    "line",
    "provider_payment_id",
    "account_reference",
    "file_amount_pence",
    "ledger_amount_pence",
    "difference_pence",
    "channel",
    "paid_at",
    "resolution",
    "note",
    "resolved_by",
    "resolved_at",
];

/// Items as CSV, one line each (what staff open in a spreadsheet).
pub fn items_csv(items: &[ReconciliationItemView]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for i in items {
        w.write_record([
            i.run_id.to_string(),
            i.status.clone(),
            i.line.map(|l| l.to_string()).unwrap_or_default(),
            i.provider_payment_id.clone(),
            i.account_reference.clone(),
            opt(i.file_amount_pence),
            opt(i.ledger_amount_pence),
            opt(i.difference_pence),
            i.channel.clone().unwrap_or_default(),
            i.paid_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            i.resolution.clone(),
            i.note.clone().unwrap_or_default(),
            i.resolved_by.clone().unwrap_or_default(),
            i.resolved_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The report as people read it on a terminal.
pub fn text(report: &ReconciliationReport, exceptions: &[ReconciliationItemView], shown: usize) -> String {
    use std::fmt::Write;
    let r = &report.run;
    let mut out = String::new();
    let dates = match (r.business_date_from, r.business_date_to) {
        (Some(a), Some(b)) if a == b => format!("business date {a}"),
        (Some(a), Some(b)) => format!("business dates {a} to {b}"),
        _ => "no business date".to_owned(),
    };
    let _ = writeln!(
        out,
        "Run {} of {} ({} file {}, {dates}): {} lines, {} in the file",
        r.id,
        r.file_name,
        r.provider,
        &r.file_sha256[..r.file_sha256.len().min(12)],
        r.lines,
        Money::from_pence(r.totals.file_pence)
    );
    let _ = writeln!(out, "\n  {:<18} {:>10} {:>8} {:>16} {:>16}", "reason", "items", "open", "file", "ledger");
    for s in &report.reasons {
        let _ = writeln!(
            out,
            "  {:<18} {:>10} {:>8} {:>16} {:>16}",
            s.reason_code,
            s.items,
            if s.exception { s.open.to_string() } else { "-".into() },
            Money::from_pence(s.file_pence).to_string(),
            Money::from_pence(s.ledger_pence).to_string()
        );
    }
    let _ = writeln!(
        out,
        "\n  posted late: {}; held in suspense: {}; exceptions: {} ({} open)",
        Money::from_pence(r.totals.late_posted_pence),
        Money::from_pence(r.totals.unknown_account_pence),
        r.counts.exceptions,
        r.counts.open_exceptions
    );
    let listed: Vec<&ReconciliationItemView> = exceptions.iter().filter(|i| i.status != "late").collect();
    if !listed.is_empty() {
        let _ = writeln!(out, "\nExceptions:");
        for i in listed.iter().take(shown) {
            let line = i.line.map_or("not in file".to_owned(), |l| format!("line {l}"));
            let amounts = match (i.file_amount_pence, i.ledger_amount_pence) {
                (Some(f), Some(l)) => format!("file {} / ledger {}", Money::from_pence(f), Money::from_pence(l)),
                (Some(f), None) => format!("file {}", Money::from_pence(f)),
                (None, Some(l)) => format!("ledger {}", Money::from_pence(l)),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<12} {:<16} {} account {}: {amounts}",
                line, i.status, i.provider_payment_id, i.account_reference
            );
        }
        if listed.len() > shown {
            let _ = writeln!(out, "  … and {} more (--format csv lists them all)", listed.len() - shown);
        }
    }
    out
}

/// Everything a run's reader gets on the command line or beside a dropped file: the report
/// for every organisation and the items that are not simply matched.
pub async fn full(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<(ReconciliationReport, Vec<ReconciliationItemView>), ReconciliationError> {
    let report = report(db, None, run_id)
        .await?
        .ok_or_else(|| ReconciliationError::Conflict(format!("reconciliation run {run_id} cannot be read")))?;
    let items = items(db, None, run_id, &ItemFilter { not_matched: true, ..ItemFilter::default() }, None).await?;
    Ok((report, items))
}

/// The JSON form of a run's outcome (`doorstep reconcile --format json`, the drop folder's
/// `.report.json`).
pub fn outcome_json(
    done: &super::service::Reconciled,
    report: &ReconciliationReport,
    items: &[ReconciliationItemView],
) -> serde_json::Value {
    serde_json::json!({
        "outcome": if done.already { "already_reconciled" } else { "reconciled" },
        "run_id": done.run_id,
        "elapsed_ms": done.elapsed.as_millis() as u64,
        "lines_per_second": done.lines_per_second().round(),
        "report": report,
        "items": items,
    })
}

/// The JSON form of a refused file.
pub fn rejected_json(errors: &super::file::FileErrors) -> serde_json::Value {
    serde_json::json!({ "outcome": "rejected", "file": errors.file, "sha256": errors.sha256, "lines": errors.lines,
                        "error_count": errors.error_count, "errors": errors.errors })
}
