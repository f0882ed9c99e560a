//! Payments as the SPA reads them: starting a payment into a rent account and following it,
//! and the income team's screens (reconciliation runs and their exceptions, the suspense
//! account, payments by channel).
//!
//! A payment is the shared DTO (`doorstep_shared::dto::Payment`). The staff shapes mirror the
//! server's (`api/src/domain/reconciliation/model.rs`, the OpenAPI document's `staff` tag);
//! only the fields the SPA shows are read, so the server may add to them freely.

use chrono::NaiveDate;
use doorstep_shared::dto::{NewPayment, Page, Payment};
use gloo_net::http::Request;
use serde::{Deserialize, Serialize};

use super::{ApiClient, ApiError, bearer, error_from};

/// The least a payment may be, in pence (the API's rule: £1.00).
pub const MIN_PAYMENT_PENCE: i64 = 100;
/// The most one payment may be, in pence (the API's rule: £10,000.00).
pub const MAX_PAYMENT_PENCE: i64 = 1_000_000;
/// Runs, items and suspense payments per page of the staff lists.
pub const STAFF_PAGE_SIZE: u32 = 50;

/// A new random key for one payment attempt: a version 4 UUID from the browser's secure
/// random source. The API treats the same key with the same request as the same payment.
pub fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No secure random source: fall back to the clock and Math.random, still unique
        // enough to tell two attempts of one tenant apart.
        let now = crate::dates::now_ms() as u64;
        bytes[..8].copy_from_slice(&now.to_le_bytes());
        let extra = (web_sys::js_sys::Math::random() * u64::MAX as f64) as u64;
        bytes[8..].copy_from_slice(&extra.to_le_bytes());
    }
    uuid_v4(bytes)
}

fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Where a payment has got to, as the pay page acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The card page is open (or about to be).
    Waiting,
    Succeeded,
    Failed,
}

impl PaymentOutcome {
    pub fn of(status: &str) -> PaymentOutcome {
        match status {
            "succeeded" => PaymentOutcome::Succeeded,
            "failed" | "provider_error" => PaymentOutcome::Failed,
            _ => PaymentOutcome::Waiting,
        }
    }
}

// ----- staff: reconciliation -----

/// Counts of a run's items (the ones the screens show; each reason's count is in the
/// report's reasons).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ReconciliationCounts {
    pub matched: i64,
    pub late: i64,
    pub exceptions: i64,
    pub open_exceptions: i64,
}

/// Money of a run, in pence (the totals the screens show).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ReconciliationTotals {
    pub file_pence: i64,
    pub matched_pence: i64,
    pub late_posted_pence: i64,
}

/// One reconciliation run: a provider's end-of-day file matched against the ledger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReconciliationRun {
    pub id: i64,
    pub provider: String,
    pub file_name: String,
    pub started_at: String,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub business_date_from: Option<NaiveDate>,
    #[serde(default)]
    pub business_date_to: Option<NaiveDate>,
    #[serde(default)]
    pub lines: i64,
    #[serde(default)]
    pub counts: ReconciliationCounts,
    #[serde(default)]
    pub totals: ReconciliationTotals,
}

/// One reason code of a run's report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReconciliationReason {
    pub reason_code: String,
    #[serde(default)]
    pub exception: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub items: i64,
    #[serde(default)]
    pub open: i64,
    #[serde(default)]
    pub file_pence: Option<i64>,
    #[serde(default)]
    pub ledger_pence: Option<i64>,
}

/// A run with a line per reason code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReconciliationReport {
    pub run: ReconciliationRun,
    #[serde(default)]
    pub reasons: Vec<ReconciliationReason>,
}

/// One item of a run: a line of the file, or a ledger payment the file lacks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReconciliationItem {
    pub id: i64,
    /// The reason code: `matched`, `late`, `amount_mismatch`, `unknown_account`, `not_in_file`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub provider_payment_id: String,
    #[serde(default)]
    pub account_reference: String,
    #[serde(default)]
    pub file_amount_pence: Option<i64>,
    #[serde(default)]
    pub ledger_amount_pence: Option<i64>,
    #[serde(default)]
    pub difference_pence: Option<i64>,
    #[serde(default)]
    pub line: Option<i64>,
    #[serde(default)]
    pub paid_at: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// `open` or `resolved`.
    #[serde(default)]
    pub resolution: String,
    #[serde(default)]
    pub resolved_at: Option<String>,
    #[serde(default)]
    pub resolved_by: Option<String>,
}

impl ReconciliationItem {
    pub fn is_open(&self) -> bool {
        self.resolution == "open"
    }
}

/// What staff do with an exception: add a note and leave it open, or close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveAction {
    Note,
    Close,
}

#[derive(Serialize)]
struct ResolveRequest<'a> {
    action: ResolveAction,
    note: &'a str,
}

// ----- staff: suspense -----

