use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::{RegistrationView, RejectRequest};
use crate::domain::identity::{ClientMeta, Principal, service};
use crate::http::extract::{Json as JsonBody, Path};
use crate::{ApiError, AppState};

/// Reject a request, with a reason the tenant can be told. Any PIN issued for it stops
/// working.
#[utoipa::path(
    post,
    path = "/staff/registrations/{id}/reject",
    tag = "staff",
    params(("id" = i64, Path, description = "The request's id")),
    request_body = RejectRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Rejected", body = RegistrationView),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such request among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "Already rejected or activated", body = ErrorEnvelope),
        (status = 422, description = "The reason is missing or too long", body = ErrorEnvelope),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<RejectRequest>,
) -> Result<Json<RegistrationView>, ApiError> {
    Ok(Json(service::reject_registration(&state.db, &principal, id, &req.reason, &meta).await?))
}
