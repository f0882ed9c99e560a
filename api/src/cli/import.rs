//! `doorstep import DIR`: the housing management system's export files.

use std::sync::Arc;

use anyhow::Context;

use super::seed_demo::Bar;
use crate::domain::hms::{self, ImportOptions, ImportProgress, IndexMode, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder holding the export files (properties.csv, people.csv, tenancies.csv,
    /// tenancy_members.csv, accounts.csv, transactions.csv, planned_work.csv; any may be absent).
    pub dir: std::path::PathBuf,
    /// Import the valid rows and report the rest, instead of rejecting the whole run.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Set the ledger's secondary indexes aside while posting transactions, and build them
    /// once before committing. `auto` does it for a first load only: at least a million
    /// transactions, and at least as many as the ledger holds. On PostgreSQL nothing can read
    /// the ledger until the import commits.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = IndexMode::Auto)]
    pub defer_indexes: IndexMode,
}

impl ImportProgress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.bar().set_length(total);
        self.bar().set_position(0);
        self.bar().set_message(name.to_owned());
        if !self.is_tty() {
            eprintln!("import: {name} ({total} rows)");
        }
    }

    fn inc(&self, n: u64) {
        self.bar().inc(n);
        self.line(|| {
            format!("{} {}/{}", self.bar().message(), self.bar().position(), self.bar().length().unwrap_or(0))
        });
    }

    fn reading(&self, file: &str, done: u64, total: u64) {
        const MIB: u64 = 1 << 20;
        if done == 0 {
            self.bar().set_length(total.div_ceil(MIB));
            self.bar().set_message(format!("reading {file} (MiB)"));
            if !self.is_tty() {
                eprintln!("import: reading {file} ({} MiB)", total.div_ceil(MIB));
            }
        }
        self.bar().set_position(done / MIB);
        self.line(|| format!("{} {}/{}", self.bar().message(), done / MIB, total.div_ceil(MIB)));
    }
}

pub async fn run(config: &crate::Config, args: Args) -> anyhow::Result<()> {
    let db = crate::db::connect(&config.database_url, 4).await?;
    crate::db::migrate(&db).await?;
    let dir = args.dir.clone();
    let today = chrono::Utc::now().date_naive();
    // transactions.csv is read twice, in bounded memory: here, to hash and check every
    // row, then while importing, to post the rows.
    let progress = Arc::new(Bar::new("rows"));
    let reading = Arc::clone(&progress);
    let export = tokio::task::spawn_blocking(move || hms::read_dir_with(&dir, today, reading.as_ref()))
        .await
        .context("the reading task stopped")??;
    let report = hms::import(
        &db,
        &export,
        ImportOptions { skip_invalid: args.skip_invalid, indexes: args.defer_indexes },
        progress.as_ref(),
    )
    .await
    .with_context(|| format!("importing {}", args.dir.display()))?;
    progress.bar().finish_and_clear();
    print!("{report}");
    if report.outcome == Outcome::Rejected {
        anyhow::bail!("the import of {} was rejected with {} error(s)", args.dir.display(), report.errors.len());
    }
    Ok(())
}
