use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::Principal;
use crate::domain::reconciliation::model::ReconciliationRunPage;
use crate::domain::reconciliation::queue;
use crate::http::extract::Query;
use crate::http::pagination::PageParams;
use crate::{ApiError, AppState};

/// End-of-day reconciliation runs that hold payments of your organisations, newest first,
/// each with its counts and totals for your organisations.
#[utoipa::path(
    get,
    path = "/staff/reconciliation/runs",
    tag = "staff",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of runs", body = ReconciliationRunPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with the income role", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(page): Query<PageParams>,
) -> Result<Json<ReconciliationRunPage>, ApiError> {
    let page = page.parse()?;
    Ok(Json(queue::list_runs(&state.db, &principal, page).await?))
}
