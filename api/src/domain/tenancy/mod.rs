//! Tenancies as a landlord's staff look them up: find a tenant by name, address, postcode or
//! account number, then see the tenancy with its people, home, housing officer and accounts.
//! This replaces the old customer information screen. Tenants see their own tenancy through
//! `GET /me` (identity); this module is for staff and API keys with `tenants:read`.

pub mod error;
pub mod model;
pub mod queries;
pub mod service;

pub use error::TenancyError;
pub use service::{SearchRequest, TENANT_LOOKUP_ROLES, find_tenants, staff_tenancy};
