//! The shapes the income team reads: runs and their reports, items, suspense payments and
//! payments by channel. Each derives both the OpenAPI schema and the GraphQL object, so that
//! REST, GraphQL and the command line say the same thing. Money is integer pence, always
//! positive here (what was paid), never a float.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::macros::string_enum;

string_enum! {
    /// What a line of the file (or a ledger payment the file lacks) turned out to be.
    ItemStatus {
        /// In the file and in the ledger with the same amount.
        Matched => "matched",
        /// In the file but not in the ledger: the real-time notification never arrived, so
        /// the run posted it to the account.
        Late => "late",
        /// In the file and in the ledger, with another amount. Nothing was posted.
        AmountMismatch => "amount_mismatch",
        /// In the file, for a reference that is no account's number: held in suspense.
        UnknownAccount => "unknown_account",
        /// In the ledger as this provider's payment on the file's business dates, but not in
        /// the file.
        NotInFile => "not_in_file",
    }
}

impl ItemStatus {
    /// Whether staff must look at it (the reason codes of the exception queue).
    pub fn is_exception(self) -> bool {
        matches!(self, ItemStatus::AmountMismatch | ItemStatus::UnknownAccount | ItemStatus::NotInFile)
    }

    /// What the reason code means, in words for the staff screen and the report.
    pub fn describe(self) -> &'static str {
        match self {
            ItemStatus::Matched => "In the file and on the account with the same amount",
            ItemStatus::Late => "The notification never arrived: posted to the account by this run",
            ItemStatus::AmountMismatch => {
                "On the account with a different amount: nothing posted, check with the provider"
            }
            ItemStatus::UnknownAccount => "The reference is no account's number: held in suspense until allocated",
            ItemStatus::NotInFile => {
                "On the account as this provider's payment, but the provider's file does not list it"
            }
        }
    }
}

string_enum! {
    /// Where a suspense payment is.
    SuspenseStatus {
        Open => "open",
        /// Posted to the account staff chose.
        Allocated => "allocated",
        /// Dealt with outside the ledger (refunded to the payer, say), with a note.
        Closed => "closed",
    }
}

/// Counts of a run's items by status, within what the caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationCounts {
    pub matched: i64,
    pub late: i64,
    pub amount_mismatch: i64,
    pub unknown_account: i64,
    pub not_in_file: i64,
    /// `amount_mismatch + unknown_account + not_in_file`.
    pub exceptions: i64,
    /// Exceptions not yet resolved by staff.
    pub open_exceptions: i64,
}

/// Money of a run, in pence, within what the caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationTotals {
    /// Everything the file lists.
    pub file_pence: i64,
    pub matched_pence: i64,
    /// Posted to accounts by this run.
    pub late_posted_pence: i64,
    /// What the file says of the mismatched payments…
    pub amount_mismatch_file_pence: i64,
    /// …and what the ledger holds for them.
    pub amount_mismatch_ledger_pence: i64,
    /// Held in suspense.
    pub unknown_account_pence: i64,
    /// On accounts but missing from the file.
    pub not_in_file_pence: i64,
}

/// One reconciliation run: a provider's end-of-day file matched against the ledger.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationRunView {
    pub id: i64,
    /// The provider key (`sandbox`, `govuk_pay`, `event_grid`).
    pub provider: String,
    pub file_name: String,
    /// SHA-256 of the file's bytes: the same file again is recognised and changes nothing.
    pub file_sha256: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What started it: `doorstep reconcile`, the drop-folder job.
    pub started_by: Option<String>,
    /// The London business dates whose ledger payments were checked against the file
    /// (`null` for a file with no lines).
    pub business_date_from: Option<NaiveDate>,
    pub business_date_to: Option<NaiveDate>,
    /// Lines in the file (all organisations).
    pub lines: i64,
    pub counts: ReconciliationCounts,
    pub totals: ReconciliationTotals,
}

/// One reason code of a run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationReason {
    /// `matched`, `late`, `amount_mismatch`, `unknown_account` or `not_in_file`.
    pub reason_code: String,
    /// Whether staff must work it.
    pub exception: bool,
    pub description: String,
    pub items: i64,
    /// Not yet resolved.
    pub open: i64,
    /// What the file says was paid (absent for `not_in_file`).
    pub file_pence: i64,
    /// What the ledger holds (absent for `unknown_account`).
    pub ledger_pence: i64,
}

