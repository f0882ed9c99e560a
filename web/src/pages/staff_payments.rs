//! Staff: payments, for the income team (and admins). "How tenants pay" (`/staff/payments`):
//! payments by channel per day or rent week as a bar chart, with the same figures as a table.
//! The suspense queue (`/staff/payments/suspense`): money that arrived for a reference that
//! is no account's, allocated to the right account (found with the tenant search) or closed
//! with a note. The reconciliation screens are in `staff_reconciliation`.

use chrono::{Days, NaiveDate};
use doorstep_shared::Money;
use doorstep_shared::dto::Page as ApiPage;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::accounts::TenantMatch;
use crate::api::identity::{Account, Me};
use crate::api::payments::{ChannelFigure, PaymentsByChannel, SuspensePayment};
use crate::api::{ApiClient, ApiError};
use crate::components::guard::RequireSignIn;
use crate::components::ledger::channel_words;
use crate::components::page::Page;
use crate::dates;
use crate::session::Session;

/// The payments screens' own navigation, at the top of each.
#[component]
pub fn PaymentsNav() -> impl IntoView {
    view! {
        <nav class="sub-nav" aria-label="Payments">
            <ul>
                <li>
                    <A href="/staff/payments" exact=true>"How tenants pay"</A>
                </li>
                <li>
                    <A href="/staff/payments/reconciliation">"Reconciliation"</A>
                </li>
                <li>
                    <A href="/staff/payments/suspense">"Suspense"</A>
                </li>
            </ul>
        </nav>
    }
}

#[component]
pub fn NotForYou(me: Me) -> impl IntoView {
    let what = if me.is_staff() { "Your role does not include payments." } else { "This page is for staff." };
    view! {
        <p class="lede">{what}</p>
        <p>"If you need it, ask an administrator of your organisation."</p>
    }
}

/// A payment channel in words for staff, when the API gave no label.
fn channel_label(channel: &str) -> String {
    match channel_words(channel) {
        Some(words) => {
            let mut chars = words.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
        None => channel.replace('_', " "),
    }
}

// ----- how tenants pay -----

#[component]
pub fn StaffPayments() -> impl IntoView {
    view! {
        <Page heading="How tenants pay" wide=true>
            <RequireSignIn let:me>
                {if me.works_payments() {
                    view! {
                        <PaymentsNav />
                        <ByChannel />
                    }
                        .into_any()
                } else {
                    view! { <NotForYou me /> }.into_any()
                }}
            </RequireSignIn>
        </Page>
    }
}

/// The range asked for: from, to and `day` or `week`.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    from: NaiveDate,
    to: NaiveDate,
    group: &'static str,
}

impl Range {
    /// The last four weeks, by day.
    fn default_for(today: NaiveDate) -> Range {
        Range { from: today.checked_sub_days(Days::new(27)).unwrap_or(today), to: today, group: "day" }
    }
}

