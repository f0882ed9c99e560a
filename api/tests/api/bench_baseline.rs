//! The bench-only baseline account summary (`http::bench_baseline`): not there unless it is
//! switched on, never in the API document, and when on, the same answer as the real route.

use axum::http::{Method, StatusCode};
use doorstep::domain::ledger::{self, EntryKind, NewEntry};
use doorstep_shared::Money;
use sea_orm::TransactionTrait;

use crate::fixtures::date;
use crate::identity_support::*;
use crate::support::TestApp;

async fn post(app: &TestApp, account_id: i64, kind: EntryKind, pence: i64, day: &str, key: &str) {
    let txn = app.db.db.begin().await.unwrap();
    let entry = NewEntry {
        kind,
        amount: Money::from_pence(pence),
        effective_date: date(day),
        description: format!("Line {key}"),
        source: "test".into(),
        source_ref: key.into(),
        channel: (kind == EntryKind::Payment).then_some(ledger::Channel::RetailCash),
    };
    ledger::post(&txn, account_id, entry).await.unwrap();
    txn.commit().await.unwrap();
}

/// A landlord with one account that has eight weeks of rent and a cash payment posted last
/// but dated before the newest charge (so posting order and date order differ), and one
/// account with no lines at all.
async fn setup(app: &TestApp) -> (Home, Home) {
    let org = app.add_org("pennine-vale-homes", "Pennine Vale Homes", None).await;
    let a = home(&app.db.db, org, "Amira", "Okafor", "HX1 2AB", 0).await;
    let empty = home(&app.db.db, org, "Ben", "Walsh", "HX3 5QT", 0).await;
    for w in 0..8 {
        let day = (date("2026-04-06") + chrono::Duration::weeks(w)).to_string();
        post(app, a.account_id, EntryKind::Charge, 10250, &day, &format!("c{w}")).await;
    }
    post(app, a.account_id, EntryKind::Payment, -2500, "2026-05-20", "cash").await;
    (a, empty)
}

fn baseline_path(account_id: i64) -> String {
    format!("/api/bench-baseline/accounts/{account_id}")
}

#[tokio::test]
async fn without_the_setting_the_baseline_is_not_there() {
    let app = TestApp::new().await;
    let (a, _) = setup(&app).await;
    let r = app.get(&baseline_path(a.account_id)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "not_found");
    // The real route is there, and wants a sign-in.
    let r = app.get(&format!("/api/v1/accounts/{}", a.account_id)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn switched_on_it_answers_exactly_what_the_real_route_does() {
    let app = TestApp::new_with(|c| c.bench_baseline = true).await;
    let (a, empty) = setup(&app).await;
    let staff = staff_token(&app, "pennine-vale-homes", "customer_service").await;

    for account in [&a, &empty] {
        let real =
            as_bearer(&app, &staff, Method::GET, &format!("/api/v1/accounts/{}", account.account_id), None).await;
        assert_eq!(real.status, StatusCode::OK, "{}", real.text());
        // No sign-in: the baseline skips every layer, authorisation included.
        let base = app.get(&baseline_path(account.account_id)).await;
        assert_eq!(base.status, StatusCode::OK, "{}", base.text());
        let (real, base) = (real.json(), base.json());
        assert_eq!(base["balance_pence"], real["balance_pence"]);
        assert_eq!(base, real, "the baseline's JSON is the real route's");
    }

    // 8 × £102.50 − £25.00 = £795.00 owed, and the newest line (by date) shows it, even
    // though the payment was posted after it.
    let base = app.get(&baseline_path(a.account_id)).await.json();
    assert_eq!(base["balance_pence"], 79500);
    assert_eq!(base["balance_text"], "£795.00 in arrears");
    let recent = base["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 3);
    assert_eq!(recent[0]["date"], "2026-05-25");
    assert_eq!(recent[0]["balance_after_pence"], 79500);
    assert_eq!(recent[1]["date"], "2026-05-20");
    assert_eq!(recent[1]["amount_pence"], -2500);
    assert_eq!(recent[1]["balance_after_pence"], 79500 - 10250);

    let none = app.get(&baseline_path(a.account_id + 1000)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    // Never part of the published API, switched on or not.
    let doc = app.get("/api/v1/openapi.json").await.text();
    assert!(!doc.contains("bench"), "the OpenAPI document mentions the baseline");
}

#[tokio::test]
async fn it_stays_off_when_the_server_listens_beyond_this_machine() {
    let app = TestApp::new_with(|c| {
        c.bench_baseline = true;
        c.addr = "0.0.0.0:8080".parse().unwrap();
    })
    .await;
    let (a, _) = setup(&app).await;
    let r = app.get(&baseline_path(a.account_id)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}
