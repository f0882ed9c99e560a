//! The one error type of the transports: each domain error maps into it, and it maps to a
//! status code and the JSON envelope. Internal detail is logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use doorstep_shared::ParseError;
use doorstep_shared::dto::{ErrorBody, ErrorEnvelope};
use sea_orm::{DbErr, SqlErr};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    /// The request was understood but a value in it is not acceptable.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The request could not be read at all (malformed JSON, wrong content type).
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    /// Credentials were presented and are wrong (a failed sign-in), with a sentence for a person.
    #[error("{0}")]
    AuthFailed(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A signed request (a provider's webhook) whose signature is missing, stale or wrong.
    #[error("{0}")]
    BadSignature(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation { field: field.into(), message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::AuthFailed(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not_found",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::AuthFailed(_) => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict { .. } => "conflict",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::BadSignature(_) => "bad_signature",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The envelope a client sees. For a 500 that is a fixed sentence.
    pub fn envelope(&self) -> ErrorEnvelope {
        let (message, details) = match self {
            ApiError::Internal(_) => ("Something went wrong on our side. It has been logged.".to_owned(), None),
            ApiError::Validation { field, message } => (format!("{field} {message}"), Some(json!({ "field": field }))),
            ApiError::Conflict { field: Some(field), message } => (message.clone(), Some(json!({ "field": field }))),
            ApiError::TooManyRequests { retry_after_secs } => {
                (self.to_string(), Some(json!({ "retry_after_secs": retry_after_secs })))
            }
            other => (other.to_string(), None),
        };
        ErrorEnvelope { error: ErrorBody { code: self.code().to_owned(), message, details } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "internal error");
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.envelope())).into_response();
        match &self {
            ApiError::Unauthorized | ApiError::AuthFailed(_) => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::Validation { field: e.field.to_owned(), message: e.message }
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                ApiError::Conflict { field: None, message: "that already exists".into() }
            }
            _ => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_do_not_leak() {
        let err = ApiError::Internal(anyhow::anyhow!("relation \"secret_table\" does not exist"));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("secret_table"), "{text}");
        assert!(text.contains("\"code\":\"internal\""));
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate() {
        let response = ApiError::Unauthorized.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn validation_names_the_field() {
        let env = ApiError::validation("limit", "must be between 1 and 100").envelope();
        assert_eq!(env.error.code, "validation_failed");
        assert_eq!(env.error.details, Some(json!({"field": "limit"})));
    }
}
