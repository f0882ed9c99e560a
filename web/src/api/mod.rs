//! The one typed client the SPA uses for the public REST API (`/api/v1`), over `gloo-net`.
//!
//! It speaks the same contract as mobile apps and third parties; nothing here is private to the
//! SPA. Every failure becomes an [`ApiError`] whose `Display` is a sentence for a person.
//! Calls that need a signed-in caller take the access token as an argument: the session
//! (`crate::session`) owns it, keeps it in memory only and refreshes it.

pub mod accounts;
pub mod identity;
pub mod payments;

use std::fmt;

use doorstep_shared::dto::{Organisation, Page};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::identity::{
    ActivatedUser, ActivationRequest, LoginRequest, Me, RegistrationPage, RegistrationReceived, RegistrationRequest,
    RegistrationView, RejectRequest, TokenResponse,
};

/// How many organisations to ask for per page when listing them all.
const ORGANISATIONS_PAGE_SIZE: u32 = 100;
/// A ceiling on pages followed, so a server that keeps returning cursors cannot loop us forever.
const MAX_PAGES: usize = 50;
/// Registration requests per page of the staff queue.
pub const REGISTRATIONS_PAGE_SIZE: u32 = 50;

/// An organisation slug that is safe to put in a URL path (lower-case letters, digits and
/// single hyphens), so a `?org=../..` in the address bar can never reach another endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Option<Slug> {
        doorstep_shared::parse::parse_slug(input).ok().map(Slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: offline, server down, blocked.
    Network,
    /// 404 from the API.
    NotFound,
    /// 429: too many attempts; try again after this many seconds (when the API said).
    TooManyRequests { retry_after_secs: Option<u64> },
    /// Any other non-success status, with the API's message when it sent one and the field it
    /// named (`details.field`, on 422 and some 409 answers).
    Status { status: u16, message: Option<String>, field: Option<String> },
    /// The answer was not the JSON we expected.
    Decode,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::NotFound => Some(404),
            ApiError::TooManyRequests { .. } => Some(429),
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Network | ApiError::Decode => None,
        }
    }

    /// 401: not signed in, the sign-in has ended, or the credentials were wrong.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// 409: the request raced another one (e.g. two tabs refreshing the sign-in at once).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// The field the API named, and what it said about it without the field's own name in
    /// front (the API words a 422 as "`<field>` `<what is wrong>`": "postcode is not a UK
    /// postcode"), so that the form can put its own label there instead.
    pub fn field_error(&self) -> Option<(&str, String)> {
        let ApiError::Status { field: Some(field), message, .. } = self else { return None };
        let message = message.as_deref().unwrap_or("is not acceptable");
        let rest = message.strip_prefix(field.as_str()).map(str::trim_start).unwrap_or(message);
        Some((field.as_str(), rest.to_owned()))
    }
}

/// "5 minutes", "1 minute", "2 hours": how long to wait, rounded up, for people.
pub fn wait_words(secs: u64) -> String {
    let minutes = secs.div_ceil(60).max(1);
    if minutes < 90 {
        return if minutes == 1 { "1 minute".to_owned() } else { format!("{minutes} minutes") };
    }
    let hours = minutes.div_ceil(60);
    format!("{hours} hours")
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network => f.write_str("We could not reach the portal. Check your connection and try again."),
            ApiError::NotFound => f.write_str("We could not find what you asked for."),
            ApiError::TooManyRequests { retry_after_secs: Some(secs) } => write!(
                f,
                "There have been too many attempts. To keep accounts safe, please wait {} and try again.",
                wait_words(*secs)
            ),
            ApiError::TooManyRequests { retry_after_secs: None } => f.write_str(
                "There have been too many attempts. To keep accounts safe, please wait a while and try again.",
            ),
            ApiError::Status { status: 401, message: None, .. } => f.write_str("You need to sign in again to do that."),
            ApiError::Status { status: 403, message: None, .. } => {
                f.write_str("Your sign-in does not allow you to do that.")
            }
            ApiError::Status { message: Some(message), .. } => f.write_str(&sentence(message)),
            ApiError::Status { status, .. } if *status >= 500 => {
                f.write_str("The portal had a problem answering. Please try again in a few minutes.")
            }
            ApiError::Status { status, .. } => write!(f, "The portal refused the request (HTTP {status})."),
            ApiError::Decode => f.write_str("The portal sent an answer we could not read. Please try again later."),
        }
    }
}

