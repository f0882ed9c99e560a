//! Rent accounts on screen, for tenants (My Place) and staff (a tenant's page) alike: the few
//! latest lines, the history with its balance chart, date filters and "Load more", and the
//! statement download.

use chrono::NaiveDate;
use doorstep_shared::Money;
use doorstep_shared::dto::{BalanceState, Page, Transaction};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::accounts::{Period, StatementFormat, last_financial_year};
use crate::api::{ApiClient, ApiError};
use crate::dates;
use crate::session::Session;

/// What to call a kind of line. Housing Benefit and Universal Credit are their own kinds, so
/// that a tenant can tell them from their own payments.
pub fn kind_words(kind: &str) -> &'static str {
    match kind {
        "charge" => "Charge",
        "payment" => "Payment",
        "housing_benefit" => "Housing Benefit",
        "universal_credit" => "Universal Credit",
        "adjustment" => "Adjustment",
        "refund" => "Refund",
        "reversal" => "Correction",
        _ => "Other",
    }
}

/// How a payment arrived, in words.
pub fn channel_words(channel: &str) -> Option<&'static str> {
    Some(match channel {
        "web" => "online",
        "app" => "in the app",
        "telephone" => "by phone",
        "retail_cash" => "cash at a shop",
        "recurring_card" => "regular card payment",
        "pay_by_link" => "payment link",
        "direct_debit" => "Direct Debit",
        "standing_order" => "standing order",
        _ => return None,
    })
}

/// The CSS class of a line's kind: one of a known set, never text from the API.
fn kind_class(kind: &str) -> &'static str {
    match kind {
        "charge" => "kind kind-charge",
        "payment" => "kind kind-payment",
        "housing_benefit" => "kind kind-housing-benefit",
        "universal_credit" => "kind kind-universal-credit",
        "refund" => "kind kind-refund",
        _ => "kind kind-other",
    }
}

pub fn balance_class(state: BalanceState) -> &'static str {
    match state {
        BalanceState::InArrears => "balance balance-arrears",
        BalanceState::InCredit => "balance balance-credit",
        BalanceState::Clear => "balance balance-clear",
    }
}

/// A line's amount: charges as they are, money in with a minus (it lowers what is owed).
fn amount_text(pence: i64) -> String {
    let amount = Money::from_pence(pence.saturating_abs());
    if pence < 0 { format!("\u{2212}{amount}") } else { amount.to_string() }
}

/// What a screen reader says for an amount: "£25.00 paid in", "£102.50 charged".
fn amount_words(pence: i64) -> String {
    let amount = Money::from_pence(pence.saturating_abs());
    if pence < 0 { format!("{amount} paid in") } else { format!("{amount} charged") }
}

/// The line's description, with how a payment arrived when the description does not say.
fn details(t: &Transaction) -> String {
    match t.channel.as_deref().and_then(channel_words) {
        Some(how) if t.kind == "payment" && !t.description.to_lowercase().contains(&how.to_lowercase()) => {
            format!("{} ({how})", t.description)
        }
        _ => t.description.clone(),
    }
}

