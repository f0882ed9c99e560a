//! Reliability of the payment path with real processes: the `doorstep` binary serving the
//! portal and `doorstep sandbox-provider` sending it notifications over HTTP.
//!
//! - The portal is killed with SIGKILL in the middle of a stream of payments and started
//!   again: once the provider's retries have landed, every payment is on the account exactly
//!   once and `doorstep ledger check` is clean.
//! - The sandbox drops 5% of its notifications: the end-of-day file, reconciled with
//!   `doorstep reconcile`, posts exactly the missing ones, and reconciling it again changes
//!   nothing.
//!
//! Both run on SQLite and PostgreSQL, as `DOORSTEP_TEST_DB` says. The portal's own charge
//! run posts the week's rent when it starts, so the tests count payments, not all lines.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::identity_support::home;
use crate::support::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_doorstep");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A child process that is killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn command(db_url: &str) -> Command {
    let mut c = Command::new(BIN);
    c.env("DOORSTEP_DATABASE_URL", db_url)
        .env("DOORSTEP_WEB_DIR", "/nonexistent-web-dist")
        .env("DOORSTEP_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    c
}

async fn wait_ok(url: &str, what: &str) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(url).timeout(Duration::from_secs(2)).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{what} did not come up at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn portal(db_url: &str, port: u16, sandbox_port: u16) -> Proc {
    let child = command(db_url)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DOORSTEP_SANDBOX_URL", format!("http://127.0.0.1:{sandbox_port}"))
        .spawn()
        .expect("start the portal");
    wait_ok(&format!("http://127.0.0.1:{port}/readyz"), "the portal").await;
    Proc(child)
}

async fn sandbox(port: u16, portal_port: u16) -> Proc {
    let child = command("sqlite::memory:")
        .args([
            "sandbox-provider",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--portal-url",
            &format!("http://127.0.0.1:{portal_port}"),
            "--retry-base-ms",
            "100",
            "--retry-cap-ms",
            "1000",
            "--max-attempts",
            "200",
        ])
        .spawn()
        .expect("start the sandbox");
    wait_ok(&format!("http://127.0.0.1:{port}/healthz"), "the sandbox").await;
    Proc(child)
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let db = &app.db.db;
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.expect("query");
    row.expect("row").try_get::<i64>("", "n").expect("n")
}

