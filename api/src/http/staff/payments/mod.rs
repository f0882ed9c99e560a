//! Staff figures about payments.

pub mod by_channel;
