//! External sign-in (OpenID Connect) end to end.
//!
//! Against a real provider: node-oidc-provider (OpenID Certified) from `e2e/oidc-provider/`,
//! started per test on a free port, and the real portal on a socket. A reqwest client with a
//! cookie jar plays the browser: it fills in the provider's login form and follows each
//! redirect itself, so that every hop can be checked or tampered with. These tests fail
//! (they do not skip) when node is missing.
//!
//! The ID-token checks that a real provider never fails on purpose (wrong nonce, audience,
//! issuer, algorithm, key) go through the same callback against a small fake provider
//! served here: its token endpoint checks the PKCE verifier and the client's credentials and
//! answers with an ID token that the test signed with a key it controls.

use std::collections::HashMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use doorstep::config::OidcProvider;
use doorstep::domain::identity::oidc::Oidc;
use doorstep::domain::identity::oidc::id_token::{self, Expected};
use doorstep::entity::{app_user, audit_event, identity_link};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::identity_support::*;
use crate::support::TestApp;

const CLIENT_ID: &str = "doorstep-test";
/// The test users' password in `e2e/oidc-provider/server.mjs`.
const IDP_PASSWORD: &str = "idp test password 1";
const ORG: &str = "calder-oidc";

// ----- the real provider -----

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/oidc-provider")
}

/// `npm ci` in `e2e/oidc-provider` unless its lockfile's packages are installed. Tests run
/// as separate processes, so one installs (holding a lock file) and the others wait.
fn ensure_installed() {
    let dir = provider_dir();
    let lock = std::fs::read(dir.join("package-lock.json")).expect("e2e/oidc-provider/package-lock.json");
    let want = hex::encode(Sha256::digest(&lock));
    let stamp = dir.join("node_modules/.doorstep-lock");
    let ready = || std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want);
    let busy = dir.join(".npm-ci.lock");
    let started = std::time::Instant::now();
    while !ready() {
        if std::fs::OpenOptions::new().write(true).create_new(true).open(&busy).is_ok() {
            // Another process may have finished between our look and the lock.
            if ready() {
                let _ = std::fs::remove_file(&busy);
                return;
            }
            let status = Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status();
            // The stamp before the lock goes, so that nobody installs again meanwhile.
            let installed = matches!(&status, Ok(s) if s.success()) && std::fs::write(&stamp, &want).is_ok();
            let _ = std::fs::remove_file(&busy);
            let status = status.expect("npm must be installed for the OpenID Connect tests (apt-get install npm)");
            assert!(status.success() && installed, "npm ci in e2e/oidc-provider failed");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "waited 5 minutes for another test's npm ci; remove {} if no test is running",
            busy.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The provider process, stopped when dropped.
struct Idp {
    issuer: String,
    client_secret: String,
    child: Child,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_idp(redirect_uri: &str, env: &[(&str, &str)]) -> Idp {
    ensure_installed();
    let client_secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
    let mut cmd = Command::new("node");
    cmd.arg("server.mjs")
        .current_dir(provider_dir())
        .env("OIDC_PORT", "0")
        .env("OIDC_REDIRECT_URIS", redirect_uri)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", &client_secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("node must be installed for the OpenID Connect tests: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let errors = Arc::new(Mutex::new(String::new()));
    let sink = errors.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        // Keep reading so that the provider never writes into a closed pipe.
        for _ in lines {}
    });
    // Generous: on two busy cores (the ledger's property tests beside it) node can be slow to start.
    let line = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            let errors = errors.lock().map(|s| s.clone()).unwrap_or_default();
            panic!("the OpenID provider did not start: {other:?}\n{errors}");
        }
    };
    let ready: Value = serde_json::from_str(&line).expect("the ready line is JSON");
    assert_eq!(ready["ready"], true, "{line}");
    Idp { issuer: ready["issuer"].as_str().expect("issuer").to_owned(), client_secret, child }
}

/// The portal on a real socket, with its external providers.
struct Portal {
    app: TestApp,
    url: String,
}

