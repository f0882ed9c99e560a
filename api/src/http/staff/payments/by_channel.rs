use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::Principal;
use crate::domain::reconciliation::channels;
use crate::domain::reconciliation::model::PaymentsByChannel;
use crate::http::extract::Query;
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByChannelParams {
    /// First business date, `YYYY-MM-DD`.
    #[param(required = true, value_type = String, format = Date, example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    /// Last business date (inclusive), at most ten years after `from`.
    #[param(required = true, value_type = String, format = Date, example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// `day` (default) or `week` (rent weeks, Monday to Sunday).
    pub group: Option<String>,
}

/// How tenants of your organisations paid: payments (ledger entries of kind `payment`) by
/// channel per day or rent week, with counts and amounts in pence. Every period of the range
/// is listed with a figure for every channel (zeros included), ready for a chart.
#[utoipa::path(
    get,
    path = "/staff/payments/by-channel",
    tag = "staff",
    params(ByChannelParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Payments by channel and period", body = PaymentsByChannel),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with the income role", body = ErrorEnvelope),
        (status = 422, description = "A parameter is missing or not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn by_channel(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ByChannelParams>,
) -> Result<Json<PaymentsByChannel>, ApiError> {
    let report = channels::by_channel(&state.db, &principal, params.from, params.to, params.group.as_deref()).await?;
    Ok(Json(report))
}
