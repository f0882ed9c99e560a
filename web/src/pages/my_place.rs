//! My Place (`/my-place`): a signed-in tenant's home and housing officer from `GET /me`, and
//! a rent panel per account (balance kept live, latest lines, paying in, links to its history
//! and statements).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::ApiClient;
use crate::api::identity::{Account, HousingOfficer, Me, Tenancy};
use crate::components::footer::tel_href;
use crate::components::guard::RequireSignIn;
use crate::components::ledger::{RecentLines, balance_class};
use crate::components::page::Page;
use crate::dates;
use crate::live::Live;
use crate::session::Session;

#[component]
pub fn MyPlace() -> impl IntoView {
    view! {
        <Page heading="My Place">
            <RequireSignIn let:me>
                {if me.person.is_some() { view! { <TenantHome me /> }.into_any() } else { view! { <StaffHere /> }.into_any() }}
            </RequireSignIn>
        </Page>
    }
}

#[component]
fn TenantHome(me: Me) -> impl IntoView {
    let greeting = me.person.as_ref().map(|p| p.greeting_name()).unwrap_or_else(|| me.display_name());
    let landlord = me.organisation.as_ref().map(|org| org.name.clone());
    let tenancies = me.tenancies.clone();
    let empty = tenancies.is_empty().then(|| {
        view! {
            <p>
                "We cannot find a current tenancy for you. If you think this is wrong, please phone "
                {landlord.clone().unwrap_or_else(|| "your landlord".to_owned())} "."
            </p>
        }
    });
    let several = tenancies.len() > 1;
    // One live connection for every account on the page.
    Live::provide();
    view! {
        <p class="lede greeting">"Hello, " {greeting} "."</p>
        {empty}
        {tenancies
            .into_iter()
            .map(|tenancy| view! { <TenancyCard tenancy several /> })
            .collect_view()}
    }
}

