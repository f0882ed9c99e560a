//! A reconciliation run: one provider's end-of-day file matched against the ledger, in one
//! transaction.
//!
//! 1. The file was parsed and checked whole beforehand ([`super::file`]); a file with any
//!    error never gets here.
//! 2. A file already reconciled (same provider, same SHA-256) is not run again: the earlier
//!    run is returned and nothing changes. The run row is UNIQUE on that pair, so two
//!    processes given the same file at once cannot both run it.
//! 3. The lines are bulk-loaded into a staging table ([`super::stage`]) and classified with
//!    set-wise joins against `ledger_entry` (on the provider's source and payment id),
//!    `payment_intent` (a line that names one of our intents is for its account) and
//!    `rent_account` (on the account number): matched, amount_mismatch, late or
//!    unknown_account, one item per line written by a single `INSERT … SELECT`.
//! 4. The provider's ledger payments on the file's business dates that the file lacks become
//!    not_in_file items (see [`super::file::business_dates`] for the day boundary), unless an
//!    earlier run of the provider already accounted for them; and earlier runs' open
//!    not_in_file items for payments this file does list are settled.
//! 5. Late lines are posted now through [`payments::ingest::post_payment`], exactly as a
//!    notification would have been (ledger entry, cached balance, outbox row for the HMS,
//!    the intent's status, live updates after commit); unknown accounts are held in suspense
//!    through [`payments::ingest::hold_in_suspense`].
//! 6. The run's counts and totals per organisation and status go into
//!    `reconciliation_summary`, the run row gets its figures, the audit trail a line, and
//!    everything commits together.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, SqliteTransactionMode, TransactionOptions, TransactionTrait, Value,
};
use serde_json::json;

use super::error::ReconciliationError;
use super::file::{EodFile, Line};
use super::model::ItemStatus;
use super::sql::{self, statement};
use super::stage;
use crate::domain::identity::audit::{self, Actor, ClientMeta, Event, Outcome as AuditOutcome};
use crate::domain::payments::ingest::{self, Outcome};
use crate::domain::payments::model::ledger_source;
use crate::domain::payments::{LiveBus, Notice, NoticeKind};
use crate::entity::{reconciliation_item, reconciliation_run, rent_account};

/// The providers whose files can be reconciled (`docs/payments.md`).
pub const PROVIDERS: &[&str] = &["sandbox", "govuk_pay", "event_grid"];
/// The note on an item the run posted.
pub const LATE_NOTE: &str = "Posted to the account by reconciliation: the provider's notification had not arrived.";
/// Accounts per `IN (...)` lookup.
const LOOKUP_CHUNK: usize = 500;

/// Progress through a run, for a progress bar.
pub trait Progress: Send + Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Who asked for a run, and for which provider.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest<'a> {
    pub provider: &'a str,
    /// `doorstep reconcile`, `drop folder`, … (recorded on the run and in the audit trail).
    pub started_by: &'a str,
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub run_id: i64,
    /// The file had been reconciled before: `run_id` is that run, and nothing changed.
    pub already: bool,
    pub lines: u64,
    pub elapsed: Duration,
}

