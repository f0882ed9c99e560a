//! The pages people see: the hosted card page the portal frames, its challenge step and
//! outcome, and the sandbox's own landing page. Plain server-rendered HTML and one
//! stylesheet; every form works without JavaScript and every control has a label.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use doorstep_shared::Money;
use serde::Deserialize;

use super::Ctx;
use super::card::{self, CardForm, FieldError};
use super::state::{Channel, EventRequest, PaymentStatus, SandboxError, SessionView, Step};
use crate::http::extract::Path;

const STYLESHEET: &str = include_str!("sandbox.css");

pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], STYLESHEET)
        .into_response()
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn money(pence: i64) -> String {
    Money::from_pence(pence).to_string()
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – Doorstep Pay (sandbox)</title>\n\
         <link rel=\"stylesheet\" href=\"/sandbox.css\">\n<link rel=\"icon\" href=\"data:,\">\n</head>\n\
         <body>\n<p class=\"test-mode\"><strong>Test mode.</strong> No real money moves: use a test card.</p>\n\
         {body}\n</body>\n</html>\n",
        title = esc(title),
    )
}

/// A card-page response: the portal may frame it, nobody caches it.
fn card_page(ctx: &Ctx, status: StatusCode, title: &str, body: &str) -> Response {
    let mut response = (status, Html(document(title, body))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, ctx.page_csp.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn not_found_page(message: &str) -> Response {
    let body = format!(
        "<main class=\"panel\">\n<h1>Page not found</h1>\n<p>{}</p>\n\
         <p>If you were paying your rent, go back to Doorstep and start the payment again.</p>\n</main>",
        esc(message)
    );
    (StatusCode::NOT_FOUND, Html(document("Page not found", &body))).into_response()
}

/// The merchant and amount, at the top of every step.
fn summary(s: &SessionView) -> String {
    let what = if s.description.is_empty() { "Rent payment".to_owned() } else { esc(&s.description) };
    format!(
        "<header class=\"summary\">\n<p class=\"merchant\">Doorstep</p>\n\
         <p class=\"amount\"><span class=\"visually-hidden\">Amount: </span>{amount}</p>\n\
         <p class=\"for\">{what}<br>Rent account <span class=\"mono\">{account}</span></p>\n</header>",
        amount = money(s.amount_pence),
        account = esc(&s.account_number),
    )
}

fn error_summary(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\">\n\
         <h2 id=\"error-summary-title\">There is a problem</h2>\n<ul>\n",
    );
    for e in errors {
        let _ = writeln!(out, "<li><a href=\"#{}\">{}</a></li>", e.field, esc(e.message));
    }
    out.push_str("</ul>\n</div>");
    out
}

struct Input<'a> {
    name: &'static str,
    label: &'a str,
    hint: Option<&'a str>,
    value: &'a str,
    autocomplete: &'a str,
    numeric: bool,
    class: &'a str,
}

fn field(input: &Input<'_>, errors: &[FieldError]) -> String {
    let error = errors.iter().find(|e| e.field == input.name);
    let mut described = Vec::new();
    let hint = input.hint.map(|h| {
        described.push(format!("{}-hint", input.name));
        format!("<p class=\"hint\" id=\"{}-hint\">{}</p>\n", input.name, esc(h))
    });
    let error_html = error.map(|e| {
        described.push(format!("{}-error", input.name));
        format!(
            "<p class=\"field-error\" id=\"{}-error\"><span class=\"visually-hidden\">Error: </span>{}</p>\n",
            input.name,
            esc(e.message)
        )
    });
    let describedby =
        if described.is_empty() { String::new() } else { format!(" aria-describedby=\"{}\"", described.join(" ")) };
    format!(
        "<div class=\"field{invalid_class}{class}\">\n<label for=\"{name}\">{label}</label>\n{hint}{error}\
         <input id=\"{name}\" name=\"{name}\" type=\"text\"{inputmode} autocomplete=\"{autocomplete}\" \
         spellcheck=\"false\" required value=\"{value}\"{describedby}{invalid}>\n</div>",
        invalid_class = if error.is_some() { " has-error" } else { "" },
        class = if input.class.is_empty() { String::new() } else { format!(" {}", input.class) },
        name = input.name,
        label = esc(input.label),
        hint = hint.unwrap_or_default(),
        error = error_html.unwrap_or_default(),
        inputmode = if input.numeric { " inputmode=\"numeric\"" } else { "" },
        autocomplete = input.autocomplete,
        value = esc(input.value),
        invalid = if error.is_some() { " aria-invalid=\"true\"" } else { "" },
    )
}

