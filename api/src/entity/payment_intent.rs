use sea_orm::entity::prelude::*;

/// A payment a tenant started in the portal: the provider page they were sent to and what
/// became of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_intent")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub public_id: String,
    pub account_id: i64,
    pub user_id: i64,
    pub amount_pence: i64,
    pub provider: String,
    /// `created`, `pending`, `succeeded`, `failed`, `provider_error`.
    pub status: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub provider_payment_id: Option<String>,
    pub provider_session_id: Option<String>,
    pub provider_url: Option<String>,
    pub return_url: Option<String>,
    pub ledger_entry_id: Option<i64>,
    pub failure_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
