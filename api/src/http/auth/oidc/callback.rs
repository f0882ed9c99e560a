use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use doorstep_shared::dto::ErrorEnvelope;

use super::{
    ACTIVATE_PAGE, BINDING_COOKIE, PENDING_COOKIE, SIGN_IN_PAGE, cookie, error_redirect, oidc, page_for, provider,
    redirect,
};
use crate::domain::identity::oidc::flow::{self, CallbackParams, PENDING_TTL};
use crate::domain::identity::oidc::{OidcError, Outcome};
use crate::domain::identity::{ClientMeta, IdentityError};
use crate::http::auth::{read_cookie, refresh_cookie};
use crate::http::extract::{Path, Query};
use crate::{ApiError, AppState};

/// Where the provider sends the browser back: this exact URL
/// (`{public_url}/api/v1/auth/oidc/{provider}/callback`) is the redirect URI to register
/// with the provider.
///
/// The `state` must be one this portal issued to this browser (its binding cookie) within
/// ten minutes and not used before; the code is exchanged with the PKCE verifier, and the ID
/// token's signature and claims are checked. Then:
/// - signing in with a linked identity: the refresh cookie is set, as a password sign-in
///   sets it, and the browser goes to `/sign-in?oidc=signed-in&next=…` (the SPA then
///   refreshes and continues to `next`);
/// - registering: the identity waits for the PIN (an HttpOnly cookie names it, for 15
///   minutes) and the browser goes to `/register/activate?oidc=linked`;
/// - anything else: back to `/sign-in` (or `/register/activate`) with `?error=` one of
///   `not_linked` (no account uses this identity: register first), `already_linked`,
///   `cancelled`, `expired` (unknown, replayed or expired attempt; another browser),
///   `failed`, `unavailable`, `not_allowed`, `throttled`, and `&provider=<id>`.
#[utoipa::path(
    get,
    path = "/auth/oidc/{provider}/callback",
    tag = "identity",
    params(
        ("provider" = String, Path, description = "A provider id"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The state this portal sent"),
        ("error" = Option<String>, Query, description = "The provider's error code, instead of a code"),
        ("iss" = Option<String>, Query, description = "The issuer (RFC 9207), when the provider sends it"),
    ),
    responses(
        (status = 302, description = "Back into the SPA; on success with the refresh cookie (or the pending-link cookie) set",
         headers(("Location" = String, description = "The SPA page"),
                 ("Set-Cookie" = String, description = "`doorstep_refresh` on sign-in, `doorstep_oidc_link` when registering; `doorstep_oidc` cleared"))),
        (status = 400, description = "The query string cannot be read", body = ErrorEnvelope),
        (status = 404, description = "No such provider", body = ErrorEnvelope),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
    meta: ClientMeta,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &provider_id)?;
    let secure = state.identity.cookie_secure;
    let browser_secret = read_cookie(&headers, BINDING_COOKIE);
    let result =
        flow::callback(&state.db, oidc()?, &state.identity, provider, params, browser_secret.as_deref(), &meta).await;
    // The binding cookie has done its work, whatever happened.
    let clear_binding = cookie(BINDING_COOKIE, "", 0, "Lax", secure)?;
    match result.outcome {
        Ok(Outcome::SignedIn { session, staff }) => {
            let next = if staff { "/staff/registrations" } else { "/my-place" };
            let refresh = refresh_cookie(&session.refresh_token, session.refresh_expires_in, secure)?;
            redirect(&format!("{SIGN_IN_PAGE}?oidc=signed-in&next={next}"), vec![clear_binding, refresh])
        }
        Ok(Outcome::Pending { handle }) => {
            let pending = cookie(PENDING_COOKIE, &handle, PENDING_TTL.num_seconds(), "Strict", secure)?;
            redirect(&format!("{ACTIVATE_PAGE}?oidc=linked"), vec![clear_binding, pending])
        }
        Err(OidcError::Identity(e)) if !matches!(e, IdentityError::Throttled { .. }) => {
            tracing::error!(error = %e, "external sign-in callback");
            error_redirect(page_for(result.intent), "failed", &provider.id, vec![clear_binding])
        }
        Err(e) => error_redirect(page_for(result.intent), e.public_code(), &provider.id, vec![clear_binding]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn intents_come_back_to_their_pages() {
        use super::super::page_for;
        use crate::domain::identity::oidc::Intent;
        assert_eq!(page_for(Intent::SignIn), "/sign-in");
        assert_eq!(page_for(Intent::Register), "/register/activate");
    }
}
