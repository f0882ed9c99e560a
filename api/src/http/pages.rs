//! Pages for people: the API reference, GraphiQL and the single-page app. Their scripts are
//! served by this process (`web/dist/vendor`), so they work with no internet.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

fn js(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], body).into_response()
}

pub fn docs_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/api/docs", get(|| async { Html(include_str!("assets/docs.html")) }))
        .route("/api/docs/init.js", get(|| async { js(include_str!("assets/docs-init.js")) }))
        .route("/graphql/init.js", get(|| async { js(include_str!("assets/graphiql-init.js")) }))
        .route(
            "/graphql/graphiql.css",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("assets/graphiql.css"))
            }),
        )
}

pub async fn graphiql() -> Html<&'static str> {
    Html(include_str!("assets/graphiql.html"))
}

/// The SPA's files, with client-side routes falling back to `index.html`. When the app has
/// not been built, a short page says how to build it.
pub fn spa_service(dir: &Path) -> Router {
    let index = dir.join("index.html");
    if index.is_file() {
        Router::new().fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
    } else {
        let dir: PathBuf = dir.to_path_buf();
        tracing::warn!(dir = %dir.display(), "the web app is not built; serving a placeholder page");
        Router::new().fallback(get(move || async move {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Doorstep</title>\
                     <link rel=\"icon\" href=\"data:,\"></head><body><h1>Doorstep</h1>\
                     <p>The web app has not been built into <code>{}</code>. Run <code>just web</code>, or \
                     <code>just run</code> which builds it. The API is up: see <a href=\"/api/docs\">/api/docs</a>.</p>\
                     </body></html>",
                    dir.display()
                )),
            )
        }))
    }
}
