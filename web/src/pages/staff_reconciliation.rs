//! Staff: reconciliation, for the income team (and admins). The runs
//! (`/staff/payments/reconciliation`), each a provider's end-of-day file matched against the
//! ledger; and a run (`/staff/payments/reconciliation/:id`) with its counts and totals, a line
//! per reason, the report as CSV, and its exceptions to work: a note that leaves one open, or
//! a note that closes it.

use doorstep_shared::Money;
use doorstep_shared::dto::Page as ApiPage;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::staff_payments::{NotForYou, PaymentsNav};
use crate::api::payments::{ReconciliationItem, ReconciliationReport, ReconciliationRun, ResolveAction};
use crate::api::{ApiClient, ApiError};
use crate::components::guard::RequireSignIn;
use crate::components::page::Page;
use crate::dates;
use crate::session::Session;

fn money(pence: i64) -> String {
    Money::from_pence(pence).to_string()
}

/// "22 November 2026", or "20 to 22 November 2026" style ranges, from a run's business dates.
fn business_dates(run: &ReconciliationRun) -> String {
    match (run.business_date_from, run.business_date_to) {
        (Some(from), Some(to)) if from == to => dates::date(from),
        (Some(from), Some(to)) => format!("{} to {}", dates::date(from), dates::date(to)),
        _ => "No payments in the file".to_owned(),
    }
}

fn reason_words(code: &str) -> &'static str {
    match code {
        "matched" => "Matched",
        "late" => "Posted late",
        "amount_mismatch" => "Amount differs",
        "unknown_account" => "Unknown account",
        "not_in_file" => "Not in the file",
        _ => "Other",
    }
}

// ----- the runs -----

#[component]
pub fn StaffReconciliationRuns() -> impl IntoView {
    view! {
        <Page heading="Reconciliation" wide=true>
            <RequireSignIn let:me>
                {if me.works_payments() {
                    view! {
                        <PaymentsNav />
                        <Runs />
                    }
                        .into_any()
                } else {
                    view! { <NotForYou me /> }.into_any()
                }}
            </RequireSignIn>
        </Page>
    }
}

async fn fetch_runs(session: Session, cursor: Option<String>) -> Result<ApiPage<ReconciliationRun>, ApiError> {
    session
        .authorised(move |token| {
            let cursor = cursor.clone();
            async move { ApiClient::default().reconciliation_runs(&token, cursor.as_deref()).await }
        })
        .await
}