#[component]
fn ByChannel() -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let navigate = use_navigate();
    let range = Memo::new(move |_| {
        let q = query.read();
        let default = Range::default_for(dates::today());
        let from = q.get("from").and_then(|d| dates::parse_input(&d)).unwrap_or(default.from);
        let to = q.get("to").and_then(|d| dates::parse_input(&d)).unwrap_or(default.to);
        let group = if q.get("group").as_deref() == Some("week") { "week" } else { "day" };
        Range { from, to, group }
    });
    let from_text = RwSignal::new(String::new());
    let to_text = RwSignal::new(String::new());
    let group = RwSignal::new("day");
    let form_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let r = range.get();
        from_text.set(r.from.to_string());
        to_text.set(r.to.to_string());
        group.set(r.group);
    });
    let report = LocalResource::new(move || {
        let r = range.get();
        async move {
            session
                .authorised(move |token| async move {
                    ApiClient::default().payments_by_channel(&token, r.from, r.to, r.group).await
                })
                .await
        }
    });
    let show = move |event: SubmitEvent| {
        event.prevent_default();
        let (from, to) = (dates::parse_input(&from_text.get_untracked()), dates::parse_input(&to_text.get_untracked()));
        let problem = match (from, to) {
            (None, _) => Some("Enter the first date, for example 1 November 2026."),
            (_, None) => Some("Enter the last date, for example 30 November 2026."),
            (Some(f), Some(t)) if f > t => Some("The first date must not be after the last date."),
            _ => None,
        };
        form_error.set(problem.map(str::to_owned));
        if let (None, Some(from), Some(to)) = (problem, from, to) {
            navigate(
                &format!("/staff/payments?from={from}&to={to}&group={}", group.get_untracked()),
                Default::default(),
            );
        }
    };

    view! {
        <p class="lede">"Payments received by channel, from every way tenants pay."</p>
        <form class="filter channel-filter" on:submit=show>
            <div class="field">
                <label class="label" for="channels-from">"From"</label>
                <input id="channels-from" class="input input-10" type="date" bind:value=from_text />
            </div>
            <div class="field">
                <label class="label" for="channels-to">"To"</label>
                <input id="channels-to" class="input input-10" type="date" bind:value=to_text />
            </div>
            <fieldset class="field choice">
                <legend class="label">"Show totals by"</legend>
                <label class="radio">
                    <input type="radio" name="group" value="day" prop:checked=move || group.get() == "day" on:change=move |_| group.set("day") />
                    " Day"
                </label>
                <label class="radio">
                    <input type="radio" name="group" value="week" prop:checked=move || group.get() == "week" on:change=move |_| group.set("week") />
                    " Rent week"
                </label>
            </fieldset>
            <button type="submit" class="button button-secondary">"Show payments"</button>
        </form>
        {move || form_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        {move || match report.get() {
            None => view! { <p class="loading" role="status">"Loading payments\u{2026}"</p> }.into_any(),
            Some(Ok(report)) => view! { <ChannelReport report /> }.into_any(),
            Some(Err(error)) => view! {
                <div class="load-error" role="alert">
                    <p>"We could not load the payments. " {error.to_string()}</p>
                    <button type="button" class="button button-secondary" on:click=move |_| report.refetch()>
                        "Try again"
                    </button>
                </div>
            }
            .into_any(),
        }}
    }
}

/// "1 November 2026" for a day, "week of 2 November 2026" for a rent week.
fn period_words(start: NaiveDate, group: &str) -> String {
    if group == "week" { format!("Week of {}", dates::date(start)) } else { dates::date(start) }
}

fn count_words(n: i64) -> String {
    format!("{n} {}", if n == 1 { "payment" } else { "payments" })
}

/// The chart's bars: one per period, a segment per channel, in drawing units of a
/// 1000 × 300 box (the SVG stretches to its container).
#[derive(Debug, Clone, PartialEq)]
struct Bar {
    x: f64,
    width: f64,
    /// `(series index, y, height)`, bottom segment first.
    segments: Vec<(usize, f64, f64)>,
}

const CHART_W: f64 = 1000.0;
const CHART_H: f64 = 300.0;

fn bars(report: &PaymentsByChannel) -> (Vec<Bar>, i64) {
    let tallest = report.periods.iter().map(|p| p.amount_pence).max().unwrap_or(0).max(1);
    let slot = CHART_W / report.periods.len().max(1) as f64;
    let width = (slot * 0.7).max(1.0);
    let bars = report
        .periods
        .iter()
        .enumerate()
        .map(|(i, period)| {
            let mut top = CHART_H;
            let segments = report
                .channels
                .iter()
                .enumerate()
                .filter_map(|(series, channel)| {
                    let amount = period.channels.iter().find(|f| f.channel == channel.channel)?.amount_pence;
                    (amount > 0).then(|| {
                        let height = amount as f64 / tallest as f64 * CHART_H;
                        top -= height;
                        (series, top, height)
                    })
                })
                .collect();
            Bar { x: i as f64 * slot + (slot - width) / 2.0, width, segments }
        })
        .collect();
    (bars, tallest)
}

/// The chart in words, for screen readers and as its caption.
fn report_summary(report: &PaymentsByChannel) -> String {
    let by = if report.group == "week" { "rent week" } else { "day" };
    let mut words = format!(
        "{} from {} to {}, {} in all, shown by {by}.",
        count_words(report.payments),
        dates::date(report.from),
        dates::date(report.to),
        Money::from_pence(report.amount_pence),
    );
    let label = |code: &str| {
        report
            .channels
            .iter()
            .find(|c| c.channel == code)
            .map(|c| c.label.clone())
            .unwrap_or_else(|| channel_label(code))
    };
    let parts: Vec<String> = report
        .totals
        .iter()
        .filter(|t| t.payments > 0)
        .map(|t| format!("{} {} ({})", label(&t.channel), Money::from_pence(t.amount_pence), count_words(t.payments)))
        .collect();
    if !parts.is_empty() {
        words.push_str(" By channel, most money first: ");
        words.push_str(&parts.join("; "));
        words.push('.');
    }
    words
}

