//! Black-box tools for Doorstep.
//!
//! [`loadgen`] is the open-model HTTP load generator behind `just bench` (binary `loadgen`).
//! It lives in the library so that later scenarios (signed webhooks, per-tenant URLs) can
//! plug in their own [`loadgen::RequestSource`] without touching the scheduling or the maths.

pub mod loadgen;
