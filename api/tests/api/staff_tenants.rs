//! Staff finding a tenant (`GET /staff/tenants?q=`) and reading their tenancy
//! (`GET /staff/tenants/{id}`), over REST and GraphQL: what they find, and who finds nothing.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use doorstep::domain::ledger::{self, EntryKind, NewEntry};
use doorstep::entity::{person, rent_account, tenancy_member};
use doorstep_shared::Money;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};
use serde_json::{Value, json};

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

async fn joint_tenant(app: &TestApp, org_id: i64, tenancy_id: i64, forename: &str, surname: &str) {
    let p = person::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(format!("JOINT-{tenancy_id}-{surname}")),
        title: Set(Some("Mr".into())),
        forename: Set(forename.into()),
        surname: Set(surname.into()),
        phone: Set(Some("07700 900123".into())),
        ..Default::default()
    }
    .insert(&app.db.db)
    .await
    .unwrap();
    tenancy_member::ActiveModel {
        tenancy_id: Set(tenancy_id),
        person_id: Set(p.id),
        role: Set("joint".into()),
        ..Default::default()
    }
    .insert(&app.db.db)
    .await
    .unwrap();
}

async fn garage_account(app: &TestApp, org_id: i64, tenancy_id: i64, number: &str) -> i64 {
    rent_account::ActiveModel {
        organisation_id: Set(org_id),
        tenancy_id: Set(tenancy_id),
        hms_ref: Set(format!("GAR-{number}")),
        account_number: Set(number.into()),
        kind: Set("garage".into()),
        weekly_charge_pence: Set(1_200),
        balance_pence: Set(0),
        version: Set(0),
        opened_on: Set(NaiveDate::from_ymd_opt(2020, 1, 6).unwrap()),
        ..Default::default()
    }
    .insert(&app.db.db)
    .await
    .unwrap()
    .id
}

