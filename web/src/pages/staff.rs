//! Staff: the registration queue (`/staff/registrations?status=`). Each request beside the
//! tenancy it matched, validate or reject it, download its PIN letter or a day's print run.

use std::collections::HashMap;

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::identity::{MatchedTenancy, Me, RegistrationPage, RegistrationView, Submitted};
use crate::api::{ApiClient, ApiError};
use crate::components::form::focus_after_render;
use crate::components::guard::RequireSignIn;
use crate::components::page::Page;
use crate::dates;
use crate::session::Session;

/// The queue's filters: the API's status, and how to say it.
const STATUSES: &[(&str, &str)] = &[
    ("pending", "Waiting for a decision"),
    ("unmatched", "Unmatched"),
    ("validated", "Validated, letter due or posted"),
    ("locked", "Locked after wrong PINs"),
    ("expired", "PIN expired"),
    ("rejected", "Rejected"),
    ("activated", "Activated"),
    ("all", "All requests"),
];

fn status_words(status: &str) -> &'static str {
    match status {
        "pending" => "Waiting for a decision",
        "unmatched" => "Unmatched",
        "validated" => "Validated",
        "locked" => "Locked: too many wrong PINs",
        "expired" => "PIN expired",
        "rejected" => "Rejected",
        "activated" => "Activated",
        _ => "Unknown",
    }
}

