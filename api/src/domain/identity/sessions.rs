//! Signing in and staying signed in: password login with throttling and lockout, access
//! tokens, rotating refresh tokens (RFC 9700: reuse of a rotated token revokes its whole
//! family), logout, and turning a request's credentials into a [`Principal`].

use chrono::{Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tracing::instrument;

use super::Identity;
use super::audit::{self, Actor, ClientMeta, Event, Outcome};
use super::error::IdentityError;
use super::model::{ClientKind, Role, Scope, UserStatus, UserView};
use super::policy::{self, ApiKeyPrincipal, Principal, USER_SUPPORT_ROLES};
use super::random::{sha256_hex, token_256};
use super::tokens::{ACCESS_TTL_SECS, AUDIENCE, AccessClaims};
use super::{password, rate_limit, repo};
use crate::entity::{api_key, app_user, person, refresh_token};

/// Consecutive failed sign-ins before the account pauses.
pub const MAX_FAILED_LOGINS: i32 = 10;
/// How long it pauses. The tenant recovers by waiting, or staff unlock it.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// A refresh token unused this long expires: the SPA's (cookie) and an app's.
pub const REFRESH_IDLE_WEB: Duration = Duration::days(14);
pub const REFRESH_IDLE_APP: Duration = Duration::days(30);
/// However often it is refreshed, a sign-in lasts at most this long.
pub const FAMILY_MAX: Duration = Duration::days(90);
/// API keys' `last_used_at` (and the audit event for their use) is written at most this often.
const KEY_USE_RESOLUTION: Duration = Duration::minutes(1);

/// A new access token and its refresh token.
pub struct Session {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub client: ClientKind,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("client", &self.client).finish_non_exhaustive()
    }
}

fn refresh_idle(client: ClientKind) -> Duration {
    match client {
        ClientKind::Web => REFRESH_IDLE_WEB,
        ClientKind::App => REFRESH_IDLE_APP,
    }
}

/// A session made and signed, whose refresh token is not stored yet.
struct Prepared {
    session: Session,
    row: refresh_token::ActiveModel,
}

/// Makes an access token (signed now, before any transaction: loading or generating the
/// signing key must not wait on a write lock the caller holds) and a refresh token for
/// `user`: a new family, or the next token of `family` (`(id, parent token, expiry)`).
async fn prepare(
    db: &DatabaseConnection,
    identity: &Identity,
    user: &app_user::Model,
    client: ClientKind,
    family: Option<(String, i64, chrono::DateTime<Utc>)>,
) -> Result<Prepared, IdentityError> {
    let now = Utc::now();
    let (family_id, parent, family_expires) = match family {
        Some((f, parent, exp)) => (f, Some(parent), exp),
        None => (uuid::Uuid::new_v4().to_string(), None, now + FAMILY_MAX),
    };
    let expires = std::cmp::min(now + refresh_idle(client), family_expires);
    let refresh = token_256()?;
    let row = refresh_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(sha256_hex(&refresh)),
        family_id: Set(family_id),
        parent_id: Set(parent),
        client: Set(client.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(expires),
        family_expires_at: Set(family_expires),
        used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    };
    let claims = AccessClaims {
        iss: identity.keys.issuer().to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: user.id.to_string(),
        exp: now.timestamp() + ACCESS_TTL_SECS,
        iat: now.timestamp(),
        nbf: now.timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: format!("doorstep-{}", client.as_str()),
        role: user.role.clone(),
        org: user.organisation_id,
    };
    let access_token = identity.keys.sign(db, &claims).await?;
    let session = Session {
        access_token,
        expires_in: ACCESS_TTL_SECS,
        refresh_token: refresh,
        refresh_expires_in: (expires - now).num_seconds(),
        client,
    };
    Ok(Prepared { session, row })
}

impl Prepared {
    /// Stores the refresh token (inside the caller's transaction) and hands the session out.
    async fn store(self, conn: &impl ConnectionTrait) -> Result<Session, IdentityError> {
        self.row.insert(conn).await?;
        Ok(self.session)
    }
}

/// Audit organisation for a user: staff's own, a tenant's person's.
async fn org_of(conn: &impl ConnectionTrait, user: &app_user::Model) -> Result<Option<i64>, IdentityError> {
    if user.organisation_id.is_some() {
        return Ok(user.organisation_id);
    }
    match user.person_id {
        Some(pid) => Ok(person::Entity::find_by_id(pid).one(conn).await?.map(|p| p.organisation_id)),
        None => Ok(None),
    }
}

