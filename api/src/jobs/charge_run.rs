//! Posts the current week's charges once an hour if any are missing. The run is idempotent
//! per account and week, so checking often costs one query when there is nothing to do.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::domain::ledger::charge_run;

pub fn spawn(db: DatabaseConnection, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let week = charge_run::week_of(chrono::Utc::now().date_naive());
            let result = super::with_singleton_lock(&db, super::lock_keys::CHARGE_RUN, || async {
                Ok(charge_run::run(&db, week, |_| {}).await?)
            })
            .await;
            match result {
                Ok(Some(r)) if r.posted > 0 => {
                    tracing::info!(%week, posted = r.posted, total_pence = r.total_pence, "weekly charges posted")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "charge run failed; will retry in an hour"),
            }
        }
    })
}
