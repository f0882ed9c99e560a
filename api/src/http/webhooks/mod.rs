//! Notifications from payment providers.

pub mod receive;
