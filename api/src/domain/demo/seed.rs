//! Writing the demo into the database: a generator task fills chunks of a few hundred
//! tenancies (encoded for the target database on the generator's core) and hands them over a
//! bounded channel to the writer, which commits each chunk in its own transaction. Memory
//! stays at a few chunks whatever the scale.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

use super::generate::{
    AccountRow, EntryRow, FeatureRow, Generator, IdBase, MemberRow, PersonRow, Plan, PropertyRow, SOURCE, Sink,
    TenancyRow, WorkRow,
};
use super::table::{TableBatch, Val};
use super::{Progress, SeedOptions};
use crate::domain::ledger::bulk::{self, Backend, BulkError, HistoryChunk};
use crate::domain::ledger::indexes;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "this database already has {0} landlord organisation(s); seed-demo only fills an empty database \
         (point DOORSTEP_DATABASE_URL at a new one, or drop this one first)"
    )]
    NotEmpty(u64),
    #[error(transparent)]
    Ledger(#[from] BulkError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("the generator stopped: {0}")]
    Generator(String),
}

/// What a seed run did.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// Rows written per table, in the order the tables were filled.
    pub rows: Vec<(&'static str, u64)>,
    pub tenancies: u32,
    pub elapsed: Duration,
    /// Size of the database afterwards (SQLite: the file plus its WAL).
    pub database_bytes: Option<u64>,
}

impl SeedReport {
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }

    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Ledger entries per chunk: big enough that `COPY` and commits are cheap, small enough that
/// a few chunks in flight stay around a hundred megabytes.
const ENTRIES_PER_CHUNK: u64 = 200_000;
/// Chunks that may wait between the generator and the writer.
const CHANNEL_CHUNKS: usize = 2;

const PROPERTY_COLUMNS: &[&str] = &[
    "id",
    "organisation_id",
    "hms_ref",
    "uprn",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "kind",
    "bedrooms",
    "patch",
    "housing_officer_id",
];
const FEATURE_COLUMNS: &[&str] = &["id", "property_id", "kind", "responsibility", "geometry", "notes"];
const PERSON_COLUMNS: &[&str] =
    &["id", "organisation_id", "hms_ref", "title", "forename", "surname", "date_of_birth", "email", "phone"];
const TENANCY_COLUMNS: &[&str] =
    &["id", "organisation_id", "hms_ref", "property_id", "tenure", "start_date", "end_date"];
const MEMBER_COLUMNS: &[&str] = &["id", "tenancy_id", "person_id", "role"];
const ACCOUNT_COLUMNS: &[&str] = &[
    "id",
    "organisation_id",
    "tenancy_id",
    "hms_ref",
    "account_number",
    "kind",
    "weekly_charge_pence",
    "balance_pence",
    "version",
    "last_entry_date",
    "opened_on",
    "closed_on",
];
const WORK_COLUMNS: &[&str] = &[
    "id",
    "property_id",
    "hms_ref",
    "category",
    "description",
    "planned_start",
    "planned_end",
    "status",
    "contractor",
];

/// One chunk of rows for the database.
pub struct DbChunk {
    tables: Vec<TableBatch>,
    ledger: HistoryChunk,
    tenancies: u32,
}

impl DbChunk {
    fn new(backend: Backend) -> Self {
        DbChunk {
            tables: vec![
                TableBatch::new(backend, "property", PROPERTY_COLUMNS),
                TableBatch::new(backend, "property_feature", FEATURE_COLUMNS),
                TableBatch::new(backend, "person", PERSON_COLUMNS),
                TableBatch::new(backend, "tenancy", TENANCY_COLUMNS),
                TableBatch::new(backend, "tenancy_member", MEMBER_COLUMNS),
                TableBatch::new(backend, "rent_account", ACCOUNT_COLUMNS),
                TableBatch::new(backend, "planned_work", WORK_COLUMNS),
            ],
            // Histories carry no posting times; an overnight batch time reads naturally.
            ledger: HistoryChunk::new(backend, SOURCE, NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN)),
            tenancies: 0,
        }
    }
}

