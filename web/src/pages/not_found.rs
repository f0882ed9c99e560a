//! Any address the router does not know.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::page::Page;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <Page heading="Page not found">
            <p>"If you typed the web address, check it is correct."</p>
            <p>"If you pasted the web address, check you copied the entire address."</p>
            <p>
                <A href="/">"Go to the home page"</A>
            </p>
        </Page>
    }
}
