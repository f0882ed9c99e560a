use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::ErrorEnvelope;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState};

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// Ed25519 public keys (`kty` `OKP`, `alg` `EdDSA`), each with its `kid`.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// The public keys that verify access tokens: the current key and those retired within
/// the last hour.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "public",
    responses(
        (status = 200, description = "The key set", body = Jwks),
        (status = 500, description = "The keys could not be read", body = ErrorEnvelope),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let doc = state.identity.keys.jwks(&state.db).await?;
    let keys = doc.get("keys").and_then(|k| k.as_array()).cloned().unwrap_or_default();
    let mut response = Json(Jwks { keys }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
