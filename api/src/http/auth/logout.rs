use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::ErrorEnvelope;

use super::clear_refresh_cookie;
use super::refresh::presented_token;
use crate::domain::identity::model::RefreshRequest;
use crate::domain::identity::{ClientMeta, sessions};
use crate::{ApiError, AppState};

/// Sign out: revokes the refresh token and every token of the same sign-in, and clears the
/// cookie. Access tokens already issued expire by themselves within 15 minutes.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "identity",
    request_body(content = Option<RefreshRequest>, description = "Apps send their refresh token; the SPA sends nothing"),
    responses(
        (status = 204, description = "Signed out (also when the token was unknown)"),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (token, _) = presented_token(&headers, &body)?;
    sessions::logout(&state.db, token.as_deref(), &meta).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, clear_refresh_cookie(state.identity.cookie_secure)?);
    Ok(response)
}
