//! Signing in with email and password (`/sign-in`), and afterwards back to where the visitor
//! was going (`?next=`), or to their home page in the portal.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::identity::Me;
use crate::api::{ApiError, wait_words};
use crate::components::form::{ErrorSummary, FormErrors, TextField, focus_after_render};
use crate::components::page::Page;
use crate::landlord::LandlordContext;
use crate::session::{AuthState, Session, safe_next};

/// The API's field names on `POST /auth/login`, with the form's input ids and labels.
const SIGN_IN_FIELDS: &[(&str, &str, &str)] =
    &[("email", "email", "Email address"), ("password", "password", "Password")];

#[component]
pub fn SignIn() -> impl IntoView {
    let session = Session::expect();
    let navigate = use_navigate();
    let query = use_query_map();
    // Filled in after registering, from the message that page left.
    let email = RwSignal::new(
        session
            .flash
            .with_untracked(|flash| flash.as_ref().filter(|f| f.path == "/sign-in").and_then(|f| f.email.clone()))
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let email_text = email.get_untracked().trim().to_owned();
        let password_text = password.get_untracked();
        let mut found = FormErrors::default();
        if email_text.is_empty() {
            found.add("email", "Enter your email address.");
        }
        if password_text.is_empty() {
            found.add("password", "Enter your password.");
        }
        if !found.is_empty() {
            errors.set(found);
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        let next = safe_next(query.with_untracked(|q| q.get("next")));
        spawn_local(async move {
            match session.sign_in(email_text, password_text).await {
                Ok(me) => {
                    errors.set(FormErrors::default());
                    session.flash.set(None);
                    navigate(&next.unwrap_or_else(|| home_of(&me).to_owned()), Default::default());
                }
                Err(error) => {
                    password.set(String::new());
                    errors.set(sign_in_errors(&error));
                }
            }
            busy.set(false);
        });
    };

    let form = move || {
        view! {
            <ErrorSummary errors />
            <form class="form" on:submit=submit.clone() novalidate>
                <TextField
                    id="email"
                    label="Email address"
                    value=email
                    errors
                    input_type="email"
                    autocomplete="username"
                    no_spellcheck=true
                />
                <TextField
                    id="password"
                    label="Password"
                    value=password
                    errors
                    input_type="password"
                    autocomplete="current-password"
                    no_spellcheck=true
                />
                <button type="submit" class="button button-primary" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Signing in\u{2026}" } else { "Sign in" }}
                </button>
            </form>
            <ExternalSignIn />
            <h2 class="section-heading">"New to the portal?"</h2>
            <p>
                <A href="/register">"Register"</A>
                " with your rent account number, surname and postcode. We post you a letter with a PIN."
            </p>
            <p>"Got your letter? " <A href="/register/activate">"Finish registering"</A></p>
        }
    };

    view! {
        <Page heading="Sign in">
            {move || match session.state() {
                AuthState::SignedIn(me) if !busy.get() => view! { <AlreadySignedIn me=*me /> }.into_any(),
                _ => form().into_any(),
            }}
        </Page>
    }
}

/// Where each kind of user starts: tenants at My Place, staff at the registration queue (or,
/// for roles that do not work it, at payments or finding a tenant).
fn home_of(me: &Me) -> &'static str {
    if me.works_registrations() {
        "/staff/registrations"
    } else if me.works_payments() {
        "/staff/payments"
    } else if me.looks_up_tenants() {
        "/staff/tenants"
    } else {
        "/my-place"
    }
}

fn sign_in_errors(error: &ApiError) -> FormErrors {
    let mut errors = FormErrors::from_api(error, SIGN_IN_FIELDS);
    if let ApiError::TooManyRequests { retry_after_secs } = error {
        let wait = retry_after_secs.map(wait_words).unwrap_or_else(|| "a while".to_owned());
        errors.general = Some(format!(
            "There have been too many attempts to sign in to this account or from this connection. To keep \
             accounts safe, signing in is paused: please wait {wait} and try again."
        ));
    }
    errors
}

#[component]
fn AlreadySignedIn(me: Me) -> impl IntoView {
    view! {
        <p class="lede">"You are signed in as " {me.display_name()} "."</p>
        <p>
            <A href=home_of(&me) attr:class="button button-primary">
                "Continue"
            </A>
        </p>
    }
}

