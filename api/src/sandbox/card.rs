//! What the hosted card page accepts: the test cards and the checks a real payment page makes
//! on the other fields, so that a tester sees the same errors a tenant would.

use chrono::Datelike;

/// Succeeds.
pub const CARD_SUCCEEDS: &str = "4242424242424242";
/// Is declined by the "issuer".
pub const CARD_DECLINED: &str = "4000000000000002";
/// Asks for a one-time code first (a 3-D Secure-style challenge).
pub const CARD_CHALLENGE: &str = "4000000000003220";
/// The code that passes the challenge; anything else fails it.
pub const CHALLENGE_CODE: &str = "123456";

/// What the issuer says about a card that passed the form checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehaviour {
    Succeeds,
    Declined,
    Challenge,
}

/// One problem with one form field, worded for the person filling it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
}

/// The card form as posted (every field may be missing).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CardForm {
    #[serde(default)]
    pub card_number: String,
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub cvc: String,
    #[serde(default)]
    pub name: String,
    /// The challenge form's one field.
    #[serde(default)]
    pub code: String,
}

/// Checks the card form against `today` (for the expiry) and says how the card behaves, or
/// lists every field that is wrong.
pub fn check(form: &CardForm, today: chrono::NaiveDate) -> Result<CardBehaviour, Vec<FieldError>> {
    let mut errors = Vec::new();
    let digits: String = form.card_number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let behaviour = if digits.is_empty() {
        errors.push(FieldError { field: "card_number", message: "Enter your card number" });
        None
    } else if !digits.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FieldError { field: "card_number", message: "Enter the card number using digits only" });
        None
    } else {
        match digits.as_str() {
            CARD_SUCCEEDS => Some(CardBehaviour::Succeeds),
            CARD_DECLINED => Some(CardBehaviour::Declined),
            CARD_CHALLENGE => Some(CardBehaviour::Challenge),
            _ => {
                errors.push(FieldError {
                    field: "card_number",
                    message: "This is a test page: use one of the test card numbers listed below",
                });
                None
            }
        }
    };
    match parse_expiry(&form.expiry) {
        None if form.expiry.trim().is_empty() => {
            errors.push(FieldError { field: "expiry", message: "Enter the expiry date" })
        }
        None => {
            errors.push(FieldError { field: "expiry", message: "Enter the expiry date as MM/YY, for example 04/29" })
        }
        Some((year, month)) if (year, month) < (today.year(), today.month()) => {
            errors.push(FieldError { field: "expiry", message: "The expiry date must be this month or later" })
        }
        Some(_) => {}
    }
    let cvc = form.cvc.trim();
    if cvc.is_empty() {
        errors.push(FieldError { field: "cvc", message: "Enter the security code" });
    } else if !(3..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FieldError { field: "cvc", message: "Enter the 3 or 4 digit security code" });
    }
    let name = form.name.trim();
    if name.is_empty() {
        errors.push(FieldError { field: "name", message: "Enter the name on the card" });
    } else if name.chars().count() > 100 {
        errors.push(FieldError { field: "name", message: "The name on the card must be 100 characters or fewer" });
    }
    match behaviour {
        Some(b) if errors.is_empty() => Ok(b),
        _ => Err(errors),
    }
}

/// `MM/YY`, `MM / YY`, `MMYY` or `MM/YYYY` → (year, month).
fn parse_expiry(input: &str) -> Option<(i32, u32)> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let (mm, yy) = match compact.split_once('/') {
        Some((m, y)) => (m.to_owned(), y.to_owned()),
        None if compact.len() == 4 && compact.is_ascii() => (compact[..2].to_owned(), compact[2..].to_owned()),
        None => return None,
    };
    if mm.is_empty() || mm.len() > 2 || !mm.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !yy.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let month: u32 = mm.parse().ok()?;
    let year: i32 = match yy.len() {
        2 => 2000 + yy.parse::<i32>().ok()?,
        4 => yy.parse().ok()?,
        _ => return None,
    };
    (1..=12).contains(&month).then_some((year, month))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(card: &str, expiry: &str) -> CardForm {
        CardForm {
            card_number: card.into(),
            expiry: expiry.into(),
            cvc: "123".into(),
            name: "A Tenant".into(),
            code: String::new(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_test_cards_behave_as_documented_with_any_spacing() {
        let today = day(2026, 11, 22);
        assert_eq!(check(&form("4242 4242 4242 4242", "12/30"), today), Ok(CardBehaviour::Succeeds));
        assert_eq!(check(&form("4000-0000-0000-0002", "12/2030"), today), Ok(CardBehaviour::Declined));
        assert_eq!(check(&form("4000000000003220", "1130"), today), Ok(CardBehaviour::Challenge));
    }

    #[test]
    fn every_wrong_field_is_named() {
        let today = day(2026, 11, 22);
        let bad = CardForm { card_number: "1234".into(), expiry: "13/30".into(), ..CardForm::default() };
        let errors = check(&bad, today).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["card_number", "expiry", "cvc", "name"]);
    }

    #[test]
    fn an_expired_card_is_refused_but_this_month_is_fine() {
        let today = day(2026, 11, 22);
        assert!(check(&form(CARD_SUCCEEDS, "10/26"), today).is_err());
        assert_eq!(check(&form(CARD_SUCCEEDS, "11/26"), today), Ok(CardBehaviour::Succeeds));
    }
}
