//! An Event Grid-style adapter: the event-stream shape that payment networks such as
//! PayPoint publish through, written from Azure Event Grid's public documentation.
//!
//! - Each request carries a JSON **array** of events (`id`, `topic`, `subject`, `eventType`,
//!   `eventTime`, `data`, `dataVersion`), with header `aeg-event-type: Notification`.
//! - A new subscription first sends `aeg-event-type: SubscriptionValidation` with one event
//!   of type `Microsoft.EventGrid.SubscriptionValidationEvent` whose `data.validationCode`
//!   must be echoed as `{"validationResponse": code}`.
//! - Delivery is at least once: the same event may come again, alone or in another batch.
//! - Event Grid does not sign deliveries; a subscription authenticates with a secret that it
//!   sends on every delivery (a custom delivery header, here `X-Doorstep-Key`), compared in
//!   constant time against the configured keys (two while rotating).
//!
//! Payment events (`eventType` `Payments.BillPayment.Completed`) carry in `data`:
//! `transactionId`, `clientReference` (our account number), `amount.value` in pence with
//! `amount.currency` `GBP`, `channel` and `transactionTime`.

use futures::future::BoxFuture;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::model::{Notice, NoticeKind};
use super::provider::{
    CreatePayment, CreatedPayment, Inbound, Provider, ProviderError, WebhookError, json_body, pence_field, str_field,
    time_field,
};
use super::signature::SignatureError;
use crate::domain::ledger::Channel;

pub const KEY: &str = "event_grid";
pub const KEY_HEADER: &str = "x-doorstep-key";
pub const VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";
pub const PAYMENT_COMPLETED: &str = "Payments.BillPayment.Completed";
/// Most events one delivery may carry (Event Grid sends at most 5,000 per batch).
pub const MAX_BATCH: usize = 5000;

pub struct EventGrid {
    keys: Vec<SecretString>,
}

impl EventGrid {
    pub fn new(keys: Vec<SecretString>) -> EventGrid {
        EventGrid { keys }
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(), SignatureError> {
        let given = headers.get(KEY_HEADER).ok_or(SignatureError::Missing)?.as_bytes();
        let mut ok = subtle::Choice::from(0);
        for k in &self.keys {
            ok |= k.expose_secret().as_bytes().ct_eq(given);
        }
        if bool::from(ok) { Ok(()) } else { Err(SignatureError::Mismatch) }
    }
}

/// Reads an (authenticated) delivery.
pub fn parse(body: &[u8]) -> Result<Inbound, WebhookError> {
    let v = json_body(body)?;
    let events = v.as_array().ok_or_else(|| WebhookError::malformed("body", "must be an array of events"))?;
    if events.is_empty() {
        return Err(WebhookError::malformed("body", "holds no events"));
    }
    if events.len() > MAX_BATCH {
        return Err(WebhookError::malformed("body", format!("holds more than {MAX_BATCH} events")));
    }
    if let [only] = events.as_slice()
        && only.get("eventType").and_then(|t| t.as_str()) == Some(VALIDATION_EVENT)
    {
        let code = str_field(only, "data.validationCode")?;
        return Ok(Inbound::Handshake(serde_json::json!({ "validationResponse": code })));
    }
    let mut notices = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let at = |r: Result<Notice, WebhookError>| {
            r.map_err(|err| match err {
                WebhookError::Malformed { field, message } => {
                    WebhookError::Malformed { field: format!("[{i}].{field}"), message }
                }
                other => other,
            })
        };
        notices.push(at(parse_event(e, body))?);
    }
    Ok(Inbound::Notices(notices))
}

fn parse_event(e: &serde_json::Value, body: &[u8]) -> Result<Notice, WebhookError> {
    let event_type = str_field(e, "eventType")?.to_owned();
    let kind = match event_type.as_str() {
        PAYMENT_COMPLETED => NoticeKind::Succeeded,
        "Payments.BillPayment.Failed" => NoticeKind::Failed,
        _ => NoticeKind::Other,
    };
    let currency = str_field(e, "data.amount.currency")?;
    if currency != "GBP" {
        return Err(WebhookError::malformed("data.amount.currency", format!("{currency:?} is not GBP")));
    }
    let channel_text = e.pointer("/data/channel").and_then(|c| c.as_str()).unwrap_or("retail_cash");
    let channel = Channel::parse(channel_text)
        .filter(|c| super::sandbox::PROVIDER_CHANNELS.contains(c))
        .ok_or_else(|| WebhookError::malformed("data.channel", format!("{channel_text:?} is not a payment channel")))?;
    Ok(Notice {
        provider: KEY.into(),
        event_id: str_field(e, "id")?.to_owned(),
        event_type,
        kind,
        payment_id: str_field(e, "data.transactionId")?.to_owned(),
        intent_ref: None,
        account_reference: str_field(e, "data.clientReference")?.to_owned(),
        amount: pence_field(e, "data.amount.value")?,
        channel,
        paid_at: time_field(e, "data.transactionTime")?,
        failure: None,
        payload: if body.len() < 64 * 1024 { String::from_utf8_lossy(body).into_owned() } else { e.to_string() },
    })
}