/// The "Sign in with <provider>" buttons: one per OpenID Connect provider the portal is
/// configured with (`GET /api/v1/auth/providers`), each a plain link to
/// `GET /api/v1/auth/oidc/{provider}/start` (a full-page navigation: the API redirects to the
/// provider and back).
///
/// The way back lands here. `?oidc=signed-in&next=…`: the API has set the refresh cookie, so
/// the page marks this browser as signed in and reloads at `next`, where the session picks
/// the sign-in up as it does after any reload. `?error=<code>&provider=<id>`: the outcome in
/// words, focused so that it is seen and read out.
#[component]
fn ExternalSignIn() -> impl IntoView {
    let query = use_query_map();
    let outcome = query.with_untracked(|q| q.get("oidc"));
    if outcome.as_deref() == Some("signed-in") {
        let next = safe_next(query.with_untracked(|q| q.get("next"))).unwrap_or_else(|| "/my-place".to_owned());
        // Once the page has what it is loading (the landlord), so that leaving cuts nothing off.
        let landlord = LandlordContext::expect();
        let done = StoredValue::new(false);
        Effect::new(move |_| {
            if landlord.current.get().is_some() && !done.get_value() {
                done.set_value(true);
                adopt_cookie_sign_in(&next);
            }
        });
        return view! { <p class="loading" role="status">"Signing you in\u{2026}"</p> }.into_any();
    }
    let error = query.with_untracked(|q| q.get("error"));
    let error_provider = query.with_untracked(|q| q.get("provider"));
    let providers = LocalResource::new(external_providers);
    if error.is_some() {
        focus_after_render(".external-sign-in-error");
    }

    let problem = move || {
        let code = error.clone()?;
        let list = providers.get().unwrap_or_default();
        let name = provider_name(&list, error_provider.as_deref());
        let words = external_error_words(&code, &name);
        Some(view! {
            <div class="error-summary external-sign-in-error" role="alert" tabindex="-1">
                <h2 class="error-summary-title">{format!("Signing in with {name} did not work")}</h2>
                <p>{words}</p>
                {(code == "not_linked")
                    .then(|| {
                        view! {
                            <p>
                                <A href="/register">"Ask to register"</A>
                                " \u{2014} or, if your PIN letter has come, "
                                <A href="/register/activate">"finish registering"</A>
                                " and choose to use "
                                {name.clone()}
                                " instead of a password."
                            </p>
                        }
                    })}
            </div>
        })
    };
    let buttons = move || {
        let list = providers.get().unwrap_or_default();
        (!list.is_empty()).then(|| {
            let items = list
                .into_iter()
                .map(|p| {
                    view! {
                        <li>
                            <a class="button button-secondary" href=start_href(&p.id, None) rel="external">
                                "Sign in with "
                                {p.name}
                            </a>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="external-sign-in" aria-labelledby="external-sign-in-heading">
                    <h2 id="external-sign-in-heading">"Or sign in with"</h2>
                    <ul class="button-row">{items}</ul>
                </section>
            }
        })
    };
    view! {
        {problem}
        {buttons}
    }
    .into_any()
}

/// An external identity provider, as `GET /api/v1/auth/providers` lists it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(super) struct ExternalProvider {
    pub id: String,
    pub name: String,
}

#[derive(serde::Deserialize)]
struct ExternalProviderList {
    items: Vec<ExternalProvider>,
}

/// The providers the portal offers; none when it cannot say (the buttons are an extra, and
/// their absence must not break the page).
pub(super) async fn external_providers() -> Vec<ExternalProvider> {
    let Ok(response) =
        gloo_net::http::Request::get("/api/v1/auth/providers").header("Accept", "application/json").send().await
    else {
        return Vec::new();
    };
    if !response.ok() {
        return Vec::new();
    }
    let list = response.json::<ExternalProviderList>().await.map(|l| l.items).unwrap_or_default();
    // An id goes into a path: only the API's own alphabet, so it can never reach elsewhere.
    list.into_iter().filter(|p| is_provider_id(&p.id)).collect()
}

fn is_provider_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Where a provider's button goes: `intent` `register` to use it instead of a password.
pub(super) fn start_href(id: &str, intent: Option<&str>) -> String {
    match intent {
        Some(intent) => format!("/api/v1/auth/oidc/{id}/start?intent={intent}"),
        None => format!("/api/v1/auth/oidc/{id}/start"),
    }
}

/// The name of provider `id` for sentences, or "the sign-in provider" before the list of
/// providers has loaded.
pub(super) fn provider_name(list: &[ExternalProvider], id: Option<&str>) -> String {
    id.and_then(|id| list.iter().find(|p| p.id == id))
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "the sign-in provider".into())
}

/// What an external sign-in's `?error=` code means, for a person.
pub(super) fn external_error_words(code: &str, name: &str) -> String {
    match code {
        "not_linked" => format!("The account you used at {name} is not linked to an account here yet: register first."),
        "already_linked" => {
            format!("The account you used at {name} is already linked to an account here. Sign in with it instead.")
        }
        "cancelled" => {
            format!("You cancelled signing in with {name}. You can try again, or use your email address and password.")
        }
        "expired" => "That sign-in attempt had expired or was already used. Please start again.".to_owned(),
        "unavailable" => format!(
            "We could not reach {name} just now. Please try again later, or use your email address and password."
        ),
        "not_allowed" => "This account cannot sign in at the moment. Please contact your landlord.".to_owned(),
        "throttled" => {
            "There have been too many attempts from this connection. Please wait a few minutes and try again."
                .to_owned()
        }
        _ => format!(
            "We could not confirm your sign-in with {name}. Please try again, or use your email address and \
             password."
        ),
    }
}

/// After the API set the refresh cookie outside the SPA (the provider's redirect back, or
/// activating with a provider): mark this browser as signed in, as `Session::sign_in` does,
/// and load `next` afresh, so that the session refreshes from the cookie on start-up.
/// "doorstep.signed-in" is the session's flag (`session.rs`); it holds no secret.
pub(super) fn adopt_cookie_sign_in(next: &str) {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item("doorstep.signed-in", "1");
    }
    let _ = window().location().replace(next);
}
