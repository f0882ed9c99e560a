//! What can go wrong in identity, and how each case reaches a client.

use crate::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Login failed. One answer for an unknown email, a wrong password, a locked or a
    /// disabled account, so that none of them can be told apart.
    #[error(
        "The email address or password is not right. After 10 failed attempts, signing in is paused for 15 minutes."
    )]
    InvalidCredentials,
    /// Activation failed. One answer for an unknown account number, a wrong or expired PIN
    /// and a request locked after too many wrong PINs.
    #[error(
        "The account number or PIN is not right. After 5 wrong PINs the PIN stops working: call us and we will post \
         a new letter."
    )]
    PinRejected,
    /// No usable credentials (missing, malformed, expired or revoked token or key).
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role or scope does not allow this kind of request.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist or the caller may not see it: the same answer for both.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { field: Option<&'static str>, message: String },
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error("too many requests")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IdentityError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        IdentityError::Invalid { field, message: message.into() }
    }

    pub fn conflict(field: Option<&'static str>, message: impl Into<String>) -> Self {
        IdentityError::Conflict { field, message: message.into() }
    }
}

impl From<doorstep_shared::ParseError> for IdentityError {
    fn from(e: doorstep_shared::ParseError) -> Self {
        IdentityError::Invalid { field: e.field, message: e.message }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::InvalidCredentials => ApiError::AuthFailed(IdentityError::InvalidCredentials.to_string()),
            IdentityError::PinRejected => ApiError::validation(
                "pin",
                "does not match that account number, or has expired. After 5 wrong PINs it stops working: call us \
                 and we will post a new letter.",
            ),
            IdentityError::Unauthorized => ApiError::Unauthorized,
            IdentityError::Forbidden(m) => ApiError::Forbidden(m),
            IdentityError::NotFound(what) => ApiError::not_found(what),
            IdentityError::Conflict { field, message } => {
                ApiError::Conflict { field: field.map(str::to_owned), message }
            }
            IdentityError::Invalid { field, message } => ApiError::validation(field, message),
            IdentityError::Throttled { retry_after_secs } => ApiError::TooManyRequests { retry_after_secs },
            IdentityError::Db(e) => e.into(),
            IdentityError::Internal(e) => ApiError::Internal(e),
        }
    }
}
