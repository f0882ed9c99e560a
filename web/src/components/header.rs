//! The branded header: the landlord's name and tagline, sign-in, landlord switcher, navigation.

use doorstep_shared::dto::Organisation;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::switcher::Switcher;
use crate::landlord::LandlordContext;
use crate::session::{AuthState, Flash, Session};

#[component]
pub fn SiteHeader() -> impl IntoView {
    let landlord = LandlordContext::expect();
    view! {
        <header class="site-header">
            <div class="wrap masthead">
                <div class="brand">
                    <Transition fallback=|| view! { <p class="brand-name">"Loading your landlord\u{2026}"</p> }>
                        <ErrorBoundary fallback=move |errors| view! { <BrandUnavailable errors /> }>
                            {move || Suspend::new(async move {
                                landlord.current.await.map(|current| view! { <Brand org=current.org /> })
                            })}
                        </ErrorBoundary>
                    </Transition>
                </div>
                <div class="header-actions">
                    <Switcher />
                    <Account />
                </div>
            </div>
            <nav class="site-nav" aria-label="Main">
                <ul class="wrap">
                    <li>
                        <A href="/" exact=true>"Home"</A>
                    </li>
                    <li>
                        <A href="/my-place">"My Place"</A>
                    </li>
                    <li>
                        <A href="/my-nearest">"My Nearest"</A>
                    </li>
                    <li>
                        <A href="/my-maps">"My Maps"</A>
                    </li>
                    <StaffLink />
                </ul>
            </nav>
        </header>
    }
}

/// Who is signed in, and the way out; or the way in.
#[component]
fn Account() -> impl IntoView {
    let session = Session::expect();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let sign_out = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let message = match session.sign_out().await {
                Ok(()) => "You have signed out.".to_owned(),
                Err(error) => format!("You have signed out on this device. ({error})"),
            };
            session.flash.set(Some(Flash { path: "/".to_owned(), message, email: None }));
            navigate("/", Default::default());
            busy.set(false);
        });
    };
    move || match session.state() {
        // Nothing while the page asks whether a sign-in is still alive, so neither button flashes.
        AuthState::Checking => None,
        AuthState::SignedOut => Some(
            view! {
                <A href="/sign-in" attr:class="button button-on-brand">
                    "Sign in"
                </A>
            }
            .into_any(),
        ),
        AuthState::SignedIn(me) => Some(
            view! {
                <div class="signed-in">
                    <p class="signed-in-as">
                        "Signed in as " <strong class="signed-in-name">{me.display_name()}</strong>
                    </p>
                    <button
                        type="button"
                        class="button button-on-brand"
                        on:click=sign_out.clone()
                        aria-disabled=move || busy.get().then_some("true")
                    >
                        "Sign out"
                    </button>
                </div>
            }
            .into_any(),
        ),
    }
}

/// The staff screens, for staff: the registration queue, finding a tenant and payments, each
/// for the roles that work it.
#[component]
fn StaffLink() -> impl IntoView {
    let session = Session::expect();
    move || {
        session.me().filter(|me| me.is_staff()).map(|me| {
            // Every member of staff has a way in; registrations is it unless their role has
            // another screen of its own.
            let registrations =
                (me.works_registrations() || !(me.looks_up_tenants() || me.works_payments())).then(|| {
                    view! {
                        <li>
                            <A href="/staff/registrations">"Staff"</A>
                        </li>
                    }
                });
            let tenants = me.looks_up_tenants().then(|| {
                view! {
                    <li>
                        <A href="/staff/tenants">"Find a tenant"</A>
                    </li>
                }
            });
            let payments = me.works_payments().then(|| {
                view! {
                    <li>
                        <A href="/staff/payments">"Payments"</A>
                    </li>
                }
            });
            view! {
                {registrations}
                {tenants}
                {payments}
            }
        })
    }
}

#[component]
fn Brand(org: Organisation) -> impl IntoView {
    view! {
        <p class="brand-name">
            <a href="/">{org.name}</a>
        </p>
        {org.branding.tagline.map(|tagline| view! { <p class="tagline">{tagline}</p> })}
    }
}

/// The header when the landlord could not be loaded: say what went wrong and offer a retry.
#[component]
fn BrandUnavailable(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let landlord = LandlordContext::expect();
    let message =
        move || errors.with(|errors| errors.iter().next().map(|(_, error)| error.to_string())).unwrap_or_default();
    view! {
        <p class="brand-name">"Doorstep"</p>
        <div class="load-error" role="alert">
            <p>{message}</p>
            <button type="button" class="button button-on-brand" on:click=move |_| landlord.retry()>
                "Try again"
            </button>
        </div>
    }
}
