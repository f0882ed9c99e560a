//! Payment notifications: signed, recorded once, posted once, shown live; and payments
//! started in the portal. Every test runs on SQLite and on PostgreSQL.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use doorstep::domain::payments::signature;
use futures::future::join_all;
use serde_json::json;

use crate::identity_support::*;
use crate::support::{TestApp, TestResponse};

const SECRET: &str = doorstep::config::payments::SANDBOX_DEV_SECRET;

fn notification(event: &str, payment: &str, account: &str, pence: i64, channel: &str) -> String {
    json!({
        "id": event,
        "type": "payment.succeeded",
        "created_at": "2026-11-22T10:15:03.120Z",
        "payment": {
            "id": payment, "reference": null, "account_number": account, "amount_pence": pence,
            "channel": channel, "status": "succeeded", "paid_at": "2026-11-22T10:15:03.100Z"
        }
    })
    .to_string()
}

async fn deliver_signed(app: &TestApp, body: &str, signature_header: Option<String>) -> TestResponse {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/webhooks/sandbox")
        .header("content-type", "application/json");
    if let Some(s) = signature_header {
        b = b.header("doorstep-signature", s);
    }
    app.send(b.body(Body::from(body.to_owned())).expect("request")).await
}

async fn deliver(app: &TestApp, body: &str) -> TestResponse {
    let sig = signature::sign(&[SECRET.as_bytes()], chrono::Utc::now().timestamp(), body.as_bytes());
    deliver_signed(app, body, Some(sig)).await
}

async fn balance(app: &TestApp, token: &str, account_id: i64) -> i64 {
    let r = as_bearer(app, token, Method::GET, &format!("/api/v1/accounts/{account_id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["balance_pence"].as_i64().expect("balance")
}

async fn count(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.db.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}")))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn ledger_is_clean(app: &TestApp) {
    let report = doorstep::domain::ledger::check::check(&app.db.db).await.expect("ledger check");
    assert!(report.drift.is_empty(), "cached balances drifted: {:?}", report.drift);
    assert_eq!(report.running_balance_mismatches, 0);
}

struct Setup {
    app: TestApp,
    home: Home,
    staff: String,
}

async fn setup() -> Setup {
    let app = TestApp::new().await;
    let org = app.add_org("pay-homes", "Pay Homes", None).await;
    let home = home(&app.db.db, org, "Pat", "Payne", "HX3 5AX", 0).await;
    let staff = staff_token(&app, "pay-homes", "income").await;
    Setup { app, home, staff }
}

#[tokio::test]
async fn a_signed_notification_is_posted_once_whatever_is_sent_again() {
    let Setup { app, home, staff } = setup().await;
    let body = notification("evt_1", "pay_1", &home.account_number, 2_500, "retail_cash");
    let r = deliver(&app, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["outcomes"], json!(["posted"]));
    assert_eq!(balance(&app, &staff, home.account_id).await, -2_500);

    // The same event again, and the same payment under a new event id: nothing more.
    let r = deliver(&app, &body).await;
    assert_eq!(r.json()["outcomes"], json!(["duplicate_event"]));
    let again = notification("evt_2", "pay_1", &home.account_number, 2_500, "retail_cash");
    assert_eq!(deliver(&app, &again).await.json()["outcomes"], json!(["already_posted"]));
    assert_eq!(balance(&app, &staff, home.account_id).await, -2_500);

    // The history shows the cash payment with its channel; the HMS has one message waiting.
    let h =
        as_bearer(&app, &staff, Method::GET, &format!("/api/v1/accounts/{}/transactions", home.account_id), None).await;
    let items = h.json()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["channel"], "retail_cash");
    assert_eq!(items[0]["description"], "Cash payment at a shop");
    assert_eq!(count(&app, "outbox").await, 1);
    assert_eq!(count(&app, "provider_event").await, 2);
    ledger_is_clean(&app).await;

    // What the HMS will be sent, and the inbox's record, name the line that was posted.
    let entry_id = items[0]["id"].as_i64().expect("line id");
    let payload: serde_json::Value =
        serde_json::from_str(&text(&app, "SELECT payload AS v FROM outbox").await).expect("outbox payload is JSON");
    assert_eq!(payload["message_key"], "provider:sandbox/pay_1");
    assert_eq!(payload["account_number"], home.account_number);
    assert_eq!(payload["amount_pence"], 2_500);
    assert_eq!(payload["channel"], "retail_cash");
    assert_eq!(payload["effective_date"], "2026-11-22");
    assert_eq!(payload["provider"], "sandbox");
    assert_eq!(payload["provider_payment_id"], "pay_1");
    assert_eq!(payload["ledger_entry_id"], entry_id);
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(payload["paid_at"].as_str().expect("paid_at")).expect("RFC 3339"),
        chrono::DateTime::parse_from_rfc3339("2026-11-22T10:15:03.100Z").expect("time")
    );
    assert_eq!(
        text(
            &app,
            "SELECT outcome || ':' || CAST(ledger_entry_id AS TEXT) AS v FROM provider_event WHERE event_id = 'evt_1'"
        )
        .await,
        format!("posted:{entry_id}")
    );
}

