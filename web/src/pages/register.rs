//! Registering: asking for an account (`/register`), then finishing with the PIN from the
//! letter and choosing a password (`/register/activate`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::identity::{ActivationRequest, RegistrationReceived, RegistrationRequest};
use crate::api::{ApiClient, ApiError, wait_words};
use crate::components::footer::tel_href;
use crate::components::form::{ErrorSummary, FormErrors, TextField, focus_after_render};
use crate::components::page::Page;
use crate::landlord::LandlordContext;
use crate::session::{Flash, Session};

use super::sign_in::{
    ExternalProvider, adopt_cookie_sign_in, external_error_words, external_providers, provider_name, start_href,
};

/// The API's field names on `POST /registrations`, with the form's input ids and labels.
const REGISTER_FIELDS: &[(&str, &str, &str)] = &[
    ("account_number", "account-number", "Rent account number"),
    ("surname", "surname", "Surname"),
    ("postcode", "postcode", "Postcode"),
    ("email", "email", "Email address"),
];

/// The same for `POST /registrations/activate`.
const ACTIVATE_FIELDS: &[(&str, &str, &str)] = &[
    ("account_number", "account-number", "Rent account number"),
    ("pin", "pin", "PIN"),
    ("email", "email", "Email address"),
    ("password", "password", "Password"),
];

/// Passwords: the API's rule (ASVS 5), repeated here only to answer sooner.
const PASSWORD_MIN_CHARS: usize = 8;

#[component]
pub fn Register() -> impl IntoView {
    let account_number = RwSignal::new(String::new());
    let surname = RwSignal::new(String::new());
    let postcode = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let received = RwSignal::new(None::<RegistrationReceived>);
    let busy = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = RegistrationRequest {
            account_number: account_number.get_untracked().trim().to_owned(),
            surname: surname.get_untracked().trim().to_owned(),
            postcode: postcode.get_untracked().trim().to_owned(),
            email: email.get_untracked().trim().to_owned(),
        };
        let mut found = FormErrors::default();
        if request.account_number.is_empty() {
            found.add("account-number", "Enter your rent account number.");
        }
        if request.surname.is_empty() {
            found.add("surname", "Enter your surname.");
        }
        if request.postcode.is_empty() {
            found.add("postcode", "Enter the postcode of your home.");
        }
        check_email(&request.email, &mut found);
        if !found.is_empty() {
            errors.set(found);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match ApiClient::default().register(&request).await {
                Ok(answer) => {
                    errors.set(FormErrors::default());
                    received.set(Some(answer));
                    focus_after_render(".confirmation-title");
                }
                Err(error) => {
                    let mut found = FormErrors::from_api(&error, REGISTER_FIELDS);
                    if let ApiError::TooManyRequests { retry_after_secs } = error {
                        let wait = retry_after_secs.map(wait_words).unwrap_or_else(|| "a while".to_owned());
                        found.general = Some(format!(
                            "There have been too many registration requests from this connection or for this \
                             account. To keep tenants' accounts safe, please wait {wait} and try again."
                        ));
                    }
                    errors.set(found);
                }
            }
            busy.set(false);
        });
    };

    let form = move || {
        view! {
            <p class="lede">"Open an online account for your tenancy."</p>
            <p>
                "Tell us your rent account number, your surname and your home's postcode. We check them "
                "against your tenancy and post a letter with a PIN to your home, so that nobody else can "
                "open an account in your name."
            </p>
            <ErrorSummary errors />
            <CallIfThrottled errors />
            <form class="form" on:submit=submit novalidate>
                <TextField
                    id="account-number"
                    label="Rent account number"
                    hint="It is on your rent statements and letters from us, and is also your payment reference."
                    value=account_number
                    errors
                    autocomplete="off"
                    no_spellcheck=true
                    width="input-12"
                />
                <TextField
                    id="surname"
                    label="Surname"
                    hint="As it is on your tenancy agreement."
                    value=surname
                    errors
                    autocomplete="family-name"
                    no_spellcheck=true
                    width="input-20"
                />
                <TextField
                    id="postcode"
                    label="Postcode"
                    value=postcode
                    errors
                    autocomplete="postal-code"
                    autocapitalize="characters"
                    no_spellcheck=true
                    width="input-8"
                />
                <TextField
                    id="email"
                    label="Email address"
                    hint="You will sign in with this. We will not share it."
                    value=email
                    errors
                    input_type="email"
                    autocomplete="email"
                    no_spellcheck=true
                />
                <button type="submit" class="button button-primary" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Sending\u{2026}" } else { "Ask to register" }}
                </button>
            </form>
            <p class="after-form">
                "Already have a letter with a PIN? " <A href="/register/activate">"Finish registering"</A>
            </p>
            <p>"Already registered? " <A href="/sign-in">"Sign in"</A></p>
            <ProviderLaterNote />
        }
    };

    view! {
        <Page heading="Register">
            {move || match received.get() {
                Some(answer) => view! { <Received answer /> }.into_any(),
                None => form().into_any(),
            }}
        </Page>
    }
}

