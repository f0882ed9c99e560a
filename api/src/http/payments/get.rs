use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::{ErrorEnvelope, Payment};

use crate::domain::identity::Principal;
use crate::domain::payments::intents;
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// A payment started in the portal, and what became of it.
#[utoipa::path(
    get,
    path = "/payments/{id}",
    tag = "payments",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The payment's id (`pi_…`)")),
    responses(
        (status = 200, description = "The payment", body = Payment),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such payment, or not yours", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    Ok(Json(super::to_dto(intents::get(&state.db, &principal, &id).await?)))
}
