//! The one typed client the SPA uses for the public REST API (`/api/v1`), over `gloo-net`.
//!
//! It speaks the same contract as mobile apps and third parties; nothing here is private to the
//! SPA. Every failure becomes an [`ApiError`] whose `Display` is a sentence for a person.

use std::fmt;

use doorstep_shared::dto::{Organisation, Page};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How many organisations to ask for per page when listing them all.
const ORGANISATIONS_PAGE_SIZE: u32 = 100;
/// A ceiling on pages followed, so a server that keeps returning cursors cannot loop us forever.
const MAX_PAGES: usize = 50;

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
    /// Any other non-success status, with the API's message when it sent one.
    Status { status: u16, message: Option<String> },
    /// The answer was not the JSON we expected.
    Decode,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network => f.write_str("We could not reach the portal. Check your connection and try again."),
            ApiError::NotFound => f.write_str("We could not find what you asked for."),
            ApiError::Status { message: Some(message), .. } => f.write_str(message),
            ApiError::Status { status, .. } if *status >= 500 => {
                f.write_str("The portal had a problem answering. Please try again in a few minutes.")
            }
            ApiError::Status { status, .. } => write!(f, "The portal refused the request (HTTP {status})."),
            ApiError::Decode => f.write_str("The portal sent an answer we could not read. Please try again later."),
        }
    }
}

impl std::error::Error for ApiError {}

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
    /// `GET /organisations`: one page of landlords.
    pub async fn organisations(&self, limit: u32, cursor: Option<&str>) -> Result<Page<Organisation>, ApiError> {
        let limit = limit.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        self.get_json(Request::get(&format!("{}/organisations", self.base)).query(query)).await
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
        self.get_json(Request::get(&format!("{}/organisations/{}", self.base, slug.as_str()))).await
    }

    async fn get_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        let response = request.header("Accept", "application/json").send().await.map_err(|_| ApiError::Network)?;
        if !response.ok() {
            return Err(error_from(response).await);
        }
        response.json::<T>().await.map_err(|_| ApiError::Decode)
    }
}

/// The part of the API's error envelope (`doorstep_shared::dto::ErrorEnvelope`) the SPA shows.
/// Reading the whole envelope would pull `serde_json::Value` (for `details`) into the wasm.
#[derive(Deserialize)]
struct ErrorMessage {
    error: ErrorMessageBody,
}

#[derive(Deserialize)]
struct ErrorMessageBody {
    message: String,
}

/// Turns a failed response into an error, keeping the API's own message when the body is the
/// documented error envelope.
async fn error_from(response: Response) -> ApiError {
    let status = response.status();
    if status == 404 {
        return ApiError::NotFound;
    }
    match response.json::<ErrorMessage>().await {
        Ok(envelope) => ApiError::Status { status, message: Some(envelope.error.message) },
        Err(_) => ApiError::Status { status, message: None },
    }
}
