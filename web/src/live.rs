//! Live updates: the API's GraphQL subscriptions over one WebSocket per page (`/graphql/ws`,
//! protocol `graphql-transport-ws`, docs/payments.md "Live balance").
//!
//! A page calls [`Live::provide`] once; what it shows then asks for [`Live::watch_account`]
//! or [`Live::watch_payment`] and gets signals that hold the latest state. The first message
//! of each subscription is the state as it is now and every later one follows a change, so
//! after a reconnect the screen is right again without asking anything else.
//!
//! The socket opens when the first subscription is asked for, sends the access token in its
//! `connection_init` (a browser cannot set headers on a WebSocket), and resubscribes
//! everything after each `connection_ack`. A lost connection is tried again with exponential
//! backoff and jitter (1 s, 2 s, 4 s … at most 30 s); a connection turned away before its
//! `connection_ack` (an expired token) gets a freshly refreshed token next time. Leaving the
//! page closes the socket. A subscription the server refuses (an account that is not the
//! caller's) is marked refused and not asked for again on that page.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use doorstep_shared::dto::{AccountSummary, BalanceState, Transaction};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use crate::session::Session;

const PROTOCOL: &str = "graphql-transport-ws";
const FIRST_RETRY_MS: f64 = 1_000.0;
const LONGEST_RETRY_MS: f64 = 30_000.0;

const ACCOUNT_QUERY: &str = "subscription AccountUpdated($accountId: Int!) { accountUpdated(accountId: $accountId) { \
    id accountNumber kind kindLabel balancePence balanceState balanceText weeklyChargePence lastTransactionDate \
    recent { id date kind description amountPence balanceAfterPence channel } } }";
const PAYMENT_QUERY: &str = "subscription PaymentUpdated($id: String!) { paymentUpdated(id: $id) { id accountId amountPence status failureReason } }";

/// How the page's connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    /// Nothing asked for yet, or the page has been left.
    Idle,
    Connecting,
    /// Acknowledged: subscriptions are being served.
    Open,
    /// Lost; trying again after a wait.
    Retrying,
    /// Given up: not signed in any more.
    Stopped,
}

/// A payment as the subscription sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentState {
    pub id: String,
    pub account_id: i64,
    pub amount_pence: i64,
    pub status: String,
    pub failure_reason: Option<String>,
}

/// One subscription on the page: its latest value, and why the server refused it, if it did.
pub struct Watch<T: Send + Sync + 'static> {
    pub value: RwSignal<Option<T>>,
    pub refused: RwSignal<Option<String>>,
}

impl<T: Send + Sync + 'static> Clone for Watch<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Watch<T> {}

impl<T: Send + Sync + 'static> Watch<T> {
    fn new() -> Self {
        Watch { value: RwSignal::new(None), refused: RwSignal::new(None) }
    }
}

enum Target {
    Account { account_id: i64, watch: Watch<AccountSummary> },
    Payment { id: String, watch: Watch<PaymentState> },
}

struct Sub {
    /// The subscription's id on the wire, the same across reconnects.
    wire_id: String,
    target: Target,
}

impl Sub {
    fn refused(&self) -> bool {
        match &self.target {
            Target::Account { watch, .. } => watch.refused.try_with_untracked(|r| r.is_some()).unwrap_or(true),
            Target::Payment { watch, .. } => watch.refused.try_with_untracked(|r| r.is_some()).unwrap_or(true),
        }
    }

    fn subscribe_message(&self) -> String {
        let message = match &self.target {
            Target::Account { account_id, .. } => serde_json::to_string(&Outgoing {
                id: Some(&self.wire_id),
                kind: "subscribe",
                payload: Some(SubscribePayload {
                    query: ACCOUNT_QUERY,
                    variables: AccountVars { account_id: *account_id },
                }),
            }),
            Target::Payment { id, .. } => serde_json::to_string(&Outgoing {
                id: Some(&self.wire_id),
                kind: "subscribe",
                payload: Some(SubscribePayload { query: PAYMENT_QUERY, variables: PaymentVars { id } }),
            }),
        };
        message.unwrap_or_default()
    }
}

/// The JavaScript callbacks of the page's sockets, made once and shared by every socket the
/// page opens (each checks that the event is from the current socket).
struct Handlers {
    open: Closure<dyn FnMut(Event)>,
    message: Closure<dyn FnMut(MessageEvent)>,
    close: Closure<dyn FnMut(CloseEvent)>,
}

