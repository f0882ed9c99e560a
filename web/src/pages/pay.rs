//! Paying into a rent account without leaving the portal (`/my-place/accounts/:id/pay`):
//! the amount (the arrears, to start with), then the payment provider's card page in a frame
//! on the same page while the payment is followed live, then the outcome with the new
//! balance. And the page the provider sends the payer back to (`/my-place/payment-done`).
//!
//! Each attempt has its own `Idempotency-Key`, made when it starts and sent again if the
//! tenant retries after the provider did not answer, so that a retry can never start a
//! second payment; "Try again" after a failure is a new attempt with a new key. The payment
//! is followed through the page's live connection (`paymentUpdated`), and by asking
//! `GET /payments/{id}` every two seconds whenever that connection is not serving it.

use std::time::Duration;

use doorstep_shared::Money;
use doorstep_shared::dto::{AccountSummary, BalanceState, Payment};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::accounts::{NoSuchAccount, account_id};
use crate::api::payments::{MAX_PAYMENT_PENCE, MIN_PAYMENT_PENCE, PaymentOutcome, new_idempotency_key};
use crate::api::{ApiClient, ApiError, sentence};
use crate::components::form::{ErrorSummary, FormErrors, focus_after_render};
use crate::components::guard::RequireSignIn;
use crate::components::page::Page;
use crate::live::{Live, PaymentState, Watch};
use crate::session::{AuthState, Session, sleep};

/// Session storage key of the payment this tab last started, so that the page the provider
/// returns to can say what became of it. Not a secret: reading a payment still needs the
/// payer's sign-in.
const LAST_PAYMENT_KEY: &str = "doorstep.last-payment";
/// How often to ask about a payment when the live connection is not serving it.
const POLL_EVERY: Duration = Duration::from_secs(2);

#[component]
pub fn PayRent() -> impl IntoView {
    let id = account_id();
    view! {
        <Page heading="Make a payment">
            <RequireSignIn let:_me>
                <p class="back-link">
                    <A href="/my-place">"Back to My Place"</A>
                </p>
                {move || match id.get() {
                    Some(id) => view! { <PayAccount id /> }.into_any(),
                    None => view! { <NoSuchAccount /> }.into_any(),
                }}
            </RequireSignIn>
        </Page>
    }
}

/// Where the payment has got to on this page.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// Choosing the amount.
    Amount,
    /// Asking the portal to start the payment.
    Starting,
    /// The provider's card page is showing.
    Card {
        payment_id: String,
        url: String,
        amount_pence: i64,
    },
    Paid {
        amount_pence: i64,
    },
    Failed {
        amount_pence: i64,
        reason: String,
    },
}

/// Reads what the tenant typed as an amount to pay, in pence.
fn parse_amount(text: &str) -> Result<i64, &'static str> {
    if text.trim().is_empty() {
        return Err("Enter how much you want to pay, for example 25.00");
    }
    let pence =
        Money::parse_pounds(text).map_err(|_| "Enter the amount in pounds and pence, for example 25.00")?.pence();
    if pence < MIN_PAYMENT_PENCE {
        return Err("The amount must be at least £1.00");
    }
    if pence > MAX_PAYMENT_PENCE {
        return Err("The amount must be at most £10,000.00 in one payment");
    }
    Ok(pence)
}

/// What the portal said when a payment could not start, as the form shows it.
fn start_errors(error: &ApiError) -> FormErrors {
    if error.status() == Some(503) {
        return FormErrors {
            fields: Vec::new(),
            general: Some(
                "Our card payment service is not answering at the moment, so no payment has started and no money \
                 has been taken. Please try again in a few minutes."
                    .to_owned(),
            ),
        };
    }
    FormErrors::from_api(error, &[("amount_pence", "amount", "The amount")])
}

fn state_of(payment: &Payment) -> PaymentState {
    PaymentState {
        id: payment.id.clone(),
        account_id: payment.account_id,
        amount_pence: payment.amount_pence,
        status: payment.status.clone(),
        failure_reason: payment.failure_reason.clone(),
    }
}

fn failure_words(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => sentence(reason),
        None => "The payment provider did not take the payment.".to_owned(),
    }
}

fn remember_payment(payment_id: &str) {
    if let Some(storage) = window().session_storage().ok().flatten() {
        let _ = storage.set_item(LAST_PAYMENT_KEY, payment_id);
    }
}

fn remembered_payment() -> Option<String> {
    let id = window().session_storage().ok().flatten()?.get_item(LAST_PAYMENT_KEY).ok().flatten()?;
    (id.starts_with("pi_") && !id.contains(['/', '?', '#'])).then_some(id)
}

