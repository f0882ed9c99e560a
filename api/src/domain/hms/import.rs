//! Applying an export to the database, in one transaction for the whole run.
//!
//! 1. Every row is checked against the database (organisations exist, references resolve to
//!    a row in this export or already in the database, keys that must be unique are, an HMS
//!    transaction id is not reused with other details). Nothing is written yet.
//! 2. If anything failed and `skip_invalid` is off, the transaction is rolled back: the run
//!    is rejected and only its `import_run` record is written.
//! 3. Otherwise rows are upserted on their HMS reference in dependency order, and
//!    transactions are posted through [`ledger::post_batch`](crate::domain::ledger::post_batch)
//!    with source `hms` and the HMS transaction id as `source_ref`, which makes a re-run
//!    post nothing twice and keeps the cached balances right.
//!
//! The importer never deletes: a row missing from a later export stays as it was.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde::Serialize;

use super::format::{File, RowError};
use super::read::{AccountIn, Export, MemberIn, PersonIn, PropertyIn, Rec, TenancyIn, TransactionIn, WorkIn};
use crate::domain::ledger::{self, Channel, EntryKind, LedgerError, NewEntry, PostOutcome};
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
/// Errors kept in the `import_run` summary (all of them are in the report itself).
const MAX_ERRORS_IN_SUMMARY: usize = 1000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import the valid rows and report the rest instead of rejecting the run.
    pub skip_invalid: bool,
}

/// Progress through an import, for a progress bar.
pub trait ImportProgress: Send + Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
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
    let plan = check(&txn, export, &mut checks, progress).await?;
    let mut errors = export.errors.clone();
    errors.append(&mut checks.errors);
    errors.sort_by(|a, b| {
        let fa = File::from_name(&a.file);
        let fb = File::from_name(&b.file);
        (fa, a.line, a.column).cmp(&(fb, b.line, b.column))
    });
    let mut files: Vec<FileSummary> = File::ALL
        .iter()
        .filter(|f| export.present.contains(f))
        .map(|f| FileSummary { file: f.name(), rows: export.rows.get(f).copied().unwrap_or(0), ..Default::default() })
        .collect();
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
            s.skipped = s.rows;
        }
        report.files = files;
        report.elapsed = started.elapsed();
        report.import_run_id = Some(record_run(db, &report, started_at).await?);
        return Ok(report);
    }
    apply(&txn, plan, &mut files, progress).await?;
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

