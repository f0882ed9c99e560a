//! External sign-in with OpenID Connect: any standard provider, configured by issuer URL,
//! client id and secret (`config::oidc`).
//!
//! The flow is the authorization code flow of a confidential client, with every protection
//! that OpenID Connect Core, RFC 9700 (OAuth 2.0 Security BCP) and RFC 9207 ask of one:
//!
//! - `start` draws a random `state`, `nonce` and browser-binding secret. The `state` row lives
//!   in the database (any node may take the callback), expires after ten minutes and works
//!   once. The binding secret goes to the browser as an HttpOnly cookie; only its hash is
//!   stored, and the PKCE S256 verifier is derived from it, so no verifier is stored either.
//! - `callback` claims the `state` row in one conditional update (a replay finds it used),
//!   requires the same browser, checks the `iss` response parameter (RFC 9207), exchanges
//!   the code at the token endpoint (with the verifier, the exact redirect URI and the client
//!   authentication the discovery document supports), and verifies the ID token
//!   (`id_token`): signature with the provider's published key and an algorithm allow-list,
//!   `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`.
//! - A verified identity is `(issuer, subject)`, never an email address: signing in finds
//!   the `identity_link` for that pair; an email address, even a verified one, is only ever a
//!   default for the tenant's contact address.
//!
//! Registering (`flow::activate`): the external identity takes the place of the password at
//! activation, and nothing else changes. The callback of a `register` flow parks the verified
//! identity in a short-lived pending link (bound to the browser by an HttpOnly cookie), and
//! the tenant then sends the account number and the PIN from the letter, exactly as with a
//! password. So the letter posted to the home is still what proves the tenancy: an identity
//! at any provider, however obtained, links to nobody without the PIN.

pub mod discovery;
pub mod flow;
pub mod id_token;
mod store;

use std::sync::OnceLock;
use std::time::Duration;

use super::error::IdentityError;

pub use flow::{
    Callback, CallbackParams, ExternalActivationRequest, Intent, Outcome, PendingExternalIdentity, Started,
};

/// The process's OpenID Connect client: one HTTP client and the caches of discovery
/// documents and key sets, keyed by URL, that every request shares.
pub struct Oidc {
    http: reqwest::Client,
    caches: discovery::Caches,
    jwks_refetch_gap: Duration,
}

static GLOBAL: OnceLock<Oidc> = OnceLock::new();

impl Oidc {
    /// A client with empty caches. Tests make their own; the server uses [`Oidc::global`].
    pub fn new() -> Result<Oidc, OidcError> {
        let http = reqwest::Client::builder()
            // Never follow a redirect: an endpoint that moves is a configuration to fix,
            // and following one is how server-side request forgery starts.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("doorstep/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Unavailable(format!("cannot make an HTTP client: {e}")))?;
        Ok(Oidc { http, caches: discovery::Caches::default(), jwks_refetch_gap: discovery::JWKS_REFETCH_GAP })
    }

    /// The same with another least time between two fetches of a key set (tests).
    pub fn with_jwks_refetch_gap(mut self, gap: Duration) -> Oidc {
        self.jwks_refetch_gap = gap;
        self
    }

    /// The one client of this process.
    pub fn global() -> Result<&'static Oidc, OidcError> {
        if let Some(o) = GLOBAL.get() {
            return Ok(o);
        }
        let made = Oidc::new()?;
        let _ = GLOBAL.set(made);
        GLOBAL.get().ok_or_else(|| OidcError::Unavailable("the OpenID Connect client went missing".into()))
    }
}

