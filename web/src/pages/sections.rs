//! My Place, My Nearest and My Maps: the sections a tenant sees once signed in. Until sign-in
//! arrives each says what it will show.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::page::Page;

#[component]
pub fn MyPlace() -> impl IntoView {
    view! {
        <Page heading="My Place">
            <p class="lede">"Your home and your tenancy in one place."</p>
            <p>
                "Once you have signed in, My Place shows your address and tenancy, the people on it, "
                "your housing officer, and each of your accounts (rent, garage, service charges) "
                "with its balance as it is right now and your latest payments."
            </p>
            <SignInToSee />
        </Page>
    }
}

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

#[component]
fn SignInToSee() -> impl IntoView {
    view! {
        <p class="cta">
            <A href="/sign-in" attr:class="button button-primary">
                "Sign in to see this"
            </A>
        </p>
    }
}
