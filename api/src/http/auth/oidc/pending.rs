use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::ErrorEnvelope;

use super::{PENDING_COOKIE, cookie};
use crate::domain::identity::oidc::PendingExternalIdentity;
use crate::domain::identity::oidc::flow;
use crate::http::auth::read_cookie;
use crate::{ApiError, AppState};

/// The external identity this browser signed in with to register, waiting for the PIN
/// (from the `doorstep_oidc_link` cookie that the callback set). The activation page shows
/// it: "You signed in with {provider_name} as {email}".
#[utoipa::path(
    get,
    path = "/auth/oidc/pending",
    tag = "identity",
    responses(
        (status = 200, description = "An identity is waiting", body = PendingExternalIdentity),
        (status = 404, description = "None (or it expired)", body = ErrorEnvelope),
    )
)]
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let handle = read_cookie(&headers, PENDING_COOKIE).ok_or_else(|| ApiError::not_found("external sign-in"))?;
    let found = flow::pending(&state.db, &state.config.oidc_providers, &handle).await?;
    let found = found.ok_or_else(|| ApiError::not_found("external sign-in"))?;
    let mut response = Json(found).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Forget the waiting identity ("not you? use a password instead").
#[utoipa::path(
    delete,
    path = "/auth/oidc/pending",
    tag = "identity",
    responses((status = 204, description = "Forgotten (also when there was none)"))
)]
pub async fn discard(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(handle) = read_cookie(&headers, PENDING_COOKIE) {
        flow::discard_pending(&state.db, &handle).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(PENDING_COOKIE, "", 0, "Strict", state.identity.cookie_secure)?);
    Ok(response)
}
