//! The checked-in contracts must match what the code serves. Regenerate with `just openapi`.

use axum::http::StatusCode;

use crate::support::TestApp;

/// Fails with the first line that differs, rather than two whole documents.
fn assert_same(served: &str, checked_in: &str, name: &str) {
    if served == checked_in {
        return;
    }
    let line = served
        .lines()
        .zip(checked_in.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| served.lines().count().min(checked_in.lines().count()));
    panic!(
        "openapi/{name} is stale: run `just openapi`. First difference at line {}:\n  code:       {}\n  checked in: {}",
        line + 1,
        served.lines().nth(line).unwrap_or("(end)"),
        checked_in.lines().nth(line).unwrap_or("(end)")
    );
}

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("openapi").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just openapi`", path.display()))
}

#[tokio::test]
async fn served_openapi_document_matches_the_checked_in_one() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_same(&r.text(), &repo_file("openapi.json"), "openapi.json");
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/organisations/{slug}"]["get"].is_object());
}

#[test]
fn graphql_sdl_matches_the_checked_in_one() {
    assert_same(&doorstep::graphql::sdl(), &repo_file("schema.graphql"), "schema.graphql");
}

#[test]
fn every_documented_operation_documents_its_errors_as_the_envelope() {
    let doc: serde_json::Value = serde_json::from_str(&doorstep::openapi::document_json().unwrap()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorEnvelope",
                        "{method} {path} {status} must answer with the error envelope"
                    );
                }
            }
        }
    }
}
