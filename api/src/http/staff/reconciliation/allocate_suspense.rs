use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::{ClientMeta, Principal};
use crate::domain::reconciliation::model::{AllocateSuspenseRequest, SuspensePaymentView};
use crate::domain::reconciliation::queue;
use crate::http::extract::{Json as JsonBody, Path};
use crate::{ApiError, AppState};

/// Post a suspense payment to a rent account of your organisations, as if the payer had
/// quoted its number: the ledger entry, the balance, the record for the housing management
/// system and the tenant's live balance, once. A second attempt answers 409 and posts
/// nothing. The reconciliation items behind the payment are resolved with it; the decision
/// is in the audit trail.
#[utoipa::path(
    post,
    path = "/staff/suspense/{id}/allocate",
    tag = "staff",
    params(("id" = i64, Path, description = "The suspense payment's id")),
    request_body = AllocateSuspenseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Allocated and posted", body = SuspensePaymentView),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such suspense payment among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "Already allocated or closed, or the payment is already on an account", body = ErrorEnvelope),
        (status = 422, description = "The account is not one of your organisations', or the note is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn allocate(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AllocateSuspenseRequest>,
) -> Result<Json<SuspensePaymentView>, ApiError> {
    let view =
        queue::allocate_suspense(&state.db, &state.live, &principal, id, req.account_id, req.note.as_deref(), &meta)
            .await?;
    Ok(Json(view))
}