/// What every request gets back, matched or not: nothing here says whether it matched.
#[component]
fn Received(answer: RegistrationReceived) -> impl IntoView {
    let when = match answer.letter_within_working_days {
        Some(days) => {
            format!("If the details match a tenancy, we will post a PIN to your home within {days} working days.")
        }
        None => "If the details match a tenancy, we will post a PIN to your home.".to_owned(),
    };
    view! {
        <div class="confirmation" role="status">
            <h2 class="confirmation-title" tabindex="-1">
                "We have your request"
            </h2>
            <p>{answer.message}</p>
        </div>
        <h2>"What happens next"</h2>
        <ol class="steps">
            <li>{when}</li>
            <li>
                "When the letter arrives, go to " <A href="/register/activate">"Finish registering"</A>
                " and enter your rent account number and the PIN from the letter."
            </li>
            <li>"Choose the email address and password you will sign in with."</li>
        </ol>
        <PhoneUs lead="If no letter comes, or you have a question, " />
    }
}

#[component]
pub fn Activate() -> impl IntoView {
    let session = Session::expect();
    let navigate = use_navigate();
    let account_number = RwSignal::new(String::new());
    let pin = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = ActivationRequest {
            account_number: account_number.get_untracked().trim().to_owned(),
            pin: pin.get_untracked().trim().to_owned(),
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        let mut found = FormErrors::default();
        if request.account_number.is_empty() {
            found.add("account-number", "Enter your rent account number.");
        }
        if request.pin.is_empty() {
            found.add("pin", "Enter the PIN from your letter.");
        }
        check_email(&request.email, &mut found);
        let length = request.password.chars().count();
        if length == 0 {
            found.add("password", "Choose a password.");
        } else if length < PASSWORD_MIN_CHARS {
            found.add(
                "password",
                format!("Password must be at least {PASSWORD_MIN_CHARS} characters: 15 or more is better."),
            );
        }
        if length > 0 && confirm.get_untracked() != request.password {
            found.add("confirm-password", "The two passwords are not the same: type your password again.");
        }
        if !found.is_empty() {
            errors.set(found);
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match ApiClient::default().activate(&request).await {
                Ok(user) => {
                    errors.set(FormErrors::default());
                    session.flash.set(Some(Flash {
                        path: "/sign-in".to_owned(),
                        message: "You have finished registering. Sign in with the email address and password you \
                                  have just chosen."
                            .to_owned(),
                        email: Some(user.email),
                    }));
                    navigate("/sign-in", Default::default());
                }
                Err(error) => {
                    password.set(String::new());
                    confirm.set(String::new());
                    errors.set(FormErrors::from_api(&error, ACTIVATE_FIELDS));
                }
            }
            busy.set(false);
        });
    };

    // Back from the provider (`?oidc=linked`): an external identity waits for the PIN.
    let query = use_query_map();
    let returned = query.with_untracked(|q| q.get("oidc")).as_deref() == Some("linked");
    let external = LocalResource::new(move || async move { if returned { pending_external().await } else { None } });
    let use_password = RwSignal::new(false);

    let password_form = move || {
        let submit = submit.clone();
        view! {
            <p class="lede">"Use the PIN from the letter we posted to your home."</p>
            <ErrorSummary errors />
            <form class="form" on:submit=submit novalidate>
                <TextField
                    id="account-number"
                    label="Rent account number"
                    hint="It is printed on the letter, above the PIN."
                    value=account_number
                    errors
                    autocomplete="off"
                    no_spellcheck=true
                    width="input-12"
                />
                <TextField
                    id="pin"
                    label="PIN"
                    hint="The 10 letters and numbers in the box on your letter. Spaces do not matter."
                    value=pin
                    errors
                    autocomplete="one-time-code"
                    autocapitalize="characters"
                    no_spellcheck=true
                    width="input-12"
                    after_error=|| view! { <PinHelp /> }
                />
                <TextField
                    id="email"
                    label="Email address"
                    hint="You will sign in with this."
                    value=email
                    errors
                    input_type="email"
                    autocomplete="email"
                    no_spellcheck=true
                />
                <TextField
                    id="password"
                    label="Create a password"
                    hint="At least 8 characters; 15 or more is better. A passphrase of three or four unrelated \
                          words is easy to remember and hard to guess. Any characters are fine."
                    value=password
                    errors
                    input_type="password"
                    autocomplete="new-password"
                    no_spellcheck=true
                />
                <TextField
                    id="confirm-password"
                    label="Type the password again"
                    value=confirm
                    errors
                    input_type="password"
                    autocomplete="new-password"
                    no_spellcheck=true
                />
                <button type="submit" class="button button-primary" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Checking\u{2026}" } else { "Finish registering" }}
                </button>
            </form>
            <UseProviderInstead />
            <p class="after-form">"No letter yet? " <A href="/register">"Ask to register"</A></p>
        }
    };

    view! {
        <Page heading="Finish registering">
            <ExternalProblem />
            {move || match external.get() {
                Some(Some(pending)) if !use_password.get() => {
                    view! { <ActivateWithProvider pending use_password /> }.into_any()
                }
                None if returned => {
                    view! { <p class="loading" role="status">"Checking your sign-in\u{2026}"</p> }.into_any()
                }
                _ => password_form().into_any(),
            }}
        </Page>
    }
}

