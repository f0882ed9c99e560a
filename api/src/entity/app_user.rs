use sea_orm::entity::prelude::*;

/// A sign-in: a tenant (with a person) or a member of staff (with an organisation).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lower-cased.
    #[sea_orm(unique)]
    pub email: String,
    /// argon2id PHC string; `None` for a sign-in that only uses an external identity.
    pub password_hash: Option<String>,
    /// `tenant`, `customer_service`, `housing_officer`, `income`, `repairs`, `admin`.
    pub role: String,
    /// A member of staff's organisation.
    pub organisation_id: Option<i64>,
    /// A tenant's person.
    #[sea_orm(unique)]
    pub person_id: Option<i64>,
    pub display_name: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// Failed sign-ins since the last success.
    pub failed_login_count: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
