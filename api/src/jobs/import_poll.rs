//! The drop-folder job: the housing management system (or a person) drops each export as a
//! subfolder of `import_drop_dir` and writes an empty `READY` file into it when it has
//! finished copying. Every `import_interval_secs` the job imports each ready folder once,
//! writes `import-report.txt` and `import-report.json` into it and moves it to `done/`
//! (committed) or `failed/` (rejected). A folder whose exact files were already committed
//! is moved to `done/` without importing again. Runs are all-or-nothing (no skipping of
//! invalid rows), and on PostgreSQL only one node imports at a time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Config;
use crate::domain::hms::{self, ImportOptions, NoProgress, Outcome, ReadError};
use crate::entity::import_run;
use crate::jobs::{lock_keys, with_singleton_lock};

/// The marker that says a folder is complete.
pub const READY: &str = "READY";

/// What happened to one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    pub folder: String,
    /// `committed`, `committed_with_skips`, `rejected`, `already_imported` or `unreadable`.
    pub outcome: String,
    /// Where the folder went.
    pub moved_to: PathBuf,
}

/// Starts the job if a drop folder is configured; it stops when `shutdown` turns true.
pub fn spawn(db: DatabaseConnection, config: &Config, mut shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let dir = config.import_drop_dir.clone()?;
    let every = Duration::from_secs(config.import_interval_secs.max(1));
    Some(tokio::spawn(async move {
        tracing::info!(dir = %dir.display(), every_secs = every.as_secs(), "watching the HMS drop folder");
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
            match with_singleton_lock(&db, lock_keys::HMS_IMPORT, || poll_once(&db, &dir)).await {
                Ok(Some(done)) => {
                    for p in done {
                        tracing::info!(folder = %p.folder, outcome = %p.outcome, moved_to = %p.moved_to.display(), "HMS import");
                    }
                }
                Ok(None) => tracing::debug!("another node is importing"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "HMS drop-folder import failed; will retry"),
            }
        }
    }))
}

/// Imports every ready folder in `dir` once. A database failure stops the pass and leaves
/// the folder where it is, to be tried again next time.
pub async fn poll_once(db: &DatabaseConnection, dir: &Path) -> anyhow::Result<Vec<Polled>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the drop folder {}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() && name != "done" && name != "failed" && !name.starts_with('.') && path.join(READY).is_file() {
            folders.push((name, path));
        }
    }
    folders.sort();
    let mut out = Vec::new();
    for (name, path) in folders {
        let today = chrono::Utc::now().date_naive();
        let read_path = path.clone();
        let export = tokio::task::spawn_blocking(move || hms::read_dir(&read_path, today)).await?;
        let export = match export {
            Ok(e) => e,
            Err(e @ ReadError::NoFiles(_)) => {
                write_report(
                    &path,
                    &format!("{e}\n"),
                    &serde_json::json!({ "outcome": "unreadable", "error": e.to_string() }),
                )?;
                let moved_to = move_to(dir, &path, "failed")?;
                out.push(Polled { folder: name, outcome: "unreadable".into(), moved_to });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let earlier = import_run::Entity::find()
            .filter(import_run::Column::ContentHash.eq(export.content_hash.as_str()))
            .filter(
                import_run::Column::Outcome.is_in([Outcome::Committed.as_str(), Outcome::CommittedWithSkips.as_str()]),
            )
            .one(db)
            .await?;
        if let Some(run) = earlier {
            let text =
                format!("These files were already imported by run {} at {}; nothing to do.\n", run.id, run.finished_at);
            write_report(&path, &text, &serde_json::json!({ "outcome": "already_imported", "import_run_id": run.id }))?;
            let moved_to = move_to(dir, &path, "done")?;
            out.push(Polled { folder: name, outcome: "already_imported".into(), moved_to });
            continue;
        }
        let report = hms::import(db, &export, ImportOptions::default(), &NoProgress).await?;
        write_report(&path, &report.to_string(), &serde_json::to_value(&report)?)?;
        let target = if report.outcome == Outcome::Rejected { "failed" } else { "done" };
        let moved_to = move_to(dir, &path, target)?;
        out.push(Polled { folder: name, outcome: report.outcome.as_str().into(), moved_to });
    }
    Ok(out)
}

fn write_report(folder: &Path, text: &str, json: &serde_json::Value) -> anyhow::Result<()> {
    std::fs::write(folder.join("import-report.txt"), text)?;
    std::fs::write(folder.join("import-report.json"), serde_json::to_string_pretty(json)?)?;
    Ok(())
}

/// Moves `folder` into `dir/<sub>/`, adding the time if the name is taken.
fn move_to(dir: &Path, folder: &Path, sub: &str) -> anyhow::Result<PathBuf> {
    let target_dir = dir.join(sub);
    std::fs::create_dir_all(&target_dir)?;
    let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
    let mut target = target_dir.join(&name);
    if target.exists() {
        target = target_dir.join(format!("{name}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f")));
    }
    std::fs::rename(folder, &target).with_context(|| format!("moving {} to {}", folder.display(), target.display()))?;
    Ok(target)
}
