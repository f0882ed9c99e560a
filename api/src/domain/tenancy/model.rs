//! The shapes staff see of tenancies. Each derives both the OpenAPI schema and the GraphQL
//! object, so that REST and GraphQL say the same thing.

use chrono::NaiveDate;
use doorstep_shared::dto::AccountSummary;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::identity::model::{AccountView, HousingOfficerView, PropertyView};

/// A tenancy that matched a search: enough to tell it apart from the others and to see at
/// a glance how its accounts stand.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct TenantMatch {
    /// The tenancy's id, for `GET /staff/tenants/{id}`.
    pub tenancy_id: i64,
    /// The housing management system's reference.
    pub tenancy_ref: String,
    /// The landlord's slug.
    pub organisation: String,
    pub organisation_name: String,
    /// Lead tenant first, then joint tenants, as "Title Forename Surname".
    pub tenants: Vec<String>,
    /// The home's address lines, town and postcode last.
    pub address: Vec<String>,
    pub postcode: String,
    pub start_date: NaiveDate,
    /// Set when the tenancy has ended.
    pub end_date: Option<NaiveDate>,
    pub accounts: Vec<AccountView>,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct TenantMatchPage {
    pub items: Vec<TenantMatch>,
    pub next_cursor: Option<String>,
}

/// Someone on a tenancy.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct TenancyPerson {
    pub id: i64,
    /// `lead`, `joint` or `household`.
    pub role: String,
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
    /// "Title Forename Surname".
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Whether they have a sign-in to the portal.
    pub has_sign_in: bool,
}

/// A tenancy as its landlord's staff see it: the people, the home, the housing officer and
/// each account with its balance, last transaction date and three most recent lines.
#[derive(Debug, Clone, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct StaffTenancyView {
    pub id: i64,
    pub reference: String,
    /// `secure`, `assured`, `starter`, `assured_shorthold`, `licence`.
    pub tenure: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// The landlord's slug.
    pub organisation: String,
    pub organisation_name: String,
    /// Lead tenant first, then joint tenants, then the household.
    pub people: Vec<TenancyPerson>,
    pub property: PropertyView,
    /// The patch the home belongs to.
    pub patch: Option<String>,
    pub housing_officer: Option<HousingOfficerView>,
    pub accounts: Vec<AccountSummary>,
}
