//! The frame around every page: skip link, branded header, main content, contacts footer.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use wasm_bindgen::JsCast;

use crate::colour::brand_properties;
use crate::components::footer::SiteFooter;
use crate::components::header::SiteHeader;
use crate::landlord::LandlordContext;
use crate::session::{AuthState, Session};

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let landlord = LandlordContext::provide();
    let session = Session::provide();
    // Once signed in, the portal wears the person's own landlord's colours.
    Effect::new(move |_| {
        if let AuthState::SignedIn(me) = session.state()
            && let Some(org) = &me.organisation
        {
            landlord.adopt(&org.slug);
        }
    });
    // The landlord's colours as custom properties on the app's root, so every rule in
    // style.css can use them and the neutral defaults apply until they arrive.
    let brand_style = move || {
        landlord
            .org()
            .map(|org| brand_properties(&org.branding.primary_colour, &org.branding.secondary_colour))
            .unwrap_or_default()
    };
    focus_heading_after_navigation();

    view! {
        <div class="app" style=brand_style>
            <a class="skip-link" href="#main" on:click=skip_to_main>
                "Skip to main content"
            </a>
            <SiteHeader />
            <main id="main" class="site-main" tabindex="-1">
                <div class="wrap">
                    <UnknownLandlordNotice />
                    <FlashNotice />
                    {children()}
                </div>
            </main>
            <SiteFooter />
        </div>
    }
}

/// Says so when `?org=` (or a remembered choice) named no landlord and we fell back.
#[component]
fn UnknownLandlordNotice() -> impl IntoView {
    let landlord = LandlordContext::expect();
    move || {
        let current = landlord.current.get()?.ok()?;
        let unknown = current.unknown_slug?;
        Some(view! {
            <p class="notice" role="status">
                "We could not find a landlord called \u{201c}" {unknown} "\u{201d}, so you are seeing "
                {current.org.name} "."
            </p>
        })
    }
}

/// A message left for this page by the previous one ("you have signed out"). It is dropped
/// once the visitor moves on.
#[component]
fn FlashNotice() -> impl IntoView {
    let session = Session::expect();
    let location = use_location();
    Effect::new(move |_| {
        let path = location.pathname.get();
        if session.flash.with_untracked(|flash| flash.as_ref().is_some_and(|flash| flash.path != path)) {
            session.flash.set(None);
        }
    });
    move || {
        let flash = session.flash.get()?;
        (flash.path == location.pathname.get()).then(|| {
            view! {
                <div class="notice notice-success notice-flash" role="status" tabindex="-1">
                    <p>{flash.message}</p>
                </div>
            }
        })
    }
}

/// The router would turn a click on `#main` into a navigation that scrolls without moving
/// focus; a skip link must move keyboard focus, so it handles the click itself.
fn skip_to_main(event: MouseEvent) {
    event.prevent_default();
    if let Some(main) = document().get_element_by_id("main").and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = main.focus();
    }
}

/// After moving to another page, puts keyboard and screen-reader focus on its heading, as a
/// full page load would put it at the top of the new page; or on the message the previous
/// page left above that heading ("your sign-in is ready"), so that it is read out first.
fn focus_heading_after_navigation() {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|previous| previous != path) {
            request_animation_frame(|| {
                let heading = document().query_selector("main .notice-flash, main h1").ok().flatten();
                if let Some(heading) = heading.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
                    let _ = heading.focus();
                }
            });
        }
        path
    });
}
