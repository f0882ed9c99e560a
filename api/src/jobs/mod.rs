//! Scheduled work that runs inside `serve`. On PostgreSQL each job takes an advisory lock
//! so that exactly one node runs it.

pub mod charge_run;
pub mod import_poll;
pub mod outbox_relay;
pub mod reconcile_poll;

use sea_orm::DatabaseConnection;

/// Advisory-lock keys, one per job.
pub mod lock_keys {
    pub const HMS_IMPORT: i64 = 0x646f_6f72_0001;
    pub const CHARGE_RUN: i64 = 0x646f_6f72_0002;
    pub const RECONCILE_POLL: i64 = 0x646f_6f72_0003;
    pub const OUTBOX_RELAY: i64 = 0x646f_6f72_0004;
}

/// Runs `f` only if this node wins the advisory lock `key` (PostgreSQL); SQLite has one
/// node, so it always runs. The lock is released afterwards.
pub async fn with_singleton_lock<F, Fut, T>(db: &DatabaseConnection, key: i64, f: F) -> anyhow::Result<Option<T>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    if !crate::db::is_postgres(db) {
        return f().await.map(Some);
    }
    // Session-level advisory locks belong to one connection; hold a dedicated one.
    let pool = db.get_postgres_connection_pool().clone();
    let mut conn = pool.acquire().await?;
    let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?;
    if !won {
        return Ok(None);
    }
    let result = f().await;
    if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await {
        tracing::warn!(error = %e, "releasing an advisory lock failed; it goes with the connection");
    }
    result.map(Some)
}

/// Starts every scheduled job; each stops when `shutdown` turns true.
pub fn spawn_all(
    state: &crate::AppState,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut jobs = vec![charge_run::spawn(state.db.clone(), shutdown.clone())];
    jobs.extend(import_poll::spawn(state.db.clone(), &state.config, shutdown.clone()));
    jobs.extend(reconcile_poll::spawn(state.db.clone(), state.live.clone(), &state.config, shutdown.clone()));
    jobs.extend(outbox_relay::spawn(state.db.clone(), &state.config, shutdown));
    jobs
}
