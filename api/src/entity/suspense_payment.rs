use sea_orm::entity::prelude::*;

/// Money received for a reference that matches no account, held until staff allocate it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suspense_payment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organisation_id: Option<i64>,
    pub provider: String,
    pub provider_payment_id: String,
    pub account_reference: String,
    /// What was paid, as a positive amount.
    pub amount_pence: i64,
    pub channel: String,
    pub paid_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
    /// `webhook` or `reconciliation`.
    pub origin: String,
    /// `open`, `allocated`, `closed`.
    pub status: String,
    pub allocated_account_id: Option<i64>,
    pub ledger_entry_id: Option<i64>,
    pub note: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
