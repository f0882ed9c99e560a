use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::{ErrorEnvelope, Organisation, Page};

use crate::http::extract::Query;
use crate::http::pagination::{PageParams, encode_cursor};
use crate::{ApiError, AppState, domain};

/// Landlords on this portal, with their branding and contacts.
#[utoipa::path(
    get,
    path = "/organisations",
    tag = "public",
    params(PageParams),
    responses(
        (status = 200, description = "A page of organisations", body = Page<Organisation>),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Organisation>>, ApiError> {
    let page = params.parse()?;
    let (rows, more) = domain::org::list(&state.db, page.after, page.limit).await?;
    let next_cursor = if more { rows.last().map(|(id, _)| encode_cursor(*id)) } else { None };
    Ok(Json(Page { items: rows.into_iter().map(|(_, o)| o).collect(), next_cursor }))
}
