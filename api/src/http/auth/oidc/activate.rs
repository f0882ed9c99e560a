use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use doorstep_shared::dto::ErrorEnvelope;

use super::{PENDING_COOKIE, cookie};
use crate::domain::identity::ClientMeta;
use crate::domain::identity::model::TokenResponse;
use crate::domain::identity::oidc::ExternalActivationRequest;
use crate::domain::identity::oidc::flow;
use crate::http::auth::{read_cookie, session_response};
use crate::http::extract::Json;
use crate::{ApiError, AppState};

/// Finish registering with the PIN from the letter, using the external identity this
/// browser signed in with (`GET /auth/oidc/{provider}/start?intent=register`) instead of a
/// password. The PIN is checked, counted and locked exactly as in
/// `POST /registrations/activate`: the identity only takes the password's place. On success
/// the identity is linked, the tenant is signed in (refresh token in an HttpOnly cookie) and
/// can sign in with the provider from then on.
#[utoipa::path(
    post,
    path = "/auth/oidc/activate",
    tag = "identity",
    request_body = ExternalActivationRequest,
    responses(
        (status = 201, description = "Registered and signed in; the refresh token comes as an HttpOnly `Set-Cookie`", body = TokenResponse),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 409, description = "No external sign-in is waiting in this browser (or it expired), or the email address or tenant already has a sign-in", body = ErrorEnvelope),
        (status = 422, description = "The PIN does not match, or an email address is needed", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts from this address; see `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    Json(req): Json<ExternalActivationRequest>,
) -> Result<Response, ApiError> {
    let handle = read_cookie(&headers, PENDING_COOKIE);
    let session =
        flow::activate(&state.db, &state.identity, &state.config.oidc_providers, handle.as_deref(), req, &meta).await?;
    let mut response = session_response(session, state.identity.cookie_secure)?;
    *response.status_mut() = StatusCode::CREATED;
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(PENDING_COOKIE, "", 0, "Strict", state.identity.cookie_secure)?);
    Ok(response)
}
