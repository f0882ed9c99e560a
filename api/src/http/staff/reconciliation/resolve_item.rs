use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::{ClientMeta, Principal};
use crate::domain::reconciliation::model::{ReconciliationItemView, ResolveReconciliationItemRequest};
use crate::domain::reconciliation::queue;
use crate::http::extract::{Json as JsonBody, Path};
use crate::{ApiError, AppState};

/// Work an exception: `note` adds a note and leaves it open; `close` resolves it, the note
/// saying how. An unknown account's item closes by itself when its suspense payment is
/// allocated or closed, and cannot be closed while the money is still in suspense. Each
/// decision is in the audit trail.
#[utoipa::path(
    post,
    path = "/staff/reconciliation/items/{id}/resolve",
    tag = "staff",
    params(("id" = i64, Path, description = "The item's id")),
    request_body = ResolveReconciliationItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The item as it now stands", body = ReconciliationItemView),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such item among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "Already resolved, or its money is still in suspense", body = ErrorEnvelope),
        (status = 422, description = "The action or note is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<ResolveReconciliationItemRequest>,
) -> Result<Json<ReconciliationItemView>, ApiError> {
    Ok(Json(queue::resolve_item(&state.db, &principal, id, req.action, Some(&req.note), &meta).await?))
}