impl Sink for DbChunk {
    fn property(&mut self, p: PropertyRow) {
        self.tables[0].push([
            Val::Int(p.id),
            Val::Int(p.organisation_id),
            Val::Text(p.hms_ref),
            Val::Int(p.uprn),
            Val::Text(p.address_line1),
            Val::OptText(p.address_line2),
            Val::Str(p.town),
            Val::Text(p.postcode),
            Val::Float(p.latitude),
            Val::Float(p.longitude),
            Val::Int(p.easting as i64),
            Val::Int(p.northing as i64),
            Val::Str(p.kind),
            Val::OptInt(p.bedrooms.map(i64::from)),
            Val::Text(p.patch),
            Val::Int(p.housing_officer_id),
        ]);
    }

    fn feature(&mut self, f: FeatureRow) {
        self.tables[1].push([
            Val::Int(f.id),
            Val::Int(f.property_id),
            Val::Str(f.kind),
            Val::Str(f.responsibility),
            Val::Text(f.geometry),
            Val::OptStr(f.notes),
        ]);
    }

    fn person(&mut self, p: PersonRow) {
        self.tables[2].push([
            Val::Int(p.id),
            Val::Int(p.organisation_id),
            Val::Text(p.hms_ref),
            Val::OptStr(p.title),
            Val::Str(p.forename),
            Val::Str(p.surname),
            Val::Date(p.date_of_birth),
            Val::OptText(p.email),
            Val::OptText(p.phone),
        ]);
    }

    fn tenancy(&mut self, t: TenancyRow) {
        self.tables[3].push([
            Val::Int(t.id),
            Val::Int(t.organisation_id),
            Val::Text(t.hms_ref),
            Val::Int(t.property_id),
            Val::Str(t.tenure),
            Val::Date(t.start_date),
            Val::OptDate(t.end_date),
        ]);
    }

    fn member(&mut self, m: MemberRow) {
        self.tables[4].push([Val::Int(m.id), Val::Int(m.tenancy_id), Val::Int(m.person_id), Val::Str(m.role)]);
    }

    fn account(&mut self, a: &AccountRow) {
        // Balance, version and last entry date start empty: the ledger's bulk loader sets
        // them from the history it writes.
        self.tables[5].push([
            Val::Int(a.id),
            Val::Int(a.organisation_id),
            Val::Int(a.tenancy_id),
            Val::Text(a.hms_ref.clone()),
            Val::Text(a.account_number.clone()),
            Val::Str(a.kind),
            Val::Int(a.weekly_charge_pence),
            Val::Int(0),
            Val::Int(0),
            Val::OptDate(None),
            Val::Date(a.opened_on),
            Val::OptDate(a.closed_on),
        ]);
    }

    fn work(&mut self, w: WorkRow) {
        self.tables[6].push([
            Val::Int(w.id),
            Val::Int(w.property_id),
            Val::Text(w.hms_ref),
            Val::Str(w.category),
            Val::Str(w.description),
            Val::Date(w.planned_start),
            Val::OptDate(w.planned_end),
            Val::Str(w.status),
            Val::OptStr(w.contractor),
        ]);
    }

    fn begin_history(&mut self, account: &AccountRow) {
        self.ledger.begin_account(account.id);
    }

    fn entry(&mut self, e: &EntryRow<'_>) -> Result<(), BulkError> {
        self.ledger.push(e.kind, e.amount, e.effective_date, e.description, e.source_ref, e.channel).map(|_| ())
    }
}

