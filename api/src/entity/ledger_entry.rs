use sea_orm::entity::prelude::*;

/// One line of a rent account. Rows are only ever inserted, by the ledger service.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// `charge`, `payment`, `housing_benefit`, `universal_credit`, `adjustment`, `refund`, `reversal`.
    pub kind: String,
    /// Charges positive, payments negative.
    pub amount_pence: i64,
    pub effective_date: Date,
    pub posted_at: DateTimeUtc,
    pub description: String,
    /// Where the entry came from (`hms`, `charge_run`, `provider:sandbox`, `demo`); with
    /// `source_ref` the idempotency key.
    pub source: String,
    pub source_ref: String,
    pub channel: Option<String>,
    pub balance_after_pence: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
