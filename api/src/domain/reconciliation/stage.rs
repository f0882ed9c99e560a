//! The staging table a run classifies from: the file's lines, bulk-loaded onto the run's own
//! connection as a temporary table, so that matching is a handful of set-wise joins instead
//! of a million lookups.
//!
//! - PostgreSQL: `COPY … FROM STDIN` into a `TEMP` table. A temporary table belongs to one
//!   session, and sea-orm does not hand out the connection inside a transaction, so the run
//!   gets a pool of exactly one connection of its own: the table is created and loaded on
//!   it, then the run's transaction begins on the same connection and sees it. Closing the
//!   pool afterwards ends the session and drops the table.
//! - SQLite: multi-row `INSERT`s into a `TEMP` table inside the run's transaction (SQLite
//!   has no `COPY`; its inserts under one transaction are fast), then an index on the
//!   payment id for the anti-joins.

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, SqlxPostgresConnector, Statement, Value,
};
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::error::ReconciliationError;
use super::file::Line;
use super::service::Progress;
use crate::domain::ledger::bulk::push_copy_text;

const COLUMNS: &str = "line_no, payment_id, account_number, amount_pence, channel, paid_at, reference";
/// Lines per `COPY` message.
const COPY_LINES: usize = 20_000;
/// SQLite allows 32766 bound parameters per statement: 4000 rows of 7.
const SQLITE_ROWS: usize = 4_000;

/// Creates the staging table on a new one-connection pool and loads `lines` into it.
/// Returns the pool as a sea-orm connection (for the run's transaction) and as itself (to
/// close when the run is over).
pub async fn load_postgres(
    db: &DatabaseConnection,
    lines: &[Line],
    progress: &dyn Progress,
) -> Result<(DatabaseConnection, PgPool), ReconciliationError> {
    let options = db.get_postgres_connection_pool().connect_options();
    // One connection that stays as it is: no health check that could swap it for another
    // session (which would not have the table), no reaping while the run works.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .test_before_acquire(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with((*options).clone())
        .await?;
    {
        let mut conn = pool.acquire().await?;
        sqlx::query("DROP TABLE IF EXISTS pg_temp.reconciliation_stage").execute(&mut *conn).await?;
        sqlx::query(
            "CREATE TEMP TABLE reconciliation_stage (line_no INTEGER NOT NULL, payment_id TEXT NOT NULL, \
             account_number TEXT NOT NULL, amount_pence BIGINT NOT NULL, channel TEXT NOT NULL, \
             paid_at TIMESTAMPTZ NOT NULL, reference TEXT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        progress.stage("loading", lines.len() as u64);
        let mut copy = conn.copy_in_raw(&format!("COPY reconciliation_stage ({COLUMNS}) FROM STDIN")).await?;
        let mut buf = Vec::with_capacity(COPY_LINES * 96);
        for chunk in lines.chunks(COPY_LINES) {
            buf.clear();
            for l in chunk {
                encode_copy(&mut buf, l);
            }
            if let Err(e) = copy.send(buf.as_slice()).await {
                let _ = copy.abort("the load failed").await;
                return Err(e.into());
            }
            progress.inc(chunk.len() as u64);
        }
        copy.finish().await?;
        // Temporary tables are never analysed by autovacuum; the planner needs the row count
        // to pick hash joins for a big file and index lookups for a small one.
        sqlx::query("ANALYZE reconciliation_stage").execute(&mut *conn).await?;
    }
    Ok((SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()), pool))
}

fn encode_copy(b: &mut Vec<u8>, l: &Line) {
    b.extend_from_slice(l.line.to_string().as_bytes());
    b.push(b'\t');
    push_copy_text(b, &l.payment_id);
    b.push(b'\t');
    push_copy_text(b, &l.account_number);
    b.push(b'\t');
    b.extend_from_slice(l.amount_pence.to_string().as_bytes());
    b.push(b'\t');
    b.extend_from_slice(l.channel.as_str().as_bytes());
    b.push(b'\t');
    b.extend_from_slice(l.paid_at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string().as_bytes());
    b.push(b'\t');
    match &l.reference {
        Some(r) => push_copy_text(b, r),
        None => b.extend_from_slice(b"\\N"),
    }
    b.push(b'\n');
}

/// Creates the staging table inside the run's transaction on SQLite and loads `lines`.
pub async fn load_sqlite(
    txn: &DatabaseTransaction,
    lines: &[Line],
    progress: &dyn Progress,
) -> Result<(), ReconciliationError> {
    txn.execute_unprepared("DROP TABLE IF EXISTS temp.reconciliation_stage").await?;
    txn.execute_unprepared(
        "CREATE TEMP TABLE reconciliation_stage (line_no INTEGER PRIMARY KEY, payment_id TEXT NOT NULL, \
         account_number TEXT NOT NULL, amount_pence INTEGER NOT NULL, channel TEXT NOT NULL, \
         paid_at TEXT NOT NULL, reference TEXT NULL)",
    )
    .await?;
    progress.stage("loading", lines.len() as u64);
    let one = "(?,?,?,?,?,?,?)";
    for chunk in lines.chunks(SQLITE_ROWS) {
        let sql = format!("INSERT INTO reconciliation_stage ({COLUMNS}) VALUES {}", vec![one; chunk.len()].join(","));
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for l in chunk {
            values.push(i64::from(l.line).into());
            values.push(l.payment_id.to_string().into());
            values.push(l.account_number.to_string().into());
            values.push(l.amount_pence.into());
            values.push(l.channel.as_str().into());
            values.push(l.paid_at.into());
            values.push(l.reference.as_ref().map(|r| r.to_string()).into());
        }
        txn.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values)).await?;
        progress.inc(chunk.len() as u64);
    }
    txn.execute_unprepared("CREATE INDEX temp.ix_reconciliation_stage_payment ON reconciliation_stage (payment_id)")
        .await?;
    Ok(())
}

/// Drops the staging table before the SQLite transaction commits (PostgreSQL's goes with
/// its session).
pub async fn drop_sqlite(txn: &DatabaseTransaction) -> Result<(), ReconciliationError> {
    txn.execute_unprepared("DROP TABLE IF EXISTS temp.reconciliation_stage").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::ledger::Channel;

    #[test]
    fn copy_rows_escape_text_and_mark_missing_references() {
        let line = Line {
            line: 7,
            payment_id: "pay\t1".into(),
            account_number: "A\\B".into(),
            amount_pence: 1234,
            channel: Channel::RetailCash,
            paid_at: DateTime::parse_from_rfc3339("2026-11-22T10:15:03.1Z").unwrap().with_timezone(&Utc),
            reference: None,
        };
        let mut b = Vec::new();
        encode_copy(&mut b, &line);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "7\tpay\\t1\tA\\\\B\t1234\tretail_cash\t2026-11-22 10:15:03.100000+00\t\\N\n"
        );
    }
}
