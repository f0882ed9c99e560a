//! End-of-day reconciliation: a provider's file against what arrived in real time, the run
//! report, the exception and suspense queues, the drop folder, the command line, and
//! payments by channel. Every test runs on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use doorstep::domain::payments::signature;
use doorstep::domain::reconciliation::{self, NoProgress, Reconciled, RunRequest};
use doorstep::jobs::reconcile_poll;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::identity_support::*;
use crate::support::{TestApp, TestResponse};

const SECRET: &str = doorstep::config::payments::SANDBOX_DEV_SECRET;
const HEADER: &str = "payment_id,account_number,amount_pence,channel,paid_at,reference\n";

/// A payment notification as the sandbox sends it, delivered and posted.
async fn notify(app: &TestApp, payment: &str, account: &str, pence: i64, channel: &str, paid_at: &str) {
    let body = json!({
        "id": format!("evt_{payment}"),
        "type": "payment.succeeded",
        "created_at": paid_at,
        "payment": {
            "id": payment, "reference": null, "account_number": account, "amount_pence": pence,
            "channel": channel, "status": "succeeded", "paid_at": paid_at
        }
    })
    .to_string();
    let sig = signature::sign(&[SECRET.as_bytes()], Utc::now().timestamp(), body.as_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/webhooks/sandbox")
        .header("content-type", "application/json")
        .header("doorstep-signature", sig)
        .body(Body::from(body))
        .expect("request");
    let r = app.send(request).await;
    assert!(r.status.is_success(), "webhook for {payment}: {} {}", r.status, r.text());
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let db = &app.db.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get::<i64>("", "n").unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    scalar(app, &format!("SELECT COUNT(*) AS n FROM {table}")).await
}

async fn balance(app: &TestApp, account_id: i64) -> i64 {
    scalar(app, &format!("SELECT balance_pence AS n FROM rent_account WHERE id = {account_id}")).await
}

async fn reconcile_text(app: &TestApp, name: &str, text: &str) -> Reconciled {
    let file = reconciliation::parse(name, text.as_bytes(), Utc::now())
        .unwrap_or_else(|e| panic!("{name} should be valid: {e}"));
    reconciliation::reconcile(
        &app.db.db,
        &app.state.live,
        &file,
        RunRequest { provider: "sandbox", started_by: "test" },
        &NoProgress,
    )
    .await
    .expect("reconcile")
}

async fn get(app: &TestApp, token: &str, path: &str) -> TestResponse {
    as_bearer(app, token, Method::GET, path, None).await
}

async fn ok_json(app: &TestApp, token: &str, path: &str) -> Value {
    let r = get(app, token, path).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text());
    r.json()
}

/// Every item of a run by payment id: (status, resolution).
async fn items_by_payment(app: &TestApp, token: &str, run_id: i64) -> BTreeMap<String, (String, String)> {
    let page = ok_json(app, token, &format!("/api/v1/staff/reconciliation/runs/{run_id}/items?limit=100")).await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["provider_payment_id"].as_str().unwrap().to_owned(),
                (i["status"].as_str().unwrap().to_owned(), i["resolution"].as_str().unwrap().to_owned()),
            )
        })
        .collect()
}

fn item_id(page: &Value, payment: &str) -> i64 {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["provider_payment_id"] == payment)
        .and_then(|i| i["id"].as_i64())
        .unwrap_or_else(|| panic!("no item for {payment}: {page}"))
}

/// What a run could change, to compare before and after.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["ledger_entry", "outbox", "suspense_payment", "reconciliation_run", "reconciliation_item", "audit_event"]
    {
        out.push(count(app, t).await);
    }
    out.push(scalar(app, "SELECT CAST(COALESCE(SUM(balance_pence), 0) AS BIGINT) AS n FROM rent_account").await);
    out.push(scalar(app, "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS n FROM rent_account").await);
    out
}

struct World {
    app: TestApp,
    /// Income staff of the landlord.
    income: String,
    a: Home,
    b: Home,
    c: Home,
}

