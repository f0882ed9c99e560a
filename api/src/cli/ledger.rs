//! `doorstep ledger …` and `doorstep charge-run`.

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Config;
use crate::domain::ledger::{charge_run, check};

#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Prove that every account's cached balance equals the sum of its entries.
    Check,
}

#[derive(Debug, clap::Args)]
pub struct ChargeRunArgs {
    /// The Monday that starts the rent week to charge (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub week: NaiveDate,
}

pub async fn run_ledger(config: &Config, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Check => {
            let db = crate::db::connect(&config.database_url, 2).await?;
            let spinner = ProgressBar::new_spinner().with_message("summing every account's entries");
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let started = std::time::Instant::now();
            let report = check::check(&db).await?;
            spinner.finish_and_clear();
            println!(
                "checked {} accounts and {} entries in {:.1}s",
                report.accounts,
                report.entries,
                started.elapsed().as_secs_f64()
            );
            for d in report.drift.iter().take(50) {
                println!(
                    "DRIFT account {} ({}): cached {} but entries sum to {} over {} entries",
                    d.account_number, d.account_id, d.cached_pence, d.sum_pence, d.entries
                );
            }
            if report.drift.len() > 50 {
                println!("… and {} more accounts", report.drift.len() - 50);
            }
            if report.running_balance_mismatches > 0 {
                println!(
                    "{} accounts' latest entry shows a running balance other than the cached one",
                    report.running_balance_mismatches
                );
            }
            if report.is_clean() {
                println!("ledger is consistent");
                Ok(())
            } else {
                anyhow::bail!("ledger check found {} accounts with drift", report.drift.len())
            }
        }
    }
}

pub async fn run_charge_run(config: &Config, args: ChargeRunArgs) -> anyhow::Result<()> {
    let db = crate::db::connect(&config.database_url, 2).await?;
    crate::db::migrate(&db).await?;
    let due = charge_run::count_due(&db, args.week).await?;
    let bar = ProgressBar::new(due).with_style(
        ProgressStyle::with_template("{spinner} charging {pos}/{len} accounts [{bar:40}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let outcome = crate::jobs::with_singleton_lock(&db, crate::jobs::lock_keys::CHARGE_RUN, || async {
        Ok(charge_run::run(&db, args.week, |n| bar.inc(n)).await?)
    })
    .await?;
    bar.finish_and_clear();
    let Some(report) = outcome else {
        anyhow::bail!("another node is running the charge run; nothing was posted");
    };
    println!(
        "charge run for the week commencing {}: {} accounts charged, {} in total, {} already charged, {} in a rent-free week ({:.1}s)",
        args.week,
        report.posted,
        doorstep_shared::Money::from_pence(report.total_pence),
        report.already_charged,
        report.rent_free,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// For `serve`'s scheduled job and tests: the rent week that `day` falls in.
pub fn current_week(day: NaiveDate) -> NaiveDate {
    charge_run::week_of(day)
}
