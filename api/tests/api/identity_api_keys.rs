//! API keys: created by admins, shown once, stored hashed, limited to their scopes and
//! organisation, revocable, and their use audited.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::identity_support::*;
use crate::support::{TestApp, TestResponse};

async fn with_key(app: &TestApp, key: &str, method: Method, path: &str) -> TestResponse {
    let auth = format!("ApiKey {key}");
    call(app, method, path, None, &[("authorization", auth.as_str())], None).await
}

#[tokio::test]
async fn keys_are_shown_once_scoped_audited_and_revocable() {
    let app = TestApp::new().await;
    let org = app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let other = app.add_org("pennine-vale", "Pennine Vale Homes", None).await;
    let mine = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", 0).await;
    let theirs = home(&app.db.db, other, "Kim", "Lee", "LS9 8AB", 0).await;
    register(&app, &mine, "sam@example.com").await;
    register(&app, &theirs, "kim@example.com").await;
    let admin = staff_token(&app, "calder-riverside", "admin").await;

    // Only admins create keys, and only with known scopes.
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    let body = json!({"name": "HMS nightly sync", "scopes": ["registrations:read"]});
    assert_eq!(
        as_bearer(&app, &cs, Method::POST, "/api/v1/staff/api-keys", Some(body.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    let r =
        as_bearer(&app, &admin, Method::POST, "/api/v1/staff/api-keys", Some(json!({"name": "x", "scopes": ["root"]})))
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"]["field"], "scopes");
    let r = as_bearer(
        &app,
        &admin,
        Method::POST,
        "/api/v1/staff/api-keys",
        Some(json!({"name": "x", "scopes": ["audit:read"], "organisation": "pennine-vale"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not an organisation of this admin");

    let r = as_bearer(&app, &admin, Method::POST, "/api/v1/staff/api-keys", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap();
    assert!(key.starts_with("dsk_live_") && key.len() > 50, "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["scopes"], json!(["registrations:read"]));
    assert_eq!(created["organisation"], "calder-riverside");

    // Shown once: the list has no key, and the database holds only a hash.
    let list = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/api-keys", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text().contains(&key));
    assert_eq!(list.json()[0]["id"], id);
    use doorstep::entity::api_key;
    use sea_orm::EntityTrait;
    let row = api_key::Entity::find_by_id(id).one(&app.db.db).await.unwrap().unwrap();
    assert_ne!(row.key_hash, key);
    assert_eq!(row.key_hash.len(), 64);

    // Within scope: its own organisation's queue, nothing of the other landlord.
    let r = with_key(&app, &key, Method::GET, "/api/v1/staff/registrations").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["submitted"]["account_number"], mine.account_number.as_str());
    assert!(!r.text().contains(&theirs.account_number));
    let reg = items[0]["id"].as_i64().unwrap();
    // Outside its scopes: 403 on a collection, 404 on an object, and no user for /me.
    assert_eq!(with_key(&app, &key, Method::GET, "/api/v1/staff/audit").await.status, StatusCode::FORBIDDEN);
    let r = with_key(&app, &key, Method::POST, &format!("/api/v1/staff/registrations/{reg}/validate")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(with_key(&app, &key, Method::GET, "/api/v1/me").await.status, StatusCode::FORBIDDEN);
    assert_eq!(with_key(&app, &key, Method::GET, "/api/v1/staff/api-keys").await.status, StatusCode::FORBIDDEN);

    // A wrong key, or one missing its prefix, is a 401.
    assert_eq!(
        with_key(&app, &format!("{key}x"), Method::GET, "/api/v1/staff/registrations").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_key(&app, &key["dsk_live_".len()..], Method::GET, "/api/v1/staff/registrations").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Use is audited (who and which key, never the key).
    let audit = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?action=api_key.used", None).await;
    assert_eq!(audit.json()["items"][0]["actor"], "HMS nightly sync", "{}", audit.text());
    assert_eq!(audit.json()["items"][0]["actor_kind"], "api_key");
    let all = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/audit?limit=100", None).await.text();
    assert!(!all.contains(&key));

    // Another landlord's admin can neither see nor revoke it.
    let their_admin = staff_token(&app, "pennine-vale", "admin").await;
    let r = as_bearer(&app, &their_admin, Method::DELETE, &format!("/api/v1/staff/api-keys/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(as_bearer(&app, &their_admin, Method::GET, "/api/v1/staff/api-keys", None).await.json(), json!([]));

    // Revoked: it stops working at once.
    let r = as_bearer(&app, &admin, Method::DELETE, &format!("/api/v1/staff/api-keys/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(with_key(&app, &key, Method::GET, "/api/v1/staff/registrations").await.status, StatusCode::UNAUTHORIZED);
    let list = as_bearer(&app, &admin, Method::GET, "/api/v1/staff/api-keys", None).await.json();
    assert!(list[0]["revoked_at"].is_string());
}

#[tokio::test]
async fn a_group_admin_sees_its_subsidiaries_and_staff_see_their_own() {
    let app = TestApp::new().await;
    let group = app.add_org("pennine-vale", "Pennine Vale Housing Group", None).await;
    let sub = app.add_org("calder-riverside", "Calder Riverside Housing", Some(group)).await;
    let outside = app.add_org("northgate", "Northgate Homes", None).await;
    for (org, surname, email) in
        [(group, "Ash", "a@example.com"), (sub, "Birch", "b@example.com"), (outside, "Cedar", "c@example.com")]
    {
        let h = home(&app.db.db, org, "Pat", surname, "HX1 2AB", 0).await;
        register(&app, &h, email).await;
    }
    let surnames = |r: TestResponse| -> Vec<String> {
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["submitted"]["surname"].as_str().unwrap().to_owned())
            .collect()
    };
    let group_admin = staff_token(&app, "pennine-vale", "admin").await;
    let group_cs = staff_token(&app, "pennine-vale", "customer_service").await;
    let sub_cs = staff_token(&app, "calder-riverside", "customer_service").await;
    let income = staff_token(&app, "calder-riverside", "income").await;
    assert_eq!(
        surnames(as_bearer(&app, &group_admin, Method::GET, "/api/v1/staff/registrations", None).await),
        ["Ash", "Birch"]
    );
    assert_eq!(surnames(as_bearer(&app, &group_cs, Method::GET, "/api/v1/staff/registrations", None).await), ["Ash"]);
    assert_eq!(surnames(as_bearer(&app, &sub_cs, Method::GET, "/api/v1/staff/registrations", None).await), ["Birch"]);
    // Roles that do not work registrations are refused the queue.
    assert_eq!(
        as_bearer(&app, &income, Method::GET, "/api/v1/staff/registrations", None).await.status,
        StatusCode::FORBIDDEN
    );
    let me = as_bearer(&app, &group_admin, Method::GET, "/api/v1/me", None).await.json();
    assert_eq!(me["staff"]["organisations_in_scope"], json!(["pennine-vale", "calder-riverside"]));
}
