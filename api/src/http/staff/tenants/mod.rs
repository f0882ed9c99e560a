//! Finding a tenant and seeing their tenancy and accounts (the customer information screen).

pub mod get;
pub mod list;