#[component]
fn TenancyCard(tenancy: Tenancy, several: bool) -> impl IntoView {
    let heading_id = format!("home-{}", tenancy.id);
    let lines = tenancy.property.lines();
    let heading = if several || tenancy.property.kind != "home" {
        format!("{} ({})", lines.first().cloned().unwrap_or_default(), tenancy.property.kind.replace('_', " "))
    } else {
        "Your home".to_owned()
    };
    let address = lines.into_iter().map(|line| view! { <span class="address-line">{line}</span> }).collect_view();
    let accounts = tenancy.accounts.clone();
    let accounts_heading = format!("accounts-{}", tenancy.id);
    view! {
        <section class="my-home" aria-labelledby=heading_id>
            <h2 id=heading_id.clone()>{heading}</h2>
            <div class="home-grid">
                <div class="card">
                    <h3>"Address"</h3>
                    <address class="home-address">{address}</address>
                    <dl class="facts">
                        <div>
                            <dt>"Tenancy"</dt>
                            <dd>{tenancy.reference.clone()} ", " {tenancy.tenure.replace('_', " ")}</dd>
                        </div>
                        <div>
                            <dt>"Since"</dt>
                            <dd>{dates::day(&tenancy.start_date)}</dd>
                        </div>
                    </dl>
                </div>
                <OfficerCard officer=tenancy.housing_officer.clone() />
            </div>
            <h3 id=accounts_heading.clone()>"Your accounts"</h3>
            {if accounts.is_empty() {
                view! { <p>"There are no accounts on this tenancy."</p> }.into_any()
            } else {
                view! {
                    <ul class="accounts" aria-labelledby=accounts_heading>
                        {accounts.into_iter().map(|account| view! { <RentPanel account /> }).collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn OfficerCard(officer: Option<HousingOfficer>) -> impl IntoView {
    let body = match officer {
        Some(officer) => {
            let phone = officer.phone.map(|phone| {
                view! {
                    <div>
                        <dt>"Phone"</dt>
                        <dd>
                            <a href=tel_href(&phone)>{phone.clone()}</a>
                        </dd>
                    </div>
                }
            });
            let email = officer.email.map(|email| {
                view! {
                    <div>
                        <dt>"Email"</dt>
                        <dd>
                            <a href=format!("mailto:{email}")>{email.clone()}</a>
                        </dd>
                    </div>
                }
            });
            view! {
                <p class="officer-name">{officer.name}</p>
                <dl class="facts">{phone} {email}</dl>
            }
            .into_any()
        }
        None => view! {
            <p>"No housing officer is looking after your home at the moment. Our contact details are at the foot of the page."</p>
        }
        .into_any(),
    };
    view! {
        <div class="card">
            <h3>"Your housing officer"</h3>
            {body}
        </div>
    }
}

/// One account on My Place: its balance in words, when it last moved, the three latest
/// lines, the way to pay into it, and the way to its history and statements. It starts from
/// `GET /accounts/{id}` and then follows the page's live connection (`accountUpdated`), so a
/// payment from any channel shows without a reload; a change is also read out politely.
#[component]
fn RentPanel(account: Account) -> impl IntoView {
    let session = Session::expect();
    let id = account.id;
    let summary = LocalResource::new(move || async move {
        session.authorised(move |token| async move { ApiClient::default().account(&token, id).await }).await
    });
    let live = Live::from_context().map(|live| live.watch_account(id));
    // The live state once it has arrived (every push follows a change, so it is never older
    // than what the page read before it), else what the page read.
    let current =
        Memo::new(move |_| live.and_then(|watch| watch.value.get()).or_else(|| summary.get().and_then(Result::ok)));
    let balance_text = {
        let text = account.balance_text.clone();
        move || current.with(|s| s.as_ref().map(|s| s.balance_text.clone())).unwrap_or_else(|| text.clone())
    };
    let state = move || current.with(|s| s.as_ref().map(|s| s.balance_state)).unwrap_or(account.balance_state);
    let last_date = move || {
        current
            .with(|s| s.as_ref().map(|s| s.last_transaction_date))
            .unwrap_or(account.last_entry_date)
            .map(dates::date)
            .unwrap_or_else(|| "None yet".to_owned())
    };
    // What changed, said once per change (not on the first load).
    let announcement = RwSignal::new(String::new());
    Effect::new(move |before: Option<Option<i64>>| {
        let now = current.with(|s| s.as_ref().map(|s| s.balance_pence));
        if let (Some(Some(before)), Some(after)) = (before, now)
            && before != after
        {
            let text = current.with_untracked(|s| s.as_ref().map(|s| s.balance_text.clone())).unwrap_or_default();
            announcement.set(change_words(before, after, &text));
        }
        now
    });
    let weekly = (account.weekly_charge_pence != 0)
        .then(|| format!("{} a week", doorstep_shared::Money::from_pence(account.weekly_charge_pence)));
    let heading_id = format!("account-{id}");
    let kind_label = account.kind_label.clone();
    let lower_label = kind_label.to_lowercase();
    let history_label = lower_label.clone();
    let pay_label = lower_label.clone();
    let labelled_by = heading_id.clone();
    view! {
        <li class="card account rent-panel" aria-labelledby=labelled_by data-account-id=id.to_string()>
            <h4 id=heading_id>{kind_label.clone()}</h4>
            <p class=move || balance_class(state())>{balance_text}</p>
            <p class="balance-change" aria-live="polite">{move || announcement.get()}</p>
            <dl class="facts">
                <div>
                    <dt>"Account number (your payment reference)"</dt>
                    <dd class="account-number">{account.account_number.clone()}</dd>
                </div>
                {weekly.map(|weekly| view! {
                    <div>
                        <dt>"Charge"</dt>
                        <dd>{weekly}</dd>
                    </div>
                })}
                <div>
                    <dt>"Last transaction"</dt>
                    <dd class="last-transaction">{last_date}</dd>
                </div>
            </dl>
            <p class="pay-action">
                <A href=format!("/my-place/accounts/{id}/pay") attr:class="button button-primary pay-link">
                    "Pay"
                    <span class="visually-hidden">" into your " {pay_label} " account"</span>
                </A>
            </p>
            <h5 class="recent-heading">"Latest transactions"</h5>
            {move || match current.get() {
                Some(s) => view! { <RecentLines lines=s.recent /> }.into_any(),
                None => match summary.get() {
                    Some(Err(error)) => view! {
                        <p class="load-error">{format!("We could not load the latest transactions. {error}")}</p>
                    }
                    .into_any(),
                    _ => view! { <p class="loading" role="status">"Loading\u{2026}"</p> }.into_any(),
                },
            }}
            <p class="account-links">
                <A href=format!("/my-place/accounts/{id}")>
                    "History"
                    <span class="visually-hidden">" of your " {history_label} " account"</span>
                </A>
                <A href=format!("/my-place/accounts/{id}/statement")>
                    "Statement"
                    <span class="visually-hidden">" of your " {lower_label} " account"</span>
                </A>
            </p>
        </li>
    }
    .into_any()
}

/// "Balance updated: £12.34 paid in. Now £87.66 in arrears."
fn change_words(before: i64, after: i64, now: &str) -> String {
    let moved = doorstep_shared::Money::from_pence((after - before).saturating_abs());
    let what = if after < before { format!("{moved} paid in") } else { format!("{moved} charged") };
    format!("Balance updated: {what}. Now {now}.")
}

/// Staff have no home in the portal; point them at their own screens.
#[component]
fn StaffHere() -> impl IntoView {
    view! {
        <p class="lede">"My Place is where tenants see their home and accounts."</p>
        <p>
            "You are signed in as a member of staff. "
            <A href="/staff/tenants">"Find a tenant"</A>
            " or "
            <A href="/staff/registrations">"go to registration requests"</A>
            "."
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::change_words;

    #[test]
    fn changes_say_which_way_the_money_went() {
        assert_eq!(
            change_words(10_000, 8_766, "£87.66 in arrears"),
            "Balance updated: £12.34 paid in. Now £87.66 in arrears."
        );
        assert_eq!(
            change_words(-500, 8_500, "£85.00 in arrears"),
            "Balance updated: £90.00 charged. Now £85.00 in arrears."
        );
    }
}
