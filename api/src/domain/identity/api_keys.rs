//! API keys for machine clients: 256 random bits behind a recognisable prefix, stored as
//! SHA-256 (right for high-entropy secrets: nothing to brute-force), shown once,
//! revocable, and limited to scopes within one organisation.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde_json::json;
use tracing::instrument;

use super::audit::{self, Actor, ClientMeta, Event, Outcome};
use super::error::IdentityError;
use super::model::{ApiKeyView, CreateApiKeyRequest, CreatedApiKey, Scope};
use super::policy::{self, ADMIN_ROLES, Principal};
use super::random::{sha256_hex, token_256};
use crate::entity::{api_key, organisation};

/// Every key starts with this, so that secret scanners and people recognise it.
pub const KEY_PREFIX: &str = "dsk_live_";
/// Characters of the key kept (and shown) to tell keys apart.
const SHOWN: usize = KEY_PREFIX.len() + 8;

fn to_view(k: api_key::Model, org_slug: String) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        organisation: org_slug,
        scopes: k.scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

/// `POST /staff/api-keys` (admins).
#[instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    p: &Principal,
    req: CreateApiKeyRequest,
    meta: &ClientMeta,
) -> Result<CreatedApiKey, IdentityError> {
    let staff = policy::require_staff(p, ADMIN_ROLES)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(IdentityError::invalid("name", "must be 1 to 100 characters"));
    }
    if req.scopes.is_empty() {
        return Err(IdentityError::invalid("scopes", "must name at least one scope"));
    }
    let mut scopes: Vec<Scope> = Vec::new();
    for s in &req.scopes {
        let scope = Scope::parse(s.trim()).ok_or_else(|| {
            let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            IdentityError::invalid("scopes", format!("{s:?} is not a scope; scopes are {}", all.join(", ")))
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let org = match req.organisation.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(slug) => organisation::Entity::find()
            .filter(organisation::Column::Slug.eq(slug))
            .one(db)
            .await?
            .filter(|o| staff.org_ids.contains(&o.id))
            .ok_or(IdentityError::NotFound("organisation"))?,
        None => organisation::Entity::find_by_id(staff.organisation_id)
            .one(db)
            .await?
            .ok_or(IdentityError::NotFound("organisation"))?,
    };
    let key = format!("{KEY_PREFIX}{}", token_256()?);
    let scope_text = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
    let txn = db.begin().await?;
    let row = api_key::ActiveModel {
        organisation_id: Set(org.id),
        name: Set(name.to_owned()),
        prefix: Set(key[..SHOWN].to_owned()),
        key_hash: Set(sha256_hex(&key)),
        scopes: Set(scope_text.clone()),
        created_by: Set(Some(staff.user_id)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Event::new("api_key.created", Outcome::Success, Actor::of(p))
            .org(Some(org.id))
            .object("api_key", row.id)
            .details(json!({ "name": row.name, "scopes": scope_text, "prefix": row.prefix })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedApiKey { view: to_view(row, org.slug), key })
}

/// `GET /staff/api-keys` (admins): keys of the organisations in scope, revoked ones too.
pub async fn list(db: &DatabaseConnection, p: &Principal) -> Result<Vec<ApiKeyView>, IdentityError> {
    let staff = policy::require_staff(p, ADMIN_ROLES)?;
    let orgs =
        organisation::Entity::find().filter(organisation::Column::Id.is_in(staff.org_ids.clone())).all(db).await?;
    let rows = api_key::Entity::find()
        .filter(api_key::Column::OrganisationId.is_in(staff.org_ids.clone()))
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|k| {
            let slug = orgs.iter().find(|o| o.id == k.organisation_id).map(|o| o.slug.clone()).unwrap_or_default();
            to_view(k, slug)
        })
        .collect())
}

/// `DELETE /staff/api-keys/{id}` (admins): the key stops working at once.
#[instrument(skip_all, fields(api_key = id))]
pub async fn revoke(db: &DatabaseConnection, p: &Principal, id: i64, meta: &ClientMeta) -> Result<(), IdentityError> {
    let staff = match policy::require_staff(p, ADMIN_ROLES) {
        Err(IdentityError::Forbidden(_)) => return Err(IdentityError::NotFound("api key")),
        other => other?,
    };
    let row = api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|k| staff.org_ids.contains(&k.organisation_id))
        .ok_or(IdentityError::NotFound("api key"))?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let txn = db.begin().await?;
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        Event::new("api_key.revoked", Outcome::Success, Actor::of(p))
            .org(Some(row.organisation_id))
            .object("api_key", id)
            .details(json!({ "name": row.name, "prefix": row.prefix })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
