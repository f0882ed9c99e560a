//! What can go wrong when staff look up tenants, and how each case reaches a client.

use crate::ApiError;
use crate::domain::identity::IdentityError;

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Not signed in, a role or key that may not look up tenants, or a tenancy that is not
    /// the caller's to see (which answers exactly like one that does not exist).
    #[error(transparent)]
    Access(#[from] IdentityError),
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl TenancyError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        TenancyError::Invalid { field, message: message.into() }
    }
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::Access(e) => e.into(),
            TenancyError::Invalid { field, message } => ApiError::validation(field, message),
            TenancyError::Db(e) => e.into(),
        }
    }
}
