//! Rent accounts: summary, history, statements; and the staff arrears list.

pub mod arrears;
pub mod get;
pub mod statement;
pub mod transactions;

use chrono::NaiveDate;

use crate::ApiError;
use crate::domain::ledger::views::HistoryKey;
use crate::http::pagination::{decode_token, encode_token};

pub fn encode_history_cursor(k: HistoryKey) -> String {
    encode_token(&format!("{}|{}", k.date, k.id))
}

pub fn decode_history_cursor(c: &str) -> Result<HistoryKey, ApiError> {
    let bad = || ApiError::validation("cursor", "is not a cursor from this API");
    let text = decode_token(c).ok_or_else(bad)?;
    let (date, id) = text.split_once('|').ok_or_else(bad)?;
    Ok(HistoryKey {
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?,
        id: id.parse().map_err(|_| bad())?,
    })
}

/// `from` must not come after `to`.
pub fn check_period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(ApiError::validation("from", "must not be after to")),
        _ => Ok(()),
    }
}
