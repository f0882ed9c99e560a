//! Money as whole pence in an `i64`. Never a float.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

use crate::parse::ParseError;

/// An amount of money in pence. On a rent account a positive balance means the tenant owes
/// (arrears) and a negative one means the account is in credit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_pence(pence: i64) -> Self {
        Money(pence)
    }

    pub const fn pence(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Money {
        Money(self.0.saturating_abs())
    }

    /// Plain decimal pounds for files and spreadsheets: `1234.56`, `-3.20`.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Parses pounds as people write them: `12`, `12.5`, `12.50`, `£1,234.56`, `-3.20`.
    /// More than two decimal places is an error rather than a silent rounding.
    pub fn parse_pounds(input: &str) -> Result<Money, ParseError> {
        let trimmed = input.trim();
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let rest = rest.strip_prefix('£').unwrap_or(rest).replace(',', "");
        if rest.is_empty() {
            return Err(ParseError::new("amount", "is empty"));
        }
        let (whole, fraction) = match rest.split_once('.') {
            Some((w, f)) => (w, f),
            None => (rest.as_str(), ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(ParseError::new("amount", "is not a number"));
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new("amount", "is not a number of pounds and pence"));
        }
        if fraction.len() > 2 {
            return Err(ParseError::new("amount", "has more than two decimal places"));
        }
        let pounds: i64 =
            if whole.is_empty() { 0 } else { whole.parse().map_err(|_| ParseError::new("amount", "is too large"))? };
        let pence: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| ParseError::new("amount", "is not a number"))? * 10,
            _ => fraction.parse().map_err(|_| ParseError::new("amount", "is not a number"))?,
        };
        let total = pounds
            .checked_mul(100)
            .and_then(|p| p.checked_add(pence))
            .ok_or_else(|| ParseError::new("amount", "is too large"))?;
        Ok(Money(if negative { -total } else { total }))
    }
}

impl fmt::Display for Money {
    /// `£1,234.56`, `-£3.20`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let pounds = abs / 100;
        let pence = abs % 100;
        let digits = pounds.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}£{grouped}.{pence:02}")
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_pounds_with_grouping_and_sign() {
        assert_eq!(Money::from_pence(123456).to_string(), "£1,234.56");
        assert_eq!(Money::from_pence(-320).to_string(), "-£3.20");
        assert_eq!(Money::from_pence(5).to_string(), "£0.05");
        assert_eq!(Money::from_pence(100_000_000).to_string(), "£1,000,000.00");
    }

    #[test]
    fn decimal_form_has_no_symbol_or_grouping() {
        assert_eq!(Money::from_pence(123456).decimal(), "1234.56");
        assert_eq!(Money::from_pence(-5).decimal(), "-0.05");
        assert_eq!(Money::from_pence(i64::MIN).decimal(), "-92233720368547758.08");
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Money::parse_pounds("12").unwrap().pence(), 1200);
        assert_eq!(Money::parse_pounds("12.5").unwrap().pence(), 1250);
        assert_eq!(Money::parse_pounds("£1,234.56").unwrap().pence(), 123456);
        assert_eq!(Money::parse_pounds("-3.20").unwrap().pence(), -320);
        assert_eq!(Money::parse_pounds(".5").unwrap().pence(), 50);
    }

    #[test]
    fn rejects_what_is_not_money() {
        for bad in ["", "abc", "1.234", "1.2.3", "£", "12p", "1e5", "99999999999999999999"] {
            assert!(Money::parse_pounds(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(p in -1_000_000_000_000i64..1_000_000_000_000) {
            let m = Money::from_pence(p);
            prop_assert_eq!(Money::parse_pounds(&m.to_string()).unwrap(), m);
        }

        #[test]
        fn addition_is_exact(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            prop_assert_eq!((Money::from_pence(a) + Money::from_pence(b)).pence(), a + b);
            prop_assert_eq!((Money::from_pence(a) - Money::from_pence(b)) + Money::from_pence(b), Money::from_pence(a));
        }
    }
}
