//! `paybench`: the payment notification benchmarks behind `just bench`
//! (`scripts/bench-payments.sh`), against a portal running on this machine.
//!
//! ```text
//! paybench latency --base http://127.0.0.1:8080 --accounts-file accounts.txt \
//!     --email bench@pennine-vale.example --password-file pw.txt --subscriptions 50 --rate 200 --duration 60s
//! paybench throughput --base http://127.0.0.1:8080 --accounts-file accounts.txt \
//!     --database-url postgres://postgres@127.0.0.1:5432/doorstep_bench_pay --concurrency 32 --duration 20s
//! ```
//!
//! `latency`: N GraphQL subscriptions to `accountUpdated`, one WebSocket each (N tenants with
//! their balance on screen), then signed sandbox notifications for those accounts, taking the
//! accounts in turn, at a fixed rate. Open model: notification `i` is due at `start + i / rate`
//! and goes then whatever the earlier ones are doing. Its latency runs from that due time to
//! the arrival of the first `next` message whose account state includes it, so a stall
//! anywhere (signature check, the commit, NOTIFY and LISTEN, the re-read, the socket) shows up
//! instead of being hidden by a sender that waited (coordinated omission).
//!
//! Recognising a notification on screen: each notification to an account has an amount no
//! other notification to that account has (£10.00 plus its number for that account), so a
//! line in the pushed `recent` list names it. A push shows only the three newest lines; when
//! more than three notifications land between two pushes, the ones that scrolled off are
//! found from the balance instead (it moves by exactly the amounts posted), earliest sent
//! first. The report says how many were found each way.
//!
//! `throughput`: C workers each post a notification, wait for the answer and post the next
//! (closed loop), for D seconds after a warm-up, going round many accounts so that no one
//! account row is hot. A 2xx answer means committed (see docs/payments.md), so the figure is
//! durable notifications per second. Then, in the same run, the baseline: C workers doing
//! plain single-row INSERTs (one autocommit statement each) into a scratch table in the same
//! database with the server's connection settings, and the ratio of the two.
//!
//! Money is integer pence throughout. Targets must be loopback addresses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use doorstep_e2e::loadgen::{Percentiles, Schedule, ensure_loopback};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use hmac::{Hmac, Mac};
use reqwest::Url;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The sandbox's development secret (`doorstep::config::payments::SANDBOX_DEV_SECRET`), used
/// when `DOORSTEP_SANDBOX_SECRET` is not set, as the server does.
const DEV_SECRET: &str = "sandbox-development-secret";
/// The signature header (`doorstep::domain::payments::signature::HEADER`).
const SIGNATURE_HEADER: &str = "doorstep-signature";
/// Latency notifications pay £10.00 plus their number for that account, in pence.
const AMOUNT_BASE: i64 = 1_000;
/// The histograms hold microseconds, 1 µs to 10 minutes, 3 significant figures.
const HIST_MAX_US: u64 = 600_000_000;
/// The first notification is due this long after the schedule starts.
const LEAD_IN: Duration = Duration::from_millis(50);
/// The baseline's scratch table, made afresh and dropped afterwards.
const BASELINE_DROP: &str = "DROP TABLE IF EXISTS paybench_baseline";
const BASELINE_CREATE_SQLITE: &str = "CREATE TABLE paybench_baseline (id INTEGER PRIMARY KEY AUTOINCREMENT, \
     item TEXT NOT NULL, amount_pence INTEGER NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)";
const BASELINE_CREATE_PG: &str = "CREATE TABLE paybench_baseline (id BIGSERIAL PRIMARY KEY, item TEXT NOT NULL, \
     amount_pence BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())";
const BASELINE_INSERT_SQLITE: &str = "INSERT INTO paybench_baseline (item, amount_pence) VALUES (?, ?)";
const BASELINE_INSERT_PG: &str = "INSERT INTO paybench_baseline (item, amount_pence) VALUES ($1, $2)";

#[derive(Debug, Parser)]
#[command(version, about = "Payment notification benchmarks against a portal on this machine")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Notification to screen: subscriptions open, notifications at a fixed rate.
    Latency(LatencyArgs),
    /// Most durable notifications per second at a concurrency, beside plain INSERTs.
    Throughput(ThroughputArgs),
}

