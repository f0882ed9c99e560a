//! Identity over GraphQL: the same caller, the same rules, the same answers as REST.

use axum::http::{Method, StatusCode};

use crate::identity_support::*;
use crate::support::TestApp;

#[tokio::test]
async fn me_and_the_registration_queue_over_graphql() {
    let app = TestApp::new().await;
    let org = app.add_org("calder-riverside", "Calder Riverside Housing", None).await;
    let h = home(&app.db.db, org, "Sam", "Jones", "HX1 2AB", -2_500).await;
    let cs = staff_token(&app, "calder-riverside", "customer_service").await;
    let tenant = tenant_with_sign_in(&app, &h, &cs, "sam@example.com", "kettle orchard lantern").await;

    let q = "{ me { user { email role } person { surname } organisation { name branding { primaryColour } } \
             tenancies { reference property { postcode } housingOfficer { name } accounts { balancePence balanceState } } } }";
    let gql = graphql_as(&app, Some(&tenant), q).await;
    let me = &gql["data"]["me"];
    let rest = as_bearer(&app, &tenant, Method::GET, "/api/v1/me", None).await.json();
    assert_eq!(me["user"]["email"], rest["user"]["email"]);
    assert_eq!(me["person"]["surname"], "Jones");
    assert_eq!(me["tenancies"][0]["reference"], rest["tenancies"][0]["reference"]);
    assert_eq!(me["tenancies"][0]["accounts"][0]["balancePence"], -2_500);
    assert_eq!(me["tenancies"][0]["accounts"][0]["balanceState"], "IN_CREDIT");

    // Anonymous: an error with the REST code, no data.
    let anon = graphql_as(&app, None, "{ me { user { email } } }").await;
    assert_eq!(anon["errors"][0]["extensions"]["code"], "unauthorized", "{anon}");
    assert!(anon["data"].is_null(), "{anon}");

    // A bad token is refused before any resolver runs.
    let r = call(
        &app,
        Method::POST,
        "/graphql",
        Some(serde_json::json!({"query": "{ me { user { email } } }"})),
        &[("authorization", "Bearer not-a-token")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Staff: the queue and a decision; a tenant gets neither.
    let h2 = home(&app.db.db, org, "Kim", "Lee", "HX1 2AB", 0).await;
    register(&app, &h2, "kim@example.com").await;
    let queue = graphql_as(
        &app,
        Some(&cs),
        r#"{ registrations(status: "pending") { items { id status matched { tenancyRef tenants } } } }"#,
    )
    .await;
    let item = &queue["data"]["registrations"]["items"][0];
    assert_eq!(item["matched"]["tenancyRef"], h2.tenancy_ref.as_str(), "{queue}");
    let id = item["id"].as_i64().unwrap();
    let denied = graphql_as(&app, Some(&tenant), "{ registrations { items { id } } }").await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "forbidden", "{denied}");
    let hidden =
        graphql_as(&app, Some(&tenant), &format!("mutation {{ validateRegistration(id: {id}) {{ status }} }}")).await;
    assert_eq!(hidden["errors"][0]["extensions"]["code"], "not_found", "{hidden}");

    let done = graphql_as(
        &app,
        Some(&cs),
        &format!("mutation {{ validateRegistration(id: {id}) {{ status letterDue pinAttempts }} }}"),
    )
    .await;
    assert_eq!(done["data"]["validateRegistration"]["status"], "validated", "{done}");
    let rejected = graphql_as(
        &app,
        Some(&cs),
        &format!(r#"mutation {{ rejectRegistration(id: {id}, reason: "Moved out") {{ status rejectReason }} }}"#),
    )
    .await;
    assert_eq!(rejected["data"]["rejectRegistration"]["rejectReason"], "Moved out", "{rejected}");
}

#[tokio::test]
async fn introspection_follows_the_configuration() {
    let q = "{ __schema { queryType { name } } }";
    let open = TestApp::new().await;
    let r = open.graphql(q).await;
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "QueryRoot", "{r}");

    let closed = TestApp::new_with(|c| c.graphql_introspection = false).await;
    let r = closed.graphql(q).await;
    assert!(r["data"]["__schema"].is_null(), "introspection must answer nothing: {r}");
    let r = closed.graphql(r#"{ __type(name: "QueryRoot") { fields { name } } }"#).await;
    assert!(r["data"]["__type"].is_null(), "{r}");
    // Ordinary queries still work.
    assert!(closed.graphql("{ organisations { items { slug } } }").await.get("errors").is_none());

    let config = doorstep::Config::load_from(None, [("DOORSTEP_GRAPHQL_INTROSPECTION".to_owned(), "false".to_owned())])
        .expect("config");
    assert!(!config.graphql_introspection);
}
