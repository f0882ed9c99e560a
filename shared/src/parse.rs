//! Identifiers parsed once at the edge, so that code behind it only ever holds valid values.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value could not be parsed, naming the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ParseError { field, message: message.into() }
    }
}

/// A rent account number, which is also the payment reference a tenant quotes. Landlords'
/// systems differ, so it is 4 to 20 letters, digits or hyphens, kept upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema), schema(value_type = String, example = "10004217"))]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s: String = input.trim().chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if s.len() < 4 || s.len() > 20 {
            return Err(ParseError::new("account_number", "must be 4 to 20 characters"));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ParseError::new("account_number", "may only contain letters, digits and hyphens"));
        }
        Ok(AccountNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountNumber {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AccountNumber::parse(&value)
    }
}

impl From<AccountNumber> for String {
    fn from(value: AccountNumber) -> String {
        value.0
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A UK postcode in its normal written form: upper case, one space before the inward code
/// (`SW1A 1AA`). Accepts any spacing and case on the way in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema), schema(value_type = String, example = "LS9 8AB"))]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        // ASCII only before any slicing by byte offset below.
        if compact.len() < 5 || compact.len() > 7 || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new("postcode", "is not a UK postcode"));
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
        };
        let outward_ok = {
            let b = outward.as_bytes();
            (2..=4).contains(&b.len())
                && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric())
                && b.iter().any(|c| c.is_ascii_digit())
        };
        if !inward_ok || !outward_ok {
            return Err(ParseError::new("postcode", "is not a UK postcode"));
        }
        Ok(Postcode(format!("{outward} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code (`SW1A` of `SW1A 1AA`), which names the postcode district.
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for Postcode {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Postcode::parse(&value)
    }
}

impl From<Postcode> for String {
    fn from(value: Postcode) -> String {
        value.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation's URL slug: lower-case letters, digits and single hyphens.
pub fn parse_slug(input: &str) -> Result<String, ParseError> {
    let s = input.trim();
    if s.is_empty() || s.len() > 64 {
        return Err(ParseError::new("slug", "must be 1 to 64 characters"));
    }
    if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || s.starts_with('-')
        || s.ends_with('-')
        || s.contains("--")
    {
        return Err(ParseError::new("slug", "may only contain lower-case letters, digits and single hyphens"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn postcodes_are_normalised() {
        assert_eq!(Postcode::parse("sw1a1aa").unwrap().as_str(), "SW1A 1AA");
        assert_eq!(Postcode::parse(" ls9  8ab ").unwrap().as_str(), "LS9 8AB");
        assert_eq!(Postcode::parse("M1 1AE").unwrap().outward(), "M1");
    }

    #[test]
    fn bad_postcodes_name_the_field() {
        for bad in ["", "12345", "SW1A 1A", "SW1A1AAA", "ABCDE", "S 1AA", "é1 1AA", "SW1 1Aé", "ÉÉÉ"] {
            let err = Postcode::parse(bad).unwrap_err();
            assert_eq!(err.field, "postcode", "{bad:?}");
        }
    }

    #[test]
    fn account_numbers() {
        assert_eq!(AccountNumber::parse(" 1000 4217 ").unwrap().as_str(), "10004217");
        assert_eq!(AccountNumber::parse("gar-0012").unwrap().as_str(), "GAR-0012");
        assert!(AccountNumber::parse("12").is_err());
        assert!(AccountNumber::parse("1000'; drop").is_err());
    }

    #[test]
    fn slugs() {
        assert!(parse_slug("northgate-homes").is_ok());
        for bad in ["", "Upper", "a--b", "-a", "a b", "é"] {
            assert!(parse_slug(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn postcode_parse_is_idempotent(s in "[A-Za-z]{1,2}[0-9]{1,2} ?[0-9][A-Za-z]{2}") {
            let p = Postcode::parse(&s).unwrap();
            prop_assert_eq!(Postcode::parse(p.as_str()).unwrap(), p);
        }

        #[test]
        fn postcode_parse_never_panics(s in ".{0,12}") {
            let _ = Postcode::parse(&s);
        }
    }
}
