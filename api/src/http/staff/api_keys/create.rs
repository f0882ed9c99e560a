use axum::extract::State;
use axum::http::StatusCode;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::{CreateApiKeyRequest, CreatedApiKey};
use crate::domain::identity::{ClientMeta, Principal, api_keys};
use crate::http::extract::Json;
use crate::{ApiError, AppState};

/// Create an API key. The key is in this answer only: store it now.
#[utoipa::path(
    post,
    path = "/staff/api-keys",
    tag = "staff",
    request_body = CreateApiKeyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The key, shown once", body = CreatedApiKey),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Admins only", body = ErrorEnvelope),
        (status = 404, description = "No such organisation among yours", body = ErrorEnvelope),
        (status = 422, description = "A field is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Json(req): Json<CreateApiKeyRequest>,
) -> Result<(StatusCode, axum::Json<CreatedApiKey>), ApiError> {
    let created = api_keys::create(&state.db, &principal, req, &meta).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}
