//! Access tokens fail closed when tampered with; refresh tokens rotate and their reuse
//! revokes the family; cookies; logout; signing keys and their rotation.

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use doorstep::domain::identity::tokens::{self, AccessClaims};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::identity_support::*;
use crate::support::TestApp;

async fn app_with_staff() -> (TestApp, String) {
    let app = TestApp::new().await;
    app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let email = staff(&app, "calder-riverside", "customer_service").await;
    (app, email)
}

async fn me_status(app: &TestApp, token: &str) -> (StatusCode, Option<String>) {
    let r = as_bearer(app, token, Method::GET, "/api/v1/me", None).await;
    (r.status, r.headers.get("www-authenticate").map(|v| v.to_str().unwrap_or_default().to_owned()))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    let c = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    (serde_json::from_slice(&h).unwrap(), serde_json::from_slice(&c).unwrap(), it.next().unwrap().to_owned())
}

/// The server's current private key, as someone who stole it would hold it.
async fn current_key(app: &TestApp) -> (String, EncodingKey) {
    use doorstep::entity::signing_key;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let k = signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .order_by_desc(signing_key::Column::Id)
        .one(&app.db.db)
        .await
        .unwrap()
        .expect("a signing key");
    (k.kid, EncodingKey::from_ed_der(&STANDARD.decode(k.private_key).unwrap()))
}

fn sign(kid: &str, key: &EncodingKey, typ: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(typ.into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[tokio::test]
async fn access_tokens_follow_rfc_9068() {
    let (app, email) = app_with_staff().await;
    let body = login_app(&app, &email, STAFF_PASSWORD).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let (header, claims, _) = parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(claims["aud"], "doorstep-api");
    assert_eq!(claims["role"], "customer_service");
    assert_eq!(claims["client_id"], "doorstep-app");
    assert!(claims["org"].is_i64() && claims["sub"].is_string() && claims["jti"].is_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(claims["nbf"], claims["iat"]);

    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, StatusCode::OK);
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0].get("d").is_none(), "no private key material in the JWKS");
}

