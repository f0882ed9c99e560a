//! The sandbox's memory: sessions, payments and the notifications made about them. Nothing is
//! stored on disk (it is a sandbox), but every id is random so that ids never repeat across
//! restarts and a portal that keeps them never sees a clash.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use doorstep_shared::AccountNumber;
use serde::Serialize;
use tokio::sync::mpsc;

use super::card::{CHALLENGE_CODE, CardBehaviour};
use super::deliver::Job;
use super::faults::{ArmedFault, Decision, Dispatch, FaultRequest, Faults};
use crate::ApiError;

/// The largest payment the sandbox takes: £100,000.
pub const MAX_AMOUNT_PENCE: i64 = 10_000_000;

/// Where a payment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    App,
    Web,
    Telephone,
    RetailCash,
    RecurringCard,
    PayByLink,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::App,
        Channel::Web,
        Channel::Telephone,
        Channel::RetailCash,
        Channel::RecurringCard,
        Channel::PayByLink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Web => "web",
            Channel::Telephone => "telephone",
            Channel::RetailCash => "retail_cash",
            Channel::RecurringCard => "recurring_card",
            Channel::PayByLink => "pay_by_link",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Channel::App => "Mobile app",
            Channel::Web => "Web (card page)",
            Channel::Telephone => "Telephone",
            Channel::RetailCash => "Cash at a shop (retail)",
            Channel::RecurringCard => "Recurring card",
            Channel::PayByLink => "Pay by link",
        }
    }

    pub fn parse(input: &str) -> Result<Channel, SandboxError> {
        Channel::ALL.into_iter().find(|c| c.as_str() == input).ok_or_else(|| {
            let known: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            invalid("channel", format!("`{input}` is not a channel: use one of {}", known.join(", ")))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// A card page that has not been completed.
    Pending,
    Succeeded,
    Failed,
}

/// Where a notification's delivery has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// Held back by a `delay` fault.
    Delayed,
    /// Held by a `reorder` fault until its batch is full.
    Held,
    /// Dropped by a fault: it will never be sent.
    Dropped,
    /// An attempt failed; another is scheduled.
    Retrying,
    /// The portal answered 2xx.
    Delivered,
    /// Every attempt failed.
    GaveUp,
}

impl DeliveryState {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Delayed => "delayed (fault)",
            DeliveryState::Held => "held for reordering (fault)",
            DeliveryState::Dropped => "dropped (fault)",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GaveUp => "gave up",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
}

fn invalid(field: &'static str, message: impl Into<String>) -> SandboxError {
    SandboxError::Invalid { field, message: message.into() }
}

impl From<SandboxError> for ApiError {
    fn from(e: SandboxError) -> Self {
        match e {
            SandboxError::Invalid { field, message } => ApiError::validation(field, message),
            SandboxError::NotFound(what) => ApiError::not_found(what),
            SandboxError::Conflict { field, message } => ApiError::Conflict { field: Some(field.into()), message },
        }
    }
}

/// `POST /api/sessions` from the portal.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub reference: String,
    pub account_number: String,
    pub amount_pence: i64,
    pub description: String,
    pub return_url: String,
}

/// The answer to `POST /api/sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionCreated {
    pub session_id: String,
    pub payment_id: String,
    pub url: String,
}

/// `POST /api/events`: a payment arriving from another channel.
#[derive(Debug, Clone)]
pub struct EventRequest {
    pub account_number: String,
    pub amount_pence: i64,
    pub channel: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventCreated {
    pub payment_id: String,
    pub event_id: String,
}

/// Which form the card page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Card,
    Challenge,
    Done,
}

/// What the card page needs to know about its session.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: String,
    pub payment_id: String,
    pub account_number: String,
    pub amount_pence: i64,
    pub description: String,
    pub return_url: String,
    pub step: Step,
    pub status: PaymentStatus,
    pub failure_reason: Option<&'static str>,
}

/// `GET /api/payments/{id}` and the landing page.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: String,
    pub reference: Option<String>,
    pub account_number: String,
    pub amount_pence: i64,
    pub channel: Channel,
    pub status: PaymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'static str>,
    pub created_at: String,
    pub paid_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
    pub notifications: Vec<NotificationView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub delivery: DeliveryState,
    /// HTTP attempts so far (every copy, every retry).
    pub attempts: u32,
    /// Attempts the portal answered 2xx (2 for a delivered duplicate).
    pub deliveries: u32,
    /// The last attempt's outcome: a status code or why there was none.
    pub last_outcome: Option<String>,
}

