//! Doorstep: a tenant self-service portal for social housing landlords.
//!
//! The crate is a library so that tests drive the same router the binary serves. Domain
//! rules live in `domain/<area>/service.rs`; `http/` and `graphql/` only read requests, call
//! those services and shape replies.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
mod macros;
pub mod metrics;
pub mod openapi;
pub mod pdf;
pub mod sandbox;
pub mod telemetry;

pub use app::AppState;
pub use config::Config;
pub use error::ApiError;
