//! The front door: what the portal does, and the way in.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::footer::tel_href;
use crate::components::page::Page;
use crate::landlord::LandlordContext;

#[component]
pub fn Home() -> impl IntoView {
    let landlord = LandlordContext::expect();
    let landlord_name = move || landlord.org().map(|org| org.name).unwrap_or_else(|| "your landlord".to_owned());
    let emergency = move || {
        let phone = landlord.org()?.contacts.emergency_phone?;
        Some(view! {
            <p class="callout">
                <strong>"Emergency repair? "</strong>
                "Do not report it online: phone "
                <a href=tel_href(&phone)>{phone.clone()}</a>
                " now."
            </p>
        })
    };

    view! {
        <Page heading="Your home and rent account, online">
            <p class="lede">
                "Look after your tenancy with " {landlord_name}
                " from your phone or computer, whenever it suits you."
            </p>
            <div class="cta">
                <A href="/sign-in" attr:class="button button-primary">
                    "Sign in"
                </A>
                <A href="/register" attr:class="button button-secondary">
                    "Register"
                </A>
            </div>
            <p class="hint">
                "To register you will need your rent account number, your surname and your postcode."
            </p>

            <h2 class="section-heading">"What you can do"</h2>
            <ul class="features">
                <li class="feature">
                    <h3>"See your rent account, live"</h3>
                    <p>
                        "Your balance as it is right now, every charge and payment, and statements to download."
                    </p>
                </li>
                <li class="feature">
                    <h3>"Pay your rent"</h3>
                    <p>"Pay by card without leaving the portal and see the payment arrive on your account."</p>
                </li>
                <li class="feature">
                    <h3>"Report a repair"</h3>
                    <p>"Tell us what needs fixing, add photos, and follow the repair until it is done."</p>
                </li>
                <li class="feature">
                    <h3>"Find what is near you"</h3>
                    <p>"Schools, doctors and other services near your home, on a map and by distance."</p>
                </li>
            </ul>
            {emergency}
        </Page>
    }
}
