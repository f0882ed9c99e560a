//! `GET /api/v1/me`.

use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::MeView;
use crate::domain::identity::{Principal, me};
use crate::{ApiError, AppState};

/// The caller: their user, person, tenancies with homes, housing officers and accounts
/// with balances, and the landlord's branding. For staff: role and organisations.
#[utoipa::path(
    get,
    path = "/me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "An API key has no user", body = ErrorEnvelope),
    )
)]
pub async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<MeView>, ApiError> {
    Ok(Json(me::me(&state.db, &principal).await?))
}
