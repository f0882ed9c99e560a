use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use doorstep_shared::dto::{ErrorEnvelope, Page, Transaction};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{check_period, decode_history_cursor, encode_history_cursor};
use crate::domain::identity::Principal;
use crate::domain::ledger::access;
use crate::domain::ledger::views::{self, HistoryQuery};
use crate::http::extract::{Path, Query};
use crate::http::pagination::parse_limit;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only lines dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Only lines dated on or before this day.
    pub to: Option<NaiveDate>,
    /// How many lines, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The account's history, newest first, with the balance after each line. Housing benefit
/// and Universal Credit are lines of their own.
#[utoipa::path(
    get,
    path = "/accounts/{id}/transactions",
    tag = "accounts",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "The account's id"), HistoryParams),
    responses(
        (status = 200, description = "A page of transactions", body = Page<Transaction>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such account, or not yours", body = ErrorEnvelope),
        (status = 422, description = "A parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<Page<Transaction>>, ApiError> {
    check_period(params.from, params.to)?;
    let limit = parse_limit(params.limit)?;
    let after = params.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_history_cursor).transpose()?;
    let account = access::visible_account(&state.db, &principal, id).await?;
    let q = HistoryQuery { from: params.from, to: params.to, after, limit };
    let (items, next) = views::history(&state.db, account.id, q).await?;
    Ok(Json(Page { items, next_cursor: next.map(encode_history_cursor) }))
}
