//! Request and response bodies of the public API, as both the server and the SPA see them.

use serde::{Deserialize, Serialize};

/// The error envelope of every failed request: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable machine-readable code such as `not_found` or `validation_failed`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// Structured detail, such as the field that failed validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

/// A page of a list, with the cursor for the next page (absent on the last page).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// How a landlord presents itself: colours and the name to show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Branding {
    /// Main colour as `#rrggbb`.
    pub primary_colour: String,
    /// Accent colour as `#rrggbb`.
    pub secondary_colour: String,
    /// A short strapline shown under the name.
    pub tagline: Option<String>,
}

/// How tenants reach a landlord.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Contacts {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    /// When the phone lines are open, as written for people.
    pub opening_hours: Option<String>,
    /// The out-of-hours number for emergency repairs.
    pub emergency_phone: Option<String>,
}

/// A landlord as the public sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Organisation {
    pub slug: String,
    pub name: String,
    /// The slug of the group this landlord belongs to, if any.
    pub parent_slug: Option<String>,
    pub branding: Branding,
    pub contacts: Contacts,
}

/// Whether a rent account's balance is owed, in credit or clear.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::Enum))]
pub enum BalanceState {
    /// The tenant owes money (positive balance).
    InArrears,
    /// The tenant has paid ahead (negative balance).
    InCredit,
    Clear,
}

impl BalanceState {
    pub fn of(balance_pence: i64) -> BalanceState {
        match balance_pence {
            p if p > 0 => BalanceState::InArrears,
            p if p < 0 => BalanceState::InCredit,
            _ => BalanceState::Clear,
        }
    }

    /// "£123.45 in arrears", "£10.00 in credit", "£0.00".
    pub fn describe(balance_pence: i64) -> String {
        let amount = crate::Money::from_pence(balance_pence).abs();
        match BalanceState::of(balance_pence) {
            BalanceState::InArrears => format!("{amount} in arrears"),
            BalanceState::InCredit => format!("{amount} in credit"),
            BalanceState::Clear => amount.to_string(),
        }
    }
}

/// One line of a rent account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Transaction {
    pub id: i64,
    /// The business date the line counts from.
    pub date: chrono::NaiveDate,
    /// `charge`, `payment`, `housing_benefit`, `universal_credit`, `adjustment`, `refund`, `reversal`.
    pub kind: String,
    pub description: String,
    /// Charges positive, payments negative.
    pub amount_pence: i64,
    /// The account's balance after this line, taking lines in date order (then posting
    /// order), so that a history read by date adds up.
    pub balance_after_pence: i64,
    /// How a payment arrived (`web`, `retail_cash`, `direct_debit`, …).
    pub channel: Option<String>,
}

/// A rent account at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct AccountSummary {
    pub id: i64,
    /// Also the payment reference.
    pub account_number: String,
    /// `rent`, `garage`, `community_alarm`, `service_charge`, `sundry`.
    pub kind: String,
    /// What to call the account on screen: "Rent", "Garage", …
    pub kind_label: String,
    pub balance_pence: i64,
    pub balance_state: BalanceState,
    /// The balance in words: "£123.45 in arrears".
    pub balance_text: String,
    pub weekly_charge_pence: i64,
    pub last_transaction_date: Option<chrono::NaiveDate>,
    /// The three most recent lines, newest first.
    pub recent: Vec<Transaction>,
}

/// An account in the staff arrears list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct ArrearsRow {
    pub account_id: i64,
    pub account_number: String,
    pub kind: String,
    pub tenant_name: String,
    pub address: String,
    pub patch: Option<String>,
    pub balance_pence: i64,
    /// Balance divided by the weekly charge, to one decimal place, as tenths (e.g. 35 = 3.5 weeks).
    pub weeks_in_arrears_tenths: i64,
    pub last_payment_date: Option<chrono::NaiveDate>,
}

/// A request to pay into a rent account from the portal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewPayment {
    /// What to pay, in pence (at least 100).
    pub amount_pence: i64,
}

/// A payment started in the portal and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Payment {
    /// `pi_…`: quote it to follow the payment.
    pub id: String,
    pub account_id: i64,
    pub amount_pence: i64,
    /// `created`, `pending` (the provider page is open), `succeeded`, `failed`, `provider_error`.
    pub status: String,
    /// Who hosts the card page (`sandbox`, `govuk_pay`).
    pub provider: String,
    /// The provider's page to show in a frame while the payment is pending.
    pub provider_url: Option<String>,
    /// Why it failed, in words for the tenant.
    pub failure_reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What the portal answers a payment notification with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct WebhookReceipt {
    /// One per notification in the request: `posted`, `already_posted`, `duplicate_event`,
    /// `suspense`, `failed_payment`, `ignored`, `conflict`.
    pub outcomes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_are_worded_for_tenants() {
        assert_eq!(BalanceState::of(12_345), BalanceState::InArrears);
        assert_eq!(BalanceState::describe(12_345), "£123.45 in arrears");
        assert_eq!(BalanceState::describe(-1_000), "£10.00 in credit");
        assert_eq!(BalanceState::describe(0), "£0.00");
        assert_eq!(serde_json::to_string(&BalanceState::InCredit).unwrap(), "\"in_credit\"");
    }
}
