//! Form parts shared by registering, activating and signing in: labelled fields with their
//! hint and error tied to the input (`aria-describedby`), and the error summary that takes
//! focus when a form comes back with problems, each linking to its field.

use leptos::ev::MouseEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{ApiError, sentence};

/// What is wrong with a form: per field (by input id) and as a whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormErrors {
    /// `(input id, message)`, in the order the fields appear.
    pub fields: Vec<(&'static str, String)>,
    /// A problem with the form as a whole, such as "too many attempts".
    pub general: Option<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    pub fn field(&self, id: &str) -> Option<String> {
        self.fields.iter().find(|(field, _)| *field == id).map(|(_, message)| message.clone())
    }

    pub fn add(&mut self, id: &'static str, message: impl Into<String>) {
        if self.field(id).is_none() {
            self.fields.push((id, message.into()));
        }
    }

    /// Files an API error: beside its field when the API named one the form has (`fields`
    /// maps the API's field name to the input's id and label), else for the whole form.
    pub fn from_api(error: &ApiError, fields: &[(&str, &'static str, &str)]) -> FormErrors {
        let mut errors = FormErrors::default();
        if let Some((api_field, rest)) = error.field_error()
            && let Some((_, id, label)) = fields.iter().find(|(name, _, _)| *name == api_field)
        {
            // A 422 says "<field> <what is wrong>": put the form's own label in front. Other
            // answers naming a field (409) are whole sentences already.
            let message =
                if error.status() == Some(422) { sentence(&format!("{label} {rest}")) } else { sentence(&rest) };
            errors.add(id, message);
            return errors;
        }
        errors.general = Some(error.to_string());
        errors
    }
}

/// A labelled text input with an optional hint and its error, both read out with the input.
#[component]
pub fn TextField(
    /// The input's id, also the base of its hint's and error's ids.
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    errors: RwSignal<FormErrors>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    /// `characters` for codes typed in capitals; `none` to leave what is typed alone.
    #[prop(optional)]
    autocapitalize: Option<&'static str>,
    /// No spell checking (codes, emails, names).
    #[prop(optional)]
    no_spellcheck: bool,
    /// A width class such as `input-10` (about ten characters) for short answers.
    #[prop(optional)]
    width: Option<&'static str>,
    /// Anything shown under the error, before the input (such as "call us" after a PIN error).
    #[prop(optional, into)]
    after_error: ViewFn,
) -> impl IntoView {
    let error = Memo::new(move |_| errors.with(|e| e.field(id)));
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let class = move || {
        let mut class = String::from("input");
        if let Some(width) = width {
            class.push(' ');
            class.push_str(width);
        }
        if error.get().is_some() {
            class.push_str(" input-error");
        }
        class
    };
    view! {
        <div class="field" class:field-has-error=move || error.get().is_some()>
            <label class="label" for=id>
                {label}
            </label>
            {hint.map(|hint| view! { <p class="field-hint" id=hint_id.clone()>{hint}</p> })}
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="field-error" id=error_id.clone()>
                                <span class="visually-hidden">"Error: "</span>
                                {message}
                            </p>
                        }
                    })
            }}
            {move || error.get().is_some().then(|| after_error.run())}
            <input
                class=class
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                autocapitalize=autocapitalize
                spellcheck=no_spellcheck.then_some("false")
                aria-describedby=described_by
                aria-invalid=move || error.get().is_some().then_some("true")
                bind:value=value
            />
        </div>
    }
}

/// "There is a problem": every error of the form, each a link to its field. It takes focus
/// when it appears, so a screen reader reads it out and a keyboard user starts from it.
#[component]
pub fn ErrorSummary(errors: RwSignal<FormErrors>) -> impl IntoView {
    let summary = NodeRef::<html::Div>::new();
    // Each time the form comes back with errors, move focus to the summary.
    Effect::new(move |_| {
        if !errors.with(FormErrors::is_empty) {
            request_animation_frame(move || {
                if let Some(el) = summary.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    });
    move || {
        let current = errors.get();
        if current.is_empty() {
            return None;
        }
        let general = current.general.clone().map(|message| view! { <li>{message}</li> });
        let fields = current
            .fields
            .iter()
            .map(|(id, message)| {
                let id = *id;
                view! {
                    <li>
                        <a href=format!("#{id}") on:click=move |event| focus_field(event, id)>
                            {message.clone()}
                        </a>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <div class="error-summary" node_ref=summary tabindex="-1" role="alert" aria-labelledby="error-summary-title">
                <h2 class="error-summary-title" id="error-summary-title">
                    "There is a problem"
                </h2>
                <ul class="error-summary-list">{general} {fields}</ul>
            </div>
        })
    }
}

/// The router would treat `#field` as a navigation; a link in the error summary must move
/// focus to the field instead (and scroll its label into view).
fn focus_field(event: MouseEvent, id: &str) {
    event.prevent_default();
    let Some(input) = document().get_element_by_id(id).and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return;
    };
    if let Some(label) = document().query_selector(&format!("label[for='{id}']")).ok().flatten() {
        label.scroll_into_view();
    }
    let _ = input.focus();
}

/// Moves focus to the first element matching `selector` once the page has drawn it: a
/// confirmation that replaced a form, a status message after an action.
pub fn focus_after_render(selector: &'static str) {
    request_animation_frame(move || {
        if let Some(el) =
            document().query_selector(selector).ok().flatten().and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}