#[tokio::test]
async fn tampered_tokens_fail_closed() {
    let (app, email) = app_with_staff().await;
    let good = token(&app, &email, STAFF_PASSWORD).await;
    assert_eq!(me_status(&app, &good).await.0, StatusCode::OK);
    let (header, claims, signature) = parts(&good);
    let (kid, key) = current_key(&app).await;
    let now = chrono::Utc::now().timestamp();
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };

    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let other = tokens::generate_ed25519().unwrap();
    let other_key = EncodingKey::from_ed_der(&other.pkcs8_der);
    let mut flipped = signature.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let jwks = app.get("/.well-known/jwks.json").await.json();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.typ = Some("at+jwt".into());
    hs_header.kid = Some(kid.clone());

    let cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{}.{}.", b64(&none_header), b64(&claims))),
        ("alg none, signature kept", format!("{}.{}.{}", b64(&none_header), b64(&claims), signature)),
        ("wrong key", sign(&kid, &other_key, "at+jwt", &claims)),
        ("expired", sign(&kid, &key, "at+jwt", &with(json!({"exp": now - 300, "iat": now - 1200, "nbf": now - 1200})))),
        ("not yet valid", sign(&kid, &key, "at+jwt", &with(json!({"nbf": now + 600})))),
        ("wrong audience", sign(&kid, &key, "at+jwt", &with(json!({"aud": "someone-else"})))),
        ("wrong issuer", sign(&kid, &key, "at+jwt", &with(json!({"iss": "https://evil.example"})))),
        ("wrong typ", sign(&kid, &key, "JWT", &claims)),
        ("no typ", {
            let mut h = Header::new(Algorithm::EdDSA);
            h.typ = None;
            h.kid = Some(kid.clone());
            jsonwebtoken::encode(&h, &claims, &key).unwrap()
        }),
        ("unknown kid", sign("no-such-key", &key, "at+jwt", &claims)),
        ("bad signature", format!("{}.{}.{}", b64(&header), b64(&claims), String::from_utf8(flipped).unwrap())),
        (
            "claims changed after signing",
            format!("{}.{}.{}", b64(&header), b64(&with(json!({"sub": "999"}))), signature),
        ),
        (
            "HS256 keyed with the public key",
            jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(public_x.as_bytes())).unwrap(),
        ),
        ("not a JWT", "definitely.not.ajwt".into()),
        ("empty", String::new()),
    ];
    for (name, token) in cases {
        let (status, www) = me_status(&app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} must be refused");
        assert_eq!(www.as_deref(), Some("Bearer"), "{name}: 401 names the scheme");
    }
    // A token for a user who no longer exists.
    let ghost = sign(&kid, &key, "at+jwt", &with(json!({"sub": "987654"})));
    assert_eq!(me_status(&app, &ghost).await.0, StatusCode::UNAUTHORIZED);
    // The real one still works, and an unknown scheme is refused rather than ignored.
    assert_eq!(me_status(&app, &good).await.0, StatusCode::OK);
    let r = call(&app, Method::GET, "/api/v1/me", None, &[("authorization", "Basic dXNlcjpwYXNz")], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (app, email) = app_with_staff().await;
    let first = login_app(&app, &email, STAFF_PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    assert!(first["refresh_expires_in"].as_i64().unwrap() > 0);

    let r = app.request(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh_token": r1}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access2 = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access2).await.0, StatusCode::OK);

    // A second, parallel sign-in of the same user is a different family.
    let other = login_app(&app, &email, STAFF_PASSWORD).await;
    let other_refresh = other["refresh_token"].as_str().unwrap().to_owned();

    // r1 again: theft. The family dies, r2 with it.
    let r = app.request(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh_token": r1}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh_token": r2}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the whole family is revoked");
    let r = app.request(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh_token": other_refresh}))).await;
    assert_eq!(r.status, StatusCode::OK, "other sign-ins are untouched");

    let admin = staff_token(&app, "calder-riverside", "admin").await;
    let audit =
        as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=auth.token_family_revoked", None).await.json();
    assert_eq!(audit["items"][0]["details"]["reason"], "refresh_token_reuse", "{audit}");
    let text = audit.to_string();
    assert!(!text.contains(&r1) && !text.contains(&r2), "tokens never reach the audit trail");

    // Garbage and nothing are refused.
    let r = app.request(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh_token": "nope"}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::POST, "/api/v1/auth/refresh", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_do_not_end_the_sign_in_but_a_late_replay_does() {
    let (app, email) = app_with_staff().await;
    let r = app
        .request(Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": STAFF_PASSWORD})))
        .await;
    let c1 = cookie_value(r.headers["set-cookie"].to_str().unwrap());
    let cookie1 = format!("doorstep_refresh={c1}");
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie1.as_str())], None).await;
    assert_eq!(r.status, StatusCode::OK);
    let c2 = cookie_value(r.headers["set-cookie"].to_str().unwrap());

    // The second tab presents the same cookie a moment later: told to retry, nothing revoked.
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie1.as_str())], None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.headers.get("set-cookie").is_none(), "the cookie the first tab got is kept");
    let cookie2 = format!("doorstep_refresh={c2}");
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie2.as_str())], None).await;
    assert_eq!(r.status, StatusCode::OK, "the retry with the new cookie works");
    let c3 = cookie_value(r.headers["set-cookie"].to_str().unwrap());

    // The same reuse long after the rotation is theft: the family is revoked.
    let stale = chrono::Utc::now() - chrono::Duration::minutes(5);
    exec(
        &app.db.db,
        "UPDATE refresh_token SET used_at = $1 WHERE used_at IS NOT NULL",
        vec![sea_orm::Value::from(stale)],
    )
    .await;
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie1.as_str())], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let cookie3 = format!("doorstep_refresh={c3}");
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie3.as_str())], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the whole family went");
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().strip_prefix("doorstep_refresh=").unwrap().to_owned()
}

