use axum::extract::State;
use axum::response::Response;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{BINDING_COOKIE, cookie, error_redirect, oidc, page_for, provider, redirect};
use crate::domain::identity::oidc::flow::{self, FLOW_TTL};
use crate::domain::identity::oidc::{Intent, OidcError};
use crate::domain::identity::{ClientMeta, IdentityError};
use crate::http::extract::{Path, Query};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// `sign_in` (the default): sign in with an identity already linked to an account.
    /// `register`: use this identity instead of a password when finishing registering; the
    /// browser comes back to `/register/activate`, where the tenant enters the PIN from the
    /// letter.
    #[param(example = "sign_in")]
    pub intent: Option<String>,
}

/// Start signing in (or registering) with an external identity provider: a browser
/// navigation that redirects to the provider's sign-in page, with `state`, `nonce` and a
/// PKCE S256 challenge, and sets an HttpOnly cookie that binds the attempt to this browser.
/// If the provider cannot be reached, or this address started too many attempts, the
/// browser goes back to `/sign-in` (or `/register/activate`) with `?error=unavailable` or
/// `?error=throttled`.
#[utoipa::path(
    get,
    path = "/auth/oidc/{provider}/start",
    tag = "identity",
    params(("provider" = String, Path, description = "A provider id from `/api/v1/auth/providers`"), StartQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint (or back to the SPA with `?error=`)",
         headers(("Location" = String, description = "Where to go"),
                 ("Set-Cookie" = String, description = "`doorstep_oidc`: HttpOnly, SameSite=Lax, for `/api/v1/auth/oidc`, ten minutes"))),
        (status = 400, description = "`intent` is neither `sign_in` nor `register`", body = ErrorEnvelope),
        (status = 404, description = "No such provider", body = ErrorEnvelope),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    Query(q): Query<StartQuery>,
    meta: ClientMeta,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &provider_id)?;
    let intent = match q.intent.as_deref() {
        None | Some("") => Intent::SignIn,
        Some(s) => Intent::parse(s).ok_or_else(|| ApiError::BadRequest("intent must be sign_in or register".into()))?,
    };
    match flow::start(&state.db, oidc()?, provider, &state.identity.public_url, intent, &meta).await {
        Ok(started) => {
            let binding = cookie(
                BINDING_COOKIE,
                &started.browser_secret,
                FLOW_TTL.num_seconds(),
                "Lax",
                state.identity.cookie_secure,
            )?;
            redirect(&started.authorization_url, vec![binding])
        }
        Err(OidcError::Identity(e)) if !matches!(e, IdentityError::Throttled { .. }) => Err(e.into()),
        Err(e) => {
            tracing::warn!(provider = %provider.id, error = %e, "cannot start an external sign-in");
            error_redirect(page_for(intent), e.public_code(), &provider.id, Vec::new())
        }
    }
}