/// The rows that passed every check, with what the database already holds for them.
#[derive(Default)]
struct Plan {
    properties: Vec<(Rec<PropertyIn>, i64, Option<property::Model>)>,
    people: Vec<(Rec<PersonIn>, i64, Option<person::Model>)>,
    tenancies: Vec<(Rec<TenancyIn>, i64, Option<tenancy::Model>)>,
    members: Vec<(Rec<MemberIn>, Option<tenancy_member::Model>)>,
    accounts: Vec<(Rec<AccountIn>, i64, Option<rent_account::Model>)>,
    transactions: Vec<Rec<TransactionIn>>,
    works: Vec<(Rec<WorkIn>, Option<planned_work::Model>)>,
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

async fn check(
    txn: &DatabaseTransaction,
    export: &Export,
    checks: &mut Checks<'_>,
    progress: &dyn ImportProgress,
) -> Result<Plan, ImportError> {
    let mut plan = Plan::default();
    progress.stage("checking", export.total_rows());
    let orgs = organisation::Entity::find().all(txn).await?;
    let org_ids: HashMap<&str, i64> = orgs.iter().map(|o| (o.slug.as_str(), o.id)).collect();
    let org_slug = |id: i64| orgs.iter().find(|o| o.id == id).map_or("?", |o| o.slug.as_str()).to_owned();

    // Properties.
    let existing = load_properties(txn, export.properties.iter().map(|r| r.row.property_ref.clone())).await?;
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
        let current = existing.get(&r.property_ref).cloned();
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
        plan.properties.push((rec.clone(), org, current));
    }
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
    let existing = load_people(txn, export.people.iter().map(|r| r.row.person_ref.clone())).await?;
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
        let current = existing.get(&r.person_ref).cloned();
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
        plan.people.push((rec.clone(), org, current));
    }
    let wanted = refs_missing(export.members.iter().map(|r| &r.row.person_ref), &plan.known_people);
    for (k, m) in load_people(txn, wanted.into_iter()).await? {
        plan.known_people.insert(k, Known { id: Some(m.id), org: m.organisation_id });
    }

    // Tenancies.
    let existing = load_tenancies(txn, export.tenancies.iter().map(|r| r.row.tenancy_ref.clone())).await?;
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
        let current = existing.get(&r.tenancy_ref).cloned();
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
        plan.tenancies.push((rec.clone(), p.org, current));
    }
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
        plan.members.push((rec.clone(), current));
    }

    // Accounts.
    let existing = load_accounts(txn, export.accounts.iter().map(|r| r.row.account_ref.clone())).await?;
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
        let current = existing.get(&r.account_ref).cloned();
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
        plan.accounts.push((rec.clone(), t.org, current));
    }
    let wanted = refs_missing(export.transactions.iter().map(|r| &r.row.account_ref), &plan.known_accounts);
    for (k, m) in load_accounts(txn, wanted.into_iter()).await? {
        plan.known_accounts.insert(k, Known { id: Some(m.id), org: m.organisation_id });
    }

    // Transactions: the account must resolve, and an id posted before must match.
    let ids: Vec<String> = export.transactions.iter().map(|r| r.row.transaction_id.clone()).collect();
    // Only the columns that identify a posting: a re-run of a big export reads them all.
    let mut posted: HashMap<String, (i64, String, i64)> = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(String, i64, String, i64)> = ledger_entry::Entity::find()
            .select_only()
            .column(ledger_entry::Column::SourceRef)
            .column(ledger_entry::Column::AccountId)
            .column(ledger_entry::Column::Kind)
            .column(ledger_entry::Column::AmountPence)
            .filter(ledger_entry::Column::Source.eq(SOURCE))
            .filter(ledger_entry::Column::SourceRef.is_in(chunk.to_vec()))
            .into_tuple()
            .all(txn)
            .await?;
        for (source_ref, account_id, kind, amount) in rows {
            posted.insert(source_ref, (account_id, kind, amount));
        }
    }
    for rec in &export.transactions {
        let (f, line, r) = (File::Transactions, rec.line, &rec.row);
        let Some(a) =
            checks.resolve(&plan.known_accounts, File::Accounts, "account", &r.account_ref, f, line, "account_ref")
        else {
            continue;
        };
        if let Some((account_id, kind, amount)) = posted.get(&r.transaction_id)
            && (Some(*account_id) != a.id || kind != r.kind.as_str() || *amount != r.amount.pence())
        {
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
            continue;
        }
        plan.transactions.push(rec.clone());
    }

    // Planned work.
    let existing = load_works(txn, export.works.iter().map(|r| r.row.work_ref.clone())).await?;
    for rec in &export.works {
        let (f, line, r) = (File::PlannedWork, rec.line, &rec.row);
        if checks
            .resolve(&plan.known_properties, File::Properties, "property", &r.property_ref, f, line, "property_ref")
            .is_none()
        {
            continue;
        }
        plan.works.push((rec.clone(), existing.get(&r.work_ref).cloned()));
    }
    progress.inc(export.total_rows());
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

/// Fills in the ids of rows this run inserted.
fn fill_ids<M>(known: &mut HashMap<String, Known>, loaded: HashMap<String, M>, id: impl Fn(&M) -> i64) {
    for (k, m) in loaded {
        if let Some(entry) = known.get_mut(&k) {
            entry.id = Some(id(&m));
        }
    }
}

fn need(known: &HashMap<String, Known>, reference: &str) -> Result<i64, sea_orm::DbErr> {
    known
        .get(reference)
        .and_then(|k| k.id)
        .ok_or_else(|| sea_orm::DbErr::Custom(format!("{reference} was checked but has no id after its insert")))
}