#[tokio::test]
async fn the_spa_keeps_its_refresh_token_in_a_strict_http_only_cookie() {
    let (app, email) = app_with_staff().await;
    let r = app
        .request(Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": STAFF_PASSWORD})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json().get("refresh_token").is_none(), "the SPA never sees the refresh token");
    assert_eq!(r.headers["cache-control"], "no-store");
    let set = r.headers["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth", "Max-Age="] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Secure"), "plain-http localhost: no Secure flag by default");
    let c1 = cookie_value(&set);

    let cookie = format!("doorstep_refresh={c1}");
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie.as_str())], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c2 = cookie_value(r.headers["set-cookie"].to_str().unwrap());
    assert_ne!(c1, c2);

    // Logout revokes and clears the cookie; the token no longer refreshes.
    let cookie2 = format!("theme=dark; doorstep_refresh={c2}");
    let r = call(&app, Method::POST, "/api/v1/auth/logout", None, &[("cookie", cookie2.as_str())], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let r = call(&app, Method::POST, "/api/v1/auth/refresh", None, &[("cookie", cookie2.as_str())], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "a dead cookie is cleared");
    // Logging out twice is fine.
    let r = call(&app, Method::POST, "/api/v1/auth/logout", None, &[("cookie", cookie2.as_str())], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let admin = staff_token(&app, "calder-riverside", "admin").await;
    let audit = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=auth.logout", None).await.json();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cookies_are_secure_when_configured() {
    let app = TestApp::new_with(|c| c.cookie_secure = true).await;
    app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let email = staff(&app, "calder-riverside", "admin").await;
    let r = app
        .request(Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": STAFF_PASSWORD})))
        .await;
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("; Secure"));
    let config =
        doorstep::Config::load_from(None, [("DOORSTEP_PUBLIC_URL".to_owned(), "https://portal.example".to_owned())])
            .unwrap();
    assert!(config.cookie_secure, "https portals get Secure cookies by default");
    let config = doorstep::Config::load_from(
        None,
        [
            ("DOORSTEP_PUBLIC_URL".to_owned(), "https://portal.example".to_owned()),
            ("DOORSTEP_COOKIE_SECURE".to_owned(), "false".to_owned()),
        ],
    )
    .unwrap();
    assert!(!config.cookie_secure);
}

#[tokio::test]
async fn a_rotated_key_verifies_its_tokens_until_it_leaves_the_jwks() {
    let (app, email) = app_with_staff().await;
    let old = token(&app, &email, STAFF_PASSWORD).await;
    let old_kid = parts(&old).0["kid"].as_str().unwrap().to_owned();

    let new_kid = tokens::rotate(&app.db.db).await.unwrap();
    assert_ne!(new_kid, old_kid);
    app.state.identity.keys.invalidate();

    // Both keys published; the old token still works; new tokens use the new key.
    let kids: Vec<String> = app.get("/.well-known/jwks.json").await.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, [new_kid.clone(), old_kid.clone()]);
    assert_eq!(me_status(&app, &old).await.0, StatusCode::OK);
    let fresh = token(&app, &email, STAFF_PASSWORD).await;
    assert_eq!(parts(&fresh).0["kid"], new_kid.as_str());

    // An hour later the old key leaves the JWKS, and its tokens stop working.
    exec(
        &app.db.db,
        "UPDATE signing_key SET retired_at = $1 WHERE kid = $2",
        vec![(chrono::Utc::now() - chrono::Duration::hours(2)).into(), old_kid.clone().into()],
    )
    .await;
    app.state.identity.keys.invalidate();
    let kids = app.get("/.well-known/jwks.json").await.json()["keys"].as_array().unwrap().len();
    assert_eq!(kids, 1);
    assert_eq!(me_status(&app, &old).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn another_node_rotating_is_noticed_without_waiting() {
    // Two app states over one database stand in for two API nodes.
    let (app, email) = app_with_staff().await;
    let node_b = doorstep::AppState::new(app.db.db.clone(), app.db.config()).unwrap();
    let t = token(&app, &email, STAFF_PASSWORD).await;
    let claims: AccessClaims =
        node_b.identity.keys.verify(&app.db.db, &t).await.expect("node B verifies node A's token");
    assert_eq!(claims.role, "customer_service");

    tokens::rotate(&app.db.db).await.unwrap();
    // Node A still has the old key cached and signs with it; node B learns the new key the
    // first time it meets it.
    app.state.identity.keys.invalidate();
    let t2 = token(&app, &email, STAFF_PASSWORD).await;
    assert!(node_b.identity.keys.verify(&app.db.db, &t2).await.is_ok());
}
