use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::Principal;
use crate::domain::reconciliation::model::SuspensePaymentPage;
use crate::domain::reconciliation::queue;
use crate::http::extract::Query;
use crate::http::pagination::PageParams;
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuspenseParams {
    /// `open`, `allocated` or `closed`; all when absent.
    pub status: Option<String>,
}

/// Money received for a reference that matched no account, oldest first: payments of your
/// organisations, and for staff of a top-level organisation those tied to none.
#[utoipa::path(
    get,
    path = "/staff/suspense",
    tag = "staff",
    params(SuspenseParams, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of suspense payments", body = SuspensePaymentPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not staff with the income role", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SuspenseParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<SuspensePaymentPage>, ApiError> {
    let page = page.parse()?;
    Ok(Json(queue::list_suspense(&state.db, &principal, params.status.as_deref(), page).await?))
}
