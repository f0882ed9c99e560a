use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::ApiKeyView;
use crate::domain::identity::{Principal, api_keys};
use crate::{ApiError, AppState};

/// API keys of your organisations, revoked ones included. Never the keys themselves.
#[utoipa::path(
    get,
    path = "/staff/api-keys",
    tag = "staff",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The keys", body = Vec<ApiKeyView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Admins only", body = ErrorEnvelope),
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    Ok(Json(api_keys::list(&state.db, &principal).await?))
}
