//! What a provider tells us, in the provider-neutral shape the ingest works on.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use doorstep_shared::Money;

use crate::domain::ledger::Channel;
use crate::macros::string_enum;

string_enum! {
    /// What a notification says happened to a payment.
    NoticeKind {
        Succeeded => "payment.succeeded",
        Failed => "payment.failed",
        /// Anything else a provider sends (started, captured, settled, ...): recorded, not posted.
        Other => "other",
    }
}

/// One payment notification, whatever provider sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The provider key (`sandbox`, `govuk_pay`, `event_grid`).
    pub provider: String,
    /// The provider's id for this notification: the inbox key.
    pub event_id: String,
    /// The provider's own event type, as sent.
    pub event_type: String,
    pub kind: NoticeKind,
    /// The provider's id for the payment: the ledger's idempotency key.
    pub payment_id: String,
    /// Our payment intent id, when the payment started in the portal.
    pub intent_ref: Option<String>,
    /// The account reference the payer gave (our account number).
    pub account_reference: String,
    /// What was paid, positive.
    pub amount: Money,
    pub channel: Channel,
    pub paid_at: DateTime<Utc>,
    /// Why a failed payment failed, as the provider says it (`card_declined`, ...).
    pub failure: Option<String>,
    /// The notification as received, kept in the inbox.
    pub payload: String,
}

/// The ledger source of a provider's payments; with the payment id, the idempotency key.
pub fn ledger_source(provider: &str) -> String {
    format!("provider:{provider}")
}

/// The UK business date of an instant: Europe/London, which is UTC in winter and UTC+1
/// from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    let year = at.year();
    let starts = last_sunday_0100(year, 3);
    let ends = last_sunday_0100(year, 10);
    let offset = if at >= starts && at < ends { chrono::Duration::hours(1) } else { chrono::Duration::zero() };
    (at + offset).date_naive()
}

fn last_sunday_0100(year: i32, month: u32) -> DateTime<Utc> {
    let mut day = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or(NaiveDate::MIN);
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt().unwrap_or(day);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap_or_default())
}

/// How a payment reads on a statement.
pub fn describe(channel: Channel) -> &'static str {
    match channel {
        Channel::Web => "Card payment online",
        Channel::App => "Card payment in the app",
        Channel::Telephone => "Card payment by telephone",
        Channel::RetailCash => "Cash payment at a shop",
        Channel::RecurringCard => "Recurring card payment",
        Channel::PayByLink => "Payment by link",
        Channel::DirectDebit => "Direct Debit",
        Channel::StandingOrder => "Standing order",
        Channel::HousingBenefit => "Housing Benefit",
        Channel::UniversalCredit => "Universal Credit",
        Channel::Hms => "Payment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn business_dates_follow_uk_summer_time() {
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(london_date(at("2026-01-10T23:30:00Z")), NaiveDate::from_ymd_opt(2026, 1, 10).unwrap());
        assert_eq!(london_date(at("2026-06-10T23:30:00Z")), NaiveDate::from_ymd_opt(2026, 6, 11).unwrap());
        assert_eq!(london_date(at("2026-03-29T00:59:59Z")), NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(london_date(at("2026-03-28T23:30:00Z")), NaiveDate::from_ymd_opt(2026, 3, 28).unwrap());
        assert_eq!(london_date(at("2026-10-24T23:30:00Z")), NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
        assert_eq!(london_date(at("2026-10-25T23:30:00Z")), NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
    }
}