fn test_cards() -> String {
    "<section class=\"test-cards\" aria-labelledby=\"test-cards-title\">\n\
     <h2 id=\"test-cards-title\">Test cards</h2>\n<p>Any name, any security code, any expiry date from this month on.</p>\n\
     <dl>\n<dt class=\"mono\">4242 4242 4242 4242</dt><dd>Payment succeeds</dd>\n\
     <dt class=\"mono\">4000 0000 0000 0002</dt><dd>Card is declined</dd>\n\
     <dt class=\"mono\">4000 0000 0000 3220</dt><dd>Bank asks for a code: 123456 passes, anything else fails</dd>\n\
     </dl>\n</section>"
        .to_owned()
}

fn back_link(s: &SessionView, text: &str, class: &str) -> String {
    // The page lives in the portal's frame: going back replaces the whole window.
    format!("<a class=\"{class}\" href=\"{}\" target=\"_top\">{}</a>", esc(&s.return_url), esc(text))
}

fn card_form(ctx: &Ctx, s: &SessionView, form: &CardForm, errors: &[FieldError]) -> Response {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let fields = [
        Input {
            name: "card_number",
            label: "Card number",
            hint: Some("The long number on the front of your card"),
            value: &form.card_number,
            autocomplete: "cc-number",
            numeric: true,
            class: "",
        },
        Input {
            name: "expiry",
            label: "Expiry date",
            hint: Some("For example, 04/29"),
            value: &form.expiry,
            autocomplete: "cc-exp",
            numeric: false,
            class: "half",
        },
        Input {
            name: "cvc",
            label: "Security code",
            hint: Some("The last 3 digits on the back"),
            // Never sent back: a security code is not kept, even for a redisplay.
            value: "",
            autocomplete: "cc-csc",
            numeric: true,
            class: "half",
        },
        Input {
            name: "name",
            label: "Name on card",
            hint: None,
            value: &form.name,
            autocomplete: "cc-name",
            numeric: false,
            class: "",
        },
    ];
    let [number, expiry, cvc, name] = fields.map(|f| field(&f, errors));
    let body = format!(
        "<main class=\"panel\">\n{summary}\n<h1>Enter card details</h1>\n{errors}\n\
         <form method=\"post\" action=\"/pay/{id}\" novalidate>\n{number}\n\
         <div class=\"row\">\n{expiry}\n{cvc}\n</div>\n{name}\n\
         <button type=\"submit\" class=\"pay\">Pay {amount}</button>\n</form>\n\
         <p class=\"secondary\">{cancel}</p>\n{cards}\n</main>",
        summary = summary(s),
        errors = error_summary(errors),
        id = esc(&s.id),
        amount = money(s.amount_pence),
        cancel = back_link(s, "Cancel and go back to Doorstep", "cancel"),
        cards = test_cards(),
    );
    let title =
        if errors.is_empty() { "Enter card details".to_owned() } else { "Error: Enter card details".to_owned() };
    card_page(ctx, status, &title, &body)
}

fn challenge_form(ctx: &Ctx, s: &SessionView, error: Option<&FieldError>) -> Response {
    let errors: Vec<FieldError> = error.cloned().into_iter().collect();
    let code = field(
        &Input {
            name: "code",
            label: "Security code from your bank",
            hint: Some("We sent a 6-digit code by text to your phone ending 0000. (Test: 123456 passes.)"),
            value: "",
            autocomplete: "one-time-code",
            numeric: true,
            class: "",
        },
        &errors,
    );
    let body = format!(
        "<main class=\"panel\">\n{summary}\n<h1>Confirm it is you</h1>\n{errors}\n\
         <p>Your bank wants to make sure that it is really you paying.</p>\n\
         <form method=\"post\" action=\"/pay/{id}\" novalidate>\n{code}\n\
         <button type=\"submit\" class=\"pay\">Confirm payment</button>\n</form>\n</main>",
        summary = summary(s),
        errors = error_summary(&errors),
        id = esc(&s.id),
    );
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let title = if error.is_some() { "Error: Confirm it is you" } else { "Confirm it is you" };
    card_page(ctx, status, title, &body)
}