/// `POST /auth/login`. An unknown email, a wrong password, a paused (locked) or disabled
/// account all answer the same, after the same amount of work (one argon2 verification).
#[instrument(skip_all)]
pub async fn login(
    db: &DatabaseConnection,
    identity: &Identity,
    email: &str,
    password_in: SecretString,
    client: ClientKind,
    meta: &ClientMeta,
) -> Result<Session, IdentityError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(IdentityError::invalid("email", "is required"));
    }
    if password_in.expose_secret().is_empty() {
        return Err(IdentityError::invalid("password", "is required"));
    }
    let label = Some(email.chars().take(254).collect::<String>()).filter(|e| e.contains('@'));
    for (limit, key) in
        [(rate_limit::LOGIN_PER_IP, meta.ip_or_unknown()), (rate_limit::LOGIN_PER_ACCOUNT, email.as_str())]
    {
        if let Err(e) = rate_limit::hit(db, limit, key).await {
            if matches!(e, IdentityError::Throttled { .. }) {
                audit::record_best_effort(
                    db,
                    Event::new("auth.login", Outcome::Denied, Actor::anonymous(label.clone()))
                        .details(json!({ "reason": "throttled", "limit": limit.name })),
                    meta,
                )
                .await;
            }
            return Err(e);
        }
    }

    let user = app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(db).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Longer than any password we accept (128 characters of up to 4 bytes): refuse it, after
    // the same work, rather than hash megabytes.
    let too_long = password_in.expose_secret().len() > 4 * password::MAX_LEN;
    let candidate = if too_long { SecretString::from("-") } else { password_in };
    let password_ok = password::verify(candidate, hash).await? && !too_long;
    let now = Utc::now();

    let Some(user) = user else {
        audit::record_best_effort(
            db,
            Event::new("auth.login", Outcome::Failure, Actor::anonymous(label))
                .details(json!({ "reason": "unknown_email" })),
            meta,
        )
        .await;
        return Err(IdentityError::InvalidCredentials);
    };
    let org = org_of(db, &user).await?;
    let actor = Actor::user(user.id, &user.email);
    let fail = |reason: &'static str| {
        Event::new("auth.login", Outcome::Failure, actor.clone()).org(org).details(json!({ "reason": reason }))
    };
    if user.locked_until.is_some_and(|t| t > now) {
        audit::record_best_effort(db, fail("locked"), meta).await;
        return Err(IdentityError::InvalidCredentials);
    }
    if user.status != UserStatus::Active.as_str() {
        audit::record_best_effort(db, fail("disabled"), meta).await;
        return Err(IdentityError::InvalidCredentials);
    }
    if !password_ok {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::FailedLoginCount, Expr::col(app_user::Column::FailedLoginCount).add(1))
            .filter(app_user::Column::Id.eq(user.id))
            .exec(db)
            .await?;
        let locked = app_user::Entity::update_many()
            .col_expr(app_user::Column::LockedUntil, Expr::value(now + LOCKOUT))
            .col_expr(app_user::Column::FailedLoginCount, Expr::value(0))
            .filter(app_user::Column::Id.eq(user.id))
            .filter(app_user::Column::FailedLoginCount.gte(MAX_FAILED_LOGINS))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        audit::record_best_effort(db, fail("wrong_password"), meta).await;
        if locked {
            audit::record_best_effort(
                db,
                Event::new("auth.lockout", Outcome::Denied, actor.clone())
                    .org(org)
                    .object("user", user.id)
                    .details(json!({ "until": now + LOCKOUT, "failures": MAX_FAILED_LOGINS })),
                meta,
            )
            .await;
        }
        return Err(IdentityError::InvalidCredentials);
    }

    let prepared = prepare(db, identity, &user, client, None).await?;
    let txn = db.begin().await?;
    app_user::Entity::update_many()
        .col_expr(app_user::Column::FailedLoginCount, Expr::value(0))
        .col_expr(app_user::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(app_user::Column::LastLoginAt, Expr::value(now))
        .filter(app_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let session = prepared.store(&txn).await?;
    audit::record(
        &txn,
        Event::new("auth.login", Outcome::Success, actor)
            .org(org)
            .object("user", user.id)
            .details(json!({ "method": "password", "client": client.as_str() })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

/// Signs in a user whom another mechanism (an external identity provider) has already
/// authenticated.
#[instrument(skip_all)]
pub async fn sign_in_verified_user(
    db: &DatabaseConnection,
    identity: &Identity,
    user: &app_user::Model,
    method: &str,
    client: ClientKind,
    meta: &ClientMeta,
) -> Result<Session, IdentityError> {
    if user.status != UserStatus::Active.as_str() {
        return Err(IdentityError::InvalidCredentials);
    }
    let org = org_of(db, user).await?;
    let prepared = prepare(db, identity, user, client, None).await?;
    let txn = db.begin().await?;
    app_user::Entity::update_many()
        .col_expr(app_user::Column::LastLoginAt, Expr::value(Utc::now()))
        .filter(app_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let session = prepared.store(&txn).await?;
    audit::record(
        &txn,
        Event::new("auth.login", Outcome::Success, Actor::user(user.id, &user.email))
            .org(org)
            .object("user", user.id)
            .details(json!({ "method": method, "client": client.as_str() })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

async fn revoke_family(
    conn: &impl ConnectionTrait,
    family_id: &str,
    now: chrono::DateTime<Utc>,
) -> Result<u64, IdentityError> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected)
}

/// How long after a rotation a browser may present the old refresh token again without
/// the family being revoked (see `refresh`).
pub const RACE_GRACE_SECS: i64 = 20;

/// `POST /auth/refresh`: exchanges a refresh token for a new pair. A token that was already
/// exchanged is a sign of theft: the whole family is revoked and both holders must sign
/// in again. The one exception is the browser racing itself (two tabs, one cookie) within
/// `RACE_GRACE_SECS` of the rotation: that answers 409 and revokes nothing.
#[instrument(skip_all)]
pub async fn refresh(
    db: &DatabaseConnection,
    identity: &Identity,
    token: &str,
    meta: &ClientMeta,
) -> Result<Session, IdentityError> {
    rate_limit::hit(db, rate_limit::REFRESH_PER_IP, meta.ip_or_unknown()).await?;
    let hash = sha256_hex(token);
    let now = Utc::now();
    let Some(row) =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash.as_str())).one(db).await?
    else {
        return Err(IdentityError::Unauthorized);
    };
    let user = app_user::Entity::find_by_id(row.user_id).one(db).await?;
    let active = user.as_ref().filter(|u| u.status == UserStatus::Active.as_str());
    let client = ClientKind::parse(&row.client).unwrap_or(ClientKind::Web);
    // Signed before the transaction; thrown away if the claim below loses.
    let prepared = match active {
        Some(u) => {
            Some(prepare(db, identity, u, client, Some((row.family_id.clone(), row.id, row.family_expires_at))).await?)
        }
        None => None,
    };

    let txn = db.begin().await?;
    // The one statement that decides, so two concurrent uses cannot both win.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .filter(refresh_token::Column::FamilyExpiresAt.gt(now))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        // Used before (and not revoked): someone replayed a rotated token.
        let current = refresh_token::Entity::find_by_id(row.id).one(&txn).await?;
        let used_at = current.as_ref().filter(|r| r.revoked_at.is_none()).and_then(|r| r.used_at);
        // Two tabs of one browser share the cookie and may refresh at the same moment; the
        // loser's retry carries the cookie the winner just set. A reuse that close to the
        // rotation, from the browser client, is that race: refuse it without revoking.
        if client == ClientKind::Web && used_at.is_some_and(|t| now - t < chrono::Duration::seconds(RACE_GRACE_SECS)) {
            return Err(IdentityError::conflict(None, "this sign-in was refreshed a moment ago: try again"));
        }
        if used_at.is_some() {
            let revoked = revoke_family(&txn, &row.family_id, now).await?;
            if let Some(u) = &user {
                let org = org_of(&txn, u).await?;
                audit::record(
                    &txn,
                    Event::new("auth.token_family_revoked", Outcome::Denied, Actor::user(u.id, &u.email))
                        .org(org)
                        .object("user", u.id)
                        .details(
                            json!({ "reason": "refresh_token_reuse", "family": row.family_id, "tokens": revoked }),
                        ),
                    meta,
                )
                .await?;
            }
            txn.commit().await?;
            tracing::warn!(user = row.user_id, "a rotated refresh token was used again: its family is revoked");
        }
        return Err(IdentityError::Unauthorized);
    }
    let Some(prepared) = prepared else {
        revoke_family(&txn, &row.family_id, now).await?;
        txn.commit().await?;
        return Err(IdentityError::Unauthorized);
    };
    let session = prepared.store(&txn).await?;
    txn.commit().await?;
    Ok(session)
}

/// `POST /auth/logout`: revokes the refresh token's family. Unknown tokens are ignored, so
/// logging out twice is fine.
#[instrument(skip_all)]
pub async fn logout(db: &DatabaseConnection, token: Option<&str>, meta: &ClientMeta) -> Result<(), IdentityError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(()) };
    let Some(row) =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(sha256_hex(token))).one(db).await?
    else {
        return Ok(());
    };
    let now = Utc::now();
    let txn = db.begin().await?;
    let revoked = revoke_family(&txn, &row.family_id, now).await?;
    if revoked > 0
        && let Some(u) = app_user::Entity::find_by_id(row.user_id).one(&txn).await?
    {
        let org = org_of(&txn, &u).await?;
        audit::record(
            &txn,
            Event::new("auth.logout", Outcome::Success, Actor::user(u.id, &u.email))
                .org(org)
                .object("user", u.id)
                .details(json!({ "family": row.family_id, "tokens_revoked": revoked })),
            meta,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Turns an `Authorization` header into the caller. No header is an anonymous caller; a
/// header that does not authenticate is an error (never a silent downgrade to anonymous).
#[instrument(skip_all)]
pub async fn authenticate(
    db: &DatabaseConnection,
    identity: &Identity,
    authorization: Option<&str>,
    meta: &ClientMeta,
) -> Result<Principal, IdentityError> {
    let Some(header) = authorization.map(str::trim) else { return Ok(Principal::Anonymous) };
    let (scheme, credential) = header.split_once(' ').ok_or(IdentityError::Unauthorized)?;
    let credential = credential.trim();
    if credential.is_empty() {
        return Err(IdentityError::Unauthorized);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = identity.keys.verify(db, credential).await?;
        let user_id: i64 = claims.sub.parse().map_err(|_| IdentityError::Unauthorized)?;
        let user = app_user::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .filter(|u| u.status == UserStatus::Active.as_str())
            .ok_or(IdentityError::Unauthorized)?;
        repo::principal_for(db, &user).await
    } else if scheme.eq_ignore_ascii_case("apikey") {
        authenticate_api_key(db, credential, meta).await
    } else {
        Err(IdentityError::Unauthorized)
    }
}

async fn authenticate_api_key(
    db: &DatabaseConnection,
    key: &str,
    meta: &ClientMeta,
) -> Result<Principal, IdentityError> {
    if !key.starts_with(super::api_keys::KEY_PREFIX) {
        return Err(IdentityError::Unauthorized);
    }
    let row = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(sha256_hex(key)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(IdentityError::Unauthorized)?;
    let now = Utc::now();
    if row.last_used_at.is_none_or(|t| now - t > KEY_USE_RESOLUTION) {
        let touched = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(row.id))
            .exec(db)
            .await;
        match touched {
            Ok(_) => {
                audit::record_best_effort(
                    db,
                    Event::new(
                        "api_key.used",
                        Outcome::Success,
                        Actor {
                            kind: "api_key",
                            user_id: None,
                            api_key_id: Some(row.id),
                            label: Some(row.name.clone()),
                        },
                    )
                    .org(Some(row.organisation_id))
                    .object("api_key", row.id),
                    meta,
                )
                .await;
            }
            Err(e) => tracing::warn!(error = %e, "cannot note an API key's use"),
        }
    }
    Ok(Principal::ApiKey(ApiKeyPrincipal {
        key_id: row.id,
        name: row.name,
        organisation_id: row.organisation_id,
        scopes: row.scopes.split_whitespace().filter_map(Scope::parse).collect(),
    }))
}

pub fn user_view(u: &app_user::Model) -> UserView {
    UserView {
        id: u.id,
        email: u.email.clone(),
        role: u.role.clone(),
        status: u.status.clone(),
        last_login_at: u.last_login_at,
    }
}

/// `POST /staff/users/{id}/unlock`: ends a sign-in pause at once. Staff may unlock tenants
/// of their organisations; an admin also staff within their scope.
#[instrument(skip_all, fields(user = user_id))]
pub async fn unlock_user(
    db: &DatabaseConnection,
    p: &Principal,
    user_id: i64,
    meta: &ClientMeta,
) -> Result<UserView, IdentityError> {
    let staff = match policy::require_staff(p, USER_SUPPORT_ROLES) {
        Err(IdentityError::Forbidden(_)) => return Err(IdentityError::NotFound("user")),
        other => other?,
    };
    let user = app_user::Entity::find_by_id(user_id).one(db).await?.ok_or(IdentityError::NotFound("user"))?;
    let org = org_of(db, &user).await?;
    let visible = match Role::parse(&user.role) {
        Some(Role::Tenant) => org.is_some_and(|o| staff.org_ids.contains(&o)),
        Some(_) => staff.role == Role::Admin && org.is_some_and(|o| staff.org_ids.contains(&o)),
        None => false,
    };
    policy::visible_or_not_found(visible, "user")?;
    let txn = db.begin().await?;
    app_user::Entity::update_many()
        .col_expr(app_user::Column::FailedLoginCount, Expr::value(0))
        .col_expr(app_user::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(app_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        Event::new("auth.unlocked", Outcome::Success, Actor::of(p)).org(org).object("user", user.id),
        meta,
    )
    .await?;
    txn.commit().await?;
    let user = app_user::Entity::find_by_id(user_id).one(db).await?.ok_or(IdentityError::NotFound("user"))?;
    Ok(user_view(&user))
}
