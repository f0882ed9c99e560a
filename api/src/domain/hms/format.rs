//! The export format: which files, which columns, and the parsers for their fields
//! (described for people in `docs/import-format.md`).
//!
//! Every parser takes the raw text of one field and returns the value or the reason it is
//! not acceptable; none of them panics, whatever the input. Money is never a float: amounts
//! are pounds and pence parsed by [`Money::parse_pounds`].

use chrono::NaiveDate;
use doorstep_shared::{AccountNumber, Money, Postcode};

use crate::domain::ledger::{Channel, EntryKind};

/// The files of an export, in the order they are imported (parents before children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum File {
    Properties,
    People,
    Tenancies,
    TenancyMembers,
    Accounts,
    Transactions,
    PlannedWork,
}

pub struct Column {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Column {
    Column { name, required: true }
}

const fn opt(name: &'static str) -> Column {
    Column { name, required: false }
}

impl File {
    pub const ALL: [File; 7] = [
        File::Properties,
        File::People,
        File::Tenancies,
        File::TenancyMembers,
        File::Accounts,
        File::Transactions,
        File::PlannedWork,
    ];

    pub fn name(self) -> &'static str {
        match self {
            File::Properties => "properties.csv",
            File::People => "people.csv",
            File::Tenancies => "tenancies.csv",
            File::TenancyMembers => "tenancy_members.csv",
            File::Accounts => "accounts.csv",
            File::Transactions => "transactions.csv",
            File::PlannedWork => "planned_work.csv",
        }
    }

    pub fn from_name(name: &str) -> Option<File> {
        File::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn columns(self) -> &'static [Column] {
        const PROPERTIES: &[Column] = &[
            req("property_ref"),
            req("organisation"),
            opt("uprn"),
            req("address_line1"),
            opt("address_line2"),
            req("town"),
            req("postcode"),
            opt("latitude"),
            opt("longitude"),
            opt("easting"),
            opt("northing"),
            req("kind"),
            opt("bedrooms"),
            opt("patch"),
        ];
        const PEOPLE: &[Column] = &[
            req("person_ref"),
            req("organisation"),
            opt("title"),
            req("forename"),
            req("surname"),
            opt("date_of_birth"),
            opt("email"),
            opt("phone"),
        ];
        const TENANCIES: &[Column] =
            &[req("tenancy_ref"), req("property_ref"), req("tenure"), req("start_date"), opt("end_date")];
        const TENANCYMEMBERS: &[Column] = &[req("tenancy_ref"), req("person_ref"), req("role")];
        const ACCOUNTS: &[Column] = &[
            req("account_ref"),
            req("account_number"),
            req("tenancy_ref"),
            req("kind"),
            req("weekly_charge"),
            req("opened_on"),
            opt("closed_on"),
        ];
        const TRANSACTIONS: &[Column] = &[
            req("transaction_id"),
            req("account_ref"),
            req("date"),
            req("kind"),
            req("amount"),
            opt("channel"),
            opt("description"),
        ];
        const PLANNEDWORK: &[Column] = &[
            req("work_ref"),
            req("property_ref"),
            req("category"),
            req("description"),
            req("planned_start"),
            opt("planned_end"),
            req("status"),
            opt("contractor"),
        ];
        match self {
            File::Properties => PROPERTIES,
            File::People => PEOPLE,
            File::Tenancies => TENANCIES,
            File::TenancyMembers => TENANCYMEMBERS,
            File::Accounts => ACCOUNTS,
            File::Transactions => TRANSACTIONS,
            File::PlannedWork => PLANNEDWORK,
        }
    }

    /// The column holding the row's key (first in every file but tenancy members, whose key
    /// is the pair of its first two).
    pub fn key_column(self) -> &'static str {
        self.columns()[0].name
    }
}

/// A problem with one field (or a whole row or header), located so that someone can open
/// the file and find it: `file:line:column: field: reason`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub file: String,
    /// 1-based physical line where the record starts (the header is line 1).
    pub line: u64,
    /// 1-based field position in the record.
    pub column: usize,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.field, self.reason)
    }
}

pub const PROPERTY_KINDS: &[&str] = &["home", "garage", "other"];
pub const TENURES: &[&str] = &["secure", "assured", "starter", "assured_shorthold", "licence"];
pub const MEMBER_ROLES: &[&str] = &["lead", "joint", "household"];
pub const ACCOUNT_KINDS: &[&str] = &["rent", "garage", "community_alarm", "service_charge", "sundry"];
pub const WORK_CATEGORIES: &[&str] =
    &["kitchen", "bathroom", "windows", "roof", "heating", "external_decoration", "electrical", "doors", "other"];