#[derive(Debug, Args)]
struct Target {
    /// The portal, e.g. http://127.0.0.1:8080 (loopback only). The signing secret is read
    /// from DOORSTEP_SANDBOX_SECRET, else the development default.
    #[arg(long)]
    base: Url,
    /// Accounts, one `id|account_number` a line (as `psql -At` and `sqlite3` print them).
    #[arg(long, value_name = "PATH")]
    accounts_file: PathBuf,
    /// Name for this run, copied into the JSON.
    #[arg(long)]
    label: Option<String>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "PATH")]
    json_out: Option<PathBuf>,
    /// Runtime worker threads. One leaves the other core of a small machine to the server.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Per notification: no answer within this long is a failure.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    http_timeout: Duration,
    /// Exit with status 2 if more than this fraction of measured notifications failed (or,
    /// for latency, never reached the screen).
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    max_error_rate: f64,
}

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    target: Target,
    /// Sign in as this user (staff of the landlord, or of its parent) to watch the accounts.
    #[arg(long)]
    email: String,
    /// The user's password, from a file.
    #[arg(long, value_name = "PATH")]
    password_file: PathBuf,
    /// Accounts watched, one WebSocket each: the first N of the accounts file.
    #[arg(long, default_value_t = 1)]
    subscriptions: usize,
    /// Notifications per second, over all the watched accounts.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Measured span.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Span before it at the same rate, not in the figures.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    warmup: Duration,
    /// After the last notification was answered, how long to wait for the last pushes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
    /// Most notifications in flight at once (waiting for a slot counts in the latency).
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
}

#[derive(Debug, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    target: Target,
    /// Workers, each with one notification (and, for the baseline, one INSERT) in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured span, for the notifications and again for the baseline.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Span before each measurement, not counted.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    warmup: Duration,
    /// The portal's database, for the plain-INSERT baseline (sqlite:FILE or a local
    /// postgres:// URL).
    #[arg(long, env = "PAYBENCH_DATABASE_URL")]
    database_url: String,
    /// Measure the notifications only.
    #[arg(long)]
    skip_baseline: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paybench: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let threads = match &cli.mode {
        Mode::Latency(a) => a.target.threads,
        Mode::Throughput(a) => a.target.threads,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let (target, json, failed_share) = match &cli.mode {
        Mode::Latency(a) => {
            let (json, share) = runtime.block_on(latency(a))?;
            (&a.target, json, share)
        }
        Mode::Throughput(a) => {
            let (json, share) = runtime.block_on(throughput(a))?;
            (&a.target, json, share)
        }
    };
    if let Some(path) = &target.json_out {
        let mut json = json;
        if let (Some(label), Some(obj)) = (&target.label, json.as_object_mut()) {
            obj.insert("label".into(), label.clone().into());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if failed_share > target.max_error_rate {
        eprintln!(
            "paybench: {:.2}% of measured notifications failed or went missing, more than the {:.2}% allowed",
            failed_share * 100.0,
            target.max_error_rate * 100.0
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    id: i64,
    number: String,
}

/// `id|number` lines (also `id,number` or `id number`); blank lines and `#` comments skipped.
fn parse_accounts(text: &str) -> Result<Vec<Account>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split(['|', ',', ' ', '\t']).filter(|p| !p.is_empty());
        let (Some(id), Some(number), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("line {}: expected `id|account_number`, got {line:?}", n + 1);
        };
        let id = id.parse().with_context(|| format!("line {}: {id:?} is not an account id", n + 1))?;
        out.push(Account { id, number: number.to_owned() });
    }
    if out.is_empty() {
        bail!("no accounts");
    }
    Ok(out)
}

fn read_accounts(path: &Path) -> Result<Vec<Account>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_accounts(&text).with_context(|| path.display().to_string())
}

fn secret() -> Vec<u8> {
    std::env::var("DOORSTEP_SANDBOX_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEV_SECRET.to_owned())
        .into_bytes()
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as the sandbox signs (docs/payments.md).
fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("t={timestamp},v1={}", hex::encode(m.finalize().into_bytes()))
}

/// A sandbox `payment.succeeded` notification, as the sandbox sends it.
fn notification(event_id: &str, payment_id: &str, account_number: &str, amount_pence: i64) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    json!({
        "id": event_id,
        "type": "payment.succeeded",
        "created_at": now,
        "payment": {
            "id": payment_id,
            "reference": null,
            "account_number": account_number,
            "amount_pence": amount_pence,
            "channel": "app",
            "status": "succeeded",
            "paid_at": now,
        }
    })
    .to_string()
}

/// What became of one posted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// 2xx, and the portal says it posted the payment.
    Posted,
    /// 2xx with another outcome (suspense, duplicate, ...): durable, but not on any screen.
    OtherOutcome(String),
    /// An HTTP status other than 2xx.
    Status(u16),
    Timeout,
    /// Connection refused or reset, malformed answer.
    Transport,
}

impl Answer {
    fn is_2xx(&self) -> bool {
        matches!(self, Answer::Posted | Answer::OtherOutcome(_))
    }

    fn key(&self) -> String {
        match self {
            Answer::Posted => "posted".into(),
            Answer::OtherOutcome(o) => format!("2xx_{o}"),
            Answer::Status(s) => format!("http_{s}"),
            Answer::Timeout => "timeout".into(),
            Answer::Transport => "transport".into(),
        }
    }
}

