//! My Place (`/my-place`): a signed-in tenant's home, housing officer and accounts, from
//! `GET /me`.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::identity::{Account, HousingOfficer, Me, Tenancy};
use crate::components::footer::tel_href;
use crate::components::guard::RequireSignIn;
use crate::components::page::Page;
use crate::dates;

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
                        {accounts.into_iter().map(|account| view! { <AccountCard account /> }).collect_view()}
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

#[component]
fn AccountCard(account: Account) -> impl IntoView {
    let state_class = format!("balance balance-{}", balance_class(&account));
    let weekly = (account.weekly_charge_pence != 0)
        .then(|| format!("{} a week", doorstep_shared::Money::from_pence(account.weekly_charge_pence)));
    view! {
        <li class="card account">
            <h4>{account.kind_label.clone()}</h4>
            <p class=state_class>{account.balance_text.clone()}</p>
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
            </dl>
        </li>
    }
}

fn balance_class(account: &Account) -> &'static str {
    match account.balance_state {
        doorstep_shared::dto::BalanceState::InArrears => "arrears",
        doorstep_shared::dto::BalanceState::InCredit => "credit",
        doorstep_shared::dto::BalanceState::Clear => "clear",
    }
}

/// Staff have no home in the portal; point them at their own screens.
#[component]
fn StaffHere() -> impl IntoView {
    view! {
        <p class="lede">"My Place is where tenants see their home and accounts."</p>
        <p>
            "You are signed in as a member of staff. "
            <A href="/staff/registrations">"Go to registration requests"</A>
        </p>
    }
}
