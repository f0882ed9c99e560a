//! `loadgen`: open-model HTTP load at a fixed rate against a server on this machine, with
//! latency measured from each request's scheduled send time. See `doorstep_e2e::loadgen`.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8080/api/v1/organisations/pennine-vale \
//!         --rate 2000 --duration 20s --warmup 5s --json-out result.json
//! loadgen --base http://127.0.0.1:8080 --urls-file accounts.txt --header "Authorization: Bearer ..."
//! loadgen --base http://127.0.0.1:8080 --urls-file accounts.txt --headers-file auth.txt
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use doorstep_e2e::loadgen::{self, Config, Rotation, parse_url_list};
use reqwest::{Method, Url};

#[derive(Debug, Parser)]
#[command(version, about = "Open-model HTTP load generator (loopback targets only)")]
struct Cli {
    /// Target URL; repeat to rotate through several.
    #[arg(long = "url", value_name = "URL")]
    urls: Vec<String>,
    /// File with one URL (or path, joined onto --base) per line; `#` starts a comment.
    #[arg(long, value_name = "PATH")]
    urls_file: Option<PathBuf>,
    /// Base URL for paths in --urls-file.
    #[arg(long, value_name = "URL")]
    base: Option<Url>,
    /// Requests per second, sent on schedule whatever the answers do.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Measured span: `20`, `20s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Span before the measurement at the same rate, reported apart.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Most requests in flight (and open connections) at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Per request, counted from its scheduled send time.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Extra header, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Extra headers from a file, one `Name: value` a line (`#` starts a comment), so that a
    /// bearer token stays out of the process list.
    #[arg(long, value_name = "PATH")]
    headers_file: Option<PathBuf>,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: Method,
    /// Request body, read from a file.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// Runtime worker threads (the scheduler has its own thread). One leaves the other core
    /// of a small machine to the server.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Name for this run, copied into the JSON.
    #[arg(long)]
    label: Option<String>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "PATH")]
    json_out: Option<PathBuf>,
    /// Exit with status 2 if more than this fraction of measured requests failed
    /// (non-2xx, timeout, connect or other).
    #[arg(long, value_name = "FRACTION")]
    max_error_rate: Option<f64>,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let mut urls = Vec::new();
    for u in &cli.urls {
        urls.push(Url::parse(u).with_context(|| format!("--url {u:?}"))?);
    }
    if let Some(path) = &cli.urls_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        urls.extend(parse_url_list(&text, cli.base.as_ref()).with_context(|| path.display().to_string())?);
    }
    if urls.is_empty() {
        bail!("give at least one --url or a --urls-file");
    }
    let mut source = Rotation::get(urls);
    source.method = cli.method.clone();
    for h in &cli.headers {
        source = source.with_header_line(h)?;
    }
    if let Some(path) = &cli.headers_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('#')) {
            source =
                source.with_header_line(line.trim()).with_context(|| format!("{} line {}", path.display(), n + 1))?;
        }
    }
    if let Some(path) = &cli.body_file {
        source.body = Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let cfg = Config {
        rate: cli.rate,
        duration: cli.duration,
        warmup: cli.warmup,
        connections: cli.connections,
        timeout: cli.timeout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(loadgen::run(&cfg, Arc::new(source)))?;
    println!("{}", report.render());

    if let Some(path) = &cli.json_out {
        let mut json = serde_json::to_value(&report)?;
        if let (Some(label), Some(obj)) = (&cli.label, json.as_object_mut()) {
            obj.insert("label".into(), label.clone().into());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }

    if let Some(max) = cli.max_error_rate {
        let m = &report.measured;
        let rate = if m.scheduled == 0 { 0.0 } else { m.errors.total as f64 / m.scheduled as f64 };
        if rate > max {
            eprintln!("loadgen: {:.2}% of requests failed, more than the {:.2}% allowed", rate * 100.0, max * 100.0);
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `20`, `20s`, `1.5s`, `500ms`, `2m`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("{s:?} is not a duration like 20s or 500ms"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: unit must be ms, s or m")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a duration"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1_500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
