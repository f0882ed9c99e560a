//! A GOV.UK Pay-style adapter, written from GOV.UK Pay's public documentation:
//!
//! - create a payment: `POST {base}/v1/payments` with `Authorization: Bearer <API key>` and
//!   `{amount, reference, description, return_url, metadata}`; the answer carries
//!   `payment_id` and `_links.next_url.href`, the page to send the payer to;
//! - webhooks: a JSON message with `webhook_message_id`, `event_type` (`card_payment_started`,
//!   `card_payment_succeeded`, `card_payment_captured`, `card_payment_settled`,
//!   `card_payment_refunded`), `resource_id` and `resource` (the payment), signed with a
//!   `Pay-Signature` header: the hex HMAC-SHA256 of the body with the webhook's signing
//!   secret.
//!
//! The scheme has no timestamp, so there is no clock-skew check: a replayed message is
//! harmless because the inbox keys on `webhook_message_id` and the ledger on the payment id.
//! The payment's `reference` is our account number; `metadata.doorstep_payment` carries our
//! payment intent id.

use futures::future::BoxFuture;
use http::HeaderMap;
use serde_json::json;

use super::model::{Notice, NoticeKind};
use super::provider::{
    CreatePayment, CreatedPayment, Inbound, Provider, ProviderError, WebhookError, json_body, pence_field, str_field,
    time_field,
};
use super::signature::{self, SignatureError};
use crate::config::payments::GovUkPay as Settings;
use crate::domain::ledger::Channel;

pub const KEY: &str = "govuk_pay";
pub const SIGNATURE_HEADER: &str = "pay-signature";

pub struct GovUkPay {
    settings: Settings,
    http: reqwest::Client,
}

impl GovUkPay {
    pub fn new(settings: Settings, http: reqwest::Client) -> GovUkPay {
        GovUkPay { settings, http }
    }
}

