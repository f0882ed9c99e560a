//! Staff: find a tenant (`/staff/tenants?q=`) by name, address, postcode or account number,
//! and a tenant's page (`/staff/tenants/:id`) with the people, the home, the housing officer
//! and each account with its history and statements: the customer information screen.

use doorstep_shared::dto::{AccountSummary, Page as ApiPage};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use web_sys::js_sys::encode_uri_component;

use crate::api::accounts::{StaffTenancy, TenancyPerson, TenantMatch};
use crate::api::identity::Me;
use crate::api::{ApiClient, ApiError};
use crate::components::footer::tel_href;
use crate::components::guard::RequireSignIn;
use crate::components::ledger::{AccountHistory, RecentLines, StatementDownload, balance_class};
use crate::components::page::Page;
use crate::dates;
use crate::session::Session;

#[component]
fn NotForYou(me: Me) -> impl IntoView {
    let what = if me.is_staff() { "Your role does not include looking up tenants." } else { "This page is for staff." };
    view! {
        <p class="lede">{what}</p>
        <p>"If you need it, ask an administrator of your organisation."</p>
    }
}

#[component]
pub fn StaffTenants() -> impl IntoView {
    view! {
        <Page heading="Find a tenant">
            <RequireSignIn let:me>
                {if me.looks_up_tenants() { view! { <Search /> }.into_any() } else { view! { <NotForYou me /> }.into_any() }}
            </RequireSignIn>
        </Page>
    }
}

async fn fetch_matches(session: Session, q: String, cursor: Option<String>) -> Result<ApiPage<TenantMatch>, ApiError> {
    session
        .authorised(move |token| {
            let q = q.clone();
            let cursor = cursor.clone();
            async move { ApiClient::default().staff_tenants(&token, &q, cursor.as_deref()).await }
        })
        .await
}

