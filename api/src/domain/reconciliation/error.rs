//! What can go wrong in reconciliation and the income queues, and how each case reaches a
//! client. A bad file is not an error here: it is a run that was refused, with its
//! located errors (see [`super::file`]).

use crate::ApiError;
use crate::domain::identity::IdentityError;
use crate::domain::payments::IngestError;

#[derive(Debug, thiserror::Error)]
pub enum ReconciliationError {
    /// Not signed in, not income staff, or an object that is not the caller's to see (which
    /// answers exactly like one that does not exist).
    #[error(transparent)]
    Access(#[from] IdentityError),
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    /// The object is not in a state that allows this (already allocated, already resolved).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The bulk load (PostgreSQL `COPY`) failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

impl ReconciliationError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ReconciliationError::Invalid { field, message: message.into() }
    }

    pub fn not_found(what: &'static str) -> Self {
        ReconciliationError::Access(IdentityError::NotFound(what))
    }
}

impl From<ReconciliationError> for ApiError {
    fn from(e: ReconciliationError) -> Self {
        match e {
            ReconciliationError::Access(e) => e.into(),
            ReconciliationError::Invalid { field, message } => ApiError::validation(field, message),
            ReconciliationError::Conflict(message) => ApiError::Conflict { field: None, message },
            ReconciliationError::Db(e) => e.into(),
            ReconciliationError::Ingest(e) => ApiError::Internal(anyhow::Error::new(e)),
            ReconciliationError::Sqlx(e) => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}
