use axum::extract::State;
use axum::http::StatusCode;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::ClientMeta;
use crate::domain::identity::model::{ActivatedUser, ActivationRequest};
use crate::domain::identity::service::{self, Activation, NewCredential};
use crate::http::extract::Json;
use crate::{ApiError, AppState};

/// Finish registering with the PIN from the letter, choosing the email address and
/// password to sign in with. Five wrong PINs lock the request until staff post a new one.
#[utoipa::path(
    post,
    path = "/registrations/activate",
    tag = "identity",
    request_body = ActivationRequest,
    responses(
        (status = 201, description = "The sign-in is ready", body = ActivatedUser),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 409, description = "The email address, or this tenant, already has a sign-in", body = ErrorEnvelope),
        (status = 422, description = "A field is not acceptable: the PIN does not match, or the password is too short or too common", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts from this address; see `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    meta: ClientMeta,
    Json(req): Json<ActivationRequest>,
) -> Result<(StatusCode, axum::Json<ActivatedUser>), ApiError> {
    let activation = Activation {
        account_number: req.account_number,
        pin: req.pin,
        email: req.email,
        credential: NewCredential::Password(req.password),
    };
    let user = service::activate(&state.db, activation, &meta).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}