struct World {
    app: TestApp,
    pennine: i64,
    /// Pennine: Ms Amira Okafor (and Mr Kofi Mensah), 14 Rosemary Terrace, HX1 2AB.
    a: Home,
    /// Pennine: Ms Ben Walsh, HX3 5QT.
    b: Home,
    /// Calder, Pennine's subsidiary: Ms Cai Jones.
    c: Home,
    /// Birch, another landlord: Ms Dee Okafor.
    d: Home,
    garage_id: i64,
    /// Customer service at Pennine.
    cs: String,
    /// Amira's own sign-in.
    tenant: String,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let pennine = app.add_org("pennine-vale-homes", "Pennine Vale Homes", None).await;
    let calder = app.add_org("calder-riverside", "Calder Riverside Housing", Some(pennine)).await;
    let birch = app.add_org("birch-homes", "Birch Homes", None).await;
    let a = home(&app.db.db, pennine, "Amira", "Okafor", "HX1 2AB", 0).await;
    let b = home(&app.db.db, pennine, "Ben", "Walsh", "HX3 5QT", 0).await;
    let c = home(&app.db.db, calder, "Cai", "Jones", "HD1 1AA", 0).await;
    let d = home(&app.db.db, birch, "Dee", "Okafor", "LS9 8AB", 0).await;
    exec(
        &app.db.db,
        "UPDATE property SET address_line1 = $1 WHERE id = $2",
        vec!["14 Rosemary Terrace".into(), a.property_id.into()],
    )
    .await;
    joint_tenant(&app, pennine, a.tenancy_id, "Kofi", "Mensah").await;
    for w in 0..8 {
        let day = (date("2026-04-06") + chrono::Duration::weeks(w)).to_string();
        post(&app, a.account_id, EntryKind::Charge, 10_250, &day, &format!("c{w}"), "Rent").await;
    }
    post(&app, a.account_id, EntryKind::HousingBenefit, -20_000, "2026-05-04", "hb1", "Housing Benefit").await;
    post(&app, a.account_id, EntryKind::Payment, -2_500, "2026-05-30", "cash", "Cash at a PayPoint shop").await;
    let garage_id = garage_account(&app, pennine, a.tenancy_id, "88001234").await;
    post(&app, garage_id, EntryKind::Payment, -3_600, "2026-05-01", "g1", "Garage, paid ahead").await;
    let cs = staff_token(&app, "pennine-vale-homes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &a, &cs, "amira@example.com", "violet kettle morning tide").await;
    World { app, pennine, a, b, c, d, garage_id, cs, tenant }
}

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let path = format!("/api/v1/staff/tenants?q={}", urlencode(q));
    let r = as_bearer(app, token, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn tenancy_ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["tenancy_id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn staff_find_a_tenant_by_name_postcode_account_number_and_street() {
    let w = world().await;
    let a = w.a.tenancy_id;
    for q in [
        "okafor",
        "OKAFOR",
        "Amira Okafor",
        "mensah",
        "HX1 2AB",
        "hx12ab",
        w.a.account_number.as_str(),
        "88001234",
        "Rosemary Terrace",
        "14 rosemary",
        "rosemary, hx1",
        w.a.tenancy_ref.as_str(),
    ] {
        assert_eq!(tenancy_ids(&search(&w.app, &w.cs, q).await), vec![a], "search {q:?}");
    }
    assert_eq!(tenancy_ids(&search(&w.app, &w.cs, "walsh").await), vec![w.b.tenancy_id]);
    // Every word must match: Amira does not live in HX3.
    assert!(search(&w.app, &w.cs, "okafor hx3").await.is_empty());
    assert!(search(&w.app, &w.cs, "nobody-called-this").await.is_empty());
    // LIKE's wildcards are searched for as themselves.
    assert!(search(&w.app, &w.cs, "%%").await.is_empty());
    assert!(search(&w.app, &w.cs, "__").await.is_empty());

    let row = &search(&w.app, &w.cs, "okafor").await[0];
    assert_eq!(row["tenants"], json!(["Ms Amira Okafor", "Mr Kofi Mensah"]));
    assert_eq!(row["address"], json!(["14 Rosemary Terrace", "Sowerby Bridge", "Halifax", "HX1 2AB"]));
    assert_eq!(row["organisation"], "pennine-vale-homes");
    assert_eq!(row["tenancy_ref"], w.a.tenancy_ref.as_str());
    // 8 × £102.50 − £200 housing benefit − £25 cash = £595.00 owed; the garage is £36 ahead.
    assert_eq!(row["accounts"][0]["account_number"], w.a.account_number.as_str());
    assert_eq!(row["accounts"][0]["balance_pence"], 59_500);
    assert_eq!(row["accounts"][0]["balance_text"], "£595.00 in arrears");
    assert_eq!(row["accounts"][1]["kind_label"], "Garage");
    assert_eq!(row["accounts"][1]["balance_text"], "£36.00 in credit");
}

#[tokio::test]
async fn staff_see_the_tenancy_with_its_people_home_officer_and_accounts() {
    let w = world().await;
    let r = as_bearer(&w.app, &w.cs, Method::GET, &format!("/api/v1/staff/tenants/{}", w.a.tenancy_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.json();
    assert_eq!(t["reference"], w.a.tenancy_ref.as_str());
    assert_eq!(t["organisation_name"], "Pennine Vale Homes");
    assert_eq!(t["people"][0]["name"], "Ms Amira Okafor");
    assert_eq!(t["people"][0]["role"], "lead");
    assert_eq!(t["people"][0]["has_sign_in"], true);
    assert_eq!(t["people"][1]["name"], "Mr Kofi Mensah");
    assert_eq!(t["people"][1]["role"], "joint");
    assert_eq!(t["people"][1]["has_sign_in"], false);
    assert_eq!(t["people"][1]["phone"], "07700 900123");
    assert_eq!(t["property"]["address_line1"], "14 Rosemary Terrace");
    assert_eq!(t["property"]["postcode"], "HX1 2AB");
    assert!(t["housing_officer"]["name"].as_str().unwrap().starts_with("Officer "), "{t}");

    let rent = &t["accounts"][0];
    assert_eq!(rent["id"], w.a.account_id);
    assert_eq!(rent["balance_text"], "£595.00 in arrears");
    assert_eq!(rent["balance_state"], "in_arrears");
    assert_eq!(rent["last_transaction_date"], "2026-05-30");
    let recent = rent["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 3);
    assert_eq!(recent[0]["date"], "2026-05-30");
    assert_eq!(recent[0]["kind"], "payment");
    assert_eq!(recent[1]["kind"], "charge");
    assert_eq!(recent[1]["date"], "2026-05-25");
    assert_eq!(recent[0]["balance_after_pence"], 59_500);
    let garage = &t["accounts"][1];
    assert_eq!(garage["id"], w.garage_id);
    assert_eq!(garage["balance_state"], "in_credit");
    assert_eq!(garage["balance_text"], "£36.00 in credit");

    // Staff see the balance the tenant sees.
    let own = as_bearer(&w.app, &w.tenant, Method::GET, &format!("/api/v1/accounts/{}", w.a.account_id), None).await;
    assert_eq!(own.json()["balance_text"], rent["balance_text"]);
}

#[tokio::test]
async fn another_landlords_staff_tenants_and_strangers_get_nothing() {
    let w = world().await;
    let path_a = format!("/api/v1/staff/tenants/{}", w.a.tenancy_id);
    let birch = staff_token(&w.app, "birch-homes", "admin").await;
    // Birch's own Okafor, and nothing of Pennine's.
    let found = search(&w.app, &birch, "okafor").await;
    assert_eq!(tenancy_ids(&found), vec![w.d.tenancy_id]);
    assert!(search(&w.app, &birch, "rosemary").await.is_empty());
    assert!(search(&w.app, &birch, &w.a.account_number).await.is_empty());
    let r = as_bearer(&w.app, &birch, Method::GET, &path_a, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!r.text().contains("Okafor"));

    // A tenant is not staff: the search is refused and the tenancy, even their own, is not there.
    let r = as_bearer(&w.app, &w.tenant, Method::GET, "/api/v1/staff/tenants?q=okafor", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = as_bearer(&w.app, &w.tenant, Method::GET, &path_a, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // Repairs staff work from repairs, not the customer information screen.
    let repairs = staff_token(&w.app, "pennine-vale-homes", "repairs").await;
    let r = as_bearer(&w.app, &repairs, Method::GET, "/api/v1/staff/tenants?q=okafor", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    for path in ["/api/v1/staff/tenants?q=okafor", path_a.as_str()] {
        let r = w.app.get(path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.headers.contains_key("www-authenticate"));
    }
    // Unknown ids answer as unseen ones do.
    let r = as_bearer(&w.app, &w.cs, Method::GET, "/api/v1/staff/tenants/999999", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_group_admin_sees_the_subsidiaries_and_their_staff_see_only_their_own() {
    let w = world().await;
    let group_admin = staff_token(&w.app, "pennine-vale-homes", "admin").await;
    assert_eq!(tenancy_ids(&search(&w.app, &group_admin, "jones").await), vec![w.c.tenancy_id]);
    let r =
        as_bearer(&w.app, &group_admin, Method::GET, &format!("/api/v1/staff/tenants/{}", w.c.tenancy_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["organisation"], "calder-riverside");
    // Customer service at the group's head works the head's tenancies only.
    assert!(search(&w.app, &w.cs, "jones").await.is_empty());

    let calder = staff_token(&w.app, "calder-riverside", "customer_service").await;
    assert_eq!(tenancy_ids(&search(&w.app, &calder, "jones").await), vec![w.c.tenancy_id]);
    assert!(search(&w.app, &calder, "okafor").await.is_empty());
    let r = as_bearer(&w.app, &calder, Method::GET, &format!("/api/v1/staff/tenants/{}", w.a.tenancy_id), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A new API key of the admin's organisation, as an `Authorization` header value.
async fn api_key(app: &TestApp, admin: &str, scopes: &[&str]) -> String {
    let body = json!({"name": format!("lookup {scopes:?}"), "scopes": scopes});
    let r = as_bearer(app, admin, Method::POST, "/api/v1/staff/api-keys", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    format!("ApiKey {}", r.json()["key"].as_str().unwrap())
}

#[tokio::test]
async fn api_keys_need_tenants_read() {
    let w = world().await;
    let admin = staff_token(&w.app, "pennine-vale-homes", "admin").await;
    let reader = api_key(&w.app, &admin, &["tenants:read"]).await;
    let other = api_key(&w.app, &admin, &["registrations:read"]).await;
    let r =
        call(&w.app, Method::GET, "/api/v1/staff/tenants?q=okafor", None, &[("authorization", &reader)], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(tenancy_ids(r.json()["items"].as_array().unwrap()), vec![w.a.tenancy_id]);
    let r = call(&w.app, Method::GET, "/api/v1/staff/tenants?q=okafor", None, &[("authorization", &other)], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let path = format!("/api/v1/staff/tenants/{}", w.a.tenancy_id);
    let r = call(&w.app, Method::GET, &path, None, &[("authorization", &other)], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

#[tokio::test]
async fn results_come_in_pages_current_tenancies_first() {
    let w = world().await;
    let mut more = Vec::new();
    for (forename, postcode) in [("Ada", "HX2 7AA"), ("Efe", "HX2 7AB"), ("Ike", "HX2 7AC")] {
        more.push(home(&w.app.db.db, w.pennine, forename, "Okafor", postcode, 0).await);
    }
    // Ada's tenancy has ended: she comes after every current one.
    exec(
        &w.app.db.db,
        "UPDATE tenancy SET end_date = $1 WHERE id = $2",
        vec![date("2025-03-31").into(), more[0].tenancy_id.into()],
    )
    .await;
    let mut seen = Vec::new();
    let mut url = "/api/v1/staff/tenants?q=okafor&limit=1".to_owned();
    loop {
        let r = as_bearer(&w.app, &w.cs, Method::GET, &url, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap().clone();
        assert!(items.len() <= 1);
        seen.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/staff/tenants?q=okafor&limit=1&cursor={c}"),
            None => break,
        }
        assert!(seen.len() < 10, "the pages never end");
    }
    assert_eq!(tenancy_ids(&seen), vec![w.a.tenancy_id, more[1].tenancy_id, more[2].tenancy_id, more[0].tenancy_id]);
    assert_eq!(seen[3]["end_date"], "2025-03-31");
}

#[tokio::test]
async fn a_search_that_cannot_run_names_its_field() {
    let w = world().await;
    for (path, field) in [
        ("/api/v1/staff/tenants", "q"),
        ("/api/v1/staff/tenants?q=", "q"),
        ("/api/v1/staff/tenants?q=a", "q"),
        ("/api/v1/staff/tenants?q=okafor&limit=0", "limit"),
        ("/api/v1/staff/tenants?q=okafor&limit=101", "limit"),
        ("/api/v1/staff/tenants?q=okafor&cursor=not-ours", "cursor"),
        ("/api/v1/staff/tenants?q=ok%00afor", "q"),
    ] {
        let r = as_bearer(&w.app, &w.cs, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["details"]["field"], field, "{path}: {}", r.text());
    }
    let long = "x".repeat(101);
    let r = as_bearer(&w.app, &w.cs, Method::GET, &format!("/api/v1/staff/tenants?q={long}"), None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn graphql_finds_tenants_through_the_same_policy() {
    let w = world().await;
    let q = "{ staffTenants(q: \"okafor\") { items { tenancyId tenants accounts { balanceText } } nextCursor } }";
    let r = graphql_as(&w.app, Some(&w.cs), q).await;
    assert_eq!(r["data"]["staffTenants"]["items"][0]["tenancyId"], w.a.tenancy_id, "{r}");
    assert_eq!(r["data"]["staffTenants"]["items"][0]["accounts"][0]["balanceText"], "£595.00 in arrears", "{r}");
    assert_eq!(r["data"]["staffTenants"]["items"].as_array().unwrap().len(), 1, "{r}");

    let one = format!(
        "{{ staffTenant(id: {}) {{ reference people {{ name role hasSignIn }} housingOfficer {{ name }} \
         accounts {{ accountNumber balanceText lastTransactionDate recent {{ date kind }} }} }} }}",
        w.a.tenancy_id
    );
    let r = graphql_as(&w.app, Some(&w.cs), &one).await;
    let t = &r["data"]["staffTenant"];
    assert_eq!(t["people"][0]["name"], "Ms Amira Okafor", "{r}");
    assert_eq!(t["accounts"][0]["balanceText"], "£595.00 in arrears", "{r}");
    assert_eq!(t["accounts"][0]["recent"].as_array().unwrap().len(), 3, "{r}");

    let birch = staff_token(&w.app, "birch-homes", "customer_service").await;
    let r = graphql_as(&w.app, Some(&birch), &one).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "not_found", "{r}");
    assert!(r["data"].is_null() || r["data"]["staffTenant"].is_null(), "{r}");
    let r = graphql_as(&w.app, Some(&w.tenant), q).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "forbidden", "{r}");
    let r = graphql_as(&w.app, None, q).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "unauthorized", "{r}");
    let r = graphql_as(&w.app, Some(&w.cs), "{ staffTenants(q: \"x\") { items { tenancyId } } }").await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "validation_failed", "{r}");
}