pub const WORK_STATUSES: &[&str] = &["planned", "in_progress", "completed", "cancelled"];

/// Largest amount a single transaction or weekly charge may carry: anything bigger is
/// certainly a mistake in the export (pence written into a pounds column, say).
pub const MAX_AMOUNT_PENCE: i64 = 100_000_000;

pub type FieldResult<T> = Result<T, String>;

/// A reference (key) from the housing management system: 1 to 64 characters, letters,
/// digits and `- _ . / :`.
pub fn parse_ref(s: &str) -> FieldResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is required".into());
    }
    if s.chars().count() > 64 {
        return Err("is longer than 64 characters".into());
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))) {
        return Err(format!("contains {c:?}; use letters, digits and - _ . / : only"));
    }
    Ok(s.to_owned())
}

/// Free text: trimmed, no control characters, at most `max` characters.
pub fn parse_text(s: &str, max: usize) -> FieldResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is required".into());
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character (a line break or tab inside the value?)".into());
    }
    if s.chars().count() > max {
        return Err(format!("is longer than {max} characters"));
    }
    Ok(s.to_owned())
}

/// An ISO 8601 calendar date, `YYYY-MM-DD`, between 1900 and 2100.
pub fn parse_date(s: &str) -> FieldResult<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("{s:?} is not a date in the form YYYY-MM-DD"));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{s:?} is not a real date"))?;
    let year = s[..4].parse::<i32>().unwrap_or(0);
    if !(1900..=2100).contains(&year) {
        return Err(format!("{s:?} is outside 1900 to 2100"));
    }
    Ok(date)
}

/// Pounds and pence (`85.20`, `-85.20`, `£1,234.56`), at most £1,000,000 either way.
pub fn parse_amount(s: &str) -> FieldResult<Money> {
    let m = Money::parse_pounds(s).map_err(|e| format!("{:?} {}", s.trim(), e.message))?;
    if m.pence().unsigned_abs() > MAX_AMOUNT_PENCE as u64 {
        return Err(format!("{:?} is larger than £1,000,000", s.trim()));
    }
    Ok(m)
}

/// A whole number in `min..=max`.
pub fn parse_int(s: &str, min: i64, max: i64) -> FieldResult<i64> {
    let t = s.trim();
    let v: i64 = t.parse().map_err(|_| format!("{t:?} is not a whole number"))?;
    if v < min || v > max {
        return Err(format!("{v} is not between {min} and {max}"));
    }
    Ok(v)
}

/// A decimal number (coordinates only; never money).
pub fn parse_decimal(s: &str, min: f64, max: f64) -> FieldResult<f64> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && t.chars().filter(|c| *c == '.').count() <= 1
        && !t[1.min(t.len())..].contains('-');
    let v: f64 = if ok { t.parse().map_err(|_| format!("{t:?} is not a decimal number"))? } else { f64::NAN };
    if !v.is_finite() {
        return Err(format!("{t:?} is not a decimal number"));
    }
    if v < min || v > max {
        return Err(format!("{v} is not between {min} and {max}"));
    }
    Ok(v)
}