impl std::error::Error for ApiError {}

/// The API's messages are sometimes fragments ("email is not an email address"): start them
/// with a capital and end them with a full stop.
pub fn sentence(message: &str) -> String {
    let message = message.trim();
    let mut chars = message.chars();
    let mut out = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[derive(Debug, Clone, Copy)]
pub struct ApiClient {
    base: &'static str,
}

impl Default for ApiClient {
    fn default() -> Self {
        // Same origin as the page: the server serves both the SPA and the API.
        ApiClient { base: "/api/v1" }
    }
}

impl ApiClient {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    // ----- public -----

    /// `GET /organisations`: one page of landlords.
    pub async fn organisations(&self, limit: u32, cursor: Option<&str>) -> Result<Page<Organisation>, ApiError> {
        let limit = limit.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        self.get_json(Request::get(&self.url("/organisations")).query(query)).await
    }

    /// Every landlord, following `next_cursor` to the last page.
    pub async fn all_organisations(&self) -> Result<Vec<Organisation>, ApiError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.organisations(ORGANISATIONS_PAGE_SIZE, cursor.as_deref()).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(all)
    }

    /// `GET /organisations/{slug}`: one landlord's public branding and contacts.
    pub async fn organisation(&self, slug: &Slug) -> Result<Organisation, ApiError> {
        self.get_json(Request::get(&self.url(&format!("/organisations/{}", slug.as_str())))).await
    }

    // ----- registering and signing in -----

    /// `POST /registrations`: the same answer whether or not the details matched.
    pub async fn register(&self, request: &RegistrationRequest) -> Result<RegistrationReceived, ApiError> {
        self.send_json(Request::post(&self.url("/registrations")), request).await
    }

    /// `POST /registrations/activate`: the PIN from the letter and the sign-in to create.
    pub async fn activate(&self, request: &ActivationRequest) -> Result<ActivatedUser, ApiError> {
        self.send_json(Request::post(&self.url("/registrations/activate")), request).await
    }

    /// `POST /auth/login`. The refresh token arrives as an HttpOnly cookie the SPA never sees.
    pub async fn login(&self, request: &LoginRequest) -> Result<TokenResponse, ApiError> {
        self.send_json(Request::post(&self.url("/auth/login")), request).await
    }

    /// `POST /auth/refresh` with the refresh cookie: a new access token (and a new cookie).
    pub async fn refresh(&self) -> Result<TokenResponse, ApiError> {
        self.fetch_json(Request::post(&self.url("/auth/refresh"))).await
    }

    /// `POST /auth/logout`: ends this sign-in and clears the refresh cookie.
    pub async fn logout(&self) -> Result<(), ApiError> {
        self.fetch_empty(Request::post(&self.url("/auth/logout"))).await
    }

    /// `GET /me`: the signed-in caller.
    pub async fn me(&self, token: &str) -> Result<Me, ApiError> {
        self.get_json(bearer(Request::get(&self.url("/me")), token)).await
    }

    // ----- staff -----

    /// `GET /staff/registrations?status=&limit=&cursor=`: a page of the queue, oldest first.
    pub async fn staff_registrations(
        &self,
        token: &str,
        status: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<RegistrationPage, ApiError> {
        let limit = REGISTRATIONS_PAGE_SIZE.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(status) = status {
            query.push(("status", status));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        self.get_json(bearer(Request::get(&self.url("/staff/registrations")), token).query(query)).await
    }

    /// `GET /staff/registrations/{id}`: one request beside its matched tenancy.
    pub async fn staff_registration(&self, token: &str, id: i64) -> Result<RegistrationView, ApiError> {
        self.get_json(bearer(Request::get(&self.url(&format!("/staff/registrations/{id}"))), token)).await
    }

    /// `POST /staff/registrations/{id}/validate`: the PIN letter joins today's print run.
    pub async fn validate_registration(&self, token: &str, id: i64) -> Result<RegistrationView, ApiError> {
        self.fetch_json(bearer(Request::post(&self.url(&format!("/staff/registrations/{id}/validate"))), token)).await
    }

    /// `POST /staff/registrations/{id}/reject` with a reason the tenant can be told.
    pub async fn reject_registration(&self, token: &str, id: i64, reason: &str) -> Result<RegistrationView, ApiError> {
        let url = self.url(&format!("/staff/registrations/{id}/reject"));
        self.send_json(bearer(Request::post(&url), token), &RejectRequest { reason }).await
    }

    /// Where one request's PIN letter is (`letter.pdf`); it needs the access token.
    pub fn letter_url(&self, id: i64) -> String {
        self.url(&format!("/staff/registrations/{id}/letter.pdf"))
    }

    /// Where a day's print run of PIN letters is (`YYYY-MM-DD`); it needs the access token.
    pub fn print_run_url(&self, date: &str) -> String {
        format!("{}?date={date}", self.url("/staff/letters/print-run.pdf"))
    }

    /// A file behind the access token (a PIN letter, a print run), as bytes.
    pub async fn download(&self, token: &str, url: &str) -> Result<Vec<u8>, ApiError> {
        let response = bearer(Request::get(url), token)
            .header("Accept", "application/pdf, application/json")
            .send()
            .await
            .map_err(|_| ApiError::Network)?;
        if !response.ok() {
            return Err(error_from(response).await);
        }
        response.binary().await.map_err(|_| ApiError::Decode)
    }

    // ----- plumbing -----

    async fn get_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        self.fetch_json(request).await
    }

    async fn fetch_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        let response = request.header("Accept", "application/json").send().await.map_err(|_| ApiError::Network)?;
        read_json(response).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        body: &B,
    ) -> Result<T, ApiError> {
        let request = request.header("Accept", "application/json").json(body).map_err(|_| ApiError::Decode)?;
        let response = request.send().await.map_err(|_| ApiError::Network)?;
        read_json(response).await
    }

    async fn fetch_empty(&self, request: RequestBuilder) -> Result<(), ApiError> {
        let response = request.header("Accept", "application/json").send().await.map_err(|_| ApiError::Network)?;
        if !response.ok() {
            return Err(error_from(response).await);
        }
        Ok(())
    }
}