/// Signs and posts one notification; waits at most until `deadline`.
async fn post_notification(
    client: &reqwest::Client,
    url: &Url,
    secret: &[u8],
    body: String,
    deadline: Instant,
) -> Answer {
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let signature = sign(secret, unix, body.as_bytes());
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Answer::Timeout;
    }
    let send = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send();
    let response = match tokio::time::timeout(left, send).await {
        Err(_) => return Answer::Timeout,
        Ok(Err(e)) if e.is_timeout() => return Answer::Timeout,
        Ok(Err(_)) => return Answer::Transport,
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    let left = deadline.saturating_duration_since(Instant::now());
    let body = match tokio::time::timeout(left, response.bytes()).await {
        Err(_) => return Answer::Timeout,
        Ok(Err(_)) => return Answer::Transport,
        Ok(Ok(b)) => b,
    };
    if !status.is_success() {
        return Answer::Status(status.as_u16());
    }
    let outcome = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/outcomes/0").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "unreadable".into());
    if outcome == "posted" { Answer::Posted } else { Answer::OtherOutcome(outcome) }
}

fn http_client(connections: usize, timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .connect_timeout(timeout)
        .build()
        .context("building the HTTP client")
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("constant bounds are valid")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
}

fn run_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

fn webhook_url(base: &Url) -> Result<Url> {
    base.join("/api/v1/webhooks/sandbox").context("building the webhook URL")
}

fn show(p: &Percentiles) -> String {
    format!(
        "p50 {:>8.3}  p90 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3} ms  (n={})",
        p.p50, p.p90, p.p99, p.p99_9, p.max, p.count
    )
}

// ---------------------------------------------------------------------------------------------
// Latency

/// How a notification was recognised on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Its line was in a pushed `recent` list.
    Recent,
    /// It had scrolled off `recent`, but the pushed balance included it.
    Balance,
}

/// One watched account.
#[derive(Debug, Clone, Default)]
struct Watch {
    /// The balance in the first (current-state) message.
    start_balance: i64,
    /// Lines with this id or lower were there before the run.
    floor_id: i64,
    /// Pence of the notifications seen so far (positive).
    seen_sum: i64,
    /// The lowest per-account number not yet seen.
    cursor: usize,
    pushes: u64,
}

/// The run's ledger of notifications, indexed by sequence number. Notification `i` is for
/// watched account `i % n`, its number for that account is `i / n`, and it pays
/// `AMOUNT_BASE + i / n` pence.
#[derive(Debug)]
struct Book {
    n: usize,
    dispatched: Vec<bool>,
    sent_at: Vec<Option<Instant>>,
    answer: Vec<Option<(Answer, Instant)>>,
    seen: Vec<Option<(Instant, Via)>>,
    watches: Vec<Watch>,
    /// Subscription problems (errors, unexpected closes), by account index.
    socket_errors: Vec<String>,
}

/// One line of a pushed `recent` list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    id: i64,
    kind: String,
    amount_pence: i64,
}

impl Book {
    fn new(n: usize, total: usize) -> Book {
        Book {
            n,
            dispatched: vec![false; total],
            sent_at: vec![None; total],
            answer: vec![None; total],
            seen: vec![None; total],
            watches: vec![Watch::default(); n],
            socket_errors: Vec::new(),
        }
    }

    fn amount(&self, seq: usize) -> i64 {
        AMOUNT_BASE + (seq / self.n) as i64
    }

    /// A push for watched account `a` arrived at `at` showing `balance` and `recent`.
    fn on_push(&mut self, a: usize, at: Instant, balance: i64, recent: &[Line]) {
        let (n, total) = (self.n, self.seen.len());
        let w = &mut self.watches[a];
        w.pushes += 1;
        for line in recent {
            if line.id <= w.floor_id || line.kind != "payment" {
                continue;
            }
            let k = -line.amount_pence - AMOUNT_BASE;
            let Ok(k) = usize::try_from(k) else { continue };
            let seq = k * n + a;
            if seq < total && self.seen[seq].is_none() {
                self.seen[seq] = Some((at, Via::Recent));
                w.seen_sum += -line.amount_pence;
            }
        }
        // Payments lower the balance: what the screen now includes, in pence.
        let included = w.start_balance - balance;
        if included > w.seen_sum {
            let mut k = w.cursor;
            while w.seen_sum < included {
                let seq = k * n + a;
                if seq >= total || !self.dispatched[seq] {
                    break;
                }
                let amount = AMOUNT_BASE + k as i64;
                if self.seen[seq].is_none() && w.seen_sum + amount <= included {
                    self.seen[seq] = Some((at, Via::Balance));
                    w.seen_sum += amount;
                }
                k += 1;
            }
        }
        while w.cursor * n + a < total && self.seen[w.cursor * n + a].is_some() {
            w.cursor += 1;
        }
    }

