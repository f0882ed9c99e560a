use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use doorstep_shared::dto::{ErrorEnvelope, NewPayment, Payment};

use crate::domain::identity::Principal;
use crate::domain::payments::intents::{self, PayRequest};
use crate::http::extract::{Json, Path};
use crate::{ApiError, AppState};

/// Starts a payment into a rent account (by its tenant, or by the landlord's staff taking a
/// payment over the telephone): answers the provider's card page to show in a frame. Send a new random `Idempotency-Key` per payment; sending a request again with the
/// same key (after a timeout, say) answers the same payment instead of starting another.
#[utoipa::path(
    post,
    path = "/accounts/{id}/payments",
    tag = "payments",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The account to pay into"),
        ("Idempotency-Key" = String, Header, description = "A new random value for each payment"),
    ),
    request_body = NewPayment,
    responses(
        (status = 201, description = "The payment, with the page to show", body = Payment),
        (status = 200, description = "The payment this key already started", body = Payment),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Only the account's tenants and its landlord's staff start payments", body = ErrorEnvelope),
        (status = 404, description = "No such account, or not yours", body = ErrorEnvelope),
        (status = 422, description = "A bad amount, a missing key, or a key used for another request", body = ErrorEnvelope),
        (status = 503, description = "The payment provider did not answer; try again with the same key", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<NewPayment>,
) -> Result<(StatusCode, axum::Json<Payment>), ApiError> {
    // Whose account it is comes first: an account the caller may not see is a 404 whatever
    // the request holds.
    intents::payable_account(&state.db, &principal, id).await?;
    let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap_or("\u{0}"));
    let return_url = format!("{}/my-place/payment-done", state.config.public_url.trim_end_matches('/'));
    let request = PayRequest::parse(id, body.amount_pence, key, return_url)?;
    let (intent, created) = intents::create(&state.db, &state.providers, &principal, request).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(super::to_dto(intent))))
}