/// A run's report: the run with its counts and totals, and a line per reason code.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationReport {
    pub run: ReconciliationRunView,
    /// Every reason code, in a fixed order: matched, late, then the exceptions.
    pub reasons: Vec<ReconciliationReason>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationRunPage {
    pub items: Vec<ReconciliationRunView>,
    pub next_cursor: Option<String>,
}

/// One item of a run: a line of the file, or a ledger payment the file lacks.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationItemView {
    pub id: i64,
    pub run_id: i64,
    /// The file's line; `null` for a ledger payment the file does not list.
    pub line: Option<i32>,
    /// The reason code: `matched`, `late`, `amount_mismatch`, `unknown_account`, `not_in_file`.
    pub status: String,
    pub reason: String,
    pub provider_payment_id: String,
    /// The account number the payer quoted (for `not_in_file`, the account's number).
    pub account_reference: String,
    /// The account the payment is on, or was posted to, when there is one.
    pub account_id: Option<i64>,
    /// What the file says was paid.
    pub file_amount_pence: Option<i64>,
    /// What the ledger holds.
    pub ledger_amount_pence: Option<i64>,
    /// `file - ledger` when both are known and differ.
    pub difference_pence: Option<i64>,
    pub channel: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub ledger_entry_id: Option<i64>,
    /// For `unknown_account`: the suspense payment holding the money.
    pub suspense_payment_id: Option<i64>,
    /// `open` or `resolved`.
    pub resolution: String,
    pub note: Option<String>,
    /// Who resolved it (an email), or `null` when the system did.
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ReconciliationItemPage {
    pub items: Vec<ReconciliationItemView>,
    pub next_cursor: Option<String>,
}

/// Money received for a reference that matched no account.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct SuspensePaymentView {
    pub id: i64,
    pub provider: String,
    pub provider_payment_id: String,
    /// The reference the payer gave.
    pub account_reference: String,
    pub amount_pence: i64,
    pub channel: String,
    pub paid_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// `webhook` or `reconciliation`.
    pub origin: String,
    /// `open`, `allocated` or `closed`.
    pub status: String,
    pub allocated_account_id: Option<i64>,
    pub allocated_account_number: Option<String>,
    pub ledger_entry_id: Option<i64>,
    pub note: Option<String>,
    /// Who allocated or closed it (an email).
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct SuspensePaymentPage {
    pub items: Vec<SuspensePaymentView>,
    pub next_cursor: Option<String>,
}

/// What staff do with an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolveItemAction {
    /// Add a note; the item stays open.
    Note,
    /// Resolve it, saying how in the note.
    Close,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResolveReconciliationItemRequest {
    pub action: ResolveItemAction,
    /// Required: what was found or done (at most 1000 characters).
    #[schema(example = "Provider confirmed the file amount; HMS adjusted")]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AllocateSuspenseRequest {
    /// The rent account to post the payment to (one of your organisations').
    pub account_id: i64,
    /// Optional: how the account was identified (at most 1000 characters).
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CloseSuspenseRequest {
    /// Required: why it is closed without posting (refunded to the payer, say).
    pub note: String,
}

string_enum! {
    /// How payments by channel are grouped.
    Grouping {
        Day => "day",
        /// Rent weeks, Monday to Sunday.
        Week => "week",
    }
}

/// One channel's payments in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PaymentChannelFigure {
    /// `web`, `app`, `telephone`, `retail_cash`, `recurring_card`, `pay_by_link`, …
    pub channel: String,
    pub payments: i64,
    pub amount_pence: i64,
}

/// One day or rent week, with a figure for every channel of the report (zero included, so
/// that chart series line up).
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PaymentsByChannelPeriod {
    pub start: NaiveDate,
    /// The last day of the period (inclusive).
    pub end: NaiveDate,
    pub payments: i64,
    pub amount_pence: i64,
    pub channels: Vec<PaymentChannelFigure>,
}

/// A channel that appears in the report, with a label for legends.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PaymentChannel {
    pub channel: String,
    pub label: String,
}

/// How tenants paid: payments (ledger entries of kind `payment`) by channel and period.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PaymentsByChannel {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day` or `week`.
    pub group: String,
    /// The channels with payments in the range, most money first.
    pub channels: Vec<PaymentChannel>,
    /// Every period of the range, oldest first, empty ones included.
    pub periods: Vec<PaymentsByChannelPeriod>,
    /// The whole range, per channel, most money first.
    pub totals: Vec<PaymentChannelFigure>,
    pub payments: i64,
    pub amount_pence: i64,
}
