//! Public landlord information.

pub mod get;
pub mod list;