/// One line of the end-of-day file.
#[derive(Debug, Clone, Serialize)]
pub struct EndOfDayRow {
    pub payment_id: String,
    pub account_number: String,
    pub amount_pence: i64,
    pub channel: &'static str,
    pub paid_at: String,
    pub reference: String,
}

/// The body the portal receives.
#[derive(Debug, Serialize)]
struct NotificationBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created_at: String,
    payment: NotificationPayment<'a>,
}

#[derive(Debug, Serialize)]
struct NotificationPayment<'a> {
    id: &'a str,
    reference: Option<&'a str>,
    account_number: &'a str,
    amount_pence: i64,
    channel: Channel,
    status: PaymentStatus,
    paid_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<&'static str>,
}

#[derive(Debug)]
struct Payment {
    id: String,
    reference: Option<String>,
    account_number: String,
    amount_pence: i64,
    channel: Channel,
    status: PaymentStatus,
    failure_reason: Option<&'static str>,
    created_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    /// When a card payment failed.
    failed_at: Option<DateTime<Utc>>,
    events: Vec<String>,
}

#[derive(Debug)]
struct Session {
    id: String,
    payment_id: String,
    description: String,
    return_url: String,
    step: Step,
}

#[derive(Debug)]
struct Event {
    kind: &'static str,
    body: Bytes,
    delivery: DeliveryState,
    attempts: u32,
    deliveries: u32,
    last_outcome: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    payments: HashMap<String, Payment>,
    /// Payment ids, oldest first.
    order: Vec<String>,
    sessions: HashMap<String, Session>,
    /// Portal reference → session id.
    by_reference: HashMap<String, String>,
    events: HashMap<String, Event>,
    faults: Faults,
}

/// The whole sandbox. Handlers share it behind an `Arc`; the lock is never held across an
/// await.
#[derive(Debug)]
pub struct Sandbox {
    inner: Mutex<Inner>,
    outbox: mpsc::UnboundedSender<Job>,
    /// Where browsers and the portal reach us, for the page URLs we hand out.
    public_url: String,
}

/// An id no other payment, session or event will ever have: prefix and 128 random bits.
fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn check_amount(amount_pence: i64) -> Result<i64, SandboxError> {
    if amount_pence <= 0 {
        return Err(invalid("amount_pence", "must be more than 0 (a whole number of pence)"));
    }
    if amount_pence > MAX_AMOUNT_PENCE {
        return Err(invalid("amount_pence", format!("must be at most {MAX_AMOUNT_PENCE} (£100,000)")));
    }
    Ok(amount_pence)
}

fn check_account(input: &str) -> Result<AccountNumber, SandboxError> {
    if input.trim().is_empty() {
        return Err(invalid("account_number", "must not be empty"));
    }
    AccountNumber::parse(input).map_err(|e| invalid("account_number", e.message))
}

