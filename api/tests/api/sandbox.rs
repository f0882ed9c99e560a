//! The sandbox payment provider over real sockets: the sandbox on port 0, and a small
//! receiver on port 0 standing in for the portal, which checks every notification's
//! signature and records what arrived. The sandbox uses no database, so these tests are the
//! same on both backends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use doorstep::domain::payments::signature;
use doorstep::sandbox::{self, RetryPolicy, Settings};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

const SECRET: &str = "sandbox-test-secret-not-the-default";

/// One request the stand-in portal received.
#[derive(Debug, Clone)]
struct Received {
    event: Value,
    signature_ok: bool,
    /// What the stand-in answered.
    answered: StatusCode,
    at: Instant,
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answers to give, in order, before answering 200 to everything.
    script: Arc<Mutex<VecDeque<StatusCode>>>,
}

impl Inbox {
    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What the portal accepted (answered 2xx to), in arrival order.
    fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.answered.is_success()).collect()
    }
}

async fn webhook(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    let secrets = [SecretString::from(SECRET)];
    let signature_ok = signature::verify(given, &body, &secrets, chrono::Utc::now().timestamp()).is_ok()
        && headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/json");
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answered = inbox.script.lock().unwrap().pop_front().unwrap_or(StatusCode::OK);
    inbox.got.lock().unwrap().push(Received { event, signature_ok, answered, at: Instant::now() });
    answered
}

/// The sandbox, the stand-in portal and a client that plays the browser and the portal.
struct Harness {
    sandbox: sandbox::Running,
    inbox: Inbox,
    http: reqwest::Client,
    portal_url: String,
}

