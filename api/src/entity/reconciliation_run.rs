use sea_orm::entity::prelude::*;

/// One end-of-day file matched against the ledger.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub provider: String,
    pub file_name: String,
    pub file_sha256: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub lines: i32,
    pub matched: i32,
    pub late: i32,
    pub amount_mismatch: i32,
    pub unknown_account: i32,
    pub not_in_file: i32,
    pub file_total_pence: i64,
    pub late_posted_pence: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