/// The next free id of each table.
async fn id_base(db: &DatabaseConnection) -> Result<IdBase, sea_orm::DbErr> {
    let next = |table: &'static str| {
        let sql = format!("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM {table}");
        async move {
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
            Ok::<i64, sea_orm::DbErr>(row.map(|r| r.try_get::<i64>("", "next")).transpose()?.unwrap_or(1))
        }
    };
    Ok(IdBase {
        organisation: next("organisation").await?,
        housing_officer: next("housing_officer").await?,
        property: next("property").await?,
        property_feature: next("property_feature").await?,
        person: next("person").await?,
        tenancy: next("tenancy").await?,
        tenancy_member: next("tenancy_member").await?,
        rent_account: next("rent_account").await?,
        planned_work: next("planned_work").await?,
        rent_free_week: next("rent_free_week").await?,
    })
}

/// Seeds the demo landlord group into an empty database.
pub async fn seed(
    db: &DatabaseConnection,
    opts: &SeedOptions,
    progress: &dyn Progress,
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let orgs = super::organisation_count(db).await?;
    if orgs > 0 {
        return Err(SeedError::NotEmpty(orgs));
    }
    let backend = if crate::db::is_postgres(db) { Backend::Postgres } else { Backend::Sqlite };
    let today = opts.today.unwrap_or_else(|| Utc::now().date_naive());
    let plan = Plan { seed: opts.seed, scale: opts.scale, years: opts.years, today };
    let generator = Generator::new(plan, id_base(db).await?);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();

    // The landlords, their officers and rent-free weeks first, in one transaction.
    let mut head = vec![
        TableBatch::new(
            backend,
            "organisation",
            &[
                "id",
                "slug",
                "name",
                "parent_id",
                "primary_colour",
                "secondary_colour",
                "tagline",
                "phone",
                "email",
                "website",
                "address",
                "opening_hours",
                "emergency_phone",
                "created_at",
            ],
        ),
        TableBatch::new(backend, "housing_officer", &["id", "organisation_id", "name", "email", "phone", "patch"]),
        TableBatch::new(backend, "rent_free_week", &["id", "organisation_id", "week_start"]),
    ];
    let now = Utc::now();
    for o in &generator.orgs {
        let s = o.spec;
        head[0].push([
            Val::Int(o.id),
            Val::Str(s.slug),
            Val::Str(s.name),
            Val::OptInt(o.parent_id),
            Val::Str(s.primary_colour),
            Val::Str(s.secondary_colour),
            Val::OptStr(Some(s.tagline)),
            Val::OptStr(Some(s.phone)),
            Val::OptStr(Some(s.email)),
            Val::OptStr(Some(s.website)),
            Val::OptStr(Some(s.address)),
            Val::OptStr(Some(s.opening_hours)),
            Val::OptStr(Some(s.emergency_phone)),
            Val::Ts(now),
        ]);
    }
    for o in &generator.officers {
        head[1].push([
            Val::Int(o.id),
            Val::Int(o.organisation_id),
            Val::Text(o.name.clone()),
            Val::OptText(Some(o.email.clone())),
            Val::OptText(Some(o.phone.clone())),
            Val::Text(o.patch.clone()),
        ]);
    }
    for r in &generator.rent_free {
        head[2].push([Val::Int(r.id), Val::Int(r.organisation_id), Val::Date(r.week_start)]);
    }
    for t in &head {
        *counts.entry(t.table).or_default() += t.rows();
    }

    // The ledger's secondary indexes are built once at the end: kept up row by row, they take
    // most of a full-scale seed's time (see `ledger::indexes`).
    let aside = indexes::set_aside(db).await?;
    let written = write_all(db, backend, generator, head, counts, opts, progress).await;
    // Built again whether or not the writing succeeded: a failed seed leaves a database to
    // drop, never one without its indexes.
    progress.step("building the ledger's indexes");
    let txn = db.begin().await?;
    aside.rebuild(&txn).await?;
    txn.commit().await?;
    let counts = written?;

    progress.step("refreshing the planner's statistics");
    finish(db, backend).await?;
    progress.finish();
    let database_bytes = database_size(db).await.ok().flatten();
    let order = [
        "organisation",
        "housing_officer",
        "rent_free_week",
        "property",
        "property_feature",
        "person",
        "tenancy",
        "tenancy_member",
        "rent_account",
        "planned_work",
        "ledger_entry",
    ];
    let rows = order.iter().map(|t| (*t, counts.get(t).copied().unwrap_or(0))).collect();
    Ok(SeedReport { rows, tenancies: opts.scale, elapsed: started.elapsed(), database_bytes })
}