#[component]
pub fn StaffRegistrations() -> impl IntoView {
    view! {
        <Page heading="Registration requests" wide=true>
            <RequireSignIn let:me>
                {if me.works_registrations() { view! { <Queue /> }.into_any() } else { view! { <NotForYou me /> }.into_any() }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
fn NotForYou(me: Me) -> impl IntoView {
    let what = if me.is_staff() { "Your role does not include registrations." } else { "This page is for staff." };
    view! {
        <p class="lede">{what}</p>
        <p>"If you need it, ask an administrator of your organisation."</p>
    }
}

/// What staff are about to decide, in the confirmation dialog.
#[derive(Debug, Clone, PartialEq)]
enum Decision {
    Validate(RegistrationView),
    Reject(RegistrationView),
}

impl Decision {
    fn request(&self) -> &RegistrationView {
        match self {
            Decision::Validate(r) | Decision::Reject(r) => r,
        }
    }
}

#[component]
fn Queue() -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let navigate = use_navigate();
    let status = Memo::new(move |_| {
        let wanted = query.read().get("status").unwrap_or_else(|| "pending".to_owned());
        if STATUSES.iter().any(|(s, _)| *s == wanted) { wanted } else { "pending".to_owned() }
    });
    let chosen = RwSignal::new(status.get_untracked());
    // Requests changed here since the page loaded (a decision, a letter), shown over the list.
    let changed = RwSignal::new(HashMap::<i64, RegistrationView>::new());
    // Later pages, after "Show more".
    let more = RwSignal::new(Vec::<RegistrationView>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let message = RwSignal::new(None::<(bool, String)>);

    let first_page = LocalResource::new(move || {
        let status = status.get();
        async move { fetch_page(session, status, None).await }
    });
    // A new filter starts afresh.
    Effect::new(move |_| {
        chosen.set(status.get());
        more.set(Vec::new());
        more_cursor.set(None);
        changed.set(HashMap::new());
    });

    let filter = move |event: SubmitEvent| {
        event.prevent_default();
        navigate(&format!("/staff/registrations?status={}", chosen.get_untracked()), Default::default());
    };

    let load_more = Callback::new(move |()| {
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first_page.get_untracked().and_then(|page| page.ok()).and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        let status = status.get_untracked();
        spawn_local(async move {
            match fetch_page(session, status, Some(cursor)).await {
                Ok(page) => {
                    more.update(|rows| rows.extend(page.items));
                    more_cursor.set(Some(page.next_cursor));
                }
                Err(error) => message.set(Some((false, error.to_string()))),
            }
        });
    });

    let dialog = NodeRef::<html::Dialog>::new();
    let deciding = RwSignal::new(None::<Decision>);
    let ask = Callback::new(move |decision: Decision| {
        deciding.set(Some(decision));
        if let Some(dialog) = dialog.get_untracked() {
            let _ = dialog.show_modal();
        }
    });
    let decided = Callback::new(move |(view, words): (RegistrationView, String)| {
        changed.update(|rows| {
            rows.insert(view.id, view);
        });
        message.set(Some((true, words)));
        focus_after_render(".action-status");
    });
    let downloaded = Callback::new(move |(id, result): (Option<i64>, Result<(), ApiError>)| {
        match result {
            Ok(()) => {
                let words = match id {
                    Some(id) => {
                        format!("The PIN letter for REG-{id} is downloaded. Print it and post it in a window envelope.")
                    }
                    None => {
                        "The print run is downloaded. Print the letters and post them in window envelopes.".to_owned()
                    }
                };
                message.set(Some((true, words)));
                focus_after_render(".action-status");
                if id.is_none() {
                    // Every letter in the run is now marked as made: load the queue again.
                    changed.set(HashMap::new());
                    more.set(Vec::new());
                    more_cursor.set(None);
                    first_page.refetch();
                }
                // A letter drawn from the queue is marked as made: show it.
                if let Some(id) = id {
                    spawn_local(async move {
                        if let Ok(view) = session
                            .authorised(
                                |token| async move { ApiClient::default().staff_registration(&token, id).await },
                            )
                            .await
                        {
                            changed.update(|rows| {
                                rows.insert(view.id, view);
                            });
                        }
                    });
                }
            }
            Err(error) => {
                message.set(Some((false, download_error(&error))));
                focus_after_render(".action-status");
            }
        }
    });

    let options = STATUSES
        .iter()
        .map(|(value, words)| {
            view! {
                <option value=*value selected=move || chosen.get() == *value>
                    {*words}
                </option>
            }
        })
        .collect_view();

    view! {
        <p class="lede">"Check each request against the tenancy it matched, then validate it or reject it."</p>
        <PrintRun downloaded />
        <form class="filter" on:submit=filter>
            <div class="field">
                <label class="label" for="status-filter">
                    "Show"
                </label>
                <select
                    id="status-filter"
                    class="select"
                    on:change=move |event| chosen.set(event_target_value(&event))
                    prop:value=move || chosen.get()
                >
                    {options}
                </select>
            </div>
            <button type="submit" class="button button-secondary">
                "Show requests"
            </button>
        </form>
        <p class="action-status" class:action-error=move || message.with(|m| m.as_ref().is_some_and(|(ok, _)| !ok)) role="status" tabindex="-1">
            {move || message.get().map(|(_, words)| words)}
        </p>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading requests\u{2026}"</p> }>
            <ErrorBoundary fallback=move |errors| view! { <LoadFailed errors retry=move || first_page.refetch() /> }>
                {move || Suspend::new(async move {
                    first_page.await.map(|page| {
                        view! {
                            <QueueList page status=status.get_untracked() more more_cursor changed ask downloaded load_more />
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <DecisionDialog dialog deciding decided />
    }
}

async fn fetch_page(session: Session, status: String, cursor: Option<String>) -> Result<RegistrationPage, ApiError> {
    session
        .authorised(move |token| {
            let status = status.clone();
            let cursor = cursor.clone();
            async move {
                let filter = (status != "all").then_some(status.as_str());
                ApiClient::default().staff_registrations(&token, filter, cursor.as_deref()).await
            }
        })
        .await
}

#[component]
fn LoadFailed(errors: ArcRwSignal<Errors>, retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let message =
        move || errors.with(|errors| errors.iter().next().map(|(_, error)| error.to_string())).unwrap_or_default();
    view! {
        <div class="load-error" role="alert">
            <p>"We could not load the requests. " {message}</p>
            <button type="button" class="button button-secondary" on:click=move |_| retry()>
                "Try again"
            </button>
        </div>
    }
}

/// The first page and any more, each request as changed since (a decision, a letter made).
#[component]
fn QueueList(
    page: RegistrationPage,
    status: String,
    more: RwSignal<Vec<RegistrationView>>,
    more_cursor: RwSignal<Option<Option<String>>>,
    changed: RwSignal<HashMap<i64, RegistrationView>>,
    ask: Callback<Decision>,
    downloaded: Callback<(Option<i64>, Result<(), ApiError>)>,
    load_more: Callback<()>,
) -> impl IntoView {
    let first = page.items;
    let first_next = page.next_cursor;
    let rows = Memo::new(move |_| {
        changed.with(|overrides| {
            first
                .iter()
                .cloned()
                .chain(more.get())
                .map(|row| overrides.get(&row.id).cloned().unwrap_or(row))
                .collect::<Vec<_>>()
        })
    });
    let has_next = move || more_cursor.get().unwrap_or_else(|| first_next.clone()).is_some();
    let words = STATUSES.iter().find(|(s, _)| *s == status).map(|(_, w)| *w).unwrap_or("Requests");
    let caption = move || {
        let count = rows.with(Vec::len);
        format!("{words}: {count} {}", if count == 1 { "request" } else { "requests" })
    };
    view! {
        <Show
            when=move || !rows.with(Vec::is_empty)
            fallback=move || view! { <p class="empty">"No requests to show: " {words.to_lowercase()} "."</p> }
        >
            <table class="queue" role="table">
                <caption>{caption}</caption>
                <thead role="rowgroup">
                    <tr role="row">
                        <th scope="col" role="columnheader">"Request"</th>
                        <th scope="col" role="columnheader">"What the person gave"</th>
                        <th scope="col" role="columnheader">"Matched tenancy"</th>
                        <th scope="col" role="columnheader">"Status"</th>
                        <th scope="col" role="columnheader">"Actions"</th>
                    </tr>
                </thead>
                <tbody role="rowgroup">
                    <For
                        each=move || rows.get()
                        key=|row| (row.id, row.status.clone(), row.letter_printed_at.clone(), row.pin_attempts)
                        let:row
                    >
                        <QueueRow row ask downloaded />
                    </For>
                </tbody>
            </table>
        </Show>
        {move || has_next().then(|| view! {
            <p>
                <button type="button" class="button button-secondary" on:click=move |_| load_more.run(())>
                    "Show more requests"
                </button>
            </p>
        })}
    }
}

#[component]
fn QueueRow(
    row: RegistrationView,
    ask: Callback<Decision>,
    downloaded: Callback<(Option<i64>, Result<(), ApiError>)>,
) -> impl IntoView {
    let session = Session::expect();
    let reference = row.reference();
    let unmatched = row.matched.is_none();
    let validate = row.can_validate().then(|| {
        let again = row.status != "pending";
        let row = row.clone();
        let reference = reference.clone();
        view! {
            <button type="button" class="button button-primary" on:click=move |_| ask.run(Decision::Validate(row.clone()))>
                {if again { "New PIN" } else { "Validate" }}
                <span class="visually-hidden">" " {reference}</span>
            </button>
        }
    });
    let reject = row.can_reject().then(|| {
        let row = row.clone();
        let reference = reference.clone();
        view! {
            <button type="button" class="button button-warning" on:click=move |_| ask.run(Decision::Reject(row.clone()))>
                "Reject"
                <span class="visually-hidden">" " {reference}</span>
            </button>
        }
    });
    let letter = row.has_letter().then(|| {
        let id = row.id;
        let url = ApiClient::default().letter_url(id);
        let filename = format!("pin-letter-{}.pdf", reference.to_lowercase());
        let reference = reference.clone();
        view! {
            <a
                class="download"
                href=url.clone()
                download=filename.clone()
                on:click=move |event| {
                    event.prevent_default();
                    let url = url.clone();
                    let filename = filename.clone();
                    spawn_local(async move {
                        let result = download_pdf(session, &url, &filename).await;
                        downloaded.run((Some(id), result));
                    });
                }
            >
                "Download letter"
                <span class="visually-hidden">" for " {reference}</span>
                " (PDF)"
            </a>
        }
    });
    view! {
        <tr role="row" class:unmatched=unmatched id=format!("request-{}", row.id)>
            <th scope="row" role="rowheader" data-label="Request">
                <span class="request-ref">{reference.clone()}</span>
                <span class="request-date">"Received " {dates::moment(&row.created_at)}</span>
            </th>
            <td role="cell" data-label="What the person gave">
                <SubmittedDetails submitted=row.submitted.clone() />
            </td>
            <td role="cell" data-label="Matched tenancy">
                <MatchedDetails
                    matched=row.matched.clone()
                    open=matches!(row.status.as_str(), "pending" | "validated" | "locked" | "expired")
                />
            </td>
            <td role="cell" data-label="Status">
                <StatusDetails row=row.clone() />
            </td>
            <td role="cell" data-label="Actions">
                <div class="actions">{validate} {reject} {letter}</div>
            </td>
        </tr>
    }
}

#[component]
fn SubmittedDetails(submitted: Submitted) -> impl IntoView {
    view! {
        <dl class="pairs">
            <div>
                <dt>"Account number"</dt>
                <dd class="mono">{submitted.account_number}</dd>
            </div>
            <div>
                <dt>"Surname"</dt>
                <dd>{submitted.surname}</dd>
            </div>
            <div>
                <dt>"Postcode"</dt>
                <dd>{submitted.postcode}</dd>
            </div>
            <div>
                <dt>"Email"</dt>
                <dd class="break">{submitted.email.unwrap_or_else(|| "None given".to_owned())}</dd>
            </div>
        </dl>
    }
}

#[component]
fn MatchedDetails(
    matched: Option<MatchedTenancy>,
    /// Whether the request still waits for something (so a sign-in elsewhere matters).
    open: bool,
) -> impl IntoView {
    let Some(matched) = matched else {
        return view! {
            <p class="flag flag-unmatched">
                <strong>"No match. "</strong>
                "No current tenancy has this account number with this surname and postcode. Contact the person "
                "before rejecting: there is no address to post a PIN to."
            </p>
        }
        .into_any();
    };
    let matched_person = matched.matched_person.clone();
    let tenants = matched
        .tenants
        .iter()
        .map(|name| {
            let is_match = matched_person.as_deref() == Some(name.as_str());
            view! {
                <li>
                    {name.clone()}
                    {is_match.then(|| view! { <span class="tag">"surname matches"</span> })}
                </li>
            }
        })
        .collect_view();
    let address =
        matched.address.iter().map(|line| view! { <span class="address-line">{line.clone()}</span> }).collect_view();
    let registered = (matched.already_registered && open).then(|| {
        view! { <p class="flag">"This tenant already has a sign-in, so a PIN cannot be issued."</p> }
    });
    view! {
        <dl class="pairs">
            <div>
                <dt>"Account number"</dt>
                <dd class="mono">{matched.account_number.unwrap_or_else(|| "Not known".to_owned())}</dd>
            </div>
            <div>
                <dt>"Tenants"</dt>
                <dd>
                    <ul class="plain">{tenants}</ul>
                </dd>
            </div>
            <div>
                <dt>"Address"</dt>
                <dd>
                    <address>{address}</address>
                </dd>
            </div>
            <div>
                <dt>"Tenancy"</dt>
                <dd>{matched.tenancy_ref} ", " {matched.tenure.replace('_', " ")} ", " {matched.organisation}</dd>
            </div>
        </dl>
        {registered}
    }
    .into_any()
}

#[component]
fn StatusDetails(row: RegistrationView) -> impl IntoView {
    let badge_class = format!("badge badge-{}", row.status);
    let reason = row.reject_reason.clone().map(|reason| view! { <p class="status-note">"Reason: " {reason}</p> });
    let letter = match (&row.letter_printed_at, &row.letter_due) {
        (Some(printed), _) => Some(format!("Letter made {}", dates::moment(printed))),
        (None, Some(due)) if row.status == "validated" => {
            Some(format!("Letter due in the print run of {}", dates::day(due)))
        }
        _ => None,
    }
    .map(|words| view! { <p class="status-note">{words}</p> });
    let expires = row
        .pin_expires_at
        .clone()
        .filter(|_| row.status == "validated")
        .map(|at| view! { <p class="status-note">"PIN works until " {dates::moment(&at)}</p> });
    let attempts = (row.pin_attempts > 0).then(|| {
        let n = row.pin_attempts;
        view! { <p class="status-note">{n} {if n == 1 { " wrong PIN" } else { " wrong PINs" }}</p> }
    });
    view! {
        <span class=badge_class>{status_words(&row.status)}</span>
        {reason}
        {letter}
        {expires}
        {attempts}
    }
}

/// The confirmation for a decision: validating posts a PIN; rejecting needs a reason.
#[component]
fn DecisionDialog(
    dialog: NodeRef<html::Dialog>,
    deciding: RwSignal<Option<Decision>>,
    decided: Callback<(RegistrationView, String)>,
) -> impl IntoView {
    let session = Session::expect();
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };
    // A fresh dialog each time it opens.
    Effect::new(move |_| {
        deciding.track();
        reason.set(String::new());
        error.set(None);
    });

    let confirm = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(decision) = deciding.get_untracked() else { return };
        let id = decision.request().id;
        let reference = decision.request().reference();
        let reason_text = reason.get_untracked().trim().to_owned();
        if matches!(decision, Decision::Reject(_)) && reason_text.is_empty() {
            error.set(Some("Enter a reason the person can be told.".to_owned()));
            focus_after_render("#reject-reason");
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = match &decision {
                Decision::Validate(_) => {
                    session
                        .authorised(|token| async move { ApiClient::default().validate_registration(&token, id).await })
                        .await
                }
                Decision::Reject(_) => {
                    session
                        .authorised(|token| {
                            let reason_text = reason_text.clone();
                            async move { ApiClient::default().reject_registration(&token, id, &reason_text).await }
                        })
                        .await
                }
            };
            busy.set(false);
            match result {
                Ok(view) => {
                    let words = match decision {
                        Decision::Validate(_) => format!(
                            "{reference} is validated. Its PIN letter joins the print run of {}, or you can download it \
                             on its own now.",
                            view.letter_due.as_deref().map(dates::day).unwrap_or_else(|| "today".to_owned())
                        ),
                        Decision::Reject(_) => format!("{reference} is rejected."),
                    };
                    close();
                    deciding.set(None);
                    decided.run((view, words));
                }
                Err(error_value) => error.set(Some(error_value.to_string())),
            }
        });
    };

    let body = move || {
        let decision = deciding.get()?;
        let request = decision.request().clone();
        let reference = request.reference();
        let who = request
            .matched
            .as_ref()
            .map(|m| {
                let name = m.matched_person.clone().or_else(|| m.tenants.first().cloned()).unwrap_or_default();
                format!("{name}, {}", m.address.join(", "))
            })
            .unwrap_or_else(|| format!("{} ({})", request.submitted.surname, request.submitted.postcode));
        let (title, explain, action, class) = match decision {
            Decision::Validate(_) if request.status == "pending" => (
                format!("Validate {reference}?"),
                format!("A PIN letter will be posted to {who}. It joins today\u{2019}s print run."),
                "Validate and issue a PIN",
                "button button-primary",
            ),
            Decision::Validate(_) => (
                format!("Issue a new PIN for {reference}?"),
                format!(
                    "A new PIN letter will be posted to {who}. The PIN posted before stops working, and the \
                     count of wrong PINs starts again."
                ),
                "Issue a new PIN",
                "button button-primary",
            ),
            Decision::Reject(_) => (
                format!("Reject {reference}?"),
                format!("The request from {who} will be closed, and any PIN already issued stops working."),
                "Reject request",
                "button button-warning",
            ),
        };
        let reason_field = matches!(decision, Decision::Reject(_)).then(|| {
            view! {
                <div class="field" class:field-has-error=move || error.get().is_some()>
                    <label class="label" for="reject-reason">
                        "Reason"
                    </label>
                    <p class="field-hint" id="reject-reason-hint">
                        "In words the person can be told, for example \u{201c}The account number and surname do not match our records\u{201d}."
                    </p>
                    <textarea
                        id="reject-reason"
                        class="textarea"
                        rows="3"
                        maxlength="500"
                        aria-describedby=move || {
                            if error.get().is_some() { "reject-reason-hint decision-error" } else { "reject-reason-hint" }
                        }
                        bind:value=reason
                    ></textarea>
                </div>
            }
        });
        Some(view! {
            <form class="dialog-body" on:submit=confirm>
                <h2 id="decision-title">{title}</h2>
                <p>{explain}</p>
                {reason_field}
                {move || error.get().map(|message| view! {
                    <p class="field-error" id="decision-error" role="alert">{message}</p>
                })}
                <div class="actions">
                    <button type="submit" class=class aria-disabled=move || busy.get().then_some("true")>
                        {action}
                    </button>
                    <button type="button" class="button button-secondary" on:click=move |_| close()>
                        "Cancel"
                    </button>
                </div>
            </form>
        })
    };

    view! {
        <dialog class="dialog" node_ref=dialog aria-labelledby="decision-title" on:close=move |_| deciding.set(None)>
            {body}
        </dialog>
    }
}

/// The day's print run: every letter validated that day and not yet made, as one PDF.
#[component]
fn PrintRun(downloaded: Callback<(Option<i64>, Result<(), ApiError>)>) -> impl IntoView {
    let session = Session::expect();
    let today = dates::today_utc();
    let date = RwSignal::new(today.clone());
    let href = move || ApiClient::default().print_run_url(&date.get());
    let words = {
        let today = today.clone();
        move || {
            let chosen = date.get();
            if chosen == today {
                "Download today\u{2019}s print run".to_owned()
            } else {
                format!("Download the print run of {}", dates::day(&chosen))
            }
        }
    };
    view! {
        <section class="print-run card" aria-labelledby="print-run-heading">
            <h2 id="print-run-heading">"Print run"</h2>
            <p>
                "All the PIN letters validated on one day and not yet made, as one PDF to print. Each letter "
                "gets its PIN when the file is made, and is then marked as made."
            </p>
            <div class="print-run-controls">
                <div class="field">
                    <label class="label" for="print-run-date">
                        "Letters validated on"
                    </label>
                    <input id="print-run-date" class="input input-10" type="date" max=today.clone() bind:value=date />
                </div>
                <a
                    class="button button-secondary"
                    href=href
                    download=move || format!("pin-letters-{}.pdf", date.get())
                    on:click=move |event| {
                        event.prevent_default();
                        let chosen = date.get_untracked();
                        if chosen.is_empty() {
                            return;
                        }
                        let url = ApiClient::default().print_run_url(&chosen);
                        spawn_local(async move {
                            let result = download_pdf(session, &url, &format!("pin-letters-{chosen}.pdf")).await;
                            downloaded.run((None, result));
                        });
                    }
                >
                    {words}
                    " (PDF)"
                </a>
            </div>
        </section>
    }
}

fn download_error(error: &ApiError) -> String {
    match error {
        ApiError::NotFound => "There are no letters waiting to be made for that day.".to_owned(),
        ApiError::Status { status: 409, .. } => format!("No letter: {error}"),
        other => format!("The download did not work. {other}"),
    }
}

/// Fetches a PDF behind the access token and hands it to the browser as a download. (A plain
/// link cannot carry the token, which lives only in this page's memory.)
async fn download_pdf(session: Session, url: &str, filename: &str) -> Result<(), ApiError> {
    let url = url.to_owned();
    let bytes = session
        .authorised(|token| {
            let url = url.clone();
            async move { ApiClient::default().download(&token, &url).await }
        })
        .await?;
    crate::download::save_file(&bytes, filename).map_err(|_| ApiError::Decode)
}