#[component]
fn PayAccount(id: i64) -> impl IntoView {
    let session = Session::expect();
    let live = Live::provide();
    // What this page owns, for the watches and effects made later for each payment.
    let owner = StoredValue::new(Owner::current());
    let loaded = LocalResource::new(move || async move {
        session.authorised(move |token| async move { ApiClient::default().account(&token, id).await }).await
    });
    let account_watch = live.watch_account(id);
    // The freshest state of the account: the live one once it has arrived.
    let account = Memo::new(move |_| account_watch.value.get().or_else(|| loaded.get().and_then(Result::ok)));

    let stage = RwSignal::new(Stage::Amount);
    let amount_text = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    // The attempt under way: its amount and its key, reused if the same amount is tried again.
    let attempt = StoredValue::new(None::<(i64, String)>);
    // The payment being followed.
    let following = StoredValue::new(None::<(String, Watch<PaymentState>)>);
    // The account as read after the payment succeeded, then kept up to date.
    let after_payment = RwSignal::new(None::<AccountSummary>);

    // Start with the arrears, once they are known.
    let prefilled = StoredValue::new(false);
    Effect::new(move |_| {
        if prefilled.get_value() {
            return;
        }
        if let Some(a) = account.get() {
            prefilled.set_value(true);
            if a.balance_pence >= MIN_PAYMENT_PENCE && amount_text.get_untracked().is_empty() {
                amount_text.set(Money::from_pence(a.balance_pence).decimal());
            }
        }
    });
    Effect::new(move |_| {
        let latest = account_watch.value.get();
        if latest.is_some() && after_payment.with_untracked(Option::is_some) {
            after_payment.set(latest);
        }
    });

    let stop_following = move || {
        if let Some((payment_id, _)) = following.get_value() {
            live.unwatch_payment(&payment_id);
        }
        following.set_value(None);
    };

    // The outcome, whichever way it became known. The next attempt gets a new key.
    let paid = move |amount_pence: i64| {
        stop_following();
        attempt.set_value(None);
        stage.set(Stage::Paid { amount_pence });
        focus_after_render(".payment-confirmation");
        // Read after the payment, so the balance shown includes it; live updates follow.
        spawn_local(async move {
            let fresh = session.authorised(move |token| async move { ApiClient::default().account(&token, id).await });
            if let Ok(summary) = fresh.await {
                after_payment.try_set(Some(summary));
            }
        });
    };
    let failed = move |amount_pence: i64, reason: Option<&str>| {
        stop_following();
        attempt.set_value(None);
        stage.set(Stage::Failed { amount_pence, reason: failure_words(reason) });
        focus_after_render(".payment-failed");
    };

    // A payment's state, from the live connection or from asking: act on an outcome.
    let settle = move |state: PaymentState| {
        let Stage::Card { payment_id, amount_pence, .. } = stage.get_untracked() else { return };
        if payment_id != state.id {
            return;
        }
        match PaymentOutcome::of(&state.status) {
            PaymentOutcome::Waiting => {}
            PaymentOutcome::Succeeded => paid(amount_pence),
            PaymentOutcome::Failed => failed(amount_pence, state.failure_reason.as_deref()),
        }
    };

    // Follow a payment live, and ask every two seconds while the live connection is not
    // serving it (not open, refused, or nothing received yet).
    let follow = move |payment_id: String| {
        let owner = owner.get_value();
        let watch = match &owner {
            Some(owner) => owner.with(|| live.watch_payment(&payment_id)),
            None => live.watch_payment(&payment_id),
        };
        following.set_value(Some((payment_id.clone(), watch)));
        let run_effect = move || {
            Effect::new(move |_| {
                if let Some(state) = watch.value.get() {
                    settle(state);
                }
            });
        };
        match &owner {
            Some(owner) => owner.with(run_effect),
            None => run_effect(),
        }
        spawn_local(async move {
            loop {
                sleep(POLL_EVERY).await;
                match stage.try_get_untracked() {
                    Some(Stage::Card { payment_id: shown, .. }) if shown == payment_id => {}
                    // Settled, another attempt, or the page was left.
                    _ => return,
                }
                let served = live.is_open()
                    && watch.value.try_with_untracked(Option::is_some).unwrap_or(false)
                    && watch.refused.try_with_untracked(Option::is_none).unwrap_or(false);
                if served {
                    continue;
                }
                let asked = session
                    .authorised(|token| {
                        let payment_id = payment_id.clone();
                        async move { ApiClient::default().payment(&token, &payment_id).await }
                    })
                    .await;
                if let Ok(payment) = asked {
                    settle(state_of(&payment));
                }
            }
        });
    };

    // The portal's answer to "start a payment".
    let begin = move |payment: Payment| {
        let amount_pence = payment.amount_pence;
        match PaymentOutcome::of(&payment.status) {
            // The same key again after the payment finished: say how it ended.
            PaymentOutcome::Succeeded => paid(amount_pence),
            PaymentOutcome::Failed => failed(amount_pence, payment.failure_reason.as_deref()),
            PaymentOutcome::Waiting => match payment.provider_url.clone() {
                Some(url) => {
                    remember_payment(&payment.id);
                    stage.set(Stage::Card { payment_id: payment.id.clone(), url, amount_pence });
                    follow(payment.id);
                    focus_after_render("#pay-card-heading");
                }
                None => {
                    stage.set(Stage::Amount);
                    errors.set(FormErrors {
                        fields: Vec::new(),
                        general: Some(
                            "The card payment service did not give us a page to show. No money has been taken. \
                             Please try again."
                                .to_owned(),
                        ),
                    });
                }
            },
        }
    };

    let start = move |amount_pence: i64| {
        let key = match attempt.get_value() {
            Some((amount, key)) if amount == amount_pence => key,
            _ => {
                let key = new_idempotency_key();
                attempt.set_value(Some((amount_pence, key.clone())));
                key
            }
        };
        errors.set(FormErrors::default());
        stage.set(Stage::Starting);
        spawn_local(async move {
            let result = session
                .authorised(|token| {
                    let key = key.clone();
                    async move { ApiClient::default().start_payment(&token, id, amount_pence, &key).await }
                })
                .await;
            if stage.try_get_untracked().is_none() {
                return;
            }
            match result {
                Ok(payment) => begin(payment),
                Err(error) => {
                    stage.set(Stage::Amount);
                    errors.set(start_errors(&error));
                }
            }
        });
    };

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if stage.get_untracked() == Stage::Starting {
            return;
        }
        match parse_amount(&amount_text.get_untracked()) {
            Ok(pence) => start(pence),
            Err(message) => errors.set(FormErrors { fields: vec![("amount", message.to_owned())], general: None }),
        }
    };
    let change_amount = move |_| {
        stop_following();
        attempt.set_value(None);
        stage.set(Stage::Amount);
        focus_after_render("#amount");
    };
    let try_again = move |_| {
        if let Stage::Failed { amount_pence, .. } = stage.get_untracked() {
            attempt.set_value(None);
            start(amount_pence);
        }
    };

    let label = move || account.with(|a| a.as_ref().map(|a| a.kind_label.to_lowercase())).unwrap_or_default();
    let number = move || account.with(|a| a.as_ref().map(|a| a.account_number.clone())).unwrap_or_default();

    view! {
        {move || match loaded.get() {
            Some(Err(ApiError::NotFound)) => view! { <NoSuchAccount /> }.into_any(),
            Some(Err(error)) if account.with(Option::is_none) => view! {
                <div class="load-error" role="alert">
                    <p>"We could not load this account. " {error.to_string()}</p>
                    <button type="button" class="button button-secondary" on:click=move |_| loaded.refetch()>
                        "Try again"
                    </button>
                </div>
            }
            .into_any(),
            _ if account.with(Option::is_none) => view! {
                <p class="loading" role="status">"Loading your account\u{2026}"</p>
            }
            .into_any(),
            _ => view! {
                <AccountLine account />
                {move || match stage.get() {
                    Stage::Amount | Stage::Starting => view! {
                        <AmountForm account amount_text errors starting=Signal::derive(move || stage.get() == Stage::Starting) submit />
                    }
                    .into_any(),
                    Stage::Card { url, amount_pence, .. } => {
                        let money = Money::from_pence(amount_pence).to_string();
                        let title = format!("Card payment form for {money}, from our payment provider");
                        view! {
                            <section class="pay-card" aria-labelledby="pay-card-heading">
                                <h2 id="pay-card-heading" tabindex="-1">"Enter your card details"</h2>
                                <p>
                                    "You are paying " <strong>{money.clone()}</strong> " into your " {label} " account "
                                    <span class="account-number">{number}</span>
                                    ". The form below comes from our card payment provider. When your bank has confirmed the payment, this page shows the result."
                                </p>
                                <iframe class="pay-frame" src=url title=title></iframe>
                                <p class="pay-waiting" role="status">"Waiting for your payment\u{2026}"</p>
                                <p>
                                    <button type="button" class="button button-secondary" on:click=change_amount>
                                        "Change the amount"
                                    </button>
                                </p>
                            </section>
                        }
                        .into_any()
                    }
                    Stage::Paid { amount_pence } => {
                        let money = Money::from_pence(amount_pence).to_string();
                        view! {
                            <div class="confirmation payment-confirmation" tabindex="-1">
                                <h2>"Payment received"</h2>
                                <p>
                                    "You paid " <strong>{money}</strong> " into your " {label} " account "
                                    <span class="account-number">{number}</span> "."
                                </p>
                                <p class="new-balance">
                                    {move || match after_payment.get() {
                                        Some(a) => format!("Your balance is now {}.", a.balance_text),
                                        None => "Updating your balance\u{2026}".to_owned(),
                                    }}
                                </p>
                            </div>
                            <ul class="button-row">
                                <li>
                                    <A href="/my-place" attr:class="button button-primary">"Back to My Place"</A>
                                </li>
                                <li>
                                    <A href=format!("/my-place/accounts/{id}") attr:class="button button-secondary">
                                        "See your account history"
                                    </A>
                                </li>
                            </ul>
                        }
                        .into_any()
                    }
                    Stage::Failed { amount_pence, reason } => {
                        let money = Money::from_pence(amount_pence).to_string();
                        view! {
                            <div class="error-summary payment-failed" tabindex="-1" role="alert" aria-labelledby="payment-failed-title">
                                <h2 class="error-summary-title" id="payment-failed-title">
                                    "Your payment of " {money} " did not go through"
                                </h2>
                                <p class="failure-reason">{reason}</p>
                                <p>"No money has been taken. You can try again with the same or another card."</p>
                            </div>
                            <div class="actions">
                                <button type="button" class="button button-primary" on:click=try_again>
                                    "Try again"
                                </button>
                                <button type="button" class="button button-secondary" on:click=change_amount>
                                    "Change the amount"
                                </button>
                            </div>
                        }
                        .into_any()
                    }
                }}
            }
            .into_any(),
        }}
    }
    .into_any()
}