/// One of a fixed list of values, exactly as written in the list (lower case).
pub fn parse_choice(s: &str, allowed: &[&'static str]) -> FieldResult<&'static str> {
    let t = s.trim();
    allowed.iter().find(|a| **a == t).copied().ok_or_else(|| format!("{t:?} is not one of: {}", allowed.join(", ")))
}

pub fn parse_postcode(s: &str) -> FieldResult<Postcode> {
    // Postcodes are ASCII; checking first also keeps `Postcode::parse`, which slices by
    // byte, away from multi-byte characters.
    if !s.is_ascii() {
        return Err(format!("{:?} is not a UK postcode", s.trim()));
    }
    Postcode::parse(s).map_err(|_| format!("{:?} is not a UK postcode", s.trim()))
}

pub fn parse_account_number(s: &str) -> FieldResult<AccountNumber> {
    AccountNumber::parse(s).map_err(|e| format!("{:?} {}", s.trim(), e.message))
}

pub fn parse_slug(s: &str) -> FieldResult<String> {
    doorstep_shared::parse::parse_slug(s).map_err(|e| format!("{:?} {}", s.trim(), e.message))
}

/// A plausible email address: one `@`, something either side, a dot in the domain.
pub fn parse_email(s: &str) -> FieldResult<String> {
    let t = parse_text(s, 254)?;
    let ok = match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !t.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok { Ok(t) } else { Err(format!("{t:?} is not an email address")) }
}

/// A UK telephone number as people write it: digits, spaces, `+`, brackets and hyphens,
/// with 10 to 13 digits.
pub fn parse_phone(s: &str) -> FieldResult<String> {
    let t = parse_text(s, 32)?;
    if !t.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-')) {
        return Err(format!("{t:?} is not a telephone number"));
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if !(10..=13).contains(&digits) {
        return Err(format!("{t:?} does not have 10 to 13 digits"));
    }
    Ok(t)
}

pub fn parse_entry_kind(s: &str) -> FieldResult<EntryKind> {
    let t = s.trim();
    EntryKind::parse(t).ok_or_else(|| {
        format!("{t:?} is not one of: {}", EntryKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
    })
}

/// Channels a housing management system may report (`hms` is the default for payments).
pub fn parse_channel(s: &str) -> FieldResult<Channel> {
    let t = s.trim();
    Channel::parse(t).ok_or_else(|| {
        format!("{t:?} is not one of: {}", Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_must_be_iso_and_real() {
        assert_eq!(parse_date("2024-02-29").unwrap(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert!(parse_date("2023-02-29").unwrap_err().contains("not a real date"));
        assert!(parse_date("29/02/2024").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("2024-2-9").is_err());
        assert!(parse_date("1850-01-01").unwrap_err().contains("1900"));
        assert!(parse_date("+2024-01-01").is_err());
    }

    #[test]
    fn amounts_are_exact_pence() {
        assert_eq!(parse_amount("85.20").unwrap().pence(), 8520);
        assert_eq!(parse_amount("-0.01").unwrap().pence(), -1);
        assert_eq!(parse_amount("£1,234.56").unwrap().pence(), 123_456);
        assert!(parse_amount("85.205").is_err());
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount("NaN").is_err());
        assert!(parse_amount("2000000").unwrap_err().contains("1,000,000"));
    }

    #[test]
    fn refs_and_choices() {
        assert_eq!(parse_ref(" CR-P/001 ").unwrap(), "CR-P/001");
        assert!(parse_ref("a b").is_err());
        assert!(parse_ref("").unwrap_err().contains("required"));
        assert_eq!(parse_choice("secure", TENURES).unwrap(), "secure");
        assert!(parse_choice("Secure", TENURES).unwrap_err().contains("secure, assured"));
    }

    #[test]
    fn contacts() {
        assert!(parse_email("a.b@example.com").is_ok());
        assert!(parse_email("a b@example.com").is_err());
        assert!(parse_email("ab@example").is_err());
        assert!(parse_phone("07700 900123").is_ok());
        assert!(parse_phone("+44 (0)113 496 0000").is_ok());
        assert!(parse_phone("call me").is_err());
    }

    #[test]
    fn decimals_refuse_what_is_not_a_plain_number() {
        assert!((parse_decimal("53.7248", 49.0, 61.0).unwrap() - 53.7248).abs() < 1e-12);
        assert!((parse_decimal("-1.8658", -9.0, 2.5).unwrap() + 1.8658).abs() < 1e-12);
        for bad in ["inf", "NaN", "1e2", "1-2", "", ".", "--1"] {
            assert!(parse_decimal(bad, -1e9, 1e9).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = parse_ref(&s);
            let _ = parse_text(&s, 10);
            let _ = parse_date(&s);
            let _ = parse_amount(&s);
            let _ = parse_int(&s, -5, 5);
            let _ = parse_decimal(&s, -90.0, 90.0);
            let _ = parse_choice(&s, TENURES);
            let _ = parse_postcode(&s);
            let _ = parse_account_number(&s);
            let _ = parse_slug(&s);
            let _ = parse_email(&s);
            let _ = parse_phone(&s);
            let _ = parse_entry_kind(&s);
            let _ = parse_channel(&s);
        }

        #[test]
        fn amounts_round_trip_through_their_written_form(p in -MAX_AMOUNT_PENCE..=MAX_AMOUNT_PENCE) {
            let written = format!("{}{}.{:02}", if p < 0 { "-" } else { "" }, p.unsigned_abs() / 100, p.unsigned_abs() % 100);
            prop_assert_eq!(parse_amount(&written).unwrap().pence(), p);
        }

        #[test]
        fn accepted_dates_print_back_as_written(y in 1900i32..=2100, m in 1u32..=12, d in 1u32..=31) {
            let s = format!("{y:04}-{m:02}-{d:02}");
            match parse_date(&s) {
                Ok(date) => prop_assert_eq!(date.format("%Y-%m-%d").to_string(), s),
                Err(e) => prop_assert!(e.contains("not a real date")),
            }
        }

        #[test]
        fn accepted_refs_are_trimmed_and_clean(s in "[ -~]{0,80}") {
            if let Ok(r) = parse_ref(&s) {
                prop_assert!(!r.is_empty() && r.len() <= 64);
                prop_assert!(r.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c)));
            }
        }
    }
}