impl Provider for EventGrid {
    fn key(&self) -> &'static str {
        KEY
    }

    fn read_webhook(&self, headers: &HeaderMap, body: &[u8], _now: i64) -> Result<Inbound, WebhookError> {
        self.authenticate(headers)?;
        parse(body)
    }

    fn create_payment<'a>(&'a self, _: &'a CreatePayment) -> BoxFuture<'a, Result<CreatedPayment, ProviderError>> {
        Box::pin(async { Err(ProviderError::NotSupported) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALIDATION: &str = r#"[{
      "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
      "topic": "/subscriptions/xxx/resourceGroups/payments/providers/Microsoft.EventGrid/topics/bill-payments",
      "subject": "",
      "data": {
        "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
        "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/sub/validate?id=512d38b6"
      },
      "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
      "eventTime": "2026-11-22T18:41:00.9584103Z",
      "metadataVersion": "1",
      "dataVersion": "1"
    }]"#;

    const TWO_PAYMENTS: &str = r#"[
      {"id": "e-1", "topic": "/topics/bill-payments", "subject": "payments/pp-1", "eventType": "Payments.BillPayment.Completed",
       "eventTime": "2026-11-22T09:00:01Z", "dataVersion": "1",
       "data": {"transactionId": "pp-1", "clientReference": "100012345", "amount": {"value": 2000, "currency": "GBP"},
                "channel": "retail_cash", "transactionTime": "2026-11-22T09:00:00Z", "outlet": "Shop 42"}},
      {"id": "e-2", "topic": "/topics/bill-payments", "subject": "payments/pp-2", "eventType": "Payments.BillPayment.Completed",
       "eventTime": "2026-11-22T09:00:02Z", "dataVersion": "1",
       "data": {"transactionId": "pp-2", "clientReference": "100099999", "amount": {"value": 1550, "currency": "GBP"},
                "transactionTime": "2026-11-22T09:00:01Z"}}
    ]"#;

    #[test]
    fn the_validation_handshake_echoes_the_code() {
        assert_eq!(
            parse(VALIDATION.as_bytes()).unwrap(),
            Inbound::Handshake(serde_json::json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}))
        );
    }

    #[test]
    fn a_batch_reads_as_one_notice_per_event() {
        let Inbound::Notices(n) = parse(TWO_PAYMENTS.as_bytes()).unwrap() else { panic!("not notices") };
        assert_eq!(n.len(), 2);
        assert_eq!((n[0].payment_id.as_str(), n[0].amount.pence(), n[0].channel), ("pp-1", 2000, Channel::RetailCash));
        assert_eq!((n[1].account_reference.as_str(), n[1].amount.pence()), ("100099999", 1550));
    }

    #[test]
    fn a_bad_event_names_its_index_and_field() {
        let body = TWO_PAYMENTS.replacen("\"GBP\"", "\"EUR\"", 1);
        let err = parse(body.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("[0].data.amount.currency"), "{err}");
        assert!(parse(b"{}").unwrap_err().to_string().starts_with("body"));
        assert!(parse(b"[]").unwrap_err().to_string().starts_with("body"));
    }

    #[test]
    fn only_a_configured_key_gets_in() {
        let p = EventGrid::new(vec![SecretString::from("k-old"), SecretString::from("k-new")]);
        let mut h = HeaderMap::new();
        assert_eq!(
            p.read_webhook(&h, TWO_PAYMENTS.as_bytes(), 0),
            Err(WebhookError::Signature(SignatureError::Missing))
        );
        h.insert(KEY_HEADER, "wrong".parse().unwrap());
        assert_eq!(
            p.read_webhook(&h, TWO_PAYMENTS.as_bytes(), 0),
            Err(WebhookError::Signature(SignatureError::Mismatch))
        );
        h.insert(KEY_HEADER, "k-old".parse().unwrap());
        assert!(p.read_webhook(&h, TWO_PAYMENTS.as_bytes(), 0).is_ok());
    }
}
