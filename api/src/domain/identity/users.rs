//! Creating sign-ins outside registration: staff (`doorstep user create-staff`) and demo
//! users.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tracing::instrument;

use super::audit::{self, Actor, ClientMeta, Event, Outcome};
use super::error::IdentityError;
use super::model::{Role, UserStatus};
use super::password;
use super::service::parse_email;
use crate::entity::{app_user, organisation};

/// Creates a member of staff of the organisation `org_slug` with `role`.
#[instrument(skip_all)]
pub async fn create_staff(
    db: &DatabaseConnection,
    org_slug: &str,
    email: &str,
    password_in: SecretString,
    role: &str,
    display_name: Option<String>,
) -> Result<app_user::Model, IdentityError> {
    let role = Role::parse(role.trim()).filter(|r| r.is_staff()).ok_or_else(|| {
        let roles: Vec<&str> = Role::staff_roles().map(Role::as_str).collect();
        IdentityError::invalid("role", format!("must be one of {}", roles.join(", ")))
    })?;
    let email = parse_email(email)?;
    password::check_policy(password_in.expose_secret(), Some(&email))?;
    let org = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(org_slug.trim()))
        .one(db)
        .await?
        .ok_or(IdentityError::NotFound("organisation"))?;
    if app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(db).await?.is_some() {
        return Err(IdentityError::conflict(Some("email"), "that email address already has a sign-in"));
    }
    let hash = password::hash(password_in).await?;
    let user = app_user::ActiveModel {
        email: Set(email),
        password_hash: Set(Some(hash)),
        role: Set(role.as_str().to_owned()),
        organisation_id: Set(Some(org.id)),
        person_id: Set(None),
        display_name: Set(display_name),
        status: Set(UserStatus::Active.as_str().to_owned()),
        failed_login_count: Set(0),
        locked_until: Set(None),
        last_login_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            IdentityError::conflict(Some("email"), "that email address already has a sign-in")
        }
        _ => IdentityError::Db(e),
    })?;
    audit::record_best_effort(
        db,
        Event::new("user.created", Outcome::Success, Actor::system("command line"))
            .org(Some(org.id))
            .object("user", user.id)
            .details(json!({ "role": role.as_str() })),
        &ClientMeta::default(),
    )
    .await;
    Ok(user)
}
