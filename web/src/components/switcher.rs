//! Lets a visitor move between the landlords of one group (a parent and its subsidiaries).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::Slug;
use crate::landlord::{LandlordContext, group_of};

#[component]
pub fn Switcher() -> impl IntoView {
    let landlord = LandlordContext::expect();
    let location = use_location();
    // Re-rendered whenever the landlord or the page changes, which also closes the list.
    move || {
        let current = landlord.org()?;
        let all = landlord.all.get()?.ok()?;
        let group = group_of(&current, &all);
        if group.len() < 2 {
            return None;
        }
        let path = location.pathname.get();
        let links = group
            .into_iter()
            .filter(|org| Slug::parse(&org.slug).is_some())
            .map(|org| {
                let href = format!("{path}?org={}", org.slug);
                let is_current = (org.slug == current.slug).then_some("true");
                view! {
                    <li>
                        <a href=href aria-current=is_current>
                            {org.name.clone()}
                        </a>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <details class="switcher">
                <summary>"Change landlord"</summary>
                <ul class="switcher-list">{links}</ul>
            </details>
        })
    }
}
