use axum::extract::State;
use axum::http::StatusCode;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::{ClientMeta, Principal, api_keys};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// Revoke an API key: it stops working at once.
#[utoipa::path(
    delete,
    path = "/staff/api-keys/{id}",
    tag = "staff",
    params(("id" = i64, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such key among yours", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state.db, &principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