struct Inner {
    session: Session,
    status: RwSignal<LiveStatus>,
    subs: Vec<Sub>,
    next_sub: u64,
    socket: Option<WebSocket>,
    acked: bool,
    /// The token for the socket being opened, sent once it is open.
    token: Option<String>,
    connecting: bool,
    /// Failed attempts since the last `connection_ack`.
    retries: u32,
    /// The last connection was turned away before it was acknowledged.
    fresh_token: bool,
    timer: Option<TimeoutHandle>,
    handlers: Option<Handlers>,
    stopped: bool,
}

/// The page's live connection. Cheap to copy; lives as long as the page that provided it.
#[derive(Clone, Copy)]
pub struct Live {
    inner: StoredValue<Rc<RefCell<Inner>>, LocalStorage>,
    status: RwSignal<LiveStatus>,
}

impl Live {
    /// Makes the page's connection and puts it in context for what the page shows. It opens
    /// when something is first watched and closes when the page is left.
    pub fn provide() -> Live {
        let session = Session::expect();
        let status = RwSignal::new(LiveStatus::Idle);
        let inner = Inner {
            session,
            status,
            subs: Vec::new(),
            next_sub: 1,
            socket: None,
            acked: false,
            token: None,
            connecting: false,
            retries: 0,
            fresh_token: false,
            timer: None,
            handlers: None,
            stopped: false,
        };
        let live = Live { inner: StoredValue::new_local(Rc::new(RefCell::new(inner))), status };
        provide_context(live);
        on_cleanup(move || live.stop());
        live
    }

    /// The page's connection, when the page made one.
    pub fn from_context() -> Option<Live> {
        use_context::<Live>()
    }

    /// Whether updates are arriving now (untracked).
    pub fn is_open(&self) -> bool {
        self.status.try_get_untracked() == Some(LiveStatus::Open)
    }

    /// `accountUpdated` for one account, for as long as the calling component lives.
    pub fn watch_account(&self, account_id: i64) -> Watch<AccountSummary> {
        let watch = Watch::new();
        self.add(Target::Account { account_id, watch });
        watch
    }

    /// `paymentUpdated` for one payment, for as long as the calling component lives (or until
    /// [`Live::unwatch_payment`]).
    pub fn watch_payment(&self, id: &str) -> Watch<PaymentState> {
        let watch = Watch::new();
        self.add(Target::Payment { id: id.to_owned(), watch });
        watch
    }

    /// Stops following a payment (a new attempt follows another one).
    pub fn unwatch_payment(&self, id: &str) {
        let Some(rc) = self.inner.try_get_value() else { return };
        let wire_id = rc
            .borrow()
            .subs
            .iter()
            .find(|s| matches!(&s.target, Target::Payment { id: p, .. } if p == id))
            .map(|s| s.wire_id.clone());
        if let Some(wire_id) = wire_id {
            remove(&rc, &wire_id);
        }
    }

    fn add(&self, target: Target) {
        let Some(rc) = self.inner.try_get_value() else { return };
        let (message, socket) = {
            let mut inner = rc.borrow_mut();
            if inner.stopped {
                return;
            }
            let wire_id = inner.next_sub.to_string();
            inner.next_sub += 1;
            let sub = Sub { wire_id: wire_id.clone(), target };
            let message = sub.subscribe_message();
            inner.subs.push(sub);
            // Whoever asked may go before the page does: stop when they do.
            let live = *self;
            on_cleanup(move || live.remove(&wire_id));
            (message, inner.acked.then(|| inner.socket.clone()).flatten())
        };
        match socket {
            Some(socket) => send(&socket, &message),
            None => connect(&rc),
        }
    }

    fn remove(&self, wire_id: &str) {
        if let Some(rc) = self.inner.try_get_value() {
            remove(&rc, wire_id);
        }
    }

    /// Closes the socket and forgets every subscription: the page has been left.
    fn stop(&self) {
        let Some(rc) = self.inner.try_get_value() else { return };
        let handlers = {
            let mut inner = rc.borrow_mut();
            inner.stopped = true;
            inner.subs.clear();
            if let Some(timer) = inner.timer.take() {
                timer.clear();
            }
            if let Some(socket) = inner.socket.take() {
                detach(&socket);
                let _ = socket.close_with_code_and_reason(1000, "page left");
            }
            inner.status.try_set(LiveStatus::Idle);
            inner.handlers.take()
        };
        drop(handlers);
    }
}

