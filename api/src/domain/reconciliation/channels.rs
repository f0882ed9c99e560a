//! How tenants pay: payments by channel per day or rent week, counts and amounts, for the
//! income team's chart. Read from `ledger_entry` (entries of kind `payment`; Housing Benefit
//! and Universal Credit are not tenants' payments, and a reversal does not un-count the
//! payment it reverses), summed by business date and channel in the database over the
//! `(effective_date, channel, amount_pence)` index, then laid out per period here with
//! every channel in every period so that chart series line up.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};

use super::error::ReconciliationError;
use super::model::{Grouping, PaymentChannel, PaymentChannelFigure, PaymentsByChannel, PaymentsByChannelPeriod};
use super::queue::income_scope;
use super::sql::{scope_condition, statement};
use crate::domain::identity::policy::{OrgScope, Principal};

/// The longest range one request may ask for: ten years (a day-by-day answer that long is
/// still under two megabytes for a landlord with every channel).
pub const MAX_DAYS: i64 = 3653;
/// Payments recorded without a channel (older HMS imports) are shown under this name.
pub const NOT_RECORDED: &str = "not_recorded";

/// What to call a channel in a legend.
pub fn label(channel: &str) -> &'static str {
    match channel {
        "web" => "Online",
        "app" => "App",
        "telephone" => "Telephone",
        "retail_cash" => "Cash at a shop",
        "recurring_card" => "Recurring card payment",
        "pay_by_link" => "Pay by link",
        "direct_debit" => "Direct Debit",
        "standing_order" => "Standing order",
        "housing_benefit" => "Housing Benefit",
        "universal_credit" => "Universal Credit",
        "hms" => "Paid at the office",
        NOT_RECORDED => "Not recorded",
        _ => "Other",
    }
}

#[derive(FromQueryResult)]
struct DayChannel {
    day: NaiveDate,
    channel: String,
    payments: i64,
    amount_pence: i64,
}

/// Payments by channel for staff with the income role, within their organisations.
pub async fn by_channel(
    db: &DatabaseConnection,
    p: &Principal,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    group: Option<&str>,
) -> Result<PaymentsByChannel, ReconciliationError> {
    let scope = income_scope(p)?;
    let from = from.ok_or_else(|| ReconciliationError::invalid("from", "is required (YYYY-MM-DD)"))?;
    let to = to.ok_or_else(|| ReconciliationError::invalid("to", "is required (YYYY-MM-DD)"))?;
    let group = match group.map(str::trim).filter(|g| !g.is_empty()) {
        None => Grouping::Day,
        Some(g) => Grouping::parse(g).ok_or_else(|| ReconciliationError::invalid("group", "must be day or week"))?,
    };
    if to < from {
        return Err(ReconciliationError::invalid("to", format!("{to} is before from ({from})")));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ReconciliationError::invalid("to", format!("the range may cover at most {MAX_DAYS} days")));
    }
    report(db, Some(&scope), from, to, group).await
}

/// The report for a scope (`None`: every organisation).
pub async fn report(
    db: &impl ConnectionTrait,
    scope: Option<&OrgScope>,
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
) -> Result<PaymentsByChannel, ReconciliationError> {
    // Ledger entries always belong to an account, and accounts to an organisation.
    let scope = scope.map(|s| OrgScope { org_ids: s.org_ids.clone(), include_unassigned: false });
    let rows = DayChannel::find_by_statement(statement(
        db.get_database_backend(),
        &format!(
            "SELECT l.effective_date AS day, COALESCE(l.channel, '{NOT_RECORDED}') AS channel,
                    COUNT(*) AS payments, CAST(SUM(-l.amount_pence) AS BIGINT) AS amount_pence
               FROM ledger_entry l
               JOIN rent_account a ON a.id = l.account_id
              WHERE l.effective_date >= $1 AND l.effective_date <= $2 AND l.kind = 'payment' AND {}
              GROUP BY l.effective_date, COALESCE(l.channel, '{NOT_RECORDED}')",
            scope_condition("a.organisation_id", scope.as_ref())
        ),
        vec![from.into(), to.into()],
    ))
    .all(db)
    .await?;
    Ok(lay_out(
        from,
        to,
        group,
        &rows.into_iter().map(|r| (r.day, r.channel, r.payments, r.amount_pence)).collect::<Vec<_>>(),
    ))
}

