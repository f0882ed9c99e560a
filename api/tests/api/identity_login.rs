//! Signing in: no way to tell an unknown email from a wrong password, throttling per
//! address and per account, and a lockout that a tenant recovers from by waiting or that
//! staff lift.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::identity_support::*;
use crate::support::{TestApp, TestResponse};

async fn login_from(app: &TestApp, email: &str, password: &str, ip: &str) -> TestResponse {
    call(app, Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": password})), &[], Some(ip))
        .await
}

async fn lock(app: &TestApp) {
    for i in 0..10 {
        let r = login_from(app, "sam@example.com", "wrong guess here", &format!("10.2.0.{i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_look_the_same() {
    let app = TestApp::new().await;
    app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let email = staff(&app, "calder-riverside", "income").await;
    // Warm up: the first verification of an unknown user makes the dummy hash.
    login_from(&app, "warm@example.com", "whatever words", "10.1.0.1").await;

    let mut wrong_times = Vec::new();
    let mut unknown_times = Vec::new();
    let mut answers = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        let wrong = login_from(&app, &email, "not the password", &format!("10.1.1.{i}")).await;
        wrong_times.push(t.elapsed());
        let t = Instant::now();
        let unknown =
            login_from(&app, &format!("nobody{i}@example.com"), "not the password", &format!("10.1.2.{i}")).await;
        unknown_times.push(t.elapsed());
        answers.push((wrong.status, wrong.text(), wrong.headers.get("www-authenticate").cloned()));
        answers.push((unknown.status, unknown.text(), unknown.headers.get("www-authenticate").cloned()));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(answers[0].1.contains("invalid_credentials"));
    // Both paths do one argon2 verification: an unknown email is not answered much faster.
    let (w, u) = (median(wrong_times), median(unknown_times));
    assert!(u * 3 > w, "unknown email answered in {u:?}, wrong password in {w:?}");
}

#[tokio::test]
async fn ten_failures_pause_an_account_which_recovers_after_fifteen_minutes_or_when_staff_unlock() {
    let app = TestApp::new().await;
    let org = app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    app.add_org("pennine-vale", "Pennine Vale Homes", None).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", -500).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    tenant_with_sign_in(&app, &home, &cs, "sam@example.com", "kettle orchard lantern").await;
    let user_id = as_bearer(
        &app,
        &token(&app, "sam@example.com", "kettle orchard lantern").await,
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await
    .json()["user"]["id"]
        .as_i64()
        .unwrap();

    lock(&app).await;
    // Paused: the right password is refused, with the same answer as a wrong one.
    let paused = login_from(&app, "sam@example.com", "kettle orchard lantern", "10.2.1.1").await;
    assert_eq!(paused.status, StatusCode::UNAUTHORIZED);
    assert!(paused.json()["error"]["message"].as_str().unwrap().contains("15 minutes"));
    let admin = staff_token(&app, "calder-riverside", "admin").await;
    let audit = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=auth.lockout", None).await.json();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["object_id"], user_id.to_string());

    // Fifteen minutes pass.
    exec(
        &app.db.db,
        "UPDATE app_user SET locked_until = $1 WHERE id = $2",
        vec![(chrono::Utc::now() - chrono::Duration::seconds(1)).into(), user_id.into()],
    )
    .await;
    let r = login_from(&app, "sam@example.com", "kettle orchard lantern", "10.2.1.2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Lock again (the per-account counter's window passes too), then staff unlock.
    exec(&app.db.db, "DELETE FROM rate_limit", vec![]).await;
    lock(&app).await;
    assert_eq!(
        login_from(&app, "sam@example.com", "kettle orchard lantern", "10.2.1.3").await.status,
        StatusCode::UNAUTHORIZED
    );
    let pennine = staff_token(&app, "pennine-vale", "customer_service").await;
    let path = format!("/api/v1/staff/users/{user_id}/unlock");
    let r = as_bearer(&app, &pennine, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another landlord's staff cannot even see the user");
    let r = as_bearer(&app, &cs, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = login_from(&app, "sam@example.com", "kettle orchard lantern", "10.2.1.4").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let app = TestApp::new().await;
    app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let email = staff(&app, "calder-riverside", "repairs").await;

    // Per account, from many addresses; an unknown email is throttled the same way.
    for target in [email.as_str(), "nobody@example.com"] {
        for i in 0..20 {
            let r = login_from(&app, target, "wrong guess here", &format!("10.3.{}.{i}", target.len())).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{target} #{i}: {}", r.text());
        }
        let r = login_from(&app, target, STAFF_PASSWORD, "10.3.9.9").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{target}: {}", r.text());
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 900);
    }

    // Per address, across many accounts.
    for i in 0..50 {
        let r = login_from(&app, &format!("spray{i}@example.com"), "wrong guess here", "10.4.0.1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "#{i}");
    }
    let r = login_from(&app, "spray99@example.com", "wrong guess here", "10.4.0.1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    // Another address is not affected.
    let still = app.request(Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": "x"}))).await;
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS, "this account is still throttled from before");
    let other = staff(&app, "calder-riverside", "income").await;
    let r = login_from(&app, &other, STAFF_PASSWORD, "10.4.0.2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn login_names_missing_fields() {
    let app = TestApp::new().await;
    let r = app.request(Method::POST, "/api/v1/auth/login", Some(json!({"email": "", "password": "x"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "email");
    let r =
        app.request(Method::POST, "/api/v1/auth/login", Some(json!({"email": "a@example.com", "password": ""}))).await;
    assert_eq!(r.json()["error"]["details"]["field"], "password");
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "a@example.com", "password": "x", "client": "tv"})),
        )
        .await;
    assert_eq!(r.json()["error"]["details"]["field"], "client");
}

#[tokio::test]
async fn demo_sign_ins_work_and_can_be_made_again() {
    let app = TestApp::new().await;
    let group = app.add_org("pennine-vale", "Pennine Vale Housing Group", None).await;
    let sub = app.add_org("calder-riverside", "Calder Riverside Housing", Some(group)).await;
    home(&app.db.db, sub, "Ann", "Adams", "HX1 2AB", 45_000).await;
    home(&app.db.db, sub, "Bob", "Brown", "HX1 3CD", -1_200).await;
    home(&app.db.db, group, "Cat", "Cole", "HX1 4EF", 0).await;

    let made = doorstep::domain::identity::demo::create_demo_users(&app.db.db).await.expect("demo users");
    let again = doorstep::domain::identity::demo::create_demo_users(&app.db.db).await.expect("demo users again");
    assert_eq!(made, again, "running it twice gives the same sign-ins");
    let roles: Vec<&str> = made.iter().map(|(_, _, what)| what.as_str()).collect();
    assert_eq!(made.len(), 5, "{roles:?}");
    for (email, password, what) in &made {
        let t = token(&app, email, password).await;
        let me = as_bearer(&app, &t, Method::GET, "/api/v1/me", None).await.json();
        if what.contains("arrears") {
            assert_eq!(me["tenancies"][0]["accounts"][0]["balance_state"], "in_arrears", "{me}");
        } else if what.contains("credit") {
            assert_eq!(me["tenancies"][0]["accounts"][0]["balance_state"], "in_credit", "{me}");
        } else if what.starts_with("admin") {
            assert_eq!(me["staff"]["organisations_in_scope"], json!(["pennine-vale", "calder-riverside"]), "{me}");
        } else {
            assert_eq!(me["staff"]["role"], "customer_service", "{me}");
        }
    }
}
