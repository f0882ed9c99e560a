//! The audit trail of your organisations.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use doorstep_shared::dto::{ErrorEnvelope, Page};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::identity::audit::{self, AuditFilter};
use crate::domain::identity::model::{AuditEventView, Role, Scope};
use crate::domain::identity::{Principal, policy};
use crate::http::extract::Query;
use crate::http::pagination::{PageParams, encode_cursor};
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// e.g. `auth.login`, `registration.validated`, `api_key.used`.
    pub action: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// Only what this user did.
    pub actor_user_id: Option<i64>,
    /// From this day (UTC), inclusive.
    pub from: Option<NaiveDate>,
    /// To this day (UTC), inclusive.
    pub to: Option<NaiveDate>,
}

/// Sign-ins, failures, registration decisions, PIN issue and use, token revocations and API
/// key use in your organisations, newest first.
#[utoipa::path(
    get,
    path = "/staff/audit",
    tag = "staff",
    params(AuditParams, PageParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of events", body = Page<AuditEventView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Admins only (or a key with `audit:read`)", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is not acceptable", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AuditParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<AuditEventView>>, ApiError> {
    let scope = policy::staff_or_key_scope(&principal, &[Role::Admin], Scope::AuditRead)?;
    let page = page.parse()?;
    let filter = AuditFilter {
        action: params.action,
        outcome: params.outcome,
        actor_user_id: params.actor_user_id,
        from: params.from,
        to: params.to,
    };
    let (items, more) = audit::list(&state.db, &scope, &filter, page.after, page.limit).await?;
    let next_cursor = if more { items.last().map(|e| encode_cursor(e.id)) } else { None };
    Ok(Json(Page { items, next_cursor }))
}
