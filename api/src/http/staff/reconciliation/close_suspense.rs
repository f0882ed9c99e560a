use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::{ClientMeta, Principal};
use crate::domain::reconciliation::model::{CloseSuspenseRequest, SuspensePaymentView};
use crate::domain::reconciliation::queue;
use crate::http::extract::{Json as JsonBody, Path};
use crate::{ApiError, AppState};

/// Close a suspense payment without posting it (refunded to the payer, say). The note is
/// required and says why; the reconciliation items behind the payment are resolved with it
/// and the decision is in the audit trail.
#[utoipa::path(
    post,
    path = "/staff/suspense/{id}/close",
    tag = "staff",
    params(("id" = i64, Path, description = "The suspense payment's id")),
    request_body = CloseSuspenseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Closed", body = SuspensePaymentView),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such suspense payment among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "Already allocated or closed", body = ErrorEnvelope),
        (status = 422, description = "The note is missing or not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<CloseSuspenseRequest>,
) -> Result<Json<SuspensePaymentView>, ApiError> {
    Ok(Json(queue::close_suspense(&state.db, &principal, id, Some(&req.note), &meta).await?))
}
