use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::Principal;
use crate::domain::tenancy::{self, model::StaffTenancyView};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// Staff: one tenancy of your organisations: the people on it, the home, the housing
/// officer, and each account with its balance ("in arrears" / "in credit"), the date of the
/// last transaction and the three most recent transactions.
#[utoipa::path(
    get,
    path = "/staff/tenants/{id}",
    tag = "staff",
    params(("id" = i64, Path, description = "The tenancy's id (`tenancy_id` in the search results)")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The tenancy", body = StaffTenancyView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such tenancy among those you may see", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<StaffTenancyView>, ApiError> {
    Ok(Json(tenancy::staff_tenancy(&state.db, &principal, id).await?))
}