async fn text(app: &TestApp, sql: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.db.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<String>("", "v").expect("v")
}

#[tokio::test]
async fn every_notification_sent_ten_times_shuffled_and_at_once_posts_each_payment_once() {
    use rand_like::shuffle;
    let Setup { app, home, staff } = setup().await;
    let payments: Vec<(String, i64)> = (0..20).map(|i| (format!("pay_many_{i}"), 1_000 + i * 7)).collect();
    let mut deliveries = Vec::new();
    for (p, pence) in &payments {
        for copy in 0..10 {
            // Half the copies reuse the event id (a redelivery), half come as new events for
            // the same payment (a provider that re-announces it).
            let event = if copy % 2 == 0 { format!("evt_{p}") } else { format!("evt_{p}_{copy}") };
            deliveries.push(notification(&event, p, &home.account_number, *pence, "app"));
        }
    }
    shuffle(&mut deliveries, 0x5eed);
    let results = join_all(deliveries.iter().map(|b| deliver(&app, b))).await;
    for r in &results {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let posted = results.iter().filter(|r| r.json()["outcomes"] == json!(["posted"])).count();
    assert_eq!(posted, payments.len(), "each payment posted exactly once");
    let total: i64 = payments.iter().map(|(_, p)| p).sum();
    assert_eq!(balance(&app, &staff, home.account_id).await, -total);
    assert_eq!(count(&app, "ledger_entry").await, payments.len() as i64);
    assert_eq!(count(&app, "outbox").await, payments.len() as i64);
    ledger_is_clean(&app).await;
}

#[tokio::test]
async fn forged_stale_unsigned_truncated_and_non_json_requests_are_refused_and_change_nothing() {
    let Setup { app, home, staff } = setup().await;
    let body = notification("evt_bad", "pay_bad", &home.account_number, 9_999, "web");
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(&str, String, Option<String>, StatusCode, &str)> = vec![
        ("unsigned", body.clone(), None, StatusCode::UNAUTHORIZED, "not signed"),
        (
            "forged",
            body.clone(),
            Some(signature::sign(&[b"not-the-secret"], now, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
            "does not match",
        ),
        (
            "stale",
            body.clone(),
            Some(signature::sign(&[SECRET.as_bytes()], now - 600, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
            "away from now",
        ),
        (
            "signed, then changed",
            body.replace("9999", "99"),
            Some(signature::sign(&[SECRET.as_bytes()], now, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
            "does not match",
        ),
        ("garbage header", body.clone(), Some("v1=abc".into()), StatusCode::UNAUTHORIZED, "malformed"),
    ];
    for (what, b, sig, status, says) in cases {
        let r = deliver_signed(&app, &b, sig).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "bad_signature", "{what}");
        assert!(r.json()["error"]["message"].as_str().unwrap_or_default().contains(says), "{what}: {}", r.text());
    }
    // Properly signed but not a notification: named.
    let truncated = &body[..body.len() / 2];
    let r = deliver(&app, truncated).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("not JSON"), "{}", r.text());
    let r = deliver(&app, "plain words").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let negative = notification("evt_neg", "pay_neg", &home.account_number, -500, "web");
    let r = deliver(&app, &negative).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["details"]["field"], "payment.amount_pence");
    let unknown_provider = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/webhooks/nobody")
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(unknown_provider.status, StatusCode::NOT_FOUND);

    assert_eq!(balance(&app, &staff, home.account_id).await, 0);
    assert_eq!(count(&app, "provider_event").await, 0);
    assert_eq!(count(&app, "ledger_entry").await, 0);
    assert_eq!(count(&app, "outbox").await, 0);
}

#[tokio::test]
async fn a_payment_for_an_unknown_reference_is_held_in_suspense() {
    let Setup { app, .. } = setup().await;
    let body = notification("evt_s", "pay_s", "99999999", 4_200, "telephone");
    let r = deliver(&app, &body).await;
    assert_eq!(r.json()["outcomes"], json!(["suspense"]), "{}", r.text());
    assert_eq!(deliver(&app, &body.replace("evt_s", "evt_s2")).await.json()["outcomes"], json!(["suspense"]));
    assert_eq!(count(&app, "suspense_payment").await, 1);
    assert_eq!(count(&app, "ledger_entry").await, 0);
}

#[tokio::test]
async fn a_tenant_starts_a_payment_and_a_retry_with_the_same_key_is_the_same_payment() {
    let Setup { app, home, .. } = setup().await;
    let cs = staff_token(&app, "pay-homes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &home, &cs, "pat.payne@pay.example", "pat pays the rent on time").await;
    let path = format!("/api/v1/accounts/{}/payments", home.account_id);
    let auth = format!("Bearer {tenant}");
    let pay = |key: &'static str, pence: i64| {
        let headers = [("authorization", auth.clone()), ("idempotency-key", key.to_owned())];
        let app = &app;
        let path = path.clone();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(app, Method::POST, &path, Some(json!({"amount_pence": pence})), &h, None).await
        }
    };
    // No sandbox is listening in this test: the provider is unreachable, the answer says so,
    // and the same key may be tried again.
    let r = pay("key-1", 5_000).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    let r = pay("key-1", 6_000).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["details"]["field"], "Idempotency-Key");
    let r = pay("key-2", 50).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "amount_pence");
    let h = vec![("authorization", auth.as_str())];
    let r = call(&app, Method::POST, &path, Some(json!({"amount_pence": 5_000})), &h, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "Idempotency-Key");
    assert_eq!(count(&app, "payment_intent").await, 1);
}

/// A tiny deterministic shuffle, so the test needs no RNG crate.
mod rand_like {
    pub fn shuffle<T>(v: &mut [T], mut seed: u64) {
        for i in (1..v.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let j = (seed % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[tokio::test]
async fn govuk_pay_and_event_grid_notifications_go_through_the_same_inbox() {
    use doorstep::config::payments::GovUkPay;
    use secrecy::SecretString;
    let app = TestApp::new_with(|c| {
        c.payments.govuk_pay = Some(GovUkPay {
            base_url: "http://127.0.0.1:9".into(),
            api_key: SecretString::from("api-key"),
            webhook_secrets: vec![SecretString::from("govuk-webhook-secret")],
        });
        c.payments.event_grid_keys = vec![SecretString::from("grid-key")];
    })
    .await;
    let org = app.add_org("adapter-homes", "Adapter Homes", None).await;
    let h = home(&app.db.db, org, "Ada", "Adapter", "HX1 1AD", 0).await;
    let staff = staff_token(&app, "adapter-homes", "income").await;

    // GOV.UK Pay: `Pay-Signature` is the hex HMAC-SHA256 of the body.
    let govuk = json!({
        "webhook_message_id": "msg-1", "api_version": 1, "created_date": "2026-11-22T10:36:26.988Z",
        "resource_id": "govpay-1", "resource_type": "payment", "event_type": "card_payment_succeeded",
        "resource": {"amount": 3_000, "reference": h.account_number, "state": {"status": "success", "finished": true},
                     "payment_id": "govpay-1", "authorisation_mode": "moto"}
    })
    .to_string();
    let send = |path: &'static str, body: String, headers: Vec<(&'static str, String)>| {
        let mut b = Request::builder().method(Method::POST).uri(path).header("content-type", "application/json");
        for (k, v) in headers {
            b = b.header(k, v);
        }
        app.send(b.body(Body::from(body)).expect("request"))
    };
    let good = signature::body_hmac_hex(b"govuk-webhook-secret", govuk.as_bytes());
    let r = send("/api/v1/webhooks/govuk_pay", govuk.clone(), vec![("pay-signature", good.clone())]).await;
    assert_eq!(r.json()["outcomes"], json!(["posted"]), "{}", r.text());
    let bad = signature::body_hmac_hex(b"someone-else", govuk.as_bytes());
    let r = send("/api/v1/webhooks/govuk_pay", govuk.clone(), vec![("pay-signature", bad)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send("/api/v1/webhooks/govuk_pay", govuk, vec![("pay-signature", good)]).await;
    assert_eq!(r.json()["outcomes"], json!(["duplicate_event"]));

    // Event Grid: the subscription handshake, then a batch, then the same batch again.
    let handshake = json!([{"id": "v-1", "topic": "/topics/t", "subject": "", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-11-22T18:41:00Z", "dataVersion": "1", "data": {"validationCode": "code-123"}}])
    .to_string();
    let key = vec![("x-doorstep-key", "grid-key".to_owned()), ("aeg-event-type", "SubscriptionValidation".to_owned())];
    let r = send("/api/v1/webhooks/event_grid", handshake.clone(), key).await;
    assert_eq!(r.json(), json!({"validationResponse": "code-123"}), "{}", r.text());
    let r = send("/api/v1/webhooks/event_grid", handshake, vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no key, no handshake");
    let batch = json!([
        {"id": "g-1", "topic": "/topics/t", "subject": "p/1", "eventType": "Payments.BillPayment.Completed", "eventTime": "2026-11-22T09:00:01Z",
         "dataVersion": "1", "data": {"transactionId": "pp-1", "clientReference": h.account_number, "amount": {"value": 2_000, "currency": "GBP"},
                                      "channel": "retail_cash", "transactionTime": "2026-11-22T09:00:00Z"}},
        {"id": "g-2", "topic": "/topics/t", "subject": "p/2", "eventType": "Payments.BillPayment.Completed", "eventTime": "2026-11-22T09:00:02Z",
         "dataVersion": "1", "data": {"transactionId": "pp-2", "clientReference": "NOSUCHACCOUNT", "amount": {"value": 1_550, "currency": "GBP"},
                                      "transactionTime": "2026-11-22T09:00:01Z"}}
    ])
    .to_string();
    let key = || vec![("x-doorstep-key", "grid-key".to_owned()), ("aeg-event-type", "Notification".to_owned())];
    let r = send("/api/v1/webhooks/event_grid", batch.clone(), key()).await;
    assert_eq!(r.json()["outcomes"], json!(["posted", "suspense"]), "{}", r.text());
    let r = send("/api/v1/webhooks/event_grid", batch, key()).await;
    assert_eq!(r.json()["outcomes"], json!(["duplicate_event", "duplicate_event"]));

    assert_eq!(balance(&app, &staff, h.account_id).await, -5_000);
    let history =
        as_bearer(&app, &staff, Method::GET, &format!("/api/v1/accounts/{}/transactions", h.account_id), None).await;
    let channels: Vec<String> = history.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["channel"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(channels.contains(&"telephone".to_owned()) && channels.contains(&"retail_cash".to_owned()), "{channels:?}");
    ledger_is_clean(&app).await;
}

#[tokio::test]
async fn the_outbox_reaches_the_hms_once_even_when_an_answer_is_lost() {
    use std::sync::{Arc, Mutex};

    use doorstep::domain::payments::relay::{Sink, relay_once};
    let Setup { app, home, .. } = setup().await;
    for i in 0..3 {
        let body = notification(&format!("evt_o{i}"), &format!("pay_o{i}"), &home.account_number, 1_000 + i, "web");
        assert_eq!(deliver(&app, &body).await.status, StatusCode::OK);
    }

    // An HMS endpoint that records every delivery, and loses its first answer: it keeps
    // what it got but answers 503, as a timeout would look to the relay.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let fail_first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let hms = {
        let (seen, fail_first) = (seen.clone(), fail_first.clone());
        axum::Router::new().route(
            "/payments",
            axum::routing::post(move |headers: axum::http::HeaderMap, _body: String| {
                let (seen, fail_first) = (seen.clone(), fail_first.clone());
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    seen.lock().unwrap().push(key);
                    if fail_first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hms).await });
    let sink = Sink::Http { url: format!("http://{addr}/payments"), api_key: None, client: reqwest::Client::new() };

    assert_eq!(relay_once(&app.db.db, &sink).await.unwrap(), 0, "the first delivery failed");
    // The failed rows wait for their backoff: nothing is due yet.
    assert_eq!(relay_once(&app.db.db, &sink).await.unwrap(), 0);
    exec(&app.db.db, "UPDATE outbox SET next_attempt_at = $1", vec![chrono::Utc::now().into()]).await;
    assert_eq!(relay_once(&app.db.db, &sink).await.unwrap(), 3);
    assert_eq!(relay_once(&app.db.db, &sink).await.unwrap(), 0, "delivered rows are not sent again");

    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|k| k.starts_with("provider:sandbox/pay_o")), "every delivery carries its key: {seen:?}");
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 3, "three payments, whatever was repeated: {seen:?}");
    assert_eq!(seen.len(), 4, "one repeat, of the delivery whose answer was lost");

    // The folder sink: one CSV file per batch, one line per payment.
    let dir = tempfile::tempdir().unwrap();
    exec(&app.db.db, "UPDATE outbox SET delivered_at = NULL, next_attempt_at = $1", vec![chrono::Utc::now().into()])
        .await;
    assert_eq!(relay_once(&app.db.db, &Sink::Folder(dir.path().to_owned())).await.unwrap(), 3);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).collect();
    assert_eq!(files.len(), 1);
    let csv = std::fs::read_to_string(files[0].path()).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains(&home.account_number), "{csv}");
}
