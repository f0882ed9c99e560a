//! Sign-in and registration. Both arrive together in a later release; until then these pages
//! say so plainly and point to the landlord's phone line, rather than show a form that
//! cannot work.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::footer::tel_href;
use crate::components::page::Page;
use crate::landlord::LandlordContext;

#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <Page heading="Sign in">
            <p class="lede">"Signing in is not available yet."</p>
            <p>
                "Online accounts open together with registration, which is coming soon. "
                "Nobody can sign in to this portal until then, so there is nothing to fill in here."
            </p>
            <ContactMeanwhile />
        </Page>
    }
}

#[component]
pub fn Register() -> impl IntoView {
    view! {
        <Page heading="Register">
            <p class="lede">"Registration is not open yet."</p>
            <p>
                "When it opens, you will register with your rent account number, your surname and "
                "your postcode. We check these against your tenancy and post a PIN to your home, "
                "so nobody else can open an account in your name."
            </p>
            <ContactMeanwhile />
        </Page>
    }
}

#[component]
fn ContactMeanwhile() -> impl IntoView {
    let landlord = LandlordContext::expect();
    let phone = move || {
        let org = landlord.org()?;
        let phone = org.contacts.phone?;
        Some(view! {
            <p>
                "Until then, phone " {org.name} " on " <a href=tel_href(&phone)>{phone.clone()}</a>
                " about your rent or a repair."
            </p>
        })
    };
    view! {
        {phone}
        <p>
            <A href="/">"Back to the home page"</A>
        </p>
    }
}