impl Reconciled {
    pub fn lines_per_second(&self) -> f64 {
        self.lines as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Checks a provider key.
pub fn check_provider(provider: &str) -> Result<(), ReconciliationError> {
    if PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(ReconciliationError::invalid("provider", format!("must be one of {}", PROVIDERS.join(", "))))
    }
}

/// The run of this provider's file with these bytes, if there is one.
pub async fn find_run(
    db: &impl ConnectionTrait,
    provider: &str,
    sha256: &str,
) -> Result<Option<i64>, ReconciliationError> {
    Ok(reconciliation_run::Entity::find()
        .filter(reconciliation_run::Column::Provider.eq(provider))
        .filter(reconciliation_run::Column::FileSha256.eq(sha256))
        .one(db)
        .await?
        .map(|r| r.id))
}

/// Reconciles a parsed file. An `Err` means the database failed and nothing was committed.
pub async fn reconcile(
    db: &DatabaseConnection,
    live: &LiveBus,
    file: &EodFile,
    req: RunRequest<'_>,
    progress: &dyn Progress,
) -> Result<Reconciled, ReconciliationError> {
    check_provider(req.provider)?;
    let started = Instant::now();
    let lines = file.lines.len() as u64;
    if let Some(run_id) = find_run(db, req.provider, &file.sha256).await? {
        return Ok(Reconciled { run_id, already: true, lines, elapsed: started.elapsed() });
    }
    let result = match db.get_database_backend() {
        DbBackend::Postgres => {
            let (conn, pool) = stage::load_postgres(db, &file.lines, progress).await?;
            let result = run(&conn, live, file, req, progress).await;
            pool.close().await;
            result
        }
        _ => run(db, live, file, req, progress).await,
    };
    let (run_id, already) = result?;
    Ok(Reconciled { run_id, already, lines, elapsed: started.elapsed() })
}

#[derive(FromQueryResult)]
struct LateLine {
    line_no: i32,
    account_id: i64,
}

#[derive(FromQueryResult)]
struct LineNo {
    line_no: i32,
}

#[derive(FromQueryResult)]
struct StatusFigures {
    status: String,
    items: i64,
    file_pence: i64,
    ledger_pence: i64,
}

/// The run itself, on the connection that holds the staging table (PostgreSQL) or will
/// (SQLite). Returns the run id and whether it was another process's run of the same file.
async fn run(
    conn: &DatabaseConnection,
    live: &LiveBus,
    file: &EodFile,
    req: RunRequest<'_>,
    progress: &dyn Progress,
) -> Result<(i64, bool), ReconciliationError> {
    let backend = conn.get_database_backend();
    // IMMEDIATE takes SQLite's write lock before the first read, so nothing changes between
    // the classification and the postings.
    let txn = conn
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let now = Utc::now();
    let inserted = reconciliation_run::Entity::insert(reconciliation_run::ActiveModel {
        provider: Set(req.provider.to_owned()),
        file_name: Set(file.name.clone()),
        file_sha256: Set(file.sha256.clone()),
        started_at: Set(now),
        finished_at: Set(None),
        lines: Set(i32::try_from(file.lines.len()).unwrap_or(i32::MAX)),
        file_total_pence: Set(file.total_pence),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([reconciliation_run::Column::Provider, reconciliation_run::Column::FileSha256])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        // Another process ran this file while we were loading it.
        txn.rollback().await?;
        let id = find_run(conn, req.provider, &file.sha256).await?.ok_or_else(|| {
            ReconciliationError::Conflict("the file's run disappeared while it was being read".into())
        })?;
        return Ok((id, true));
    }
    let run_id = find_run(&txn, req.provider, &file.sha256)
        .await?
        .ok_or_else(|| ReconciliationError::Conflict("the run row just written cannot be read".into()))?;
    match backend {
        DbBackend::Sqlite => stage::load_sqlite(&txn, &file.lines, progress).await?,
        // Enough memory for the hash joins of a million-line file; this transaction only.
        _ => {
            txn.execute_unprepared("SET LOCAL work_mem = '256MB'").await?;
        }
    }
    let source = ledger_source(req.provider);
    let exec = |sql: &str, values: Vec<Value>| statement(backend, sql, values);

    progress.stage("matching", file.lines.len() as u64);
    txn.execute_raw(exec(
        &sql::classify_lines(),
        vec![run_id.into(), source.clone().into(), req.provider.into(), LATE_NOTE.into()],
    ))
    .await?;
    if let Some(dates) = file.dates {
        txn.execute_raw(exec(
            sql::NOT_IN_FILE,
            vec![run_id.into(), source.clone().into(), dates.from.into(), dates.to.into()],
        ))
        .await?;
    }
    let settled_note = format!("Listed in {} (reconciliation run {run_id}).", file.name);
    txn.execute_raw(exec(
        sql::SETTLE_EARLIER,
        vec![run_id.into(), now.into(), settled_note.into(), req.provider.into()],
    ))
    .await?;
    progress.inc(file.lines.len() as u64);

    let mut changes = Vec::new();
    let late_pence = post_late(&txn, file, req.provider, run_id, &mut changes, progress).await?;
    txn.execute_raw(exec(sql::LINK_LATE, vec![run_id.into(), source.into()])).await?;
    hold_unknown(&txn, file, req.provider, run_id, progress).await?;

    txn.execute_raw(exec(sql::SUMMARISE, vec![run_id.into()])).await?;
    let figures = StatusFigures::find_by_statement(exec(
        "SELECT status, CAST(SUM(items) AS BIGINT) AS items, CAST(SUM(file_pence) AS BIGINT) AS file_pence,
                CAST(SUM(ledger_pence) AS BIGINT) AS ledger_pence
           FROM reconciliation_summary WHERE run_id = $1 GROUP BY status",
        vec![run_id.into()],
    ))
    .all(&txn)
    .await?;
    let count = |s: ItemStatus| {
        let n = figures.iter().find(|f| f.status == s.as_str()).map_or(0, |f| f.items);
        i32::try_from(n).unwrap_or(i32::MAX)
    };
    let dates = file.dates;
    txn.execute_raw(exec(
        "UPDATE reconciliation_run
            SET finished_at = $2, matched = $3, late = $4, amount_mismatch = $5, unknown_account = $6,
                not_in_file = $7, late_posted_pence = $8, business_date_from = $9, business_date_to = $10,
                started_by = $11
          WHERE id = $1",
        vec![
            run_id.into(),
            Utc::now().into(),
            count(ItemStatus::Matched).into(),
            count(ItemStatus::Late).into(),
            count(ItemStatus::AmountMismatch).into(),
            count(ItemStatus::UnknownAccount).into(),
            count(ItemStatus::NotInFile).into(),
            late_pence.into(),
            dates.map(|d| d.from).into(),
            dates.map(|d| d.to).into(),
            req.started_by.into(),
        ],
    ))
    .await?;
    let by_status: serde_json::Map<String, serde_json::Value> = figures
        .iter()
        .map(|f| {
            (f.status.clone(), json!({ "items": f.items, "file_pence": f.file_pence, "ledger_pence": f.ledger_pence }))
        })
        .collect();
    audit::record(
        &txn,
        Event::new("reconciliation.run", AuditOutcome::Success, Actor::system(req.started_by))
            .object("reconciliation_run", run_id)
            .details(json!({
                "provider": req.provider,
                "file": file.name,
                "sha256": file.sha256,
                "lines": file.lines.len(),
                "statuses": by_status,
            })),
        &ClientMeta::default(),
    )
    .await?;
    if backend == DbBackend::Sqlite {
        stage::drop_sqlite(&txn).await?;
    }
    txn.commit().await?;
    live.after_commit(changes);
    Ok((run_id, false))
}

/// The notice a line stands for, as if the provider had sent it.
fn notice(provider: &str, run_id: i64, l: &Line) -> Notice {
    Notice {
        provider: provider.to_owned(),
        event_id: format!("reconciliation:{run_id}:{}", l.line),
        event_type: "reconciliation.line".into(),
        kind: NoticeKind::Succeeded,
        payment_id: l.payment_id.to_string(),
        intent_ref: l.reference.as_ref().map(|r| r.to_string()),
        account_reference: l.account_number.to_string(),
        amount: Money::from_pence(l.amount_pence),
        channel: l.channel,
        paid_at: l.paid_at,
        failure: None,
        payload: String::new(),
    }
}

fn line_of(file: &EodFile, line_no: i32) -> Result<&Line, ReconciliationError> {
    let wanted = u32::try_from(line_no).unwrap_or(0);
    file.lines
        .binary_search_by_key(&wanted, |l| l.line)
        .ok()
        .and_then(|i| file.lines.get(i))
        .ok_or_else(|| ReconciliationError::Conflict(format!("line {line_no} of the staging table is not in the file")))
}

/// Posts every late line to its account. Returns what was posted, in pence.
async fn post_late(
    txn: &DatabaseTransaction,
    file: &EodFile,
    provider: &str,
    run_id: i64,
    changes: &mut Vec<crate::domain::payments::Change>,
    progress: &dyn Progress,
) -> Result<i64, ReconciliationError> {
    let backend = txn.get_database_backend();
    let late =
        LateLine::find_by_statement(statement(backend, &sql::late_lines(), vec![run_id.into(), provider.into()]))
            .all(txn)
            .await?;
    progress.stage("posting late payments", late.len() as u64);
    let ids: Vec<i64> = {
        let mut v: Vec<i64> = late.iter().map(|l| l.account_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut accounts: HashMap<i64, rent_account::Model> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        for a in rent_account::Entity::find().filter(rent_account::Column::Id.is_in(chunk.to_vec())).all(txn).await? {
            accounts.insert(a.id, a);
        }
    }
    let mut posted: i64 = 0;
    for l in &late {
        let line = line_of(file, l.line_no)?;
        let account = accounts.get(&l.account_id).ok_or_else(|| {
            ReconciliationError::Conflict(format!("account {} disappeared during the run", l.account_id))
        })?;
        let outcome = ingest::post_payment(txn, account, &notice(provider, run_id, line), changes).await?;
        match outcome {
            Outcome::Posted { .. } => posted = posted.saturating_add(line.amount_pence),
            Outcome::AlreadyPosted { entry_id, .. } => {
                // Its notification was posted while this run was matching.
                set_item(txn, run_id, line, ItemStatus::Matched, Some(entry_id), "resolved", None).await?;
            }
            Outcome::Conflict(why) => {
                let note = format!("Not posted: {why}.");
                set_item(txn, run_id, line, ItemStatus::AmountMismatch, None, "open", Some(note)).await?;
            }
            other => {
                let note = format!("Not posted ({}).", other.as_str());
                set_item(txn, run_id, line, ItemStatus::Late, None, "open", Some(note)).await?;
            }
        }
        progress.inc(1);
    }
    Ok(posted)
}

async fn set_item(
    txn: &DatabaseTransaction,
    run_id: i64,
    line: &Line,
    status: ItemStatus,
    entry_id: Option<i64>,
    resolution: &str,
    note: Option<String>,
) -> Result<(), ReconciliationError> {
    let mut update = reconciliation_item::Entity::update_many()
        .col_expr(reconciliation_item::Column::Status, sea_orm::sea_query::Expr::value(status.as_str()))
        .col_expr(reconciliation_item::Column::Resolution, sea_orm::sea_query::Expr::value(resolution))
        .col_expr(reconciliation_item::Column::Note, sea_orm::sea_query::Expr::value(note));
    if let Some(id) = entry_id {
        update =
            update.col_expr(reconciliation_item::Column::LedgerEntryId, sea_orm::sea_query::Expr::value(id)).col_expr(
                reconciliation_item::Column::LedgerAmountPence,
                sea_orm::sea_query::Expr::value(line.amount_pence),
            );
    }
    update
        .filter(reconciliation_item::Column::RunId.eq(run_id))
        .filter(reconciliation_item::Column::LineNo.eq(i32::try_from(line.line).unwrap_or(i32::MAX)))
        .exec(txn)
        .await?;
    Ok(())
}

/// Holds every line for an unknown account in suspense (once per payment id: a payment
/// already held by its notification stays as it is).
async fn hold_unknown(
    txn: &DatabaseTransaction,
    file: &EodFile,
    provider: &str,
    run_id: i64,
    progress: &dyn Progress,
) -> Result<(), ReconciliationError> {
    let unknown = LineNo::find_by_statement(statement(
        txn.get_database_backend(),
        "SELECT line_no FROM reconciliation_item WHERE run_id = $1 AND status = 'unknown_account' ORDER BY line_no",
        vec![run_id.into()],
    ))
    .all(txn)
    .await?;
    progress.stage("holding in suspense", unknown.len() as u64);
    for u in &unknown {
        let line = line_of(file, u.line_no)?;
        ingest::hold_in_suspense(txn, &notice(provider, run_id, line), "reconciliation").await?;
        progress.inc(1);
    }
    Ok(())
}
