//! The sandbox provider's adapter: `doorstep sandbox-provider`, reached over HTTP and signed
//! both ways with `Doorstep-Signature` (see docs/payments.md).

use futures::future::BoxFuture;
use http::HeaderMap;
use secrecy::SecretString;
use serde_json::json;

use super::model::{Notice, NoticeKind};
use super::provider::{
    CreatePayment, CreatedPayment, Inbound, Provider, ProviderError, WebhookError, json_body, pence_field, str_field,
    time_field,
};
use super::signature;
use crate::domain::ledger::Channel;

pub const KEY: &str = "sandbox";

/// The channels a provider may report (not HMS-only ones such as housing benefit).
pub const PROVIDER_CHANNELS: &[Channel] =
    &[Channel::App, Channel::Web, Channel::Telephone, Channel::RetailCash, Channel::RecurringCard, Channel::PayByLink];

pub struct Sandbox {
    base_url: String,
    secrets: Vec<SecretString>,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(base_url: String, secrets: Vec<SecretString>, http: reqwest::Client) -> Sandbox {
        Sandbox { base_url, secrets, http }
    }
}

/// Reads a sandbox notification body (already authenticated).
pub fn parse_notice(body: &[u8]) -> Result<Notice, WebhookError> {
    let v = json_body(body)?;
    let event_id = str_field(&v, "id")?.to_owned();
    let event_type = str_field(&v, "type")?.to_owned();
    let kind = match event_type.as_str() {
        "payment.succeeded" => NoticeKind::Succeeded,
        "payment.failed" => NoticeKind::Failed,
        _ => NoticeKind::Other,
    };
    let channel_text = str_field(&v, "payment.channel")?;
    let channel = Channel::parse(channel_text).filter(|c| PROVIDER_CHANNELS.contains(c)).ok_or_else(|| {
        WebhookError::malformed("payment.channel", format!("{channel_text:?} is not a payment channel"))
    })?;
    let reference = match v.pointer("/payment/reference") {
        None | Some(serde_json::Value::Null) => None,
        Some(r) => Some(
            r.as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| WebhookError::malformed("payment.reference", "must be a string or null"))?
                .to_owned(),
        ),
    };
    Ok(Notice {
        provider: KEY.into(),
        event_id,
        event_type,
        kind,
        payment_id: str_field(&v, "payment.id")?.to_owned(),
        intent_ref: reference,
        account_reference: str_field(&v, "payment.account_number")?.to_owned(),
        amount: pence_field(&v, "payment.amount_pence")?,
        channel,
        paid_at: time_field(&v, "payment.paid_at")?,
        failure: v.pointer("/payment/failure_reason").and_then(|r| r.as_str()).map(str::to_owned),
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

impl Provider for Sandbox {
    fn key(&self) -> &'static str {
        KEY
    }

    fn read_webhook(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Inbound, WebhookError> {
        let header = headers.get(signature::HEADER).map(|h| h.to_str().unwrap_or(""));
        signature::verify(header, body, &self.secrets, now)?;
        Ok(Inbound::Notices(vec![parse_notice(body)?]))
    }

    fn create_payment<'a>(&'a self, r: &'a CreatePayment) -> BoxFuture<'a, Result<CreatedPayment, ProviderError>> {
        Box::pin(async move {
            let body = json!({
                "reference": r.reference,
                "account_number": r.account_number,
                "amount_pence": r.amount_pence,
                "description": r.description,
                "return_url": r.return_url,
            })
            .to_string();
            let secret = self.secrets.first().ok_or(ProviderError::NotSupported)?;
            let response = self
                .http
                .post(format!("{}/api/sessions", self.base_url))
                .header("content-type", "application/json")
                .header(signature::HEADER, signature::sign_now(secret, body.as_bytes()))
                .body(body)
                .send()
                .await
                .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
            let status = response.status();
            let v: serde_json::Value =
                response.json().await.map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
            if !status.is_success() {
                let msg = v.pointer("/error/message").and_then(|m| m.as_str()).unwrap_or("no reason given");
                return Err(ProviderError::Refused(format!("{status}: {msg}")));
            }
            let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            Ok(CreatedPayment {
                payment_id: get("payment_id").ok_or_else(|| ProviderError::Refused("no payment_id".into()))?,
                session_id: get("session_id"),
                url: get("url").ok_or_else(|| ProviderError::Refused("no url".into()))?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(amount: &str, channel: &str) -> Vec<u8> {
        format!(
            r#"{{"id":"evt_1","type":"payment.succeeded","created_at":"2026-11-22T10:15:03.120Z",
            "payment":{{"id":"pay_1","reference":null,"account_number":"100012345","amount_pence":{amount},
            "channel":"{channel}","status":"succeeded","paid_at":"2026-11-22T10:15:03.100Z"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_documented_notification_reads_as_a_notice() {
        let n = parse_notice(&sample("1234", "retail_cash")).unwrap();
        assert_eq!((n.event_id.as_str(), n.payment_id.as_str()), ("evt_1", "pay_1"));
        assert_eq!(n.amount.pence(), 1234);
        assert_eq!(n.channel, Channel::RetailCash);
        assert_eq!(n.kind, NoticeKind::Succeeded);
        assert_eq!(n.intent_ref, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = |b: Vec<u8>| parse_notice(&b).unwrap_err().to_string();
        assert!(err(sample("-5", "web")).starts_with("payment.amount_pence"));
        assert!(err(sample("12.5", "web")).starts_with("payment.amount_pence"));
        assert!(err(sample("\"12\"", "web")).starts_with("payment.amount_pence"));
        assert!(err(sample("100", "housing_benefit")).starts_with("payment.channel"));
        assert!(err(b"{\"id\":".to_vec()).starts_with("body"));
        assert!(err(vec![0xff, 0xfe]).starts_with("body"));
    }
}
