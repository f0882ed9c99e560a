//! The identity part of the API as the SPA reads and writes it: registering, activating,
//! signing in, `/me` and the staff registration queue.
//!
//! These mirror the server's shapes (`api/src/domain/identity/model.rs`, the OpenAPI document's
//! `identity` and `staff` tags). Only the fields the SPA shows are read; unknown fields are
//! ignored, so the server may add to them freely. Timestamps stay as the ISO 8601 strings the
//! API sends (see [`crate::dates`]).

use doorstep_shared::dto::{BalanceState, Organisation};
use serde::{Deserialize, Serialize};

// ----- requests -----

#[derive(Debug, Clone, Serialize)]
pub struct RegistrationRequest {
    pub account_number: String,
    pub surname: String,
    pub postcode: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActivationRequest {
    pub account_number: String,
    pub pin: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectRequest<'a> {
    pub reason: &'a str,
}

// ----- answers -----

/// The answer to every well-formed registration request, matched or not.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegistrationReceived {
    pub message: String,
    /// How many working days the letter usually takes, if the landlord says (not yet sent by
    /// the API; shown when it is).
    #[serde(default)]
    pub letter_within_working_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActivatedUser {
    pub email: String,
}

/// An access token. The refresh token is in an HttpOnly cookie the SPA never reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// The signed-in caller (`GET /me`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    pub user: User,
    /// A tenant's person; absent for staff.
    #[serde(default)]
    pub person: Option<Person>,
    /// The caller's landlord, with its branding and contacts.
    #[serde(default)]
    pub organisation: Option<Organisation>,
    #[serde(default)]
    pub tenancies: Vec<Tenancy>,
    /// Role and organisations, for staff.
    #[serde(default)]
    pub staff: Option<Staff>,
}

impl Me {
    /// The name to greet and to show in the header: a tenant's own name, else the sign-in's
    /// email address (staff have no person).
    pub fn display_name(&self) -> String {
        match &self.person {
            Some(person) => person.full_name(),
            None => self.user.email.clone(),
        }
    }

    pub fn is_staff(&self) -> bool {
        self.staff.is_some()
    }

    /// Whether this caller works the registration queue (the API's `REGISTRATION_ROLES`).
    pub fn works_registrations(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| matches!(s.role.as_str(), "customer_service" | "housing_officer" | "admin"))
    }

    /// Whether this caller works payments: reconciliation, suspense and how tenants pay (the
    /// API's `INCOME_ROLES`).
    pub fn works_payments(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| matches!(s.role.as_str(), "income" | "admin"))
    }

    /// Whether this caller looks up tenants and their accounts (the API's `TENANT_LOOKUP_ROLES`).
    pub fn looks_up_tenants(&self) -> bool {
        self.staff
            .as_ref()
            .is_some_and(|s| matches!(s.role.as_str(), "customer_service" | "housing_officer" | "income" | "admin"))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Person {
    #[serde(default)]
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
}

impl Person {
    pub fn full_name(&self) -> String {
        [self.title.as_deref(), Some(self.forename.as_str()), Some(self.surname.as_str())]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// "Jane" (for "Hello, Jane"), or the full name when there is no forename.
    pub fn greeting_name(&self) -> String {
        let forename = self.forename.trim();
        if forename.is_empty() { self.full_name() } else { forename.to_owned() }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Staff {
    pub role: String,
    #[serde(default)]
    pub organisations_in_scope: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tenancy {
    pub id: i64,
    pub reference: String,
    pub tenure: String,
    pub start_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
    pub property: Property,
    #[serde(default)]
    pub housing_officer: Option<HousingOfficer>,
    #[serde(default)]
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Property {
    pub address_line1: String,
    #[serde(default)]
    pub address_line2: Option<String>,
    pub town: String,
    pub postcode: String,
    /// `home`, `garage` or `other`.
    pub kind: String,
}

impl Property {
    /// Address lines, town and postcode last, blank lines left out.
    pub fn lines(&self) -> Vec<String> {
        [Some(&self.address_line1), self.address_line2.as_ref(), Some(&self.town), Some(&self.postcode)]
            .into_iter()
            .flatten()
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HousingOfficer {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Account {
    pub id: i64,
    pub account_number: String,
    /// `rent`, `garage`, `community_alarm`, `service_charge`, `sundry`.
    pub kind: String,
    /// Positive means arrears, negative means in credit.
    pub balance_pence: i64,
    pub balance_state: BalanceState,
    /// The balance in the API's words: "£123.45 in arrears".
    pub balance_text: String,
    /// What to call the account on screen, from the API: "Rent", "Garage", …
    pub kind_label: String,
    pub weekly_charge_pence: i64,
    /// The date of the newest line on the account.
    #[serde(default)]
    pub last_entry_date: Option<chrono::NaiveDate>,
}

// ----- staff: the registration queue -----

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationView>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A registration request as staff see it (never with the PIN).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegistrationView {
    pub id: i64,
    /// `pending`, `unmatched`, `validated`, `rejected`, `locked`, `activated`, `expired`.
    pub status: String,
    pub created_at: String,
    pub submitted: Submitted,
    #[serde(default)]
    pub matched: Option<MatchedTenancy>,
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub letter_due: Option<String>,
    #[serde(default)]
    pub letter_printed_at: Option<String>,
    #[serde(default)]
    pub pin_expires_at: Option<String>,
    #[serde(default)]
    pub pin_attempts: i32,
}

impl RegistrationView {
    /// How staff refer to a request; the letter prints the same reference.
    pub fn reference(&self) -> String {
        format!("REG-{}", self.id)
    }

    /// Validating is allowed on a matched request that is waiting, or again (a new PIN) on a
    /// validated, locked or expired one.
    pub fn can_validate(&self) -> bool {
        self.matched.as_ref().is_some_and(|m| !m.already_registered)
            && matches!(self.status.as_str(), "pending" | "validated" | "locked" | "expired")
    }

    pub fn can_reject(&self) -> bool {
        !matches!(self.status.as_str(), "rejected" | "activated")
    }

    pub fn has_letter(&self) -> bool {
        self.status == "validated"
    }
}

/// What the person typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Submitted {
    pub account_number: String,
    pub surname: String,
    pub postcode: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// The tenancy a request matched.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatchedTenancy {
    pub tenancy_ref: String,
    pub tenure: String,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default)]
    pub address: Vec<String>,
    pub postcode: String,
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub matched_person: Option<String>,
    #[serde(default)]
    pub already_registered: bool,
    #[serde(default)]
    pub organisation: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_skip_blank_parts() {
        let person = Person { title: Some(" ".into()), forename: "Sam".into(), surname: "O'Connor".into() };
        assert_eq!(person.full_name(), "Sam O'Connor");
        assert_eq!(person.greeting_name(), "Sam");
    }
}