fn outcome(ctx: &Ctx, s: &SessionView) -> Response {
    let (title, class, text, back) = match (s.status, s.failure_reason) {
        (PaymentStatus::Succeeded, _) => (
            "Payment received",
            "outcome success",
            format!(
                "<p>You paid <strong>{}</strong> to rent account <span class=\"mono\">{}</span>.</p>\n\
                 <p>Payment reference: <span class=\"mono\">{}</span></p>",
                money(s.amount_pence),
                esc(&s.account_number),
                esc(&s.payment_id)
            ),
            "Return to Doorstep",
        ),
        (_, Some("challenge_failed")) => (
            "Payment not confirmed",
            "outcome failure",
            "<p>The security code was not right, so your bank did not confirm the payment.</p>\n\
             <p>No money has been taken.</p>"
                .to_owned(),
            "Go back to Doorstep to try again",
        ),
        _ => (
            "Payment declined",
            "outcome failure",
            "<p>Your card was declined by your bank.</p>\n<p>No money has been taken. You can try again \
             with another card.</p>"
                .to_owned(),
            "Go back to Doorstep to try again",
        ),
    };
    let body = format!(
        "<main class=\"panel\">\n{summary}\n<div class=\"{class}\" role=\"status\">\n<h1>{title}</h1>\n{text}\n</div>\n\
         <p>{back}</p>\n</main>",
        summary = summary(s),
        back = back_link(s, back, "button"),
    );
    card_page(ctx, StatusCode::OK, title, &body)
}

fn render_session(ctx: &Ctx, s: &SessionView) -> Response {
    match s.step {
        Step::Card => card_form(ctx, s, &CardForm::default(), &[]),
        Step::Challenge => challenge_form(ctx, s, None),
        Step::Done => outcome(ctx, s),
    }
}

const NO_SESSION: &str = "This payment link is not valid, or the sandbox has restarted since it was made.";

/// `GET /pay/{session}`: whichever step the payment is at.
pub async fn show(State(ctx): State<Arc<Ctx>>, Path(session): Path<String>) -> Response {
    match ctx.sandbox.session(&session) {
        Some(s) => render_session(&ctx, &s),
        None => not_found_page(NO_SESSION),
    }
}

/// `POST /pay/{session}`: the card form or the challenge form. A step completed moves on
/// with a 303 redirect, so that reloading the page does not submit it again.
pub async fn submit(State(ctx): State<Arc<Ctx>>, Path(session): Path<String>, Form(form): Form<CardForm>) -> Response {
    let Some(s) = ctx.sandbox.session(&session) else { return not_found_page(NO_SESSION) };
    let result = match s.step {
        Step::Card => match card::check(&form, chrono::Utc::now().date_naive()) {
            Err(errors) => return card_form(&ctx, &s, &form, &errors),
            Ok(behaviour) => ctx.sandbox.submit_card(&session, behaviour),
        },
        Step::Challenge if form.code.trim().is_empty() => {
            let error = FieldError { field: "code", message: "Enter the security code from your bank" };
            return challenge_form(&ctx, &s, Some(&error));
        }
        Step::Challenge => ctx.sandbox.submit_code(&session, &form.code),
        Step::Done => Ok(s),
    };
    match result {
        Ok(_) => {
            // The redirect happens inside the portal's frame too.
            let mut response = Redirect::to(&format!("/pay/{session}")).into_response();
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, ctx.page_csp.clone());
            response
        }
        Err(_) => not_found_page(NO_SESSION),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LandingQuery {
    /// A payment just made from the form.
    paid: Option<String>,
}

/// The landing page's form, as typed: the amount in pounds.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LandingForm {
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    channel: String,
}

