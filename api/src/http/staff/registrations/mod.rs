//! The registration queue: requests beside their matched tenancies, decisions, letters.

pub mod get;
pub mod letter;
pub mod list;
pub mod reject;
pub mod validate;