/// Money received for a reference that matched no account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SuspensePayment {
    pub id: i64,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub provider_payment_id: String,
    /// The reference the payer gave.
    #[serde(default)]
    pub account_reference: String,
    pub amount_pence: i64,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub paid_at: String,
    #[serde(default)]
    pub received_at: String,
    /// `webhook` or `reconciliation`.
    #[serde(default)]
    pub origin: String,
    /// `open`, `allocated` or `closed`.
    pub status: String,
    #[serde(default)]
    pub allocated_account_number: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub resolved_by: Option<String>,
}

#[derive(Serialize)]
struct AllocateRequest<'a> {
    account_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct CloseRequest<'a> {
    note: &'a str,
}

// ----- staff: how tenants pay -----

/// A channel in the report, with its label for legends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentChannel {
    pub channel: String,
    pub label: String,
}

/// One channel's payments in a period (or the whole range).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChannelFigure {
    pub channel: String,
    pub payments: i64,
    pub amount_pence: i64,
}

/// One day or rent week, with a figure for every channel of the report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChannelPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub payments: i64,
    pub amount_pence: i64,
    #[serde(default)]
    pub channels: Vec<ChannelFigure>,
}

/// Payments by channel and period.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentsByChannel {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day` or `week`.
    pub group: String,
    /// Most money first.
    #[serde(default)]
    pub channels: Vec<PaymentChannel>,
    /// Oldest first, empty ones included.
    #[serde(default)]
    pub periods: Vec<ChannelPeriod>,
    #[serde(default)]
    pub totals: Vec<ChannelFigure>,
    #[serde(default)]
    pub payments: i64,
    #[serde(default)]
    pub amount_pence: i64,
}

impl ApiClient {
    /// `POST /accounts/{id}/payments`: starts a payment and answers the provider's page to
    /// frame. The same `key` with the same amount answers the same payment, so a retry after
    /// a timeout or a 503 cannot start a second one.
    pub async fn start_payment(
        &self,
        token: &str,
        account_id: i64,
        amount_pence: i64,
        key: &str,
    ) -> Result<Payment, ApiError> {
        let url = self.url(&format!("/accounts/{account_id}/payments"));
        let request = bearer(Request::post(&url), token).header("Idempotency-Key", key);
        self.send_json(request, &NewPayment { amount_pence }).await
    }

    /// `GET /payments/{id}`: a payment and what became of it.
    pub async fn payment(&self, token: &str, id: &str) -> Result<Payment, ApiError> {
        let id: String = web_sys::js_sys::encode_uri_component(id).into();
        self.get_json(bearer(Request::get(&self.url(&format!("/payments/{id}"))), token)).await
    }

