//! The income team's side of payments: end-of-day reconciliation of each provider's file
//! against the ledger, the exceptions queue, the suspense account, and payments by channel.
//!
//! [`file`] reads and checks a file without the database; [`service`] runs it (bulk load
//! through [`stage`], set-wise matching in [`sql`], late postings and suspense through the
//! payments ingest, one transaction); [`report`] reads runs back as JSON, CSV and text;
//! [`queue`] is what staff do with exceptions and suspense payments; [`channels`] is how
//! tenants pay.

pub mod channels;
pub mod error;
pub mod file;
pub mod model;
pub mod queue;
pub mod report;
pub mod service;
mod sql;
mod stage;

pub use error::ReconciliationError;
pub use file::{EodFile, FileErrors, parse};
pub use service::{NoProgress, Progress, Reconciled, RunRequest, reconcile};
