//! Identity's vocabulary (roles, statuses, scopes) and the shapes it answers with. The
//! shapes derive both the OpenAPI schema and the GraphQL object so that REST and GraphQL
//! say the same thing.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_shared::dto::Organisation;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::macros::string_enum;

string_enum! {
    /// What a user may do. Staff roles are scoped to an organisation.
    Role {
        Tenant => "tenant",
        CustomerService => "customer_service",
        HousingOfficer => "housing_officer",
        Income => "income",
        Repairs => "repairs",
        Admin => "admin",
    }
}

impl Role {
    pub fn is_staff(self) -> bool {
        self != Role::Tenant
    }

    pub fn staff_roles() -> impl Iterator<Item = Role> {
        Role::ALL.iter().copied().filter(|r| r.is_staff())
    }
}

string_enum! {
    UserStatus {
        Active => "active",
        Disabled => "disabled",
    }
}

string_enum! {
    /// Where a registration request is.
    RegistrationStatus {
        /// Matched a tenancy; waiting for staff.
        Pending => "pending",
        /// Matched nothing; staff may contact the person.
        Unmatched => "unmatched",
        /// Staff validated it; the PIN letter is due or posted.
        Validated => "validated",
        Rejected => "rejected",
        /// Too many wrong PINs: staff must validate again to post a new PIN.
        Locked => "locked",
        Activated => "activated",
        /// The PIN expired unused.
        Expired => "expired",
    }
}

string_enum! {
    /// What an API key may do.
    Scope {
        RegistrationsRead => "registrations:read",
        RegistrationsWrite => "registrations:write",
        AuditRead => "audit:read",
        TenantsRead => "tenants:read",
        ContractorRepairs => "contractor:repairs",
    }
}

string_enum! {
    /// Which kind of client holds a refresh token, and so where it travels.
    ClientKind {
        /// The SPA: HttpOnly cookie.
        Web => "web",
        /// A mobile app: the response body.
        App => "app",
    }
}

// ----- requests -----

/// A tenant asks to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RegistrationRequest {
    /// The rent account number (also the payment reference on rent letters).
    #[schema(example = "10004217")]
    pub account_number: String,
    /// The surname of a tenant named on the tenancy.
    #[schema(example = "O'Connor")]
    pub surname: String,
    /// The postcode of the home.
    #[schema(example = "HX1 2AB")]
    pub postcode: String,
    /// Where we may contact you; it becomes your sign-in.
    #[schema(example = "sam@example.com")]
    pub email: String,
}

/// The same answer whether or not the details matched anything.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationReceived {
    /// Always `received`.
    pub status: String,
    pub message: String,
}

/// Finish registering with the PIN from the letter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ActivationRequest {
    #[schema(example = "10004217")]
    pub account_number: String,
    /// The PIN printed in the letter; spaces and case do not matter.
    #[schema(value_type = String, example = "K7M2Q X9PAB")]
    pub pin: SecretString,
    pub email: String,
    /// At least 8 characters (15 or more recommended), at most 128; any characters.
    #[schema(value_type = String)]
    pub password: SecretString,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivatedUser {
    pub user_id: i64,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: SecretString,
    /// `app` to receive the refresh token in the body (mobile apps); otherwise it is set
    /// as an HttpOnly cookie.
    #[serde(default)]
    pub client: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// An app's refresh token; the SPA sends none and its cookie is used.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
}

/// An access token, and for apps the refresh token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT (`typ` `at+jwt`) to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Only for `client: "app"`; the SPA gets an HttpOnly cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RejectRequest {
    /// Why, in words the tenant can be told.
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// What the key is for, e.g. `HMS nightly sync`.
    pub name: String,
    /// e.g. `registrations:read`, `audit:read`.
    pub scopes: Vec<String>,
    /// The organisation's slug; your own if absent. A group admin may name a subsidiary.
    #[serde(default)]
    pub organisation: Option<String>,
}

// ----- answers -----

/// What the person typed when asking to register.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct RegistrationSubmitted {
    pub account_number: String,
    pub surname: String,
    pub postcode: String,
    pub email: Option<String>,
}

/// The tenancy a request matched, to show beside it.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct MatchedTenancy {
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    pub tenure: String,
    pub account_number: Option<String>,
    pub address: Vec<String>,
    pub postcode: String,
    /// Lead and joint tenants' names.
    pub tenants: Vec<String>,
    /// The tenant whose surname matched.
    pub matched_person: Option<String>,
    /// Whether that person already has a sign-in.
    pub already_registered: bool,
    pub organisation: String,
}

/// A registration request as staff see it. Never carries the PIN.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct RegistrationView {
    pub id: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub submitted: RegistrationSubmitted,
    pub matched: Option<MatchedTenancy>,
    pub reject_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The print run the letter belongs to.
    pub letter_due: Option<NaiveDate>,
    pub letter_printed_at: Option<DateTime<Utc>>,
    pub pin_expires_at: Option<DateTime<Utc>>,
    pub pin_attempts: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub status: String,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PersonView {
    pub id: i64,
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct PropertyView {
    pub id: i64,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub town: String,
    pub postcode: String,
    /// `home`, `garage` or `other`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct HousingOfficerView {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct AccountView {
    pub id: i64,
    pub account_number: String,
    /// `rent`, `garage`, `community_alarm`, `service_charge`, `sundry`.
    pub kind: String,
    /// What to call the account on screen: "Rent", "Garage", …
    pub kind_label: String,
    /// Positive means arrears, negative means in credit.
    pub balance_pence: i64,
    pub balance_state: doorstep_shared::dto::BalanceState,
    /// The balance in words: "£123.45 in arrears".
    pub balance_text: String,
    pub weekly_charge_pence: i64,
    pub last_entry_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct TenancyView {
    pub id: i64,
    pub reference: String,
    pub tenure: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// The caller's place on the tenancy: `lead`, `joint` or `household`.
    pub member_role: String,
    pub property: PropertyView,
    pub housing_officer: Option<HousingOfficerView>,
    pub accounts: Vec<AccountView>,
}

#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct StaffView {
    pub role: String,
    /// The organisations this member of staff works for (their own, and for a group admin
    /// the subsidiaries), by slug.
    pub organisations_in_scope: Vec<String>,
}

/// The caller: who they are and what is theirs.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct MeView {
    pub user: UserView,
    /// A tenant's person; `null` for staff.
    pub person: Option<PersonView>,
    /// The landlord, with its branding and contacts.
    pub organisation: Option<Organisation>,
    pub tenancies: Vec<TenancyView>,
    /// Role and scope, for staff.
    pub staff: Option<StaffView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    pub organisation: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key. `key` is shown this once and cannot be read again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// Send as `Authorization: ApiKey <key>`.
    pub key: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}
