//! Registration end to end: request → staff validate → PIN letter (read with pdftotext, as
//! a tenant reads it) → activate → sign in → `/me`; and the ways it must fail closed.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::identity_support::*;
use crate::support::TestApp;

async fn landlord(app: &TestApp) -> i64 {
    app.add_org("calder-riverside", "Calder Riverside Housing", None).await
}

#[tokio::test]
async fn register_validate_letter_activate_sign_in_and_see_me() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Siobhan", "O'Connor", "HX1 2AB", 12_345).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;

    // The tenant asks, typing the surname and postcode their own way.
    let r = app
        .request(
            Method::POST,
            "/api/v1/registrations",
            Some(json!({
                "account_number": format!(" {} ", home.account_number),
                "surname": "o connor",
                "postcode": "hx12ab",
                "email": "Siobhan@Example.com",
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["status"], "received");

    // Staff see it beside the tenancy it matched.
    let r = as_bearer(&app, &cs, Method::GET, "/api/v1/staff/registrations?status=pending", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let queue = r.json();
    let item = &queue["items"][0];
    assert_eq!(item["status"], "pending");
    assert_eq!(item["submitted"]["surname"], "o connor");
    assert_eq!(item["submitted"]["email"], "siobhan@example.com");
    assert_eq!(item["matched"]["tenancy_ref"], home.tenancy_ref.as_str());
    assert_eq!(item["matched"]["account_number"], home.account_number.as_str());
    assert_eq!(item["matched"]["postcode"], "HX1 2AB");
    assert_eq!(item["matched"]["tenants"][0], "Ms Siobhan O'Connor");
    assert_eq!(item["matched"]["already_registered"], false);
    assert!(item["matched"]["address"].as_array().unwrap().iter().any(|l| l == home.address_line1.as_str()));
    let id = item["id"].as_i64().unwrap();

    // Validate: the answer never holds a PIN.
    let r = as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let validated = r.json();
    assert_eq!(validated["status"], "validated");
    assert!(validated["letter_due"].is_string());

    // The letter: addressed to the tenant at the home, with the PIN, where to use it, when
    // it expires and the landlord's phone.
    let (pin, text) = letter_pin(&app, &cs, id).await;
    for expected in [
        "Ms Siobhan O'Connor",
        home.address_line1.as_str(),
        "HX1 2AB",
        "Calder Riverside Housing",
        "http://127.0.0.1:8080/register/activate",
        "0113 496 0000",
        home.account_number.as_str(),
        "Your PIN",
    ] {
        assert!(text.contains(expected), "the letter lacks {expected:?}:\n{text}");
    }
    assert!(text.contains("The PIN works once, until"), "{text}");

    // The PIN appears nowhere but the letter: not in the queue, not in the audit trail.
    let compact = pin.replace(' ', "");
    let admin = staff_token(&app, "calder-riverside", "admin").await;
    for path in [format!("/api/v1/staff/registrations/{id}"), "/api/v1/staff/audit?limit=100".to_owned()] {
        let r = as_bearer(&app, &admin, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        assert!(!r.text().contains(&compact) && !r.text().contains(&pin), "{path} shows the PIN");
    }
    let audit = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=registration.pin_issued", None).await;
    assert_eq!(audit.json()["items"].as_array().unwrap().len(), 1, "{}", audit.text());

    // Activate with the PIN as typed from the letter (lower case, no space).
    let r = app
        .request(
            Method::POST,
            "/api/v1/registrations/activate",
            Some(json!({
                "account_number": home.account_number,
                "pin": compact.to_lowercase(),
                "email": "siobhan@example.com",
                "password": "kettle orchard lantern",
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["role"], "tenant");

    // The PIN was single-use.
    let again = app
        .request(
            Method::POST,
            "/api/v1/registrations/activate",
            Some(json!({"account_number": home.account_number, "pin": pin, "email": "other@example.com", "password": "kettle orchard lantern"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.text());

    // Sign in and see /me.
    let tenant = token(&app, "siobhan@example.com", "kettle orchard lantern").await;
    let r = as_bearer(&app, &tenant, Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = r.json();
    assert_eq!(me["user"]["email"], "siobhan@example.com");
    assert_eq!(me["user"]["role"], "tenant");
    assert_eq!(me["person"]["surname"], "O'Connor");
    assert_eq!(me["organisation"]["name"], "Calder Riverside Housing");
    assert_eq!(me["organisation"]["branding"]["primary_colour"], "#1d4f91");
    let tenancy = &me["tenancies"][0];
    assert_eq!(tenancy["reference"], home.tenancy_ref.as_str());
    assert_eq!(tenancy["tenure"], "secure");
    assert_eq!(tenancy["member_role"], "lead");
    assert_eq!(tenancy["property"]["postcode"], "HX1 2AB");
    assert_eq!(tenancy["property"]["kind"], "home");
    assert!(tenancy["housing_officer"]["name"].as_str().unwrap().starts_with("Officer"));
    assert_eq!(tenancy["accounts"][0]["balance_pence"], 12_345);
    assert_eq!(tenancy["accounts"][0]["balance_state"], "in_arrears");
    assert!(me["staff"].is_null());

    // Staff see the request as activated; staff /me shows role and organisation.
    let r = as_bearer(&app, &cs, Method::GET, &format!("/api/v1/staff/registrations/{id}"), None).await;
    assert_eq!(r.json()["status"], "activated");
    let r = as_bearer(&app, &cs, Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.json()["staff"]["role"], "customer_service");
    assert_eq!(r.json()["staff"]["organisations_in_scope"][0], "calder-riverside");
    assert!(r.json()["person"].is_null());
}

#[tokio::test]
async fn the_answer_is_the_same_whatever_matched() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let cases = [
        json!({"account_number": home.account_number, "surname": "Jones", "postcode": "HX1 2AB", "email": "a@example.com"}),
        json!({"account_number": home.account_number, "surname": "Smith", "postcode": "HX1 2AB", "email": "b@example.com"}),
        json!({"account_number": home.account_number, "surname": "Jones", "postcode": "LS9 8AB", "email": "c@example.com"}),
        json!({"account_number": "99999999", "surname": "Jones", "postcode": "HX1 2AB", "email": "d@example.com"}),
    ];
    let mut answers = Vec::new();
    for body in cases {
        let r = app.request(Method::POST, "/api/v1/registrations", Some(body)).await;
        answers.push((r.status, r.text()));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);

    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    let r = as_bearer(&app, &cs, Method::GET, "/api/v1/staff/registrations", None).await;
    let statuses: Vec<String> =
        r.json()["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_owned()).collect();
    // The unknown account number is routed to this landlord by its postcode.
    assert_eq!(statuses, ["pending", "unmatched", "unmatched", "unmatched"], "{}", r.text());
    let unmatched = &r.json()["items"][1];
    assert!(unmatched["matched"].is_null(), "an unmatched request shows no tenancy");
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let app = TestApp::new().await;
    let good =
        json!({"account_number": "10004217", "surname": "Jones", "postcode": "HX1 2AB", "email": "a@example.com"});
    for (field, value) in [
        ("account_number", json!("1")),
        ("surname", json!("  ")),
        ("postcode", json!("NOT A POSTCODE")),
        ("email", json!("not-an-email")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let r = app.request(Method::POST, "/api/v1/registrations", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", r.text());
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text());
    }
}

#[tokio::test]
async fn requests_are_limited_per_address_and_per_account_number() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let body = |n: u32, account: &str| json!({"account_number": account, "surname": "Jones", "postcode": "HX1 2AB", "email": format!("p{n}@example.com")});
    // Per account number, from many addresses.
    for n in 0..5 {
        let ip = format!("10.0.1.{n}");
        let r = call(&app, Method::POST, "/api/v1/registrations", Some(body(n, &home.account_number)), &[], Some(&ip))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    }
    let r =
        call(&app, Method::POST, "/api/v1/registrations", Some(body(9, &home.account_number)), &[], Some("10.0.1.99"))
            .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 3600 && retry <= 86_400, "{retry}");
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    assert_eq!(r.json()["error"]["details"]["retry_after_secs"], retry);

    // Per address, for many account numbers (existing or not: the same either way).
    for n in 0..10 {
        let account = format!("5000000{n}");
        let r = call(&app, Method::POST, "/api/v1/registrations", Some(body(n, &account)), &[], Some("10.0.2.1")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{n}: {}", r.text());
    }
    let r = call(&app, Method::POST, "/api/v1/registrations", Some(body(11, "50000011")), &[], Some("10.0.2.1")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert!(r.headers.contains_key("retry-after"));
}

async fn activate(app: &TestApp, account: &str, pin: &str, email: &str) -> crate::support::TestResponse {
    app.request(
        Method::POST,
        "/api/v1/registrations/activate",
        Some(json!({"account_number": account, "pin": pin, "email": email, "password": "kettle orchard lantern"})),
    )
    .await
}

#[tokio::test]
async fn five_wrong_pins_lock_the_request_until_staff_reissue() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    assert_eq!(register(&app, &home, "sam@example.com").await.status, StatusCode::ACCEPTED);
    let id = registration_id(&app, &cs, &home.account_number).await;
    as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    let (pin, _) = letter_pin(&app, &cs, id).await;
    let wrong = if pin.starts_with('2') { "33333 33333" } else { "22222 22222" };

    let mut answers = Vec::new();
    for _ in 0..5 {
        let r = activate(&app, &home.account_number, wrong, "sam@example.com").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert_eq!(r.json()["error"]["details"]["field"], "pin");
        answers.push(r.text());
    }
    // Locked: even the right PIN now gets the same answer as a wrong one.
    let r = activate(&app, &home.account_number, &pin, "sam@example.com").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.text(), answers[0], "a locked request answers like a wrong PIN");
    // An account number with nothing pending answers the same too.
    let r = activate(&app, "88888888", &pin, "sam@example.com").await;
    assert_eq!(r.text(), answers[0]);

    let view = as_bearer(&app, &cs, Method::GET, &format!("/api/v1/staff/registrations/{id}"), None).await.json();
    assert_eq!(view["status"], "locked");
    assert_eq!(view["pin_attempts"], 5);
    let admin = staff_token(&app, "calder-riverside", "admin").await;
    let locked = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=registration.locked", None).await;
    assert_eq!(locked.json()["items"].as_array().unwrap().len(), 1);

    // Staff reissue: validate again, a new letter, a new PIN; the old one stays dead.
    let r = as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["pin_attempts"], 0);
    let (new_pin, _) = letter_pin(&app, &cs, id).await;
    assert_ne!(new_pin, pin);
    let r = activate(&app, &home.account_number, &pin, "sam@example.com").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = activate(&app, &home.account_number, &new_pin, "sam@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn a_reprinted_letter_voids_the_earlier_pin() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let cs = staff_token(&app, "calder-riverside", "housing_officer").await;
    register(&app, &home, "sam@example.com").await;
    let id = registration_id(&app, &cs, &home.account_number).await;
    as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    let (first, _) = letter_pin(&app, &cs, id).await;
    let (second, _) = letter_pin(&app, &cs, id).await;
    assert_ne!(first, second);
    assert_eq!(
        activate(&app, &home.account_number, &first, "sam@example.com").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(activate(&app, &home.account_number, &second, "sam@example.com").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_print_run_holds_the_days_letters_once() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let a = home(&app.db.db, org, "Ann", "Adams", "HX1 2AB", 0).await;
    let b = home(&app.db.db, org, "Bob", "Brown", "HX3 5CD", 0).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    for (h, email) in [(&a, "ann@example.com"), (&b, "bob@example.com")] {
        register(&app, h, email).await;
        let id = registration_id(&app, &cs, &h.account_number).await;
        let r = as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let today = chrono::Utc::now().date_naive();
    let path = format!("/api/v1/staff/letters/print-run.pdf?date={today}");
    let r = as_bearer(&app, &cs, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["cache-control"], "no-store");
    let text = pdf_text(&r.body);
    let pins = pins_in(&text);
    assert_eq!(pins.len(), 2, "{text}");
    assert!(text.contains("Ms Ann Adams") && text.contains("Ms Bob Brown"), "{text}");

    // Printed letters are marked and not printed again.
    let again = as_bearer(&app, &cs, Method::GET, &path, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text());
    let list = as_bearer(&app, &cs, Method::GET, "/api/v1/staff/registrations?status=validated", None).await.json();
    assert!(list["items"].as_array().unwrap().iter().all(|i| i["letter_printed_at"].is_string()));

    // Ann's letter comes first (oldest first); its PIN works.
    assert!(text.find("Ann Adams").unwrap() < text.find("Bob Brown").unwrap());
    assert_eq!(activate(&app, &a.account_number, &pins[0], "ann@example.com").await.status, StatusCode::CREATED);

    let bad = as_bearer(&app, &cs, Method::GET, "/api/v1/staff/letters/print-run.pdf?date=yesterday", None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["details"]["field"], "date");
}

#[tokio::test]
async fn unmatched_requests_cannot_be_validated_and_rejections_stop_pins() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    app.request(
        Method::POST,
        "/api/v1/registrations",
        Some(json!({"account_number": home.account_number, "surname": "Nobody", "postcode": "HX1 2AB", "email": "x@example.com"})),
    )
    .await;
    let id = registration_id(&app, &cs, &home.account_number).await;
    let r = as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    let r = as_bearer(
        &app,
        &cs,
        Method::POST,
        &format!("/api/v1/staff/registrations/{id}/reject"),
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "reason");
    let r = as_bearer(
        &app,
        &cs,
        Method::POST,
        &format!("/api/v1/staff/registrations/{id}/reject"),
        Some(json!({"reason": "We could not match these details to a tenancy."})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "rejected");

    // A validated request that is then rejected: its letter's PIN no longer works.
    register(&app, &home, "sam@example.com").await;
    let id = registration_id(&app, &cs, &home.account_number).await;
    as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    let (pin, _) = letter_pin(&app, &cs, id).await;
    as_bearer(
        &app,
        &cs,
        Method::POST,
        &format!("/api/v1/staff/registrations/{id}/reject"),
        Some(json!({"reason": "Duplicate"})),
    )
    .await;
    assert_eq!(
        activate(&app, &home.account_number, &pin, "sam@example.com").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let letter = as_bearer(&app, &cs, Method::GET, &format!("/api/v1/staff/registrations/{id}/letter.pdf"), None).await;
    assert_eq!(letter.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn passwords_follow_the_rules_and_emails_are_unique() {
    let app = TestApp::new().await;
    let org = landlord(&app).await;
    let home = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    register(&app, &home, "sam@example.com").await;
    let id = registration_id(&app, &cs, &home.account_number).await;
    as_bearer(&app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    let (pin, _) = letter_pin(&app, &cs, id).await;
    for (password, needle) in [("short", "15"), ("Password123", "common"), ("liverpool1", "common")] {
        let r = app
            .request(
                Method::POST,
                "/api/v1/registrations/activate",
                Some(json!({"account_number": home.account_number, "pin": pin, "email": "sam@example.com", "password": password})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert_eq!(r.json()["error"]["details"]["field"], "password");
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(needle), "{}", r.text());
    }
    // Policy failures do not count as wrong PINs.
    let view = as_bearer(&app, &cs, Method::GET, &format!("/api/v1/staff/registrations/{id}"), None).await.json();
    assert_eq!(view["pin_attempts"], 0);

    // The email of a member of staff is taken: 409 naming the field, and the PIN still works.
    let taken = staff(&app, "calder-riverside", "repairs").await;
    let r = activate(&app, &home.account_number, &pin, &taken).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["error"]["details"]["field"], "email");
    assert_eq!(activate(&app, &home.account_number, &pin, "sam@example.com").await.status, StatusCode::CREATED);
}
