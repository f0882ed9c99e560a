//! The Doorstep single-page app: Leptos, client-side rendered, compiled to WebAssembly.
//!
//! It talks to the same public REST API as every other client (`api`), keeps the landlord the
//! visitor is looking at in one context (`landlord`) and who is signed in in another
//! (`session`), and lays pages out inside one shell whose colours come from that landlord's
//! branding.

mod api;
mod colour;
mod components;
mod dates;
mod landlord;
mod pages;
mod session;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::shell::Shell;
use crate::pages::{Activate, Home, MyMaps, MyNearest, MyPlace, NotFound, Register, SignIn, StaffRegistrations};

/// The whole app: the router around the branded shell and its pages.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/sign-in") view=SignIn />
                    <Route path=path!("/register") view=Register />
                    <Route path=path!("/register/activate") view=Activate />
                    <Route path=path!("/my-place") view=MyPlace />
                    <Route path=path!("/my-nearest") view=MyNearest />
                    <Route path=path!("/my-maps") view=MyMaps />
                    <Route path=path!("/staff/registrations") view=StaffRegistrations />
                </Routes>
            </Shell>
        </Router>
    }
}

/// Entry point called by the wasm-bindgen loader (`boot.js`).
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    // index.html shows a "loading" line until the app is ready to take over the page.
    if let Some(status) = document().get_element_by_id("boot-status") {
        status.remove();
    }
    leptos::mount::mount_to_body(App);
}
