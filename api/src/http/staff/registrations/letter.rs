use axum::extract::State;
use axum::response::Response;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::{ClientMeta, Principal, service};
use crate::http::extract::Path;
use crate::http::staff::{PdfFile, pdf_response};
use crate::{ApiError, AppState};

/// The PIN letter of a validated request, as a print-ready A4 PDF for a DL window
/// envelope. Each download draws a new PIN (voiding any earlier letter's), starts its 30
/// days and marks the letter printed.
#[utoipa::path(
    get,
    path = "/staff/registrations/{id}/letter.pdf",
    tag = "staff",
    params(("id" = i64, Path, description = "The request's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The letter", body = PdfFile, content_type = "application/pdf"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such request among those you may act on", body = ErrorEnvelope),
        (status = 409, description = "The request is not validated", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn letter(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let pdf = service::letter_pdf(&state.db, &principal, id, &state.identity.public_url, &meta).await?;
    Ok(pdf_response(pdf, &format!("pin-letter-{id}.pdf")))
}
