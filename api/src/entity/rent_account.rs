use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rent_account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organisation_id: i64,
    pub tenancy_id: i64,
    #[sea_orm(unique)]
    pub hms_ref: String,
    /// Also the payment reference a tenant quotes.
    #[sea_orm(unique)]
    pub account_number: String,
    /// `rent`, `garage`, `community_alarm`, `service_charge`, `sundry`.
    pub kind: String,
    pub weekly_charge_pence: i64,
    /// Cached sum of the account's ledger entries; positive means arrears.
    pub balance_pence: i64,
    /// Bumped with every posting, in the same transaction.
    pub version: i64,
    pub last_entry_date: Option<Date>,
    pub opened_on: Date,
    pub closed_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