/// The latest lines of an account, newest first, as a short list.
#[component]
pub fn RecentLines(lines: Vec<Transaction>) -> impl IntoView {
    if lines.is_empty() {
        return view! { <p class="hint">"Nothing has been charged or paid on this account yet."</p> }.into_any();
    }
    let items = lines
        .into_iter()
        .map(|t| {
            let amount = amount_text(t.amount_pence);
            let amount_sr = amount_words(t.amount_pence);
            view! {
                <li class="recent-line">
                    <span class="recent-date">{dates::date(t.date)}</span>
                    <span class="recent-what">
                        <span class=kind_class(&t.kind)>{kind_words(&t.kind)}</span>
                        " "
                        {details(&t)}
                    </span>
                    <span class="recent-amount" class:credit=t.amount_pence < 0>
                        <span aria-hidden="true">{amount}</span>
                        <span class="visually-hidden">{amount_sr}</span>
                    </span>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="recent-lines">{items}</ul> }.into_any()
}

/// A section's heading at the level the page needs.
fn section_heading(level: u8, id: String, text: String) -> AnyView {
    match level {
        3 => view! { <h3 id=id>{text}</h3> }.into_any(),
        4 => view! { <h4 id=id>{text}</h4> }.into_any(),
        _ => view! { <h2 id=id>{text}</h2> }.into_any(),
    }
}

async fn fetch_page(
    session: Session,
    account_id: i64,
    period: Period,
    cursor: Option<String>,
) -> Result<Page<Transaction>, ApiError> {
    session
        .authorised(move |token| {
            let cursor = cursor.clone();
            async move { ApiClient::default().transactions(&token, account_id, period, cursor.as_deref()).await }
        })
        .await
}

/// An account's history: date filters, the balance over time as a chart (with the same in
/// words), and the lines newest first with the balance after each, a page at a time.
#[component]
pub fn AccountHistory(
    account_id: i64,
    /// What the account is called in headings and labels: "Rent", "Garage".
    #[prop(into)]
    label: String,
    /// The level of the section's heading, to fit the page around it.
    #[prop(default = 2)]
    heading_level: u8,
    /// Bumped when the account has changed (a live update): the history is read again.
    #[prop(optional, into)]
    refresh: Option<Signal<u64>>,
) -> impl IntoView {
    let session = Session::expect();
    let period = RwSignal::new(Period::default());
    let from_text = RwSignal::new(String::new());
    let to_text = RwSignal::new(String::new());
    let filter_error = RwSignal::new(None::<String>);
    let first = LocalResource::new(move || {
        let period = period.get();
        async move { fetch_page(session, account_id, period, None).await }
    });
    let more = RwSignal::new(Vec::<Transaction>::new());
    // `None` until "Load more" has been used; then the cursor of the last page loaded.
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let loading_more = RwSignal::new(false);
    let more_error = RwSignal::new(None::<String>);
    // A new period starts afresh.
    Effect::new(move |_| {
        period.track();
        more.set(Vec::new());
        more_cursor.set(None);
        more_error.set(None);
    });

    // A change to the account: read the first page again, and drop the later ones (their
    // lines may have moved between pages).
    if let Some(refresh) = refresh {
        Effect::new(move |before: Option<u64>| {
            let now = refresh.get();
            if before.is_some_and(|before| before != now) {
                more.set(Vec::new());
                more_cursor.set(None);
                more_error.set(None);
                first.refetch();
            }
            now
        });
    }

    let ids = HistoryIds::new(account_id);
    let apply = move |event: SubmitEvent| {
        event.prevent_default();
        let from = from_text.get_untracked();
        let to = to_text.get_untracked();
        let parsed_from = dates::parse_input(&from);
        let parsed_to = dates::parse_input(&to);
        let problem = if !from.trim().is_empty() && parsed_from.is_none() {
            Some("Enter the first date as a date, for example 1 April 2025.")
        } else if !to.trim().is_empty() && parsed_to.is_none() {
            Some("Enter the last date as a date, for example 31 March 2026.")
        } else if matches!((parsed_from, parsed_to), (Some(f), Some(t)) if f > t) {
            Some("The first date must not be after the last date.")
        } else {
            None
        };
        filter_error.set(problem.map(str::to_owned));
        if problem.is_none() {
            period.set(Period { from: parsed_from, to: parsed_to });
        }
    };
    let clear = move |_| {
        from_text.set(String::new());
        to_text.set(String::new());
        filter_error.set(None);
        period.set(Period::default());
    };
    let load_more = Callback::new(move |()| {
        if loading_more.get_untracked() {
            return;
        }
        let cursor = more_cursor
            .get_untracked()
            .unwrap_or_else(|| first.get_untracked().and_then(Result::ok).and_then(|page| page.next_cursor));
        let Some(cursor) = cursor else { return };
        let asked_for = period.get_untracked();
        loading_more.set(true);
        more_error.set(None);
        spawn_local(async move {
            let result = fetch_page(session, account_id, asked_for, Some(cursor)).await;
            // The filter changed while this page was on its way: it belongs to another list.
            if period.get_untracked() == asked_for {
                match result {
                    Ok(page) => {
                        more.update(|rows| rows.extend(page.items));
                        more_cursor.set(Some(page.next_cursor));
                    }
                    Err(error) => more_error.set(Some(error.to_string())),
                }
            }
            loading_more.set(false);
        });
    });

    let filter_ids = ids.clone();
    let caption_id = ids.caption.clone();
    view! {
        <section class="history" aria-labelledby=ids.heading.clone()>
            {section_heading(heading_level, ids.heading.clone(), format!("{label} account history"))}
            <form class="filter history-filter" on:submit=apply>
                <div class="field">
                    <label class="label" for=filter_ids.from.clone()>
                        "From"
                    </label>
                    <input id=filter_ids.from.clone() class="input input-10" type="date" bind:value=from_text />
                </div>
                <div class="field">
                    <label class="label" for=filter_ids.to.clone()>
                        "To"
                    </label>
                    <input id=filter_ids.to.clone() class="input input-10" type="date" bind:value=to_text />
                </div>
                <button type="submit" class="button button-secondary">
                    "Show these dates"
                </button>
                {move || {
                    period
                        .with(|p| *p != Period::default())
                        .then(|| {
                            view! {
                                <button type="button" class="button button-secondary" on:click=clear>
                                    "Show all dates"
                                </button>
                            }
                        })
                }}
            </form>
            {move || filter_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the history\u{2026}"</p> }>
                {move || {
                    let caption_id = caption_id.clone();
                    Suspend::new(async move {
                        match first.await {
                            Ok(page) => view! {
                                <HistoryBody
                                    page
                                    period=period.get_untracked()
                                    more
                                    more_cursor
                                    loading_more
                                    more_error
                                    load_more
                                    caption_id
                                />
                            }
                            .into_any(),
                            Err(error) => view! {
                                <div class="load-error" role="alert">
                                    <p>"We could not load the history. " {error.to_string()}</p>
                                    <button type="button" class="button button-secondary" on:click=move |_| first.refetch()>
                                        "Try again"
                                    </button>
                                </div>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
    .into_any()
}

/// Element ids of one account's history, unique on a page that shows several.
#[derive(Debug, Clone)]
struct HistoryIds {
    heading: String,
    from: String,
    to: String,
    caption: String,
}

impl HistoryIds {
    fn new(account_id: i64) -> Self {
        HistoryIds {
            heading: format!("history-{account_id}"),
            from: format!("history-{account_id}-from"),
            to: format!("history-{account_id}-to"),
            caption: format!("history-{account_id}-caption"),
        }
    }
}

/// "from 1 April 2025 to 31 March 2026", "since 1 April 2025", "up to 31 March 2026", "".
fn period_words(period: Period) -> String {
    match (period.from, period.to) {
        (Some(f), Some(t)) => format!(" from {} to {}", dates::date(f), dates::date(t)),
        (Some(f), None) => format!(" since {}", dates::date(f)),
        (None, Some(t)) => format!(" up to {}", dates::date(t)),
        (None, None) => String::new(),
    }
}

#[component]
fn HistoryBody(
    page: Page<Transaction>,
    period: Period,
    more: RwSignal<Vec<Transaction>>,
    more_cursor: RwSignal<Option<Option<String>>>,
    loading_more: RwSignal<bool>,
    more_error: RwSignal<Option<String>>,
    load_more: Callback<()>,
    caption_id: String,
) -> impl IntoView {
    let first = page.items;
    let first_next = page.next_cursor;
    let rows = Memo::new(move |_| first.iter().cloned().chain(more.get()).collect::<Vec<_>>());
    let has_next = move || more_cursor.get().unwrap_or_else(|| first_next.clone()).is_some();
    let when = period_words(period);
    let empty_words = if when.is_empty() {
        "There are no transactions on this account yet.".to_owned()
    } else {
        format!("There are no transactions{when}.")
    };
    let shown = move || {
        let n = rows.with(Vec::len);
        format!("{n} {} shown{when}, newest first.", if n == 1 { "transaction" } else { "transactions" })
    };
    view! {
        <Show when=move || !rows.with(Vec::is_empty) fallback=move || view! { <p class="empty">{empty_words.clone()}</p> }>
            <BalanceChart rows />
            <table class="ledger" role="table">
                <caption id=caption_id.clone()>{shown.clone()}</caption>
                <thead role="rowgroup">
                    <tr role="row">
                        <th scope="col" role="columnheader">"Date"</th>
                        <th scope="col" role="columnheader">"Details"</th>
                        <th scope="col" role="columnheader" class="num">"Amount"</th>
                        <th scope="col" role="columnheader" class="num">"Balance after"</th>
                    </tr>
                </thead>
                <tbody role="rowgroup">
                    <For each=move || rows.get() key=|t| t.id let:t>
                        <LedgerRow t />
                    </For>
                </tbody>
            </table>
        </Show>
        {move || more_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        {move || {
            has_next()
                .then(|| {
                    view! {
                        <p>
                            <button
                                type="button"
                                class="button button-secondary load-more"
                                aria-disabled=move || loading_more.get().then_some("true")
                                on:click=move |_| load_more.run(())
                            >
                                {move || if loading_more.get() { "Loading\u{2026}" } else { "Load more" }}
                            </button>
                        </p>
                    }
                })
        }}
    }
    .into_any()
}

#[component]
fn LedgerRow(t: Transaction) -> impl IntoView {
    let balance = BalanceState::describe(t.balance_after_pence);
    let balance_class = match BalanceState::of(t.balance_after_pence) {
        BalanceState::InArrears => "num arrears",
        BalanceState::InCredit => "num credit",
        BalanceState::Clear => "num",
    };
    let amount = amount_text(t.amount_pence);
    let amount_sr = amount_words(t.amount_pence);
    view! {
        <tr role="row" class="ledger-row" data-kind=t.kind.clone()>
            <th scope="row" role="rowheader" data-label="Date" class="ledger-date">
                {dates::date(t.date)}
            </th>
            <td role="cell" data-label="Details">
                <span class=kind_class(&t.kind)>{kind_words(&t.kind)}</span>
                " "
                <span class="ledger-description">{details(&t)}</span>
            </td>
            <td role="cell" data-label="Amount" class="num" class:credit=t.amount_pence < 0>
                <span aria-hidden="true">{amount}</span>
                <span class="visually-hidden">{amount_sr}</span>
            </td>
            <td role="cell" data-label="Balance after" class=balance_class>
                {balance}
            </td>
        </tr>
    }
    .into_any()
}

// ----- the chart -----

/// Drawing units of the chart's box; the SVG stretches to fit its container.
const CHART_W: f64 = 1000.0;
const CHART_H: f64 = 300.0;
const CHART_PAD: f64 = 12.0;

/// The balance over time as a step line: it changes only when a line is posted.
#[derive(Debug, Clone, PartialEq)]
struct ChartData {
    path: String,
    /// Where £0 is, when it is inside the chart.
    zero_y: f64,
    top_pence: i64,
    bottom_pence: i64,
    first: NaiveDate,
    last: NaiveDate,
    summary: String,
}

impl ChartData {
    /// From lines newest first, as the history holds them.
    fn from_lines(lines: &[Transaction]) -> Option<ChartData> {
        let oldest = lines.last()?;
        let newest = lines.first()?;
        let opening = oldest.balance_after_pence - oldest.amount_pence;
        let balances = || std::iter::once(opening).chain(lines.iter().map(|t| t.balance_after_pence));
        let highest = balances().max().unwrap_or(opening);
        let lowest = balances().min().unwrap_or(opening);
        let top = highest.max(0);
        let mut bottom = lowest.min(0);
        if top == bottom {
            bottom = top - 100;
        }
        let (first, last) = (oldest.date, newest.date);
        let days = (last - first).num_days().max(1) as f64;
        let x = |d: NaiveDate| ((d - first).num_days() as f64 / days * CHART_W).clamp(0.0, CHART_W);
        let span = (top - bottom) as f64;
        let y = |pence: i64| CHART_PAD + (top - pence) as f64 / span * (CHART_H - 2.0 * CHART_PAD);
        let mut path = format!("M0 {:.1}", y(opening));
        for t in lines.iter().rev() {
            path.push_str(&format!(" H{:.1} V{:.1}", x(t.date), y(t.balance_after_pence)));
        }
        if (last - first).num_days() == 0 {
            // One day only: draw it across the box rather than as a vertical stroke.
            path.push_str(&format!(" H{CHART_W:.1}"));
        }
        let summary = format!(
            "Balance over time: {} on {} and {} on {}. Highest {}, lowest {}.",
            BalanceState::describe(opening),
            dates::date(first),
            BalanceState::describe(newest.balance_after_pence),
            dates::date(last),
            BalanceState::describe(highest),
            BalanceState::describe(lowest),
        );
        Some(ChartData { path, zero_y: y(0), top_pence: top, bottom_pence: bottom, first, last, summary })
    }
}

#[component]
fn BalanceChart(rows: Memo<Vec<Transaction>>) -> impl IntoView {
    let chart = Memo::new(move |_| rows.with(|rows| ChartData::from_lines(rows)));
    move || {
        chart.get().map(|c| {
            let zero = format!("{:.1}", c.zero_y);
            view! {
                <figure class="chart">
                    <figcaption class="chart-caption">
                        "Balance over time. Above the line at \u{a3}0 you owe money; below it you are in credit."
                    </figcaption>
                    <div class="chart-area">
                        <span class="chart-label chart-top" aria-hidden="true">
                            {BalanceState::describe(c.top_pence)}
                        </span>
                        <svg
                            class="chart-svg"
                            viewBox="0 0 1000 300"
                            preserveAspectRatio="none"
                            role="img"
                            aria-label=c.summary.clone()
                        >
                            <line
                                class="chart-zero"
                                x1="0"
                                x2="1000"
                                y1=zero.clone()
                                y2=zero
                                vector-effect="non-scaling-stroke"
                            />
                            <path class="chart-line" d=c.path.clone() fill="none" vector-effect="non-scaling-stroke" />
                        </svg>
                        <span class="chart-label chart-bottom" aria-hidden="true">
                            {BalanceState::describe(c.bottom_pence)}
                        </span>
                    </div>
                    <div class="chart-dates" aria-hidden="true">
                        <span>{dates::date(c.first)}</span>
                        <span>{dates::date(c.last)}</span>
                    </div>
                    <p class="chart-summary">{c.summary.clone()}</p>
                </figure>
            }
        })
    }
}

// ----- statements -----

/// Statement download: any period, with a shortcut for the last financial year (1 April to
/// 31 March), as PDF or CSV. The file is fetched with the access token and saved from memory.
#[component]
pub fn StatementDownload(
    account_id: i64,
    #[prop(into)] account_number: String,
    /// What the account is called in the heading: "Rent", "Garage".
    #[prop(into)]
    label: String,
    /// The level of the section's heading, to fit the page around it.
    #[prop(default = 2)]
    heading_level: u8,
) -> impl IntoView {
    let session = Session::expect();
    let (fy_from, fy_to) = last_financial_year(dates::today());
    let from = RwSignal::new(fy_from.to_string());
    let to = RwSignal::new(fy_to.to_string());
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<(bool, String)>);
    let heading_id = format!("statement-{account_id}");
    let from_id = format!("statement-{account_id}-from");
    let to_id = format!("statement-{account_id}-to");
    let fy_words = format!("Last financial year ({} to {})", dates::date(fy_from), dates::date(fy_to));
    let today = dates::today().to_string();

    let download = move |format: StatementFormat| {
        let account_number = account_number.clone();
        if busy.get_untracked() {
            return;
        }
        let (Some(start), Some(end)) =
            (dates::parse_input(&from.get_untracked()), dates::parse_input(&to.get_untracked()))
        else {
            status.set(Some((false, "Enter both dates of the period, for example 1 April 2025.".to_owned())));
            return;
        };
        if start > end {
            status.set(Some((false, "The first date must not be after the last date.".to_owned())));
            return;
        }
        let filename = format!("statement-{account_number}-{start}-{end}.{}", format.as_str());
        busy.set(true);
        status.set(Some((true, "Preparing your statement\u{2026}".to_owned())));
        spawn_local(async move {
            let result = session
                .authorised(|token| async move {
                    ApiClient::default().statement(&token, account_id, start, end, format).await
                })
                .await
                .and_then(|bytes| crate::download::save_file(&bytes, &filename).map_err(|_| ApiError::Decode));
            busy.set(false);
            status.set(Some(match result {
                Ok(()) => (
                    true,
                    format!(
                        "Your statement from {} to {} ({}) is downloading.",
                        dates::date(start),
                        dates::date(end),
                        format.words()
                    ),
                ),
                Err(error) => (false, format!("The statement did not download. {error}")),
            }));
        });
    };

    let download_csv = download.clone();
    view! {
        <section class="statement card" aria-labelledby=heading_id.clone()>
            {section_heading(heading_level, heading_id.clone(), format!("{label} statements"))}
            <p>"A statement lists every charge and payment in a period, with the balance at its start and end."</p>
            <p>
                <button
                    type="button"
                    class="button button-secondary fy-shortcut"
                    on:click=move |_| {
                        from.set(fy_from.to_string());
                        to.set(fy_to.to_string());
                        status.set(None);
                    }
                >
                    {fy_words}
                </button>
            </p>
            <div class="statement-period">
                <div class="field">
                    <label class="label" for=from_id.clone()>
                        "From"
                    </label>
                    <input id=from_id class="input input-10" type="date" max=today.clone() bind:value=from />
                </div>
                <div class="field">
                    <label class="label" for=to_id.clone()>
                        "To"
                    </label>
                    <input id=to_id class="input input-10" type="date" bind:value=to />
                </div>
            </div>
            <div class="actions">
                <button
                    type="button"
                    class="button button-primary"
                    aria-disabled=move || busy.get().then_some("true")
                    on:click=move |_| download(StatementFormat::Pdf)
                >
                    "Download PDF"
                </button>
                <button
                    type="button"
                    class="button button-secondary"
                    aria-disabled=move || busy.get().then_some("true")
                    on:click=move |_| download_csv(StatementFormat::Csv)
                >
                    "Download CSV (spreadsheet)"
                </button>
            </div>
            <p class="action-status" class:action-error=move || status.with(|s| s.as_ref().is_some_and(|(ok, _)| !ok)) role="status">
                {move || status.get().map(|(_, words)| words)}
            </p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, date: &str, amount: i64, after: i64) -> Transaction {
        Transaction {
            id,
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            kind: if amount < 0 { "payment".into() } else { "charge".into() },
            description: "x".into(),
            amount_pence: amount,
            balance_after_pence: after,
            channel: None,
        }
    }

    #[test]
    fn the_chart_steps_through_the_balances_oldest_first() {
        // Newest first, as the API sends them: 100 owed, +50 charged, −200 paid.
        let lines = vec![
            line(3, "2026-01-15", -20_000, -5_000),
            line(2, "2026-01-08", 5_000, 15_000),
            line(1, "2026-01-01", 10_000, 10_000),
        ];
        let c = ChartData::from_lines(&lines).unwrap();
        assert_eq!(c.top_pence, 15_000);
        assert_eq!(c.bottom_pence, -5_000);
        assert!(c.path.starts_with("M0 "), "{}", c.path);
        assert_eq!(c.path.matches(" H").count(), 3);
        assert!(c.path.ends_with("H1000.0 V288.0"), "{}", c.path);
        assert!(c.summary.contains("£0.00 on 1 January 2026"), "{}", c.summary);
        assert!(c.summary.contains("£50.00 in credit on 15 January 2026"), "{}", c.summary);
        assert!(ChartData::from_lines(&[]).is_none());
    }

    #[test]
    fn amounts_read_as_money_in_and_out() {
        assert_eq!(amount_text(10_250), "£102.50");
        assert_eq!(amount_text(-2_500), "\u{2212}£25.00");
        assert_eq!(amount_words(-2_500), "£25.00 paid in");
        assert_eq!(kind_words("universal_credit"), "Universal Credit");
        assert_eq!(kind_words("housing_benefit"), "Housing Benefit");
    }
}