impl Harness {
    async fn start() -> Harness {
        Self::with_retry(RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(500),
            max_attempts: 5,
        })
        .await
    }

    async fn with_retry(retry: RetryPolicy) -> Harness {
        let inbox = Inbox::default();
        let portal = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let portal_url = format!("http://{}", portal.local_addr().unwrap());
        let app = axum::Router::new().route("/api/v1/webhooks/sandbox", post(webhook)).with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(portal, app).await });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let settings = Settings {
            portal_url: portal_url.clone(),
            secret: SecretString::from(SECRET),
            retry,
            ..Settings::default()
        };
        let sandbox = sandbox::start(listener, settings).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Harness { sandbox, inbox, http, portal_url }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    /// `POST /api/sessions` as the portal sends it, signed with `secret`.
    async fn post_session(&self, body: &Value, secret: Option<&str>) -> reqwest::Response {
        let raw = serde_json::to_vec(body).unwrap();
        let mut req = self.http.post(self.url("/api/sessions")).header("content-type", "application/json");
        if let Some(s) = secret {
            req = req.header(signature::HEADER, signature::sign_now(&SecretString::from(s), &raw));
        }
        req.body(raw).send().await.unwrap()
    }

    /// A card session for `amount` pence; the card page's URL.
    async fn session(&self, reference: &str, amount: i64) -> Value {
        let body = session_body(reference, amount);
        let response = self.post_session(&body, Some(SECRET)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// Submits a form on the card page the way a browser does (following the redirect) and
    /// returns the page the person ends up on.
    async fn submit(&self, page_url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self.http.post(page_url).form(form).send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn pay_with(&self, page_url: &str, card: &str) -> (StatusCode, String) {
        self.submit(page_url, &[("card_number", card), ("expiry", "12/39"), ("cvc", "123"), ("name", "Ada Tenant")])
            .await
    }

    async fn event(&self, body: Value) -> reqwest::Response {
        self.http.post(self.url("/api/events")).json(&body).send().await.unwrap()
    }

    async fn retail_cash(&self, account: &str, amount: i64) -> Value {
        let response =
            self.event(json!({"account_number": account, "amount_pence": amount, "channel": "retail_cash"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn fault(&self, body: Value) -> Value {
        let response = self.http.post(self.url("/api/faults")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "arming {body}");
        response.json().await.unwrap()
    }

    async fn payment(&self, id: &str) -> Value {
        let response = self.http.get(self.url(&format!("/api/payments/{id}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn end_of_day(&self) -> String {
        let today = chrono::Utc::now().date_naive();
        let response = self.http.get(self.url(&format!("/api/end-of-day/{today}.csv"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        response.text().await.unwrap()
    }

    /// Waits (up to 10 s) until the portal has accepted `n` notifications.
    async fn accepted(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.inbox.accepted();
            if got.len() >= n || Instant::now() > deadline {
                assert_eq!(got.len(), n, "notifications accepted by the portal: {got:#?}");
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Long enough for anything queued to have been delivered by now.
    async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn session_body(reference: &str, amount: i64) -> Value {
    json!({
        "reference": reference,
        "account_number": "100012345",
        "amount_pence": amount,
        "description": "Rent for 1 Acacia Avenue",
        "return_url": "http://127.0.0.1:8080/payments/return",
    })
}

fn ids(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.event["id"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn error_field(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let field = body["error"]["details"]["field"].as_str().unwrap_or_default().to_owned();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    (status, field, message)
}

#[tokio::test]
async fn card_4242_pays_and_the_portal_gets_one_signed_notification() {
    let h = Harness::start().await;
    let session = h.session("pi_card_ok", 12_345).await;
    let url = session["url"].as_str().unwrap();
    assert!(url.starts_with(&h.url("/pay/ses_")), "{url}");
    assert!(session["payment_id"].as_str().unwrap().starts_with("pay_"));

    let page = h.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains(&format!("frame-ancestors {}", h.portal_url)), "only the portal may frame the page: {csp}");
    let html = page.text().await.unwrap();
    for label in [
        "<label for=\"card_number\">Card number</label>",
        "<label for=\"expiry\">",
        "<label for=\"cvc\">",
        "<label for=\"name\">",
    ] {
        assert!(html.contains(label), "the card page labels its fields: {label}");
    }
    assert!(html.contains("Pay £123.45"), "the button says what will be paid");

    let (status, html) = h.pay_with(url, "4242 4242 4242 4242").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Payment received") && html.contains("£123.45"), "{html}");

    let got = h.accepted(1).await;
    let n = &got[0];
    assert!(n.signature_ok, "the notification is signed with the shared secret");
    assert_eq!(n.event["type"], "payment.succeeded");
    assert!(n.event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(n.event["payment"]["id"], session["payment_id"]);
    assert_eq!(n.event["payment"]["amount_pence"], 12_345);
    assert_eq!(n.event["payment"]["reference"], "pi_card_ok");
    assert_eq!(n.event["payment"]["account_number"], "100012345");
    assert_eq!(n.event["payment"]["channel"], "web");
    assert_eq!(n.event["payment"]["status"], "succeeded");
    assert!(n.event["payment"]["paid_at"].as_str().unwrap().ends_with('Z'));

    // Paying again (a double click, a reload) takes no second payment.
    let (_, html) = h.pay_with(url, "4242 4242 4242 4242").await;
    assert!(html.contains("Payment received"));
    h.settle().await;
    assert_eq!(h.inbox.all().len(), 1, "exactly one notification");
    let payment = h.payment(session["payment_id"].as_str().unwrap()).await;
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["notifications"][0]["delivery"], "delivered");
}

#[tokio::test]
async fn the_declined_card_fails_and_is_not_in_the_end_of_day_file() {
    let h = Harness::start().await;
    let session = h.session("pi_declined", 5_000).await;
    let (status, html) = h.pay_with(session["url"].as_str().unwrap(), "4000000000000002").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Payment declined") && html.contains("No money has been taken"), "{html}");
    let got = h.accepted(1).await;
    assert!(got[0].signature_ok);
    assert_eq!(got[0].event["type"], "payment.failed");
    assert_eq!(got[0].event["payment"]["status"], "failed");
    assert_eq!(got[0].event["payment"]["reference"], "pi_declined");
    assert!(got[0].event["payment"]["paid_at"].as_str().is_some_and(|t| t.ends_with('Z')), "when it failed");
    assert_eq!(got[0].event["payment"]["failure_reason"], "card_declined");
    assert!(!h.end_of_day().await.contains(session["payment_id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_challenge_card_asks_for_a_code_and_only_the_right_one_pays() {
    let h = Harness::start().await;
    let right = h.session("pi_challenge_right", 2_000).await;
    let wrong = h.session("pi_challenge_wrong", 3_000).await;
    for s in [&right, &wrong] {
        let (status, html) = h.pay_with(s["url"].as_str().unwrap(), "4000 0000 0000 3220").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Confirm it is you") && html.contains("name=\"code\""), "{html}");
        assert!(html.contains("<label for=\"code\">"));
    }
    h.settle().await;
    assert!(h.inbox.all().is_empty(), "nothing is notified before the challenge is answered");

    // An empty answer is a mistake to correct, not a failed payment.
    let (status, html) = h.submit(right["url"].as_str().unwrap(), &[("code", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Enter the security code from your bank"));

    let (_, html) = h.submit(right["url"].as_str().unwrap(), &[("code", "123456")]).await;
    assert!(html.contains("Payment received"), "{html}");
    let (_, html) = h.submit(wrong["url"].as_str().unwrap(), &[("code", "654321")]).await;
    assert!(html.contains("Payment not confirmed"), "{html}");

    let got = h.accepted(2).await;
    let kind_of = |reference: &str| {
        got.iter().find(|r| r.event["payment"]["reference"] == reference).map(|r| r.event["type"].clone())
    };
    assert_eq!(kind_of("pi_challenge_right"), Some(json!("payment.succeeded")));
    assert_eq!(kind_of("pi_challenge_wrong"), Some(json!("payment.failed")));
    assert!(got.iter().all(|r| r.signature_ok));
}

#[tokio::test]
async fn a_wrongly_filled_card_form_names_every_field_and_pays_nothing() {
    let h = Harness::start().await;
    let session = h.session("pi_form_errors", 1_000).await;
    let (status, html) =
        h.submit(session["url"].as_str().unwrap(), &[("card_number", "1234 5678"), ("expiry", "01/20")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("There is a problem"));
    for field in ["card_number", "expiry", "cvc", "name"] {
        assert!(html.contains(&format!("<a href=\"#{field}\">")), "the summary links to {field}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field} shows its error");
    }
    h.settle().await;
    assert!(h.inbox.all().is_empty());
    assert_eq!(h.payment(session["payment_id"].as_str().unwrap()).await["status"], "pending");
}

#[tokio::test]
async fn a_retail_cash_payment_arrives_with_its_channel() {
    let h = Harness::start().await;
    let created = h.retail_cash("100012345", 2_550).await;
    assert!(created["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert!(created["event_id"].as_str().unwrap().starts_with("evt_"));
    let got = h.accepted(1).await;
    assert!(got[0].signature_ok);
    assert_eq!(got[0].event["id"], created["event_id"]);
    assert_eq!(got[0].event["type"], "payment.succeeded");
    assert_eq!(got[0].event["payment"]["channel"], "retail_cash");
    assert_eq!(got[0].event["payment"]["amount_pence"], 2_550);
    assert!(got[0].event["payment"]["reference"].is_null(), "it did not start in the portal");
    let csv = h.end_of_day().await;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("payment_id,account_number,amount_pence,channel,paid_at,reference"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("{},100012345,2550,retail_cash,", created["payment_id"].as_str().unwrap())),
        "{row}"
    );
}

#[tokio::test]
async fn every_channel_is_accepted() {
    let h = Harness::start().await;
    let channels = ["app", "web", "telephone", "retail_cash", "recurring_card", "pay_by_link"];
    for c in channels {
        let response = h.event(json!({"account_number": "100012345", "amount_pence": 100, "channel": c})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{c}");
    }
    let got = h.accepted(channels.len()).await;
    let mut arrived: Vec<&str> = got.iter().map(|r| r.event["payment"]["channel"].as_str().unwrap()).collect();
    arrived.sort_unstable();
    let mut want = channels.to_vec();
    want.sort_unstable();
    assert_eq!(arrived, want);
}

#[tokio::test]
async fn a_failing_portal_gets_the_notification_again_with_growing_waits() {
    let h = Harness::start().await;
    h.inbox.script.lock().unwrap().extend([StatusCode::INTERNAL_SERVER_ERROR, StatusCode::INTERNAL_SERVER_ERROR]);
    let created = h.retail_cash("100012345", 999).await;
    let accepted = h.accepted(1).await;
    let all = h.inbox.all();
    assert_eq!(all.len(), 3, "delivered on the third attempt: {all:#?}");
    assert!(all.iter().all(|r| r.event["id"] == created["event_id"] && r.signature_ok));
    assert_eq!(accepted[0].at, all[2].at);
    // Backoff: at least 20 ms after the first failure, at least 40 ms after the second.
    assert!(all[1].at - all[0].at >= Duration::from_millis(20));
    assert!(all[2].at - all[1].at >= Duration::from_millis(40));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = &h.payment(created["payment_id"].as_str().unwrap()).await["notifications"][0];
        if n["delivery"] == "delivered" {
            assert_eq!(n["attempts"], 3);
            break;
        }
        assert!(Instant::now() < deadline, "the sandbox records the delivery: {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_portal_that_never_accepts_is_given_up_on_after_the_last_attempt() {
    let h = Harness::with_retry(RetryPolicy {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        max_attempts: 3,
    })
    .await;
    h.inbox.script.lock().unwrap().extend([StatusCode::SERVICE_UNAVAILABLE; 10]);
    let created = h.retail_cash("100012345", 100).await;
    h.settle().await;
    assert_eq!(h.inbox.all().len(), 3);
    let n = &h.payment(created["payment_id"].as_str().unwrap()).await["notifications"][0];
    assert_eq!(n["delivery"], "gave_up");
    assert_eq!(n["last_outcome"], "503");
}

#[tokio::test]
async fn a_dropped_notification_never_arrives_but_its_payment_is_in_the_end_of_day_file() {
    let h = Harness::start().await;
    let armed = h.fault(json!({"fault": "drop", "next": 1})).await;
    assert_eq!(armed["armed"], json!([{"fault": "drop", "next": 1}]));
    let dropped = h.retail_cash("100012345", 111).await;
    let kept = h.retail_cash("100012346", 222).await;
    let got = h.accepted(1).await;
    h.settle().await;
    assert_eq!(ids(&h.inbox.all()), [kept["event_id"].as_str().unwrap()], "only the second arrives");
    let payment = h.payment(dropped["payment_id"].as_str().unwrap()).await;
    assert_eq!(payment["notifications"][0]["delivery"], "dropped");
    let csv = h.end_of_day().await;
    assert!(csv.contains(dropped["payment_id"].as_str().unwrap()), "{csv}");
    assert!(csv.contains(got[0].event["payment"]["id"].as_str().unwrap()), "{csv}");
    assert_eq!(h.fault(json!({"fault": "duplicate", "next": 2})).await["armed"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_duplicated_notification_arrives_twice_with_the_same_event_id() {
    let h = Harness::start().await;
    h.fault(json!({"fault": "duplicate", "next": 1})).await;
    let created = h.retail_cash("100012345", 4_200).await;
    let got = h.accepted(2).await;
    let event_id = created["event_id"].as_str().unwrap();
    assert_eq!(ids(&got), [event_id, event_id]);
    assert!(got.iter().all(|r| r.signature_ok));
    assert_eq!(got[0].event, got[1].event, "the same body both times");
    // Only the next one was duplicated.
    h.retail_cash("100012345", 4_300).await;
    h.accepted(3).await;
    h.settle().await;
    assert_eq!(h.inbox.all().len(), 3);
}

#[tokio::test]
async fn reordered_notifications_are_held_then_arrive_reversed() {
    let h = Harness::start().await;
    h.fault(json!({"fault": "reorder", "next": 3})).await;
    let a = h.retail_cash("100000001", 101).await;
    let b = h.retail_cash("100000002", 102).await;
    h.settle().await;
    assert!(h.inbox.all().is_empty(), "held until the batch is full");
    let faults: Value = h.http.get(h.url("/api/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults["armed"], json!([{"fault": "reorder", "next": 3, "held": 2}]));
    let c = h.retail_cash("100000003", 103).await;
    let got = h.accepted(3).await;
    let want: Vec<&str> = [&c, &b, &a].iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids(&got), want);
}

#[tokio::test]
async fn clearing_faults_sends_what_a_reorder_was_holding() {
    let h = Harness::start().await;
    h.fault(json!({"fault": "reorder", "next": 5})).await;
    let a = h.retail_cash("100000001", 101).await;
    let b = h.retail_cash("100000002", 102).await;
    let response = h.http.delete(h.url("/api/faults")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["armed"], json!([]));
    let got = h.accepted(2).await;
    assert_eq!(ids(&got), [b["event_id"].as_str().unwrap(), a["event_id"].as_str().unwrap()]);
}

#[tokio::test]
async fn a_delayed_notification_is_overtaken_by_the_next_one() {
    let h = Harness::start().await;
    h.fault(json!({"fault": "delay", "next": 1, "delay_ms": 1000})).await;
    let late = h.retail_cash("100000001", 101).await;
    let prompt = h.retail_cash("100000002", 102).await;
    let got = h.accepted(2).await;
    assert_eq!(ids(&got), [prompt["event_id"].as_str().unwrap(), late["event_id"].as_str().unwrap()]);
}

#[tokio::test]
async fn a_seeded_percent_drop_loses_about_half_and_the_end_of_day_file_has_them_all() {
    let h = Harness::start().await;
    let armed = h.fault(json!({"fault": "drop", "percent": 50, "seed": 2026})).await;
    assert_eq!(armed["armed"], json!([{"fault": "drop", "percent": 50, "seed": 2026}]));
    let mut payments = Vec::new();
    for i in 0..40 {
        payments.push(h.retail_cash("100012345", 100 + i).await);
    }
    let mut dropped = 0;
    for p in &payments {
        if h.payment(p["payment_id"].as_str().unwrap()).await["notifications"][0]["delivery"] == "dropped" {
            dropped += 1;
        }
    }
    assert!((10..=30).contains(&dropped), "{dropped} of 40 dropped at 50%");
    h.accepted(40 - dropped).await;
    h.settle().await;
    assert_eq!(h.inbox.all().len(), 40 - dropped);
    let csv = h.end_of_day().await;
    assert_eq!(csv.lines().count(), 41, "a header and every payment: {csv}");
    for p in &payments {
        assert!(csv.contains(p["payment_id"].as_str().unwrap()));
    }
    // Until cleared.
    let response = h.http.delete(h.url("/api/faults")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    h.retail_cash("100012345", 1).await;
    h.accepted(40 - dropped + 1).await;
}

#[tokio::test]
async fn unsigned_forged_and_stale_session_requests_are_refused() {
    let h = Harness::start().await;
    let body = session_body("pi_forged", 1_000);
    let response = h.post_session(&body, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(h.post_session(&body, Some("a-guessed-secret")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.post_session(&body, Some(sandbox::DEVELOPMENT_SECRET)).await.status(), StatusCode::UNAUTHORIZED);

    // Signed, then changed on the way.
    let signed = serde_json::to_vec(&body).unwrap();
    let header = signature::sign_now(&SecretString::from(SECRET), &signed);
    let tampered = serde_json::to_vec(&session_body("pi_forged", 1)).unwrap();
    let response =
        h.http.post(h.url("/api/sessions")).header(signature::HEADER, header).body(tampered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Signed properly, but ten minutes ago.
    let old = chrono::Utc::now().timestamp() - 600;
    let header = signature::sign(&[SECRET.as_bytes()], old, &signed);
    let response =
        h.http.post(h.url("/api/sessions")).header(signature::HEADER, header).body(signed).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(h.post_session(&body, Some(SECRET)).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_same_reference_gives_the_same_session() {
    let h = Harness::start().await;
    let first = h.session("pi_twice", 1_500).await;
    let second = h.session("pi_twice", 1_500).await;
    assert_eq!(first, second);
    let other = h.session("pi_other", 1_500).await;
    assert_ne!(first["session_id"], other["session_id"]);
    let response = h.post_session(&session_body("pi_twice", 9_999), Some(SECRET)).await;
    let (status, field, _) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::CONFLICT, "reference"));
}

#[tokio::test]
async fn bad_amounts_channels_and_accounts_are_refused_naming_the_field() {
    let h = Harness::start().await;
    for amount in [0, -5, 10_000_001] {
        let response = h.post_session(&session_body("pi_bad_amount", amount), Some(SECRET)).await;
        let (status, field, _) = error_field(response).await;
        assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "amount_pence"), "{amount}");
        let response = h.event(json!({"account_number": "100012345", "amount_pence": amount, "channel": "app"})).await;
        let (status, field, _) = error_field(response).await;
        assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "amount_pence"), "{amount}");
    }
    // £100,000 exactly is allowed.
    let response = h.event(json!({"account_number": "100012345", "amount_pence": 10_000_000, "channel": "app"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let response = h.event(json!({"account_number": "100012345", "amount_pence": 12.5, "channel": "app"})).await;
    let (status, field, _) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "amount_pence"));

    let response =
        h.event(json!({"account_number": "100012345", "amount_pence": 100, "channel": "carrier_pigeon"})).await;
    let (status, field, message) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "channel"));
    assert!(message.contains("carrier_pigeon"), "{message}");

    let response = h.event(json!({"account_number": " ", "amount_pence": 100, "channel": "app"})).await;
    let (status, field, _) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "account_number"));

    let response =
        h.http.post(h.url("/api/faults")).json(&json!({"fault": "explode", "next": 1})).send().await.unwrap();
    let (status, field, _) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "fault"));

    let response = h.http.get(h.url("/api/end-of-day/yesterday.csv")).send().await.unwrap();
    let (status, field, _) = error_field(response).await;
    assert_eq!((status, field.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "date"));

    h.settle().await;
    assert_eq!(h.inbox.all().len(), 1, "only the £100,000 payment was made");
}

#[tokio::test]
async fn the_landing_page_makes_a_payment_arrive_from_its_form() {
    let h = Harness::start().await;
    let response = h
        .http
        .post(h.url("/events"))
        .form(&[("account_number", "100012345"), ("amount", "12.50"), ("channel", "telephone")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("£12.50 arrived for account"), "{html}");
    let got = h.accepted(1).await;
    assert_eq!(got[0].event["payment"]["amount_pence"], 1_250);
    assert_eq!(got[0].event["payment"]["channel"], "telephone");
    let home = h.http.get(h.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains(got[0].event["payment"]["id"].as_str().unwrap()), "listed under recent payments");

    let response = h
        .http
        .post(h.url("/events"))
        .form(&[("account_number", "100012345"), ("amount", "lots")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("Enter the amount in pounds"));
}

#[tokio::test]
async fn an_unknown_payment_or_page_is_a_clear_404() {
    let h = Harness::start().await;
    let response = h.http.get(h.url("/api/payments/pay_nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = h.http.get(h.url("/pay/ses_nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("This payment link is not valid"));
    let health = h.http.get(h.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    h.sandbox.stop().await.unwrap();
}
