//! Applying an export to the database, in one transaction for the whole run.
//!
//! 1. The rows of every file but `transactions.csv` are checked against the database
//!    (organisations exist, references resolve to a row in this export or already in the
//!    database, keys that must be unique are). Nothing is written yet.
//! 2. If nothing failed so far, or `skip_invalid` is on, they are upserted on their HMS
//!    reference in dependency order.
//! 3. `transactions.csv` is streamed a second time ([`TransactionsFile::reread`]) in
//!    batches: each row's account must resolve, and an HMS transaction id posted before must
//!    match; the rows that pass are posted straight away, with source `hms` and the HMS
//!    transaction id as `source_ref` (the ledger's idempotency key), in multi-row inserts.
//!    Each account touched is locked as [`post_batch`](crate::domain::ledger::post_batch) locks it (a write to its row
//!    before anything is computed), its running balance is carried in memory in file order,
//!    and its cached balance, version and last entry date are written once at the end. Once
//!    the run is sure to be rejected, the rest of the file is only checked.
//! 4. If anything failed and `skip_invalid` is off, the transaction is rolled back: the run
//!    is rejected and only its `import_run` record is written.
//!
//! The importer never deletes: a row missing from a later export stays as it was.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_shared::Money;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
    Value,
};
use serde::Serialize;

use super::format::{File, RowError};
use super::read::{
    AccountIn, Batch, Export, MemberIn, PersonIn, PropertyIn, ReadError, Rec, TenancyIn, TransactionIn,
    TransactionsFile, WorkIn,
};
use crate::domain::ledger::{Channel, EntryKind, LedgerError, indexes};
use crate::entity::{
    housing_officer, import_run, ledger_entry, organisation, person, planned_work, property, rent_account, tenancy,
    tenancy_member,
};

/// The ledger source of imported transactions.
pub const SOURCE: &str = "hms";
/// Keys per `IN (...)` lookup: well under SQLite's parameter limit.
const LOOKUP_CHUNK: usize = 500;
/// Rows per multi-row insert.
const INSERT_CHUNK: usize = 500;
/// Transactions posted between refreshes of PostgreSQL's statistics on the ledger.
const ANALYZE_EVERY: u64 = 200_000;
/// Valid rows of `transactions.csv` per batch from the reading thread (and per lookup of
/// ids posted before).
const TX_BATCH: usize = 5000;
/// Batches the reading thread may be ahead of the database.
const TX_BATCHES_AHEAD: usize = 4;
/// Ledger entries per multi-row insert on SQLite: 10 bound parameters each, well under its
/// limit of 32766.
const SQLITE_ENTRIES_PER_INSERT: usize = 1000;
/// Ledger entries per insert on PostgreSQL, which takes them as ten arrays (so its limit of
/// 65535 parameters does not come into it).
const POSTGRES_ENTRIES_PER_INSERT: usize = 5000;
/// Accounts per update of the cached totals (4 parameters each).
const TOTALS_CHUNK: usize = 2000;
/// Errors kept in the `import_run` summary (all of them are in the report itself).
const MAX_ERRORS_IN_SUMMARY: usize = 1000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import the valid rows and report the rest instead of rejecting the run.
    pub skip_invalid: bool,
    /// Whether the ledger's secondary indexes are set aside while transactions are posted.
    pub indexes: IndexMode,
}

/// Whether an import sets the ledger's secondary indexes aside while it posts, and builds
/// them once before it commits ([`ledger::indexes`](crate::domain::ledger::indexes)). That
/// turns a first load of a hundred million transactions from hours into a fraction of that,
/// but on PostgreSQL it also locks the ledger against reads until the import commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexMode {
    /// Only for a first load: at least [`DEFER_INDEXES_FROM`] transactions to post, and at
    /// least as many as the ledger holds already. A daily export never qualifies.
    #[default]
    Auto,
    Always,
    Never,
}

/// The fewest transactions for which [`IndexMode::Auto`] sets the indexes aside.
pub const DEFER_INDEXES_FROM: u64 = 1_000_000;

/// Progress through an import, for a progress bar.
pub trait ImportProgress: Send + Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    /// The first reading of a streamed file ([`read_dir_with`](super::read::read_dir_with)):
    /// `done` of its `total` bytes.
    fn reading(&self, _file: &str, _done: u64, _total: u64) {}
}

pub struct NoProgress;
impl ImportProgress for NoProgress {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was valid and is in.
    Committed,
    /// `--skip-invalid`: the valid rows are in, the rest are in the report.
    CommittedWithSkips,
    /// Something was invalid: nothing was written.
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::CommittedWithSkips => "committed_with_skips",
            Outcome::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    pub file: &'static str,
    /// Data rows in the file.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Transactions only: newly posted, and already posted by an earlier run.
    pub posted: u64,
    pub already_posted: u64,
    /// Rows not imported (because of their own errors or a row they depend on).
    pub skipped: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub origin: String,
    pub content_hash: String,
    pub outcome: Outcome,
    pub files: Vec<FileSummary>,
    pub errors: Vec<RowError>,
    pub ignored_files: Vec<String>,
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
    pub import_run_id: Option<i64>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl ImportReport {
    pub fn total_rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    pub fn rows_per_second(&self) -> f64 {
        self.total_rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for ImportReport {
    /// The report people read: every error located as `file:line:column: field: reason`,
    /// then a table of what happened per file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "{e}")?;
        }
        if !self.errors.is_empty() {
            writeln!(f)?;
        }
        for name in &self.ignored_files {
            writeln!(f, "note: {name} is not an export file and was ignored")?;
        }
        writeln!(
            f,
            "{:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "file", "rows", "inserted", "updated", "unchanged", "posted", "already", "skipped"
        )?;
        for s in &self.files {
            let (ins, upd, unch, posted, already) = if s.file == File::Transactions.name() {
                ("-".into(), "-".into(), "-".into(), s.posted.to_string(), s.already_posted.to_string())
            } else {
                (s.inserted.to_string(), s.updated.to_string(), s.unchanged.to_string(), "-".into(), "-".into())
            };
            writeln!(
                f,
                "{:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                s.file, s.rows, ins, upd, unch, posted, already, s.skipped
            )?;
        }
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "\n{}: {} rows in {secs:.2} s ({:.0} rows/s), {} error(s){}",
            match self.outcome {
                Outcome::Committed => "committed",
                Outcome::CommittedWithSkips => "committed, skipping the rows in error",
                Outcome::Rejected => "REJECTED",
            },
            self.total_rows(),
            self.rows_per_second(),
            self.errors.len(),
            if self.outcome == Outcome::Rejected {
                "; nothing was imported (fix the files, or re-run with --skip-invalid to import the valid rows)"
            } else {
                ""
            }
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// `transactions.csv` could not be read again, or had changed since the first reading.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A transaction id checked as new was in the ledger by the time it was posted.
    #[error(
        "some of the transactions were posted by another import running at the same time; nothing was imported: run this one again"
    )]
    Concurrent,
}