fn remove(rc: &Rc<RefCell<Inner>>, wire_id: &str) {
    let socket = {
        let mut inner = rc.borrow_mut();
        let before = inner.subs.len();
        inner.subs.retain(|s| s.wire_id != wire_id);
        if inner.subs.len() == before || inner.stopped {
            return;
        }
        inner.acked.then(|| inner.socket.clone()).flatten()
    };
    if let Some(socket) = socket {
        let message = serde_json::to_string(&Outgoing::<()> { id: Some(wire_id), kind: "complete", payload: None });
        send(&socket, &message.unwrap_or_default());
    }
}

fn send(socket: &WebSocket, message: &str) {
    if socket.ready_state() == WebSocket::OPEN {
        let _ = socket.send_with_str(message);
    }
}

fn detach(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
}

fn socket_url() -> Option<String> {
    let location = window().location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/graphql/ws", location.host().ok()?))
}

/// Opens a socket, unless one is open or on its way, or there is nothing to watch.
fn connect(rc: &Rc<RefCell<Inner>>) {
    let (session, fresh) = {
        let mut inner = rc.borrow_mut();
        if inner.stopped || inner.connecting || inner.socket.is_some() || inner.subs.is_empty() {
            return;
        }
        inner.connecting = true;
        if let Some(timer) = inner.timer.take() {
            timer.clear();
        }
        inner.status.try_set(LiveStatus::Connecting);
        (inner.session, std::mem::take(&mut inner.fresh_token))
    };
    let weak = Rc::downgrade(rc);
    spawn_local(async move {
        let token = session.access_token(fresh).await;
        let Some(rc) = weak.upgrade() else { return };
        rc.borrow_mut().connecting = false;
        if rc.borrow().stopped {
            return;
        }
        match token {
            Ok(token) => open_socket(&rc, token),
            // Signed out: there is nothing this page may watch any more.
            Err(error) if error.is_unauthorized() => {
                rc.borrow().status.try_set(LiveStatus::Stopped);
            }
            Err(_) => retry_later(&rc),
        }
    });
}

fn open_socket(rc: &Rc<RefCell<Inner>>, token: String) {
    let Some(url) = socket_url() else { return };
    let socket = match WebSocket::new_with_str(&url, PROTOCOL) {
        Ok(socket) => socket,
        Err(_) => {
            retry_later(rc);
            return;
        }
    };
    let mut inner = rc.borrow_mut();
    let handlers = inner.handlers.get_or_insert_with(|| handlers(Rc::downgrade(rc)));
    socket.set_onopen(Some(handlers.open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(handlers.message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(handlers.close.as_ref().unchecked_ref()));
    inner.socket = Some(socket);
    inner.acked = false;
    inner.token = Some(token);
}

fn handlers(weak: Weak<RefCell<Inner>>) -> Handlers {
    let on_open = weak.clone();
    let open = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(rc) = on_open.upgrade() else { return };
        let Some(socket) = current(&rc, event.target()) else { return };
        let token = rc.borrow_mut().token.take().unwrap_or_default();
        let init = Outgoing {
            id: None,
            kind: "connection_init",
            payload: Some(InitPayload { authorization: format!("Bearer {token}") }),
        };
        send(&socket, &serde_json::to_string(&init).unwrap_or_default());
    });
    let on_message = weak.clone();
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(rc) = on_message.upgrade() else { return };
        let Some(socket) = current(&rc, event.target()) else { return };
        if let Some(text) = event.data().as_string() {
            received(&rc, &socket, &text);
        }
    });
    let on_close = weak;
    let close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        let Some(rc) = on_close.upgrade() else { return };
        if current(&rc, event.target()).is_none() {
            return;
        }
        {
            let mut inner = rc.borrow_mut();
            if let Some(socket) = inner.socket.take() {
                detach(&socket);
            }
            // Turned away before the handshake finished: most likely the token.
            if !inner.acked {
                inner.fresh_token = true;
            }
            inner.acked = false;
        }
        retry_later(&rc);
    });
    Handlers { open, message, close }
}

/// The page's current socket, when `target` is it (events of a socket already replaced are
/// ignored).
fn current(rc: &Rc<RefCell<Inner>>, target: Option<web_sys::EventTarget>) -> Option<WebSocket> {
    let target = target?;
    let inner = rc.borrow();
    let socket = inner.socket.as_ref()?;
    let ours: &wasm_bindgen::JsValue = socket.as_ref();
    let theirs: &wasm_bindgen::JsValue = target.as_ref();
    (ours == theirs).then(|| socket.clone())
}