fn bearer(request: RequestBuilder, token: &str) -> RequestBuilder {
    request.header("Authorization", &format!("Bearer {token}"))
}

async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if !response.ok() {
        return Err(error_from(response).await);
    }
    response.json::<T>().await.map_err(|_| ApiError::Decode)
}

/// The parts of the API's error envelope (`doorstep_shared::dto::ErrorEnvelope`) the SPA uses.
/// `details` is read as a struct of the keys we know rather than a `serde_json::Value`, which
/// would pull a JSON tree type into the wasm.
#[derive(Deserialize)]
struct ErrorMessage {
    error: ErrorMessageBody,
}

#[derive(Deserialize)]
struct ErrorMessageBody {
    message: String,
    #[serde(default)]
    details: Option<ErrorDetails>,
}

#[derive(Deserialize, Default)]
struct ErrorDetails {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
}

/// Turns a failed response into an error, keeping the API's own message (and the field it
/// names) when the body is the documented error envelope.
async fn error_from(response: Response) -> ApiError {
    let status = response.status();
    if status == 404 {
        return ApiError::NotFound;
    }
    let retry_header = response.headers().get("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let envelope = response.json::<ErrorMessage>().await.ok();
    if status == 429 {
        let from_body = envelope.as_ref().and_then(|e| e.error.details.as_ref()).and_then(|d| d.retry_after_secs);
        return ApiError::TooManyRequests { retry_after_secs: from_body.or(retry_header) };
    }
    match envelope {
        Some(envelope) => {
            let field = envelope.error.details.and_then(|d| d.field);
            ApiError::Status { status, message: Some(envelope.error.message), field }
        }
        None => ApiError::Status { status, message: None, field: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_lose_the_field_name() {
        let error = ApiError::Status {
            status: 422,
            message: Some("postcode is not a UK postcode".into()),
            field: Some("postcode".into()),
        };
        assert_eq!(error.field_error(), Some(("postcode", "is not a UK postcode".to_owned())));
        let conflict = ApiError::Status {
            status: 409,
            message: Some("that email address already has a sign-in".into()),
            field: Some("email".into()),
        };
        assert_eq!(conflict.field_error(), Some(("email", "that email address already has a sign-in".to_owned())));
    }

    #[test]
    fn waits_are_in_words() {
        assert_eq!(wait_words(1), "1 minute");
        assert_eq!(wait_words(61), "2 minutes");
        assert_eq!(wait_words(900), "15 minutes");
        assert_eq!(wait_words(3600), "60 minutes");
        assert_eq!(wait_words(24 * 3600), "24 hours");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("email is not an email address"), "Email is not an email address.");
        assert_eq!(sentence("Down for maintenance."), "Down for maintenance.");
    }
}
