use chrono::NaiveDate;
use doorstep_shared::Money;

use crate::macros::string_enum;

string_enum! {
    /// What a ledger line is. Charges are positive; the rest are usually negative.
    EntryKind {
        Charge => "charge",
        Payment => "payment",
        HousingBenefit => "housing_benefit",
        UniversalCredit => "universal_credit",
        Adjustment => "adjustment",
        Refund => "refund",
        Reversal => "reversal",
    }
}

string_enum! {
    /// How a payment reached the landlord.
    Channel {
        Web => "web",
        App => "app",
        Telephone => "telephone",
        RetailCash => "retail_cash",
        RecurringCard => "recurring_card",
        PayByLink => "pay_by_link",
        DirectDebit => "direct_debit",
        StandingOrder => "standing_order",
        HousingBenefit => "housing_benefit",
        UniversalCredit => "universal_credit",
        Hms => "hms",
    }
}

impl EntryKind {
    /// Whether an amount has the sign this kind of entry must have. Adjustments and
    /// reversals go either way; refunds pay money back to the tenant, so they raise the
    /// balance.
    pub fn accepts(self, amount: Money) -> bool {
        match self {
            EntryKind::Charge | EntryKind::Refund => amount.pence() > 0,
            EntryKind::Payment | EntryKind::HousingBenefit | EntryKind::UniversalCredit => amount.pence() < 0,
            EntryKind::Adjustment | EntryKind::Reversal => amount.pence() != 0,
        }
    }
}

/// A line to post. `(source, source_ref)` is its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub amount: Money,
    pub effective_date: NaiveDate,
    pub description: String,
    pub source: String,
    pub source_ref: String,
    pub channel: Option<Channel>,
}