fn retry_later(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    if inner.stopped || inner.subs.is_empty() {
        inner.status.try_set(LiveStatus::Idle);
        return;
    }
    let step = FIRST_RETRY_MS * 2f64.powi(inner.retries.min(10) as i32);
    // Jitter, so that every open page does not come back at the same moment after an outage.
    let wait = step.min(LONGEST_RETRY_MS) * (0.5 + web_sys::js_sys::Math::random() * 0.5);
    inner.retries = inner.retries.saturating_add(1);
    inner.status.try_set(LiveStatus::Retrying);
    let weak = Rc::downgrade(rc);
    inner.timer = set_timeout_with_handle(
        move || {
            if let Some(rc) = weak.upgrade() {
                rc.borrow_mut().timer = None;
                connect(&rc);
            }
        },
        Duration::from_millis(wait as u64),
    )
    .ok();
}

/// One text message from the server.
fn received(rc: &Rc<RefCell<Inner>>, socket: &WebSocket, text: &str) {
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else { return };
    match envelope.kind.as_str() {
        "connection_ack" => {
            let messages: Vec<String> = {
                let mut inner = rc.borrow_mut();
                inner.acked = true;
                inner.retries = 0;
                inner.status.try_set(LiveStatus::Open);
                inner.subs.iter().filter(|s| !s.refused()).map(Sub::subscribe_message).collect()
            };
            for message in messages {
                send(socket, &message);
            }
        }
        "ping" => {
            let pong = Outgoing::<()> { id: None, kind: "pong", payload: None };
            send(socket, &serde_json::to_string(&pong).unwrap_or_default());
        }
        "next" | "error" => {
            let Some(id) = envelope.id else { return };
            let target = {
                let inner = rc.borrow();
                inner.subs.iter().find(|s| s.wire_id == id).map(|s| match &s.target {
                    Target::Account { watch, .. } => Delivery::Account(*watch),
                    Target::Payment { watch, .. } => Delivery::Payment(*watch),
                })
            };
            match (envelope.kind.as_str(), target) {
                ("next", Some(Delivery::Account(watch))) => {
                    deliver::<AccountData, _>(text, watch, |d| d.account_updated.into_summary());
                }
                ("next", Some(Delivery::Payment(watch))) => {
                    deliver::<PaymentData, _>(text, watch, |d| d.payment_updated.into_state());
                }
                ("error", Some(Delivery::Account(watch))) => refuse(text, watch.refused),
                ("error", Some(Delivery::Payment(watch))) => refuse(text, watch.refused),
                _ => {}
            }
        }
        _ => {}
    }
}

enum Delivery {
    Account(Watch<AccountSummary>),
    Payment(Watch<PaymentState>),
}

fn deliver<D: DeserializeOwned, T: Send + Sync + 'static>(text: &str, watch: Watch<T>, map: impl FnOnce(D) -> T) {
    let Ok(next) = serde_json::from_str::<Next<D>>(text) else { return };
    match next.payload.data {
        Some(data) => {
            watch.value.try_set(Some(map(data)));
        }
        None => {
            let message = next.payload.errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            watch.refused.try_set(Some(message));
        }
    }
}

fn refuse(text: &str, refused: RwSignal<Option<String>>) {
    let message = serde_json::from_str::<ErrorMessage>(text)
        .map(|e| e.payload.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    refused.try_set(Some(message));
}

// ----- the wire -----

#[derive(Serialize)]
struct Outgoing<'a, P> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<P>,
}

#[derive(Serialize)]
struct InitPayload {
    authorization: String,
}

#[derive(Serialize)]
struct SubscribePayload<'a, V> {
    query: &'a str,
    variables: V,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountVars {
    account_id: i64,
}

#[derive(Serialize)]
struct PaymentVars<'a> {
    id: &'a str,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct Next<D> {
    payload: Reply<D>,
}

