//! My Nearest and My Maps: sections a tenant will see once signed in. Until they arrive each
//! says what it will show.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::page::Page;
use crate::session::{AuthState, Session};

#[component]
pub fn MyNearest() -> impl IntoView {
    view! {
        <Page heading="My Nearest">
            <p class="lede">"The services closest to your home."</p>
            <p>
                "Once you have signed in, My Nearest lists the schools, doctors, NHS services and "
                "other places nearest to your home, with how far away each one is."
            </p>
            <SignInToSee />
        </Page>
    }
}

#[component]
pub fn MyMaps() -> impl IntoView {
    view! {
        <Page heading="My Maps">
            <p class="lede">"A map of your home and the area around it."</p>
            <p>
                "Once you have signed in, My Maps shows your home's boundaries, who looks after "
                "fences, trees and grass areas, and local information such as reported crime."
            </p>
            <SignInToSee />
        </Page>
    }
}

/// The way in for a signed-out visitor; for someone signed in, that this is still to come.
#[component]
fn SignInToSee() -> impl IntoView {
    let session = Session::expect();
    move || match session.state() {
        AuthState::SignedIn(_) => view! { <p class="hint">"This part of the portal is coming soon."</p> }.into_any(),
        _ => view! {
            <p class="cta">
                <A href="/sign-in" attr:class="button button-primary">
                    "Sign in to see this"
                </A>
            </p>
        }
        .into_any(),
    }
}
