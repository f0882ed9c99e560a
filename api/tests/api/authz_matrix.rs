//! The authorization matrix. Every REST operation on an object (a path with a `{param}`),
//! every staff operation and every operation that declares security, as the served
//! OpenAPI document lists them, is called with ids of objects that belong to tenant A /
//! landlord A by:
//!
//! - an anonymous caller, who must get 401;
//! - tenant B (another tenancy), staff of landlord B (an admin and customer service) and an
//!   API key of landlord B with every scope, who must get 404 on an object route (never the
//!   object; 403 is allowed only on collection routes), and whose 2xx answers must hold
//!   nothing of A.
//!
//! Then A's own tenant and staff call each object route, to prove the ids were real and the
//! matrix did not pass by asking about nothing. GraphQL fields that take ids are walked the
//! same way, from the schema's introspection.
//!
//! A route added later is covered without touching this file, unless its parameters are
//! new: then the test fails and says which mapping to add below.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::identity_support::*;
use crate::support::{TestApp, TestResponse};

/// Operations that are public on purpose, even though their path has a parameter.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/api/v1/organisations/{slug}"),
    // External sign-in: the redirect to the provider and the provider's redirect back.
    ("get", "/api/v1/auth/oidc/{provider}/start"),
    ("get", "/api/v1/auth/oidc/{provider}/callback"),
    // Payment providers authenticate by signing the body, not as a caller.
    ("post", "/api/v1/webhooks/{provider}"),
];

/// Which fixture fills `{param}` on paths starting with the prefix. Longest prefix wins.
const PARAMS: &[(&str, &str, Fixture)] = &[
    ("/api/v1/staff/registrations/", "id", Fixture::Registration),
    ("/api/v1/staff/api-keys/", "id", Fixture::ApiKey),
    ("/api/v1/staff/users/", "id", Fixture::TenantUser),
    ("/api/v1/staff/tenants/", "id", Fixture::Tenancy),
    ("/api/v1/accounts/", "id", Fixture::Account),
    ("/api/v1/payments/", "id", Fixture::Payment),
    ("/api/v1/properties/", "id", Fixture::Property),
    ("/api/v1/tenancies/", "id", Fixture::Tenancy),
    ("/api/v1/staff/reconciliation/runs/", "id", Fixture::ReconciliationRun),
    ("/api/v1/staff/reconciliation/items/", "id", Fixture::ReconciliationItem),
    ("/api/v1/staff/suspense/", "id", Fixture::SuspensePayment),
];

/// Required query parameters, by name.
fn query_value(name: &str) -> Option<String> {
    match name {
        "date" => Some(chrono::Utc::now().date_naive().to_string()),
        "from" => Some("2020-01-01".into()),
        "to" => Some(chrono::Utc::now().date_naive().to_string()),
        // A search for A's tenant: other landlords' callers must find nothing of theirs.
        "q" => Some("Quillfeather".into()),
        _ => None,
    }
}

/// Bodies for operations that take one, by method and path template.
fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("post", "/api/v1/staff/registrations/{id}/reject") => Some(json!({"reason": "matrix"})),
        ("post", "/api/v1/staff/api-keys") => Some(json!({"name": "matrix probe", "scopes": ["audit:read"]})),
        ("post", "/api/v1/accounts/{id}/payments") => Some(json!({"amount_pence": 1000})),
        ("post", "/api/v1/staff/reconciliation/items/{id}/resolve") => {
            Some(json!({"action": "note", "note": "matrix"}))
        }
        ("post", "/api/v1/staff/suspense/{id}/allocate") => Some(json!({"account_id": 1, "note": "matrix"})),
        ("post", "/api/v1/staff/suspense/{id}/close") => Some(json!({"note": "matrix"})),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Fixture {
    Registration,
    ApiKey,
    TenantUser,
    Account,
    Property,
    Tenancy,
    Payment,
    ReconciliationRun,
    ReconciliationItem,
    SuspensePayment,
}

