use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::{ArrearsRow, ErrorEnvelope, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::identity::model::{Role, Scope};
use crate::domain::identity::{Principal, policy};
use crate::domain::ledger::views::{self, ArrearsQuery, ArrearsSort};
use crate::http::extract::Query;
use crate::http::pagination::{decode_token, encode_token, parse_limit};
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ArrearsOrder {
    /// Largest balance first (the default).
    #[default]
    Balance,
    /// Most weeks of charge owed first.
    Weeks,
    /// Longest since a payment first.
    LastPayment,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArrearsParams {
    /// Only homes in this patch.
    pub patch: Option<String>,
    /// Only accounts owing at least this many pence (default 1).
    #[param(minimum = 1)]
    pub min_balance_pence: Option<i64>,
    pub sort: Option<ArrearsOrder>,
    /// Only this organisation (one of yours); default: all you can see.
    pub organisation: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Staff: accounts in arrears for your organisations, with weeks in arrears and the date of
/// the last payment.
#[utoipa::path(
    get,
    path = "/staff/arrears",
    tag = "staff",
    security(("bearer" = []), ("api_key" = [])),
    params(ArrearsParams),
    responses(
        (status = 200, description = "A page of accounts in arrears", body = Page<ArrearsRow>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Your role does not see arrears", body = ErrorEnvelope),
        (status = 404, description = "No such organisation among yours", body = ErrorEnvelope),
        (status = 422, description = "A parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ArrearsParams>,
) -> Result<Json<Page<ArrearsRow>>, ApiError> {
    let scope =
        policy::staff_or_key_scope(&principal, &[Role::Income, Role::HousingOfficer, Role::Admin], Scope::TenantsRead)?;
    let limit = parse_limit(params.limit)?;
    let min_balance_pence = match params.min_balance_pence {
        None => 1,
        Some(n) if n >= 1 => n,
        Some(_) => return Err(ApiError::validation("min_balance_pence", "must be at least 1")),
    };
    let offset = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => decode_token(c)
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| ApiError::validation("cursor", "is not a cursor from this API"))?,
    };
    let organisation_ids = match &params.organisation {
        None => scope.org_ids.clone(),
        Some(slug) => {
            let org = crate::domain::org::id_by_slug(&state.db, slug).await?;
            policy::visible_or_not_found(org.is_some_and(|id| scope.org_ids.contains(&id)), "organisation")?;
            org.into_iter().collect()
        }
    };
    let sort = match params.sort.unwrap_or_default() {
        ArrearsOrder::Balance => ArrearsSort::BalanceDesc,
        ArrearsOrder::Weeks => ArrearsSort::WeeksDesc,
        ArrearsOrder::LastPayment => ArrearsSort::LastPaymentAsc,
    };
    let q = ArrearsQuery { organisation_ids, patch: params.patch, min_balance_pence, sort, offset, limit };
    let (items, more) = views::arrears(&state.db, &q).await?;
    let next_cursor = more.then(|| encode_token(&(offset + limit).to_string()));
    Ok(Json(Page { items, next_cursor }))
}
