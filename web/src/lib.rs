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
mod download;
mod landlord;
mod live;
mod pages;
mod session;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::shell::Shell;
use crate::pages::{
    Activate, Home, MyAccount, MyMaps, MyNearest, MyPlace, MyStatement, NotFound, PayRent, PaymentDone, Register,
    SignIn, StaffPayments, StaffReconciliationRun, StaffReconciliationRuns, StaffRegistrations, StaffSuspense,
    StaffTenant, StaffTenants,
};

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
                    <Route path=path!("/my-place/accounts/:id") view=MyAccount />
                    <Route path=path!("/my-place/accounts/:id/statement") view=MyStatement />
                    <Route path=path!("/my-place/accounts/:id/pay") view=PayRent />
                    <Route path=path!("/my-place/payment-done") view=PaymentDone />
                    <Route path=path!("/my-nearest") view=MyNearest />
                    <Route path=path!("/my-maps") view=MyMaps />
                    <Route path=path!("/staff/registrations") view=StaffRegistrations />
                    <Route path=path!("/staff/tenants") view=StaffTenants />
                    <Route path=path!("/staff/tenants/:id") view=StaffTenant />
                    <Route path=path!("/staff/payments") view=StaffPayments />
                    <Route path=path!("/staff/payments/reconciliation") view=StaffReconciliationRuns />
                    <Route path=path!("/staff/payments/reconciliation/:id") view=StaffReconciliationRun />
                    <Route path=path!("/staff/payments/suspense") view=StaffSuspense />
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
