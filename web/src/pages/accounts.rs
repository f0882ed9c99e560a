//! A tenant's account: its history (`/my-place/accounts/:id`) with the balance chart, date
//! filters and "Load more", kept live, and its statements (`/my-place/accounts/:id/statement`).

use doorstep_shared::dto::AccountSummary;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{ApiClient, ApiError};
use crate::components::guard::RequireSignIn;
use crate::components::ledger::{AccountHistory, StatementDownload, balance_class};
use crate::components::page::Page;
use crate::dates;
use crate::live::Live;
use crate::session::Session;

/// The `:id` of the address, when it is a number.
pub(super) fn account_id() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse::<i64>().ok()).filter(|id| *id > 0))
}

#[component]
pub fn MyAccount() -> impl IntoView {
    let id = account_id();
    Live::provide();
    view! {
        <Page heading="Account history">
            <RequireSignIn let:_me>
                <p class="back-link">
                    <A href="/my-place">"Back to My Place"</A>
                </p>
                {move || match id.get() {
                    Some(id) => view! { <AccountPage id statement_only=false /> }.into_any(),
                    None => view! { <NoSuchAccount /> }.into_any(),
                }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
pub fn MyStatement() -> impl IntoView {
    let id = account_id();
    view! {
        <Page heading="Statements">
            <RequireSignIn let:_me>
                <p class="back-link">
                    <A href="/my-place">"Back to My Place"</A>
                </p>
                {move || match id.get() {
                    Some(id) => view! { <AccountPage id statement_only=true /> }.into_any(),
                    None => view! { <NoSuchAccount /> }.into_any(),
                }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
pub(super) fn NoSuchAccount() -> impl IntoView {
    view! {
        <p class="lede">"We could not find that account among yours."</p>
        <p>
            "Your accounts are listed on " <A href="/my-place">"My Place"</A> "."
        </p>
    }
}

/// The account at a glance, then its history or its statements.
#[component]
fn AccountPage(id: i64, statement_only: bool) -> impl IntoView {
    let session = Session::expect();
    let summary = LocalResource::new(move || async move {
        session.authorised(move |token| async move { ApiClient::default().account(&token, id).await }).await
    });
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading your account\u{2026}"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(account) => view! { <AccountBody account statement_only /> }.into_any(),
                    Err(ApiError::NotFound) => view! { <NoSuchAccount /> }.into_any(),
                    Err(error) => view! {
                        <div class="load-error" role="alert">
                            <p>"We could not load this account. " {error.to_string()}</p>
                            <button type="button" class="button button-secondary" on:click=move |_| summary.refetch()>
                                "Try again"
                            </button>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn AccountBody(account: AccountSummary, statement_only: bool) -> impl IntoView {
    // On the history page the account follows the page's live connection: the balance at the
    // top, and the history read again whenever a new line arrives.
    let live = (!statement_only).then(|| Live::from_context().map(|live| live.watch_account(account.id))).flatten();
    let loaded = account.clone();
    let current = Memo::new(move |_| live.and_then(|watch| watch.value.get()).unwrap_or_else(|| loaded.clone()));
    let changes = RwSignal::new(0u64);
    Effect::new(move |before: Option<(i64, Option<i64>)>| {
        let now = current.with(|a| (a.balance_pence, a.recent.first().map(|t| t.id)));
        if before.is_some_and(|before| before != now) {
            changes.update(|n| *n += 1);
        }
        now
    });
    let last =
        move || current.with(|a| a.last_transaction_date).map(dates::date).unwrap_or_else(|| "None yet".to_owned());
    let balance_text = move || current.with(|a| a.balance_text.clone());
    let state = move || current.with(|a| a.balance_state);
    let other = if statement_only {
        view! {
            <p>
                <A href=format!("/my-place/accounts/{}", account.id)>"See the history of this account"</A>
            </p>
        }
        .into_any()
    } else {
        view! {
            <p>
                <A href=format!("/my-place/accounts/{}/statement", account.id)>"Download a statement"</A>
                " (PDF or CSV)"
            </p>
        }
        .into_any()
    };
    let main = if statement_only {
        view! {
            <StatementDownload
                account_id=account.id
                account_number=account.account_number.clone()
                label=account.kind_label.clone()
            />
        }
        .into_any()
    } else {
        view! { <AccountHistory account_id=account.id label=account.kind_label.clone() refresh=changes /> }.into_any()
    };
    view! {
        <div class="card account-glance">
            <p class="account-kind">
                {account.kind_label.clone()} " account "
                <span class="account-number">{account.account_number.clone()}</span>
            </p>
            <p class=move || balance_class(state()) aria-live="polite">{balance_text}</p>
            <p class="hint">"Last transaction: " {last}</p>
            <p>
                <A href=format!("/my-place/accounts/{}/pay", account.id) attr:class="button button-primary pay-link">
                    "Pay into this account"
                </A>
            </p>
        </div>
        {other}
        {main}
    }
    .into_any()
}