/// Why an external sign-in did not work. [`OidcError::reason`] goes to the audit trail and
/// the log; [`OidcError::public_code`] is all the browser is told.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no such sign-in provider")]
    UnknownProvider,
    /// The provider could not be reached, or its discovery document or keys could not be read.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider's discovery document does not fit its configuration (another issuer, no
    /// S256 PKCE, a plain-http endpoint).
    #[error("the provider's metadata is not acceptable: {0}")]
    Misconfigured(String),
    /// Missing, unknown, expired or already used `state`, or a callback in another browser.
    #[error("the sign-in attempt is not valid: {0}")]
    State(&'static str),
    /// The `iss` the provider sent back is not this provider's (RFC 9207: a mix-up).
    #[error("the authorization response came from another issuer")]
    IssuerMismatch,
    /// The provider answered the authorization request with an error (`access_denied`…).
    #[error("the provider refused: {0}")]
    Provider(String),
    #[error("the code exchange failed: {0}")]
    TokenExchange(String),
    #[error("the ID token is not acceptable: {0}")]
    IdToken(&'static str),
    /// A verified identity that no sign-in is linked to.
    #[error("this external identity is not linked to a sign-in")]
    NotLinked,
    /// Registering with an identity that already signs in.
    #[error("this external identity is already linked to a sign-in")]
    AlreadyLinked,
    /// The linked sign-in is disabled.
    #[error("the linked sign-in may not sign in")]
    NotAllowed,
    #[error("too many sign-in attempts")]
    Throttled,
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl From<sea_orm::DbErr> for OidcError {
    fn from(e: sea_orm::DbErr) -> Self {
        OidcError::Identity(IdentityError::Db(e))
    }
}

impl OidcError {
    /// A short code for the audit trail (never a secret, never provider-supplied text).
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::UnknownProvider => "unknown_provider",
            OidcError::Unavailable(_) => "provider_unavailable",
            OidcError::Misconfigured(_) => "provider_misconfigured",
            OidcError::State(r) => r,
            OidcError::IssuerMismatch => "issuer_mismatch",
            OidcError::Provider(_) => "provider_error",
            OidcError::TokenExchange(_) => "token_exchange_failed",
            OidcError::IdToken(r) => r,
            OidcError::NotLinked => "not_linked",
            OidcError::AlreadyLinked => "already_linked",
            OidcError::NotAllowed => "account_disabled",
            OidcError::Throttled => "throttled",
            OidcError::Identity(IdentityError::Throttled { .. }) => "throttled",
            OidcError::Identity(_) => "internal",
        }
    }

    /// What the SPA is told, as `?error=<code>`: enough to say what to do next, nothing
    /// about which check failed.
    pub fn public_code(&self) -> &'static str {
        match self {
            OidcError::NotLinked => "not_linked",
            OidcError::AlreadyLinked => "already_linked",
            OidcError::NotAllowed => "not_allowed",
            OidcError::State(_) => "expired",
            OidcError::Provider(e) if e == "access_denied" => "cancelled",
            OidcError::Throttled | OidcError::Identity(IdentityError::Throttled { .. }) => "throttled",
            OidcError::Unavailable(_) | OidcError::Misconfigured(_) | OidcError::UnknownProvider => "unavailable",
            OidcError::IssuerMismatch
            | OidcError::Provider(_)
            | OidcError::TokenExchange(_)
            | OidcError::IdToken(_)
            | OidcError::Identity(_) => "failed",
        }
    }
}

/// Equal strings, compared in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Text from a provider, cut down to a short code safe for logs and the audit trail.
pub(crate) fn sanitize_code(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_learn_only_a_code() {
        assert_eq!(OidcError::State("replayed").public_code(), "expired");
        assert_eq!(OidcError::IdToken("wrong_audience").public_code(), "failed");
        assert_eq!(OidcError::IdToken("wrong_audience").reason(), "wrong_audience");
        assert_eq!(OidcError::Provider("access_denied".into()).public_code(), "cancelled");
        assert_eq!(OidcError::Provider("server_error".into()).public_code(), "failed");
        assert_eq!(OidcError::NotLinked.public_code(), "not_linked");
    }

    #[test]
    fn comparisons_and_codes() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert_eq!(sanitize_code("access_denied<script>"), "access_deniedscript");
    }
}
