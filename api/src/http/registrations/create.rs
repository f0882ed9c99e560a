use axum::extract::State;
use axum::http::StatusCode;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::{RegistrationReceived, RegistrationRequest};
use crate::domain::identity::{ClientMeta, service};
use crate::http::extract::Json;
use crate::{ApiError, AppState};

/// Ask to register. The answer is the same whether or not the details match a tenancy,
/// so that nobody can use this to find out who lives where. A match is queued for staff
/// beside its tenancy; anything else is queued as unmatched.
#[utoipa::path(
    post,
    path = "/registrations",
    tag = "identity",
    request_body = RegistrationRequest,
    responses(
        (status = 202, description = "Received (whatever matched)", body = RegistrationReceived),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "A field is not acceptable; `details.field` names it", body = ErrorEnvelope),
        (status = 429, description = "Too many requests from this address or for this account; see `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    meta: ClientMeta,
    Json(req): Json<RegistrationRequest>,
) -> Result<(StatusCode, axum::Json<RegistrationReceived>), ApiError> {
    let received = service::request_registration(&state.db, req, &meta).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(received)))
}