/// What a reference resolves to: the row's id (none yet if this run inserts it) and the
/// organisation it belongs to.
#[derive(Debug, Clone, Copy)]
struct Known {
    id: Option<i64>,
    org: i64,
}

/// Row errors found against the database, plus the keys that failed (from reading too).
struct Checks<'a> {
    export: &'a Export,
    errors: Vec<RowError>,
    failed: HashMap<(File, String), u64>,
}

impl Checks<'_> {
    fn error(&mut self, file: File, line: u64, field: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            file: file.name().to_owned(),
            line,
            column: self.export.column(file, field),
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    fn fail(&mut self, file: File, key: &str, line: u64) {
        self.failed.entry((file, key.to_owned())).or_insert(line);
    }

    /// Resolves a reference, or reports why it cannot be.
    #[expect(clippy::too_many_arguments, reason = "the reference and where it was found")]
    fn resolve(
        &mut self,
        known: &HashMap<String, Known>,
        target: File,
        what: &str,
        reference: &str,
        file: File,
        line: u64,
        field: &str,
    ) -> Option<Known> {
        if let Some(k) = known.get(reference) {
            return Some(*k);
        }
        let reason = match self.failed.get(&(target, reference.to_owned())) {
            Some(l) => {
                format!("refers to {what} {reference}, which is not imported because of errors ({}:{l})", target.name())
            }
            None => format!("unknown {what} {reference}: it is neither in {} nor in the database", target.name()),
        };
        self.error(file, line, field, reason);
        None
    }
}

/// Imports a parsed export. Returns the report; an `Err` means the database failed, and
/// nothing was committed either.
pub async fn import(
    db: &DatabaseConnection,
    export: &Export,
    opts: ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let started_at = Utc::now();
    // IMMEDIATE takes SQLite's write lock before the first read, so nothing can change
    // between the checks and the writes.
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let mut checks = Checks { export, errors: Vec::new(), failed: export.failed.clone() };
    let mut plan = check(&txn, export, &mut checks, progress).await?;
    let mut files: Vec<FileSummary> = File::ALL
        .iter()
        .filter(|f| export.present.contains(f))
        .map(|f| FileSummary { file: f.name(), rows: export.rows.get(f).copied().unwrap_or(0), ..Default::default() })
        .collect();
    // Writing is worth it only while the run can still be committed; a run sure to be
    // rejected is checked to the end, so that the report has every error, but not written.
    let writing = opts.skip_invalid || (export.errors.is_empty() && checks.errors.is_empty());
    if writing {
        apply(&txn, &mut plan, &mut files, progress).await?;
    }
    if let Some(tx) = &export.transactions {
        transactions(&txn, tx, &mut plan, &mut checks, &mut files, writing, opts, progress).await?;
    }
    let mut errors = export.errors.clone();
    errors.append(&mut checks.errors);
    errors.sort_by(|a, b| {
        let fa = File::from_name(&a.file);
        let fb = File::from_name(&b.file);
        (fa, a.line, a.column).cmp(&(fb, b.line, b.column))
    });
    let outcome = if errors.is_empty() {
        Outcome::Committed
    } else if opts.skip_invalid {
        Outcome::CommittedWithSkips
    } else {
        Outcome::Rejected
    };
    let mut report = ImportReport {
        origin: export.origin.clone(),
        content_hash: export.content_hash.clone(),
        outcome,
        files: Vec::new(),
        errors,
        ignored_files: export.ignored.clone(),
        elapsed: Duration::ZERO,
        import_run_id: None,
    };
    if outcome == Outcome::Rejected {
        txn.rollback().await?;
        for s in &mut files {
            *s = FileSummary { file: s.file, rows: s.rows, skipped: s.rows, ..Default::default() };
        }
        report.files = files;
        report.elapsed = started.elapsed();
        report.import_run_id = Some(record_run(db, &report, started_at).await?);
        return Ok(report);
    }
    apply_works(&txn, &mut plan, &mut files, progress).await?;
    for s in &mut files {
        s.skipped = s.rows.saturating_sub(s.inserted + s.updated + s.unchanged + s.posted + s.already_posted);
    }
    report.files = files;
    report.elapsed = started.elapsed();
    report.import_run_id = Some(record_run(&txn, &report, started_at).await?);
    txn.commit().await?;
    Ok(report)
}