/// The account being paid into, and its balance as it is now.
#[component]
fn AccountLine(account: Memo<Option<AccountSummary>>) -> impl IntoView {
    let kind = move || account.with(|a| a.as_ref().map(|a| a.kind_label.clone())).unwrap_or_default();
    let number = move || account.with(|a| a.as_ref().map(|a| a.account_number.clone())).unwrap_or_default();
    let balance = move || account.with(|a| a.as_ref().map(|a| a.balance_text.clone())).unwrap_or_default();
    let class = move || {
        account.with(|a| {
            crate::components::ledger::balance_class(a.as_ref().map_or(BalanceState::Clear, |a| a.balance_state))
        })
    };
    view! {
        <div class="card account-glance pay-account">
            <p class="account-kind">
                {kind} " account " <span class="account-number">{number}</span>
            </p>
            <p class=class>{balance}</p>
        </div>
    }
}

#[component]
fn AmountForm<F>(
    account: Memo<Option<AccountSummary>>,
    amount_text: RwSignal<String>,
    errors: RwSignal<FormErrors>,
    starting: Signal<bool>,
    submit: F,
) -> impl IntoView
where
    F: Fn(SubmitEvent) + Clone + 'static,
{
    let error = Memo::new(move |_| errors.with(|e| e.field("amount")));
    let hint = move || {
        let owed = account.with(|a| a.as_ref().map(|a| (a.balance_state, a.balance_text.clone())));
        let rule = "In pounds and pence, at least £1.00.";
        match owed {
            Some((BalanceState::InArrears, text)) => {
                format!("You owe {}. {rule}", text.trim_end_matches(" in arrears"))
            }
            Some((BalanceState::InCredit, text)) => {
                format!("Your account is {text}, so nothing is owed now. You can still pay ahead. {rule}")
            }
            _ => format!("Nothing is owed now. You can still pay ahead. {rule}"),
        }
    };
    let described_by = move || if error.get().is_some() { "amount-hint amount-error" } else { "amount-hint" };
    view! {
        <form class="form pay-form" novalidate on:submit=submit>
            <ErrorSummary errors />
            <div class="field" class:field-has-error=move || error.get().is_some()>
                <label class="label" for="amount">"How much do you want to pay?"</label>
                <p class="field-hint" id="amount-hint">{hint}</p>
                {move || error.get().map(|message| view! {
                    <p class="field-error" id="amount-error">
                        <span class="visually-hidden">"Error: "</span>
                        {message}
                    </p>
                })}
                <div class="money-input">
                    <span class="money-prefix" aria-hidden="true">"£"</span>
                    <input
                        class="input input-10"
                        class:input-error=move || error.get().is_some()
                        id="amount"
                        name="amount"
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby=described_by
                        aria-invalid=move || error.get().is_some().then_some("true")
                        bind:value=amount_text
                    />
                </div>
            </div>
            <button type="submit" class="button button-primary" aria-disabled=move || starting.get().then_some("true")>
                {move || if starting.get() { "Starting your payment\u{2026}" } else { "Continue to payment" }}
            </button>
            <p class="hint after-form">
                "You enter your card details on the next step, on this page. There is no payment reference to type: the payment goes to this account."
            </p>
        </form>
    }
}

