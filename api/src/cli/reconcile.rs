//! `doorstep reconcile FILE`: a payment provider's end-of-day file, matched against the
//! ledger (`docs/payments.md`, `domain::reconciliation`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::seed_demo::{Bar, thousands};
use crate::domain::reconciliation::{self, Progress, RunRequest, report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary table and the first exceptions.
    Text,
    /// The whole report and every late and exception item.
    Json,
    /// One line per late or exception item, for a spreadsheet.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The end-of-day file (`payment_id,account_number,amount_pence,channel,paid_at,reference`).
    pub file: PathBuf,
    /// The provider whose file it is: sandbox, govuk_pay or event_grid.
    #[arg(long, default_value = "sandbox")]
    pub provider: String,
    /// How to print the outcome on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.bar().set_length(total);
        self.bar().set_position(0);
        self.bar().set_message(name.to_owned());
        if !self.is_tty() {
            eprintln!("reconcile: {name} ({} lines)", thousands(total));
        }
    }

    fn inc(&self, n: u64) {
        self.bar().inc(n);
        self.line(|| {
            format!("{} {}/{}", self.bar().message(), self.bar().position(), self.bar().length().unwrap_or(0))
        });
    }
}

pub async fn run(config: &crate::Config, args: Args) -> anyhow::Result<()> {
    reconciliation::service::check_provider(&args.provider).map_err(|e| anyhow::anyhow!("--provider: {e}"))?;
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let path = args.file.clone();
    let parsed = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(reconciliation::parse(&name, &bytes, chrono::Utc::now()))
    })
    .await
    .context("the reading task stopped")??;
    let file = match parsed {
        Ok(f) => f,
        Err(errors) => {
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report::rejected_json(&errors))?),
                Format::Text | Format::Csv => eprintln!("{errors}"),
            }
            anyhow::bail!("{} is not a valid end-of-day file; nothing was reconciled", args.file.display());
        }
    };
    let db = crate::db::connect(&config.database_url, 4).await?;
    crate::db::migrate(&db).await?;
    // On PostgreSQL the late postings reach open screens on every node through NOTIFY. On
    // SQLite only the serving process can tell its screens (reconcile through the drop
    // folder or the staff screen for that); here they catch up on the account's next change.
    let live = crate::domain::payments::LiveBus::new(db.get_database_backend());
    live.start_notifier(&db);
    let progress = Bar::new("lines");
    let request = RunRequest { provider: &args.provider, started_by: "doorstep reconcile" };
    let done = reconciliation::reconcile(&db, &live, &file, request, &progress)
        .await
        .with_context(|| format!("reconciling {}", args.file.display()))?;
    progress.bar().finish_and_clear();
    if !live.flush(std::time::Duration::from_secs(10)).await {
        eprintln!("reconcile: some live updates were not sent; open screens catch up on the next change");
    }
    let (report, items) = report::full(&db, done.run_id).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&report::outcome_json(&done, &report, &items))?)?
        }
        Format::Csv => out.write_all(&report::items_csv(&items)?)?,
        Format::Text => {
            if done.already {
                writeln!(
                    out,
                    "{} was already reconciled by run {} (same provider, same bytes): nothing changed.\n",
                    args.file.display(),
                    done.run_id
                )?;
            }
            write!(out, "{}", report::text(&report, &items, 20))?;
            if !done.already {
                writeln!(
                    out,
                    "\nreconciled {} lines in {:.2} s ({} lines/s)",
                    thousands(done.lines),
                    done.elapsed.as_secs_f64(),
                    thousands(done.lines_per_second() as u64)
                )?;
            }
        }
    }
    Ok(())
}