impl Sandbox {
    /// A new, empty sandbox and the receiving end of its notification queue.
    pub fn new(public_url: String) -> (Sandbox, mpsc::UnboundedReceiver<Job>) {
        let (outbox, rx) = mpsc::unbounded_channel();
        (Sandbox { inner: Mutex::new(Inner::default()), outbox, public_url }, rx)
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the sandbox down with it: the data is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The portal starts a card payment. The same reference again gives back the same
    /// session, unless the account or amount differ (then it is a conflict).
    pub fn create_session(&self, req: SessionRequest) -> Result<SessionCreated, SandboxError> {
        let reference = req.reference.trim();
        if reference.is_empty() {
            return Err(invalid("reference", "must not be empty"));
        }
        if reference.chars().count() > 200 {
            return Err(invalid("reference", "must be 200 characters or fewer"));
        }
        let account = check_account(&req.account_number)?;
        let amount = check_amount(req.amount_pence)?;
        if req.description.chars().count() > 200 {
            return Err(invalid("description", "must be 200 characters or fewer"));
        }
        let return_url = match reqwest::Url::parse(req.return_url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u.to_string(),
            _ => return Err(invalid("return_url", "must be an absolute http or https URL")),
        };
        let mut inner = self.lock();
        if let Some(session_id) = inner.by_reference.get(reference)
            && let Some(session) = inner.sessions.get(session_id)
            && let Some(payment) = inner.payments.get(&session.payment_id)
        {
            if payment.account_number != account.as_str() || payment.amount_pence != amount {
                return Err(SandboxError::Conflict {
                    field: "reference",
                    message: "this reference already has a session for a different account or amount".into(),
                });
            }
            return Ok(self.created(session));
        }
        let session = Session {
            id: new_id("ses"),
            payment_id: new_id("pay"),
            description: req.description.trim().to_owned(),
            return_url,
            step: Step::Card,
        };
        let payment = Payment {
            id: session.payment_id.clone(),
            reference: Some(reference.to_owned()),
            account_number: account.as_str().to_owned(),
            amount_pence: amount,
            channel: Channel::Web,
            status: PaymentStatus::Pending,
            failure_reason: None,
            created_at: Utc::now(),
            paid_at: None,
            failed_at: None,
            events: Vec::new(),
        };
        let created = self.created(&session);
        tracing::info!(session_id = %session.id, payment_id = %payment.id, amount_pence = amount, "card session created");
        inner.order.push(payment.id.clone());
        inner.payments.insert(payment.id.clone(), payment);
        inner.by_reference.insert(reference.to_owned(), session.id.clone());
        inner.sessions.insert(session.id.clone(), session);
        Ok(created)
    }

    fn created(&self, session: &Session) -> SessionCreated {
        SessionCreated {
            session_id: session.id.clone(),
            payment_id: session.payment_id.clone(),
            url: format!("{}/pay/{}", self.public_url, session.id),
        }
    }

    pub fn session(&self, id: &str) -> Option<SessionView> {
        let inner = self.lock();
        session_view(&inner, id)
    }

    /// The card form passed its checks: the card decides what happens. A session that has
    /// moved on ignores it, so a double submit cannot pay twice.
    pub fn submit_card(&self, session_id: &str, card: CardBehaviour) -> Result<SessionView, SandboxError> {
        let mut inner = self.lock();
        let session = inner.sessions.get_mut(session_id).ok_or(SandboxError::NotFound("payment session"))?;
        if session.step == Step::Card {
            let payment_id = session.payment_id.clone();
            match card {
                CardBehaviour::Succeeds => self.finish(&mut inner, session_id, &payment_id, None),
                CardBehaviour::Declined => self.finish(&mut inner, session_id, &payment_id, Some("card_declined")),
                CardBehaviour::Challenge => session.step = Step::Challenge,
            }
        }
        session_view(&inner, session_id).ok_or(SandboxError::NotFound("payment session"))
    }

    /// The answer to the challenge: the right code pays, any other fails the payment.
    pub fn submit_code(&self, session_id: &str, code: &str) -> Result<SessionView, SandboxError> {
        let mut inner = self.lock();
        let session = inner.sessions.get(session_id).ok_or(SandboxError::NotFound("payment session"))?;
        if session.step == Step::Challenge {
            let payment_id = session.payment_id.clone();
            let failure = (code.trim() != CHALLENGE_CODE).then_some("challenge_failed");
            self.finish(&mut inner, session_id, &payment_id, failure);
        }
        session_view(&inner, session_id).ok_or(SandboxError::NotFound("payment session"))
    }

    fn finish(&self, inner: &mut Inner, session_id: &str, payment_id: &str, failure: Option<&'static str>) {
        if let Some(session) = inner.sessions.get_mut(session_id) {
            session.step = Step::Done;
        }
        if let Some(payment) = inner.payments.get_mut(payment_id) {
            let now = Utc::now();
            match failure {
                None => {
                    payment.status = PaymentStatus::Succeeded;
                    payment.paid_at = Some(now);
                }
                Some(reason) => {
                    payment.status = PaymentStatus::Failed;
                    payment.failure_reason = Some(reason);
                    payment.failed_at = Some(now);
                }
            }
            tracing::info!(%payment_id, status = ?payment.status, "card payment completed");
        }
        self.notify(inner, payment_id);
    }

    /// A payment arrives from another channel and is notified at once.
    pub fn external_payment(&self, req: &EventRequest) -> Result<EventCreated, SandboxError> {
        let account = check_account(&req.account_number)?;
        let amount = check_amount(req.amount_pence)?;
        let channel = Channel::parse(req.channel.trim())?;
        let now = Utc::now();
        let payment = Payment {
            id: new_id("pay"),
            reference: None,
            account_number: account.as_str().to_owned(),
            amount_pence: amount,
            channel,
            status: PaymentStatus::Succeeded,
            failure_reason: None,
            created_at: now,
            paid_at: Some(now),
            failed_at: None,
            events: Vec::new(),
        };
        let payment_id = payment.id.clone();
        tracing::info!(%payment_id, channel = channel.as_str(), amount_pence = amount, "payment arrived");
        let mut inner = self.lock();
        inner.order.push(payment_id.clone());
        inner.payments.insert(payment_id.clone(), payment);
        let event_id = self.notify(&mut inner, &payment_id).unwrap_or_default();
        Ok(EventCreated { payment_id, event_id })
    }

    /// Makes the notification for a payment's current state and hands it to the faults and
    /// then the delivery queue. The body is fixed here; each attempt signs it afresh.
    fn notify(&self, inner: &mut Inner, payment_id: &str) -> Option<String> {
        let payment = inner.payments.get_mut(payment_id)?;
        let event_id = new_id("evt");
        let kind = match payment.status {
            PaymentStatus::Failed => "payment.failed",
            _ => "payment.succeeded",
        };
        let body = NotificationBody {
            id: &event_id,
            kind,
            created_at: timestamp(Utc::now()),
            payment: NotificationPayment {
                id: &payment.id,
                reference: payment.reference.as_deref(),
                account_number: &payment.account_number,
                amount_pence: payment.amount_pence,
                channel: payment.channel,
                status: payment.status,
                // Always a time, as the portal reads it: for a failed payment, when it failed.
                paid_at: payment.paid_at.or(payment.failed_at).map(timestamp),
                failure_reason: payment.failure_reason,
            },
        };
        // Plain structs of strings and integers: serialising cannot fail.
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        payment.events.push(event_id.clone());
        inner.events.insert(
            event_id.clone(),
            Event { kind, body, delivery: DeliveryState::Queued, attempts: 0, deliveries: 0, last_outcome: None },
        );
        match inner.faults.decide(&event_id) {
            Decision::Drop => {
                tracing::info!(%event_id, "notification dropped (fault)");
                set_delivery(inner, &event_id, DeliveryState::Dropped);
            }
            Decision::Hold => {
                tracing::info!(%event_id, "notification held for reordering (fault)");
                set_delivery(inner, &event_id, DeliveryState::Held);
            }
            Decision::Send(batch) => self.enqueue(inner, batch),
        }
        Some(event_id)
    }

    /// Queues notifications in order. The queue is worked in order, so a released reorder
    /// batch arrives in the order given here.
    fn enqueue(&self, inner: &mut Inner, batch: Vec<Dispatch>) {
        for d in batch {
            let delayed = d.delay_ms > 0;
            let not_before =
                delayed.then(|| tokio::time::Instant::now() + std::time::Duration::from_millis(d.delay_ms));
            set_delivery(inner, &d.event_id, if delayed { DeliveryState::Delayed } else { DeliveryState::Queued });
            for _ in 0..d.copies {
                // The receiver lives as long as the server; after shutdown there is no one to
                // deliver to, and nothing to do about it.
                let _ = self.outbox.send(Job { event_id: d.event_id.clone(), attempt: 1, not_before });
            }
        }
    }

    pub fn payment(&self, id: &str) -> Option<PaymentView> {
        let inner = self.lock();
        inner.payments.get(id).map(|p| payment_view(&inner, p))
    }

    /// The newest `n` payments, newest first.
    pub fn recent(&self, n: usize) -> Vec<PaymentView> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .rev()
            .take(n)
            .filter_map(|id| inner.payments.get(id))
            .map(|p| payment_view(&inner, p))
            .collect()
    }

