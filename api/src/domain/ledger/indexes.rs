//! Setting the ledger's secondary indexes aside for a bulk load, and building them again.
//!
//! A file grouped by account brings its entries in account order, but the date/channel
//! index (`ix_ledger_entry_date_channel`, for payments by channel) is kept in date order:
//! each row lands on a random page of it. Once that index outgrows memory, every row costs a
//! random page write, and at a hundred million rows that is most of a load's time (on
//! PostgreSQL the full-scale demo seed took five times as long once that index existed).
//! Built once at the end of the load, an index is one sort.
//!
//! Only the indexes that no rule depends on are set aside: the primary key and the UNIQUE
//! `(source, source_ref)` (the idempotency key, and the lookup of ids posted before) stay
//! in place throughout. The definitions are read from the database's own catalogue, so
//! what is built again is exactly what the migrations made.
//!
//! On PostgreSQL, dropping an index locks its table against reads until the transaction
//! ends: set indexes aside only when nothing else needs the ledger meanwhile (a seed, a
//! first import before the portal is live).

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

/// The ledger's secondary indexes that were dropped, with what creates each again.
#[derive(Debug)]
#[must_use = "the indexes are gone until `rebuild` is called"]
pub struct SetAside {
    indexes: Vec<Index>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    /// The `CREATE INDEX` statement, as the database reports it.
    pub definition: String,
}

/// PostgreSQL's memory for building an index, when the server's own setting is lower: with
/// the default (64 MB) a hundred-million-row index is sorted in many passes over the disk.
const BUILD_MEMORY_KB: i64 = 512 * 1024;

/// The ledger's secondary indexes as the database has them now: neither unique nor the
/// primary key, sorted by name.
pub async fn secondary(conn: &impl ConnectionTrait) -> Result<Vec<Index>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = 'ledger_entry'::regclass AND NOT i.indisunique AND NOT i.indisprimary \
             ORDER BY c.relname"
        }
        // Indexes made by a constraint have no statement (`sql IS NULL`) and are unique.
        _ => {
            "SELECT m.name AS name, m.sql AS definition \
             FROM sqlite_master m JOIN pragma_index_list('ledger_entry') l ON l.name = m.name \
             WHERE m.type = 'index' AND l.\"unique\" = 0 AND m.sql IS NOT NULL \
             ORDER BY m.name"
        }
    };
    let rows = conn.query_all_raw(Statement::from_string(backend, sql)).await?;
    rows.iter().map(|r| Ok(Index { name: r.try_get("", "name")?, definition: r.try_get("", "definition")? })).collect()
}

/// Drops the ledger's secondary indexes on `conn` and returns them, for [`SetAside::rebuild`].
pub async fn set_aside(conn: &impl ConnectionTrait) -> Result<SetAside, DbErr> {
    let indexes = secondary(conn).await?;
    for index in &indexes {
        conn.execute_unprepared(&format!("DROP INDEX {}", quoted(&index.name))).await?;
    }
    tracing::info!(indexes = ?indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), "ledger indexes set aside");
    Ok(SetAside { indexes })
}

impl SetAside {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.indexes.iter().map(|i| i.name.as_str())
    }

    /// Creates the indexes again (those not there already), on `conn`. On PostgreSQL, call it
    /// inside a transaction: the build's memory is raised for that transaction only.
    pub async fn rebuild(self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        // Reading the catalogue first also matters on SQLite when `conn` is not the
        // connection that dropped the indexes: one that read the schema before the drop
        // still has it cached until a statement checks it, and would call the index there.
        let present = secondary(conn).await?;
        let missing: Vec<Index> =
            self.indexes.into_iter().filter(|i| !present.iter().any(|p| p.name == i.name)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let backend = conn.get_database_backend();
        if backend == DatabaseBackend::Postgres {
            let row = conn
                .query_one_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT setting::int8 AS kb FROM pg_settings WHERE name = 'maintenance_work_mem'",
                ))
                .await?;
            let kb: i64 = row.map(|r| r.try_get("", "kb")).transpose()?.unwrap_or(0);
            if kb < BUILD_MEMORY_KB {
                conn.execute_unprepared(&format!("SET LOCAL maintenance_work_mem = '{BUILD_MEMORY_KB}kB'")).await?;
            }
        }
        // SQLite sorts an index build wholly in memory while temporary storage is in memory
        // (the pool's setting): gigabytes for a hundred million rows. With files it sorts in
        // runs of the page cache's size and merges them from a temporary file.
        let sqlite_files = backend == DatabaseBackend::Sqlite && set_temp_store(conn, "FILE").await;
        let mut built = Ok(());
        for index in missing {
            let started = std::time::Instant::now();
            built = conn.execute_unprepared(&index.definition).await.map(|_| ());
            if built.is_err() {
                break;
            }
            tracing::info!(index = %index.name, seconds = started.elapsed().as_secs_f64(), "ledger index built");
        }
        if sqlite_files {
            set_temp_store(conn, "MEMORY").await;
        }
        built
    }
}

/// Sets SQLite's `temp_store` on this connection. SQLite refuses inside a transaction that
/// has used temporary tables; the build then goes on with the setting it had.
async fn set_temp_store(conn: &impl ConnectionTrait, to: &str) -> bool {
    match conn.execute_unprepared(&format!("PRAGMA temp_store = {to}")).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not set SQLite's temp_store to {to} for an index build");
            false
        }
    }
}

/// An identifier as SQL (both databases take double quotes).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
