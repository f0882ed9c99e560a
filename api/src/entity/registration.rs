use sea_orm::entity::prelude::*;

/// A tenant's request to register, as typed, with what it matched and what staff decided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registration")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The landlord whose staff work the request (`None`: nobody could tell).
    pub organisation_id: Option<i64>,
    pub account_number: String,
    pub surname: String,
    pub postcode: String,
    pub email: Option<String>,
    pub identity_issuer: Option<String>,
    pub identity_subject: Option<String>,
    pub account_id: Option<i64>,
    pub tenancy_id: Option<i64>,
    pub person_id: Option<i64>,
    /// `pending`, `unmatched`, `validated`, `rejected`, `locked`, `activated`, `expired`.
    pub status: String,
    pub reject_reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    /// argon2id of the PIN in the latest letter. The PIN itself is stored nowhere.
    pub pin_hash: Option<String>,
    pub pin_expires_at: Option<DateTimeUtc>,
    pub pin_attempts: i32,
    /// The print run the letter belongs to.
    pub letter_due: Option<Date>,
    pub letter_printed_at: Option<DateTimeUtc>,
    pub user_id: Option<i64>,
    pub activated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub request_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
