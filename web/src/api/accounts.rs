//! Rent accounts as the SPA reads them: an account at a glance, its history a page at a time,
//! statements as files, and the staff search for a tenant with the staff view of a tenancy.
//!
//! Accounts and their lines are the shared DTOs (`doorstep_shared::dto`). The staff shapes
//! mirror the server's (`api/src/domain/tenancy/model.rs`, the OpenAPI document's `staff`
//! tag); only the fields the SPA shows are read, so the server may add to them freely.

use chrono::{Datelike, NaiveDate};
use doorstep_shared::dto::{AccountSummary, Page, Transaction};
use gloo_net::http::Request;
use serde::Deserialize;

use super::identity::{Account, HousingOfficer, Property};
use super::{ApiClient, ApiError, bearer, error_from};

/// Lines per page of an account's history.
pub const HISTORY_PAGE_SIZE: u32 = 50;
/// Tenancies per page of the staff search.
pub const TENANT_SEARCH_PAGE_SIZE: u32 = 20;

/// A statement's file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    Pdf,
    Csv,
}

impl StatementFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementFormat::Pdf => "pdf",
            StatementFormat::Csv => "csv",
        }
    }

    /// How to name it on a button: "PDF", "CSV (for spreadsheets)".
    pub fn words(self) -> &'static str {
        match self {
            StatementFormat::Pdf => "PDF",
            StatementFormat::Csv => "CSV",
        }
    }

    fn accept(self) -> &'static str {
        match self {
            StatementFormat::Pdf => "application/pdf, application/json",
            StatementFormat::Csv => "text/csv, application/json",
        }
    }
}

/// Which lines of a history to show: those dated within `from..=to`, either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The last complete financial year (1 April to 31 March) before `today`, as the API takes
/// it for an annual statement.
pub fn last_financial_year(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start_year = if today.month() >= 4 { today.year() - 1 } else { today.year() - 2 };
    match (NaiveDate::from_ymd_opt(start_year, 4, 1), NaiveDate::from_ymd_opt(start_year + 1, 3, 31)) {
        (Some(from), Some(to)) => (from, to),
        _ => (today, today),
    }
}

// ----- staff: finding a tenant -----

/// A tenancy that matched a staff search.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TenantMatch {
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    #[serde(default)]
    pub organisation_name: String,
    /// Lead tenant first, then joint tenants.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Address lines, postcode last.
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub accounts: Vec<Account>,
}

/// A tenancy as its landlord's staff see it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StaffTenancy {
    pub id: i64,
    pub reference: String,
    pub tenure: String,
    pub start_date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub organisation_name: String,
    #[serde(default)]
    pub people: Vec<TenancyPerson>,
    pub property: Property,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub housing_officer: Option<HousingOfficer>,
    #[serde(default)]
    pub accounts: Vec<AccountSummary>,
}

impl StaffTenancy {
    /// The lead tenant's name, or the first person's, for headings.
    pub fn lead_name(&self) -> Option<&str> {
        self.people.iter().find(|p| p.role == "lead").or_else(|| self.people.first()).map(|p| p.name.as_str())
    }
}

/// Someone on a tenancy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TenancyPerson {
    pub id: i64,
    /// `lead`, `joint` or `household`.
    pub role: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub has_sign_in: bool,
}

impl ApiClient {
    /// `GET /accounts/{id}`: balance, last transaction date and the three most recent lines.
    pub async fn account(&self, token: &str, id: i64) -> Result<AccountSummary, ApiError> {
        self.get_json(bearer(Request::get(&self.url(&format!("/accounts/{id}"))), token)).await
    }

    /// `GET /accounts/{id}/transactions`: a page of the history, newest first, with the
    /// balance after each line.
    pub async fn transactions(
        &self,
        token: &str,
        id: i64,
        period: Period,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, ApiError> {
        let mut query = vec![("limit", HISTORY_PAGE_SIZE.to_string())];
        if let Some(from) = period.from {
            query.push(("from", from.to_string()));
        }
        if let Some(to) = period.to {
            query.push(("to", to.to_string()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let url = self.url(&format!("/accounts/{id}/transactions"));
        self.get_json(bearer(Request::get(&url), token).query(query)).await
    }

    /// `GET /accounts/{id}/statement?from=&to=&format=`: the statement file, as bytes.
    pub async fn statement(
        &self,
        token: &str,
        id: i64,
        from: NaiveDate,
        to: NaiveDate,
        format: StatementFormat,
    ) -> Result<Vec<u8>, ApiError> {
        let query = [("from", from.to_string()), ("to", to.to_string()), ("format", format.as_str().to_owned())];
        let url = self.url(&format!("/accounts/{id}/statement"));
        let response = bearer(Request::get(&url), token)
            .query(query)
            .header("Accept", format.accept())
            .send()
            .await
            .map_err(|_| ApiError::Network)?;
        if !response.ok() {
            return Err(error_from(response).await);
        }
        response.binary().await.map_err(|_| ApiError::Decode)
    }

    /// `GET /staff/tenants?q=`: tenancies whose tenants, address, postcode or account numbers
    /// match every word of `q`.
    pub async fn staff_tenants(
        &self,
        token: &str,
        q: &str,
        cursor: Option<&str>,
    ) -> Result<Page<TenantMatch>, ApiError> {
        let mut query = vec![("q", q.to_owned()), ("limit", TENANT_SEARCH_PAGE_SIZE.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        self.get_json(bearer(Request::get(&self.url("/staff/tenants")), token).query(query)).await
    }

    /// `GET /staff/tenants/{id}`: one tenancy with its people, home and accounts.
    pub async fn staff_tenant(&self, token: &str, id: i64) -> Result<StaffTenancy, ApiError> {
        self.get_json(bearer(Request::get(&self.url(&format!("/staff/tenants/{id}"))), token)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_last_financial_year_is_the_last_complete_one() {
        assert_eq!(last_financial_year(d("2026-06-15")), (d("2025-04-01"), d("2026-03-31")));
        assert_eq!(last_financial_year(d("2026-04-01")), (d("2025-04-01"), d("2026-03-31")));
        assert_eq!(last_financial_year(d("2026-03-31")), (d("2024-04-01"), d("2025-03-31")));
    }

    #[test]
    fn staff_shapes_read_the_api() {
        let json = r#"{"items":[{"tenancy_id":7,"tenancy_ref":"T-7","organisation":"pv","organisation_name":"PV",
            "tenants":["Ms A B"],"address":["1 Road","HX1 2AB"],"postcode":"HX1 2AB","start_date":"2020-01-01",
            "end_date":null,"accounts":[{"id":3,"account_number":"100","kind":"rent","kind_label":"Rent",
            "balance_pence":12345,"balance_state":"in_arrears","balance_text":"£123.45 in arrears",
            "weekly_charge_pence":9000,"last_entry_date":"2026-01-05"}]}],"next_cursor":null}"#;
        let page: Page<TenantMatch> = serde_json::from_str(json).unwrap();
        assert_eq!(page.items[0].accounts[0].balance_text, "£123.45 in arrears");
        assert_eq!(page.items[0].tenants, vec!["Ms A B".to_owned()]);
    }
}
