//! Pages for signed-in people only: while the session is being checked they say so, and a
//! signed-out visitor is sent to sign in and brought back afterwards (`/sign-in?next=`).

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate};
use web_sys::js_sys::encode_uri_component;

use crate::api::identity::Me;
use crate::session::{AuthState, Session};

/// Shows `children` with the signed-in caller; otherwise a short wait, or a redirect to sign in.
#[component]
pub fn RequireSignIn<F, V>(children: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = Session::expect();
    let location = use_location();
    let navigate = use_navigate();
    let sign_in_href = Memo::new(move |_| {
        let here = format!("{}{}", location.pathname.get(), location.search.get());
        let here: String = encode_uri_component(&here).into();
        format!("/sign-in?next={here}")
    });
    Effect::new(move |_| {
        // Someone who just pressed "Sign out" is taken home, not asked to sign in again.
        if session.state() == AuthState::SignedOut && !session.signed_out_on_purpose() {
            navigate(&sign_in_href.get_untracked(), NavigateOptions { replace: true, ..Default::default() });
        }
    });
    move || match session.state() {
        AuthState::Checking => view! {
            <p class="loading" role="status">
                "Checking your sign-in\u{2026}"
            </p>
        }
        .into_any(),
        AuthState::SignedOut => view! {
            <p>
                <A href=move || sign_in_href.get() attr:class="button button-primary">
                    "Sign in to see this page"
                </A>
            </p>
        }
        .into_any(),
        AuthState::SignedIn(me) => children(*me).into_any(),
    }
}
