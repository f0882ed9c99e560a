use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::RegistrationView;
use crate::domain::identity::{ClientMeta, Principal, service};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// Validate a request: its PIN letter joins today's print run (or download it alone). On
/// a validated, locked or expired request this reissues: the old PIN stops working and
/// the wrong-PIN count starts again. The PIN itself is never in an API answer.
#[utoipa::path(
    post,
    path = "/staff/registrations/{id}/validate",
    tag = "staff",
    params(("id" = i64, Path, description = "The request's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Validated", body = RegistrationView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such request among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "The request is unmatched, rejected or activated, or the tenant already has a sign-in", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
) -> Result<Json<RegistrationView>, ApiError> {
    Ok(Json(service::validate_registration(&state.db, &principal, id, &meta).await?))
}
