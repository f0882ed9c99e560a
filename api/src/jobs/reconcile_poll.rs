//! The end-of-day pickup: providers (or a person) drop end-of-day files into
//! `reconcile_drop_dir`, and every `reconcile_interval_secs` the job reconciles each new one.
//!
//! - Files directly in the folder are the `sandbox` provider's; a subfolder named after
//!   another provider key (`govuk_pay/`, `event_grid/`) holds that provider's files.
//! - Only `*.csv` files are read, oldest name first (date-named files run in date order),
//!   and only once nothing has written to them for [`SETTLE_SECS`] seconds. Copy a file in
//!   under another name and rename it to `.csv` when complete, and it is never read half
//!   written.
//! - A reconciled file moves to `done/` beside `<name>.report.txt` and `<name>.report.json`;
//!   a file with errors moves to `failed/` with the located errors in the same two reports
//!   and nothing reconciled. A file whose bytes were reconciled before is recognised by its
//!   SHA-256, changes nothing and moves to `done/` too.
//! - A database failure leaves the file where it is, to be tried again next time; on
//!   PostgreSQL only one node picks up at a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Config;
use crate::domain::payments::LiveBus;
use crate::domain::reconciliation::service::PROVIDERS;
use crate::domain::reconciliation::{self, NoProgress, RunRequest, report};
use crate::jobs::{lock_keys, with_singleton_lock};

/// How long a file must have been left alone before it is read.
pub const SETTLE_SECS: u64 = 10;
/// What the job records as having started its runs.
pub const STARTED_BY: &str = "drop folder";

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    pub file: String,
    pub provider: String,
    /// `reconciled`, `already_reconciled` or `rejected`.
    pub outcome: String,
    pub run_id: Option<i64>,
    /// Where the file went.
    pub moved_to: PathBuf,
}

/// Starts the job if a drop folder is configured; it stops when `shutdown` turns true.
pub fn spawn(
    db: DatabaseConnection,
    live: LiveBus,
    config: &Config,
    mut shutdown: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let dir = config.reconcile_drop_dir.clone()?;
    let every = Duration::from_secs(config.reconcile_interval_secs.max(1));
    Some(tokio::spawn(async move {
        tracing::info!(dir = %dir.display(), every_secs = every.as_secs(), "watching the end-of-day drop folder");
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                    continue;
                }
            }
            if *shutdown.borrow() {
                break;
            }
            let settle = Duration::from_secs(SETTLE_SECS);
            match with_singleton_lock(&db, lock_keys::RECONCILE_POLL, || poll_once(&db, &live, &dir, settle)).await {
                Ok(Some(done)) => {
                    for p in done {
                        tracing::info!(file = %p.file, provider = %p.provider, outcome = %p.outcome,
                            run_id = ?p.run_id, moved_to = %p.moved_to.display(), "end-of-day file");
                    }
                }
                Ok(None) => tracing::debug!("another node is reconciling"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "end-of-day pickup failed; will retry"),
            }
        }
    }))
}

/// The provider folders under `dir`: the folder itself for `sandbox`, and a subfolder per
/// other provider that exists.
fn provider_folders(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut out = vec![("sandbox", dir.to_path_buf())];
    for p in PROVIDERS.iter().filter(|p| **p != "sandbox") {
        let sub = dir.join(p);
        if sub.is_dir() {
            out.push((p, sub));
        }
    }
    out
}

/// Files in `folder` that are ready: `*.csv`, not hidden, untouched for `settle`.
fn ready_files(folder: &Path, settle: Duration) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if !path.is_file() || !is_csv || name.starts_with('.') {
            continue;
        }
        let modified = std::fs::metadata(&path)?.modified()?;
        let age = SystemTime::now().duration_since(modified).unwrap_or(Duration::ZERO);
        if age >= settle {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reconciles every ready file under `dir` once.
pub async fn poll_once(
    db: &DatabaseConnection,
    live: &LiveBus,
    dir: &Path,
    settle: Duration,
) -> anyhow::Result<Vec<Picked>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the drop folder {}", dir.display()))?;
    let mut out = Vec::new();
    for (provider, folder) in provider_folders(dir) {
        for path in ready_files(&folder, settle)? {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let read_path = path.clone();
            let read_name = name.clone();
            let parsed = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let bytes = std::fs::read(&read_path).with_context(|| format!("reading {}", read_path.display()))?;
                Ok(reconciliation::parse(&read_name, &bytes, chrono::Utc::now()))
            })
            .await??;
            let file = match parsed {
                Ok(f) => f,
                Err(errors) => {
                    let moved_to = move_with_report(
                        &folder,
                        &path,
                        "failed",
                        &format!("{errors}\n"),
                        &report::rejected_json(&errors),
                    )?;
                    out.push(Picked {
                        file: name,
                        provider: provider.into(),
                        outcome: "rejected".into(),
                        run_id: None,
                        moved_to,
                    });
                    continue;
                }
            };
            let done = reconciliation::reconcile(
                db,
                live,
                &file,
                RunRequest { provider, started_by: STARTED_BY },
                &NoProgress,
            )
            .await
            .with_context(|| format!("reconciling {}", path.display()))?;
            let (run_report, items) = report::full(db, done.run_id).await?;
            let mut text = String::new();
            if done.already {
                text.push_str(&format!("Already reconciled by run {}: nothing changed.\n\n", done.run_id));
            }
            text.push_str(&report::text(&run_report, &items, 200));
            let json = report::outcome_json(&done, &run_report, &items);
            let moved_to = move_with_report(&folder, &path, "done", &text, &json)?;
            let outcome = if done.already { "already_reconciled" } else { "reconciled" };
            out.push(Picked {
                file: name,
                provider: provider.into(),
                outcome: outcome.into(),
                run_id: Some(done.run_id),
                moved_to,
            });
        }
    }
    Ok(out)
}

/// Moves `file` into `folder/<sub>/` (adding the time if the name is taken) and writes its
/// reports beside it.
fn move_with_report(
    folder: &Path,
    file: &Path,
    sub: &str,
    text: &str,
    json: &serde_json::Value,
) -> anyhow::Result<PathBuf> {
    let target_dir = folder.join(sub);
    std::fs::create_dir_all(&target_dir)?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file.csv".into());
    let mut target = target_dir.join(&name);
    if target.exists() {
        target = target_dir.join(format!("{}-{name}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f")));
    }
    std::fs::rename(file, &target).with_context(|| format!("moving {} to {}", file.display(), target.display()))?;
    let stem = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    std::fs::write(target_dir.join(format!("{stem}.report.txt")), text)?;
    std::fs::write(target_dir.join(format!("{stem}.report.json")), serde_json::to_string_pretty(json)?)?;
    Ok(target)
}
