//! The outbox relay: delivers each `hms.payment` outbox row to the housing management
//! system, with retries and exponential backoff. Every delivery carries the row's message
//! key, so the HMS can drop a repeat (a delivery that succeeded but whose answer was lost is
//! sent again): exactly once from the HMS's point of view.
//!
//! Two sinks: a folder (one CSV file per delivered batch, written to a temporary name and
//! renamed, so the HMS never reads half a file) and an HTTP endpoint (`POST` of the JSON
//! payload with `Idempotency-Key`).

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use secrecy::{ExposeSecret, SecretString};

use super::ingest::HMS_PAYMENT_TOPIC;
use crate::entity::outbox;

/// Rows taken per round.
const BATCH: u64 = 200;
/// Backoff after the n-th failure: 2^n seconds, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12) as u32).min(Duration::from_secs(3600))
}

/// Where payments go.
#[derive(Debug, Clone)]
pub enum Sink {
    Folder(PathBuf),
    Http { url: String, api_key: Option<SecretString>, client: reqwest::Client },
}

impl Sink {
    async fn deliver(&self, rows: &[outbox::Model]) -> Result<(), String> {
        match self {
            Sink::Folder(dir) => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record([
                    "message_key",
                    "account_number",
                    "hms_account_ref",
                    "amount_pence",
                    "channel",
                    "paid_at",
                    "effective_date",
                    "provider_payment_id",
                ])
                .map_err(|e| e.to_string())?;
                for r in rows {
                    let v: serde_json::Value = serde_json::from_str(&r.payload).map_err(|e| e.to_string())?;
                    let f = |k: &str| match &v[k] {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    w.write_record([
                        r.message_key.clone(),
                        f("account_number"),
                        f("hms_account_ref"),
                        f("amount_pence"),
                        f("channel"),
                        f("paid_at"),
                        f("effective_date"),
                        f("provider_payment_id"),
                    ])
                    .map_err(|e| e.to_string())?;
                }
                let bytes = w.into_inner().map_err(|e| e.to_string())?;
                let first = rows.first().map_or(0, |r| r.id);
                let last = rows.last().map_or(0, |r| r.id);
                let name = format!("payments-{first:012}-{last:012}.csv");
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                let tmp = dir.join(format!(".{name}.part"));
                tokio::fs::write(&tmp, &bytes).await.map_err(|e| format!("{}: {e}", tmp.display()))?;
                tokio::fs::rename(&tmp, dir.join(&name)).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                Ok(())
            }
            Sink::Http { url, api_key, client } => {
                for r in rows {
                    let mut req = client
                        .post(url)
                        .header("content-type", "application/json")
                        .header("idempotency-key", &r.message_key)
                        .body(r.payload.clone());
                    if let Some(k) = api_key {
                        req = req.bearer_auth(k.expose_secret());
                    }
                    let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
                    if !resp.status().is_success() {
                        return Err(format!("the HMS answered {}", resp.status()));
                    }
                }
                Ok(())
            }
        }
    }
}

/// Delivers what is due now. Returns how many rows were delivered.
pub async fn relay_once(db: &DatabaseConnection, sink: &Sink) -> Result<usize, sea_orm::DbErr> {
    let due = outbox::Entity::find()
        .filter(outbox::Column::Topic.eq(HMS_PAYMENT_TOPIC))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::NextAttemptAt.lte(Utc::now()))
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = due.iter().map(|r| r.id).collect();
    match sink.deliver(&due).await {
        Ok(()) => {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::DeliveredAt, Expr::value(Utc::now()))
                .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
                .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
                .filter(outbox::Column::Id.is_in(ids))
                .exec(db)
                .await?;
            Ok(due.len())
        }
        Err(e) => {
            tracing::warn!(rows = due.len(), error = %e, "outbox: delivery to the HMS failed; will retry");
            for r in &due {
                let next = Utc::now() + chrono::Duration::from_std(backoff(r.attempts + 1)).unwrap_or_default();
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::Attempts, Expr::value(r.attempts + 1))
                    .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
                    .col_expr(outbox::Column::LastError, Expr::value(e.clone()))
                    .filter(outbox::Column::Id.eq(r.id))
                    .exec(db)
                    .await?;
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
