use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::Principal;
use crate::domain::reconciliation::model::ReconciliationItemPage;
use crate::domain::reconciliation::queue;
use crate::domain::reconciliation::report::ItemFilter;
use crate::http::extract::{Path, Query};
use crate::http::pagination::PageParams;
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemParams {
    /// A reason code (`matched`, `late`, `amount_mismatch`, `unknown_account`,
    /// `not_in_file`), or `exceptions` for the last three; all when absent.
    pub status: Option<String>,
    /// `open` or `resolved`; both when absent.
    pub resolution: Option<String>,
}

/// A run's items for your organisations, in file order (ledger payments the file lacks
/// last): the file's and the ledger's amounts, the account, the suspense payment holding an
/// unknown account's money, and how each was resolved.
#[utoipa::path(
    get,
    path = "/staff/reconciliation/runs/{id}/items",
    tag = "staff",
    params(("id" = i64, Path, description = "The run's id"), ItemParams, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of items", body = ReconciliationItemPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such run among those you may see", body = ErrorEnvelope),
        (status = 422, description = "A parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<ItemParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<ReconciliationItemPage>, ApiError> {
    let page = page.parse()?;
    let filter = ItemFilter {
        status: params.status.filter(|s| !s.trim().is_empty()),
        resolution: params.resolution.filter(|s| !s.trim().is_empty()),
        ..ItemFilter::default()
    };
    Ok(Json(queue::run_items(&state.db, &principal, id, filter, page).await?))
}