struct World {
    app: TestApp,
    registration_id: i64,
    api_key_id: i64,
    tenant_a_user_id: i64,
    home_a: Home,
    payment_a: String,
    income_a: IncomeFixtures,
    /// Strings only A's objects contain.
    markers: Vec<String>,
    tenant_a: String,
    staff_a: String,
    callers: Vec<(&'static str, Vec<(String, String)>)>,
}

impl World {
    fn fixture(&self, f: Fixture) -> String {
        match f {
            Fixture::Registration => self.registration_id.to_string(),
            Fixture::ApiKey => self.api_key_id.to_string(),
            Fixture::TenantUser => self.tenant_a_user_id.to_string(),
            Fixture::Account => self.home_a.account_id.to_string(),
            Fixture::Property => self.home_a.property_id.to_string(),
            Fixture::Tenancy => self.home_a.tenancy_id.to_string(),
            Fixture::Payment => self.payment_a.clone(),
            Fixture::ReconciliationRun => self.income_a.run_id.to_string(),
            Fixture::ReconciliationItem => self.income_a.item_id.to_string(),
            Fixture::SuspensePayment => self.income_a.suspense_id.to_string(),
        }
    }

    /// The fixture as a GraphQL literal: ids are numbers, payment ids strings.
    fn gql_literal(&self, f: Fixture) -> String {
        match f {
            Fixture::Payment => format!("{:?}", self.payment_a),
            other => self.fixture(other),
        }
    }
}

async fn world() -> World {
    let app = TestApp::new().await;
    let org_a = app.add_org("alder-matrix", "Alder Matrix Homes", None).await;
    let org_b = app.add_org("birch-matrix", "Birch Matrix Homes", None).await;
    let home_a = home(&app.db.db, org_a, "Quentin", "Quillfeather", "HX1 2AB", 4_321).await;
    let home_b = home(&app.db.db, org_b, "Bea", "Bramble", "LS9 8AB", 0).await;

    let cs_a = staff_token(&app, "alder-matrix", "customer_service").await;
    let staff_a = staff_token(&app, "alder-matrix", "admin").await;
    let tenant_a =
        tenant_with_sign_in(&app, &home_a, &cs_a, "tenant.a@matrix.example", "alder tenant passphrase").await;
    let tenant_a_user_id =
        as_bearer(&app, &tenant_a, Method::GET, "/api/v1/me", None).await.json()["user"]["id"].as_i64().unwrap();
    // A second request of A's, validated and waiting for its letter.
    register(&app, &home_a, "second.a@matrix.example").await;
    let registration_id = registration_id(&app, &cs_a, &home_a.account_number).await;
    let r =
        as_bearer(&app, &cs_a, Method::POST, &format!("/api/v1/staff/registrations/{registration_id}/validate"), None)
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "A's tenant already has a sign-in: {}", r.text());
    let r = as_bearer(
        &app,
        &staff_a,
        Method::POST,
        "/api/v1/staff/api-keys",
        Some(json!({"name": "matrix key of alder", "scopes": ["registrations:read"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let api_key_id = r.json()["id"].as_i64().unwrap();

    // A payment A's tenant started.
    let payment_a = format!("pi_matrix{}", uuid::Uuid::new_v4().simple());
    exec(
        &app.db.db,
        "INSERT INTO payment_intent (public_id, account_id, user_id, amount_pence, provider, status, idempotency_key, \
         request_hash, created_at, updated_at) VALUES ($1, $2, $3, 1000, 'sandbox', 'pending', 'matrix', 'x', $4, $4)",
        vec![payment_a.clone().into(), home_a.account_id.into(), tenant_a_user_id.into(), chrono::Utc::now().into()],
    )
    .await;
    let income_a = income_fixtures(&app, org_a, &home_a).await;

    let cs_b = staff_token(&app, "birch-matrix", "customer_service").await;
    let tenant_b =
        tenant_with_sign_in(&app, &home_b, &cs_b, "tenant.b@matrix.example", "birch tenant passphrase").await;
    let admin_b = staff_token(&app, "birch-matrix", "admin").await;
    let all_scopes: Vec<&str> = doorstep::domain::identity::model::Scope::ALL.iter().map(|s| s.as_str()).collect();
    let key_b = as_bearer(
        &app,
        &admin_b,
        Method::POST,
        "/api/v1/staff/api-keys",
        Some(json!({"name": "matrix key of birch", "scopes": all_scopes})),
    )
    .await
    .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let bearer = |t: &str| vec![("authorization".to_owned(), format!("Bearer {t}"))];
    let callers = vec![
        ("anonymous", vec![]),
        ("tenant B", bearer(&tenant_b)),
        ("admin of B", bearer(&admin_b)),
        ("customer service of B", bearer(&cs_b)),
        ("API key of B", vec![("authorization".to_owned(), format!("ApiKey {key_b}"))]),
    ];
    let markers = vec![
        "Quillfeather".to_owned(),
        home_a.tenancy_ref.clone(),
        home_a.account_number.clone(),
        "tenant.a@matrix.example".to_owned(),
        "second.a@matrix.example".to_owned(),
        "matrix key of alder".to_owned(),
        "Alder Matrix Homes".to_owned(),
        "alder-matrix".to_owned(),
    ];
    World {
        app,
        registration_id,
        api_key_id,
        tenant_a_user_id,
        home_a,
        payment_a,
        income_a,
        markers,
        tenant_a,
        staff_a,
        callers,
    }
}

struct Operation {
    method: String,
    template: String,
    path: String,
    body: Option<Value>,
    is_object: bool,
}

fn operations(doc: &Value, w: &World) -> Vec<Operation> {
    let mut ops = Vec::new();
    let mut missing = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let is_object = template.contains('{');
            let is_staff = template.starts_with("/api/v1/staff/");
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            if !(is_object || is_staff || secured) || PUBLIC.contains(&(method.as_str(), template.as_str())) {
                continue;
            }
            let mut path = template.clone();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let name = p["name"].as_str().unwrap_or_default().to_owned();
                match p["in"].as_str() {
                    Some("path") => {
                        let fixture = PARAMS
                            .iter()
                            .filter(|(prefix, param, _)| template.starts_with(prefix) && *param == name)
                            .max_by_key(|(prefix, _, _)| prefix.len())
                            .map(|(_, _, f)| *f);
                        match fixture {
                            Some(f) => path = path.replace(&format!("{{{name}}}"), &w.fixture(f).to_string()),
                            None => missing
                                .push(format!("path parameter {{{name}}} of {method} {template}: add it to PARAMS")),
                        }
                    }
                    Some("query") if p["required"] == true => match query_value(&name) {
                        Some(v) => query.push(format!("{name}={v}")),
                        None => missing
                            .push(format!("query parameter {name} of {method} {template}: add it to query_value")),
                    },
                    _ => {}
                }
            }
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let body = if op.get("requestBody").is_some_and(|b| b["required"] == true) {
                let b = body_for(method, template);
                if b.is_none() {
                    missing.push(format!("request body of {method} {template}: add it to body_for"));
                }
                b
            } else {
                None
            };
            ops.push(Operation { method: method.clone(), template: template.clone(), path, body, is_object });
        }
    }
    assert!(missing.is_empty(), "the authorization matrix cannot call every route:\n{}", missing.join("\n"));
    ops
}

async fn send(w: &World, op: &Operation, headers: &[(String, String)]) -> TestResponse {
    let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).expect("method");
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    call(&w.app, method, &op.path, op.body.clone(), &h, None).await
}

fn leaks(w: &World, r: &TestResponse) -> Option<String> {
    let text = if r.body.starts_with(b"%PDF-") { pdf_text(&r.body) } else { r.text() };
    w.markers.iter().find(|m| text.contains(m.as_str())).cloned()
}

#[tokio::test]
async fn no_caller_reaches_another_tenants_or_landlords_objects() {
    let w = world().await;
    let doc = w.app.get("/api/v1/openapi.json").await.json();
    let ops = operations(&doc, &w);
    assert!(ops.iter().filter(|o| o.is_object).count() >= 6, "the matrix must have object routes to walk");
    let mut failures = Vec::new();
    for op in &ops {
        for (who, headers) in &w.callers {
            let r = send(&w, op, headers).await;
            let s = r.status;
            let ok = if *who == "anonymous" {
                s == StatusCode::UNAUTHORIZED && r.headers.contains_key("www-authenticate")
            } else if op.is_object {
                s == StatusCode::NOT_FOUND
            } else {
                s.is_success() || s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND
            };
            if !ok {
                failures.push(format!("{who}: {} {} answered {s}: {}", op.method, op.path, r.text()));
            }
            if let Some(m) = leaks(&w, &r) {
                failures.push(format!("{who}: {} {} leaked {m:?} of A", op.method, op.path));
            }
            if s.is_client_error() && r.body.first() != Some(&b'{') {
                failures.push(format!("{who}: {} {} answered {s} outside the error envelope", op.method, op.path));
            }
        }
    }
    assert!(failures.is_empty(), "authorization holes:\n{}", failures.join("\n"));

    // The ids were real: A's own staff or tenant reach every object route.
    let owners = [
        ("admin of A", vec![("authorization".to_owned(), format!("Bearer {}", w.staff_a))]),
        ("tenant A", vec![("authorization".to_owned(), format!("Bearer {}", w.tenant_a))]),
    ];
    for op in ops.iter().filter(|o| o.is_object) {
        let mut reached = Vec::new();
        for (who, headers) in &owners {
            let r = send(&w, op, headers).await;
            if !matches!(r.status, StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                reached.push(*who);
            }
        }
        assert!(!reached.is_empty(), "{} {}: not even A's own callers reach the fixture", op.method, op.template);
    }
}

/// A field of the GraphQL schema, from introspection.
struct Field {
    root: &'static str,
    name: String,
    /// Name and whether it is required.
    args: Vec<(String, bool)>,
    returns_object: bool,
}

fn named_type(t: &Value) -> (String, String) {
    let mut t = t;
    while t["name"].is_null() && !t["ofType"].is_null() {
        t = &t["ofType"];
    }
    (t["kind"].as_str().unwrap_or_default().to_owned(), t["name"].as_str().unwrap_or_default().to_owned())
}

async fn id_fields(app: &TestApp) -> Vec<Field> {
    let q = "{ __schema { queryType { fields { name args { name type { kind name ofType { kind name ofType { kind name } } } } \
             type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } \
             mutationType { fields { name args { name type { kind name ofType { kind name ofType { kind name } } } } \
             type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let schema = app.graphql(q).await;
    assert!(schema.get("errors").is_none(), "{schema}");
    let mut out = Vec::new();
    for (root, key) in [("query", "queryType"), ("mutation", "mutationType")] {
        for f in schema["data"]["__schema"][key]["fields"].as_array().cloned().unwrap_or_default() {
            let args: Vec<(String, bool)> = f["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["name"].as_str().unwrap().to_owned(), a["type"]["kind"] == "NON_NULL"))
                .collect();
            if !args.iter().any(|(n, _)| n == "id" || n.ends_with("Id")) {
                continue;
            }
            let (kind, _) = named_type(&f["type"]);
            out.push(Field {
                root,
                name: f["name"].as_str().unwrap().to_owned(),
                args,
                returns_object: kind == "OBJECT",
            });
        }
    }
    out
}

/// The fixture behind a GraphQL field's id argument, by field name.
fn gql_fixture(field: &str) -> Option<Fixture> {
    match field {
        "registration" | "validateRegistration" | "rejectRegistration" => Some(Fixture::Registration),
        "account" | "accountTransactions" | "pay" => Some(Fixture::Account),
        "payment" => Some(Fixture::Payment),
        "property" => Some(Fixture::Property),
        "tenancy" | "staffTenant" => Some(Fixture::Tenancy),
        "reconciliationRun" | "reconciliationItems" => Some(Fixture::ReconciliationRun),
        "noteReconciliationItem" | "closeReconciliationItem" => Some(Fixture::ReconciliationItem),
        "allocateSuspensePayment" | "closeSuspensePayment" => Some(Fixture::SuspensePayment),
        _ => None,
    }
}

#[tokio::test]
async fn no_caller_reaches_another_tenants_or_landlords_objects_over_graphql() {
    let w = world().await;
    let fields = id_fields(&w.app).await;
    assert!(fields.len() >= 3, "the matrix must have GraphQL fields to walk");
    let mut failures = Vec::new();
    let mut queries = Vec::new();
    for f in &fields {
        let Some(fixture) = gql_fixture(&f.name) else {
            failures.push(format!("{} field {} takes an id: add it to gql_fixture", f.root, f.name));
            continue;
        };
        let mut args = Vec::new();
        for (name, required) in &f.args {
            if name == "id" || name.ends_with("Id") {
                args.push(format!("{name}: {}", w.gql_literal(fixture)));
            } else if name == "reason" || name == "note" {
                args.push(format!("{name}: \"matrix\""));
            } else if name == "amountPence" {
                args.push(format!("{name}: 1000"));
            } else if name == "idempotencyKey" {
                args.push(format!("{name}: \"matrix-probe\""));
            } else if !required {
                continue;
            } else {
                failures.push(format!("{} field {}: no value for argument {name}", f.root, f.name));
            }
        }
        let selection = if f.returns_object { " { __typename }" } else { "" };
        let op = if f.root == "mutation" { "mutation " } else { "" };
        queries.push((f.name.clone(), format!("{op}{{ {}({}){selection} }}", f.name, args.join(", "))));
    }
    for (field, q) in &queries {
        for (who, headers) in &w.callers {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = call(&w.app, Method::POST, "/graphql", Some(json!({ "query": q })), &h, None).await;
            assert_eq!(r.status, StatusCode::OK, "{who}: {q}: {}", r.text());
            let body = r.json();
            let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();
            let data_empty = body["data"].is_null() || body["data"][field].is_null();
            let expected = if *who == "anonymous" { code == "unauthorized" } else { code == "not_found" };
            if !data_empty || !expected {
                failures.push(format!("{who}: {q} answered {body}"));
            }
            if let Some(m) = leaks(&w, &r) {
                failures.push(format!("{who}: {q} leaked {m:?}"));
            }
        }
        // A's own admin reaches it.
        let r = graphql_as(&w.app, Some(&w.staff_a), q).await;
        let code = r["errors"][0]["extensions"]["code"].as_str().unwrap_or_default();
        if matches!(code, "not_found" | "unauthorized" | "forbidden") {
            failures.push(format!("admin of A: {q} answered {r}: the fixture is not real"));
        }
    }
    assert!(failures.is_empty(), "GraphQL authorization holes:\n{}", failures.join("\n"));
}

/// A's reconciliation objects: a run of A's payments only, its item, and money in suspense
/// that belongs to A.
struct IncomeFixtures {
    run_id: i64,
    item_id: i64,
    suspense_id: i64,
}

async fn income_fixtures(app: &TestApp, org_a: i64, home_a: &Home) -> IncomeFixtures {
    use doorstep::domain::reconciliation::{self, NoProgress, RunRequest};
    use sea_orm::EntityTrait;
    let text = format!(
        "payment_id,account_number,amount_pence,channel,paid_at,reference\npay_matrix_a,{},1000,web,2026-01-05T10:00:00Z,\n",
        home_a.account_number
    );
    let file = reconciliation::parse("matrix-eod.csv", text.as_bytes(), chrono::Utc::now()).expect("a valid file");
    let request = RunRequest { provider: "sandbox", started_by: "matrix" };
    let done = reconciliation::reconcile(&app.db.db, &app.state.live, &file, request, &NoProgress).await.expect("run");
    let item_id = doorstep::entity::reconciliation_item::Entity::find()
        .one(&app.db.db)
        .await
        .expect("item")
        .map(|i| i.id)
        .expect("the run has an item");
    exec(
        &app.db.db,
        "INSERT INTO suspense_payment (organisation_id, provider, provider_payment_id, account_reference, amount_pence, \
         channel, paid_at, received_at, origin, status) VALUES ($1, 'sandbox', 'pay_matrix_s', 'A-REF', 500, 'web', $2, $2, \
         'webhook', 'open')",
        vec![org_a.into(), chrono::Utc::now().into()],
    )
    .await;
    let suspense_id = doorstep::entity::suspense_payment::Entity::find()
        .one(&app.db.db)
        .await
        .expect("suspense")
        .map(|s| s.id)
        .expect("the suspense payment");
    IncomeFixtures { run_id: done.run_id, item_id, suspense_id }
}
