//! The income team's reconciliation screens: end-of-day runs, their reports and exceptions,
//! and the suspense account. Staff with the `income` role (admins always), within their
//! organisations.

pub mod allocate_suspense;
pub mod close_suspense;
pub mod get_run;
pub mod list_runs;
pub mod list_suspense;
pub mod resolve_item;
pub mod run_items;
pub mod run_report_csv;

/// The schema of a CSV body in the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String)]
pub struct CsvFile(pub String);
