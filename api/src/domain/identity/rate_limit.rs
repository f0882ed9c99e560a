//! Fixed-window counters in the database, so that every API node counts against the same
//! limits. One row per (limit, key); the key is hashed so the table holds no email
//! addresses, account numbers or IP addresses.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use super::error::IdentityError;
use super::random::sha256_hex;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window_secs: i64,
}

/// Registration requests from one address.
pub const REGISTER_PER_IP: Limit = Limit { name: "register:ip", max: 10, window_secs: 3600 };
/// Registration requests naming one account number, from anywhere.
pub const REGISTER_PER_ACCOUNT: Limit = Limit { name: "register:account", max: 5, window_secs: 24 * 3600 };
/// Activation attempts from one address.
pub const ACTIVATE_PER_IP: Limit = Limit { name: "activate:ip", max: 20, window_secs: 3600 };
/// Sign-in attempts from one address.
pub const LOGIN_PER_IP: Limit = Limit { name: "login:ip", max: 50, window_secs: 15 * 60 };
/// Sign-in attempts for one email address, whether or not it has an account.
pub const LOGIN_PER_ACCOUNT: Limit = Limit { name: "login:account", max: 20, window_secs: 15 * 60 };
/// Token refreshes from one address.
pub const REFRESH_PER_IP: Limit = Limit { name: "refresh:ip", max: 120, window_secs: 15 * 60 };

const UPSERT: &str = "INSERT INTO rate_limit (bucket, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (bucket) DO UPDATE SET \
     hits = CASE WHEN rate_limit.window_start <= $3 THEN 1 ELSE rate_limit.hits + 1 END, \
     window_start = CASE WHEN rate_limit.window_start <= $3 THEN $2 ELSE rate_limit.window_start END \
     RETURNING hits, window_start";

fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Counts one hit of `key` against `limit`; `Throttled` with the seconds to wait once the
/// window is full.
pub async fn hit(conn: &impl ConnectionTrait, limit: Limit, key: &str) -> Result<(), IdentityError> {
    let now = Utc::now().timestamp();
    let bucket = format!("{}:{}", limit.name, &sha256_hex(&format!("{}\u{0}{}", limit.name, key))[..40]);
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(statement(backend, UPSERT, vec![bucket.into(), now.into(), (now - limit.window_secs).into()]))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the rate-limit upsert returned no row"))?;
    let hits: i64 = row.try_get("", "hits")?;
    let window_start: i64 = row.try_get("", "window_start")?;
    // Now and then, forget windows that closed long ago.
    let mut b = [0u8; 1];
    if super::random::fill(&mut b).is_ok() && b[0] == 0 {
        let stale =
            statement(backend, "DELETE FROM rate_limit WHERE window_start < $1", vec![(now - 2 * 86_400).into()]);
        if let Err(e) = conn.execute_raw(stale).await {
            tracing::warn!(error = %e, "cannot prune rate-limit counters");
        }
    }
    if hits > limit.max {
        let retry_after_secs = (window_start + limit.window_secs - now).max(1) as u64;
        return Err(IdentityError::Throttled { retry_after_secs });
    }
    Ok(())
}