/// Whether this page is showing inside a frame (the provider's page, in the portal's).
fn in_frame() -> bool {
    let here = window();
    match here.top() {
        Ok(Some(top)) => {
            let top: &wasm_bindgen::JsValue = top.as_ref();
            let here: &wasm_bindgen::JsValue = here.as_ref();
            top != here
        }
        _ => false,
    }
}

/// Where the payment provider sends the payer when they finish or cancel
/// (`/my-place/payment-done`). Inside a frame it says only that the payment is finished,
/// without the portal's header and footer; in a window of its own it also says what became
/// of the payment this tab last started.
#[component]
pub fn PaymentDone() -> impl IntoView {
    let framed = in_frame();
    if framed && let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-framed", "");
        on_cleanup(move || {
            if let Some(root) = document().document_element() {
                let _ = root.remove_attribute("data-framed");
            }
        });
    }
    view! {
        <Page heading="Payment finished">
            <p class="lede">"Payment finished \u{2014} you can close this."</p>
            {(!framed).then(|| view! { <LastPayment /> })}
        </Page>
    }
}

#[component]
fn LastPayment() -> impl IntoView {
    let session = Session::expect();
    let remembered = remembered_payment();
    let payment = LocalResource::new(move || {
        let remembered = remembered.clone();
        // Asked again once the page knows who is signed in.
        let signed_in = matches!(session.state(), AuthState::SignedIn(_));
        async move {
            let id = remembered?;
            if !signed_in {
                return None;
            }
            session
                .authorised(|token| {
                    let id = id.clone();
                    async move { ApiClient::default().payment(&token, &id).await }
                })
                .await
                .ok()
        }
    });
    let outcome = move || {
        let p = payment.get()??;
        let money = Money::from_pence(p.amount_pence).to_string();
        Some(match PaymentOutcome::of(&p.status) {
            PaymentOutcome::Succeeded => view! {
                <p class="payment-done-status">"Your payment of " <strong>{money}</strong> " has been received."</p>
            }
            .into_any(),
            PaymentOutcome::Failed => view! {
                <p class="payment-done-status">
                    "Your payment of " <strong>{money}</strong> " did not go through. "
                    {failure_words(p.failure_reason.as_deref())} " No money has been taken."
                </p>
                <p>
                    <A href=format!("/my-place/accounts/{}/pay", p.account_id)>"Try again"</A>
                </p>
            }
            .into_any(),
            PaymentOutcome::Waiting => view! {
                <p class="payment-done-status">
                    "Your payment of " <strong>{money}</strong>
                    " was not finished, so no money has been taken. If you did finish it, it shows on My Place as soon as your bank confirms it."
                </p>
            }
            .into_any(),
        })
    };
    view! {
        {outcome}
        <p>
            <A href="/my-place" attr:class="button button-primary">"Go to My Place"</A>
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_pounds_and_pence_from_one_pound() {
        assert_eq!(parse_amount("12.34"), Ok(1234));
        assert_eq!(parse_amount(" £1,012.5 "), Ok(101_250));
        assert_eq!(parse_amount("1"), Ok(100));
        assert!(parse_amount("").is_err());
        assert!(parse_amount("0.99").unwrap_err().contains("at least £1.00"));
        assert!(parse_amount("-5").unwrap_err().contains("at least £1.00"));
        assert!(parse_amount("12.345").unwrap_err().contains("pounds and pence"));
        assert!(parse_amount("ten").unwrap_err().contains("pounds and pence"));
        assert!(parse_amount("10000.01").unwrap_err().contains("at most"));
        assert_eq!(parse_amount("10000"), Ok(1_000_000));
    }

    #[test]
    fn a_provider_outage_says_no_money_was_taken() {
        let errors =
            start_errors(&ApiError::Status { status: 503, message: Some("provider down".into()), field: None });
        assert!(errors.general.unwrap().contains("no money has been taken"));
        let errors = start_errors(&ApiError::Status {
            status: 422,
            message: Some("amount_pence must be at least 100 (£1.00)".into()),
            field: Some("amount_pence".into()),
        });
        assert_eq!(errors.field("amount").as_deref(), Some("The amount must be at least 100 (£1.00)."));
    }
}
