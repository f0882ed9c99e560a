//! The provider trait: how a payment is started with a provider, and how its notifications
//! are authenticated and read. Three implementations ship: the sandbox, a GOV.UK Pay-style
//! adapter and an Event Grid-style adapter.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderMap;

use super::model::Notice;
use super::signature::SignatureError;
use super::{event_grid, govuk_pay, sandbox};
use crate::config::PaymentsConfig;

/// What the portal asks a provider for when a tenant pays.
#[derive(Debug, Clone)]
pub struct CreatePayment {
    /// Our payment intent id, echoed back in notifications.
    pub reference: String,
    pub account_number: String,
    pub amount_pence: i64,
    pub description: String,
    pub return_url: String,
}

/// The provider's answer: its ids and the page to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    pub payment_id: String,
    pub session_id: Option<String>,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the payment provider refused the payment: {0}")]
    Refused(String),
    #[error("this provider does not start payments from the portal")]
    NotSupported,
}

/// What a webhook request turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Payment notifications to record.
    Notices(Vec<Notice>),
    /// A subscription handshake: answer 200 with this JSON and record nothing.
    Handshake(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not what the provider documents; names the field.
    #[error("{field}: {message}")]
    Malformed { field: String, message: String },
}

impl WebhookError {
    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> WebhookError {
        WebhookError::Malformed { field: field.into(), message: message.into() }
    }
}

pub trait Provider: Send + Sync {
    /// The key in `/api/v1/webhooks/{provider}` and in ledger sources.
    fn key(&self) -> &'static str;

    /// Authenticates a webhook request on its raw bytes and reads it. `now` is Unix seconds.
    fn read_webhook(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Inbound, WebhookError>;

    /// Starts a payment and returns the page the tenant completes it on.
    fn create_payment<'a>(&'a self, request: &'a CreatePayment)
    -> BoxFuture<'a, Result<CreatedPayment, ProviderError>>;
}

/// The configured providers, by key, and the one that hosts portal payments.
#[derive(Clone)]
pub struct Providers {
    by_key: BTreeMap<&'static str, Arc<dyn Provider>>,
    checkout: &'static str,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers").field("keys", &self.by_key.keys()).field("checkout", &self.checkout).finish()
    }
}

impl Providers {
    pub fn from_config(c: &PaymentsConfig) -> Providers {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let mut by_key: BTreeMap<&'static str, Arc<dyn Provider>> = BTreeMap::new();
        by_key.insert(
            sandbox::KEY,
            Arc::new(sandbox::Sandbox::new(c.sandbox_url.clone(), c.sandbox_secrets.clone(), http.clone())),
        );
        if let Some(g) = &c.govuk_pay {
            by_key.insert(govuk_pay::KEY, Arc::new(govuk_pay::GovUkPay::new(g.clone(), http.clone())));
        }
        if !c.event_grid_keys.is_empty() {
            by_key.insert(event_grid::KEY, Arc::new(event_grid::EventGrid::new(c.event_grid_keys.clone())));
        }
        let checkout = if c.provider == govuk_pay::KEY && by_key.contains_key(govuk_pay::KEY) {
            govuk_pay::KEY
        } else {
            sandbox::KEY
        };
        Providers { by_key, checkout }
    }

    pub fn get(&self, key: &str) -> Option<&Arc<dyn Provider>> {
        self.by_key.get(key)
    }

    /// The provider that hosts payments started in the portal.
    pub fn checkout(&self) -> &Arc<dyn Provider> {
        // `from_config` always inserts the sandbox, and `checkout` names a present key.
        self.by_key.get(self.checkout).unwrap_or_else(|| unreachable!("the checkout provider is always configured"))
    }

    pub fn keys(&self) -> impl Iterator<Item = &&'static str> {
        self.by_key.keys()
    }
}

/// A required string field of a JSON object.
pub(super) fn str_field<'a>(v: &'a serde_json::Value, path: &str) -> Result<&'a str, WebhookError> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part).ok_or_else(|| WebhookError::malformed(path, "is missing"))?;
    }
    let s = cur.as_str().ok_or_else(|| WebhookError::malformed(path, "must be a string"))?;
    if s.trim().is_empty() {
        return Err(WebhookError::malformed(path, "must not be empty"));
    }
    Ok(s)
}

/// A required positive whole number of pence.
pub(super) fn pence_field(v: &serde_json::Value, path: &str) -> Result<doorstep_shared::Money, WebhookError> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part).ok_or_else(|| WebhookError::malformed(path, "is missing"))?;
    }
    let n = cur.as_i64().ok_or_else(|| WebhookError::malformed(path, "must be a whole number of pence"))?;
    if n <= 0 {
        return Err(WebhookError::malformed(path, "must be more than zero"));
    }
    if n > 100_000_000 {
        return Err(WebhookError::malformed(path, "is more than £1,000,000"));
    }
    Ok(doorstep_shared::Money::from_pence(n))
}

/// A required RFC 3339 time.
pub(super) fn time_field(v: &serde_json::Value, path: &str) -> Result<chrono::DateTime<chrono::Utc>, WebhookError> {
    let s = str_field(v, path)?;
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|_| WebhookError::malformed(path, "must be an RFC 3339 time"))
}

/// The body as JSON, or a named error.
pub(super) fn json_body(body: &[u8]) -> Result<serde_json::Value, WebhookError> {
    let text = std::str::from_utf8(body).map_err(|_| WebhookError::malformed("body", "is not UTF-8"))?;
    serde_json::from_str(text).map_err(|e| WebhookError::malformed("body", format!("is not JSON ({e})")))
}
