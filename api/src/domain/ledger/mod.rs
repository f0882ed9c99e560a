//! Rent accounts' ledger. This module is the only code that writes `ledger_entry`: live
//! postings through `service`, the weekly charges through `charge_run`, whole computed
//! histories through `bulk`. Rows are never updated or deleted, and every posting moves the
//! account's cached balance and version in the same transaction.

pub mod access;
pub mod bulk;
pub mod charge_run;
pub mod check;
pub mod indexes;
pub mod model;
pub mod service;
mod sql;
pub mod statement;
pub mod views;

pub use model::{Channel, EntryKind, NewEntry};
pub use service::{LedgerError, PostOutcome, post, post_batch, post_one, reverse};