/// A landlord with three tenancies, and a morning of payments that arrived in real time:
/// `pay_match` (£15.00 on A), `pay_diff` (£20.00 on B) and `pay_gone` (£41.00 on A), all
/// on Monday 16 November 2026, plus `pay_other_day` on the 15th.
async fn world() -> World {
    let app = TestApp::new().await;
    let org = app.add_org("calder-homes", "Calder Homes", None).await;
    let a = home(&app.db.db, org, "Ann", "Ashworth", "HX1 1AA", 0).await;
    let b = home(&app.db.db, org, "Bob", "Booth", "HX1 1AB", 0).await;
    let c = home(&app.db.db, org, "Cat", "Crowther", "HX1 1AC", 0).await;
    let income = staff_token(&app, "calder-homes", "income").await;
    notify(&app, "pay_match", &a.account_number, 1500, "web", "2026-11-16T09:00:00Z").await;
    notify(&app, "pay_diff", &b.account_number, 2000, "app", "2026-11-16T10:00:00Z").await;
    notify(&app, "pay_gone", &a.account_number, 4100, "telephone", "2026-11-16T11:00:00Z").await;
    notify(&app, "pay_other_day", &a.account_number, 900, "web", "2026-11-15T11:00:00Z").await;
    World { app, income, a, b, c }
}

/// The provider's file for 16 November: one line of each kind.
fn file_of_each_kind(w: &World) -> String {
    format!(
        "{HEADER}pay_match,{a},1500,web,2026-11-16T09:00:00Z,\n\
         pay_diff,{b},2500,app,2026-11-16T10:00:00Z,\n\
         pay_late,{c},3000,retail_cash,2026-11-16T12:00:00Z,\n\
         pay_nobody,99999999,700,pay_by_link,2026-11-16T13:00:00Z,\n",
        a = w.a.account_number,
        b = w.b.account_number,
        c = w.c.account_number,
    )
}

