use axum::extract::State;
use axum::response::Response;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::{ClientKind, LoginRequest, TokenResponse};
use crate::domain::identity::{ClientMeta, sessions};
use crate::http::extract::Json;
use crate::{ApiError, AppState};

/// Sign in with email and password. The SPA gets the refresh token as an HttpOnly cookie;
/// an app that sends `client: "app"` gets it in the body. Throttled per address and per
/// account; 10 failures in a row pause the account for 15 minutes.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in. Unless `client` is `app`, the refresh token comes as an HttpOnly \
                                       `Set-Cookie` for `/api/v1/auth`", body = TokenResponse),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "The email address or password is not right", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or not acceptable", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    meta: ClientMeta,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let client = match req.client.as_deref() {
        None | Some("web") => ClientKind::Web,
        Some("app") => ClientKind::App,
        Some(_) => return Err(ApiError::validation("client", "must be app or web")),
    };
    let session = sessions::login(&state.db, &state.identity, &req.email, req.password, client, &meta).await?;
    super::session_response(session, state.identity.cookie_secure)
}
