//! REST transport: thin handlers over `domain`, registered with their OpenAPI description
//! so that the route table and the document cannot drift.

pub mod accounts;
pub mod auth;
pub mod bench_baseline;
pub mod extract;
pub mod health;
pub mod me;
pub mod organisations;
pub mod pages;
pub mod pagination;
pub mod payments;
pub mod registrations;
pub mod staff;
pub mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState};

/// The content security policy of every response. Scripts only from this origin (plus
/// WebAssembly compilation for the SPA); nothing may frame the portal; the portal frames
/// nothing but the payment provider's page (see [`content_security_policy`]).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; font-src 'self' data:; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The policy with `frame-src` allowing exactly the configured payment provider's origin.
pub fn content_security_policy(frame_origin: Option<&str>) -> String {
    match frame_origin {
        Some(origin) => format!("{CONTENT_SECURITY_POLICY}; frame-src {origin}"),
        None => format!("{CONTENT_SECURITY_POLICY}; frame-src 'none'"),
    }
}

/// The whole HTTP surface: API, GraphQL, docs, operations endpoints and the SPA.
pub fn router(state: AppState) -> Router {
    let (api, _) = crate::openapi::api_router().split_for_parts();
    let openapi_json = state.openapi_json.clone();
    let web_dir = state.config.web_dir.clone();
    let cors = cors_layer(&state.config.cors_origins);
    let frame_origin = state.config.payments.frame_origin();
    let request_id = HeaderName::from_static("x-request-id");

    let app = api
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .merge(crate::graphql::routes())
        .merge(pages::docs_routes())
        .merge(bench_baseline::routes(&state.config))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .with_state(state);

    let app = app
        .fallback_service(fallback(web_dir))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(RequestBodyLimitLayer::new(2 * 1024 * 1024))
        .layer(cors);
    with_security_headers(app, frame_origin.as_deref())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Unknown API paths answer in the JSON envelope; everything else is the SPA.
fn fallback(web_dir: std::path::PathBuf) -> Router {
    let spa = pages::spa_service(&web_dir);
    Router::new().fallback(move |req: Request| {
        let spa = spa.clone();
        async move {
            let path = req.uri().path();
            if path.starts_with("/api/") || path == "/api" || path.starts_with("/graphql/") {
                return ApiError::NotFound(format!("no such endpoint: {path}")).into_response();
            }
            match spa.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
    })
}

fn with_security_headers(router: Router, frame_origin: Option<&str>) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(frame_origin))
        .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(self), payment=(self)"),
        ))
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("idempotency-key")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// Used by handlers that need to answer with a status and the envelope directly.
pub fn error_response(err: ApiError) -> Response {
    err.into_response()
}
