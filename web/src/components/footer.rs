//! The footer: how to reach the landlord, including the emergency repairs line.

use doorstep_shared::dto::Organisation;
use leptos::prelude::*;

use crate::landlord::LandlordContext;

#[component]
pub fn SiteFooter() -> impl IntoView {
    let landlord = LandlordContext::expect();
    view! {
        <footer class="site-footer">
            <div class="wrap">
                // A failure is already explained in the header; the footer then just has less.
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        landlord.current.await.ok().map(|current| view! { <Contacts org=current.org /> })
                    })}
                </Transition>
                <p class="colophon">"Doorstep, the open-source tenant portal."</p>
            </div>
        </footer>
    }
}

#[component]
fn Contacts(org: Organisation) -> impl IntoView {
    let contacts = org.contacts;
    let phone = contacts.phone.map(|phone| {
        view! {
            <div>
                <dt>"Phone"</dt>
                <dd>
                    <a href=tel_href(&phone)>{phone.clone()}</a>
                </dd>
            </div>
        }
    });
    let emergency = contacts.emergency_phone.map(|phone| {
        view! {
            <div class="contact-emergency">
                <dt>"Emergency repairs, out of hours"</dt>
                <dd>
                    <a href=tel_href(&phone)>{phone.clone()}</a>
                </dd>
            </div>
        }
    });
    let email = contacts.email.map(|email| {
        view! {
            <div>
                <dt>"Email"</dt>
                <dd>
                    <a href=format!("mailto:{email}")>{email.clone()}</a>
                </dd>
            </div>
        }
    });
    let hours = contacts.opening_hours.map(|hours| {
        view! {
            <div>
                <dt>"Opening hours"</dt>
                <dd>{hours}</dd>
            </div>
        }
    });
    let address = contacts.address.map(|address| {
        view! {
            <div>
                <dt>"Address"</dt>
                <dd>
                    <address>{address}</address>
                </dd>
            </div>
        }
    });
    // Only web addresses become links: a `javascript:` URL in the data must not.
    let website = contacts.website.filter(|site| is_web_address(site)).map(|site| {
        view! {
            <div>
                <dt>"Website"</dt>
                <dd>
                    <a href=site.clone() rel="external noopener">{site.clone()}</a>
                </dd>
            </div>
        }
    });
    view! {
        <section class="contacts" aria-labelledby="contacts-heading">
            <h2 id="contacts-heading">"Contact " {org.name}</h2>
            <dl class="contact-list">{phone} {emergency} {email} {hours} {address} {website}</dl>
        </section>
    }
}

fn is_web_address(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// A `tel:` link for a number as people write it: `0113 496 0000` → `tel:01134960000`.
pub fn tel_href(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
    format!("tel:{digits}")
}
