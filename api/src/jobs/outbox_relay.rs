//! Delivers the outbox to the housing management system (see `domain::payments::relay`):
//! every second by default, on one node at a time (advisory lock on PostgreSQL). Off when no
//! HMS folder or endpoint is configured: the rows wait in the outbox until one is.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::config::Config;
use crate::domain::payments::relay::{self, Sink};

/// The sink the configuration names, if any (a URL wins over a folder).
pub fn sink(config: &Config) -> Option<Sink> {
    let p = &config.payments;
    if let Some(url) = &p.hms_outbox_url {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().ok()?;
        return Some(Sink::Http { url: url.clone(), api_key: p.hms_outbox_api_key.clone(), client });
    }
    p.hms_outbox_dir.clone().map(Sink::Folder)
}

pub fn spawn(
    db: DatabaseConnection,
    config: &Config,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let sink = sink(config)?;
    let every = Duration::from_millis(config.payments.outbox_interval_ms);
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let result = super::with_singleton_lock(&db, super::lock_keys::OUTBOX_RELAY, || async {
                let mut total = 0;
                // Drain what is due, a batch at a time.
                loop {
                    let n = relay::relay_once(&db, &sink).await?;
                    total += n;
                    if n == 0 {
                        break;
                    }
                }
                Ok(total)
            })
            .await;
            match result {
                Ok(Some(n)) if n > 0 => tracing::info!(delivered = n, "outbox: payments delivered to the HMS"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "outbox relay failed; will retry"),
            }
        }
    }))
}