/// Reads a (verified) webhook message.
pub fn parse_notice(body: &[u8]) -> Result<Notice, WebhookError> {
    let v = json_body(body)?;
    let event_type = str_field(&v, "event_type")?.to_owned();
    let resource_type = str_field(&v, "resource_type")?;
    if resource_type != "payment" {
        return Err(WebhookError::malformed("resource_type", format!("{resource_type:?} is not a payment")));
    }
    let status = v.pointer("/resource/state/status").and_then(|s| s.as_str()).unwrap_or("");
    let kind = match (event_type.as_str(), status) {
        ("card_payment_succeeded", "success") | ("card_payment_succeeded", "") => NoticeKind::Succeeded,
        (_, "failed" | "cancelled" | "error") => NoticeKind::Failed,
        _ => NoticeKind::Other,
    };
    let channel = match v.pointer("/resource/authorisation_mode").and_then(|m| m.as_str()) {
        Some("moto") => Channel::Telephone,
        Some("agreement") => Channel::RecurringCard,
        _ => Channel::Web,
    };
    let intent_ref = v.pointer("/resource/metadata/doorstep_payment").and_then(|m| m.as_str()).map(str::to_owned);
    let paid_at = match v.pointer("/resource/settlement_summary/capture_submit_time") {
        Some(serde_json::Value::String(_)) => time_field(&v, "resource.settlement_summary.capture_submit_time")?,
        _ => time_field(&v, "created_date")?,
    };
    Ok(Notice {
        provider: KEY.into(),
        event_id: str_field(&v, "webhook_message_id")?.to_owned(),
        event_type,
        kind,
        payment_id: str_field(&v, "resource_id")?.to_owned(),
        intent_ref,
        account_reference: str_field(&v, "resource.reference")?.to_owned(),
        amount: pence_field(&v, "resource.amount")?,
        channel,
        paid_at,
        failure: None,
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

impl Provider for GovUkPay {
    fn key(&self) -> &'static str {
        KEY
    }

    fn read_webhook(&self, headers: &HeaderMap, body: &[u8], _now: i64) -> Result<Inbound, WebhookError> {
        let given = headers
            .get(SIGNATURE_HEADER)
            .ok_or(SignatureError::Missing)?
            .to_str()
            .map_err(|_| SignatureError::Malformed("not text"))?;
        signature::verify_body_hmac(&self.settings.webhook_secrets, body, given)?;
        Ok(Inbound::Notices(vec![parse_notice(body)?]))
    }

    fn create_payment<'a>(&'a self, r: &'a CreatePayment) -> BoxFuture<'a, Result<CreatedPayment, ProviderError>> {
        Box::pin(async move {
            use secrecy::ExposeSecret;
            let response = self
                .http
                .post(format!("{}/v1/payments", self.settings.base_url))
                .bearer_auth(self.settings.api_key.expose_secret())
                .json(&json!({
                    "amount": r.amount_pence,
                    "reference": r.account_number,
                    "description": r.description,
                    "return_url": r.return_url,
                    "metadata": { "doorstep_payment": r.reference },
                }))
                .send()
                .await
                .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
            let status = response.status();
            let v: serde_json::Value =
                response.json().await.map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
            if !status.is_success() {
                let msg = v.get("description").and_then(|m| m.as_str()).unwrap_or("no reason given");
                return Err(ProviderError::Refused(format!("{status}: {msg}")));
            }
            let payment_id = v
                .get("payment_id")
                .and_then(|x| x.as_str())
                .ok_or_else(|| ProviderError::Refused("the answer has no payment_id".into()))?;
            let url = v
                .pointer("/_links/next_url/href")
                .and_then(|x| x.as_str())
                .ok_or_else(|| ProviderError::Refused("the answer has no _links.next_url".into()))?;
            Ok(CreatedPayment { payment_id: payment_id.to_owned(), session_id: None, url: url.to_owned() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped as the example message in GOV.UK Pay's webhook documentation.
    pub const SUCCEEDED: &str = r#"{
      "webhook_message_id": "s0wjen129ejalk21nfjkdknf1jejklh",
      "api_version": 1,
      "created_date": "2026-11-22T10:36:26.988Z",
      "resource_id": "hu20sqlact5260q2nanm0q8u93",
      "resource_type": "payment",
      "event_type": "card_payment_succeeded",
      "resource": {
        "amount": 5000,
        "description": "Rent payment",
        "reference": "100012345",
        "language": "en",
        "email": "tenant@example.invalid",
        "state": { "status": "success", "finished": true },
        "payment_id": "hu20sqlact5260q2nanm0q8u93",
        "payment_provider": "sandbox",
        "created_date": "2026-11-22T10:35:01.120Z",
        "metadata": { "doorstep_payment": "pi_abc" },
        "return_url": "https://portal.example/pay/done",
        "delayed_capture": false,
        "moto": false,
        "authorisation_mode": "web"
      }
    }"#;

    #[test]
    fn a_documented_succeeded_message_posts_the_amount_to_the_reference() {
        let n = parse_notice(SUCCEEDED.as_bytes()).unwrap();
        assert_eq!(n.kind, NoticeKind::Succeeded);
        assert_eq!(n.event_id, "s0wjen129ejalk21nfjkdknf1jejklh");
        assert_eq!(n.payment_id, "hu20sqlact5260q2nanm0q8u93");
        assert_eq!(n.account_reference, "100012345");
        assert_eq!(n.amount.pence(), 5000);
        assert_eq!(n.intent_ref.as_deref(), Some("pi_abc"));
        assert_eq!(n.channel, Channel::Web);
    }

    #[test]
    fn captured_and_settled_are_recorded_not_posted() {
        for t in ["card_payment_captured", "card_payment_settled", "card_payment_started"] {
            let body = SUCCEEDED.replace("card_payment_succeeded", t);
            assert_eq!(parse_notice(body.as_bytes()).unwrap().kind, NoticeKind::Other, "{t}");
        }
    }

    #[test]
    fn pay_signature_is_checked_on_the_raw_body() {
        let secret = secrecy::SecretString::from("webhook-secret");
        let p = GovUkPay::new(
            Settings {
                base_url: "http://127.0.0.1:9".into(),
                api_key: secrecy::SecretString::from("k"),
                webhook_secrets: vec![secret],
            },
            reqwest::Client::new(),
        );
        let mut h = HeaderMap::new();
        let sig = signature::body_hmac_hex(b"webhook-secret", SUCCEEDED.as_bytes());
        h.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        assert!(matches!(p.read_webhook(&h, SUCCEEDED.as_bytes(), 0), Ok(Inbound::Notices(n)) if n.len() == 1));
        let tampered = SUCCEEDED.replace("5000", "50000");
        assert_eq!(p.read_webhook(&h, tampered.as_bytes(), 0), Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(
            p.read_webhook(&HeaderMap::new(), SUCCEEDED.as_bytes(), 0),
            Err(WebhookError::Signature(SignatureError::Missing))
        );
    }
}
