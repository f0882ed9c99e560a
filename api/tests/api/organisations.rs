use axum::http::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn lists_landlords_with_branding_and_group() {
    let app = TestApp::new().await;
    let parent = app.add_org("pennine-vale", "Pennine Vale Housing Group", None).await;
    app.add_org("calder-riverside", "Calder Riverside Housing", Some(parent)).await;

    let r = app.get("/api/v1/organisations").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["slug"], "pennine-vale");
    assert_eq!(items[0]["parent_slug"], serde_json::Value::Null);
    assert_eq!(items[1]["parent_slug"], "pennine-vale");
    assert_eq!(items[1]["branding"]["primary_colour"], "#1d4f91");
    assert_eq!(items[1]["contacts"]["emergency_phone"], "0113 496 0999");
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn pages_with_cursor_until_the_end() {
    let app = TestApp::new().await;
    for i in 0..5 {
        app.add_org(&format!("org-{i}"), &format!("Org {i}"), None).await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/organisations?limit=2".to_owned();
    loop {
        let body = app.get(&url).await.json();
        for item in body["items"].as_array().unwrap() {
            seen.push(item["slug"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/organisations?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["org-0", "org-1", "org-2", "org-3", "org-4"]);
}

#[tokio::test]
async fn bad_paging_names_the_parameter() {
    let app = TestApp::new().await;
    for (query, field) in
        [("limit=0", "limit"), ("limit=1000", "limit"), ("limit=abc", "limit"), ("cursor=zzz", "cursor")]
    {
        let r = app.get(&format!("/api/v1/organisations?{query}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body = r.json();
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn one_landlord_by_slug_or_a_404_envelope() {
    let app = TestApp::new().await;
    app.add_org("pennine-vale", "Pennine Vale Housing Group", None).await;
    let r = app.get("/api/v1/organisations/pennine-vale").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["name"], "Pennine Vale Housing Group");

    let r = app.get("/api/v1/organisations/no-such-landlord").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn graphql_answers_the_same_as_rest() {
    let app = TestApp::new().await;
    let parent = app.add_org("pennine-vale", "Pennine Vale Housing Group", None).await;
    app.add_org("calder-riverside", "Calder Riverside Housing", Some(parent)).await;
    let rest = app.get("/api/v1/organisations/calder-riverside").await.json();
    let gql = app
        .graphql(r#"{ organisation(slug: "calder-riverside") { slug name parentSlug branding { primaryColour } contacts { emergencyPhone } } }"#)
        .await;
    let o = &gql["data"]["organisation"];
    assert_eq!(o["name"], rest["name"]);
    assert_eq!(o["parentSlug"], rest["parent_slug"]);
    assert_eq!(o["branding"]["primaryColour"], rest["branding"]["primary_colour"]);
    assert_eq!(o["contacts"]["emergencyPhone"], rest["contacts"]["emergency_phone"]);

    let missing = app.graphql(r#"{ organisation(slug: "nope") { slug } }"#).await;
    assert_eq!(missing["errors"][0]["extensions"]["code"], "not_found");

    let page = app.graphql("{ organisations(limit: 1) { items { slug } nextCursor } }").await;
    assert_eq!(page["data"]["organisations"]["items"][0]["slug"], "pennine-vale");
    assert!(page["data"]["organisations"]["nextCursor"].is_string());
}
