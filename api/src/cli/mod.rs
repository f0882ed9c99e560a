//! The `doorstep` command line.

pub mod import;
pub mod keys;
pub mod ledger;
pub mod reconcile;
pub mod sandbox;
pub mod seed_demo;
pub mod user;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::Config;

#[derive(Debug, Parser)]
#[command(name = "doorstep", version, about = "Doorstep: tenant self-service for social housing landlords")]
struct Cli {
    /// A TOML configuration file (environment variables `DOORSTEP_*` override it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal: API, GraphQL, docs and the web app.
    Serve {
        /// Listen address (default 127.0.0.1:8080; also DOORSTEP_ADDR).
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<SocketAddr>,
        /// Seed the demo landlord first if the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Create the demo landlord group with homes, tenancies and rent history.
    SeedDemo(seed_demo::Args),
    /// Import the housing management system's export files from a folder.
    Import(import::Args),
    /// Reconcile a payment provider's end-of-day file against the ledger.
    Reconcile(reconcile::Args),
    /// Post one rent week's charges to every account that is due them.
    ChargeRun(ledger::ChargeRunArgs),
    /// Ledger maintenance.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
    /// Sign-ins: `user create-staff` for the first admin of a landlord.
    #[command(subcommand)]
    User(user::Command),
    /// The keys that sign access tokens: `keys rotate`.
    #[command(subcommand)]
    Keys(keys::Command),
    /// The sandbox payment provider: card page, other channels, signed notifications,
    /// end-of-day file, fault injection (docs/payments.md).
    SandboxProvider(sandbox::Args),
    /// Write openapi/openapi.json and openapi/schema.graphql from the code.
    ExportOpenapi {
        /// Folder to write into.
        #[arg(long, default_value = "openapi")]
        out_dir: PathBuf,
        /// Fail if the files on disk differ instead of writing them.
        #[arg(long)]
        check: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("doorstep: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log, config.log_format);
    for key in Config::unknown_env_keys(std::env::vars()) {
        tracing::warn!(variable = %key, "unknown DOORSTEP_ variable: it configures nothing (a typo?)");
    }
    if let Command::Serve { addr: Some(addr), .. } = &cli.command {
        config.addr = *addr;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("doorstep: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("doorstep: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo, .. } => crate::app::serve(config, demo).await,
        Command::Migrate => {
            let db = crate::db::connect(&config.database_url, 2).await?;
            crate::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo(args) => seed_demo::run(&config, args).await,
        Command::Import(args) => import::run(&config, args).await,
        Command::Reconcile(args) => reconcile::run(&config, args).await,
        Command::ChargeRun(args) => ledger::run_charge_run(&config, args).await,
        Command::Ledger { command } => ledger::run_ledger(&config, command).await,
        Command::User(command) => user::run(&config, command).await,
        Command::Keys(command) => keys::run(&config, command).await,
        Command::SandboxProvider(args) => sandbox::run(args).await,
        Command::ExportOpenapi { out_dir, check } => export_openapi(&out_dir, check),
    }
}

fn export_openapi(out_dir: &Path, check: bool) -> anyhow::Result<()> {
    let files = [("openapi.json", crate::openapi::document_json()?), ("schema.graphql", crate::graphql::sdl())];
    let mut stale = Vec::new();
    for (name, content) in &files {
        let path = out_dir.join(name);
        if check {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            if &on_disk != content {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
            std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        anyhow::bail!("{} differ from the code: run `just openapi` and commit them", stale.join(", "));
    }
    Ok(())
}
