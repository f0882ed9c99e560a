use axum::http::{Method, StatusCode};

use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::new().await;
    app.get("/api/v1/organisations/a").await;
    app.get("/api/v1/organisations/b").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text();
    assert!(
        text.contains(
            r#"doorstep_http_requests_total{method="GET",route="/api/v1/organisations/{slug}",status="404"} 2"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/api/v1/organisations", "/api/v1/nowhere", "/", "/api/docs"] {
        let r = app.get(path).await;
        let csp =
            r.headers.get("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"), "{path}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
        assert!(r.headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn unknown_api_paths_get_the_json_envelope_not_the_app() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/no-such-thing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope_not_a_crash() {
    let app = TestApp::new().await;
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request).await.unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn docs_and_graphiql_pages_load_their_scripts_from_this_server() {
    let app = TestApp::new().await;
    for path in ["/api/docs", "/graphql"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let html = r.text();
        assert!(html.contains("<script src=\"/vendor/"), "{path}");
        assert!(!html.contains("https://"), "{path} must not load anything from another site");
    }
    assert_eq!(app.get("/api/docs/init.js").await.status, StatusCode::OK);
}

#[tokio::test]
async fn graphql_limits_depth_and_batch_size() {
    let app = TestApp::new().await;
    let deep = "{ organisations { items { branding { __typename } } } }";
    let ok = app.graphql(deep).await;
    assert!(ok.get("errors").is_none(), "{ok}");

    let batch: Vec<serde_json::Value> = (0..11).map(|_| serde_json::json!({"query": "{ __typename }"})).collect();
    let r = app.request(Method::POST, "/graphql", Some(serde_json::Value::Array(batch))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["details"]["field"], "batch");

    let too_deep = format!(
        "{{ {}__typename{} }}",
        "__schema { types { fields { type { ofType { ".repeat(3),
        " } } } } }".repeat(3)
    );
    let r = app.graphql(&too_deep).await;
    assert!(r["errors"][0]["message"].as_str().unwrap_or_default().contains("nested too deep"), "{r}");
}
