//! Demo sign-ins on a seeded database, for `seed-demo` to print: a tenant in arrears, one in
//! credit, a customer-service member of staff per landlord and a group admin. Running it
//! again resets their passwords to the demo ones and creates nothing twice.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use secrecy::SecretString;

use super::model::{Role, UserStatus};
use super::password;
use crate::entity::{app_user, organisation, rent_account, tenancy_member};

const TENANT_ARREARS: (&str, &str) = ("tenant.arrears@doorstep.example", "Kettle-meadow-arrears-2026");
const TENANT_CREDIT: (&str, &str) = ("tenant.credit@doorstep.example", "Lantern-orchard-credit-2026");
const STAFF_PASSWORD: &str = "Counter-ledger-staff-2026";
const ADMIN_PASSWORD: &str = "Harbour-compass-admin-2026";

async fn upsert_user(
    db: &DatabaseConnection,
    email: &str,
    password_text: &str,
    role: Role,
    organisation_id: Option<i64>,
    person_id: Option<i64>,
) -> anyhow::Result<()> {
    password::check_policy(password_text, Some(email))
        .map_err(|e| anyhow::anyhow!("demo password for {email}: {e}"))?;
    let hash = password::hash(SecretString::from(password_text.to_owned())).await?;
    if let Some(existing) = app_user::Entity::find().filter(app_user::Column::Email.eq(email)).one(db).await? {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::PasswordHash, Expr::value(Some(hash)))
            .col_expr(app_user::Column::FailedLoginCount, Expr::value(0))
            .col_expr(app_user::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .col_expr(app_user::Column::Status, Expr::value(UserStatus::Active.as_str()))
            .filter(app_user::Column::Id.eq(existing.id))
            .exec(db)
            .await?;
        return Ok(());
    }
    app_user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(Some(hash)),
        role: Set(role.as_str().to_owned()),
        organisation_id: Set(organisation_id),
        person_id: Set(person_id),
        display_name: Set(None),
        status: Set(UserStatus::Active.as_str().to_owned()),
        failed_login_count: Set(0),
        locked_until: Set(None),
        last_login_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The lead tenant of a rent account whose balance is on the given side of zero and who has
/// no sign-in yet (or already is the demo user `email`).
async fn pick_tenant(db: &DatabaseConnection, arrears: bool, email: &str) -> anyhow::Result<Option<i64>> {
    if let Some(u) = app_user::Entity::find().filter(app_user::Column::Email.eq(email)).one(db).await? {
        return Ok(u.person_id);
    }
    let accounts = rent_account::Entity::find()
        .filter(rent_account::Column::Kind.eq("rent"))
        .filter(if arrears {
            rent_account::Column::BalancePence.gt(0)
        } else {
            rent_account::Column::BalancePence.lt(0)
        })
        .filter(rent_account::Column::ClosedOn.is_null())
        .order_by(rent_account::Column::BalancePence, if arrears { sea_orm::Order::Desc } else { sea_orm::Order::Asc })
        .limit(50)
        .all(db)
        .await?;
    for account in accounts {
        let lead = tenancy_member::Entity::find()
            .filter(tenancy_member::Column::TenancyId.eq(account.tenancy_id))
            .filter(tenancy_member::Column::Role.eq("lead"))
            .one(db)
            .await?;
        let Some(lead) = lead else { continue };
        let taken =
            app_user::Entity::find().filter(app_user::Column::PersonId.eq(lead.person_id)).one(db).await?.is_some();
        if !taken {
            return Ok(Some(lead.person_id));
        }
    }
    Ok(None)
}

/// Makes the demo sign-ins and returns `(email, password, what it is)` for each.
pub async fn create_demo_users(db: &DatabaseConnection) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut made = Vec::new();
    for (arrears, (email, pw)) in [(true, TENANT_ARREARS), (false, TENANT_CREDIT)] {
        if let Some(person_id) = pick_tenant(db, arrears, email).await? {
            upsert_user(db, email, pw, Role::Tenant, None, Some(person_id)).await?;
            let what = if arrears { "tenant, rent account in arrears" } else { "tenant, rent account in credit" };
            made.push((email.to_owned(), pw.to_owned(), what.to_owned()));
        }
    }
    let orgs = organisation::Entity::find().order_by_asc(organisation::Column::Id).all(db).await?;
    for org in &orgs {
        let email = format!("customer.service@{}.example", org.slug);
        upsert_user(db, &email, STAFF_PASSWORD, Role::CustomerService, Some(org.id), None).await?;
        made.push((email, STAFF_PASSWORD.to_owned(), format!("customer_service at {}", org.name)));
    }
    // Group admins: the head of each group (or each stand-alone landlord when there is no group).
    let heads: Vec<&organisation::Model> = {
        let groups: Vec<_> =
            orgs.iter().filter(|o| o.parent_id.is_none() && orgs.iter().any(|c| c.parent_id == Some(o.id))).collect();
        if groups.is_empty() { orgs.iter().filter(|o| o.parent_id.is_none()).collect() } else { groups }
    };
    for org in heads {
        let email = format!("admin@{}.example", org.slug);
        upsert_user(db, &email, ADMIN_PASSWORD, Role::Admin, Some(org.id), None).await?;
        made.push((email, ADMIN_PASSWORD.to_owned(), format!("admin of {} and its subsidiaries", org.name)));
    }
    Ok(made)
}