    /// Every succeeded payment paid on `date` (UTC), notified or not, in the order paid.
    pub fn end_of_day(&self, date: NaiveDate) -> Vec<EndOfDayRow> {
        let inner = self.lock();
        let mut paid: Vec<(&DateTime<Utc>, &Payment)> = inner
            .payments
            .values()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .filter_map(|p| p.paid_at.as_ref().map(|t| (t, p)))
            .filter(|(t, _)| t.date_naive() == date)
            .collect();
        paid.sort_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        paid.into_iter()
            .map(|(t, p)| EndOfDayRow {
                payment_id: p.id.clone(),
                account_number: p.account_number.clone(),
                amount_pence: p.amount_pence,
                channel: p.channel.as_str(),
                paid_at: timestamp(*t),
                reference: p.reference.clone().unwrap_or_default(),
            })
            .collect()
    }

    pub fn arm_fault(&self, req: &FaultRequest) -> Result<Vec<ArmedFault>, SandboxError> {
        let mut inner = self.lock();
        let released =
            inner.faults.arm(req).map_err(|e| SandboxError::Invalid { field: e.field, message: e.message })?;
        tracing::info!(fault = %req.fault, next = ?req.next, percent = ?req.percent, "fault armed");
        self.enqueue(&mut inner, released);
        Ok(inner.faults.armed())
    }

