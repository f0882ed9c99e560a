use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::ErrorEnvelope;
use secrecy::ExposeSecret;

use super::{REFRESH_COOKIE, clear_refresh_cookie, read_cookie};
use crate::domain::identity::model::{RefreshRequest, TokenResponse};
use crate::domain::identity::{ClientMeta, sessions};
use crate::{ApiError, AppState};

/// The refresh token from an app's JSON body, or else the SPA's cookie.
pub(super) fn presented_token(headers: &HeaderMap, body: &Bytes) -> Result<(Option<String>, bool), ApiError> {
    if !body.is_empty() {
        let req: RefreshRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("the body must be JSON like {{\"refresh_token\": \"…\"}}: {e}"))
        })?;
        if let Some(t) = req.refresh_token {
            return Ok((Some(t.expose_secret().to_owned()), false));
        }
    }
    Ok((read_cookie(headers, REFRESH_COOKIE), true))
}

/// Exchange a refresh token for a new access token and a new refresh token. Each refresh
/// token works once: presenting one that was already exchanged revokes every token of
/// that sign-in.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "identity",
    request_body(content = Option<RefreshRequest>, description = "Apps send their refresh token; the SPA sends nothing and its cookie is used"),
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "No usable refresh token", body = ErrorEnvelope),
        (status = 409, description = "Another tab of this browser refreshed a moment ago: retry with the new cookie", body = ErrorEnvelope),
        (status = 429, description = "Too many refreshes from this address", body = ErrorEnvelope),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (token, from_cookie) = presented_token(&headers, &body)?;
    let Some(token) = token else { return Err(ApiError::Unauthorized) };
    match sessions::refresh(&state.db, &state.identity, &token, &meta).await {
        Ok(session) => super::session_response(session, state.identity.cookie_secure),
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            if from_cookie && response.status() == axum::http::StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(header::SET_COOKIE, clear_refresh_cookie(state.identity.cookie_secure)?);
            }
            Ok(response)
        }
    }
}
