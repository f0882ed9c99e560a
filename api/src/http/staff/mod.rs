//! Staff endpoints. Every handler takes the caller's [`Principal`] and the domain decides
//! what their role and organisations allow.
//!
//! [`Principal`]: crate::domain::identity::Principal

pub mod api_keys;
pub mod audit;
pub mod letters;
pub mod payments;
pub mod reconciliation;
pub mod registrations;
pub mod tenants;
pub mod users;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A PDF download that no cache keeps: it carries a PIN.
pub fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The schema of a PDF body in the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfFile(pub Vec<u8>);
