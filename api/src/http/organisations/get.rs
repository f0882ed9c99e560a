use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::{ErrorEnvelope, Organisation};

use crate::http::extract::Path;
use crate::{ApiError, AppState, domain};

/// One landlord by its slug.
#[utoipa::path(
    get,
    path = "/organisations/{slug}",
    tag = "public",
    params(("slug" = String, Path, description = "The organisation's slug, e.g. `pennine-vale`")),
    responses(
        (status = 200, description = "The organisation", body = Organisation),
        (status = 404, description = "No organisation has that slug", body = ErrorEnvelope),
    )
)]
pub async fn get(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(domain::org::get_by_slug(&state.db, &slug).await?))
}
