use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::Principal;
use crate::domain::tenancy::model::TenantMatchPage;
use crate::domain::tenancy::{self, SearchRequest};
use crate::http::extract::Query;
use crate::http::pagination::PageParams;
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantSearchParams {
    /// A name, address, postcode or account number, 2 to 100 characters. Every word must
    /// match: `okafor hx1` finds the Okafors in HX1.
    #[param(required = true, value_type = String, min_length = 2, max_length = 100, example = "Okafor")]
    pub q: Option<String>,
}

/// Staff: find a tenant by name, address, postcode, tenancy reference or account number,
/// among the tenancies of your organisations. Current tenancies first, each with its lead
/// and joint tenants, address and accounts with their balances.
#[utoipa::path(
    get,
    path = "/staff/tenants",
    tag = "staff",
    params(TenantSearchParams, PageParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of matching tenancies", body = TenantMatchPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with a role that looks up tenants (or a key without `tenants:read`)", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(search): Query<TenantSearchParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<TenantMatchPage>, ApiError> {
    let request = SearchRequest { q: search.q.as_deref(), limit: page.limit, cursor: page.cursor.as_deref() };
    Ok(Json(tenancy::find_tenants(&state.db, &principal, request).await?))
}