    /// `GET /staff/reconciliation/runs`: newest first.
    pub async fn reconciliation_runs(
        &self,
        token: &str,
        cursor: Option<&str>,
    ) -> Result<Page<ReconciliationRun>, ApiError> {
        let mut query = vec![("limit", STAFF_PAGE_SIZE.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let url = self.url("/staff/reconciliation/runs");
        self.get_json(bearer(Request::get(&url), token).query(query)).await
    }

    /// `GET /staff/reconciliation/runs/{id}`: the run's report.
    pub async fn reconciliation_report(&self, token: &str, id: i64) -> Result<ReconciliationReport, ApiError> {
        self.get_json(bearer(Request::get(&self.url(&format!("/staff/reconciliation/runs/{id}"))), token)).await
    }

    /// `GET /staff/reconciliation/runs/{id}/items?status=&resolution=`.
    pub async fn reconciliation_items(
        &self,
        token: &str,
        run_id: i64,
        status: Option<&str>,
        resolution: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<ReconciliationItem>, ApiError> {
        let mut query = vec![("limit", STAFF_PAGE_SIZE.to_string())];
        if let Some(status) = status {
            query.push(("status", status.to_owned()));
        }
        if let Some(resolution) = resolution {
            query.push(("resolution", resolution.to_owned()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let url = self.url(&format!("/staff/reconciliation/runs/{run_id}/items"));
        self.get_json(bearer(Request::get(&url), token).query(query)).await
    }

    /// Where a run's report is as CSV; it needs the access token.
    pub fn reconciliation_csv_url(&self, run_id: i64) -> String {
        self.url(&format!("/staff/reconciliation/runs/{run_id}/report.csv"))
    }

    /// A CSV file behind the access token, as bytes.
    pub async fn download_csv(&self, token: &str, url: &str) -> Result<Vec<u8>, ApiError> {
        let response = bearer(Request::get(url), token)
            .header("Accept", "text/csv, application/json")
            .send()
            .await
            .map_err(|_| ApiError::Network)?;
        if !response.ok() {
            return Err(error_from(response).await);
        }
        response.binary().await.map_err(|_| ApiError::Decode)
    }

    /// `POST /staff/reconciliation/items/{id}/resolve`.
    pub async fn resolve_item(
        &self,
        token: &str,
        id: i64,
        action: ResolveAction,
        note: &str,
    ) -> Result<ReconciliationItem, ApiError> {
        let url = self.url(&format!("/staff/reconciliation/items/{id}/resolve"));
        self.send_json(bearer(Request::post(&url), token), &ResolveRequest { action, note }).await
    }

    /// `GET /staff/suspense?status=`: oldest first.
    pub async fn suspense(
        &self,
        token: &str,
        status: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<SuspensePayment>, ApiError> {
        let mut query = vec![("limit", STAFF_PAGE_SIZE.to_string())];
        if let Some(status) = status {
            query.push(("status", status.to_owned()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        self.get_json(bearer(Request::get(&self.url("/staff/suspense")), token).query(query)).await
    }

    /// `POST /staff/suspense/{id}/allocate`: posts the money to the account.
    pub async fn allocate_suspense(
        &self,
        token: &str,
        id: i64,
        account_id: i64,
        note: Option<&str>,
    ) -> Result<SuspensePayment, ApiError> {
        let url = self.url(&format!("/staff/suspense/{id}/allocate"));
        self.send_json(bearer(Request::post(&url), token), &AllocateRequest { account_id, note }).await
    }

    /// `POST /staff/suspense/{id}/close`: closes it without posting (refunded, say).
    pub async fn close_suspense(&self, token: &str, id: i64, note: &str) -> Result<SuspensePayment, ApiError> {
        let url = self.url(&format!("/staff/suspense/{id}/close"));
        self.send_json(bearer(Request::post(&url), token), &CloseRequest { note }).await
    }

    /// `GET /staff/payments/by-channel?from=&to=&group=`.
    pub async fn payments_by_channel(
        &self,
        token: &str,
        from: NaiveDate,
        to: NaiveDate,
        group: &str,
    ) -> Result<PaymentsByChannel, ApiError> {
        let query = [("from", from.to_string()), ("to", to.to_string()), ("group", group.to_owned())];
        let url = self.url("/staff/payments/by-channel");
        self.get_json(bearer(Request::get(&url), token).query(query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_version_4_uuids() {
        let key = uuid_v4([0xff; 16]);
        assert_eq!(key, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let key = uuid_v4([0; 16]);
        assert_eq!(key, "00000000-0000-4000-8000-000000000000");
        assert_eq!(key.len(), 36);
    }

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(PaymentOutcome::of("pending"), PaymentOutcome::Waiting);
        assert_eq!(PaymentOutcome::of("created"), PaymentOutcome::Waiting);
        assert_eq!(PaymentOutcome::of("succeeded"), PaymentOutcome::Succeeded);
        assert_eq!(PaymentOutcome::of("failed"), PaymentOutcome::Failed);
        assert_eq!(PaymentOutcome::of("provider_error"), PaymentOutcome::Failed);
    }

    #[test]
    fn staff_shapes_read_the_api() {
        let json = r#"{"run":{"id":3,"provider":"sandbox","file_name":"2026-11-22.csv","file_sha256":"ab",
            "started_at":"2026-11-22T18:00:00Z","finished_at":"2026-11-22T18:00:01Z","started_by":"doorstep reconcile",
            "business_date_from":"2026-11-22","business_date_to":"2026-11-22","lines":4,
            "counts":{"matched":2,"late":1,"amount_mismatch":0,"unknown_account":1,"not_in_file":0,"exceptions":1,"open_exceptions":1},
            "totals":{"file_pence":5000,"matched_pence":3000,"late_posted_pence":1000,"amount_mismatch_file_pence":0,
            "amount_mismatch_ledger_pence":0,"unknown_account_pence":1000,"not_in_file_pence":0}},
            "reasons":[{"reason_code":"unknown_account","exception":true,"description":"No account has this reference",
            "items":1,"open":1,"file_pence":1000,"ledger_pence":0}]}"#;
        let report: ReconciliationReport = serde_json::from_str(json).unwrap();
        assert_eq!(report.run.counts.open_exceptions, 1);
        assert_eq!(report.reasons[0].file_pence, Some(1000));
        let json = r#"{"from":"2026-11-01","to":"2026-11-02","group":"day",
            "channels":[{"channel":"retail_cash","label":"Cash at a shop"}],
            "periods":[{"start":"2026-11-01","end":"2026-11-01","payments":1,"amount_pence":1234,
            "channels":[{"channel":"retail_cash","payments":1,"amount_pence":1234}]}],
            "totals":[{"channel":"retail_cash","payments":1,"amount_pence":1234}],"payments":1,"amount_pence":1234}"#;
        let report: PaymentsByChannel = serde_json::from_str(json).unwrap();
        assert_eq!(report.periods[0].channels[0].amount_pence, 1234);
    }
}