/// Writes the landlords (`head`), then the homes, people, tenancies and their histories from
/// the generator, pipelined. Returns the rows written per table.
async fn write_all(
    db: &DatabaseConnection,
    backend: Backend,
    generator: Generator,
    head: Vec<TableBatch>,
    counts: BTreeMap<&'static str, u64>,
    opts: &SeedOptions,
    progress: &dyn Progress,
) -> Result<BTreeMap<&'static str, u64>, SeedError> {
    let mut writer = Writer::open(db, backend).await?;
    writer.write(head, None).await?;

    // Then the homes, people, tenancies and their histories, pipelined.
    let total = opts.scale as u64;
    progress.start(total);
    let per_tenancy = (opts.years.max(1) as u64) * 100;
    let tenancies_per_chunk = (ENTRIES_PER_CHUNK / per_tenancy).clamp(1, 5_000) as u32;
    let (tx, rx) = tokio::sync::mpsc::channel::<DbChunk>(CHANNEL_CHUNKS);
    let producer = tokio::task::spawn_blocking(move || -> Result<(), BulkError> {
        let mut generator = generator;
        while !generator.is_done() {
            let mut chunk = DbChunk::new(backend);
            chunk.tenancies = generator.fill(&mut chunk, tenancies_per_chunk)?;
            if tx.blocking_send(chunk).is_err() {
                // The writer stopped; its error is the one to report.
                break;
            }
        }
        Ok(())
    });
    // PostgreSQL runs each COPY in one server process: two or more writers keep more of
    // its cores busy. SQLite has one writer at a time.
    let writers = match backend {
        Backend::Postgres => std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4),
        Backend::Sqlite => 1,
    };
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let tally = Mutex::new((counts, 0u64));
    let failed = AtomicBool::new(false);
    let mut tasks = Vec::with_capacity(writers);
    let mut first = Some(writer);
    for _ in 0..writers {
        let mut writer = match first.take() {
            Some(w) => w,
            None => Writer::open(db, backend).await?,
        };
        let (rx, tally, failed) = (rx.clone(), &tally, &failed);
        tasks.push(async move {
            loop {
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let Some(chunk) = rx.lock().await.recv().await else { break };
                let mut rows: Vec<(&'static str, u64)> = chunk.tables.iter().map(|t| (t.table, t.rows())).collect();
                rows.push(("ledger_entry", chunk.ledger.len() as u64));
                let tenancies = chunk.tenancies as u64;
                if let Err(e) = writer.write(chunk.tables, Some(chunk.ledger)).await {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                let (done, total_rows) = {
                    let Ok(mut t) = tally.lock() else { break };
                    for (table, n) in rows {
                        *t.0.entry(table).or_default() += n;
                    }
                    t.1 += tenancies;
                    (t.1, t.0.values().sum::<u64>())
                };
                progress.advance(done, total_rows);
            }
            writer.close().await
        });
    }
    let results = futures::future::join_all(tasks).await;
    // Dropping the last receiver stops the generator if a writer failed.
    drop(rx);
    let produced = producer.await.map_err(|e| SeedError::Generator(e.to_string()))?;
    for r in results {
        r?;
    }
    produced?;
    Ok(tally.into_inner().map(|t| t.0).unwrap_or_default())
}

/// The seed's own connection, taken out of the pool (and closed at the end rather than
/// returned) because it carries session settings for bulk loading.
enum Writer {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Writer {
    async fn open(db: &DatabaseConnection, backend: Backend) -> Result<Writer, SeedError> {
        match backend {
            Backend::Postgres => {
                let mut conn = db.get_postgres_connection_pool().acquire().await?.detach();
                // Losing the last moments of a demo seed to a power cut is harmless; waiting
                // for every commit to reach the disk is not free.
                sqlx::query("SET synchronous_commit TO OFF").execute(&mut conn).await?;
                // Every row's parent is written earlier in the same transaction, so the
                // foreign keys hold by construction; their per-row triggers would double
                // the load time. Skipping them needs a superuser: without one, they run.
                let superuser: String =
                    sqlx::query_scalar("SELECT current_setting('is_superuser')").fetch_one(&mut conn).await?;
                if superuser == "on" {
                    sqlx::query("SET session_replication_role TO replica").execute(&mut conn).await?;
                }
                Ok(Writer::Postgres(conn))
            }
            Backend::Sqlite => {
                let mut conn = db.get_sqlite_connection_pool().acquire().await?.detach();
                // WAL with NORMAL still never corrupts; it only stops waiting for the disk at
                // each commit (as above, harmless for a seed).
                sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut conn).await?;
                // A bigger page cache for this connection only: the ledger's indexes outgrow
                // the default long before a hundred million rows.
                sqlx::query("PRAGMA cache_size = -262144").execute(&mut conn).await?;
                Ok(Writer::Sqlite(conn))
            }
        }
    }

    /// Writes one chunk's tables (parents first) and its ledger history in one transaction.
    async fn write(&mut self, tables: Vec<TableBatch>, ledger: Option<HistoryChunk>) -> Result<(), SeedError> {
        use sqlx::Connection;
        match self {
            Writer::Postgres(conn) => {
                let mut tx = conn.begin().await?;
                for t in tables {
                    t.write_pg(&mut tx).await?;
                }
                if let Some(l) = ledger {
                    bulk::write_pg(&mut tx, l).await?;
                }
                tx.commit().await?;
            }
            Writer::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                for t in tables {
                    t.write_sqlite(&mut tx).await?;
                }
                if let Some(l) = ledger {
                    bulk::write_sqlite(&mut tx, l).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn close(self) -> Result<(), SeedError> {
        use sqlx::Connection;
        match self {
            Writer::Postgres(c) => c.close().await?,
            Writer::Sqlite(c) => c.close().await?,
        }
        Ok(())
    }
}

/// Moves PostgreSQL's id sequences past the ids the seed chose, and refreshes the planner's
/// statistics.
async fn finish(db: &DatabaseConnection, backend: Backend) -> Result<(), SeedError> {
    match backend {
        Backend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            for table in [
                "organisation",
                "housing_officer",
                "rent_free_week",
                "property",
                "property_feature",
                "person",
                "tenancy",
                "tenancy_member",
                "rent_account",
                "planned_work",
            ] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
            }
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        Backend::Sqlite => {
            // A sampled ANALYZE: a full one reads every index of a hundred-million-row table.
            // The limit is a per-connection setting, so both run on one connection.
            let mut conn = db.get_sqlite_connection_pool().acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 1000").execute(&mut *conn).await?;
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
            sqlx::query("PRAGMA analysis_limit = 0").execute(&mut *conn).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Bytes the database takes on disk: `pg_database_size`, or the SQLite file and its WAL.
pub async fn database_size(db: &DatabaseConnection) -> Result<Option<u64>, sqlx::Error> {
    if crate::db::is_postgres(db) {
        let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(db.get_postgres_connection_pool())
            .await?;
        return Ok(Some(size as u64));
    }
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("PRAGMA database_list").fetch_all(db.get_sqlite_connection_pool()).await?;
    let Some((_, _, file)) = rows.into_iter().find(|(_, name, _)| name == "main") else { return Ok(None) };
    if file.is_empty() {
        return Ok(None);
    }
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Ok(Some(size(&file) + size(&format!("{file}-wal"))))
}
