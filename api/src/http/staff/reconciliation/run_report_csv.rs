use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::dto::ErrorEnvelope;

use super::CsvFile;
use crate::domain::identity::Principal;
use crate::domain::reconciliation::queue;
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// A run's report as CSV for a spreadsheet: one line per late or exception item of your
/// organisations (`run_id, reason_code, line, provider_payment_id, account_reference,
/// file_amount_pence, ledger_amount_pence, difference_pence, channel, paid_at, resolution,
/// note, resolved_by, resolved_at`). Matched lines are left out.
#[utoipa::path(
    get,
    path = "/staff/reconciliation/runs/{id}/report.csv",
    tag = "staff",
    params(("id" = i64, Path, description = "The run's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = CsvFile, content_type = "text/csv"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such run among those you may see", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let csv = queue::run_report_csv(&state.db, &principal, id).await?;
    let mut response = csv.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"reconciliation-{id}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