    /// Whether every notification answered `posted` is on screen.
    fn all_posted_seen(&self) -> bool {
        self.answer
            .iter()
            .zip(&self.seen)
            .all(|(ans, seen)| !matches!(ans, Some((Answer::Posted, _))) || seen.is_some())
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn sign_in(client: &reqwest::Client, base: &Url, email: &str, password: &str) -> Result<String> {
    let url = base.join("/api/v1/auth/login")?;
    let r = client
        .post(url)
        .json(&json!({"email": email, "password": password, "client": "app"}))
        .send()
        .await
        .context("signing in")?;
    let status = r.status();
    let v: Value = r.json().await.context("reading the sign-in answer")?;
    if !status.is_success() {
        bail!("signing in as {email}: {status}: {v}");
    }
    v["access_token"].as_str().map(str::to_owned).with_context(|| format!("no access_token in {v}"))
}

/// The next text message as JSON, answering the protocol's pings on the way.
async fn next_json(ws: &mut Ws) -> Result<Option<Value>> {
    while let Some(msg) = ws.next().await {
        match msg.context("reading the WebSocket")? {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).context("a message that is not JSON")?;
                if v["type"] == "ping" {
                    ws.send(Message::text(json!({"type": "pong"}).to_string())).await?;
                    continue;
                }
                return Ok(Some(v));
            }
            Message::Close(_) => return Ok(None),
            _ => continue,
        }
    }
    Ok(None)
}

/// Balance and lines from a `next` message.
fn read_push(v: &Value) -> Result<(i64, Vec<Line>)> {
    let a = &v["payload"]["data"]["accountUpdated"];
    let balance = a["balancePence"].as_i64().with_context(|| format!("no balance in {v}"))?;
    let lines = a["recent"]
        .as_array()
        .with_context(|| format!("no recent lines in {v}"))?
        .iter()
        .filter_map(|l| {
            Some(Line {
                id: l["id"].as_i64()?,
                kind: l["kind"].as_str()?.to_owned(),
                amount_pence: l["amountPence"].as_i64()?,
            })
        })
        .collect();
    Ok((balance, lines))
}

/// Opens `accountUpdated` for one account; returns the socket after the current state.
async fn subscribe(ws_url: &str, token: &str, account_id: i64) -> Result<(Ws, i64, Vec<Line>)> {
    let mut request = ws_url.into_client_request().context("WebSocket request")?;
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.context("opening the WebSocket")?;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string())).await?;
    let ack = next_json(&mut ws).await?.context("closed before connection_ack")?;
    if ack["type"] != "connection_ack" {
        bail!("expected connection_ack, got {ack}");
    }
    let query = format!(
        "subscription {{ accountUpdated(accountId: {account_id}) {{ balancePence recent {{ id kind amountPence }} }} }}"
    );
    ws.send(Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": query}}).to_string())).await?;
    let first = next_json(&mut ws).await?.context("closed before the first state")?;
    if first["type"] != "next" {
        bail!("account {account_id}: expected the current state, got {first}");
    }
    let (balance, lines) = read_push(&first).with_context(|| format!("account {account_id}"))?;
    Ok((ws, balance, lines))
}

/// Reads pushes for watched account `a` until told to stop.
async fn watch_socket(mut ws: Ws, a: usize, book: Arc<Mutex<Book>>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return;
            }
            msg = next_json(&mut ws) => {
                let at = Instant::now();
                let problem = match msg {
                    Ok(Some(v)) if v["type"] == "next" => match read_push(&v) {
                        Ok((balance, lines)) => {
                            book.lock().expect("book lock").on_push(a, at, balance, &lines);
                            continue;
                        }
                        Err(e) => format!("{e:#}"),
                    },
                    Ok(Some(v)) => format!("unexpected message {v}"),
                    Ok(None) => "the server closed the socket".to_owned(),
                    Err(e) => format!("{e:#}"),
                };
                book.lock().expect("book lock").socket_errors.push(format!("account #{a}: {problem}"));
                return;
            }
        }
    }
}

