use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::check_period;
use crate::domain::identity::Principal;
use crate::domain::ledger::{access, statement};
use crate::http::extract::{Path, Query};
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StatementFormat {
    #[default]
    Pdf,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementParams {
    /// First day of the period. With `to`, omitted: the last financial year (1 April to 31 March).
    pub from: Option<NaiveDate>,
    /// Last day of the period.
    pub to: Option<NaiveDate>,
    /// `pdf` (default) or `csv`.
    pub format: Option<StatementFormat>,
}

/// A statement of the account: opening balance, every line, closing balance and how to
/// pay, as a landlord-branded PDF or as CSV. Without dates, the annual statement for the
/// last financial year.
#[utoipa::path(
    get,
    path = "/accounts/{id}/statement",
    tag = "accounts",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "The account's id"), StatementParams),
    responses(
        (status = 200, description = "The statement", content(
            (Vec<u8> = "application/pdf"),
            (String = "text/csv"),
        )),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such account, or not yours", body = ErrorEnvelope),
        (status = 422, description = "A parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<StatementParams>,
) -> Result<Response, ApiError> {
    check_period(params.from, params.to)?;
    let today = chrono::Utc::now().date_naive();
    let (from, to) = match (params.from, params.to) {
        (None, None) => statement::last_financial_year(today),
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, today),
        (None, Some(_)) => return Err(ApiError::validation("from", "is needed when to is given")),
    };
    let account = access::visible_account(&state.db, &principal, id).await?;
    let s = statement::build(&state.db, account.id, from, to).await.map_err(|e| match e {
        statement::StatementError::BackwardsPeriod { .. } => ApiError::validation("from", "must not be after to"),
        statement::StatementError::TooLong => ApiError::validation("to", "the period may be at most 6 years"),
        statement::StatementError::NotFound => ApiError::not_found("account"),
        statement::StatementError::Db(e) => e.into(),
    })?;
    let name = format!("statement-{}-{from}-{to}", s.account.account_number);
    Ok(match params.format.unwrap_or_default() {
        StatementFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            statement::to_csv(&s),
        )
            .into_response(),
        StatementFormat::Pdf => {
            let public_url = state.config.public_url.clone();
            let bytes = tokio::task::spawn_blocking(move || statement::to_pdf(&s, &public_url, today))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}.pdf\"")),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
    })
}
