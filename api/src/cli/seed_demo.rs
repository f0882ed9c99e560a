//! `doorstep seed-demo`: the demo landlord group, at any scale.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::domain::demo::{self, Progress, SeedOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of tenancies of homes (garage licences come on top).
    #[arg(long, default_value_t = 200)]
    pub scale: u32,
    /// Years of rent history up to today.
    #[arg(long, default_value_t = 3)]
    pub years: u32,
    /// Seed of the generator: the same seed makes the same landlord.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pretend today is this date (for reproducible benchmarks and tests).
    #[arg(long, value_name = "YYYY-MM-DD", hide = true)]
    pub today: Option<NaiveDate>,
    /// Instead of seeding the database, write the demo's homes, people, tenancies, accounts,
    /// transactions and planned work as housing management system export files into DIR
    /// (a large valid set for `doorstep import`; import it after `seed-demo --scale 0`).
    #[arg(long, value_name = "DIR", hide = true)]
    pub export_hms: Option<PathBuf>,
}

impl Args {
    fn options(&self) -> SeedOptions {
        SeedOptions { scale: self.scale, years: self.years, seed: self.seed, today: self.today }
    }
}

pub async fn run(config: &crate::Config, args: Args) -> anyhow::Result<()> {
    let opts = args.options();
    if let Some(dir) = args.export_hms.clone() {
        return export(dir, opts).await;
    }
    let db = crate::db::connect(&config.database_url, 4).await?;
    crate::db::migrate(&db).await?;
    let organisations = demo::organisation_count(&db).await?;
    if organisations > 0 {
        anyhow::bail!(
            "this database already has {organisations} landlord organisation(s), so seed-demo will not touch it. \
             Seed a new database instead: point DOORSTEP_DATABASE_URL at an empty one, or drop this one first."
        );
    }
    let progress = Bar::new("tenancies");
    let report = demo::seed(&db, &opts, &progress).await.context("seeding the demo landlord group")?;
    let secs = report.elapsed.as_secs_f64();
    println!(
        "Seeded the demo landlord group (seed {}, {} tenancies, {} years of history) in {secs:.1} s\n",
        opts.seed, opts.scale, opts.years
    );
    println!("  {:<18} {:>15}", "table", "rows");
    for (table, rows) in &report.rows {
        println!("  {table:<18} {:>15}", thousands(*rows));
    }
    let total = report.total_rows();
    println!("  {:<18} {:>15}\n", "total", thousands(total));
    println!(
        "  {} rows in {secs:.1} s: {} rows/s",
        thousands(total),
        thousands((total as f64 / secs.max(1e-9)) as u64)
    );
    match report.database_bytes {
        Some(b) if crate::db::is_postgres(&db) => println!("  database size: {} (pg_database_size)", bytes(b)),
        Some(b) => println!("  database size: {} (SQLite file and WAL)", bytes(b)),
        None => {}
    }
    let sign_ins = crate::domain::identity::demo::create_demo_users(&db).await.context("making the demo sign-ins")?;
    if !sign_ins.is_empty() {
        println!("\nDemo sign-ins (for a demo database only):");
        for (email, password, what) in &sign_ins {
            println!("  {email:<44} {password:<28} {what}");
        }
    }
    Ok(())
}

async fn export(dir: PathBuf, opts: SeedOptions) -> anyhow::Result<()> {
    let progress = Bar::new("tenancies");
    let shown = dir.display().to_string();
    let report = tokio::task::spawn_blocking(move || demo::export::export_hms(&dir, &opts, &progress))
        .await
        .context("the export task stopped")??;
    let secs = report.elapsed.as_secs_f64();
    println!("Wrote a housing management system export to {shown} in {secs:.1} s\n");
    for (file, rows) in &report.rows {
        println!("  {file:<20} {:>12} rows", thousands(*rows));
    }
    println!("\n  {} on disk. Import it into a database seeded with `seed-demo --scale 0`.", bytes(report.bytes));
    Ok(())
}

/// Seeds with the defaults, as `serve --demo` does on an empty database.
pub async fn run_default(config: &crate::Config) -> anyhow::Result<()> {
    use clap::FromArgMatches;
    let command = <Args as clap::Args>::augment_args(clap::Command::new("seed-demo"));
    let args = Args::from_arg_matches(&command.get_matches_from(["seed-demo"]))?;
    run(config, args).await
}

/// A progress bar on a terminal; a line on stderr every ten seconds otherwise (logs, CI).
pub(crate) struct Bar {
    bar: ProgressBar,
    tty: bool,
    unit: &'static str,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Bar {
    pub(crate) fn new(unit: &'static str) -> Bar {
        let tty = std::io::stderr().is_terminal();
        let bar = ProgressBar::new(0);
        if tty {
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        Bar { bar, tty, unit, started: Instant::now(), last_line: Mutex::new(Instant::now()) }
    }

    pub(crate) fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    pub(crate) fn is_tty(&self) -> bool {
        self.tty
    }

    /// Prints a progress line when not on a terminal, at most every ten seconds.
    pub(crate) fn line(&self, text: impl FnOnce() -> String) {
        if self.tty {
            return;
        }
        let Ok(mut last) = self.last_line.lock() else { return };
        if last.elapsed() >= Duration::from_secs(10) {
            *last = Instant::now();
            eprintln!("[{:>6.0} s] {}", self.started.elapsed().as_secs_f64(), text());
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn advance(&self, done: u64, rows: u64) {
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_position(done);
        self.bar.set_message(format!("{} ({} rows, {} rows/s)", self.unit, thousands(rows), thousands(rate as u64)));
        self.line(|| {
            format!(
                "{}/{} {}, {} rows, {} rows/s",
                thousands(done),
                thousands(self.bar.length().unwrap_or(0)),
                self.unit,
                thousands(rows),
                thousands(rate as u64)
            )
        });
    }

    fn step(&self, what: &str) {
        self.bar.set_message(what.to_owned());
        if !self.tty {
            eprintln!("[{:>6.0} s] {what}", self.started.elapsed().as_secs_f64());
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn bytes(n: u64) -> String {
    let n = n as f64;
    let (v, unit) = if n >= 1024.0 * 1024.0 * 1024.0 {
        (n / (1024.0 * 1024.0 * 1024.0), "GiB")
    } else if n >= 1024.0 * 1024.0 {
        (n / (1024.0 * 1024.0), "MiB")
    } else {
        (n / 1024.0, "KiB")
    };
    format!("{v:.1} {unit}")
}
