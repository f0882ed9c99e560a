//! Types shared by the Doorstep server (`api`) and the single-page app (`web`).
//!
//! Nothing here depends on a server crate: this compiles for `wasm32-unknown-unknown`.
//! Server-only derives sit behind the `server` feature.

pub mod dto;
pub mod money;
pub mod parse;

pub use money::Money;
pub use parse::{AccountNumber, ParseError, Postcode};