async fn portal_with(listener: tokio::net::TcpListener, providers: Vec<OidcProvider>) -> Portal {
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let public_url = url.clone();
    let app = TestApp::new_with(move |c| {
        c.public_url = public_url;
        c.oidc_providers = providers;
    })
    .await;
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    Portal { app, url }
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// A portal whose provider `local` ("Test ID") is a fresh real provider.
async fn with_real_idp(idp_env: &[(&str, &str)]) -> (Portal, Idp) {
    let l = listener().await;
    let url = format!("http://{}", l.local_addr().expect("address"));
    let idp = start_idp(&format!("{url}/api/v1/auth/oidc/local/callback"), idp_env);
    let provider = OidcProvider::new("local", "Test ID", &idp.issuer, CLIENT_ID, &idp.client_secret);
    (portal_with(l, vec![provider]).await, idp)
}

// ----- the browser -----

struct Browser {
    http: reqwest::Client,
}

enum Hop {
    Get(String),
    Post(String, Vec<(&'static str, String)>),
}

impl Browser {
    fn new() -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser { http }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// From the provider's authorization URL to the portal's callback URL: fills in the
    /// login form as `username` (or presses "Cancel"), follows each redirect, and stops
    /// before the callback, returning its URL.
    async fn through_idp(&self, authorize: &str, username: &str, cancel: bool) -> String {
        let mut next = Hop::Get(authorize.to_owned());
        for _ in 0..20 {
            let response = match &next {
                Hop::Get(u) => self.get(u).await,
                Hop::Post(u, form) => self.http.post(u).form(form).send().await.expect("POST"),
            };
            let base = response.url().clone();
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()[header::LOCATION].to_str().expect("location").to_owned();
                let location = base.join(&location).expect("location URL").to_string();
                if location.contains("/api/v1/auth/oidc/") && location.contains("/callback") {
                    return location;
                }
                next = Hop::Get(location);
                continue;
            }
            let html = response.text().await.expect("body");
            assert_eq!(status, StatusCode::OK, "{base}: {html}");
            if cancel {
                let href = between(&html, "<a href=\"", "\"").expect("a cancel link");
                next = Hop::Get(base.join(&href).expect("href").to_string());
            } else {
                assert!(!html.contains("is not right"), "the provider refused the login: {html}");
                let action = between(&html, "action=\"", "\"").expect("a login form");
                let action = base.join(&action).expect("action").to_string();
                next =
                    Hop::Post(action, vec![("username", username.to_owned()), ("password", IDP_PASSWORD.to_owned())]);
            }
        }
        panic!("no callback after 20 hops");
    }

    /// Start (`intent`) → provider → callback: the callback's answer.
    async fn round_trip(&self, portal: &Portal, intent: &str, username: &str) -> reqwest::Response {
        let start = self.get(&format!("{}/api/v1/auth/oidc/local/start?intent={intent}", portal.url)).await;
        assert_eq!(start.status(), StatusCode::FOUND);
        let authorize = location(&start);
        let callback = self.through_idp(&authorize, username, false).await;
        self.get(&callback).await
    }

    async fn json(&self, method: Method, url: &str, body: Option<Value>) -> (StatusCode, HeaderMap, Value) {
        let mut request = self.http.request(method, url);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let r = request.send().await.expect("request");
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.expect("body");
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(rest[..rest.find(end)?].replace("&amp;", "&"))
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url).expect("URL").query_pairs().into_owned().collect()
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

fn cookie_named<'a>(cookies: &'a [String], name: &str) -> Option<&'a String> {
    cookies.iter().find(|c| c.starts_with(&format!("{name}=")))
}

// ----- the database and the trail -----

async fn last_event(app: &TestApp, action: &str) -> audit_event::Model {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .order_by_desc(audit_event::Column::Id)
        .one(&app.db.db)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no {action} event"))
}

fn details(e: &audit_event::Model) -> Value {
    serde_json::from_str(&e.details).expect("details JSON")
}

async fn links(app: &TestApp) -> Vec<identity_link::Model> {
    identity_link::Entity::find().all(&app.db.db).await.expect("links")
}

/// A tenancy whose registration staff validated: the home and the PIN from its letter.
async fn validated_home(app: &TestApp, surname: &str) -> (Home, String) {
    let org = app.add_org(ORG, "Calder OIDC Homes", None).await;
    let home = home(&app.db.db, org, "Robin", surname, "HX1 2AB", 4_200).await;
    let cs = staff_token(app, ORG, "customer_service").await;
    let r = register(app, &home, &format!("{}@example.com", surname.to_lowercase())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = registration_id(app, &cs, &home.account_number).await;
    let r = as_bearer(app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (pin, _) = letter_pin(app, &cs, id).await;
    (home, pin)
}

// ----- with the real provider -----

#[tokio::test]
async fn register_with_the_provider_instead_of_a_password_then_sign_in_with_it() {
    let (portal, idp) = with_real_idp(&[]).await;
    let (home, pin) = validated_home(&portal.app, "Ashworth").await;
    let callback_uri = format!("{}/api/v1/auth/oidc/local/callback", portal.url);

    // The providers the SPA offers.
    let browser = Browser::new();
    let (status, _, list) = browser.json(Method::GET, &format!("{}/api/v1/auth/providers", portal.url), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!({"items": [{"id": "local", "name": "Test ID"}]}));

    // 1. Start, to register: off to the provider with code + PKCE S256, state and nonce.
    let start = browser.get(&format!("{}/api/v1/auth/oidc/local/start?intent=register", portal.url)).await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{}/auth?", idp.issuer)), "{authorize}");
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], callback_uri, "the exact redirect URI");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["state"] != q["nonce"]);
    let cookies = set_cookies(start.headers());
    let binding = cookie_named(&cookies, "doorstep_oidc").expect("the binding cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/api/v1/auth/oidc", "Max-Age=600"] {
        assert!(binding.contains(attribute), "{binding}");
    }
    assert!(!authorize.contains(binding.split(';').next().unwrap().trim_start_matches("doorstep_oidc=")));

    // 2. The tenant signs in at the provider, which sends them back with a code.
    let callback = browser.through_idp(&authorize, "tenant", false).await;
    let cq = query(&callback);
    assert!(cq.contains_key("code"));
    assert_eq!(cq["state"], q["state"]);
    assert_eq!(cq["iss"], idp.issuer, "RFC 9207");
    let back = browser.get(&callback).await;
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(location(&back), "/register/activate?oidc=linked");
    let cookies = set_cookies(back.headers());
    let pending = cookie_named(&cookies, "doorstep_oidc_link").expect("the pending-link cookie");
    assert!(pending.contains("HttpOnly") && pending.contains("SameSite=Strict"), "{pending}");
    assert!(cookie_named(&cookies, "doorstep_oidc").expect("binding cleared").contains("Max-Age=0"));
    assert!(cookie_named(&cookies, "doorstep_refresh").is_none(), "registering does not sign in yet");

    // 3. The activation page shows who is waiting.
    let pending_url = format!("{}/api/v1/auth/oidc/pending", portal.url);
    let (status, _, waiting) = browser.json(Method::GET, &pending_url, None).await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    assert_eq!(waiting["provider"], "local");
    assert_eq!(waiting["provider_name"], "Test ID");
    assert_eq!(waiting["email"], "tenant@idp.example");
    assert_eq!(waiting["email_verified"], true);

    // 4. The PIN is still what proves the tenancy: a wrong one is refused and counted.
    let activate_url = format!("{}/api/v1/auth/oidc/activate", portal.url);
    let (status, _, body) = browser
        .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": "AAAAA AAAAA"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "pin");
    let (status, headers, body) = browser
        .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": pin})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["access_token"].as_str().expect("an access token").to_owned();
    assert!(body.get("refresh_token").is_none(), "the SPA's refresh token is only in the cookie");
    let cookies = set_cookies(&headers);
    assert!(cookie_named(&cookies, "doorstep_refresh").is_some_and(|c| c.contains("HttpOnly")));
    assert!(cookie_named(&cookies, "doorstep_oidc_link").is_some_and(|c| c.contains("Max-Age=0")));
    let (status, _, _) = browser.json(Method::GET, &pending_url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the pending link is used up");

    // The provider's confirmed address became the sign-in's, and the identity is linked.
    let me = as_bearer(&portal.app, &token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let me = me.json();
    assert_eq!(me["user"]["email"], "tenant@idp.example");
    assert_eq!(me["person"]["surname"], "Ashworth");
    let user_id = me["user"]["id"].as_i64().expect("user id");
    let linked = links(&portal.app).await;
    assert_eq!(linked.len(), 1);
    assert_eq!((linked[0].issuer.as_str(), linked[0].subject.as_str()), (idp.issuer.as_str(), "tenant"));
    assert_eq!(linked[0].user_id, user_id);
    let user = app_user::Entity::find_by_id(user_id).one(&portal.app.db.db).await.unwrap().unwrap();
    assert!(user.password_hash.is_none(), "the identity took the password's place");
    let r = portal
        .app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "tenant@idp.example", "password": "any password at all"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(details(&last_event(&portal.app, "identity.linked").await)["provider"], "local");

    // 5. Later, in another browser: sign in with the provider, and the refresh cookie works.
    let other = Browser::new();
    let back = other.round_trip(&portal, "sign_in", "tenant").await;
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(location(&back), "/sign-in?oidc=signed-in&next=/my-place");
    let cookies = set_cookies(back.headers());
    let refresh = cookie_named(&cookies, "doorstep_refresh").expect("the refresh cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(refresh.contains(attribute), "{refresh}");
    }
    assert!(!location(&back).contains(refresh.split(';').next().unwrap()), "never a token in a URL");
    let (status, _, tokens) = other.json(Method::POST, &format!("{}/api/v1/auth/refresh", portal.url), None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().expect("access token");
    let me = as_bearer(&portal.app, token, Method::GET, "/api/v1/me", None).await.json();
    assert_eq!(me["user"]["id"], user_id);
    let login = last_event(&portal.app, "auth.login").await;
    assert_eq!((login.outcome.as_str(), login.actor_user_id), ("success", Some(user_id)));
    assert_eq!(details(&login)["method"], "oidc:local");
}

#[tokio::test]
async fn an_identity_that_nobody_linked_is_refused_and_a_cancel_comes_back_as_such() {
    let (portal, _idp) = with_real_idp(&[]).await;
    let browser = Browser::new();
    let back = browser.round_trip(&portal, "sign_in", "other").await;
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(location(&back), "/sign-in?error=not_linked&provider=local");
    assert!(cookie_named(&set_cookies(back.headers()), "doorstep_refresh").is_none());
    let (status, _, _) = browser.json(Method::POST, &format!("{}/api/v1/auth/refresh", portal.url), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let e = last_event(&portal.app, "auth.login").await;
    assert_eq!(e.outcome, "failure");
    assert_eq!(details(&e)["reason"], "not_linked");
    assert_eq!(details(&e)["subject"], "other");

    // Pressing "Cancel" at the provider (in a browser not signed in there yet).
    let browser = Browser::new();
    let start = browser.get(&format!("{}/api/v1/auth/oidc/local/start", portal.url)).await;
    let callback = browser.through_idp(&location(&start), "", true).await;
    assert_eq!(query(&callback).get("error").map(String::as_str), Some("access_denied"), "{callback}");
    let back = browser.get(&callback).await;
    assert_eq!(location(&back), "/sign-in?error=cancelled&provider=local");
    assert_eq!(details(&last_event(&portal.app, "auth.oidc").await)["reason"], "provider_error");
}

#[tokio::test]
async fn tampered_missing_and_foreign_states_are_refused() {
    let (portal, _idp) = with_real_idp(&[]).await;
    let browser = Browser::new();
    let start = browser.get(&format!("{}/api/v1/auth/oidc/local/start", portal.url)).await;
    let callback = browser.through_idp(&location(&start), "other", false).await;
    let state = query(&callback)["state"].clone();

    // A state this portal never issued.
    let tampered = callback.replace(&state, &format!("{}x", &state[..state.len() - 1]));
    let back = browser.get(&tampered).await;
    assert_eq!(location(&back), "/sign-in?error=expired&provider=local");
    assert_eq!(details(&last_event(&portal.app, "auth.oidc").await)["reason"], "unknown_state");
    let no_state = callback.replace(&format!("state={state}"), "");
    let back = browser.get(&no_state).await;
    assert_eq!(location(&back), "/sign-in?error=expired&provider=local");
    assert_eq!(details(&last_event(&portal.app, "auth.oidc").await)["reason"], "missing_state");

    // The real callback URL, in another browser (login CSRF: an attacker's code and state
    // planted in a victim's browser): refused, and the state is spent.
    let victim = Browser::new();
    let back = victim.get(&callback).await;
    assert_eq!(location(&back), "/sign-in?error=expired&provider=local");
    let e = last_event(&portal.app, "auth.oidc").await;
    assert_eq!((e.outcome.as_str(), details(&e)["reason"].as_str()), ("denied", Some("browser_mismatch")));
    let back = browser.get(&callback).await;
    assert_eq!(location(&back), "/sign-in?error=expired&provider=local");
    assert_eq!(details(&last_event(&portal.app, "auth.oidc").await)["reason"], "replayed_state");
    assert_eq!(links(&portal.app).await.len(), 0);
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let (portal, _idp) = with_real_idp(&[]).await;
    let (home, pin) = validated_home(&portal.app, "Brearley").await;
    let browser = Browser::new();
    let back = browser.round_trip(&portal, "register", "tenant").await;
    assert_eq!(location(&back), "/register/activate?oidc=linked");
    let (status, _, body) = browser
        .json(
            Method::POST,
            &format!("{}/api/v1/auth/oidc/activate", portal.url),
            Some(json!({"account_number": home.account_number, "pin": pin})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let start = browser.get(&format!("{}/api/v1/auth/oidc/local/start", portal.url)).await;
    let callback = browser.through_idp(&location(&start), "tenant", false).await;
    let first = browser.get(&callback).await;
    assert_eq!(location(&first), "/sign-in?oidc=signed-in&next=/my-place");
    // The same redirect again (a back button, a leaked URL): nothing.
    let again = browser.get(&callback).await;
    assert_eq!(location(&again), "/sign-in?error=expired&provider=local");
    assert!(cookie_named(&set_cookies(again.headers()), "doorstep_refresh").is_none());
    let e = last_event(&portal.app, "auth.oidc").await;
    assert_eq!((e.outcome.as_str(), details(&e)["reason"].as_str()), ("denied", Some("replayed_state")));
}

#[tokio::test]
async fn without_the_pin_an_external_identity_links_to_nobody() {
    let (portal, _idp) = with_real_idp(&[]).await;
    let (home, pin) = validated_home(&portal.app, "Crossley").await;
    let attacker = Browser::new();
    let back = attacker.round_trip(&portal, "register", "other").await;
    assert_eq!(location(&back), "/register/activate?oidc=linked");
    let activate_url = format!("{}/api/v1/auth/oidc/activate", portal.url);

    // Guessing: five wrong PINs lock the request, as with a password.
    for guess in ["22222 22222", "33333 33333", "44444 44444", "55555 55555", "66666 66666"] {
        let (status, _, body) = attacker
            .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": guess})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, _, _) = attacker
        .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": pin})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "locked: even the right PIN no longer works");
    assert_eq!(links(&portal.app).await.len(), 0);
    assert!(
        app_user::Entity::find()
            .filter(app_user::Column::PersonId.eq(home.person_id))
            .one(&portal.app.db.db)
            .await
            .unwrap()
            .is_none()
    );

    // And with no external sign-in waiting in this browser, there is nothing to link.
    let stranger = Browser::new();
    let (status, _, body) = stranger
        .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": pin})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["details"]["field"], "external_identity");

    // Registering with an identity that already signs in is refused at the callback.
    let (home2, pin2) = {
        let org = portal.app.add_org("second-oidc", "Second", None).await;
        let h = crate::identity_support::home(&portal.app.db.db, org, "Sam", "Dearden", "HX2 7AA", 0).await;
        let cs = staff_token(&portal.app, "second-oidc", "customer_service").await;
        register(&portal.app, &h, "sam@example.com").await;
        let id = registration_id(&portal.app, &cs, &h.account_number).await;
        as_bearer(&portal.app, &cs, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
        let (p, _) = letter_pin(&portal.app, &cs, id).await;
        (h, p)
    };
    let tenant = Browser::new();
    tenant.round_trip(&portal, "register", "tenant").await;
    let (status, _, body) = tenant
        .json(Method::POST, &activate_url, Some(json!({"account_number": home2.account_number, "pin": pin2})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let back = Browser::new().round_trip(&portal, "register", "tenant").await;
    assert_eq!(location(&back), "/register/activate?error=already_linked&provider=local");
}

#[tokio::test]
async fn an_unconfirmed_email_address_is_never_taken_as_the_sign_in() {
    let (portal, _idp) = with_real_idp(&[]).await;
    let (home, pin) = validated_home(&portal.app, "Eastwood").await;
    let browser = Browser::new();
    browser.round_trip(&portal, "register", "unverified").await;
    let (_, _, waiting) = browser.json(Method::GET, &format!("{}/api/v1/auth/oidc/pending", portal.url), None).await;
    assert_eq!(waiting["email"], "unverified@idp.example");
    assert_eq!(waiting["email_verified"], false);
    let activate_url = format!("{}/api/v1/auth/oidc/activate", portal.url);
    let (status, _, body) = browser
        .json(Method::POST, &activate_url, Some(json!({"account_number": home.account_number, "pin": pin})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "email");
    let (status, _, body) = browser
        .json(
            Method::POST,
            &activate_url,
            Some(json!({"account_number": home.account_number, "pin": pin, "email": "Eastwood@Example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let me = as_bearer(&portal.app, body["access_token"].as_str().unwrap(), Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.json()["user"]["email"], "eastwood@example.com");
}

#[tokio::test]
async fn claims_come_from_userinfo_when_the_id_token_carries_only_the_subject() {
    // OIDC_CONFORM=1: the provider puts email and name only in userinfo, as many do.
    let (portal, _idp) = with_real_idp(&[("OIDC_CONFORM", "1")]).await;
    let browser = Browser::new();
    let back = browser.round_trip(&portal, "register", "tenant").await;
    assert_eq!(location(&back), "/register/activate?oidc=linked");
    let (_, _, waiting) = browser.json(Method::GET, &format!("{}/api/v1/auth/oidc/pending", portal.url), None).await;
    assert_eq!(waiting["email"], "tenant@idp.example");
    assert_eq!(waiting["email_verified"], true);
    assert_eq!(waiting["name"], "Idp Tenant");
}

#[tokio::test]
async fn unknown_providers_and_intents_are_refused() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/auth/providers").await;
    assert_eq!(r.json(), json!({"items": []}));
    let r = app.get("/api/v1/auth/oidc/nope/start").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let r = app.get("/api/v1/auth/oidc/nope/callback?code=x&state=y").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/auth/oidc/pending").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let app = TestApp::new_with(|c| {
        c.oidc_providers = vec![OidcProvider::new("local", "Test ID", "http://127.0.0.1:9", CLIENT_ID, "s")];
    })
    .await;
    let r = app.get("/api/v1/auth/oidc/local/start?intent=steal").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Nothing listens there: back to the sign-in page, in words the SPA can show.
    let r = app.get("/api/v1/auth/oidc/local/start").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.headers[header::LOCATION], "/sign-in?error=unavailable&provider=local");
}

// ----- with a fake provider: ID tokens the test signs -----

struct TestKey {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

fn new_key() -> TestKey {
    let k = doorstep::domain::identity::tokens::generate_ed25519().expect("key");
    TestKey { kid: k.kid, der: k.pkcs8_der, jwk: serde_json::to_value(&k.public_jwk).expect("jwk") }
}

fn sign(key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_ed_der(&key.der)).expect("sign")
}

#[derive(Default)]
struct FakeState {
    issuer: String,
    discovery_issuer: Option<String>,
    auth_methods: Option<Vec<String>>,
    jwks: Vec<Value>,
    jwks_hits: usize,
    /// The S256 challenge of the authorization request the test saw.
    expected_challenge: Option<String>,
    id_token: Option<String>,
    /// Every token request: its form and its Authorization header.
    token_requests: Vec<(HashMap<String, String>, Option<String>)>,
}

type Fake = Arc<Mutex<FakeState>>;

async fn fake_discovery(State(f): State<Fake>) -> axum::Json<Value> {
    let s = f.lock().unwrap();
    let iss = s.discovery_issuer.clone().unwrap_or(s.issuer.clone());
    let mut doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "code_challenge_methods_supported": ["S256"],
        "response_types_supported": ["code"],
    });
    if let Some(m) = &s.auth_methods {
        doc["token_endpoint_auth_methods_supported"] = json!(m);
    }
    axum::Json(doc)
}

async fn fake_jwks(State(f): State<Fake>) -> axum::Json<Value> {
    let mut s = f.lock().unwrap();
    s.jwks_hits += 1;
    axum::Json(json!({ "keys": s.jwks }))
}

async fn fake_token(
    State(f): State<Fake>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    let mut s = f.lock().unwrap();
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    s.token_requests.push((form.clone(), auth));
    // RFC 7636 §4.6: S256(code_verifier) must be the challenge of the authorization request.
    let verifier_ok = match (form.get("code_verifier"), &s.expected_challenge) {
        (Some(v), Some(challenge)) => URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == *challenge,
        _ => false,
    };
    if !verifier_ok {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"})));
    }
    let answer =
        json!({"access_token": "fake-access", "token_type": "Bearer", "expires_in": 60, "id_token": s.id_token});
    (StatusCode::OK, axum::Json(answer))
}

struct FakeEnv {
    portal: Portal,
    fake: Fake,
    key: TestKey,
    issuer: String,
    secret: String,
}

async fn with_fake_idp(adjust: impl FnOnce(&mut FakeState)) -> FakeEnv {
    let fake: Fake = Arc::new(Mutex::new(FakeState::default()));
    let idp_listener = listener().await;
    let issuer = format!("http://{}", idp_listener.local_addr().unwrap());
    let key = new_key();
    {
        let mut s = fake.lock().unwrap();
        s.issuer = issuer.clone();
        s.jwks = vec![key.jwk.clone()];
        adjust(&mut s);
    }
    let router = axum::Router::new()
        .route("/.well-known/openid-configuration", get(fake_discovery))
        .route("/jwks", get(fake_jwks))
        .route("/token", post(fake_token))
        .with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(idp_listener, router).await;
    });
    let secret = format!("fake-secret-{}", uuid::Uuid::new_v4().simple());
    let provider = OidcProvider::new("fake", "Fake ID", &issuer, CLIENT_ID, &secret);
    let portal = portal_with(listener().await, vec![provider]).await;
    FakeEnv { portal, fake, key, issuer, secret }
}

fn claims(env: &FakeEnv, nonce: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": env.issuer, "sub": "fake-subject", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
        "nonce": nonce, "email": "fake@idp.example", "email_verified": true,
    })
}

/// Start → (the test plays the provider: the token endpoint answers `make(nonce)`) →
/// callback: where the browser is sent.
async fn fake_round_trip(env: &FakeEnv, make: impl FnOnce(&str) -> String) -> String {
    let browser = Browser::new();
    let start = browser.get(&format!("{}/api/v1/auth/oidc/fake/start", env.portal.url)).await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let q = query(&location(&start));
    {
        let mut s = env.fake.lock().unwrap();
        s.expected_challenge = Some(q["code_challenge"].clone());
        s.id_token = Some(make(&q["nonce"]));
    }
    let back = browser
        .get(&format!("{}/api/v1/auth/oidc/fake/callback?code=the-code&state={}", env.portal.url, q["state"]))
        .await;
    assert_eq!(back.status(), StatusCode::FOUND);
    location(&back)
}

#[tokio::test]
async fn the_token_request_carries_the_pkce_verifier_and_the_client_credentials() {
    let env = with_fake_idp(|_| {}).await;
    let to = fake_round_trip(&env, |nonce| sign(&env.key, Some(&env.key.kid), &claims(&env, nonce))).await;
    // The token passed every check; nobody has linked this identity.
    assert_eq!(to, "/sign-in?error=not_linked&provider=fake");
    let last_request = |env: &FakeEnv| env.fake.lock().unwrap().token_requests.last().expect("a token request").clone();
    let (form, auth) = last_request(&env);
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], format!("{}/api/v1/auth/oidc/fake/callback", env.portal.url));
    assert_eq!(form["code_verifier"].len(), 43, "a verifier went with the code");
    assert!(!form.contains_key("client_secret"), "client_secret_basic: the secret is not in the body");
    let basic = auth.expect("client_secret_basic").strip_prefix("Basic ").expect("Basic").to_owned();
    let decoded = String::from_utf8(STANDARD.decode(basic).unwrap()).unwrap();
    assert_eq!(decoded, format!("{CLIENT_ID}:{}", env.secret));

    // A provider that takes only client_secret_post gets the credentials in the body.
    let env = with_fake_idp(|s| s.auth_methods = Some(vec!["client_secret_post".into()])).await;
    let to = fake_round_trip(&env, |nonce| sign(&env.key, Some(&env.key.kid), &claims(&env, nonce))).await;
    assert_eq!(to, "/sign-in?error=not_linked&provider=fake");
    let (form, auth) = last_request(&env);
    assert!(auth.is_none());
    assert_eq!((form["client_id"].as_str(), form["client_secret"].as_str()), (CLIENT_ID, env.secret.as_str()));

    // A provider that refuses the verifier: the sign-in fails.
    let env = with_fake_idp(|_| {}).await;
    let browser = Browser::new();
    let start = browser.get(&format!("{}/api/v1/auth/oidc/fake/start", env.portal.url)).await;
    let q = query(&location(&start));
    env.fake.lock().unwrap().expected_challenge = Some("not-the-challenge".into());
    let back =
        browser.get(&format!("{}/api/v1/auth/oidc/fake/callback?code=c&state={}", env.portal.url, q["state"])).await;
    assert_eq!(location(&back), "/sign-in?error=failed&provider=fake");
    assert_eq!(details(&last_event(&env.portal.app, "auth.oidc").await)["reason"], "token_exchange_failed");
}

type Make<'a> = Box<dyn Fn(&str) -> String + 'a>;

/// An honest token for the flow's nonce, changed by `f`, signed with the provider's key.
fn tweaked<'a>(env: &'a FakeEnv, f: impl Fn(&mut Value) + 'a) -> Make<'a> {
    Box::new(move |nonce: &str| {
        let mut c = claims(env, nonce);
        f(&mut c);
        sign(&env.key, Some(&env.key.kid), &c)
    })
}

#[tokio::test]
async fn id_tokens_that_fail_any_check_are_refused() {
    let env = with_fake_idp(|_| {}).await;
    let other_key = new_key();
    let now = chrono::Utc::now().timestamp();
    let unsigned = |c: &Value| {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
        format!("{h}.{}.", URL_SAFE_NO_PAD.encode(c.to_string()))
    };
    let with = |f: fn(&mut Value, i64)| tweaked(&env, move |c| f(c, now));
    let cases: Vec<(&str, Make)> = vec![
        ("wrong_nonce", with(|c, _| c["nonce"] = json!("another-flows-nonce"))),
        (
            "missing_nonce",
            with(|c, _| {
                c.as_object_mut().expect("claims").remove("nonce");
            }),
        ),
        ("wrong_audience", with(|c, _| c["aud"] = json!("someone-else"))),
        ("missing_azp", with(|c, _| c["aud"] = json!([CLIENT_ID, "someone-else"]))),
        ("wrong_azp", with(|c, _| c["azp"] = json!("someone-else"))),
        ("wrong_issuer", with(|c, _| c["iss"] = json!("https://evil.example"))),
        ("expired", with(|c, now| c["exp"] = json!(now - 3600))),
        ("issued_in_future", with(|c, now| c["iat"] = json!(now + 3600))),
        ("too_old", with(|c, now| c["iat"] = json!(now - 7200))),
        ("algorithm_not_allowed", Box::new(|nonce: &str| unsigned(&claims(&env, nonce)))),
        (
            "algorithm_not_allowed",
            Box::new(|nonce: &str| {
                // "Signed" with the client secret: HMAC proves nothing about the provider.
                let h = Header { kid: Some(env.key.kid.clone()), ..Header::new(Algorithm::HS256) };
                jsonwebtoken::encode(&h, &claims(&env, nonce), &EncodingKey::from_secret(env.secret.as_bytes()))
                    .unwrap()
            }),
        ),
        ("bad_signature", Box::new(|nonce: &str| sign(&other_key, Some(&env.key.kid), &claims(&env, nonce)))),
        ("unknown_key", Box::new(|nonce: &str| sign(&other_key, Some(&other_key.kid), &claims(&env, nonce)))),
    ];
    for (reason, make) in cases {
        let to = fake_round_trip(&env, |nonce| make(nonce)).await;
        assert_eq!(to, "/sign-in?error=failed&provider=fake", "{reason}");
        let e = last_event(&env.portal.app, "auth.oidc").await;
        assert_eq!(details(&e)["reason"], reason, "{reason}: {}", e.details);
        assert_eq!(e.outcome, "denied", "{reason}");
    }
    // And the same flow with an honest token passes every check.
    let to = fake_round_trip(&env, |nonce| sign(&env.key, Some(&env.key.kid), &claims(&env, nonce))).await;
    assert_eq!(to, "/sign-in?error=not_linked&provider=fake");
    assert_eq!(links(&env.portal.app).await.len(), 0);
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_is_refused() {
    let env = with_fake_idp(|s| s.discovery_issuer = Some("https://accounts.example".into())).await;
    let browser = Browser::new();
    let start = browser.get(&format!("{}/api/v1/auth/oidc/fake/start", env.portal.url)).await;
    assert_eq!(start.status(), StatusCode::FOUND);
    assert_eq!(location(&start), "/sign-in?error=unavailable&provider=fake");
    assert!(cookie_named(&set_cookies(start.headers()), "doorstep_oidc").is_none());
}

#[tokio::test]
async fn key_sets_are_fetched_again_for_a_new_key_but_not_for_every_unknown_one() {
    let env = with_fake_idp(|_| {}).await;
    let jwks_uri = format!("{}/jwks", env.issuer);
    let expected = Expected { issuer: &env.issuer, client_id: CLIENT_ID, nonce: "n-1" };
    let token = |key: &TestKey| sign(key, Some(&key.kid), &claims(&env, "n-1"));
    let hits = || env.fake.lock().unwrap().jwks_hits;

    // The default: at most one fetch per gap, however many unknown key ids arrive.
    let oidc = Oidc::new().unwrap();
    let first = id_token::verify(&oidc, &jwks_uri, &token(&env.key), &expected).await.expect("a good token");
    assert_eq!((first.subject.as_str(), first.email_verified), ("fake-subject", true));
    assert_eq!(hits(), 1);
    id_token::verify(&oidc, &jwks_uri, &token(&env.key), &expected).await.expect("cached");
    assert_eq!(hits(), 1, "the key set is cached");
    let rotated = new_key();
    env.fake.lock().unwrap().jwks = vec![rotated.jwk.clone()];
    for _ in 0..5 {
        let err = id_token::verify(&oidc, &jwks_uri, &token(&new_key()), &expected).await.unwrap_err();
        assert_eq!(err.reason(), "unknown_key");
    }
    assert_eq!(hits(), 1, "made-up key ids do not make the portal hammer the provider");

    // Once the gap has passed, a new key id fetches the set again, and the rotated key works.
    let oidc = Oidc::new().unwrap().with_jwks_refetch_gap(Duration::ZERO);
    env.fake.lock().unwrap().jwks = vec![env.key.jwk.clone()];
    id_token::verify(&oidc, &jwks_uri, &token(&env.key), &expected).await.expect("old key");
    let before = hits();
    env.fake.lock().unwrap().jwks = vec![rotated.jwk.clone()];
    id_token::verify(&oidc, &jwks_uri, &token(&rotated), &expected).await.expect("the rotated key");
    assert_eq!(hits(), before + 1);
    // The rotated-out key no longer verifies anything.
    let err = id_token::verify(&oidc, &jwks_uri, &token(&env.key), &expected).await.unwrap_err();
    assert_eq!(err.reason(), "unknown_key");
}
