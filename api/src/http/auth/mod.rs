//! Sign-in endpoints, and the extractors every handler uses to learn who is calling
//! ([`Principal`]) and from where ([`ClientMeta`]).

pub mod jwks;
pub mod login;
pub mod logout;
pub mod oidc;
pub mod refresh;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::domain::identity::model::{ClientKind, TokenResponse};
use crate::domain::identity::sessions::{self, Session};
use crate::domain::identity::{ClientMeta, Principal};
use crate::{ApiError, AppState};

/// The refresh token's cookie, sent only to the auth endpoints.
pub const REFRESH_COOKIE: &str = "doorstep_refresh";
pub const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

fn client_meta(parts: &Parts) -> ClientMeta {
    ClientMeta {
        ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string()),
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(client_meta(parts))
    }
}

/// The caller, from `Authorization: Bearer <access token>` or `Authorization: ApiKey <key>`.
/// No header is an anonymous caller; a header that does not authenticate is a 401.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let meta = client_meta(parts);
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| ApiError::Unauthorized)?),
        };
        let principal = sessions::authenticate(&state.db, &state.identity, header, &meta).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// A cookie's value from the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for the refresh token: HttpOnly, SameSite=Strict, only for the auth
/// endpoints, `Secure` unless configured off for plain-http localhost.
pub fn refresh_cookie(value: &str, max_age_secs: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={value}; Max-Age={max_age_secs}; Path={REFRESH_COOKIE_PATH}; HttpOnly; SameSite=Strict{secure}"
    ))
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("refresh cookie: {e}")))
}

pub fn clear_refresh_cookie(secure: bool) -> Result<HeaderValue, ApiError> {
    refresh_cookie("", 0, secure)
}

/// The answer to a successful login or refresh: the access token in the body, and the
/// refresh token in the body (apps) or in the cookie (the SPA).
pub fn session_response(session: Session, cookie_secure: bool) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let in_body = session.client == ClientKind::App;
    let body = TokenResponse {
        access_token: session.access_token,
        token_type: "Bearer".into(),
        expires_in: session.expires_in,
        refresh_token: in_body.then(|| session.refresh_token.clone()),
        refresh_expires_in: in_body.then_some(session.refresh_expires_in),
    };
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !in_body {
        headers.insert(
            header::SET_COOKIE,
            refresh_cookie(&session.refresh_token, session.refresh_expires_in, cookie_secure)?,
        );
    }
    Ok(response)
}

/// Adds the two ways to authenticate to the OpenAPI document.
pub struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /api/v1/auth/login` (EdDSA-signed JWT, `typ` `at+jwt`, about 15 \
                         minutes; keys at `/.well-known/jwks.json`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`ApiKey dsk_live_…`: a machine client's key, scoped to one organisation.",
            ))),
        );
    }
}
