//! The branded header: the landlord's name and tagline, sign-in, landlord switcher, navigation.

use doorstep_shared::dto::Organisation;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::switcher::Switcher;
use crate::landlord::LandlordContext;

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
                    <A href="/sign-in" attr:class="button button-on-brand">
                        "Sign in"
                    </A>
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
                </ul>
            </nav>
        </header>
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
