//! The OpenAPI 3.1 document, built from the same registrations as the routes.

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::{health, organisations};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstep API",
        version = "1",
        description = "Tenant self-service for social housing landlords: tenancies, rent accounts, payments, repairs, cases and places. \
                       Money is integer pence in fields ending `_pence`; a positive balance means arrears. Errors come as \
                       `{\"error\": {\"code\", \"message\", \"details\"}}`. Lists take `limit` and `cursor` and answer \
                       `{\"items\", \"next_cursor\"}`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    tags(
        (name = "public", description = "Open to everyone"),
        (name = "operations", description = "Health and metrics for whoever runs the portal"),
    )
)]
pub struct ApiDoc;

/// Every REST route with its description. `/api/v1` routes are nested here so that their
/// documented paths carry the prefix.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .nest(
            "/api/v1",
            OpenApiRouter::new().routes(routes!(organisations::list::list)).routes(routes!(organisations::get::get)),
        )
}

pub fn document() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The document as served and as checked in: pretty JSON with a trailing newline.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = document().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
