//! The rules of the product, one module per area. Transports call these; nothing here
//! knows about HTTP or GraphQL.

pub mod demo;
pub mod geo;
pub mod hms;
pub mod identity;
pub mod ledger;
pub mod org;
pub mod payments;
pub mod reconciliation;
pub mod tenancy;
