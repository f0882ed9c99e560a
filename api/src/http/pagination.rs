//! Cursor pagination: `limit` and an opaque `cursor`, answered as `{items, next_cursor}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::ApiError;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: the key to start after and the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u64,
}

impl PageParams {
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let limit = parse_limit(self.limit)?;
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                Some(decode_cursor(c).ok_or_else(|| ApiError::validation("cursor", "is not a cursor from this API"))?)
            }
        };
        Ok(PageRequest { after, limit })
    }
}

pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("k{key}"))
}

/// An opaque cursor over any key that has a text form.
pub fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("t{key}"))
}

pub fn decode_token(c: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix('t').map(str::to_owned)
}

/// `limit` as given, or the default; outside 1..=100 is a validation error.
pub fn parse_limit(limit: Option<i64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as u64),
        Some(_) => Err(ApiError::validation("limit", "must be between 1 and 100")),
    }
}

fn decode_cursor(c: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix('k')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let p = PageParams { limit: Some(5), cursor: Some(encode_cursor(42)) };
        assert_eq!(p.parse().unwrap(), PageRequest { after: Some(42), limit: 5 });
        let bad = PageParams { limit: None, cursor: Some("not-a-cursor".into()) };
        assert!(matches!(bad.parse(), Err(ApiError::Validation { field, .. }) if field == "cursor"));
        let big = PageParams { limit: Some(101), cursor: None };
        assert!(matches!(big.parse(), Err(ApiError::Validation { field, .. }) if field == "limit"));
    }
}