#[component]
fn Runs() -> impl IntoView {
    let session = Session::expect();
    let first = LocalResource::new(move || async move { fetch_runs(session, None).await });
    let more = RwSignal::new(Vec::<ReconciliationRun>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let more_error = RwSignal::new(None::<String>);
    let load_more = move |_| {
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first.get_untracked().and_then(Result::ok).and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        spawn_local(async move {
            match fetch_runs(session, Some(cursor)).await {
                Ok(page) => {
                    more.update(|rows| rows.extend(page.items));
                    more_cursor.set(Some(page.next_cursor));
                }
                Err(error) => {
                    more_error.try_set(Some(error.to_string()));
                }
            }
        });
    };
    view! {
        <p class="lede">
            "Each run matches a payment provider\u{2019}s end-of-day file against the payments that arrived during the day. Open a run to work its exceptions."
        </p>
        {move || match first.get() {
            None => view! { <p class="loading" role="status">"Loading runs\u{2026}"</p> }.into_any(),
            Some(Err(error)) => view! {
                <div class="load-error" role="alert">
                    <p>"We could not load the runs. " {error.to_string()}</p>
                    <button type="button" class="button button-secondary" on:click=move |_| first.refetch()>
                        "Try again"
                    </button>
                </div>
            }
            .into_any(),
            Some(Ok(page)) => {
                let has_next = more_cursor.get().unwrap_or(page.next_cursor).is_some();
                let rows: Vec<ReconciliationRun> = page.items.into_iter().chain(more.get()).collect();
                if rows.is_empty() {
                    return view! { <p class="empty">"No end-of-day file has been reconciled yet."</p> }.into_any();
                }
                view! {
                    <table class="queue runs" role="table">
                        <caption>"Reconciliation runs, newest first"</caption>
                        <thead role="rowgroup">
                            <tr role="row">
                                <th scope="col" role="columnheader">"File"</th>
                                <th scope="col" role="columnheader">"Payments dated"</th>
                                <th scope="col" role="columnheader" class="num">"Lines"</th>
                                <th scope="col" role="columnheader" class="num">"Matched"</th>
                                <th scope="col" role="columnheader" class="num">"Posted late"</th>
                                <th scope="col" role="columnheader" class="num">"Exceptions open"</th>
                                <th scope="col" role="columnheader" class="num">"In the file"</th>
                            </tr>
                        </thead>
                        <tbody role="rowgroup">{rows.into_iter().map(run_row).collect_view()}</tbody>
                    </table>
                    {has_next.then(|| view! {
                        <p>
                            <button type="button" class="button button-secondary" on:click=load_more>
                                "Show more runs"
                            </button>
                        </p>
                    })}
                }
                .into_any()
            }
        }}
        {move || more_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
    }
}

fn run_row(run: ReconciliationRun) -> impl IntoView {
    let open = run.counts.open_exceptions;
    let file_name = run.file_name.clone();
    view! {
        <tr role="row" class:unmatched={open > 0} data-run-id=run.id.to_string()>
            <th scope="row" role="rowheader" data-label="File">
                <A href=format!("/staff/payments/reconciliation/{}", run.id)>
                    <span class="request-ref break">{file_name}</span>
                </A>
                <span class="request-date">{run.provider.clone()} ", " {dates::moment(&run.started_at)}</span>
            </th>
            <td role="cell" data-label="Payments dated">{business_dates(&run)}</td>
            <td role="cell" data-label="Lines" class="num">{run.lines}</td>
            <td role="cell" data-label="Matched" class="num">{run.counts.matched}</td>
            <td role="cell" data-label="Posted late" class="num">{run.counts.late}</td>
            <td role="cell" data-label="Exceptions open" class="num">
                {format!("{open} of {}", run.counts.exceptions)}
            </td>
            <td role="cell" data-label="In the file" class="num">{money(run.totals.file_pence)}</td>
        </tr>
    }
}

// ----- one run -----

/// Which items of a run to list: `(value in the address, status, resolution, words)`.
const ITEM_FILTERS: &[(&str, Option<&str>, Option<&str>, &str)] = &[
    ("open", Some("exceptions"), Some("open"), "Open exceptions"),
    ("exceptions", Some("exceptions"), None, "All exceptions"),
    ("amount_mismatch", Some("amount_mismatch"), None, "Amount differs"),
    ("unknown_account", Some("unknown_account"), None, "Unknown account"),
    ("not_in_file", Some("not_in_file"), None, "Not in the file"),
    ("late", Some("late"), None, "Posted late"),
    ("matched", Some("matched"), None, "Matched"),
    ("all", None, None, "Every line"),
];

#[component]
pub fn StaffReconciliationRun() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|id| id.parse::<i64>().ok()).filter(|id| *id > 0));
    view! {
        <Page heading="Reconciliation run" wide=true>
            <RequireSignIn let:me>
                {if me.works_payments() {
                    view! {
                        <PaymentsNav />
                        <p class="back-link">
                            <A href="/staff/payments/reconciliation">"All runs"</A>
                        </p>
                        {move || match id.get() {
                            Some(id) => view! { <Run id /> }.into_any(),
                            None => view! { <p class="lede">"There is no such run."</p> }.into_any(),
                        }}
                    }
                        .into_any()
                } else {
                    view! { <NotForYou me /> }.into_any()
                }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
fn Run(id: i64) -> impl IntoView {
    let session = Session::expect();
    let report = LocalResource::new(move || async move {
        session
            .authorised(move |token| async move { ApiClient::default().reconciliation_report(&token, id).await })
            .await
    });
    view! {
        {move || match report.get() {
            None => view! { <p class="loading" role="status">"Loading the run\u{2026}"</p> }.into_any(),
            Some(Ok(r)) => view! { <RunReport report=r /> }.into_any(),
            Some(Err(ApiError::NotFound)) => {
                view! { <p class="lede">"There is no such run among those you may see."</p> }.into_any()
            }
            Some(Err(error)) => view! {
                <div class="load-error" role="alert">
                    <p>"We could not load the run. " {error.to_string()}</p>
                    <button type="button" class="button button-secondary" on:click=move |_| report.refetch()>
                        "Try again"
                    </button>
                </div>
            }
            .into_any(),
        }}
        <Items run_id=id on_change=Callback::new(move |()| report.refetch()) />
    }
}

#[component]
fn RunReport(report: ReconciliationReport) -> impl IntoView {
    let session = Session::expect();
    let run = report.run;
    let run_id = run.id;
    let download_status = RwSignal::new(None::<(bool, String)>);
    let file_name = format!("reconciliation-{}-{}.csv", run.id, run.file_name.trim_end_matches(".csv"));
    let download = move |_| {
        let file_name = file_name.clone();
        download_status.set(Some((true, "Preparing the report\u{2026}".to_owned())));
        spawn_local(async move {
            let url = ApiClient::default().reconciliation_csv_url(run_id);
            let result = session
                .authorised(|token| {
                    let url = url.clone();
                    async move { ApiClient::default().download_csv(&token, &url).await }
                })
                .await
                .and_then(|bytes| crate::download::save_file(&bytes, &file_name).map_err(|_| ApiError::Decode));
            download_status.try_set(Some(match result {
                Ok(()) => (true, "The report is downloading.".to_owned()),
                Err(error) => (false, format!("The report did not download. {error}")),
            }));
        });
    };
    let reasons = report
        .reasons
        .iter()
        .map(|r| {
            view! {
                <tr role="row" class:exception-row=r.exception data-reason=r.reason_code.clone()>
                    <th scope="row" role="rowheader" data-label="Reason">
                        {reason_words(&r.reason_code)}
                        {r.exception.then(|| view! { <span class="tag">"Exception"</span> })}
                        <span class="request-date">{r.description.clone()}</span>
                    </th>
                    <td role="cell" data-label="Items" class="num">{r.items}</td>
                    <td role="cell" data-label="Open" class="num">{r.exception.then_some(r.open)}</td>
                    <td role="cell" data-label="In the file" class="num">{r.file_pence.map(money)}</td>
                    <td role="cell" data-label="In the ledger" class="num">{r.ledger_pence.map(money)}</td>
                </tr>
            }
        })
        .collect_view();
    let counts = run.counts.clone();
    view! {
        <div class="card run-summary">
            <h2 class="break">{run.file_name.clone()}</h2>
            <dl class="facts run-facts">
                <div>
                    <dt>"Provider"</dt>
                    <dd>{run.provider.clone()}</dd>
                </div>
                <div>
                    <dt>"Payments dated"</dt>
                    <dd>{business_dates(&run)}</dd>
                </div>
                <div>
                    <dt>"Reconciled"</dt>
                    <dd>
                        {dates::moment(&run.started_at)}
                        {run.started_by.clone().map(|by| format!(" by {by}"))}
                    </dd>
                </div>
                <div>
                    <dt>"Lines in the file"</dt>
                    <dd>{run.lines}</dd>
                </div>
            </dl>
        </div>
        <ul class="stats" aria-label="This run at a glance">
            <li class="stat">
                <span class="stat-value">{counts.matched}</span>
                " matched (" {money(run.totals.matched_pence)} ")"
            </li>
            <li class="stat">
                <span class="stat-value">{counts.late}</span>
                " posted late (" {money(run.totals.late_posted_pence)} ")"
            </li>
            <li class="stat" class:stat-alert={counts.open_exceptions > 0}>
                <span class="stat-value open-exceptions">{counts.open_exceptions}</span>
                " of " {counts.exceptions} " exceptions open"
            </li>
            <li class="stat">
                <span class="stat-value">{money(run.totals.file_pence)}</span>
                " in the file"
            </li>
        </ul>
        <table class="queue reasons" role="table">
            <caption>"By reason"</caption>
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Reason"</th>
                    <th scope="col" role="columnheader" class="num">"Items"</th>
                    <th scope="col" role="columnheader" class="num">"Open"</th>
                    <th scope="col" role="columnheader" class="num">"In the file"</th>
                    <th scope="col" role="columnheader" class="num">"In the ledger"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">{reasons}</tbody>
        </table>
        <p class="actions">
            <button type="button" class="button button-secondary" on:click=download>
                "Download the report (CSV)"
            </button>
        </p>
        <p class="action-status" class:action-error=move || download_status.with(|s| s.as_ref().is_some_and(|(ok, _)| !ok)) role="status">
            {move || download_status.get().map(|(_, words)| words)}
        </p>
    }
}

async fn fetch_items(
    session: Session,
    run_id: i64,
    show: String,
    cursor: Option<String>,
) -> Result<ApiPage<ReconciliationItem>, ApiError> {
    let (_, status, resolution, _) = ITEM_FILTERS.iter().find(|f| f.0 == show).copied().unwrap_or(ITEM_FILTERS[0]);
    session
        .authorised(move |token| {
            let cursor = cursor.clone();
            async move {
                ApiClient::default().reconciliation_items(&token, run_id, status, resolution, cursor.as_deref()).await
            }
        })
        .await
}

/// The run's items, filtered (open exceptions first of all), each exception with a way to
/// work it.
#[component]
fn Items(run_id: i64, on_change: Callback<()>) -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let navigate = use_navigate();
    let show = Memo::new(move |_| {
        let wanted = query.read().get("show").unwrap_or_else(|| "open".to_owned());
        if ITEM_FILTERS.iter().any(|f| f.0 == wanted) { wanted } else { "open".to_owned() }
    });
    let chosen = RwSignal::new(show.get_untracked());
    let more = RwSignal::new(Vec::<ReconciliationItem>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let more_error = RwSignal::new(None::<String>);
    let first = LocalResource::new(move || {
        let show = show.get();
        async move { fetch_items(session, run_id, show, None).await }
    });
    Effect::new(move |_| {
        chosen.set(show.get());
        more.set(Vec::new());
        more_cursor.set(None);
        more_error.set(None);
    });
    let filter = move |event: SubmitEvent| {
        event.prevent_default();
        navigate(
            &format!("/staff/payments/reconciliation/{run_id}?show={}", chosen.get_untracked()),
            Default::default(),
        );
    };
    let load_more = move |_| {
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first.get_untracked().and_then(Result::ok).and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        let asked = show.get_untracked();
        spawn_local(async move {
            let result = fetch_items(session, run_id, asked.clone(), Some(cursor)).await;
            if show.get_untracked() != asked {
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
    };
    let options = ITEM_FILTERS
        .iter()
        .map(|(value, _, _, words)| view! { <option value=*value selected=move || chosen.get() == *value>{*words}</option> })
        .collect_view();
    view! {
        <section class="run-items" aria-labelledby="run-items-heading">
            <h2 id="run-items-heading">"Items"</h2>
            <form class="filter" on:submit=filter>
                <div class="field">
                    <label class="label" for="items-show">"Show"</label>
                    <select
                        id="items-show"
                        class="select"
                        on:change=move |event| chosen.set(event_target_value(&event))
                        prop:value=move || chosen.get()
                    >
                        {options}
                    </select>
                </div>
                <button type="submit" class="button button-secondary">"Show items"</button>
            </form>
            {move || match first.get() {
                None => view! { <p class="loading" role="status">"Loading items\u{2026}"</p> }.into_any(),
                Some(Err(error)) => view! {
                    <div class="load-error" role="alert">
                        <p>"We could not load the items. " {error.to_string()}</p>
                        <button type="button" class="button button-secondary" on:click=move |_| first.refetch()>
                            "Try again"
                        </button>
                    </div>
                }
                .into_any(),
                Some(Ok(page)) => {
                    let has_next = more_cursor.get().unwrap_or(page.next_cursor).is_some();
                    let rows: Vec<ReconciliationItem> = page.items.into_iter().chain(more.get()).collect();
                    if rows.is_empty() {
                        let words = ITEM_FILTERS.iter().find(|f| f.0 == show.get()).map(|f| f.3.to_lowercase()).unwrap_or_default();
                        return view! { <p class="empty">"Nothing to show: " {words} "."</p> }.into_any();
                    }
                    view! {
                        <ol class="results items">
                            {rows.into_iter().map(|item| view! { <ItemCard item on_change /> }).collect_view()}
                        </ol>
                        {has_next.then(|| view! {
                            <p>
                                <button type="button" class="button button-secondary" on:click=load_more>
                                    "Show more items"
                                </button>
                            </p>
                        })}
                    }
                    .into_any()
                }
            }}
            {move || more_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        </section>
    }
}

#[component]
fn ItemCard(item: ReconciliationItem, on_change: Callback<()>) -> impl IntoView {
    let id = item.id;
    let current = RwSignal::new(item);
    let heading_id = format!("item-{id}");
    let labelled_by = heading_id.clone();
    // Rebuilt only when the item opens or closes, not on every note.
    let workable = Memo::new(move |_| {
        current
            .with(|i| i.is_open() && matches!(i.status.as_str(), "amount_mismatch" | "unknown_account" | "not_in_file"))
    });
    let status = RwSignal::new(None::<String>);
    let details = move || {
        let i = current.get();
        let open = i.is_open();
        let mut amounts = Vec::new();
        if let Some(file) = i.file_amount_pence {
            amounts.push(format!("{} in the file", money(file)));
        }
        if let Some(ledger) = i.ledger_amount_pence {
            amounts.push(format!("{} in the ledger", money(ledger)));
        }
        if let Some(diff) = i.difference_pence {
            amounts.push(format!("difference {}", money(diff)));
        }
        let payment = match i.line {
            Some(line) => format!("{} (line {line})", i.provider_payment_id),
            None => i.provider_payment_id.clone(),
        };
        let resolved = i.resolved_at.as_deref().map(|at| match &i.resolved_by {
            Some(by) => format!("{} by {by}", dates::moment(at)),
            None => dates::moment(at),
        });
        let in_suspense = i.status == "unknown_account" && open;
        view! {
            <h3 class="result-name" id=heading_id.clone()>
                {reason_words(&i.status)} ": " <span class="mono">{i.account_reference}</span>
                <span class="tag" class:tag-open=open>{if open { "Open" } else { "Resolved" }}</span>
            </h3>
            <p class="item-reason">{i.reason}</p>
            <dl class="pairs">
                <div>
                    <dt>"Amount"</dt>
                    <dd>{amounts.join(", ")}</dd>
                </div>
                <div>
                    <dt>"Provider payment"</dt>
                    <dd class="mono break">{payment}</dd>
                </div>
                {i.paid_at.map(|paid| view! {
                    <div>
                        <dt>"Paid"</dt>
                        <dd>{dates::moment(&paid)}</dd>
                    </div>
                })}
                {i.note.map(|note| view! {
                    <div>
                        <dt>"Notes"</dt>
                        <dd class="note">{note}</dd>
                    </div>
                })}
                {resolved.map(|resolved| view! {
                    <div>
                        <dt>"Resolved"</dt>
                        <dd>{resolved}</dd>
                    </div>
                })}
            </dl>
            {in_suspense.then(|| view! {
                <p class="flag">
                    "The money is held in suspense. Allocate it to the right account or close it in the "
                    <A href="/staff/payments/suspense">"suspense queue"</A>
                    "; this item then closes by itself."
                </p>
            })}
        }
    };
    view! {
        <li class="card result item-card" aria-labelledby=labelled_by data-item-id=id.to_string()>
            {details}
            {move || workable.get().then(|| view! { <ResolveForm current status on_change /> })}
            <p class="action-status" role="status">{move || status.get()}</p>
        </li>
    }
}

/// Works one exception: a note that leaves it open, or a note that closes it.
#[component]
fn ResolveForm(
    current: RwSignal<ReconciliationItem>,
    status: RwSignal<Option<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let session = Session::expect();
    let id = current.with_untracked(|i| i.id);
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let act = move |action: ResolveAction| {
        if busy.get_untracked() {
            return;
        }
        let text = note.get_untracked().trim().to_owned();
        if text.is_empty() {
            error.set(Some("Write a note: what you found or did.".to_owned()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session
                .authorised(|token| {
                    let text = text.clone();
                    async move { ApiClient::default().resolve_item(&token, id, action, &text).await }
                })
                .await;
            busy.try_set(false);
            match result {
                Ok(item) => {
                    note.try_set(String::new());
                    status.try_set(Some(match action {
                        ResolveAction::Note => "Note added. The exception is still open.".to_owned(),
                        ResolveAction::Close => "Exception closed.".to_owned(),
                    }));
                    current.try_set(item);
                    on_change.run(());
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        act(ResolveAction::Note);
    };
    let note_id = format!("resolve-{id}-note");
    let error_id = format!("resolve-{id}-error");
    view! {
        <details class="work">
            <summary>"Work this exception"</summary>
            <form on:submit=submit novalidate>
                <div class="field" class:field-has-error=move || error.get().is_some()>
                    <label class="label" for=note_id.clone()>"Note"</label>
                    <p class="field-hint">"What you found or did, for example \u{201c}Provider confirmed the file amount; HMS adjusted\u{201d}."</p>
                    {
                        let error_id = error_id.clone();
                        move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone() role="alert">{message}</p> })
                    }
                    <textarea
                        id=note_id
                        class="textarea"
                        rows="3"
                        maxlength="1000"
                        aria-describedby=move || error.get().is_some().then(|| error_id.clone())
                        bind:value=note
                    ></textarea>
                </div>
                <div class="actions">
                    <button type="submit" class="button button-secondary" aria-disabled=move || busy.get().then_some("true")>
                        "Add note, keep open"
                    </button>
                    <button
                        type="button"
                        class="button button-primary"
                        aria-disabled=move || busy.get().then_some("true")
                        on:click=move |_| act(ResolveAction::Close)
                    >
                        "Close the exception"
                    </button>
                </div>
            </form>
        </details>
    }
}