fn figure<'a>(figures: &'a [ChannelFigure], channel: &str) -> Option<&'a ChannelFigure> {
    figures.iter().find(|f| f.channel == channel)
}

#[component]
fn ChannelReport(report: PaymentsByChannel) -> impl IntoView {
    if report.payments == 0 {
        return view! {
            <p class="empty">
                "No payments from " {dates::date(report.from)} " to " {dates::date(report.to)} "."
            </p>
        }
        .into_any();
    }
    let (bars, tallest) = bars(&report);
    let summary = report_summary(&report);
    let group = report.group.clone();
    let legend = report
        .channels
        .iter()
        .enumerate()
        .map(|(series, c)| {
            let total = figure(&report.totals, &c.channel).map(|f| f.amount_pence).unwrap_or(0);
            view! {
                <li>
                    <span class=format!("swatch series-{}", series % 8) aria-hidden="true"></span>
                    {c.label.clone()} " " <span class="legend-total">{Money::from_pence(total).to_string()}</span>
                </li>
            }
        })
        .collect_view();
    let rects = bars
        .iter()
        .flat_map(|bar| {
            bar.segments.iter().map(move |(series, y, height)| {
                view! {
                    <rect
                        class=format!("bar series-{}", series % 8)
                        x=format!("{:.2}", bar.x)
                        y=format!("{y:.2}")
                        width=format!("{:.2}", bar.width)
                        height=format!("{height:.2}")
                    />
                }
            })
        })
        .collect_view();
    let first = report.periods.first().map(|p| period_words(p.start, &group)).unwrap_or_default();
    let last = report.periods.last().map(|p| period_words(p.start, &group)).unwrap_or_default();
    let heads =
        report.channels.iter().map(|c| view! { <th scope="col" class="num">{c.label.clone()}</th> }).collect_view();
    let rows = report
        .periods
        .iter()
        .map(|p| {
            let cells = report
                .channels
                .iter()
                .map(|c| {
                    let f = figure(&p.channels, &c.channel);
                    let (amount, count) = f.map(|f| (f.amount_pence, f.payments)).unwrap_or((0, 0));
                    view! {
                        <td class="num" data-label=c.label.clone()>
                            {Money::from_pence(amount).to_string()}
                            <span class="count">" (" {count} ")"</span>
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">{period_words(p.start, &group)}</th>
                    {cells}
                    <td class="num" data-label="Total">
                        {Money::from_pence(p.amount_pence).to_string()}
                        <span class="count">" (" {p.payments} ")"</span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let foot = report
        .channels
        .iter()
        .map(|c| {
            let (amount, count) =
                figure(&report.totals, &c.channel).map(|f| (f.amount_pence, f.payments)).unwrap_or((0, 0));
            view! {
                <td class="num" data-label=c.label.clone()>
                    {Money::from_pence(amount).to_string()}
                    <span class="count">" (" {count} ")"</span>
                </td>
            }
        })
        .collect_view();
    let by = if group == "week" { "rent week" } else { "day" };
    view! {
        <figure class="chart channel-chart">
            <figcaption class="chart-caption">{format!("Money received by channel and {by}")}</figcaption>
            <ul class="legend" aria-label="Channels, with the money each brought in">{legend}</ul>
            <div class="chart-area">
                <span class="chart-label chart-top" aria-hidden="true">{Money::from_pence(tallest).to_string()}</span>
                <svg class="chart-svg" viewBox="0 0 1000 300" preserveAspectRatio="none" role="img" aria-label=summary.clone()>
                    {rects}
                </svg>
                <span class="chart-label chart-bottom" aria-hidden="true">"£0.00"</span>
            </div>
            <div class="chart-dates" aria-hidden="true">
                <span>{first}</span>
                <span>{last}</span>
            </div>
            <p class="chart-summary">{summary}</p>
        </figure>
        <div class="table-scroll" role="region" aria-labelledby="channel-table-caption" tabindex="0">
            <table class="figures channel-table">
                <caption id="channel-table-caption">
                    {format!("The same figures as a table: money received (and the number of payments) by channel and {by}")}
                </caption>
                <thead>
                    <tr>
                        <th scope="col">{if group == "week" { "Rent week" } else { "Day" }}</th>
                        {heads}
                        <th scope="col" class="num">"Total"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr>
                        <th scope="row">"All"</th>
                        {foot}
                        <td class="num" data-label="Total">
                            {Money::from_pence(report.amount_pence).to_string()}
                            <span class="count">" (" {report.payments} ")"</span>
                        </td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
    .into_any()
}

// ----- suspense -----

const SUSPENSE_STATUSES: &[(&str, &str)] =
    &[("open", "Waiting to be allocated"), ("allocated", "Allocated"), ("closed", "Closed"), ("all", "All")];

#[component]
pub fn StaffSuspense() -> impl IntoView {
    view! {
        <Page heading="Suspense payments" wide=true>
            <RequireSignIn let:me>
                {if me.works_payments() {
                    view! {
                        <PaymentsNav />
                        <SuspenseQueue />
                    }
                        .into_any()
                } else {
                    view! { <NotForYou me /> }.into_any()
                }}
            </RequireSignIn>
        </Page>
    }
}

async fn fetch_suspense(
    session: Session,
    status: String,
    cursor: Option<String>,
) -> Result<ApiPage<SuspensePayment>, ApiError> {
    session
        .authorised(move |token| {
            let status = status.clone();
            let cursor = cursor.clone();
            async move {
                let filter = (status != "all").then_some(status.as_str());
                ApiClient::default().suspense(&token, filter, cursor.as_deref()).await
            }
        })
        .await
}

#[component]
fn SuspenseQueue() -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let navigate = use_navigate();
    let status = Memo::new(move |_| {
        let wanted = query.read().get("status").unwrap_or_else(|| "open".to_owned());
        if SUSPENSE_STATUSES.iter().any(|(s, _)| *s == wanted) { wanted } else { "open".to_owned() }
    });
    let chosen = RwSignal::new(status.get_untracked());
    let more = RwSignal::new(Vec::<SuspensePayment>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let more_error = RwSignal::new(None::<String>);
    let first = LocalResource::new(move || {
        let status = status.get();
        async move { fetch_suspense(session, status, None).await }
    });
    Effect::new(move |_| {
        chosen.set(status.get());
        more.set(Vec::new());
        more_cursor.set(None);
        more_error.set(None);
    });
    let filter = move |event: SubmitEvent| {
        event.prevent_default();
        navigate(&format!("/staff/payments/suspense?status={}", chosen.get_untracked()), Default::default());
    };
    let load_more = move |_| {
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first.get_untracked().and_then(Result::ok).and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        let asked = status.get_untracked();
        spawn_local(async move {
            let result = fetch_suspense(session, asked.clone(), Some(cursor)).await;
            if status.get_untracked() != asked {
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
    let options = SUSPENSE_STATUSES
        .iter()
        .map(|(value, words)| view! { <option value=*value selected=move || chosen.get() == *value>{*words}</option> })
        .collect_view();
    view! {
        <p class="lede">
            "Money that arrived with a reference that is no account's. Find the account it was meant for and allocate it, or close it with a note (refunded to the payer, say)."
        </p>
        <form class="filter" on:submit=filter>
            <div class="field">
                <label class="label" for="suspense-status">"Show"</label>
                <select
                    id="suspense-status"
                    class="select"
                    on:change=move |event| chosen.set(event_target_value(&event))
                    prop:value=move || chosen.get()
                >
                    {options}
                </select>
            </div>
            <button type="submit" class="button button-secondary">"Show payments"</button>
        </form>
        {move || match first.get() {
            None => view! { <p class="loading" role="status">"Loading suspense payments\u{2026}"</p> }.into_any(),
            Some(Err(error)) => view! {
                <div class="load-error" role="alert">
                    <p>"We could not load the suspense payments. " {error.to_string()}</p>
                    <button type="button" class="button button-secondary" on:click=move |_| first.refetch()>
                        "Try again"
                    </button>
                </div>
            }
            .into_any(),
            Some(Ok(page)) => {
                let has_next = more_cursor.get().unwrap_or(page.next_cursor).is_some();
                let rows: Vec<SuspensePayment> = page.items.into_iter().chain(more.get()).collect();
                if rows.is_empty() {
                    let words = SUSPENSE_STATUSES
                        .iter()
                        .find(|(s, _)| *s == status.get())
                        .map(|(_, w)| w.to_lowercase())
                        .unwrap_or_default();
                    return view! { <p class="empty">"No suspense payments to show: " {words} "."</p> }.into_any();
                }
                let n = rows.len();
                view! {
                    <h2 class="results-heading">
                        {format!("{n} suspense {}", if n == 1 { "payment" } else { "payments" })}
                        {has_next.then_some(" so far")}
                    </h2>
                    <ol class="results suspense-list">
                        {rows.into_iter().map(|item| view! { <SuspenseCard item /> }).collect_view()}
                    </ol>
                    {has_next.then(|| view! {
                        <p>
                            <button type="button" class="button button-secondary" on:click=load_more>
                                "Show more suspense payments"
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

fn suspense_status_words(status: &str) -> &'static str {
    match status {
        "open" => "Waiting to be allocated",
        "allocated" => "Allocated",
        "closed" => "Closed",
        _ => "Unknown",
    }
}

/// One suspense payment, with what staff can do with it while it is open.
#[component]
fn SuspenseCard(item: SuspensePayment) -> impl IntoView {
    let id = item.id;
    let current = RwSignal::new(item);
    let message = RwSignal::new(None::<String>);
    let done = Callback::new(move |(updated, words): (SuspensePayment, String)| {
        current.set(updated);
        message.set(Some(words));
    });
    let heading_id = format!("suspense-{id}");
    let labelled_by = heading_id.clone();
    let details = move || {
        let s = current.get();
        let mut state = suspense_status_words(&s.status).to_owned();
        if let Some(number) = &s.allocated_account_number {
            state.push_str(&format!(" to account {number}"));
        }
        if let Some(by) = &s.resolved_by {
            state.push_str(&format!(" by {by}"));
        }
        let held = match s.origin.as_str() {
            "reconciliation" => format!("{} (found by reconciliation)", dates::moment(&s.received_at)),
            _ => dates::moment(&s.received_at),
        };
        let open = s.status == "open";
        view! {
            <h3 class="result-name" id=heading_id.clone()>
                {Money::from_pence(s.amount_pence).to_string()} " with reference "
                <span class="mono">{s.account_reference.clone()}</span>
            </h3>
            <dl class="pairs">
                <div>
                    <dt>"Paid"</dt>
                    <dd>{dates::moment(&s.paid_at)}</dd>
                </div>
                <div>
                    <dt>"Channel"</dt>
                    <dd>{channel_label(&s.channel)}</dd>
                </div>
                <div>
                    <dt>"Provider payment"</dt>
                    <dd class="mono break">{format!("{} {}", s.provider, s.provider_payment_id)}</dd>
                </div>
                <div>
                    <dt>"Held since"</dt>
                    <dd>{held}</dd>
                </div>
                <div>
                    <dt>"Status"</dt>
                    <dd class="suspense-status">{state}</dd>
                </div>
                {s.note.clone().map(|note| view! {
                    <div>
                        <dt>"Notes"</dt>
                        <dd class="note">{note}</dd>
                    </div>
                })}
            </dl>
            {open.then(|| view! {
                <AllocateForm item=s.clone() done />
                <CloseForm item=s done />
            })}
        }
    };
    view! {
        <li class="card result suspense-item" aria-labelledby=labelled_by data-suspense-id=id.to_string()>
            {details}
            <p class="action-status" role="status">{move || message.get()}</p>
        </li>
    }
}

/// Finds the account the money was meant for (the tenant search: account number, name,
/// address or postcode) and allocates the payment to it.
#[component]
fn AllocateForm(item: SuspensePayment, done: Callback<(SuspensePayment, String)>) -> impl IntoView {
    let session = Session::expect();
    let id = item.id;
    let amount = Money::from_pence(item.amount_pence).to_string();
    let q = RwSignal::new(item.account_reference.clone());
    let matches = RwSignal::new(None::<Result<Vec<TenantMatch>, String>>);
    let chosen = RwSignal::new(None::<i64>);
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let search = move |event: SubmitEvent| {
        event.prevent_default();
        let words = q.get_untracked().trim().to_owned();
        if words.is_empty() {
            matches.set(Some(Err("Enter an account number, a name, an address or a postcode.".to_owned())));
            return;
        }
        chosen.set(None);
        spawn_local(async move {
            let found = session
                .authorised(|token| {
                    let words = words.clone();
                    async move { ApiClient::default().staff_tenants(&token, &words, None).await }
                })
                .await;
            matches.try_set(Some(found.map(|page| page.items).map_err(|e| e.to_string())));
        });
    };
    let allocate_amount = amount.clone();
    let allocate = move |_| {
        if busy.get_untracked() {
            return;
        }
        let Some(account_id) = chosen.get_untracked() else {
            error.set(Some("Choose the account to allocate the payment to.".to_owned()));
            return;
        };
        let note_text = note.get_untracked().trim().to_owned();
        let amount = allocate_amount.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session
                .authorised(|token| {
                    let note_text = note_text.clone();
                    async move {
                        let note = (!note_text.is_empty()).then_some(note_text.as_str());
                        ApiClient::default().allocate_suspense(&token, id, account_id, note).await
                    }
                })
                .await;
            busy.try_set(false);
            match result {
                Ok(updated) => {
                    let number = updated.allocated_account_number.clone().unwrap_or_default();
                    done.run((updated, format!("{amount} allocated to account {number} and posted to it.")));
                }
                Err(error_) => {
                    error.try_set(Some(error_.to_string()));
                }
            }
        });
    };
    let q_id = format!("allocate-{id}-q");
    let note_id = format!("allocate-{id}-note");
    let group_name = format!("allocate-{id}-account");
    view! {
        <details class="work">
            <summary>"Allocate to an account" <span class="visually-hidden">" (" {amount.clone()} ")"</span></summary>
            <form class="filter" role="search" on:submit=search>
                <div class="field">
                    <label class="label" for=q_id.clone()>"Account number, name, address or postcode"</label>
                    <input id=q_id class="input input-20" type="search" autocomplete="off" spellcheck="false" bind:value=q />
                </div>
                <button type="submit" class="button button-secondary">"Find accounts"</button>
            </form>
            {move || matches.get().map(|found| match found {
                Err(message) => view! { <p class="field-error" role="alert">{message}</p> }.into_any(),
                Ok(found) if found.iter().all(|m| m.accounts.is_empty()) => {
                    view! { <p class="empty" role="status">"No account matches. Try a name or a postcode."</p> }.into_any()
                }
                Ok(found) => {
                    let group_name = group_name.clone();
                    let options = found
                        .into_iter()
                        .flat_map(|m| {
                            let who = if m.tenants.is_empty() { "(no tenant named)".to_owned() } else { m.tenants.join(" and ") };
                            let address = m.address.join(", ");
                            m.accounts.into_iter().map(move |a| (who.clone(), address.clone(), a))
                        })
                        .map(|(who, address, account): (String, String, Account)| {
                            let account_id = account.id;
                            let input_id = format!("{group_name}-{account_id}");
                            view! {
                                <li>
                                    <input
                                        type="radio"
                                        id=input_id.clone()
                                        name=group_name.clone()
                                        value=account_id.to_string()
                                        prop:checked=move || chosen.get() == Some(account_id)
                                        on:change=move |_| chosen.set(Some(account_id))
                                    />
                                    <label for=input_id>
                                        <span class="mono">{account.account_number.clone()}</span>
                                        " " {account.kind_label.clone()} ": " {who} ", " {address}
                                        <span class="hint">" (" {account.balance_text.clone()} ")"</span>
                                    </label>
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <fieldset class="account-choice">
                            <legend class="label">"Allocate to"</legend>
                            <ul class="plain radios">{options}</ul>
                        </fieldset>
                    }
                    .into_any()
                }
            })}
            <div class="field">
                <label class="label" for=note_id.clone()>"Note (optional)"</label>
                <p class="field-hint">"How you found the account, for example \u{201c}Tenant phoned: typed 1000 for 100\u{201d}."</p>
                <textarea id=note_id class="textarea" rows="2" maxlength="1000" bind:value=note></textarea>
            </div>
            {move || error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <button type="button" class="button button-primary" aria-disabled=move || busy.get().then_some("true") on:click=allocate>
                "Allocate " {amount}
            </button>
        </details>
    }
}

/// Closes a suspense payment without posting it; a note must say why.
#[component]
fn CloseForm(item: SuspensePayment, done: Callback<(SuspensePayment, String)>) -> impl IntoView {
    let session = Session::expect();
    let id = item.id;
    let amount = Money::from_pence(item.amount_pence).to_string();
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close_amount = amount.clone();
    let close = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let note_text = note.get_untracked().trim().to_owned();
        if note_text.is_empty() {
            error.set(Some(
                "Say why it is closed without posting, for example \u{201c}Refunded to the payer\u{201d}.".to_owned(),
            ));
            return;
        }
        let amount = close_amount.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session
                .authorised(|token| {
                    let note_text = note_text.clone();
                    async move { ApiClient::default().close_suspense(&token, id, &note_text).await }
                })
                .await;
            busy.try_set(false);
            match result {
                Ok(updated) => done.run((updated, format!("{amount} closed without posting."))),
                Err(error_) => {
                    error.try_set(Some(error_.to_string()));
                }
            }
        });
    };
    let note_id = format!("close-{id}-note");
    let error_id = format!("close-{id}-error");
    view! {
        <details class="work">
            <summary>"Close without posting" <span class="visually-hidden">" (" {amount} ")"</span></summary>
            <form on:submit=close novalidate>
                <div class="field" class:field-has-error=move || error.get().is_some()>
                    <label class="label" for=note_id.clone()>"Why is it closed?"</label>
                    {
                        let error_id = error_id.clone();
                        move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })
                    }
                    <textarea
                        id=note_id
                        class="textarea"
                        rows="2"
                        maxlength="1000"
                        aria-describedby=move || error.get().is_some().then(|| error_id.clone())
                        bind:value=note
                    ></textarea>
                </div>
                <button type="submit" class="button button-warning" aria-disabled=move || busy.get().then_some("true")>
                    "Close without posting"
                </button>
            </form>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::payments::{ChannelPeriod, PaymentChannel};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn report() -> PaymentsByChannel {
        let fig =
            |channel: &str, payments, amount_pence| ChannelFigure { channel: channel.into(), payments, amount_pence };
        PaymentsByChannel {
            from: d("2026-11-01"),
            to: d("2026-11-02"),
            group: "day".into(),
            channels: vec![
                PaymentChannel { channel: "direct_debit".into(), label: "Direct Debit".into() },
                PaymentChannel { channel: "retail_cash".into(), label: "Cash at a shop".into() },
            ],
            periods: vec![
                ChannelPeriod {
                    start: d("2026-11-01"),
                    end: d("2026-11-01"),
                    payments: 3,
                    amount_pence: 20_000,
                    channels: vec![fig("direct_debit", 2, 15_000), fig("retail_cash", 1, 5_000)],
                },
                ChannelPeriod {
                    start: d("2026-11-02"),
                    end: d("2026-11-02"),
                    payments: 0,
                    amount_pence: 0,
                    channels: vec![fig("direct_debit", 0, 0), fig("retail_cash", 0, 0)],
                },
            ],
            totals: vec![fig("direct_debit", 2, 15_000), fig("retail_cash", 1, 5_000)],
            payments: 3,
            amount_pence: 20_000,
        }
    }

    #[test]
    fn bars_stack_each_channel_up_to_the_tallest_period() {
        let (bars, tallest) = bars(&report());
        assert_eq!(tallest, 20_000);
        assert_eq!(bars.len(), 2);
        // The busiest day fills the height: Direct Debit at the bottom, cash on top.
        let segments = &bars[0].segments;
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].0, 0);
        assert!((segments[0].1 - 75.0).abs() < 1e-9 && (segments[0].2 - 225.0).abs() < 1e-9, "{segments:?}");
        assert!((segments[1].1).abs() < 1e-9 && (segments[1].2 - 75.0).abs() < 1e-9, "{segments:?}");
        assert!(bars[1].segments.is_empty());
        assert!(bars[1].x > bars[0].x + bars[0].width);
    }

    #[test]
    fn the_summary_says_it_in_words() {
        let words = report_summary(&report());
        assert!(words.starts_with("3 payments from 1 November 2026 to 2 November 2026, £200.00 in all"), "{words}");
        assert!(words.contains("Direct Debit £150.00 (2 payments); Cash at a shop £50.00 (1 payment)"), "{words}");
    }

    #[test]
    fn the_default_range_is_the_last_four_weeks() {
        let r = Range::default_for(d("2026-11-28"));
        assert_eq!((r.from, r.to, r.group), (d("2026-11-01"), d("2026-11-28"), "day"));
        assert_eq!(channel_label("retail_cash"), "Cash at a shop");
        assert_eq!(channel_label("carrier_pigeon"), "carrier pigeon");
    }
}
