use sea_orm::entity::prelude::*;

/// The inbox: every notification a provider sent, once (UNIQUE on provider and event id).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub provider_payment_id: Option<String>,
    /// `posted`, `already_posted`, `suspense`, `failed_payment`, `ignored`, `conflict`.
    pub outcome: String,
    pub ledger_entry_id: Option<i64>,
    pub payload: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