    /// Disarms every fault; notifications a reorder held are sent (still reversed).
    pub fn clear_faults(&self) -> Vec<ArmedFault> {
        let mut inner = self.lock();
        let released = inner.faults.clear();
        tracing::info!(released = released.len(), "faults cleared");
        self.enqueue(&mut inner, released);
        inner.faults.armed()
    }

    pub fn faults(&self) -> Vec<ArmedFault> {
        self.lock().faults.armed()
    }

    /// For the delivery worker: puts a job back on the queue (a retry, or a delay that is
    /// over).
    pub(crate) fn requeue(&self, job: Job) {
        let _ = self.outbox.send(job);
    }

    /// For the delivery worker: the exact bytes to send.
    pub(crate) fn body(&self, event_id: &str) -> Option<Bytes> {
        self.lock().events.get(event_id).map(|e| e.body.clone())
    }

    /// For the delivery worker: the outcome of one attempt. A delivered notification stays
    /// delivered whatever a duplicate copy does later.
    pub(crate) fn record_attempt(&self, event_id: &str, outcome: &str, delivered: bool, next: DeliveryState) {
        let mut inner = self.lock();
        let Some(event) = inner.events.get_mut(event_id) else { return };
        event.attempts += 1;
        event.last_outcome = Some(outcome.to_owned());
        if delivered {
            event.deliveries += 1;
        }
        if event.delivery != DeliveryState::Delivered {
            event.delivery = if delivered { DeliveryState::Delivered } else { next };
        }
    }
}

fn set_delivery(inner: &mut Inner, event_id: &str, state: DeliveryState) {
    if let Some(e) = inner.events.get_mut(event_id)
        && e.delivery != DeliveryState::Delivered
    {
        e.delivery = state;
    }
}

fn session_view(inner: &Inner, id: &str) -> Option<SessionView> {
    let s = inner.sessions.get(id)?;
    let p = inner.payments.get(&s.payment_id)?;
    Some(SessionView {
        id: s.id.clone(),
        payment_id: p.id.clone(),
        account_number: p.account_number.clone(),
        amount_pence: p.amount_pence,
        description: s.description.clone(),
        return_url: s.return_url.clone(),
        step: s.step,
        status: p.status,
        failure_reason: p.failure_reason,
    })
}

fn payment_view(inner: &Inner, p: &Payment) -> PaymentView {
    PaymentView {
        id: p.id.clone(),
        reference: p.reference.clone(),
        account_number: p.account_number.clone(),
        amount_pence: p.amount_pence,
        channel: p.channel,
        status: p.status,
        failure_reason: p.failure_reason,
        created_at: timestamp(p.created_at),
        paid_at: p.paid_at.map(timestamp),
        failed_at: p.failed_at.map(timestamp),
        notifications: p
            .events
            .iter()
            .filter_map(|id| inner.events.get(id).map(|e| (id, e)))
            .map(|(id, e)| NotificationView {
                event_id: id.clone(),
                kind: e.kind,
                delivery: e.delivery,
                attempts: e.attempts,
                deliveries: e.deliveries,
                last_outcome: e.last_outcome.clone(),
            })
            .collect(),
    }
}
