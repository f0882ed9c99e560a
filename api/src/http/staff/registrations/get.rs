use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::RegistrationView;
use crate::domain::identity::{Principal, service};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// One registration request beside its matched tenancy.
#[utoipa::path(
    get,
    path = "/staff/registrations/{id}",
    tag = "staff",
    params(("id" = i64, Path, description = "The request's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The request", body = RegistrationView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such request among those you may see", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<RegistrationView>, ApiError> {
    Ok(Json(service::get_registration(&state.db, &principal, id).await?))
}
