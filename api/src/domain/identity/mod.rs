//! Identity: registration with a posted PIN, sign-in, tokens, API keys, roles and the one
//! policy layer that every transport asks (DESIGN.md §5).
//!
//! - `service`: registration requests, staff decisions, PIN letters, activation;
//! - `sessions`: login, refresh-token rotation, logout, authenticating a request;
//! - `policy`: [`Principal`] and the rules of who may see what;
//! - `tokens`: signing keys, JWKS and access tokens; `password`, `pin`: secrets;
//! - `audit`, `rate_limit`: the trail and the shared counters.

pub mod api_keys;
pub mod audit;
pub mod demo;
pub mod error;
pub mod letter;
pub mod me;
pub mod model;
pub mod oidc;
pub mod password;
pub mod pin;
pub mod policy;
pub mod random;
pub mod rate_limit;
pub mod repo;
pub mod service;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use audit::ClientMeta;
pub use error::IdentityError;
pub use policy::Principal;

use crate::Config;

/// Identity's share of the application state: the signing keys (cached per node) and the
/// settings that shape tokens and cookies.
pub struct Identity {
    pub keys: tokens::KeyStore,
    /// The portal's public address, for letters; also the tokens' issuer.
    pub public_url: String,
    /// Whether the refresh cookie is marked `Secure`.
    pub cookie_secure: bool,
}

impl Identity {
    pub fn new(config: &Config) -> Identity {
        let public_url = config.public_url.trim_end_matches('/').to_owned();
        Identity { keys: tokens::KeyStore::new(public_url.clone()), public_url, cookie_secure: config.cookie_secure }
    }
}