async fn latency(args: &LatencyArgs) -> Result<(Value, f64)> {
    let t = &args.target;
    ensure_loopback(&t.base).await?;
    let url = webhook_url(&t.base)?;
    let mut ws_url = t.base.join("/graphql/ws")?;
    ws_url.set_scheme(if t.base.scheme() == "https" { "wss" } else { "ws" }).ok().context("WebSocket URL")?;
    let accounts = read_accounts(&t.accounts_file)?;
    if args.subscriptions == 0 || args.subscriptions > accounts.len() {
        bail!("--subscriptions must be between 1 and the {} accounts in the file", accounts.len());
    }
    let watched: Vec<Account> = accounts[..args.subscriptions].to_vec();
    let n = watched.len();
    let span = args.warmup + args.duration;
    let schedule = Schedule::new(args.rate, span)?;
    let total = usize::try_from(schedule.len())?;
    let warm_n = usize::try_from(schedule.count_before(args.warmup))?;
    if total > 10_000_000 {
        bail!("{total} notifications scheduled: too many");
    }

    let client = http_client(args.max_in_flight, t.http_timeout)?;
    let password = std::fs::read_to_string(&args.password_file)
        .with_context(|| format!("reading {}", args.password_file.display()))?;
    let token = sign_in(&client, &t.base, &args.email, password.trim()).await?;

    let book = Arc::new(Mutex::new(Book::new(n, total)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::new();
    for (a, acc) in watched.iter().enumerate() {
        let (ws, balance, lines) =
            subscribe(ws_url.as_str(), &token, acc.id).await.with_context(|| format!("subscribing to {}", acc.id))?;
        {
            let mut b = book.lock().expect("book lock");
            b.watches[a].start_balance = balance;
            b.watches[a].floor_id = lines.iter().map(|l| l.id).max().unwrap_or(0);
        }
        readers.push(tokio::spawn(watch_socket(ws, a, book.clone(), stop_rx.clone())));
    }
    // On PostgreSQL the node's LISTEN connection is already up (it starts with the server),
    // but let the subscriptions settle before the clock starts.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let secret = Arc::new(secret());
    let run = run_id();
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight));
    let start = Instant::now() + LEAD_IN;
    let due: Arc<Vec<Instant>> = Arc::new((0..total).map(|i| start + schedule.offset(i as u64)).collect());
    let runtime = tokio::runtime::Handle::current();
    let timeout = t.http_timeout;
    let scheduler = {
        let (book, due, secret, in_flight, client, url) =
            (book.clone(), due.clone(), secret.clone(), in_flight.clone(), client.clone(), url.clone());
        let watched = watched.clone();
        tokio::task::spawn_blocking(move || {
            let mut late_max = Duration::ZERO;
            let mut sends = Vec::with_capacity(total);
            for seq in 0..total {
                let now = Instant::now();
                if due[seq] > now {
                    std::thread::sleep(due[seq] - now);
                }
                late_max = late_max.max(Instant::now().saturating_duration_since(due[seq]));
                let amount = {
                    let mut b = book.lock().expect("book lock");
                    b.dispatched[seq] = true;
                    b.amount(seq)
                };
                let (book, secret, in_flight, client, url) =
                    (book.clone(), secret.clone(), in_flight.clone(), client.clone(), url.clone());
                let account = watched[seq % n].number.clone();
                let (event, payment) = (format!("evt_pb{run}_{seq}"), format!("pay_pb{run}_{seq}"));
                let deadline = due[seq] + timeout;
                sends.push(runtime.spawn(async move {
                    let Ok(_permit) = in_flight.acquire_owned().await else { return };
                    book.lock().expect("book lock").sent_at[seq] = Some(Instant::now());
                    let body = notification(&event, &payment, &account, amount);
                    let answer = post_notification(&client, &url, &secret, body, deadline).await;
                    book.lock().expect("book lock").answer[seq] = Some((answer, Instant::now()));
                }));
            }
            (late_max, sends)
        })
    };
    let (late_max, sends) = scheduler.await.context("the scheduler thread")?;
    // Every notification answered (or given up on). Waiting on the sends themselves, not on
    // the in-flight permits: the last ones may not have taken a permit yet.
    for send in sends {
        send.await.context("a notification's task")?;
    }
    let answered_at = Instant::now();
    while Instant::now() < answered_at + args.drain && !book.lock().expect("book lock").all_posted_seen() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }

    let b = book.lock().expect("book lock");
    let (mut screen, mut ack, mut fanout) = (histogram(), histogram(), histogram());
    let (mut posted, mut seen_recent, mut seen_balance, mut missing) = (0u64, 0u64, 0u64, 0u64);
    let mut answers = std::collections::BTreeMap::<String, u64>::new();
    for seq in warm_n..total {
        let answer = b.answer[seq].as_ref();
        *answers.entry(answer.map_or("unanswered".into(), |(a, _)| a.key())).or_default() += 1;
        if let Some((a, at)) = answer
            && a.is_2xx()
        {
            record(&mut ack, at.saturating_duration_since(due[seq]));
        }
        if !matches!(answer, Some((Answer::Posted, _))) {
            continue;
        }
        posted += 1;
        match b.seen[seq] {
            Some((at, via)) => {
                record(&mut screen, at.saturating_duration_since(due[seq]));
                if let Some((_, acked)) = answer {
                    record(&mut fanout, at.saturating_duration_since(*acked));
                }
                match via {
                    Via::Recent => seen_recent += 1,
                    Via::Balance => seen_balance += 1,
                }
            }
            None => missing += 1,
        }
    }
    let measured = (total - warm_n) as u64;
    let failed = measured - posted;
    let screen_p = Percentiles::of(&screen);
    let ack_p = Percentiles::of(&ack);
    let fanout_p = Percentiles::of(&fanout);
    let pushes: u64 = b.watches.iter().map(|w| w.pushes).sum();
    println!(
        "paybench latency: {}\n\
         \x20 open model: {} notifications/s for {:.1} s after {:.1} s warm-up, over {} watched account(s), one WebSocket each\n\
         \x20 notifications: {} scheduled, {} posted (2xx), {} not posted {:?}\n\
         \x20 on screen    : {} ({} named in the pushed lines, {} found from the balance), {} missing; {} pushes\n\
         \x20 send->screen : {}   (from scheduled send: corrected)\n\
         \x20 send->2xx    : {}\n\
         \x20 2xx->screen  : {}\n\
         \x20 scheduler    : at most {:.3} ms late{}",
        t.label.as_deref().unwrap_or(url.as_str()),
        schedule.rate(),
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        n,
        measured,
        posted,
        failed,
        answers.iter().filter(|(k, _)| *k != "posted").collect::<Vec<_>>(),
        posted - missing,
        seen_recent,
        seen_balance,
        missing,
        pushes,
        show(&screen_p),
        show(&ack_p),
        show(&fanout_p),
        late_max.as_secs_f64() * 1e3,
        if b.socket_errors.is_empty() { String::new() } else { format!("\n  sockets: {:?}", b.socket_errors) },
    );
    let json = json!({
        "kind": "notify-latency",
        "rate": schedule.rate(),
        "duration_s": args.duration.as_secs_f64(),
        "warmup_s": args.warmup.as_secs_f64(),
        "subscriptions": n,
        "account_ids": watched.iter().map(|a| a.id).collect::<Vec<_>>(),
        "notifications": {
            "scheduled": measured,
            "posted": posted,
            "not_posted": failed,
            "answers": answers,
            "on_screen": posted - missing,
            "named_in_recent": seen_recent,
            "found_from_balance": seen_balance,
            "missing": missing,
        },
        "pushes": pushes,
        "latency_ms": screen_p,
        "ack_ms": ack_p,
        "ack_to_screen_ms": fanout_p,
        "scheduler_late_max_ms": late_max.as_secs_f64() * 1e3,
        "socket_errors": b.socket_errors,
    });
    let share = if measured == 0 { 0.0 } else { (failed + missing) as f64 / measured as f64 };
    let share = if b.socket_errors.is_empty() { share } else { share.max(1.0) };
    Ok((json, share))
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// Counts for one closed-loop phase.
#[derive(Debug)]
struct Tally {
    ok: u64,
    errors: std::collections::BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally { ok: 0, errors: Default::default(), latency: histogram() }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        let _ = self.latency.add(&other.latency);
    }

    fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    fn json(&self, window: Duration) -> Value {
        json!({
            "ok": self.ok,
            "per_s": self.ok as f64 / window.as_secs_f64(),
            "errors": self.errors,
            "latency_ms": Percentiles::of(&self.latency),
        })
    }
}

