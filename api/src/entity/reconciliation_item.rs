use sea_orm::entity::prelude::*;

/// One line of a reconciliation run: a file line, or a ledger payment the file lacks.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_item")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub organisation_id: Option<i64>,
    /// The file's line number; 0 for a ledger payment that the file does not list.
    pub line_no: i32,
    pub provider_payment_id: String,
    pub account_reference: String,
    pub file_amount_pence: Option<i64>,
    pub ledger_amount_pence: Option<i64>,
    pub channel: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    /// `matched`, `late`, `amount_mismatch`, `unknown_account`, `not_in_file`.
    pub status: String,
    pub ledger_entry_id: Option<i64>,
    /// `open` or `resolved`.
    pub resolution: String,
    pub note: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
