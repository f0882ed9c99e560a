//! The whole payment path over real sockets: the portal and the sandbox provider each
//! listening on a port, a tenant's GraphQL subscription open over WebSocket, a card payment
//! made on the sandbox's hosted page and a cash payment made at a shop, each arriving on the
//! open subscription without asking. On PostgreSQL, the update also reaches a subscriber
//! connected to a second API node (LISTEN/NOTIFY).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::Method;
use doorstep::AppState;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::identity_support::*;
use crate::support::{TestApp, backend};

/// Serves a node of the portal on a free port.
async fn serve(state: AppState) -> SocketAddr {
    let router = doorstep::http::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind portal");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    addr
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `accountUpdated` for `account_id` as the bearer of `token`; returns the socket
/// after the first (current) state arrived, and that state's balance.
async fn subscribe(addr: SocketAddr, token: &str, account_id: i64) -> (Ws, i64) {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().expect("ws request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string())).await.expect("init");
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let sub = json!({"id": "1", "type": "subscribe", "payload": {
        "query": format!("subscription {{ accountUpdated(accountId: {account_id}) {{ balancePence balanceText recent {{ amountPence channel }} }} }}")
    }});
    ws.send(Message::text(sub.to_string())).await.expect("subscribe");
    let first = next_json(&mut ws).await;
    let balance =
        first["payload"]["data"]["accountUpdated"]["balancePence"].as_i64().unwrap_or_else(|| panic!("{first}"));
    (ws, balance)
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")
            .expect("socket open")
            .expect("message");
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "ping" {
                    continue;
                }
                return v;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next pushed balance.
async fn next_balance(ws: &mut Ws) -> (i64, Value) {
    let v = next_json(ws).await;
    assert_eq!(v["type"], "next", "{v}");
    let a = v["payload"]["data"]["accountUpdated"].clone();
    (a["balancePence"].as_i64().unwrap_or_else(|| panic!("{v}")), a)
}

#[tokio::test]
async fn a_card_payment_and_a_cash_payment_reach_the_open_screen_without_asking() {
    // The portal first (the sandbox needs its URL), then the sandbox, then point the
    // portal's provider at the sandbox: the state is rebuilt with the sandbox's address.
    let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let portal_addr = portal_listener.local_addr().expect("addr");
    let sandbox = doorstep::sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sandbox"),
        doorstep::sandbox::Settings { portal_url: format!("http://{portal_addr}"), ..Default::default() },
    )
    .await
    .expect("sandbox starts");
    let sandbox_url = sandbox.url().to_owned();
    let app = TestApp::new_with(|c| {
        c.payments.sandbox_url = sandbox_url.clone();
        c.public_url = format!("http://{portal_addr}");
    })
    .await;
    let router = doorstep::http::router(app.state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(portal_listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });

    let org = app.add_org("live-homes", "Live Homes", None).await;
    let h = home(&app.db.db, org, "Lina", "Livesey", "HX6 1AA", 0).await;
    let cs = staff_token(&app, "live-homes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &h, &cs, "lina@live.example", "lina watches her balance").await;

    let (mut ws, start) = subscribe(portal_addr, &tenant, h.account_id).await;
    assert_eq!(start, 0);

    // The tenant pays £25.00 on the embedded card page.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/accounts/{}/payments", h.account_id),
        Some(json!({"amount_pence": 2_500})),
        &[("authorization", &format!("Bearer {tenant}")), ("idempotency-key", "live-1")],
        None,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text());
    let payment = r.json();
    let page = payment["provider_url"].as_str().expect("provider page").to_owned();
    assert!(page.starts_with(&sandbox_url), "{page}");
    // The portal's pages may frame exactly the sandbox.
    let csp = app.get("/").await.headers["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains(&format!("frame-src {}", sandbox_url)), "{csp}");

    let client = reqwest::Client::new();
    let card_page = client.get(&page).send().await.expect("card page");
    assert!(card_page.status().is_success());
    let form = [("card_number", "4242 4242 4242 4242"), ("expiry", "12/30"), ("cvc", "123"), ("name", "L Livesey")];
    let done = client.post(&page).form(&form).send().await.expect("card form");
    assert!(done.status().is_success() || done.status().is_redirection(), "{}", done.status());

    let (balance, account) = next_balance(&mut ws).await;
    assert_eq!(balance, -2_500, "{account}");
    assert_eq!(account["recent"][0]["channel"], "web");
    let status =
        as_bearer(&app, &tenant, Method::GET, &format!("/api/v1/payments/{}", payment["id"].as_str().unwrap()), None)
            .await;
    assert_eq!(status.json()["status"], "succeeded", "{}", status.text());

    // Cash at a shop, triggered at the sandbox: on the same open screen.
    let r = client
        .post(format!("{sandbox_url}/api/events"))
        .json(&json!({"account_number": h.account_number, "amount_pence": 1_000, "channel": "retail_cash"}))
        .send()
        .await
        .expect("sandbox event");
    assert!(r.status().is_success(), "{}", r.status());
    let (balance, account) = next_balance(&mut ws).await;
    assert_eq!(balance, -3_500, "{account}");
    assert_eq!(account["recent"][0]["channel"], "retail_cash");

    // Nobody else may watch the account.
    let home_b = home(&app.db.db, org, "Other", "Person", "HX6 1AB", 0).await;
    let other = tenant_with_sign_in(&app, &home_b, &cs, "other@live.example", "other tenant passphrase").await;
    let mut request = format!("ws://{portal_addr}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws2, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws2.send(Message::text(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {other}")}}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws2).await["type"], "connection_ack");
    ws2.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": format!("subscription {{ accountUpdated(accountId: {}) {{ balancePence }} }}", h.account_id)}}).to_string(),
    ))
    .await
    .unwrap();
    let refused = next_json(&mut ws2).await;
    // Exactly as for a missing account: no data, `not_found`.
    assert!(refused["payload"]["data"].is_null(), "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "not_found", "{refused}");
    sandbox.stop().await.expect("sandbox stops");
}

