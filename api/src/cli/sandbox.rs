//! `doorstep sandbox-provider`: the sandbox payment provider as a process of its own.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::sandbox::{self, RetryPolicy, Settings};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listen address.
    #[arg(long, value_name = "HOST:PORT", default_value = sandbox::DEFAULT_ADDR)]
    pub addr: SocketAddr,
    /// The portal, where signed notifications go (`<url>/api/v1/webhooks/sandbox`); only its
    /// origin may frame the card page.
    #[arg(long, value_name = "URL", env = "DOORSTEP_PORTAL_URL", default_value = sandbox::DEFAULT_PORTAL_URL)]
    pub portal_url: String,
    /// How browsers and the portal reach this sandbox, for the card-page URLs it hands out
    /// [default: http://127.0.0.1:<the port of --addr>].
    #[arg(long, value_name = "URL", env = "DOORSTEP_SANDBOX_URL")]
    pub public_url: Option<String>,
    /// The first wait before retrying a notification, in milliseconds; it doubles with each
    /// attempt, up to --retry-cap-ms.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_base_ms: u64,
    /// The longest wait between two attempts, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_cap_ms: u64,
    /// Attempts per notification before giving up.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,
}

/// The signing secret comes from `DOORSTEP_SANDBOX_SECRET` only (never a flag: flags show in
/// process lists).
pub async fn run(args: Args) -> anyhow::Result<()> {
    let secret = match std::env::var("DOORSTEP_SANDBOX_SECRET") {
        Ok(s) if s.trim().is_empty() => anyhow::bail!("DOORSTEP_SANDBOX_SECRET is set but empty"),
        Ok(s) => SecretString::from(s),
        Err(_) => {
            tracing::info!("DOORSTEP_SANDBOX_SECRET is not set: using the development secret");
            SecretString::from(sandbox::DEVELOPMENT_SECRET)
        }
    };
    let settings = Settings {
        portal_url: args.portal_url,
        public_url: args.public_url.filter(|u| !u.trim().is_empty()),
        secret,
        retry: RetryPolicy {
            base: Duration::from_millis(args.retry_base_ms),
            cap: Duration::from_millis(args.retry_cap_ms.max(args.retry_base_ms)),
            max_attempts: args.max_attempts,
        },
        ..Settings::default()
    };
    sandbox::run(args.addr, settings).await
}