/// Runs `op` in `concurrency` closed loops: warm-up, then `duration` measured. An operation
/// counts when it finishes inside the measured window.
async fn closed_loop<F, Fut>(concurrency: usize, warmup: Duration, duration: Duration, op: F) -> Tally
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::result::Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicU64::new(0));
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (op, counter) = (op.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let result = op(i).await;
                let done = Instant::now();
                if done < measure_from || done >= end {
                    continue;
                }
                record(&mut tally.latency, done - began);
                match result {
                    Ok(()) => tally.ok += 1,
                    Err(kind) => *tally.errors.entry(kind).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::new();
    for t in tasks {
        if let Ok(t) = t.await {
            all.merge(t);
        }
    }
    all
}

enum Baseline {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Baseline {
    /// A pool of `size` connections with the server's settings (api/src/db.rs).
    async fn connect(url: &str, size: usize) -> Result<Baseline> {
        let size = u32::try_from(size)?;
        if url.starts_with("sqlite:") {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
            let options = SqliteConnectOptions::from_str(url)
                .context("not a SQLite URL")?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(size)
                .min_connections(size)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            Ok(Baseline::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let parsed = Url::parse(url).context("not a PostgreSQL URL")?;
            let host = parsed.host_str().unwrap_or("");
            if !(host.is_empty()
                || host == "localhost"
                || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
            {
                bail!("the baseline database must be on this machine, not {host}");
            }
            let options = sqlx::postgres::PgConnectOptions::from_str(url).context("not a PostgreSQL URL")?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(size)
                .min_connections(size)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Baseline::Postgres(pool))
        } else {
            bail!("--database-url must start with sqlite: or postgres:");
        }
    }

    async fn create(&self) -> Result<()> {
        match self {
            Baseline::Sqlite(p) => {
                sqlx::query(BASELINE_DROP).execute(p).await?;
                sqlx::query(BASELINE_CREATE_SQLITE).execute(p).await?;
            }
            Baseline::Postgres(p) => {
                sqlx::query(BASELINE_DROP).execute(p).await?;
                sqlx::query(BASELINE_CREATE_PG).execute(p).await?;
            }
        }
        Ok(())
    }

    async fn insert(&self, item: String, amount_pence: i64) -> std::result::Result<(), String> {
        let result = match self {
            Baseline::Sqlite(p) => {
                sqlx::query(BASELINE_INSERT_SQLITE).bind(item).bind(amount_pence).execute(p).await.map(|_| ())
            }
            Baseline::Postgres(p) => {
                sqlx::query(BASELINE_INSERT_PG).bind(item).bind(amount_pence).execute(p).await.map(|_| ())
            }
        };
        result.map_err(|e| match e {
            sqlx::Error::Database(d) => format!("db_{}", d.code().unwrap_or_default()),
            sqlx::Error::PoolTimedOut => "pool_timeout".into(),
            _ => "other".into(),
        })
    }

    async fn drop_table(&self) -> Result<()> {
        match self {
            Baseline::Sqlite(p) => sqlx::query(BASELINE_DROP).execute(p).await.map(|_| ())?,
            Baseline::Postgres(p) => sqlx::query(BASELINE_DROP).execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    async fn close(self) {
        match self {
            Baseline::Sqlite(p) => p.close().await,
            Baseline::Postgres(p) => p.close().await,
        }
    }
}

async fn throughput(args: &ThroughputArgs) -> Result<(Value, f64)> {
    let t = &args.target;
    ensure_loopback(&t.base).await?;
    if args.concurrency == 0 || args.concurrency > 1_000 {
        bail!("--concurrency must be between 1 and 1000");
    }
    if args.duration.is_zero() {
        bail!("--duration must be more than zero");
    }
    let url = webhook_url(&t.base)?;
    let accounts = Arc::new(read_accounts(&t.accounts_file)?);
    let client = http_client(args.concurrency, t.http_timeout)?;
    let secret = Arc::new(secret());
    let run = Arc::new(run_id());
    let timeout = t.http_timeout;

    let label = t.label.clone().unwrap_or_else(|| url.to_string());
    let notes = {
        let accounts = accounts.clone();
        closed_loop(args.concurrency, args.warmup, args.duration, move |i| {
            let (client, url, secret, run, accounts) =
                (client.clone(), url.clone(), secret.clone(), run.clone(), accounts.clone());
            async move {
                let account = &accounts[(i % accounts.len() as u64) as usize];
                let amount = 100 + (i % 9_900) as i64;
                let body =
                    notification(&format!("evt_pt{run}_{i}"), &format!("pay_pt{run}_{i}"), &account.number, amount);
                match post_notification(&client, &url, &secret, body, Instant::now() + timeout).await {
                    a if a.is_2xx() => Ok(()),
                    a => Err(a.key()),
                }
            }
        })
        .await
    };
    let notes_rate = notes.ok as f64 / args.duration.as_secs_f64();
    println!(
        "paybench throughput: {}\n\
         \x20 notifications : {} workers, {:.1} s after {:.1} s warm-up, over {} accounts\n\
         \x20   durable     : {} (2xx) = {:.1}/s; errors {:?}\n\
         \x20   answer      : {}",
        label,
        args.concurrency,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        accounts.len(),
        notes.ok,
        notes_rate,
        notes.errors,
        show(&Percentiles::of(&notes.latency)),
    );
    let mut json = json!({
        "kind": "notify-throughput",
        "concurrency": args.concurrency,
        "duration_s": args.duration.as_secs_f64(),
        "warmup_s": args.warmup.as_secs_f64(),
        "accounts": accounts.len(),
        "notifications": notes.json(args.duration),
    });
    let measured = notes.ok + notes.error_total();
    let mut share = if measured == 0 { 1.0 } else { notes.error_total() as f64 / measured as f64 };

    if !args.skip_baseline {
        let db = Arc::new(Baseline::connect(&args.database_url, args.concurrency).await?);
        db.create().await.context("creating the baseline's scratch table")?;
        let run = run_id();
        let base = {
            let db = db.clone();
            closed_loop(args.concurrency, args.warmup, args.duration, move |i| {
                let (db, item) = (db.clone(), format!("ins_{run}_{i}"));
                async move { db.insert(item, 100 + (i % 9_900) as i64).await }
            })
            .await
        };
        db.drop_table().await.context("dropping the baseline's scratch table")?;
        if let Ok(db) = Arc::try_unwrap(db) {
            db.close().await;
        }
        let base_rate = base.ok as f64 / args.duration.as_secs_f64();
        let ratio = if base_rate > 0.0 { notes_rate / base_rate } else { 0.0 };
        println!(
            "\x20 baseline      : plain single-row INSERTs, {} connections, same database\n\
             \x20   committed   : {} = {:.1}/s; errors {:?}\n\
             \x20   statement   : {}\n\
             \x20 ratio         : notifications/s ÷ INSERTs/s = {:.3} ({:.1}x slower)",
            args.concurrency,
            base.ok,
            base_rate,
            base.errors,
            show(&Percentiles::of(&base.latency)),
            ratio,
            if ratio > 0.0 { 1.0 / ratio } else { 0.0 },
        );
        if let Some(obj) = json.as_object_mut() {
            obj.insert("baseline".into(), base.json(args.duration));
            obj.insert("ratio".into(), json!(ratio));
        }
        if base.ok == 0 {
            share = 1.0;
        }
    }
    Ok((json, share))
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
    fn signs_as_the_sandbox_does() {
        // HMAC-SHA256("sandbox-development-secret", "1700000000.{\"id\":\"evt_1\"}"), computed apart.
        assert_eq!(
            sign(DEV_SECRET.as_bytes(), 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=324912e7657626fa506635743fe4e27d41cfd03efad8655540c1eb4aa92649bb"
        );
    }

    #[test]
    fn notifications_carry_what_the_portal_reads() {
        let v: Value = serde_json::from_str(&notification("evt_a", "pay_a", "100012345", 1_234)).unwrap();
        assert_eq!(v["type"], "payment.succeeded");
        assert_eq!(v["payment"]["amount_pence"], 1_234);
        assert_eq!(v["payment"]["account_number"], "100012345");
        assert!(v["payment"]["reference"].is_null());
        assert!(v["payment"]["paid_at"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn account_lists() {
        let a = parse_accounts("# id|number\n12|100000012\n\n13,R-13\n14 X14\n").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0], Account { id: 12, number: "100000012".into() });
        assert_eq!(a[2].number, "X14");
        assert!(parse_accounts("12\n").is_err());
        assert!(parse_accounts("x|1\n").is_err());
        assert!(parse_accounts("\n# none\n").is_err());
    }

    fn line(id: i64, amount_pence: i64) -> Line {
        Line { id, kind: "payment".into(), amount_pence }
    }

    #[test]
    fn pushes_name_notifications_by_their_lines_and_then_by_the_balance() {
        // Two watched accounts, eight notifications: account 0 gets seq 0, 2, 4, 6 (numbers
        // 0..4, paying 1000, 1001, 1002, 1003 pence).
        let mut b = Book::new(2, 8);
        b.watches[0] = Watch { start_balance: 5_000, floor_id: 100, ..Default::default() };
        b.dispatched.iter_mut().for_each(|d| *d = true);
        let t0 = Instant::now();
        // A line from before the run with a matching amount is ignored.
        b.on_push(0, t0, 5_000, &[line(100, -1_000)]);
        assert!(b.seen.iter().all(Option::is_none));
        // The first payment, named by its line.
        b.on_push(0, t0, 4_000, &[line(101, -1_000), line(100, -1_000)]);
        assert_eq!(b.seen[0].map(|s| s.1), Some(Via::Recent));
        assert_eq!(b.watches[0].cursor, 1);
        // The other three at once, but only the newest two lines shown: the third is found
        // from the balance (5000 - 1000 - 1001 - 1002 - 1003 = 994).
        let t1 = t0 + Duration::from_millis(5);
        b.on_push(0, t1, 994, &[line(104, -1_003), line(103, -1_002)]);
        assert_eq!(b.seen[2], Some((t1, Via::Balance)));
        assert_eq!(b.seen[4], Some((t1, Via::Recent)));
        assert_eq!(b.seen[6], Some((t1, Via::Recent)));
        assert_eq!(b.watches[0].cursor, 4);
        // The other account's notifications are untouched.
        assert!(b.seen[1].is_none() && b.seen[3].is_none());
    }

    #[test]
    fn a_balance_never_names_what_was_not_sent() {
        let mut b = Book::new(1, 3);
        b.watches[0].start_balance = 0;
        b.dispatched[0] = true;
        // The balance says two were posted but only one was sent: only that one is named.
        b.on_push(0, Instant::now(), -2_001, &[]);
        assert!(b.seen[0].is_some());
        assert!(b.seen[1].is_none() && b.seen[2].is_none());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