#[tokio::test]
async fn a_file_with_one_of_each_case_gives_exactly_the_expected_items_and_totals() {
    let w = world().await;
    let app = &w.app;
    let before_c = balance(app, w.c.account_id).await;
    let before_a = balance(app, w.a.account_id).await;
    let done = reconcile_text(app, "2026-11-16.csv", &file_of_each_kind(&w)).await;
    assert!(!done.already);

    let items = items_by_payment(app, &w.income, done.run_id).await;
    let expect = |status: &str, resolution: &str| (status.to_owned(), resolution.to_owned());
    assert_eq!(
        items,
        BTreeMap::from([
            ("pay_match".to_owned(), expect("matched", "resolved")),
            ("pay_diff".to_owned(), expect("amount_mismatch", "open")),
            ("pay_late".to_owned(), expect("late", "resolved")),
            ("pay_nobody".to_owned(), expect("unknown_account", "open")),
            ("pay_gone".to_owned(), expect("not_in_file", "open")),
        ]),
        "pay_other_day was paid on another business date and is not the file's business"
    );

    let report = ok_json(app, &w.income, &format!("/api/v1/staff/reconciliation/runs/{}", done.run_id)).await;
    let run = &report["run"];
    assert_eq!(run["lines"], 4);
    assert_eq!(run["business_date_from"], "2026-11-16");
    assert_eq!(
        run["counts"],
        json!({"matched": 1, "late": 1, "amount_mismatch": 1, "unknown_account": 1, "not_in_file": 1,
               "exceptions": 3, "open_exceptions": 3})
    );
    assert_eq!(
        run["totals"],
        json!({"file_pence": 1500 + 2500 + 3000 + 700, "matched_pence": 1500, "late_posted_pence": 3000,
               "amount_mismatch_file_pence": 2500, "amount_mismatch_ledger_pence": 2000,
               "unknown_account_pence": 700, "not_in_file_pence": 4100})
    );
    let codes: Vec<&str> =
        report["reasons"].as_array().unwrap().iter().map(|r| r["reason_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["matched", "late", "amount_mismatch", "unknown_account", "not_in_file"]);

    // The late payment is on C's account now, once, with its record for the HMS; A is as it was.
    assert_eq!(balance(app, w.c.account_id).await, before_c - 3000);
    assert_eq!(balance(app, w.a.account_id).await, before_a);
    assert_eq!(
        scalar(app, "SELECT COUNT(*) AS n FROM ledger_entry WHERE source = 'provider:sandbox' AND source_ref = 'pay_late' AND amount_pence = -3000 AND channel = 'retail_cash'").await,
        1
    );
    assert_eq!(
        scalar(app, "SELECT COUNT(*) AS n FROM outbox WHERE message_key = 'provider:sandbox/pay_late'").await,
        1
    );
    let tx = ok_json(app, &w.income, &format!("/api/v1/staff/tenants/{}", w.c.tenancy_id)).await;
    assert!(tx.to_string().contains("Cash payment at a shop"), "the late payment shows on C's account: {tx}");
    // The mismatch was not posted again.
    assert_eq!(balance(app, w.b.account_id).await, -2000);
    // The unknown reference is in suspense, from reconciliation.
    let suspense = ok_json(app, &w.income, "/api/v1/staff/suspense?status=open").await;
    let held = &suspense["items"][0];
    assert_eq!((held["provider_payment_id"].as_str(), held["amount_pence"].as_i64()), (Some("pay_nobody"), Some(700)));
    assert_eq!(held["origin"], "reconciliation");
    assert_eq!(held["account_reference"], "99999999");

    let check = doorstep::domain::ledger::check::check(&app.db.db).await.expect("ledger check");
    assert!(check.is_clean(), "{check:?}");

    // The same file again: the earlier run, and nothing changes.
    let before = snapshot(app).await;
    let again = reconcile_text(app, "2026-11-16-copy.csv", &file_of_each_kind(&w)).await;
    assert!(again.already);
    assert_eq!(again.run_id, done.run_id);
    assert_eq!(snapshot(app).await, before, "ledger, balances, items and suspense are as they were");
    let runs = ok_json(app, &w.income, "/api/v1/staff/reconciliation/runs").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1);

    // The CSV report lists the late line and the three exceptions, not the matched one.
    let r = get(app, &w.income, &format!("/api/v1/staff/reconciliation/runs/{}/report.csv", done.run_id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("run_id,reason_code,line,provider_payment_id"), "{csv}");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(csv.contains("amount_mismatch,3,pay_diff") && !csv.contains("pay_match"), "{csv}");
}

#[tokio::test]
async fn staff_work_the_exceptions_and_allocate_suspense_once_with_an_audit_trail() {
    let w = world().await;
    let app = &w.app;
    let done = reconcile_text(app, "2026-11-16.csv", &file_of_each_kind(&w)).await;
    let page =
        ok_json(app, &w.income, &format!("/api/v1/staff/reconciliation/runs/{}/items?status=exceptions", done.run_id))
            .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let diff = item_id(&page, "pay_diff");
    let nobody = item_id(&page, "pay_nobody");
    let income = w.income.as_str();
    let resolve = |id: i64, body: Value| {
        let path = format!("/api/v1/staff/reconciliation/items/{id}/resolve");
        async move { as_bearer(app, income, Method::POST, &path, Some(body)).await }
    };

    // A note keeps the item open; closing resolves it once.
    let r = resolve(diff, json!({"action": "note", "note": "Asked the provider which amount is right"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["resolution"], "open");
    let r = resolve(diff, json!({"action": "close", "note": "Provider confirmed £20.00; file corrected"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let item = r.json();
    assert_eq!(item["resolution"], "resolved");
    assert!(item["resolved_by"].as_str().unwrap().starts_with("income."), "{item}");
    let note = item["note"].as_str().unwrap();
    assert!(note.contains("Asked the provider") && note.contains("Provider confirmed"), "{note}");
    assert_eq!(resolve(diff, json!({"action": "close", "note": "again"})).await.status, StatusCode::CONFLICT);
    assert_eq!(resolve(diff, json!({"action": "close", "note": "  "})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resolve(diff, json!({"action": "shrug", "note": "x"})).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The unknown account's item cannot be closed while its money sits in suspense.
    let r = resolve(nobody, json!({"action": "close", "note": "done"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Allocating the suspense payment posts it to C once, and settles the item.
    let suspense_id =
        page["items"].as_array().unwrap().iter().find(|i| i["id"] == nobody).unwrap()["suspense_payment_id"]
            .as_i64()
            .expect("the item names its suspense payment");
    let before = balance(app, w.c.account_id).await;
    let entries = count(app, "ledger_entry").await;
    let allocate = || {
        let path = format!("/api/v1/staff/suspense/{suspense_id}/allocate");
        let body = json!({"account_id": w.c.account_id, "note": "Tenant rang: reference mistyped"});
        async move { as_bearer(app, income, Method::POST, &path, Some(body)).await }
    };
    let (first, second) = tokio::join!(allocate(), allocate());
    let statuses = [first.status, second.status];
    assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
    let third = allocate().await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.text());
    assert_eq!(balance(app, w.c.account_id).await, before - 700, "posted exactly once");
    assert_eq!(count(app, "ledger_entry").await, entries + 1);
    let view = if first.status == StatusCode::OK { first.json() } else { second.json() };
    assert_eq!(view["status"], "allocated");
    assert_eq!(view["allocated_account_number"], w.c.account_number.as_str());
    let items = items_by_payment(app, &w.income, done.run_id).await;
    assert_eq!(items["pay_nobody"], ("unknown_account".to_owned(), "resolved".to_owned()));

    // Closing an allocated payment is refused; a payment can be closed with a note.
    let r = as_bearer(
        app,
        &w.income,
        Method::POST,
        &format!("/api/v1/staff/suspense/{suspense_id}/close"),
        Some(json!({"note": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Every decision is in the audit trail, with who made it.
    let admin = staff_token(app, "calder-homes", "admin").await;
    let trail = ok_json(app, &admin, "/api/v1/staff/audit?limit=100").await.to_string();
    for action in
        ["reconciliation.item_noted", "reconciliation.item_closed", "suspense.allocated", "reconciliation.run"]
    {
        assert!(trail.contains(action), "{action} is audited: {trail}");
    }
    let report = ok_json(app, &w.income, &format!("/api/v1/staff/reconciliation/runs/{}", done.run_id)).await;
    assert_eq!(report["run"]["counts"]["open_exceptions"], 1, "only pay_gone is still open: {report}");

    // The same over GraphQL.
    let gql = graphql_as(
        app,
        Some(&w.income),
        &format!(
            "{{ reconciliationRun(id: {}) {{ run {{ counts {{ openExceptions }} }} reasons {{ reasonCode open }} }} }}",
            done.run_id
        ),
    )
    .await;
    assert_eq!(gql["data"]["reconciliationRun"]["run"]["counts"]["openExceptions"], 1, "{gql}");
}

#[tokio::test]
async fn staff_of_another_landlord_and_other_roles_see_and_change_nothing() {
    let w = world().await;
    let app = &w.app;
    let done = reconcile_text(app, "2026-11-16.csv", &file_of_each_kind(&w)).await;
    let page = ok_json(app, &w.income, &format!("/api/v1/staff/reconciliation/runs/{}/items", done.run_id)).await;
    let diff = item_id(&page, "pay_diff");

    let other_org = app.add_org("aire-homes", "Aire Homes", None).await;
    home(&app.db.db, other_org, "Dee", "Dyson", "LS1 1AA", 0).await;
    let other = staff_token(app, "aire-homes", "income").await;
    // A run of Calder's payments only is not Aire's to see at all.
    let calder_only = reconcile_text(
        app,
        "2026-11-17.csv",
        &format!("{HEADER}pay_tue,{},800,web,2026-11-17T09:00:00Z,\n", w.a.account_number),
    )
    .await;
    for path in [
        format!("/api/v1/staff/reconciliation/runs/{}", calder_only.run_id),
        format!("/api/v1/staff/reconciliation/runs/{}/items", calder_only.run_id),
        format!("/api/v1/staff/reconciliation/runs/{}/report.csv", calder_only.run_id),
    ] {
        assert_eq!(get(app, &other, &path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Of the mixed run, Aire's head office sees only the payment for no known account (money
    // any top-level landlord's staff may need to place), with figures for that alone.
    let runs = ok_json(app, &other, "/api/v1/staff/reconciliation/runs").await;
    let listed: Vec<i64> = runs["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [done.run_id]);
    assert_eq!(runs["items"][0]["totals"]["file_pence"], 700);
    let theirs = items_by_payment(app, &other, done.run_id).await;
    assert_eq!(theirs.keys().collect::<Vec<_>>(), ["pay_nobody"]);
    let csv = get(app, &other, &format!("/api/v1/staff/reconciliation/runs/{}/report.csv", done.run_id)).await.text();
    assert!(
        !csv.contains(&w.a.account_number) && !csv.contains(&w.b.account_number) && !csv.contains(&w.c.account_number),
        "{csv}"
    );
    let r = as_bearer(
        app,
        &other,
        Method::POST,
        &format!("/api/v1/staff/reconciliation/items/{diff}/resolve"),
        Some(json!({"action": "close", "note": "mine now"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Money for no account is for head-office staff of any top-level landlord to place, but
    // only on their own accounts.
    let suspense_id = ok_json(app, &other, "/api/v1/staff/suspense").await["items"][0]["id"].as_i64().unwrap();
    let r = as_bearer(
        app,
        &other,
        Method::POST,
        &format!("/api/v1/staff/suspense/{suspense_id}/allocate"),
        Some(json!({"account_id": w.c.account_id})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = as_bearer(
        app,
        &w.income,
        Method::POST,
        &format!("/api/v1/staff/suspense/{suspense_id}/allocate"),
        Some(json!({"account_id": w.c.account_id})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Now it is Calder's: Aire cannot see or touch it.
    assert_eq!(ok_json(app, &other, "/api/v1/staff/suspense").await["items"], json!([]));
    let r = as_bearer(
        app,
        &other,
        Method::POST,
        &format!("/api/v1/staff/suspense/{suspense_id}/close"),
        Some(json!({"note": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let figures = ok_json(app, &other, "/api/v1/staff/payments/by-channel?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(figures["payments"], 0, "Aire's tenants paid nothing: {figures}");

    // Within the landlord, customer service and tenants have no business here.
    let cs = staff_token(app, "calder-homes", "customer_service").await;
    assert_eq!(get(app, &cs, "/api/v1/staff/reconciliation/runs").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(app, &cs, "/api/v1/staff/payments/by-channel?from=2026-11-01&to=2026-11-30").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(app, &cs, &format!("/api/v1/staff/reconciliation/runs/{}", done.run_id)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/api/v1/staff/reconciliation/runs").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bad_file_names_file_line_and_column_changes_nothing_and_the_drop_folder_sets_it_aside() {
    let w = world().await;
    let app = &w.app;
    let a = &w.a.account_number;
    let drop = tempfile::tempdir().expect("drop folder");
    let mut bad = format!(
        "{HEADER}pay_1,{a},12.50,web,2026-11-16T09:00:00Z,\n\
         pay_2,{a},100,web,16/11/2026 09:00,\n\
         pay_3,{a},100,web\n\
         pay_4,"
    )
    .into_bytes();
    bad.extend_from_slice(b"caf\xE9,100,web,2026-11-16T09:00:00Z,\n");
    std::fs::write(drop.path().join("2026-11-16.csv"), &bad).unwrap();
    std::fs::write(drop.path().join("2026-11-17.csv"), "payment,account,amount,channel,paid_at,reference\n").unwrap();
    let before = snapshot(app).await;
    let picked =
        reconcile_poll::poll_once(&app.db.db, &app.state.live, drop.path(), Duration::ZERO).await.expect("poll");
    assert_eq!(picked.iter().map(|p| p.outcome.as_str()).collect::<Vec<_>>(), ["rejected", "rejected"]);
    assert_eq!(snapshot(app).await, before, "nothing from a bad file is reconciled");
    let report = std::fs::read_to_string(drop.path().join("failed/2026-11-16.csv.report.txt")).expect("report");
    for located in [
        "2026-11-16.csv:2:3: amount_pence: \"12.50\" is not a whole number of pence",
        "2026-11-16.csv:3:5: paid_at:",
        "2026-11-16.csv:4:5: paid_at: has 4 fields; the header has 6",
        "2026-11-16.csv:5:2: account_number: is not valid UTF-8",
    ] {
        assert!(report.contains(located), "{located} in:\n{report}");
    }
    let header = std::fs::read_to_string(drop.path().join("failed/2026-11-17.csv.report.txt")).unwrap();
    assert!(header.contains("2026-11-17.csv:1:1: header: expected column \"payment_id\""), "{header}");
    assert!(!drop.path().join("2026-11-16.csv").exists(), "moved out of the way");

    // A good file is reconciled and set aside with its report; a copy of it changes nothing.
    std::fs::write(drop.path().join("2026-11-16.csv"), file_of_each_kind(&w)).unwrap();
    let picked =
        reconcile_poll::poll_once(&app.db.db, &app.state.live, drop.path(), Duration::ZERO).await.expect("poll");
    assert_eq!(picked[0].outcome, "reconciled");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(drop.path().join("done/2026-11-16.csv.report.json")).unwrap())
            .unwrap();
    assert_eq!(json["report"]["run"]["counts"]["late"], 1);
    let after = snapshot(app).await;
    std::fs::write(drop.path().join("copy.csv"), file_of_each_kind(&w)).unwrap();
    let picked =
        reconcile_poll::poll_once(&app.db.db, &app.state.live, drop.path(), Duration::ZERO).await.expect("poll");
    assert_eq!(picked[0].outcome, "already_reconciled");
    assert_eq!(snapshot(app).await, after);
    // A file still being written is left for the next pass.
    std::fs::write(drop.path().join("fresh.csv"), HEADER).unwrap();
    let picked = reconcile_poll::poll_once(&app.db.db, &app.state.live, drop.path(), Duration::from_secs(60))
        .await
        .expect("poll");
    assert!(picked.is_empty());
}

#[tokio::test]
async fn the_command_line_reconciles_reports_and_exits_non_zero_on_a_bad_file() {
    let w = world().await;
    let app = &w.app;
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &Path, format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(["reconcile", &file.display().to_string(), "--format", format])
            .env("DOORSTEP_DATABASE_URL", &app.db.url)
            .env("DOORSTEP_LOG", "warn")
            .output()
            .expect("run doorstep")
    };
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEADER}pay_1,{},abc,web,2026-11-16T09:00:00Z,\n", w.a.account_number)).unwrap();
    let out = run(&bad, "text");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:2:3: amount_pence"), "{err}");
    assert_eq!(count(app, "reconciliation_run").await, 0);

    let good = dir.path().join("2026-11-16.csv");
    std::fs::write(&good, file_of_each_kind(&w)).unwrap();
    let out = run(&good, "json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["outcome"], "reconciled");
    assert_eq!(json["report"]["run"]["counts"]["exceptions"], 3);
    let codes: Vec<&str> = json["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(codes, ["amount_mismatch", "late", "unknown_account", "not_in_file"]);
    let out = run(&good, "csv");
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let out = run(&good, "text");
    assert!(String::from_utf8_lossy(&out.stdout).contains("already reconciled"));
    assert_eq!(count(app, "reconciliation_run").await, 1);
}

#[tokio::test]
async fn a_later_file_that_lists_a_missing_payment_settles_it_and_it_is_not_reported_twice() {
    let w = world().await;
    let app = &w.app;
    let a = &w.a.account_number;
    // Monday's file forgets pay_gone and pay_match.
    let first = reconcile_text(app, "mon.csv", &format!("{HEADER}pay_x,{a},100,web,2026-11-16T08:00:00Z,\n")).await;
    let items = items_by_payment(app, &w.income, first.run_id).await;
    assert_eq!(items["pay_gone"].0, "not_in_file");
    assert_eq!(items["pay_match"].0, "not_in_file");
    // A corrected file lists pay_match: the earlier item is settled, and pay_gone, already
    // reported, is not reported again.
    let second = reconcile_text(
        app,
        "mon-corrected.csv",
        &format!("{HEADER}pay_x,{a},100,web,2026-11-16T08:00:00Z,\npay_match,{a},1500,web,2026-11-16T09:00:00Z,\n"),
    )
    .await;
    assert_eq!(items_by_payment(app, &w.income, first.run_id).await["pay_match"].1, "resolved");
    assert_eq!(items_by_payment(app, &w.income, first.run_id).await["pay_gone"].1, "open");
    let later = items_by_payment(app, &w.income, second.run_id).await;
    assert_eq!(later.get("pay_match").map(|i| i.0.as_str()), Some("matched"));
    assert!(!later.contains_key("pay_gone"), "{later:?}");
}

#[tokio::test]
async fn payments_by_channel_add_up_to_the_ledger() {
    let w = world().await;
    let app = &w.app;
    notify(app, "pay_cash_tue", &w.c.account_number, 2500, "retail_cash", "2026-11-17T10:00:00Z").await;
    notify(app, "pay_web_next_week", &w.b.account_number, 1234, "web", "2026-11-23T10:00:00Z").await;
    let day =
        ok_json(app, &w.income, "/api/v1/staff/payments/by-channel?from=2026-11-15&to=2026-11-23&group=day").await;
    assert_eq!(day["periods"].as_array().unwrap().len(), 9);
    let ledger_total = scalar(
        app,
        "SELECT CAST(-SUM(amount_pence) AS BIGINT) AS n FROM ledger_entry WHERE kind = 'payment' \
         AND effective_date >= '2026-11-15' AND effective_date <= '2026-11-23'",
    )
    .await;
    assert_eq!(day["amount_pence"].as_i64(), Some(ledger_total));
    assert_eq!(ledger_total, 900 + 1500 + 2000 + 4100 + 2500 + 1234);
    assert_eq!(day["payments"], 6);
    let monday = &day["periods"][1];
    assert_eq!(monday["start"], "2026-11-16");
    assert_eq!((monday["payments"].as_i64(), monday["amount_pence"].as_i64()), (Some(3), Some(1500 + 2000 + 4100)));
    let web: i64 = day["totals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["channel"] == "web")
        .map(|t| t["amount_pence"].as_i64().unwrap())
        .sum();
    assert_eq!(web, 900 + 1500 + 1234);
    assert!(
        day["periods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["channels"].as_array().unwrap().len() == day["channels"].as_array().unwrap().len())
    );

    let week =
        ok_json(app, &w.income, "/api/v1/staff/payments/by-channel?from=2026-11-15&to=2026-11-23&group=week").await;
    let spans: Vec<(String, i64)> = week["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}..{}", p["start"].as_str().unwrap(), p["end"].as_str().unwrap()),
                p["amount_pence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("2026-11-15..2026-11-15".to_owned(), 900),
            ("2026-11-16..2026-11-22".to_owned(), 1500 + 2000 + 4100 + 2500),
            ("2026-11-23..2026-11-23".to_owned(), 1234),
        ]
    );
    let r = get(app, &w.income, "/api/v1/staff/payments/by-channel?from=2026-11-23&to=2026-11-15").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = get(app, &w.income, "/api/v1/staff/payments/by-channel?from=2026-11-15").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
