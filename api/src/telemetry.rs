//! Logging. Every request gets an id (`x-request-id`, taken from the caller or made up)
//! that appears on each line logged while serving it.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(with_quiet_statements(filter))
        .unwrap_or_else(|_| EnvFilter::new(with_quiet_statements("info,sqlx=warn,sea_orm=warn")));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE).with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// sqlx logs a slow statement at `warn` with its whole text, which for a bulk insert is
/// megabytes of tenants' names and addresses. Unless the filter asks for `sqlx::query`
/// explicitly, only its errors are logged.
fn with_quiet_statements(filter: &str) -> String {
    if filter.contains("sqlx::query") { filter.to_owned() } else { format!("{filter},sqlx::query=error") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_statement_text_stays_out_of_logs_unless_asked_for() {
        assert_eq!(with_quiet_statements("warn"), "warn,sqlx::query=error");
        assert_eq!(with_quiet_statements("info,sqlx::query=debug"), "info,sqlx::query=debug");
    }
}