// ----- finishing with an external identity instead of a password -----
//
// The SPA sends the tenant to the provider (`/api/v1/auth/oidc/{id}/start?intent=register`);
// the API brings them back to `/register/activate?oidc=linked` with the verified identity
// waiting (an HttpOnly cookie names it). The tenant then gives the account number and the PIN
// from the letter, exactly as with a password: the identity only takes the password's place.

/// The identity waiting for the PIN (`GET /api/v1/auth/oidc/pending`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct PendingExternal {
    provider_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
struct ExternalActivation {
    account_number: String,
    pin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

async fn pending_external() -> Option<PendingExternal> {
    let response = gloo_net::http::Request::get("/api/v1/auth/oidc/pending")
        .header("Accept", "application/json")
        .send()
        .await
        .ok()?;
    if !response.ok() {
        return None;
    }
    response.json::<PendingExternal>().await.ok()
}

async fn discard_pending() {
    let _ = gloo_net::http::Request::delete("/api/v1/auth/oidc/pending").send().await;
}

/// `POST /api/v1/auth/oidc/activate`; on success the API has set the refresh cookie.
async fn activate_with_provider(request: &ExternalActivation) -> Result<(), ApiError> {
    let request = gloo_net::http::Request::post("/api/v1/auth/oidc/activate")
        .header("Accept", "application/json")
        .json(request)
        .map_err(|_| ApiError::Decode)?;
    let response = request.send().await.map_err(|_| ApiError::Network)?;
    if response.ok() {
        // Read the answer to its end, so that leaving the page does not cut it off.
        let _ = response.text().await;
        return Ok(());
    }
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        message: String,
        #[serde(default)]
        details: Option<Details>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Details {
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    }
    let status = response.status();
    let envelope = response.json::<Envelope>().await.ok();
    let details = envelope.as_ref().and_then(|e| e.error.details.as_ref());
    if status == 429 {
        return Err(ApiError::TooManyRequests { retry_after_secs: details.and_then(|d| d.retry_after_secs) });
    }
    let field = details.and_then(|d| d.field.clone());
    Err(ApiError::Status { status, message: envelope.map(|e| e.error.message), field })
}

#[component]
fn ActivateWithProvider(pending: PendingExternal, use_password: RwSignal<bool>) -> impl IntoView {
    let account_number = RwSignal::new(String::new());
    let pin = RwSignal::new(String::new());
    let confirmed = pending.email.clone().filter(|_| pending.email_verified);
    let email = RwSignal::new(confirmed.clone().unwrap_or_default());
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let name = pending.provider_name.clone();

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed_email = email.get_untracked().trim().to_owned();
        let request = ExternalActivation {
            account_number: account_number.get_untracked().trim().to_owned(),
            pin: pin.get_untracked().trim().to_owned(),
            email: (!typed_email.is_empty()).then(|| typed_email.clone()),
        };
        let mut found = FormErrors::default();
        if request.account_number.is_empty() {
            found.add("account-number", "Enter your rent account number.");
        }
        if request.pin.is_empty() {
            found.add("pin", "Enter the PIN from your letter.");
        }
        check_email(&typed_email, &mut found);
        if !found.is_empty() {
            errors.set(found);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match activate_with_provider(&request).await {
                // Registered and signed in: the session takes over from the cookie.
                Ok(()) => adopt_cookie_sign_in("/my-place"),
                Err(error) => {
                    errors.set(FormErrors::from_api(&error, ACTIVATE_FIELDS));
                    busy.set(false);
                }
            }
        });
    };
    let not_me = move |_| {
        spawn_local(async move {
            discard_pending().await;
            use_password.set(true);
        });
    };
    let who = match &pending.email {
        Some(address) => format!("You have signed in with {name} as {address}."),
        None => format!("You have signed in with {name}."),
    };

    view! {
        <div class="notice notice-success" role="status">
            <p>
                {who} " Now enter your rent account number and the PIN from your letter. From then on you sign in with "
                {name.clone()} ": you do not need a password here."
            </p>
        </div>
        <ErrorSummary errors />
        <form class="form" on:submit=submit novalidate>
            <TextField
                id="account-number"
                label="Rent account number"
                hint="It is printed on the letter, above the PIN."
                value=account_number
                errors
                autocomplete="off"
                no_spellcheck=true
                width="input-12"
            />
            <TextField
                id="pin"
                label="PIN"
                hint="The 10 letters and numbers in the box on your letter. Spaces do not matter."
                value=pin
                errors
                autocomplete="one-time-code"
                autocapitalize="characters"
                no_spellcheck=true
                width="input-12"
                after_error=|| view! { <PinHelp /> }
            />
            <TextField
                id="email"
                label="Email address"
                hint="Where we contact you about your account."
                value=email
                errors
                input_type="email"
                autocomplete="email"
                no_spellcheck=true
            />
            <button type="submit" class="button button-primary" aria-disabled=move || busy.get().then_some("true")>
                {move || if busy.get() { "Checking\u{2026}" } else { "Finish registering" }}
            </button>
        </form>
        <p class="after-form">
            "Not you, or would you rather choose a password? "
            <button type="button" class="button button-secondary" on:click=not_me>
                "Use a password instead"
            </button>
        </p>
    }
}

