use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::model::RegistrationPage;
use crate::domain::identity::{Principal, service};
use crate::http::extract::Query;
use crate::http::pagination::PageParams;
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// `pending`, `unmatched`, `validated`, `rejected`, `locked`, `activated` or `expired`;
    /// all when absent.
    pub status: Option<String>,
}

/// Registration requests of your organisations, oldest first, each beside the tenancy it
/// matched (reference, address, tenants, account number).
#[utoipa::path(
    get,
    path = "/staff/registrations",
    tag = "staff",
    params(StatusParams, PageParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of requests", body = RegistrationPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with a role that works registrations (or a key without `registrations:read`)", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<StatusParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<RegistrationPage>, ApiError> {
    let page = page.parse()?;
    Ok(Json(service::list_registrations(&state.db, &principal, filter.status.as_deref(), page).await?))
}