#[tokio::test]
async fn on_postgresql_an_update_reaches_a_subscriber_on_another_node() {
    if backend() != "postgres" {
        // One process is the whole deployment on SQLite: nothing to fan out.
        return;
    }
    let app = TestApp::new().await;
    let org = app.add_org("two-nodes", "Two Nodes Homes", None).await;
    let h = home(&app.db.db, org, "Nia", "Nodes", "HX7 2BB", 0).await;
    let cs = staff_token(&app, "two-nodes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &h, &cs, "nia@nodes.example", "nia has two nodes").await;

    // Node A serves the subscriber; node B, another process's worth of state over the same
    // database, receives the provider's notification.
    let node_a = serve(app.state.clone()).await;
    let node_b_state = AppState::new(app.db.db.clone(), app.db.config()).expect("second node");
    let node_b = serve(node_b_state).await;
    let (mut ws, _) = subscribe(node_a, &tenant, h.account_id).await;
    // Give node A's listener a moment to be LISTENing before the first NOTIFY.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let body = json!({"id": "evt_nodes", "type": "payment.succeeded", "created_at": "2026-11-22T10:00:00Z",
        "payment": {"id": "pay_nodes", "reference": null, "account_number": h.account_number, "amount_pence": 777,
                    "channel": "telephone", "status": "succeeded", "paid_at": "2026-11-22T10:00:00Z"}})
    .to_string();
    let sig = doorstep::domain::payments::signature::sign(
        &[doorstep::config::payments::SANDBOX_DEV_SECRET.as_bytes()],
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let r = reqwest::Client::new()
        .post(format!("http://{node_b}/api/v1/webhooks/sandbox"))
        .header("content-type", "application/json")
        .header("doorstep-signature", sig)
        .body(body)
        .send()
        .await
        .expect("webhook to node B");
    assert!(r.status().is_success(), "{}", r.status());
    let (balance, _) = next_balance(&mut ws).await;
    assert_eq!(balance, -777);
}

#[tokio::test]
async fn on_postgresql_a_late_payment_found_by_the_reconcile_command_reaches_the_open_screen() {
    if backend() != "postgres" {
        // On SQLite only the serving process can tell its screens; the command cannot.
        return;
    }
    let app = TestApp::new().await;
    let org = app.add_org("late-homes", "Late Homes", None).await;
    let h = home(&app.db.db, org, "Lee", "Late", "HX7 3CC", 0).await;
    let cs = staff_token(&app, "late-homes", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &h, &cs, "lee@late.example", "lee waits for the file").await;
    let node = serve(app.state.clone()).await;
    let (mut ws, before) = subscribe(node, &tenant, h.account_id).await;
    assert_eq!(before, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The provider's end-of-day file has a payment whose notification never came: the
    // command, another process, posts it late and the open screen hears of it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sandbox-2026-11-21.csv");
    std::fs::write(
        &path,
        format!(
            "payment_id,account_number,amount_pence,channel,paid_at,reference\n\
             pay_never_notified,{},4321,retail_cash,2026-11-21T16:00:00Z,\n",
            h.account_number
        ),
    )
    .expect("write file");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["reconcile", path.to_str().expect("path")])
        .env("DOORSTEP_DATABASE_URL", &app.db.url)
        .env("DOORSTEP_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("doorstep reconcile runs");
    assert!(out.status.success(), "reconcile failed: {}", String::from_utf8_lossy(&out.stderr));
    let (balance, summary) = next_balance(&mut ws).await;
    assert_eq!(balance, -4321, "{summary}");
    assert_eq!(summary["recent"][0]["channel"], "retail_cash", "{summary}");
}
