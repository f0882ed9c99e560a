use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::Principal;
use crate::domain::reconciliation::model::ReconciliationReport;
use crate::domain::reconciliation::queue;
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// A run's report for your organisations: counts and totals, and a line per reason code
/// (`matched`, `late`, then the exceptions `amount_mismatch`, `unknown_account`,
/// `not_in_file`) with how many are still open.
#[utoipa::path(
    get,
    path = "/staff/reconciliation/runs/{id}",
    tag = "staff",
    params(("id" = i64, Path, description = "The run's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = ReconciliationReport),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such run among those you may see", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ReconciliationReport>, ApiError> {
    Ok(Json(queue::run_report(&state.db, &principal, id).await?))
}
