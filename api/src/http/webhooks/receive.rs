use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::{ErrorEnvelope, WebhookReceipt};

use crate::domain::payments::signature::SignatureError;
use crate::domain::payments::{Inbound, WebhookError, ingest};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// A payment provider's notification. The signature is checked on the raw body before
/// anything is read; then each payment is recorded in the inbox, posted to its account
/// (or held in suspense) and queued for the housing management system in one transaction,
/// and only then answered with 200. A notification sent again is answered 200 and changes
/// nothing. Providers: `sandbox` (`Doorstep-Signature`), `govuk_pay` (`Pay-Signature`),
/// `event_grid` (`X-Doorstep-Key`, with the subscription handshake).
#[utoipa::path(
    post,
    path = "/webhooks/{provider}",
    tag = "integrations",
    params(("provider" = String, Path, description = "`sandbox`, `govuk_pay` or `event_grid`")),
    request_body(content = Object, description = "The provider's notification, as it documents it"),
    responses(
        (status = 200, description = "Recorded (or already recorded); or the handshake answer", body = WebhookReceipt),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Unsigned, stale or forged", body = ErrorEnvelope),
        (status = 404, description = "No such provider is configured", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or wrong; names it", body = ErrorEnvelope),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let adapter = state.providers.get(&provider).ok_or_else(|| ApiError::not_found("payment provider"))?;
    let inbound = adapter.read_webhook(&headers, &body, chrono::Utc::now().timestamp()).map_err(|e| {
        tracing::warn!(provider = %provider, error = %e, "webhook rejected");
        match e {
            WebhookError::Signature(s) => ApiError::BadSignature(match s {
                SignatureError::Missing => "the notification is not signed".to_owned(),
                other => other.to_string(),
            }),
            WebhookError::Malformed { field, message } if field == "body" => {
                ApiError::BadRequest(format!("the body {message}"))
            }
            WebhookError::Malformed { field, message } => ApiError::validation(field, message),
        }
    })?;
    let notices = match inbound {
        Inbound::Handshake(answer) => return Ok(axum::Json(answer).into_response()),
        Inbound::Notices(n) => n,
    };
    let mut outcomes = Vec::with_capacity(notices.len());
    for notice in &notices {
        let outcome =
            ingest(&state.db, &state.live, notice).await.map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
        tracing::info!(
            provider = %provider,
            event = %notice.event_id,
            payment = %notice.payment_id,
            outcome = outcome.as_str(),
            "payment notification"
        );
        state.metrics.incr(&format!("doorstep_payment_notifications_{}_total", outcome.as_str()), 1);
        outcomes.push(outcome.as_str().to_owned());
    }
    Ok(axum::Json(WebhookReceipt { outcomes }).into_response())
}
