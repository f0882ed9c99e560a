//! API keys for machine clients (admins).

pub mod create;
pub mod list;
pub mod revoke;
