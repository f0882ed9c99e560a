//! Tenants and staff reading rent accounts over REST and GraphQL.

use axum::http::{Method, StatusCode};
use doorstep::domain::ledger::{self, EntryKind, NewEntry};
use doorstep_shared::Money;
use sea_orm::TransactionTrait;

use crate::fixtures::date;
use crate::identity_support::*;
use crate::support::TestApp;

async fn post(app: &TestApp, account_id: i64, kind: EntryKind, pence: i64, day: &str, key: &str, desc: &str) {
    let txn = app.db.db.begin().await.unwrap();
    let entry = NewEntry {
        kind,
        amount: Money::from_pence(pence),
        effective_date: date(day),
        description: desc.into(),
        source: "test".into(),
        source_ref: key.into(),
        channel: (kind == EntryKind::Payment).then_some(ledger::Channel::RetailCash),
    };
    ledger::post(&txn, account_id, entry).await.unwrap();
    txn.commit().await.unwrap();
}

/// Two tenancies in one landlord, a tenant signed in on the first, 12 weeks of history.
async fn setup() -> (TestApp, Home, Home, String, String) {
    let app = TestApp::new().await;
    let org = app.add_org("pennine-vale-homes", "Pennine Vale Homes", None).await;
    let a = home(&app.db.db, org, "Amira", "Okafor", "HX1 2AB", 0).await;
    let b = home(&app.db.db, org, "Ben", "Walsh", "HX3 5QT", 0).await;
    for w in 0..12 {
        let day = (date("2026-04-06") + chrono::Duration::weeks(w)).to_string();
        post(&app, a.account_id, EntryKind::Charge, 10250, &day, &format!("c{w}"), "Rent").await;
        if w % 4 == 3 {
            post(&app, a.account_id, EntryKind::UniversalCredit, -30000, &day, &format!("uc{w}"), "Universal Credit")
                .await;
        }
    }
    post(&app, a.account_id, EntryKind::Payment, -2500, "2026-06-20", "cash", "Cash at a PayPoint shop").await;
    let staff = staff_token(&app, "pennine-vale-homes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &a, &staff, "amira@example.com", "violet kettle morning tide").await;
    (app, a, b, tenant, staff)
}

#[tokio::test]
async fn a_tenant_reads_their_account_and_only_theirs() {
    let (app, a, b, tenant, staff) = setup().await;
    let r = as_bearer(&app, &tenant, Method::GET, &format!("/api/v1/accounts/{}", a.account_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    // 12 × £102.50 − 3 × £300 − £25 = £305.00 owed.
    assert_eq!(body["balance_pence"], 30500);
    assert_eq!(body["balance_state"], "in_arrears");
    assert_eq!(body["balance_text"], "£305.00 in arrears");
    assert_eq!(body["last_transaction_date"], "2026-06-22");
    assert_eq!(body["recent"].as_array().unwrap().len(), 3);
    assert_eq!(body["recent"][0]["date"], "2026-06-22");

    for path in [
        format!("/api/v1/accounts/{}", b.account_id),
        format!("/api/v1/accounts/{}/transactions", b.account_id),
        format!("/api/v1/accounts/{}/statement?format=csv", b.account_id),
        "/api/v1/accounts/999999".to_owned(),
    ] {
        let r = as_bearer(&app, &tenant, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // The landlord's staff see any of its accounts.
    let r = as_bearer(&app, &staff, Method::GET, &format!("/api/v1/accounts/{}", b.account_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn history_is_newest_first_with_benefits_as_their_own_lines() {
    let (app, a, _, tenant, _) = setup().await;
    let mut url = format!("/api/v1/accounts/{}/transactions?limit=5&from=2026-05-01", a.account_id);
    let mut lines = Vec::new();
    loop {
        let r = as_bearer(&app, &tenant, Method::GET, &url, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let body = r.json();
        lines.extend(body["items"].as_array().unwrap().clone());
        match body["next_cursor"].as_str() {
            Some(c) => {
                url = format!("/api/v1/accounts/{}/transactions?limit=5&from=2026-05-01&cursor={c}", a.account_id)
            }
            None => break,
        }
    }
    assert!(lines.iter().all(|l| l["date"].as_str().unwrap() >= "2026-05-01"));
    assert_eq!(lines[0]["date"], "2026-06-22");
    // The cash on 20 June was posted last but reads in date order: the newest line's
    // running balance is the account's balance, and each line below differs by its amount.
    assert_eq!(lines[0]["balance_after_pence"], 30500);
    for w in lines.windows(2) {
        assert_eq!(
            w[1]["balance_after_pence"].as_i64().unwrap(),
            w[0]["balance_after_pence"].as_i64().unwrap() - w[0]["amount_pence"].as_i64().unwrap()
        );
    }
    assert!(lines.iter().any(|l| l["kind"] == "universal_credit" && l["amount_pence"] == -30000));
    let cash = lines.iter().find(|l| l["kind"] == "payment").unwrap();
    assert_eq!(cash["channel"], "retail_cash");

    let r = as_bearer(
        &app,
        &tenant,
        Method::GET,
        &format!("/api/v1/accounts/{}/transactions?from=2026-07-01&to=2026-06-01", a.account_id),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "from");
}

#[tokio::test]
async fn statements_carry_the_right_totals_in_csv_and_pdf() {
    let (app, a, _, tenant, _) = setup().await;
    let base = format!("/api/v1/accounts/{}/statement?from=2026-05-04&to=2026-05-31", a.account_id);
    let r = as_bearer(&app, &tenant, Method::GET, &format!("{base}&format=csv"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text();
    // Before 4 May: 4 charges (£410) − one UC (£300) = £110 owed.
    assert!(csv.contains("Opening balance,110.00,£110.00 in arrears"), "{csv}");
    // 4–31 May: charges on 4, 11, 18, 25 May (£410) and UC on 25 May (−£300) → £220.
    assert!(csv.contains("Closing balance,220.00,£220.00 in arrears"), "{csv}");
    assert!(csv.contains("2026-05-25,Universal Credit,universal_credit,,-300.00"), "{csv}");

    let r = as_bearer(&app, &tenant, Method::GET, &base, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/pdf");
    let text = pdf_text(&r.body);
    assert!(text.contains("Pennine Vale Homes"), "{text}");
    assert!(text.contains(&a.account_number), "{text}");
    assert!(text.contains("£110.00 in arrears"), "opening balance: {text}");
    assert!(text.contains("£220.00 in arrears"), "closing balance: {text}");
    assert!(text.contains("£410.00"), "charges total: {text}");
    assert!(text.contains("£300.00"), "credits total: {text}");
    assert!(text.contains("How to pay"), "{text}");
    assert!(text.contains("Ms Amira Okafor") || text.contains("Amira Okafor"), "{text}");
    // It renders: one A4 page with print on it, not a blank or broken page.
    let ink = pdf_rendered_ink(&r.body);
    assert_eq!(ink.len(), 1, "one page");
    assert!(ink[0] > 0.005 && ink[0] < 0.5, "share of dark pixels on the page: {}", ink[0]);

    // No dates: last financial year's annual statement.
    let r =
        as_bearer(&app, &tenant, Method::GET, &format!("/api/v1/accounts/{}/statement?format=csv", a.account_id), None)
            .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Period,2025-04-01,2026-03-31"), "{}", r.text());
}

#[tokio::test]
async fn a_long_statement_runs_over_pages() {
    let (app, a, _, tenant, _) = setup().await;
    for i in 0..120 {
        post(&app, a.account_id, EntryKind::Adjustment, 1, "2026-07-01", &format!("adj{i}"), "Rounding").await;
    }
    let r = as_bearer(
        &app,
        &tenant,
        Method::GET,
        &format!("/api/v1/accounts/{}/statement?from=2026-04-01&to=2026-07-31", a.account_id),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = pdf_text(&r.body);
    assert!(text.contains("Page 1 of 4"), "{text}");
    assert!(text.contains("Page 4 of 4"), "{text}");
    assert!(text.contains("£306.20 in arrears"), "closing after 120 × 1p: {text}");
    let ink = pdf_rendered_ink(&r.body);
    assert_eq!(ink.len(), 4, "four pages render");
    assert!(ink.iter().all(|&d| d > 0.002 && d < 0.5), "every page has print on it: {ink:?}");
}

#[tokio::test]
async fn arrears_list_for_income_staff_of_the_landlord_only() {
    let (app, a, _, tenant, _) = setup().await;
    let other = app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let c = home(&app.db.db, other, "Cai", "Jones", "HD1 1AA", 0).await;
    post(&app, c.account_id, EntryKind::Charge, 99999, "2026-06-01", "big", "Rent").await;
    let income = staff_token(&app, "pennine-vale-homes", "income").await;
    let r = as_bearer(&app, &income, Method::GET, "/api/v1/staff/arrears", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["account_id"], a.account_id);
    assert_eq!(items[0]["tenant_name"], "Amira Okafor");
    // Universal Credit on 22 June is the latest money in, after the cash on 20 June.
    assert_eq!(items[0]["last_payment_date"], "2026-06-22");

    let r = as_bearer(&app, &tenant, Method::GET, "/api/v1/staff/arrears", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = as_bearer(&app, &income, Method::GET, "/api/v1/staff/arrears?organisation=calder-riverside", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graphql_reads_accounts_through_the_same_policy() {
    let (app, a, b, tenant, _) = setup().await;
    let q = format!("{{ account(id: {}) {{ balancePence balanceText recent {{ date kind }} }} }}", a.account_id);
    let r = graphql_as(&app, Some(&tenant), &q).await;
    assert_eq!(r["data"]["account"]["balancePence"], 30500, "{r}");
    let q =
        format!("{{ accountTransactions(id: {}, limit: 2) {{ items {{ amountPence }} nextCursor }} }}", a.account_id);
    let r = graphql_as(&app, Some(&tenant), &q).await;
    assert_eq!(r["data"]["accountTransactions"]["items"].as_array().unwrap().len(), 2, "{r}");
    let q = format!("{{ account(id: {}) {{ balancePence }} }}", b.account_id);
    let r = graphql_as(&app, Some(&tenant), &q).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "not_found", "{r}");
    let r = graphql_as(&app, None, &q).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "unauthorized", "{r}");
}
