//! The top of every page: its heading, which also names the browser tab.

use leptos::prelude::*;

use crate::landlord::LandlordContext;

/// A page with its `<h1>`. The heading takes focus after in-app navigation (see the shell), so
/// it is focusable from script but not a tab stop.
#[component]
pub fn Page(
    heading: &'static str,
    /// Use the full width of a large screen (for tables of work), rather than a reading width.
    #[prop(optional)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    let landlord = LandlordContext::expect();
    Effect::new(move || {
        let site = landlord.org().map(|org| org.name).unwrap_or_else(|| "Doorstep".to_owned());
        document().set_title(&format!("{heading} \u{2013} {site}"));
    });
    view! {
        <article class="page" class:page-wide=wide>
            <h1 tabindex="-1">{heading}</h1>
            {children()}
        </article>
    }
}
