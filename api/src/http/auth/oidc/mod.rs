//! External sign-in (OpenID Connect): the providers the SPA may offer, the start of a flow
//! and the provider's way back, and registering with an external identity instead of a
//! password (the identity waits for the PIN, then activation links it).
//!
//! These endpoints are browser navigations, not API calls: `start` and `callback` answer
//! with redirects, to the provider or back into the SPA, and never put a token in a URL.
//! The SPA learns the outcome from `?error=<code>` (a code, never detail) or, on success,
//! from the refresh cookie that the callback sets.

pub mod activate;
pub mod callback;
pub mod pending;
pub mod providers;
pub mod start;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::OidcProvider;
use crate::domain::identity::oidc::{Intent, Oidc};
use crate::{ApiError, AppState};

/// Binds a flow to the browser that started it; holds the secret the PKCE verifier is
/// derived from. `SameSite=Lax`: it must come back on the provider's top-level redirect.
pub const BINDING_COOKIE: &str = "doorstep_oidc";
/// The handle of an identity waiting for its PIN. Only the SPA's own requests send it.
pub const PENDING_COOKIE: &str = "doorstep_oidc_link";
/// Both cookies go to these endpoints only.
pub const COOKIE_PATH: &str = "/api/v1/auth/oidc";

/// The SPA's pages that flows come back to.
pub const SIGN_IN_PAGE: &str = "/sign-in";
pub const ACTIVATE_PAGE: &str = "/register/activate";

/// `Set-Cookie` for one of this module's cookies (`max_age_secs` 0 clears it).
pub fn cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    same_site: &str,
    secure: bool,
) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age_secs}; Path={COOKIE_PATH}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("oidc cookie: {e}")))
}

/// The configured provider `id`, or a 404 in the envelope.
pub fn provider<'a>(state: &'a AppState, id: &str) -> Result<&'a OidcProvider, ApiError> {
    state.config.oidc_providers.iter().find(|p| p.id == id).ok_or_else(|| ApiError::not_found("sign-in provider"))
}

pub fn oidc() -> Result<&'static Oidc, ApiError> {
    Oidc::global().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))
}

/// The page a flow with `intent` returns to.
pub fn page_for(intent: Intent) -> &'static str {
    match intent {
        Intent::SignIn => SIGN_IN_PAGE,
        Intent::Register => ACTIVATE_PAGE,
    }
}

/// A `302 Found` to `location`, never cached, with `cookies` set.
pub fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Result<Response, ApiError> {
    let location =
        HeaderValue::from_str(location).map_err(|e| ApiError::Internal(anyhow::anyhow!("redirect location: {e}")))?;
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The callback's URL holds the authorization code: do not pass it on as a referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    for c in cookies {
        headers.append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Back to the SPA with `?error=<code>&provider=<id>`.
pub fn error_redirect(
    page: &str,
    code: &str,
    provider_id: &str,
    cookies: Vec<HeaderValue>,
) -> Result<Response, ApiError> {
    redirect(&format!("{page}?error={code}&provider={provider_id}"), cookies)
}
