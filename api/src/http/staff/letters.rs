//! A day's print run of PIN letters.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::{ClientMeta, Principal, service};
use crate::http::extract::Query;
use crate::http::staff::{PdfFile, pdf_response};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrintRunParams {
    /// The day the requests were validated (UTC), `YYYY-MM-DD`.
    pub date: NaiveDate,
}

/// Every PIN letter validated that day and not yet printed, in your organisations, as one
/// PDF (a page each, up to 200). Each letter gets its PIN now and is marked printed, so
/// the next run holds only letters validated since.
#[utoipa::path(
    get,
    path = "/staff/letters/print-run.pdf",
    tag = "staff",
    params(PrintRunParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The letters", body = PdfFile, content_type = "application/pdf"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with a role that works registrations (or a key without `registrations:write`)", body = ErrorEnvelope),
        (status = 404, description = "No letters wait to be printed for that date", body = ErrorEnvelope),
        (status = 422, description = "The date is missing or not a date", body = ErrorEnvelope),
    )
)]
pub async fn print_run(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Query(params): Query<PrintRunParams>,
) -> Result<Response, ApiError> {
    let (pdf, _count) =
        service::print_run_pdf(&state.db, &principal, params.date, &state.identity.public_url, &meta).await?;
    Ok(pdf_response(pdf, &format!("pin-letters-{}.pdf", params.date)))
}