/// On the activation page: finish with a provider instead of a password.
#[component]
fn UseProviderInstead() -> impl IntoView {
    let providers = LocalResource::new(external_providers);
    move || {
        let list = providers.get().unwrap_or_default();
        (!list.is_empty()).then(|| {
            let items = list
                .into_iter()
                .map(|p| {
                    view! {
                        <li>
                            <a class="button button-secondary" href=start_href(&p.id, Some("register")) rel="external">
                                "Use "
                                {p.name}
                                " instead of a password"
                            </a>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="external-sign-in" aria-labelledby="use-provider-heading">
                    <h2 id="use-provider-heading">"Or sign in with an account you already have"</h2>
                    <p>
                        "Instead of choosing a password, you can sign in with one of these. You still need your "
                        "rent account number and the PIN from your letter."
                    </p>
                    <ul class="button-row">{items}</ul>
                </section>
            }
        })
    }
}

/// On the registration request page: the option that comes with the letter.
#[component]
fn ProviderLaterNote() -> impl IntoView {
    let providers = LocalResource::new(external_providers);
    move || {
        let list: Vec<ExternalProvider> = providers.get().unwrap_or_default();
        (!list.is_empty()).then(|| {
            let names = list.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(" or ");
            view! {
                <p class="hint">
                    "Or use " {names}
                    ": when your letter comes, you can finish registering with it instead of choosing a password."
                </p>
            }
        })
    }
}

/// `?error=<code>&provider=<id>` after a provider sent the tenant back here.
#[component]
fn ExternalProblem() -> impl IntoView {
    let query = use_query_map();
    let error = query.with_untracked(|q| q.get("error"));
    let provider = query.with_untracked(|q| q.get("provider"));
    let providers = LocalResource::new(external_providers);
    if error.is_some() {
        focus_after_render(".external-sign-in-error");
    }
    move || {
        let code = error.clone()?;
        let name = provider_name(&providers.get().unwrap_or_default(), provider.as_deref());
        let words = external_error_words(&code, &name);
        Some(view! {
            <div class="error-summary external-sign-in-error" role="alert" tabindex="-1">
                <h2 class="error-summary-title">{format!("Using {name} did not work")}</h2>
                <p>{words}</p>
                {(code == "already_linked").then(|| view! { <p><A href="/sign-in">"Sign in"</A></p> })}
            </div>
        })
    }
}

/// Shown with a PIN error: wrong PINs run out, and then only the landlord can help.
#[component]
fn PinHelp() -> impl IntoView {
    view! {
        <p class="field-help">
            <PhoneUs lead="If the PIN has stopped working, or the letter is lost, " inline=true />
        </p>
    }
}

/// With a "too many attempts" error, the way to get help without waiting.
#[component]
fn CallIfThrottled(errors: RwSignal<FormErrors>) -> impl IntoView {
    move || errors.with(|e| e.general.is_some()).then(|| view! { <PhoneUs lead="If you need help, " /> })
}

/// "phone <landlord> on <number> and we will post a new letter": the landlord being shown.
#[component]
fn PhoneUs(lead: &'static str, #[prop(optional)] inline: bool) -> impl IntoView {
    let landlord = LandlordContext::expect();
    move || {
        let org = landlord.org();
        let name = org.as_ref().map(|org| org.name.clone()).unwrap_or_else(|| "your landlord".to_owned());
        let phone = org.and_then(|org| org.contacts.phone);
        let body = match phone {
            Some(phone) => view! {
                {lead}
                "phone "
                {name}
                " on "
                <a href=tel_href(&phone)>{phone.clone()}</a>
                "."
            }
            .into_any(),
            None => view! { {lead} "phone " {name} "." }.into_any(),
        };
        if inline {
            view! { <span class="phone-us">{body} " We will post you a new letter."</span> }.into_any()
        } else {
            view! { <p class="phone-us">{body}</p> }.into_any()
        }
    }
}

/// A quick look at an email address, so that a slip is caught before the request goes.
fn check_email(email: &str, errors: &mut FormErrors) {
    if email.is_empty() {
        errors.add("email", "Enter your email address.");
        return;
    }
    let looks_right = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if !looks_right {
        errors.add("email", "Enter an email address like name@example.com.");
    }
}
