use sea_orm::entity::prelude::*;

/// Who did what, when and from where. Never holds a password, PIN or token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// `anonymous`, `user`, `api_key`, `system`.
    pub actor_kind: String,
    pub actor_user_id: Option<i64>,
    pub actor_api_key_id: Option<i64>,
    pub actor_label: Option<String>,
    pub organisation_id: Option<i64>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// `success`, `failure`, `denied`.
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// JSON.
    pub details: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
