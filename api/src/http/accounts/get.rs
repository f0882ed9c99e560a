use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::{AccountSummary, ErrorEnvelope};

use crate::domain::identity::Principal;
use crate::domain::ledger::{access, views};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// A rent account at a glance: balance (and whether it is arrears or credit), the date of
/// the last transaction and the three most recent transactions.
#[utoipa::path(
    get,
    path = "/accounts/{id}",
    tag = "accounts",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AccountSummary),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such account, or not yours", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<AccountSummary>, ApiError> {
    let account = access::visible_account(&state.db, &principal, id).await?;
    Ok(Json(views::summary(&state.db, account).await?))
}
