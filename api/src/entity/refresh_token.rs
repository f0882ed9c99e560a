use sea_orm::entity::prelude::*;

/// One refresh token of a family. Only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub family_id: String,
    pub parent_id: Option<i64>,
    /// `web` (HttpOnly cookie) or `app` (response body).
    pub client: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub family_expires_at: DateTimeUtc,
    /// Set when it was exchanged for a new one; a second use revokes the family.
    pub used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