async fn apply(
    txn: &DatabaseTransaction,
    mut plan: Plan,
    files: &mut [FileSummary],
    progress: &dyn ImportProgress,
) -> Result<(), ImportError> {
    // Properties.
    progress.stage(File::Properties.name(), plan.properties.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.properties) {
        let r = rec.row;
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
                new.push(am);
                new_refs.push(r.property_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_ids(&mut plan.known_properties, load_properties(txn, new_refs.into_iter()).await?, |m| m.id);

    // People.
    progress.stage(File::People.name(), plan.people.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.people) {
        let r = rec.row;
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
                new.push(am);
                new_refs.push(r.person_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_ids(&mut plan.known_people, load_people(txn, new_refs.into_iter()).await?, |m| m.id);

    // Tenancies.
    progress.stage(File::Tenancies.name(), plan.tenancies.len() as u64);
    let mut new = Vec::new();
    let mut new_refs = Vec::new();
    for (rec, org, current) in std::mem::take(&mut plan.tenancies) {
        let r = rec.row;
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
                new.push(am);
                new_refs.push(r.tenancy_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_ids(&mut plan.known_tenancies, load_tenancies(txn, new_refs.into_iter()).await?, |m| m.id);

    // Members: demotions first, so that a new lead never meets the old one.
    progress.stage(File::TenancyMembers.name(), plan.members.len() as u64);
    let mut members = std::mem::take(&mut plan.members);
    members.sort_by_key(|(rec, _)| rec.row.role == "lead");
    let mut new = Vec::new();
    for (rec, current) in members {
        let r = rec.row;
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
                new.push(tenancy_member::ActiveModel {
                    tenancy_id: Set(tenancy_id),
                    person_id: Set(person_id),
                    role: Set(r.role.to_owned()),
                    ..Default::default()
                });
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
        let r = rec.row;
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
                new.push(rent_account::ActiveModel {
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
                });
                new_refs.push(r.account_ref);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    fill_ids(&mut plan.known_accounts, load_accounts(txn, new_refs.into_iter()).await?, |m| m.id);

    // Transactions, per account in file order, through the ledger.
    progress.stage(File::Transactions.name(), plan.transactions.len() as u64);
    let mut order: Vec<String> = Vec::new();
    let mut by_account: HashMap<String, Vec<NewEntry>> = HashMap::new();
    for rec in std::mem::take(&mut plan.transactions) {
        let r = rec.row;
        let channel = r.channel.or(match r.kind {
            EntryKind::Payment => Some(Channel::Hms),
            EntryKind::HousingBenefit => Some(Channel::HousingBenefit),
            EntryKind::UniversalCredit => Some(Channel::UniversalCredit),
            _ => None,
        });
        let entries = by_account.entry(r.account_ref.clone()).or_insert_with(|| {
            order.push(r.account_ref.clone());
            Vec::new()
        });
        entries.push(NewEntry {
            kind: r.kind,
            amount: r.amount,
            effective_date: r.date,
            description: r.description.unwrap_or_else(|| default_description(r.kind).to_owned()),
            source: SOURCE.to_owned(),
            source_ref: r.transaction_id,
            channel,
        });
    }
    // PostgreSQL plans the ledger's lookups from table statistics, which a big import
    // makes stale (a plan that fits an empty ledger scans a full one). Refreshing them
    // first, and again as this run adds rows, keeps each lookup an index probe. ANALYZE
    // samples a fixed number of rows, so this costs seconds even on a large ledger.
    let postgres = txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let total: usize = by_account.values().map(Vec::len).sum();
    let mut since_analyze = 0u64;
    if postgres && total >= ANALYZE_EVERY as usize / 10 {
        txn.execute_unprepared("ANALYZE ledger_entry").await?;
    }
    for account_ref in order {
        let Some(entries) = by_account.remove(&account_ref) else { continue };
        let n = entries.len() as u64;
        since_analyze += n;
        if postgres && since_analyze >= ANALYZE_EVERY {
            txn.execute_unprepared("ANALYZE ledger_entry").await?;
            since_analyze = 0;
        }
        let account_id = need(&plan.known_accounts, &account_ref)?;
        let s = summary(files, File::Transactions);
        for outcome in ledger::post_batch(txn, account_id, entries).await? {
            match outcome {
                PostOutcome::Posted(_) => s.posted += 1,
                PostOutcome::AlreadyPosted(_) => s.already_posted += 1,
            }
        }
        progress.inc(n);
    }

    // Planned work.
    progress.stage(File::PlannedWork.name(), plan.works.len() as u64);
    let mut new = Vec::new();
    for (rec, current) in std::mem::take(&mut plan.works) {
        let r = rec.row;
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
                new.push(am);
                s.inserted += 1;
            }
        }
        progress.inc(1);
    }
    insert_all(txn, new).await?;
    Ok(())
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