async fn record_run(
    conn: &impl ConnectionTrait,
    report: &ImportReport,
    started_at: chrono::DateTime<Utc>,
) -> Result<i64, sea_orm::DbErr> {
    let mut summary = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    if let Some(errs) = summary.get_mut("errors").and_then(|v| v.as_array_mut())
        && errs.len() > MAX_ERRORS_IN_SUMMARY
    {
        errs.truncate(MAX_ERRORS_IN_SUMMARY);
    }
    if let Some(obj) = summary.as_object_mut() {
        obj.insert("error_count".into(), report.errors.len().into());
        obj.remove("import_run_id");
    }
    let run = import_run::ActiveModel {
        origin: Set(report.origin.clone()),
        content_hash: Set(report.content_hash.clone()),
        started_at: Set(started_at),
        finished_at: Set(Utc::now()),
        outcome: Set(report.outcome.as_str().to_owned()),
        summary: Set(summary.to_string()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(run.id)
}

/// The rows that passed every check (borrowed from the export, not copied), with what the
/// database already holds for them.
#[derive(Default)]
struct Plan<'a> {
    properties: Vec<(&'a Rec<PropertyIn>, i64, Option<property::Model>)>,
    people: Vec<(&'a Rec<PersonIn>, i64, Option<person::Model>)>,
    tenancies: Vec<(&'a Rec<TenancyIn>, i64, Option<tenancy::Model>)>,
    members: Vec<(&'a Rec<MemberIn>, Option<tenancy_member::Model>)>,
    accounts: Vec<(&'a Rec<AccountIn>, i64, Option<rent_account::Model>)>,
    works: Vec<(&'a Rec<WorkIn>, Option<planned_work::Model>)>,
    known_properties: HashMap<String, Known>,
    known_people: HashMap<String, Known>,
    known_tenancies: HashMap<String, Known>,
    known_accounts: HashMap<String, Known>,
    officers: HashMap<(i64, String), i64>,
}

fn refs_missing<'a>(refs: impl Iterator<Item = &'a String>, known: &HashMap<String, Known>) -> Vec<String> {
    let set: HashSet<&String> = refs.filter(|r| !known.contains_key(*r)).collect();
    let mut v: Vec<String> = set.into_iter().cloned().collect();
    v.sort();
    v
}

async fn check<'a>(
    txn: &DatabaseTransaction,
    export: &'a Export,
    checks: &mut Checks<'_>,
    progress: &dyn ImportProgress,
) -> Result<Plan<'a>, ImportError> {
    let mut plan = Plan::default();
    // transactions.csv is checked as it is streamed, in its own stage.
    let rows = export.total_rows() - export.rows.get(&File::Transactions).copied().unwrap_or(0);
    progress.stage("checking", rows);
    let orgs = organisation::Entity::find().all(txn).await?;
    let org_ids: HashMap<&str, i64> = orgs.iter().map(|o| (o.slug.as_str(), o.id)).collect();
    let org_slug = |id: i64| orgs.iter().find(|o| o.id == id).map_or("?", |o| o.slug.as_str()).to_owned();

    // Properties.
    let mut existing = load_properties(txn, export.properties.iter().map(|r| r.row.property_ref.clone())).await?;
    let uprns: Vec<i64> = export.properties.iter().filter_map(|r| r.row.uprn).collect();
    let mut uprn_owner: HashMap<i64, String> = HashMap::new();
    for chunk in uprns.chunks(LOOKUP_CHUNK) {
        for p in property::Entity::find().filter(property::Column::Uprn.is_in(chunk.to_vec())).all(txn).await? {
            if let Some(u) = p.uprn {
                uprn_owner.insert(u, p.hms_ref);
            }
        }
    }
    for rec in &export.properties {
        let (f, line, r) = (File::Properties, rec.line, &rec.row);
        let Some(&org) = org_ids.get(r.organisation.as_str()) else {
            checks.error(
                f,
                line,
                "organisation",
                format!("unknown organisation {}; it must exist before its homes are imported", r.organisation),
            );
            checks.fail(f, &r.property_ref, line);
            continue;
        };
        let current = existing.remove(&r.property_ref);
        if let Some(c) = &current
            && c.organisation_id != org
        {
            checks.error(
                f,
                line,
                "organisation",
                format!(
                    "property {} belongs to {}; records cannot move between organisations",
                    r.property_ref,
                    org_slug(c.organisation_id)
                ),
            );
            checks.fail(f, &r.property_ref, line);
            continue;
        }
        if let Some(u) = r.uprn
            && let Some(owner) = uprn_owner.get(&u)
            && *owner != r.property_ref
        {
            checks.error(f, line, "uprn", format!("{u} already belongs to property {owner}"));
            checks.fail(f, &r.property_ref, line);
            continue;
        }
        plan.known_properties.insert(r.property_ref.clone(), Known { id: current.as_ref().map(|c| c.id), org });
        plan.properties.push((rec, org, current));
    }
    drop(existing);
    let wanted = refs_missing(
        export.tenancies.iter().map(|r| &r.row.property_ref).chain(export.works.iter().map(|r| &r.row.property_ref)),
        &plan.known_properties,
    );
    for (k, m) in load_properties(txn, wanted.into_iter()).await? {
        plan.known_properties.insert(k, Known { id: Some(m.id), org: m.organisation_id });
    }
    for o in housing_officer::Entity::find().all(txn).await? {
        plan.officers.insert((o.organisation_id, o.patch), o.id);
    }

    // People.
    let mut existing = load_people(txn, export.people.iter().map(|r| r.row.person_ref.clone())).await?;
    for rec in &export.people {
        let (f, line, r) = (File::People, rec.line, &rec.row);
        let Some(&org) = org_ids.get(r.organisation.as_str()) else {
            checks.error(
                f,
                line,
                "organisation",
                format!("unknown organisation {}; it must exist before its tenants are imported", r.organisation),
            );
            checks.fail(f, &r.person_ref, line);
            continue;
        };
        let current = existing.remove(&r.person_ref);
        if let Some(c) = &current
            && c.organisation_id != org
        {
            checks.error(
                f,
                line,
                "organisation",
                format!(
                    "person {} belongs to {}; records cannot move between organisations",
                    r.person_ref,
                    org_slug(c.organisation_id)
                ),
            );
            checks.fail(f, &r.person_ref, line);
            continue;
        }
        plan.known_people.insert(r.person_ref.clone(), Known { id: current.as_ref().map(|c| c.id), org });
        plan.people.push((rec, org, current));
    }
    drop(existing);
    let wanted = refs_missing(export.members.iter().map(|r| &r.row.person_ref), &plan.known_people);
    for (k, m) in load_people(txn, wanted.into_iter()).await? {
        plan.known_people.insert(k, Known { id: Some(m.id), org: m.organisation_id });
    }

    // Tenancies.
    let mut existing = load_tenancies(txn, export.tenancies.iter().map(|r| r.row.tenancy_ref.clone())).await?;
    for rec in &export.tenancies {
        let (f, line, r) = (File::Tenancies, rec.line, &rec.row);
        let Some(p) = checks.resolve(
            &plan.known_properties,
            File::Properties,
            "property",
            &r.property_ref,
            f,
            line,
            "property_ref",
        ) else {
            checks.fail(f, &r.tenancy_ref, line);
            continue;
        };
        let current = existing.remove(&r.tenancy_ref);
        if let Some(c) = &current
            && c.organisation_id != p.org
        {
            checks.error(
                f,
                line,
                "property_ref",
                format!(
                    "tenancy {} belongs to {}, property {} to {}; records cannot move between organisations",
                    r.tenancy_ref,
                    org_slug(c.organisation_id),
                    r.property_ref,
                    org_slug(p.org)
                ),
            );
            checks.fail(f, &r.tenancy_ref, line);
            continue;
        }
        plan.known_tenancies.insert(r.tenancy_ref.clone(), Known { id: current.as_ref().map(|c| c.id), org: p.org });
        plan.tenancies.push((rec, p.org, current));
    }
    drop(existing);
    let wanted = refs_missing(
        export.members.iter().map(|r| &r.row.tenancy_ref).chain(export.accounts.iter().map(|r| &r.row.tenancy_ref)),
        &plan.known_tenancies,
    );
    for (k, m) in load_tenancies(txn, wanted.into_iter()).await? {
        plan.known_tenancies.insert(k, Known { id: Some(m.id), org: m.organisation_id });
    }

    // Tenancy members: both ends must resolve and belong to one landlord; one lead each.
    let tenancy_ids: Vec<i64> = export
        .members
        .iter()
        .filter_map(|r| plan.known_tenancies.get(&r.row.tenancy_ref).and_then(|k| k.id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut current_members: HashMap<i64, Vec<tenancy_member::Model>> = HashMap::new();
    for chunk in tenancy_ids.chunks(LOOKUP_CHUNK) {
        for m in tenancy_member::Entity::find()
            .filter(tenancy_member::Column::TenancyId.is_in(chunk.to_vec()))
            .all(txn)
            .await?
        {
            current_members.entry(m.tenancy_id).or_default().push(m);
        }
    }
    let mut person_ref_by_id: HashMap<i64, String> =
        plan.known_people.iter().filter_map(|(k, v)| v.id.map(|id| (id, k.clone()))).collect();
    let unnamed: Vec<i64> = current_members
        .values()
        .flatten()
        .map(|m| m.person_id)
        .filter(|id| !person_ref_by_id.contains_key(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in unnamed.chunks(LOOKUP_CHUNK) {
        for p in person::Entity::find().filter(person::Column::Id.is_in(chunk.to_vec())).all(txn).await? {
            person_ref_by_id.insert(p.id, p.hms_ref);
        }
    }
    let file_roles: HashMap<(&str, &str), &str> =
        export.members.iter().map(|r| ((r.row.tenancy_ref.as_str(), r.row.person_ref.as_str()), r.row.role)).collect();
    for rec in &export.members {
        let (f, line, r) = (File::TenancyMembers, rec.line, &rec.row);
        let t =
            checks.resolve(&plan.known_tenancies, File::Tenancies, "tenancy", &r.tenancy_ref, f, line, "tenancy_ref");
        let p = checks.resolve(&plan.known_people, File::People, "person", &r.person_ref, f, line, "person_ref");
        let (Some(t), Some(p)) = (t, p) else { continue };
        if t.org != p.org {
            checks.error(
                f,
                line,
                "person_ref",
                format!(
                    "person {} belongs to {} but tenancy {} to {}",
                    r.person_ref,
                    org_slug(p.org),
                    r.tenancy_ref,
                    org_slug(t.org)
                ),
            );
            continue;
        }
        let mut current = None;
        let mut other_lead = None;
        for m in t.id.and_then(|tid| current_members.get(&tid)).into_iter().flatten() {
            if Some(m.person_id) == p.id {
                current = Some(m.clone());
            } else if m.role == "lead" && r.role == "lead" {
                // Another person leads this tenancy in the database; that is fine only if
                // this export gives them another role.
                let other = person_ref_by_id.get(&m.person_id).cloned().unwrap_or_else(|| format!("#{}", m.person_id));
                let demoted =
                    file_roles.get(&(r.tenancy_ref.as_str(), other.as_str())).is_some_and(|role| *role != "lead");
                if !demoted {
                    other_lead = Some(other);
                }
            }
        }
        if let Some(other) = other_lead {
            checks.error(f, line, "role", format!("tenancy {} already has lead tenant {other}", r.tenancy_ref));
            continue;
        }
        plan.members.push((rec, current));
    }

    // Accounts.
    let mut existing = load_accounts(txn, export.accounts.iter().map(|r| r.row.account_ref.clone())).await?;
    let numbers: Vec<String> = export.accounts.iter().map(|r| r.row.account_number.as_str().to_owned()).collect();
    let mut number_owner: HashMap<String, String> = HashMap::new();
    for chunk in numbers.chunks(LOOKUP_CHUNK) {
        for a in rent_account::Entity::find()
            .filter(rent_account::Column::AccountNumber.is_in(chunk.to_vec()))
            .all(txn)
            .await?
        {
            number_owner.insert(a.account_number, a.hms_ref);
        }
    }
    for rec in &export.accounts {
        let (f, line, r) = (File::Accounts, rec.line, &rec.row);
        let Some(t) =
            checks.resolve(&plan.known_tenancies, File::Tenancies, "tenancy", &r.tenancy_ref, f, line, "tenancy_ref")
        else {
            checks.fail(f, &r.account_ref, line);
            continue;
        };
        let current = existing.remove(&r.account_ref);
        if let Some(c) = &current
            && c.organisation_id != t.org
        {
            checks.error(
                f,
                line,
                "tenancy_ref",
                format!(
                    "account {} belongs to {}, tenancy {} to {}; records cannot move between organisations",
                    r.account_ref,
                    org_slug(c.organisation_id),
                    r.tenancy_ref,
                    org_slug(t.org)
                ),
            );
            checks.fail(f, &r.account_ref, line);
            continue;
        }
        if let Some(owner) = number_owner.get(r.account_number.as_str())
            && *owner != r.account_ref
        {
            checks.error(
                f,
                line,
                "account_number",
                format!("{} is already the number of account {owner}", r.account_number),
            );
            checks.fail(f, &r.account_ref, line);
            continue;
        }
        plan.known_accounts.insert(r.account_ref.clone(), Known { id: current.as_ref().map(|c| c.id), org: t.org });
        plan.accounts.push((rec, t.org, current));
    }
    drop(existing);
    // Planned work.
    let mut existing = load_works(txn, export.works.iter().map(|r| r.row.work_ref.clone())).await?;
    for rec in &export.works {
        let (f, line, r) = (File::PlannedWork, rec.line, &rec.row);
        if checks
            .resolve(&plan.known_properties, File::Properties, "property", &r.property_ref, f, line, "property_ref")
            .is_none()
        {
            continue;
        }
        plan.works.push((rec, existing.remove(&r.work_ref)));
    }
    progress.inc(rows);
    Ok(plan)
}

macro_rules! loader {
    ($name:ident, $entity:ident, $column:expr) => {
        async fn $name(
            txn: &DatabaseTransaction,
            refs: impl Iterator<Item = String>,
        ) -> Result<HashMap<String, $entity::Model>, sea_orm::DbErr> {
            let refs: Vec<String> = refs.collect();
            let mut out = HashMap::with_capacity(refs.len());
            for chunk in refs.chunks(LOOKUP_CHUNK) {
                for m in $entity::Entity::find().filter($column.is_in(chunk.to_vec())).all(txn).await? {
                    out.insert(m.hms_ref.clone(), m);
                }
            }
            Ok(out)
        }
    };
}

loader!(load_properties, property, property::Column::HmsRef);
loader!(load_people, person, person::Column::HmsRef);
loader!(load_tenancies, tenancy, tenancy::Column::HmsRef);
loader!(load_accounts, rent_account, rent_account::Column::HmsRef);
loader!(load_works, planned_work, planned_work::Column::HmsRef);

fn summary(files: &mut [FileSummary], file: File) -> &mut FileSummary {
    let i = files.iter().position(|s| s.file == file.name()).unwrap_or(0);
    &mut files[i]
}

/// Inserts `rows` in multi-row statements.
async fn insert_all<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> Result<(), sea_orm::DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(batch).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Queues a row for a multi-row insert, inserting the queue when it is full (so that a file's
/// new rows are never all held at once).
async fn push_insert<A>(txn: &DatabaseTransaction, queue: &mut Vec<A>, row: A) -> Result<(), sea_orm::DbErr>
where
    A: ActiveModelTrait + Send,
{
    queue.push(row);
    if queue.len() >= INSERT_CHUNK {
        insert_all(txn, std::mem::take(queue)).await?;
    }
    Ok(())
}

/// Fills in the ids of rows this run inserted, reading only their references and ids.
macro_rules! id_filler {
    ($name:ident, $entity:ident) => {
        async fn $name(
            txn: &DatabaseTransaction,
            known: &mut HashMap<String, Known>,
            refs: Vec<String>,
        ) -> Result<(), sea_orm::DbErr> {
            for chunk in refs.chunks(LOOKUP_CHUNK) {
                let found: Vec<(String, i64)> = $entity::Entity::find()
                    .select_only()
                    .column($entity::Column::HmsRef)
                    .column($entity::Column::Id)
                    .filter($entity::Column::HmsRef.is_in(chunk.to_vec()))
                    .into_tuple()
                    .all(txn)
                    .await?;
                for (k, id) in found {
                    if let Some(entry) = known.get_mut(&k) {
                        entry.id = Some(id);
                    }
                }
            }
            Ok(())
        }
    };
}

id_filler!(fill_property_ids, property);
id_filler!(fill_person_ids, person);
id_filler!(fill_tenancy_ids, tenancy);
id_filler!(fill_account_ids, rent_account);

fn need(known: &HashMap<String, Known>, reference: &str) -> Result<i64, sea_orm::DbErr> {
    known
        .get(reference)
        .and_then(|k| k.id)
        .ok_or_else(|| sea_orm::DbErr::Custom(format!("{reference} was checked but has no id after its insert")))
}

/// Upserts the rows of the files before `transactions.csv`.
async fn apply(
    txn: &DatabaseTransaction,
    plan: &mut Plan<'_>,
    files: &mut [FileSummary],
    progress: &dyn ImportProgress,
) -> Result<(), ImportError> {
    // Properties.
    progress.stage(File::Properties.name(), plan.properties.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.properties) {
        let r = rec.row.clone();
        let officer = r.patch.as_ref().and_then(|p| plan.officers.get(&(org, p.clone())).copied());
        let s = summary(files, File::Properties);
        let model = property::Model {
            id: current.as_ref().map_or(0, |c| c.id),
            organisation_id: org,
            hms_ref: r.property_ref.clone(),
            uprn: r.uprn,
            address_line1: r.address_line1,
            address_line2: r.address_line2,
            town: r.town,
            postcode: r.postcode,
            latitude: r.latitude,
            longitude: r.longitude,
            easting: r.easting,
            northing: r.northing,
            kind: r.kind.to_owned(),
            bedrooms: r.bedrooms,
            patch: r.patch,
            housing_officer_id: officer,
        };
        match current {
            Some(c) if c == model => s.unchanged += 1,
            Some(_) => {
                property::ActiveModel::from(model).reset_all().update(txn).await?;
                s.updated += 1;
            }
            None => {
                let mut am = property::ActiveModel::from(model).reset_all();
                am.id = sea_orm::ActiveValue::NotSet;
                push_insert(txn, &mut new, am).await?;
                new_refs.push(r.property_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_property_ids(txn, &mut plan.known_properties, new_refs).await?;

    // People.
    progress.stage(File::People.name(), plan.people.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.people) {
        let r = rec.row.clone();
        let s = summary(files, File::People);
        let model = person::Model {
            id: current.as_ref().map_or(0, |c| c.id),
            organisation_id: org,
            hms_ref: r.person_ref.clone(),
            title: r.title,
            forename: r.forename,
            surname: r.surname,
            date_of_birth: r.date_of_birth,
            email: r.email,
            phone: r.phone,
        };
        match current {
            Some(c) if c == model => s.unchanged += 1,
            Some(_) => {
                person::ActiveModel::from(model).reset_all().update(txn).await?;
                s.updated += 1;
            }
            None => {
                let mut am = person::ActiveModel::from(model).reset_all();
                am.id = sea_orm::ActiveValue::NotSet;
                push_insert(txn, &mut new, am).await?;
                new_refs.push(r.person_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_person_ids(txn, &mut plan.known_people, new_refs).await?;

    // Tenancies.
    progress.stage(File::Tenancies.name(), plan.tenancies.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.tenancies) {
        let r = rec.row.clone();
        let s = summary(files, File::Tenancies);
        let model = tenancy::Model {
            id: current.as_ref().map_or(0, |c| c.id),
            organisation_id: org,
            hms_ref: r.tenancy_ref.clone(),
            property_id: need(&plan.known_properties, &r.property_ref)?,
            tenure: r.tenure.to_owned(),
            start_date: r.start_date,
            end_date: r.end_date,
        };
        match current {
            Some(c) if c == model => s.unchanged += 1,
            Some(_) => {
                tenancy::ActiveModel::from(model).reset_all().update(txn).await?;
                s.updated += 1;
            }
            None => {
                let mut am = tenancy::ActiveModel::from(model).reset_all();
                am.id = sea_orm::ActiveValue::NotSet;
                push_insert(txn, &mut new, am).await?;
                new_refs.push(r.tenancy_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_tenancy_ids(txn, &mut plan.known_tenancies, new_refs).await?;

    // Members: demotions first, so that a new lead never meets the old one.
    progress.stage(File::TenancyMembers.name(), plan.members.len() as u64);
    let mut members = std::mem::take(&mut plan.members);
    members.sort_by_key(|(rec, _)| rec.row.role == "lead");
    let mut new = Vec::new();
    for (rec, current) in members {
        let r = rec.row.clone();
        let s = summary(files, File::TenancyMembers);
        let tenancy_id = need(&plan.known_tenancies, &r.tenancy_ref)?;
        let person_id = need(&plan.known_people, &r.person_ref)?;
        match current {
            Some(c) if c.role == r.role => s.unchanged += 1,
            Some(c) => {
                tenancy_member::ActiveModel { id: Set(c.id), role: Set(r.role.to_owned()), ..Default::default() }
                    .update(txn)
                    .await?;
                s.updated += 1;
            }
            None => {
                push_insert(
                    txn,
                    &mut new,
                    tenancy_member::ActiveModel {
                        tenancy_id: Set(tenancy_id),
                        person_id: Set(person_id),
                        role: Set(r.role.to_owned()),
                        ..Default::default()
                    },
                )
                .await?;
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;

    // Accounts: the cached balance and version are the ledger's, never the file's.
    progress.stage(File::Accounts.name(), plan.accounts.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.accounts) {
        let r = rec.row.clone();
        let s = summary(files, File::Accounts);
        let tenancy_id = need(&plan.known_tenancies, &r.tenancy_ref)?;
        match current {
            Some(c) => {
                let changed = c.tenancy_id != tenancy_id
                    || c.account_number != r.account_number.as_str()
                    || c.kind != r.kind
                    || c.weekly_charge_pence != r.weekly_charge.pence()
                    || c.opened_on != r.opened_on
                    || c.closed_on != r.closed_on;
                if changed {
                    rent_account::ActiveModel {
                        id: Set(c.id),
                        tenancy_id: Set(tenancy_id),
                        account_number: Set(r.account_number.as_str().to_owned()),
                        kind: Set(r.kind.to_owned()),
                        weekly_charge_pence: Set(r.weekly_charge.pence()),
                        opened_on: Set(r.opened_on),
                        closed_on: Set(r.closed_on),
                        ..Default::default()
                    }
                    .update(txn)
                    .await?;
                    s.updated += 1;
                } else {
                    s.unchanged += 1;
                }
            }
            None => {
                push_insert(
                    txn,
                    &mut new,
                    rent_account::ActiveModel {
                        organisation_id: Set(org),
                        tenancy_id: Set(tenancy_id),
                        hms_ref: Set(r.account_ref.clone()),
                        account_number: Set(r.account_number.as_str().to_owned()),
                        kind: Set(r.kind.to_owned()),
                        weekly_charge_pence: Set(r.weekly_charge.pence()),
                        balance_pence: Set(0),
                        version: Set(0),
                        last_entry_date: Set(None),
                        opened_on: Set(r.opened_on),
                        closed_on: Set(r.closed_on),
                        ..Default::default()
                    },
                )
                .await?;
                new_refs.push(r.account_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_account_ids(txn, &mut plan.known_accounts, new_refs).await?;

    Ok(())
}

/// Upserts the rows of `planned_work.csv`.
async fn apply_works(
    txn: &DatabaseTransaction,
    plan: &mut Plan<'_>,
    files: &mut [FileSummary],
    progress: &dyn ImportProgress,
) -> Result<(), ImportError> {
    // Planned work.
    progress.stage(File::PlannedWork.name(), plan.works.len() as u64);
    let mut new = Vec::new();
    for (rec, current) in std::mem::take(&mut plan.works) {
        let r = rec.row.clone();
        let s = summary(files, File::PlannedWork);
        let model = planned_work::Model {
            id: current.as_ref().map_or(0, |c| c.id),
            property_id: need(&plan.known_properties, &r.property_ref)?,
            hms_ref: r.work_ref,
            category: r.category.to_owned(),
            description: r.description,
            planned_start: r.planned_start,
            planned_end: r.planned_end,
            status: r.status.to_owned(),
            contractor: r.contractor,
        };
        match current {
            Some(c) if c == model => s.unchanged += 1,
            Some(_) => {
                planned_work::ActiveModel::from(model).reset_all().update(txn).await?;
                s.updated += 1;
            }
            None => {
                let mut am = planned_work::ActiveModel::from(model).reset_all();
                am.id = sea_orm::ActiveValue::NotSet;
                push_insert(txn, &mut new, am).await?;
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    Ok(())
}

/// An account's figures while its transactions are posted: read when it is locked, then
/// carried forward entry by entry in file order.
struct Running {
    balance_pence: i64,
    /// Entries this run posted to it.
    posted: i64,
    last_entry_date: Option<NaiveDate>,
}

/// A ledger entry ready to insert.
struct NewRow {
    account_id: i64,
    kind: EntryKind,
    amount_pence: i64,
    effective_date: NaiveDate,
    description: String,
    source_ref: String,
    channel: Option<Channel>,
    balance_after_pence: i64,
}

/// The placeholder of bound parameter `n` (1-based), for statements whose parameters are
/// numbered in the order they appear. SQLite gets anonymous `?`: with numbered ones, binding
/// each parameter looks its name up in a list, which makes a statement of thousands of
/// parameters cost millions of steps.
fn param(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The columns of a ledger entry, in the order they are bound.
const ENTRY_COLUMNS: usize = 10;

/// SQLite: `INSERT` of `rows` ledger entries, 10 parameters each.
fn insert_sql(backend: DatabaseBackend, rows: usize) -> String {
    let mut sql = String::with_capacity(rows * (ENTRY_COLUMNS * 8 + 4) + 256);
    sql.push_str(
        "INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, source, \
         source_ref, channel, balance_after_pence) VALUES ",
    );
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        let first = i * ENTRY_COLUMNS + 1;
        let params: Vec<String> = (first..first + ENTRY_COLUMNS).map(|n| param(backend, n)).collect();
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    sql
}

/// PostgreSQL: any number of ledger entries in one `INSERT`, a column per array parameter
/// (the posting time and the source are shared), in the arrays' order. An empty channel
/// stands for none (the driver binds no null inside a text array).
const UNNEST_INSERT: &str = "INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, \
     description, source, source_ref, channel, balance_after_pence) \
     SELECT u.account_id, u.kind, u.amount_pence, u.effective_date, $1, u.description, $2, u.source_ref, \
     NULLIF(u.channel, ''), u.balance_after_pence \
     FROM UNNEST($3::int8[], $4::text[], $5::int8[], $6::date[], $7::text[], $8::text[], $9::text[], $10::int8[]) \
     WITH ORDINALITY AS u(account_id, kind, amount_pence, effective_date, description, source_ref, channel, \
     balance_after_pence, n) ORDER BY u.n";

/// Inserts ledger entries in bulk: on SQLite multi-row `INSERT`s of
/// [`SQLITE_ENTRIES_PER_INSERT`] rows, on PostgreSQL one `INSERT ... SELECT FROM UNNEST` of
/// up to [`POSTGRES_ENTRIES_PER_INSERT`] rows (ten parameters, whatever the number of rows).
/// A key already in the ledger fails the statement, and so the run: the caller checked the
/// keys first, so only another import running at the same time can have posted it.
struct Inserter {
    backend: DatabaseBackend,
    /// SQLite: the statement for a full chunk, built once.
    full: String,
}

impl Inserter {
    fn new(backend: DatabaseBackend) -> Self {
        let full = match backend {
            DatabaseBackend::Postgres => String::new(),
            _ => insert_sql(backend, SQLITE_ENTRIES_PER_INSERT),
        };
        Inserter { backend, full }
    }

    async fn insert(&self, txn: &DatabaseTransaction, rows: Vec<NewRow>) -> Result<u64, ImportError> {
        let posted_at: DateTime<Utc> = Utc::now();
        let per_statement = match self.backend {
            DatabaseBackend::Postgres => POSTGRES_ENTRIES_PER_INSERT,
            _ => SQLITE_ENTRIES_PER_INSERT,
        };
        let mut rows = rows.into_iter().peekable();
        let mut inserted = 0;
        while rows.peek().is_some() {
            let chunk: Vec<NewRow> = rows.by_ref().take(per_statement).collect();
            let n = chunk.len();
            let statement = match self.backend {
                DatabaseBackend::Postgres => {
                    let mut account_ids = Vec::with_capacity(n);
                    let mut kinds = Vec::with_capacity(n);
                    let mut amounts = Vec::with_capacity(n);
                    let mut dates = Vec::with_capacity(n);
                    let mut descriptions = Vec::with_capacity(n);
                    let mut refs = Vec::with_capacity(n);
                    let mut channels = Vec::with_capacity(n);
                    let mut balances = Vec::with_capacity(n);
                    for r in chunk {
                        account_ids.push(r.account_id);
                        kinds.push(r.kind.as_str().to_owned());
                        amounts.push(r.amount_pence);
                        dates.push(r.effective_date);
                        descriptions.push(r.description);
                        refs.push(r.source_ref);
                        channels.push(r.channel.map_or_else(String::new, |c| c.as_str().to_owned()));
                        balances.push(r.balance_after_pence);
                    }
                    let values: Vec<Value> = vec![
                        posted_at.into(),
                        SOURCE.into(),
                        account_ids.into(),
                        kinds.into(),
                        amounts.into(),
                        dates.into(),
                        descriptions.into(),
                        refs.into(),
                        channels.into(),
                        balances.into(),
                    ];
                    Statement::from_sql_and_values(self.backend, UNNEST_INSERT, values)
                }
                _ => {
                    let sql =
                        if n == SQLITE_ENTRIES_PER_INSERT { self.full.clone() } else { insert_sql(self.backend, n) };
                    let mut values: Vec<Value> = Vec::with_capacity(n * ENTRY_COLUMNS);
                    for r in chunk {
                        values.push(r.account_id.into());
                        values.push(r.kind.as_str().into());
                        values.push(r.amount_pence.into());
                        values.push(r.effective_date.into());
                        values.push(posted_at.into());
                        values.push(r.description.into());
                        values.push(SOURCE.into());
                        values.push(r.source_ref.into());
                        values.push(r.channel.map(|c| c.as_str().to_owned()).into());
                        values.push(r.balance_after_pence.into());
                    }
                    Statement::from_sql_and_values(self.backend, sql, values)
                }
            };
            let done = match txn.execute_raw(statement).await {
                Ok(done) => done.rows_affected(),
                Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(ImportError::Concurrent);
                }
                Err(e) => return Err(e.into()),
            };
            if done != n as u64 {
                return Err(sea_orm::DbErr::Custom(format!("{done} of {n} ledger entries were inserted")).into());
            }
            inserted += done;
        }
        Ok(inserted)
    }
}

/// Loads the accounts named in `rows` that are neither known nor known to be missing.
async fn resolve_accounts(
    txn: &DatabaseTransaction,
    known: &mut HashMap<String, Known>,
    missing: &mut HashSet<String>,
    rows: &[Rec<TransactionIn>],
) -> Result<(), sea_orm::DbErr> {
    let wanted: HashSet<&String> =
        rows.iter().map(|r| &r.row.account_ref).filter(|r| !known.contains_key(*r) && !missing.contains(*r)).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let wanted: Vec<String> = wanted.into_iter().cloned().collect();
    let found = load_accounts(txn, wanted.iter().cloned()).await?;
    for r in wanted {
        match found.get(&r) {
            Some(m) => {
                known.insert(r, Known { id: Some(m.id), org: m.organisation_id });
            }
            None => {
                missing.insert(r);
            }
        }
    }
    Ok(())
}

/// The account, kind and amount of the ids in `rows` already posted with source `hms`.
async fn posted_before(
    txn: &DatabaseTransaction,
    rows: &[Rec<TransactionIn>],
) -> Result<HashMap<String, (i64, String, i64)>, sea_orm::DbErr> {
    let backend = txn.get_database_backend();
    let mut out = HashMap::new();
    for chunk in rows.chunks(TX_BATCH) {
        let select = "SELECT source_ref, account_id, kind, amount_pence FROM ledger_entry WHERE source = ";
        let statement = match backend {
            DatabaseBackend::Postgres => {
                let ids: Vec<String> = chunk.iter().map(|r| r.row.transaction_id.clone()).collect();
                let sql = format!("{select}$1 AND source_ref = ANY($2::text[])");
                Statement::from_sql_and_values(backend, sql, vec![SOURCE.into(), ids.into()])
            }
            _ => {
                let sql = format!("{select}? AND source_ref IN ({})", vec!["?"; chunk.len()].join(", "));
                let mut values: Vec<Value> = Vec::with_capacity(chunk.len() + 1);
                values.push(SOURCE.into());
                values.extend(chunk.iter().map(|r| Value::from(r.row.transaction_id.as_str())));
                Statement::from_sql_and_values(backend, sql, values)
            }
        };
        for row in txn.query_all_raw(statement).await? {
            let source_ref: String = row.try_get("", "source_ref")?;
            out.insert(
                source_ref,
                (row.try_get("", "account_id")?, row.try_get("", "kind")?, row.try_get("", "amount_pence")?),
            );
        }
    }
    Ok(out)
}

/// Locks the accounts of `rows` not locked yet (a write to the row first, as
/// [`post_batch`](crate::domain::ledger::post_batch) does, which also reads the figures to carry on from), gives each
/// entry its running balance and inserts them. Returns the number posted.
async fn post_rows(
    txn: &DatabaseTransaction,
    inserter: &Inserter,
    running: &mut HashMap<i64, Running>,
    rows: Vec<(i64, TransactionIn)>,
) -> Result<u64, ImportError> {
    let mut to_lock: Vec<i64> = rows
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !running.contains_key(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    to_lock.sort_unstable();
    for chunk in to_lock.chunks(LOOKUP_CHUNK) {
        let locked = rent_account::Entity::update_many()
            .col_expr(rent_account::Column::Version, Expr::col(rent_account::Column::Version))
            .filter(rent_account::Column::Id.is_in(chunk.to_vec()))
            .exec_with_returning(txn)
            .await?;
        for a in locked {
            running.insert(
                a.id,
                Running { balance_pence: a.balance_pence, posted: 0, last_entry_date: a.last_entry_date },
            );
        }
    }
    let mut entries = Vec::with_capacity(rows.len());
    for (account_id, r) in rows {
        let account = running.get_mut(&account_id).ok_or(LedgerError::AccountNotFound(account_id))?;
        if !r.kind.accepts(r.amount) {
            return Err(LedgerError::WrongSign { kind: r.kind, amount: r.amount }.into());
        }
        account.balance_pence = account.balance_pence.checked_add(r.amount.pence()).ok_or(LedgerError::Overflow)?;
        account.posted += 1;
        account.last_entry_date = Some(account.last_entry_date.map_or(r.date, |d| Ord::max(d, r.date)));
        let channel = r.channel.or(match r.kind {
            EntryKind::Payment => Some(Channel::Hms),
            EntryKind::HousingBenefit => Some(Channel::HousingBenefit),
            EntryKind::UniversalCredit => Some(Channel::UniversalCredit),
            _ => None,
        });
        entries.push(NewRow {
            account_id,
            kind: r.kind,
            amount_pence: r.amount.pence(),
            effective_date: r.date,
            description: r.description.unwrap_or_else(|| default_description(r.kind).to_owned()),
            source_ref: r.transaction_id,
            channel,
            balance_after_pence: account.balance_pence,
        });
    }
    inserter.insert(txn, entries).await
}

/// Writes the cached balance, version and last entry date of every account posted to.
async fn write_totals(txn: &DatabaseTransaction, running: &HashMap<i64, Running>) -> Result<(), sea_orm::DbErr> {
    let backend = txn.get_database_backend();
    let touched: Vec<(i64, &Running)> = running.iter().filter(|(_, r)| r.posted > 0).map(|(id, r)| (*id, r)).collect();
    for chunk in touched.chunks(TOTALS_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 4;
                format!(
                    "({}, {}, {}, {})",
                    param(backend, b + 1),
                    param(backend, b + 2),
                    param(backend, b + 3),
                    param(backend, b + 4)
                )
            })
            .collect();
        let sql = format!(
            "UPDATE rent_account SET balance_pence = v.column2, version = rent_account.version + v.column3, \
             last_entry_date = v.column4 FROM (VALUES {}) AS v WHERE rent_account.id = v.column1",
            rows.join(", ")
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for (id, r) in chunk {
            values.push((*id).into());
            values.push(r.balance_pence.into());
            values.push(r.posted.into());
            values.push(r.last_entry_date.into());
        }
        let done = txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected();
        if done != chunk.len() as u64 {
            return Err(sea_orm::DbErr::Custom(format!(
                "{} of the accounts posted to could not be updated",
                chunk.len() as u64 - done
            )));
        }
    }
    Ok(())
}

/// Streams `transactions.csv` a second time, checks each valid row against the database and,
/// while `writing`, posts it.
#[expect(clippy::too_many_arguments, reason = "the state of the whole run")]
async fn transactions(
    txn: &DatabaseTransaction,
    file: &TransactionsFile,
    plan: &mut Plan<'_>,
    checks: &mut Checks<'_>,
    files: &mut [FileSummary],
    mut writing: bool,
    opts: ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<(), ImportError> {
    let skip_invalid = opts.skip_invalid;
    let f = File::Transactions;
    let rows = summary(files, f).rows;
    progress.stage(f.name(), rows);
    if file.valid_rows == 0 {
        progress.inc(rows);
        return Ok(());
    }
    let backend = txn.get_database_backend();
    // PostgreSQL plans the ledger's lookups from table statistics, which a big import
    // makes stale (a plan that fits an empty ledger scans a full one). Refreshing them
    // first, and again as this run adds rows, keeps each lookup an index probe. ANALYZE
    // samples a fixed number of rows, so this costs seconds even on a large ledger.
    let postgres = backend == DatabaseBackend::Postgres;
    if postgres && writing && file.valid_rows >= ANALYZE_EVERY / 10 {
        txn.execute_unprepared("ANALYZE ledger_entry").await?;
    }
    // With no HMS transaction in the ledger yet (a first import), no id can have been
    // posted before, so the lookups are skipped: a repeat within the file is found by the
    // reading, and a concurrent import's posting by the insert.
    let any_before = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Id)
        .filter(ledger_entry::Column::Source.eq(SOURCE))
        .into_tuple::<i64>()
        .one(txn)
        .await?
        .is_some();
    let aside = if writing && defer_indexes(txn, opts.indexes, file.valid_rows).await? {
        Some(indexes::set_aside(txn).await?)
    } else {
        None
    };
    let mut reader = file.reread()?;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Result<Batch, ReadError>>(TX_BATCHES_AHEAD);
    let reading = tokio::task::spawn_blocking(move || {
        loop {
            let next = match reader.next_batch(TX_BATCH) {
                Ok(Some(batch)) => Ok(batch),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let failed = next.is_err();
            // A closed channel means the import stopped (it failed): so does the reading.
            if sender.blocking_send(next).is_err() || failed {
                return;
            }
        }
    });
    let inserter = Inserter::new(backend);
    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut missing: HashSet<String> = HashSet::new();
    let mut since_analyze = 0u64;
    while let Some(batch) = batches.recv().await {
        let Batch { rows: batch_rows, errors, read } = batch?;
        if !errors.is_empty() {
            writing &= skip_invalid;
            checks.errors.extend(errors);
        }
        resolve_accounts(txn, &mut plan.known_accounts, &mut missing, &batch_rows).await?;
        let before = if any_before { posted_before(txn, &batch_rows).await? } else { HashMap::new() };
        let mut new = Vec::new();
        for rec in batch_rows {
            let (line, r) = (rec.line, rec.row);
            let Some(a) =
                checks.resolve(&plan.known_accounts, File::Accounts, "account", &r.account_ref, f, line, "account_ref")
            else {
                writing &= skip_invalid;
                continue;
            };
            if let Some((account_id, kind, amount)) = before.get(&r.transaction_id) {
                if Some(*account_id) != a.id || kind != r.kind.as_str() || *amount != r.amount.pence() {
                    checks.error(
                        f,
                        line,
                        "transaction_id",
                        format!(
                            "{} was imported before as a {} of {} on another account or with another amount; a posted transaction cannot change (post a reversal instead)",
                            r.transaction_id,
                            kind,
                            Money::from_pence(*amount)
                        ),
                    );
                    writing &= skip_invalid;
                } else {
                    summary(files, f).already_posted += 1;
                }
                continue;
            }
            if writing {
                let account_id = a.id.ok_or_else(|| {
                    sea_orm::DbErr::Custom(format!("{} was checked but has no id after its insert", r.account_ref))
                })?;
                new.push((account_id, r));
            }
        }
        if writing && !new.is_empty() {
            let n = post_rows(txn, &inserter, &mut running, new).await?;
            summary(files, f).posted += n;
            since_analyze += n;
            if postgres && since_analyze >= ANALYZE_EVERY {
                txn.execute_unprepared("ANALYZE ledger_entry").await?;
                since_analyze = 0;
            }
        }
        progress.inc(read);
    }
    reading.await.map_err(|e| sea_orm::DbErr::Custom(format!("reading {} stopped: {e}", f.name())))?;
    if writing {
        write_totals(txn, &running).await?;
        if let Some(aside) = aside {
            progress.stage("building the ledger's indexes", 0);
            aside.rebuild(txn).await?;
        }
        // Fresh statistics for what comes after the commit (PostgreSQL only analyses a
        // table by itself once enough changes have been committed).
        if postgres && summary(files, f).posted >= ANALYZE_EVERY / 10 {
            txn.execute_unprepared("ANALYZE rent_account").await?;
            txn.execute_unprepared("ANALYZE ledger_entry").await?;
        }
    }
    Ok(())
}

/// Whether to set the ledger's secondary indexes aside for posting `rows` transactions.
async fn defer_indexes(txn: &DatabaseTransaction, mode: IndexMode, rows: u64) -> Result<bool, sea_orm::DbErr> {
    match mode {
        IndexMode::Always => Ok(true),
        IndexMode::Never => Ok(false),
        IndexMode::Auto if rows < DEFER_INDEXES_FROM => Ok(false),
        IndexMode::Auto => {
            // Ids only grow and entries are never deleted, so the highest id bounds the
            // number of entries, at the cost of one index probe.
            let highest = ledger_entry::Entity::find()
                .select_only()
                .column_as(ledger_entry::Column::Id.max(), "highest")
                .into_tuple::<Option<i64>>()
                .one(txn)
                .await?
                .flatten()
                .unwrap_or(0);
            Ok(rows >= highest.max(0) as u64)
        }
    }
}

fn default_description(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Charge => "Charge",
        EntryKind::Payment => "Payment",
        EntryKind::HousingBenefit => "Housing Benefit",
        EntryKind::UniversalCredit => "Universal Credit housing costs",
        EntryKind::Adjustment => "Adjustment",
        EntryKind::Refund => "Refund",
        EntryKind::Reversal => "Reversal",
    }
}