/// Waits until the ledger holds `want` entries (or stops growing short of it), and returns
/// what it holds.
async fn settle(app: &TestApp, want: i64, limit: Duration) -> i64 {
    let start = Instant::now();
    let mut last = -1;
    let mut still_since = Instant::now();
    loop {
        let n = scalar(app, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'payment'").await;
        if n != last {
            last = n;
            still_since = Instant::now();
        }
        if n >= want && still_since.elapsed() > Duration::from_secs(2) {
            return n;
        }
        if start.elapsed() > limit {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn pay(client: &reqwest::Client, sandbox_port: u16, account: &str, pence: i64) -> Value {
    let r = client
        .post(format!("http://127.0.0.1:{sandbox_port}/api/events"))
        .json(&json!({"account_number": account, "amount_pence": pence, "channel": "retail_cash"}))
        .send()
        .await
        .expect("sandbox takes the payment");
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.expect("json")
}

async fn ledger_check(db_url: &str) -> (bool, String) {
    let out = command(db_url).args(["ledger", "check"]).stdout(Stdio::piped()).output().await.expect("ledger check");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn killing_the_portal_mid_stream_loses_and_doubles_nothing() {
    let app = TestApp::new().await;
    let org = app.add_org("kill-homes", "Kill Homes", None).await;
    let h = home(&app.db.db, org, "Kit", "Killick", "HX2 9ZZ", 0).await;
    let (portal_port, sandbox_port) = (free_port(), free_port());
    let mut portal_proc = portal(&app.db.url, portal_port, sandbox_port).await;
    let _sandbox = sandbox(sandbox_port, portal_port).await;
    let client = reqwest::Client::new();

    let amounts: Vec<i64> = (0..150).map(|i| 100 + i * 3).collect();
    for (i, pence) in amounts.iter().enumerate() {
        if i == 50 {
            // Mid-stream, with notifications in flight: no chance to finish anything.
            portal_proc.0.start_kill().expect("SIGKILL the portal");
            let _ = portal_proc.0.wait().await;
        }
        if i == 100 {
            portal_proc = portal(&app.db.url, portal_port, sandbox_port).await;
        }
        pay(&client, sandbox_port, &h.account_number, *pence).await;
    }
    let n = settle(&app, amounts.len() as i64, Duration::from_secs(120)).await;
    assert_eq!(n, amounts.len() as i64, "every payment is on the account once");
    let total: i64 = amounts.iter().sum();
    let paid = scalar(
        &app,
        "SELECT CAST(COALESCE(SUM(amount_pence), 0) AS BIGINT) AS n FROM ledger_entry WHERE kind = 'payment'",
    )
    .await;
    assert_eq!(paid, -total);
    let distinct =
        scalar(&app, "SELECT COUNT(DISTINCT source_ref) AS n FROM ledger_entry WHERE kind = 'payment'").await;
    assert_eq!(distinct, amounts.len() as i64);
    let (clean, report) = ledger_check(&app.db.url).await;
    assert!(clean, "ledger check: {report}");
    drop(portal_proc);
}

#[tokio::test]
async fn notifications_the_sandbox_dropped_are_posted_by_the_end_of_day_reconciliation() {
    let app = TestApp::new().await;
    let org = app.add_org("drop-homes", "Drop Homes", None).await;
    let h = home(&app.db.db, org, "Dot", "Dropper", "HX4 4DD", 0).await;
    let (portal_port, sandbox_port) = (free_port(), free_port());
    let _portal = portal(&app.db.url, portal_port, sandbox_port).await;
    let _sandbox = sandbox(sandbox_port, portal_port).await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://127.0.0.1:{sandbox_port}/api/faults"))
        .json(&json!({"fault": "drop", "percent": 5, "seed": 20261122}))
        .send()
        .await
        .expect("arm the fault");
    assert!(r.status().is_success(), "{}", r.status());

    let amounts: Vec<i64> = (0..200).map(|i| 250 + i).collect();
    for pence in &amounts {
        pay(&client, sandbox_port, &h.account_number, *pence).await;
    }
    let delivered = settle(&app, amounts.len() as i64 - 30, Duration::from_secs(60)).await;
    let dropped = amounts.len() as i64 - delivered;
    assert!((1..=25).contains(&dropped), "about 5% of 200 dropped, got {dropped}");

    // The end-of-day file lists every payment, delivered or not.
    let today = chrono::Utc::now().date_naive();
    let file = client
        .get(format!("http://127.0.0.1:{sandbox_port}/api/end-of-day/{today}.csv"))
        .send()
        .await
        .expect("end-of-day file")
        .text()
        .await
        .expect("csv");
    assert_eq!(file.lines().count(), amounts.len() + 1, "header and one line per payment");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("sandbox-{today}.csv"));
    std::fs::write(&path, &file).expect("write file");

    let run = |path: std::path::PathBuf| {
        let url = app.db.url.clone();
        async move {
            let out = command(&url)
                .args(["reconcile", path.to_str().expect("path"), "--format", "json"])
                .stdout(Stdio::piped())
                .output()
                .await
                .expect("reconcile");
            assert!(out.status.success(), "reconcile failed: {}", String::from_utf8_lossy(&out.stdout));
            serde_json::from_slice::<Value>(&out.stdout).expect("json report")
        }
    };
    let report = run(path.clone()).await;
    let text = report.to_string();
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'payment'").await,
        amounts.len() as i64,
        "{text}"
    );
    let late = scalar(&app, "SELECT COUNT(*) AS n FROM reconciliation_item WHERE status = 'late'").await;
    assert_eq!(late, dropped, "exactly the dropped payments are late: {text}");
    let matched = scalar(&app, "SELECT COUNT(*) AS n FROM reconciliation_item WHERE status = 'matched'").await;
    assert_eq!(matched, delivered, "{text}");
    let total: i64 = amounts.iter().sum();
    let paid = scalar(
        &app,
        "SELECT CAST(COALESCE(SUM(amount_pence), 0) AS BIGINT) AS n FROM ledger_entry WHERE kind = 'payment'",
    )
    .await;
    assert_eq!(paid, -total);

    // The same file again changes nothing.
    let items_before = scalar(&app, "SELECT COUNT(*) AS n FROM reconciliation_item").await;
    run(path).await;
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'payment'").await,
        amounts.len() as i64
    );
    assert_eq!(scalar(&app, "SELECT COUNT(*) AS n FROM reconciliation_item").await, items_before);
    let (clean, report) = ledger_check(&app.db.url).await;
    assert!(clean, "ledger check: {report}");
}