#[component]
fn Search() -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let navigate = use_navigate();
    let q = Memo::new(move |_| query.read().get("q").map(|q| q.trim().to_owned()).unwrap_or_default());
    let typed = RwSignal::new(q.get_untracked());
    let more = RwSignal::new(Vec::<TenantMatch>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let more_error = RwSignal::new(None::<String>);
    let first = LocalResource::new(move || {
        let q = q.get();
        async move {
            if q.is_empty() {
                return Ok(None);
            }
            fetch_matches(session, q, None).await.map(Some)
        }
    });
    // A new search starts afresh.
    Effect::new(move |_| {
        typed.set(q.get());
        more.set(Vec::new());
        more_cursor.set(None);
        more_error.set(None);
    });
    let search = move |event: SubmitEvent| {
        event.prevent_default();
        let words = typed.get_untracked().trim().to_owned();
        let words: String = encode_uri_component(&words).into();
        navigate(&format!("/staff/tenants?q={words}"), Default::default());
    };
    let load_more = Callback::new(move |()| {
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first.get_untracked().and_then(Result::ok).flatten().and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        let asked = q.get_untracked();
        spawn_local(async move {
            let result = fetch_matches(session, asked.clone(), Some(cursor)).await;
            if q.get_untracked() != asked {
                return;
            }
            match result {
                Ok(page) => {
                    more.update(|rows| rows.extend(page.items));
                    more_cursor.set(Some(page.next_cursor));
                }
                Err(error) => more_error.set(Some(error.to_string())),
            }
        });
    });

    view! {
        <form class="filter tenant-search" role="search" on:submit=search>
            <div class="field">
                <label class="label" for="tenant-q">
                    "Name, address, postcode or account number"
                </label>
                <p class="field-hint" id="tenant-q-hint">
                    "Every word must match, for example \u{201c}Okafor HX1\u{201d}."
                </p>
                <input
                    id="tenant-q"
                    name="q"
                    class="input input-20"
                    type="search"
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="tenant-q-hint"
                    bind:value=typed
                />
            </div>
            <button type="submit" class="button button-primary">
                "Search"
            </button>
        </form>
        <Transition fallback=|| view! { <p class="loading" role="status">"Searching\u{2026}"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(None) => view! { <p class="hint">"Search for a tenant to see their accounts."</p> }.into_any(),
                    Ok(Some(page)) => {
                        view! { <Results page q=q.get_untracked() more more_cursor more_error load_more /> }.into_any()
                    }
                    Err(error) => view! {
                        <p class="field-error" role="alert">{error.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn Results(
    page: ApiPage<TenantMatch>,
    q: String,
    more: RwSignal<Vec<TenantMatch>>,
    more_cursor: RwSignal<Option<Option<String>>>,
    more_error: RwSignal<Option<String>>,
    load_more: Callback<()>,
) -> impl IntoView {
    let first = page.items;
    let first_next = page.next_cursor;
    let rows = Memo::new(move |_| first.iter().cloned().chain(more.get()).collect::<Vec<_>>());
    let has_next = Memo::new(move |_| more_cursor.get().unwrap_or_else(|| first_next.clone()).is_some());
    let count = {
        let q = q.clone();
        move || {
            let n = rows.with(Vec::len);
            let more = if has_next.get() { " so far" } else { "" };
            format!("{n} {} for \u{201c}{q}\u{201d}{more}", if n == 1 { "tenancy" } else { "tenancies" })
        }
    };
    view! {
        <Show
            when=move || !rows.with(Vec::is_empty)
            fallback=move || view! { <p class="empty" role="status">"No tenancy matches \u{201c}" {q.clone()} "\u{201d}."</p> }
        >
            <h2 class="results-heading">{count.clone()}</h2>
            <ol class="results">
                <For each=move || rows.get() key=|row| row.tenancy_id let:row>
                    <MatchCard row />
                </For>
            </ol>
        </Show>
        {move || more_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        {move || has_next.get().then(|| view! {
            <p>
                <button type="button" class="button button-secondary" on:click=move |_| load_more.run(())>
                    "Show more tenancies"
                </button>
            </p>
        })}
    }
    .into_any()
}

#[component]
fn MatchCard(row: TenantMatch) -> impl IntoView {
    let names = if row.tenants.is_empty() { "(no tenant named)".to_owned() } else { row.tenants.join(" and ") };
    let ended = row.end_date.map(|d| view! { <span class="tag">"Ended " {dates::date(d)}</span> });
    let address = row.address.join(", ");
    let accounts = row
        .accounts
        .iter()
        .map(|a| {
            view! {
                <li>
                    {a.kind_label.clone()} " "
                    <span class="mono">{a.account_number.clone()}</span> ": "
                    <span class=balance_class(a.balance_state)>{a.balance_text.clone()}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <li class="card result" data-tenancy-id=row.tenancy_id.to_string()>
            <h3 class="result-name">
                <A href=format!("/staff/tenants/{}", row.tenancy_id)>{names}</A>
                {ended}
            </h3>
            <p class="result-address">{address}</p>
            <p class="hint">"Tenancy " {row.tenancy_ref.clone()} ", " {row.organisation_name.clone()}</p>
            <ul class="plain result-accounts">{accounts}</ul>
        </li>
    }
    .into_any()
}

// ----- one tenant -----

#[component]
pub fn StaffTenant() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|id| id.parse::<i64>().ok()).filter(|id| *id > 0));
    view! {
        <Page heading="Tenant">
            <RequireSignIn let:me>
                <p class="back-link">
                    <A href="/staff/tenants">"Find another tenant"</A>
                </p>
                {if me.looks_up_tenants() {
                    (move || match id.get() {
                        Some(id) => view! { <TenancyLoader id /> }.into_any(),
                        None => view! { <p class="lede">"There is no such tenancy."</p> }.into_any(),
                    })
                        .into_any()
                } else {
                    view! { <NotForYou me /> }.into_any()
                }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
fn TenancyLoader(id: i64) -> impl IntoView {
    let session = Session::expect();
    let tenancy = LocalResource::new(move || async move {
        session.authorised(move |token| async move { ApiClient::default().staff_tenant(&token, id).await }).await
    });
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading the tenancy\u{2026}"</p> }>
            {move || Suspend::new(async move {
                match tenancy.await {
                    Ok(t) => view! { <TenancyView t /> }.into_any(),
                    Err(ApiError::NotFound) => view! {
                        <p class="lede">"There is no such tenancy among those of your organisations."</p>
                    }
                    .into_any(),
                    Err(error) => view! {
                        <div class="load-error" role="alert">
                            <p>"We could not load the tenancy. " {error.to_string()}</p>
                            <button type="button" class="button button-secondary" on:click=move |_| tenancy.refetch()>
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

fn role_words(role: &str) -> &'static str {
    match role {
        "lead" => "Lead tenant",
        "joint" => "Joint tenant",
        "household" => "Household member",
        _ => "On the tenancy",
    }
}

#[component]
fn TenancyView(t: StaffTenancy) -> impl IntoView {
    let name = t.lead_name().unwrap_or("Tenancy").to_owned();
    let address = t.property.lines();
    let since = match t.end_date {
        Some(end) => format!("{} to {}", dates::date(t.start_date), dates::date(end)),
        None => format!("since {}", dates::date(t.start_date)),
    };
    let people = t.people.into_iter().map(|p| view! { <PersonCard p /> }).collect_view();
    let officer = match t.housing_officer {
        Some(o) => {
            let phone = o.phone.map(|phone| view! { <a href=tel_href(&phone)>{phone.clone()}</a> " " });
            let email = o.email.map(|email| view! { <a href=format!("mailto:{email}")>{email.clone()}</a> });
            view! { <dd>{o.name} <br /> {phone} {email}</dd> }.into_any()
        }
        None => view! { <dd>"None assigned"</dd> }.into_any(),
    };
    let accounts = t.accounts.into_iter().map(|account| view! { <StaffAccount account /> }).collect_view();
    view! {
        <h2 class="tenant-name">{name}</h2>
        <p class="lede tenant-address">{address.join(", ")}</p>
        <dl class="pairs tenancy-facts">
            <div>
                <dt>"Tenancy"</dt>
                <dd>{t.reference} ", " {t.tenure.replace('_', " ")} ", " {since}</dd>
            </div>
            <div>
                <dt>"Landlord"</dt>
                <dd>{t.organisation_name}</dd>
            </div>
            {t.patch.map(|patch| view! {
                <div>
                    <dt>"Patch"</dt>
                    <dd>{patch}</dd>
                </div>
            })}
            <div>
                <dt>"Housing officer"</dt>
                {officer}
            </div>
        </dl>
        <h2>"People"</h2>
        <ul class="people">{people}</ul>
        <h2>"Accounts"</h2>
        <ul class="plain staff-accounts">{accounts}</ul>
    }
    .into_any()
}

#[component]
fn PersonCard(p: TenancyPerson) -> impl IntoView {
    let phone = p.phone.map(|phone| {
        view! {
            <div>
                <dt>"Phone"</dt>
                <dd>
                    <a href=tel_href(&phone)>{phone.clone()}</a>
                </dd>
            </div>
        }
    });
    let email = p.email.map(|email| {
        view! {
            <div>
                <dt>"Email"</dt>
                <dd class="break">
                    <a href=format!("mailto:{email}")>{email.clone()}</a>
                </dd>
            </div>
        }
    });
    view! {
        <li class="card person">
            <h3>{p.name}</h3>
            <dl class="pairs">
                <div>
                    <dt>"Role"</dt>
                    <dd>{role_words(&p.role)}</dd>
                </div>
                {phone}
                {email}
                <div>
                    <dt>"Portal"</dt>
                    <dd>{if p.has_sign_in { "Has a sign-in" } else { "Not signed up" }}</dd>
                </div>
            </dl>
        </li>
    }
    .into_any()
}

/// One account: at a glance, and on request its history and statements (the same parts a
/// tenant sees).
#[component]
fn StaffAccount(account: AccountSummary) -> impl IntoView {
    let open = RwSignal::new(false);
    let id = account.id;
    let panel_id = format!("account-{id}-history");
    let last = account.last_transaction_date.map(dates::date).unwrap_or_else(|| "None yet".to_owned());
    let label = account.kind_label.clone();
    let number = account.account_number.clone();
    view! {
        <li class="card account staff-account" data-account-id=id.to_string()>
            <h3>{account.kind_label.clone()} " " <span class="account-number">{account.account_number.clone()}</span></h3>
            <p class=balance_class(account.balance_state)>{account.balance_text.clone()}</p>
            <p class="hint">"Last transaction: " {last}</p>
            <RecentLines lines=account.recent />
            <p>
                <button
                    type="button"
                    class="button button-secondary"
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    aria-controls=panel_id.clone()
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    {move || if open.get() { "Hide history and statements" } else { "Show history and statements" }}
                </button>
            </p>
            <div id=panel_id class="staff-history">
                {move || {
                    open.get()
                        .then(|| {
                            view! {
                                <AccountHistory account_id=id label=label.clone() heading_level=4 />
                                <StatementDownload
                                    account_id=id
                                    account_number=number.clone()
                                    label=label.clone()
                                    heading_level=4
                                />
                            }
                        })
                }}
            </div>
        </li>
    }
    .into_any()
}