#[derive(Deserialize)]
struct Reply<D> {
    data: Option<D>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct ErrorMessage {
    #[serde(default)]
    payload: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountData {
    account_updated: LiveAccount,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentData {
    payment_updated: LivePayment,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum LiveBalanceState {
    InArrears,
    InCredit,
    Clear,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveAccount {
    id: i64,
    account_number: String,
    kind: String,
    kind_label: String,
    balance_pence: i64,
    balance_state: LiveBalanceState,
    balance_text: String,
    weekly_charge_pence: i64,
    last_transaction_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    recent: Vec<LiveTransaction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveTransaction {
    id: i64,
    date: chrono::NaiveDate,
    kind: String,
    description: String,
    amount_pence: i64,
    balance_after_pence: i64,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LivePayment {
    id: String,
    account_id: i64,
    amount_pence: i64,
    status: String,
    failure_reason: Option<String>,
}

impl LiveAccount {
    fn into_summary(self) -> AccountSummary {
        AccountSummary {
            id: self.id,
            account_number: self.account_number,
            kind: self.kind,
            kind_label: self.kind_label,
            balance_pence: self.balance_pence,
            balance_state: match self.balance_state {
                LiveBalanceState::InArrears => BalanceState::InArrears,
                LiveBalanceState::InCredit => BalanceState::InCredit,
                LiveBalanceState::Clear => BalanceState::Clear,
            },
            balance_text: self.balance_text,
            weekly_charge_pence: self.weekly_charge_pence,
            last_transaction_date: self.last_transaction_date,
            recent: self
                .recent
                .into_iter()
                .map(|t| Transaction {
                    id: t.id,
                    date: t.date,
                    kind: t.kind,
                    description: t.description,
                    amount_pence: t.amount_pence,
                    balance_after_pence: t.balance_after_pence,
                    channel: t.channel,
                })
                .collect(),
        }
    }
}

impl LivePayment {
    fn into_state(self) -> PaymentState {
        PaymentState {
            id: self.id,
            account_id: self.account_id,
            amount_pence: self.amount_pence,
            status: self.status,
            failure_reason: self.failure_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_update_reads_as_the_summary() {
        let text = r#"{"type":"next","id":"1","payload":{"data":{"accountUpdated":{"id":5,"accountNumber":"100012345",
            "kind":"rent","kindLabel":"Rent","balancePence":-1234,"balanceState":"IN_CREDIT","balanceText":"£12.34 in credit",
            "weeklyChargePence":9000,"lastTransactionDate":"2026-11-22","recent":[{"id":9,"date":"2026-11-22",
            "kind":"payment","description":"Payment","amountPence":-1234,"balanceAfterPence":-1234,"channel":"web"}]}}}}"#;
        let envelope: Envelope = serde_json::from_str(text).unwrap();
        assert_eq!((envelope.kind.as_str(), envelope.id.as_deref()), ("next", Some("1")));
        let next: Next<AccountData> = serde_json::from_str(text).unwrap();
        let summary = next.payload.data.unwrap().account_updated.into_summary();
        assert_eq!(summary.balance_state, BalanceState::InCredit);
        assert_eq!(summary.recent[0].channel.as_deref(), Some("web"));
    }

    #[test]
    fn a_refusal_has_no_data() {
        let text = r#"{"type":"next","id":"2","payload":{"data":null,"errors":[{"message":"not found","extensions":{"code":"not_found"}}]}}"#;
        let next: Next<PaymentData> = serde_json::from_str(text).unwrap();
        assert!(next.payload.data.is_none());
        assert_eq!(next.payload.errors[0].message, "not found");
    }

    #[test]
    fn messages_go_out_in_the_protocol_shape() {
        let init = Outgoing {
            id: None,
            kind: "connection_init",
            payload: Some(InitPayload { authorization: "Bearer t".into() }),
        };
        assert_eq!(
            serde_json::to_string(&init).unwrap(),
            r#"{"type":"connection_init","payload":{"authorization":"Bearer t"}}"#
        );
        let sub = Sub {
            wire_id: "3".into(),
            target: Target::Payment {
                id: "pi_1".into(),
                watch: Watch { value: RwSignal::new(None), refused: RwSignal::new(None) },
            },
        };
        let message = sub.subscribe_message();
        assert!(
            message.starts_with(r#"{"id":"3","type":"subscribe","payload":{"query":"subscription PaymentUpdated"#),
            "{message}"
        );
        assert!(message.ends_with(r#""variables":{"id":"pi_1"}}}"#), "{message}");
        let complete = Outgoing::<()> { id: Some("3"), kind: "complete", payload: None };
        assert_eq!(serde_json::to_string(&complete).unwrap(), r#"{"id":"3","type":"complete"}"#);
    }
}
