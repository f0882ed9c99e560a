//! Helping people sign in.

use axum::Json;
use axum::extract::State;
use doorstep_shared::dto::ErrorEnvelope;

use crate::domain::identity::model::UserView;
use crate::domain::identity::{ClientMeta, Principal, sessions};
use crate::http::extract::Path;
use crate::{ApiError, AppState};

/// End a sign-in pause (after 10 failed attempts) at once, instead of waiting 15 minutes.
#[utoipa::path(
    post,
    path = "/staff/users/{id}/unlock",
    tag = "staff",
    params(("id" = i64, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unlocked", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such user among those you may help", body = ErrorEnvelope),
        (status = 422, description = "The id is not a number", body = ErrorEnvelope),
    )
)]
pub async fn unlock(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    Path(id): Path<i64>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(sessions::unlock_user(&state.db, &principal, id, &meta).await?))
}