/// The first day of the period `day` falls in.
fn period_start(day: NaiveDate, group: Grouping) -> NaiveDate {
    match group {
        Grouping::Day => day,
        Grouping::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
    }
}

/// Per-period figures from per-day rows, every period of `from..=to` present.
fn lay_out(
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
    rows: &[(NaiveDate, String, i64, i64)],
) -> PaymentsByChannel {
    let mut totals: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut cells: BTreeMap<NaiveDate, HashMap<&str, (i64, i64)>> = BTreeMap::new();
    for (day, channel, n, pence) in rows {
        let t = totals.entry(channel).or_default();
        t.0 += n;
        t.1 += pence;
        let c = cells.entry(period_start(*day, group)).or_default().entry(channel).or_default();
        c.0 += n;
        c.1 += pence;
    }
    let mut order: Vec<(&str, (i64, i64))> = totals.into_iter().collect();
    order.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(b.0)));
    let step = match group {
        Grouping::Day => 1,
        Grouping::Week => 7,
    };
    let mut periods = Vec::new();
    let mut start = period_start(from, group);
    while start <= to {
        let end = start + Duration::days(step - 1);
        let cell = cells.get(&start);
        let channels: Vec<PaymentChannelFigure> = order
            .iter()
            .map(|(c, _)| {
                let (payments, amount_pence) = cell.and_then(|m| m.get(c)).copied().unwrap_or_default();
                PaymentChannelFigure { channel: (*c).to_owned(), payments, amount_pence }
            })
            .collect();
        periods.push(PaymentsByChannelPeriod {
            start: start.max(from),
            end: end.min(to),
            payments: channels.iter().map(|c| c.payments).sum(),
            amount_pence: channels.iter().map(|c| c.amount_pence).sum(),
            channels,
        });
        start += Duration::days(step);
    }
    PaymentsByChannel {
        from,
        to,
        group: group.as_str().to_owned(),
        channels: order
            .iter()
            .map(|(c, _)| PaymentChannel { channel: (*c).to_owned(), label: label(c).to_owned() })
            .collect(),
        payments: order.iter().map(|(_, t)| t.0).sum(),
        amount_pence: order.iter().map(|(_, t)| t.1).sum(),
        totals: order
            .into_iter()
            .map(|(c, (payments, amount_pence))| PaymentChannelFigure { channel: c.to_owned(), payments, amount_pence })
            .collect(),
        periods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_every_period_has_every_channel() {
        let rows = vec![
            (d("2026-11-18"), "web".to_owned(), 2, 3000),
            (d("2026-11-22"), "retail_cash".to_owned(), 1, 5000),
            (d("2026-11-23"), "web".to_owned(), 1, 1000),
        ];
        // Wednesday 18 November to Monday 30 November.
        let r = lay_out(d("2026-11-18"), d("2026-11-30"), Grouping::Week, &rows);
        let starts: Vec<String> = r.periods.iter().map(|p| format!("{}..{}", p.start, p.end)).collect();
        assert_eq!(starts, vec!["2026-11-18..2026-11-22", "2026-11-23..2026-11-29", "2026-11-30..2026-11-30"]);
        assert_eq!(r.channels.iter().map(|c| c.channel.as_str()).collect::<Vec<_>>(), vec!["retail_cash", "web"]);
        assert!(r.periods.iter().all(|p| p.channels.len() == 2));
        assert_eq!((r.periods[0].payments, r.periods[0].amount_pence), (3, 8000));
        assert_eq!((r.periods[2].payments, r.periods[2].amount_pence), (0, 0));
        assert_eq!((r.payments, r.amount_pence), (4, 9000));
    }

    #[test]
    fn days_are_one_period_each() {
        let r = lay_out(d("2026-11-01"), d("2026-11-03"), Grouping::Day, &[]);
        assert_eq!(r.periods.len(), 3);
        assert!(r.channels.is_empty() && r.payments == 0);
    }
}
