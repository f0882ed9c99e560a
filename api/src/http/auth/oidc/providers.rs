use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// An external identity provider people can sign in with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExternalProvider {
    /// For `/api/v1/auth/oidc/{id}/start`.
    #[schema(example = "google")]
    pub id: String,
    /// For the button: "Sign in with {name}".
    #[schema(example = "Google")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExternalProviderList {
    pub items: Vec<ExternalProvider>,
}

/// The external identity providers (OpenID Connect) this portal is configured with, in the
/// order the configuration gives them. Empty when there are none.
#[utoipa::path(
    get,
    path = "/auth/providers",
    tag = "identity",
    responses((status = 200, description = "The providers", body = ExternalProviderList))
)]
pub async fn list(State(state): State<AppState>) -> Response {
    let items = state
        .config
        .oidc_providers
        .iter()
        .map(|p| ExternalProvider { id: p.id.clone(), name: p.name.clone() })
        .collect();
    let mut response = Json(ExternalProviderList { items }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}