/// `GET /`: recent payments and a form to make one arrive from another channel.
pub async fn landing(State(ctx): State<Arc<Ctx>>, Query(q): Query<LandingQuery>) -> Response {
    let form = LandingForm { channel: Channel::RetailCash.as_str().into(), ..LandingForm::default() };
    let notice = q.paid.and_then(|id| ctx.sandbox.payment(&id)).map(|p| {
        format!(
            "<div class=\"notice\" role=\"status\"><p>{amount} arrived for account <span class=\"mono\">{account}</span> \
             by {channel}: payment <a class=\"mono\" href=\"/api/payments/{id}\">{id}</a>.</p></div>",
            amount = money(p.amount_pence),
            account = esc(&p.account_number),
            channel = esc(p.channel.label()),
            id = esc(&p.id),
        )
    });
    landing_page(&ctx, &form, &[], notice.as_deref().unwrap_or(""), StatusCode::OK)
}

/// `POST /events` from the landing page's form.
pub async fn landing_payment(State(ctx): State<Arc<Ctx>>, Form(form): Form<LandingForm>) -> Response {
    let amount = match Money::parse_pounds(&form.amount) {
        Ok(m) => m.pence(),
        Err(_) if form.amount.trim().is_empty() => {
            let e = [FieldError { field: "amount", message: "Enter an amount" }];
            return landing_page(&ctx, &form, &e, "", StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(_) => {
            let e = [FieldError { field: "amount", message: "Enter the amount in pounds, for example 12.50" }];
            return landing_page(&ctx, &form, &e, "", StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let req = EventRequest {
        account_number: form.account_number.clone(),
        amount_pence: amount,
        channel: form.channel.clone(),
    };
    match ctx.sandbox.external_payment(&req) {
        Ok(created) => Redirect::to(&format!("/?paid={}", created.payment_id)).into_response(),
        Err(SandboxError::Invalid { field, message: _ }) => {
            let field = if field == "amount_pence" { "amount" } else { field };
            let message: &'static str = match field {
                "amount" => "Enter an amount from £0.01 to £100,000.00",
                "account_number" => "Enter a rent account number: 4 to 20 letters, digits or hyphens",
                "channel" => "Choose a channel",
                _ => "Check this value",
            };
            tracing::debug!(field, %message, "landing form rejected");
            landing_page(&ctx, &form, &[FieldError { field, message }], "", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => crate::ApiError::from(e).into_response(),
    }
}

fn landing_page(ctx: &Ctx, form: &LandingForm, errors: &[FieldError], notice: &str, status: StatusCode) -> Response {
    let account = field(
        &Input {
            name: "account_number",
            label: "Rent account number",
            hint: None,
            value: &form.account_number,
            autocomplete: "off",
            numeric: false,
            class: "",
        },
        errors,
    );
    let amount = field(
        &Input {
            name: "amount",
            label: "Amount in pounds",
            hint: Some("For example, 12.50"),
            value: &form.amount,
            autocomplete: "off",
            numeric: false,
            class: "",
        },
        errors,
    );
    let mut options = String::new();
    for c in Channel::ALL {
        let selected = if c.as_str() == form.channel { " selected" } else { "" };
        let _ = writeln!(options, "<option value=\"{}\"{selected}>{}</option>", c.as_str(), esc(c.label()));
    }
    let channel_error = errors.iter().find(|e| e.field == "channel").map(|e| {
        format!(
            "<p class=\"field-error\" id=\"channel-error\"><span class=\"visually-hidden\">Error: </span>{}</p>",
            esc(e.message)
        )
    });
    let mut rows = String::new();
    let recent = ctx.sandbox.recent(50);
    for p in &recent {
        let notified = p
            .notifications
            .iter()
            .map(|n| match n.attempts {
                0 | 1 => n.delivery.label().to_owned(),
                a => format!("{} ({a} attempts)", n.delivery.label()),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            rows,
            "<tr><td class=\"nowrap\">{created}</td><td><a class=\"mono\" href=\"/api/payments/{id}\">{id}</a></td>\
             <td class=\"mono\">{account}</td><td class=\"num\">{amount}</td><td>{channel}</td><td>{status}</td>\
             <td>{notified}</td></tr>",
            // `2026-11-22T07:59:44.089Z` → `2026-11-22 07:59:44`.
            created = esc(&p.created_at.get(..19).unwrap_or(&p.created_at).replacen('T', " ", 1)),
            id = esc(&p.id),
            account = esc(&p.account_number),
            amount = money(p.amount_pence),
            channel = esc(p.channel.label()),
            status = match p.status {
                PaymentStatus::Pending => "pending",
                PaymentStatus::Succeeded => "succeeded",
                PaymentStatus::Failed => "failed",
            },
            notified = if notified.is_empty() { "none yet".to_owned() } else { esc(&notified) },
        );
    }
    let payments = if recent.is_empty() {
        "<p>No payments yet. Make one with the form above, or pay through the portal.</p>".to_owned()
    } else {
        format!(
            "<div class=\"table-wrap\"><table>\n<caption class=\"visually-hidden\">The 50 most recent payments, newest first</caption>\n\
             <thead><tr><th scope=\"col\">Created (UTC)</th><th scope=\"col\">Payment</th><th scope=\"col\">Account</th>\
             <th scope=\"col\" class=\"num\">Amount</th><th scope=\"col\">Channel</th><th scope=\"col\">Status</th>\
             <th scope=\"col\">Notification</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table></div>"
        )
    };
    let faults = ctx.sandbox.faults();
    let faults = if faults.is_empty() {
        "<p>None: every notification is sent once, in order.</p>".to_owned()
    } else {
        let items: Vec<String> = faults
            .iter()
            .map(|f| format!("<li><code>{}</code></li>", esc(&serde_json::to_string(f).unwrap_or_default())))
            .collect();
        format!("<ul>{}</ul>", items.join(""))
    };
    let today = chrono::Utc::now().date_naive();
    let body = format!(
        "<main class=\"wide\">\n<h1>Sandbox payment provider</h1>\n\
         <p>Notifications go to <code>{webhook}</code>, signed. Only <code>{origin}</code> may frame the card pages.</p>\n\
         {notice}\n\
         <section aria-labelledby=\"make-title\" class=\"panel\">\n<h2 id=\"make-title\">Make a payment arrive</h2>\n\
         <p>As if the tenant had paid another way: the portal is notified at once.</p>\n{errors}\n\
         <form method=\"post\" action=\"/events\" novalidate>\n{account}\n{amount}\n\
         <div class=\"field{channel_class}\">\n<label for=\"channel\">Channel</label>\n{channel_error}\
         <select id=\"channel\" name=\"channel\"{channel_described}>\n{options}</select>\n</div>\n\
         <button type=\"submit\" class=\"pay\">Make payment</button>\n</form>\n</section>\n\
         <section aria-labelledby=\"faults-title\">\n<h2 id=\"faults-title\">Faults armed</h2>\n{faults}\n\
         <p>Arm one with <code>POST /api/faults</code>, for example \
         <code>{{\"fault\": \"drop\", \"next\": 1}}</code>; clear them with <code>DELETE /api/faults</code>.</p>\n</section>\n\
         <section aria-labelledby=\"recent-title\">\n<h2 id=\"recent-title\">Recent payments</h2>\n{payments}\n\
         <p><a href=\"/api/end-of-day/{today}.csv\">Today's end-of-day file ({today})</a></p>\n</section>\n\
         {cards}\n</main>",
        webhook = esc(&ctx.webhook_url),
        origin = esc(&ctx.portal_origin),
        errors = error_summary(errors),
        channel_class = if channel_error.is_some() { " has-error" } else { "" },
        channel_described =
            if channel_error.is_some() { " aria-describedby=\"channel-error\" aria-invalid=\"true\"" } else { "" },
        channel_error = channel_error.unwrap_or_default(),
        cards = test_cards(),
    );
    let title = if errors.is_empty() { "Sandbox payment provider" } else { "Error: Sandbox payment provider" };
    let mut response = (status, Html(document(title, &body))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn a_field_in_error_says_so_to_screen_readers() {
        let input = Input {
            name: "cvc",
            label: "Security code",
            hint: Some("3 digits"),
            value: "",
            autocomplete: "cc-csc",
            numeric: true,
            class: "",
        };
        let html = field(&input, &[FieldError { field: "cvc", message: "Enter the security code" }]);
        assert!(html.contains("<label for=\"cvc\">Security code</label>"), "{html}");
        assert!(html.contains("aria-describedby=\"cvc-hint cvc-error\""), "{html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
    }
}
