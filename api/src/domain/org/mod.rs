//! Landlords: organisations, their groups, branding and contacts.

pub mod service;

pub use service::{OrgError, get_by_slug, id_by_slug, list};
