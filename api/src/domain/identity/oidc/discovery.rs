//! A provider's discovery document (`/.well-known/openid-configuration`) and its signing
//! keys (the `jwks_uri` key set), fetched over HTTP and cached per node.
//!
//! Discovery documents are kept for an hour; if a refresh fails, a document up to a day old
//! is used meanwhile (a provider's brief outage should not stop every sign-in). Key sets are
//! kept for an hour too, and fetched again at once when a token names a key id the set does
//! not have (the provider rotated its keys), but at most every [`JWKS_REFETCH_GAP`]: a
//! stream of tokens with made-up key ids must not turn into a stream of requests to the
//! provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use oauth2::AuthType;
use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Oidc, OidcError};
use crate::config::oidc::is_loopback;

pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a document whose refresh failed may still be used.
pub const DISCOVERY_STALE_MAX: Duration = Duration::from_secs(24 * 3600);
pub const JWKS_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches of one key set (the default of [`Oidc`]).
pub const JWKS_REFETCH_GAP: Duration = Duration::from_secs(10);
/// The largest discovery document, key set or userinfo answer read.
const MAX_BODY: usize = 256 * 1024;

/// What Doorstep reads from a discovery document (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Absent means `client_secret_basic` only.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207: the provider adds `iss` to its authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// The checks of Discovery §4.3 and ours: the document is the configured issuer's own,
    /// its endpoints are https (plain http only on this machine, for a local provider), and
    /// it can do S256 PKCE.
    pub fn check(&self, issuer: &str) -> Result<(), OidcError> {
        if self.issuer != issuer {
            return Err(OidcError::Misconfigured(format!(
                "the discovery document names issuer {:?}, not the configured {issuer:?}",
                self.issuer
            )));
        }
        let issuer_url = Url::parse(issuer).map_err(|e| OidcError::Misconfigured(format!("issuer: {e}")))?;
        let local = issuer_url.scheme() == "http" && is_loopback(&issuer_url);
        let mut endpoints = vec![
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("jwks_uri", &self.jwks_uri),
        ];
        if let Some(u) = &self.userinfo_endpoint {
            endpoints.push(("userinfo_endpoint", u));
        }
        for (name, value) in endpoints {
            let url = Url::parse(value).map_err(|e| OidcError::Misconfigured(format!("{name}: {e}")))?;
            let ok = url.scheme() == "https" || (local && url.scheme() == "http" && is_loopback(&url));
            if !ok || url.fragment().is_some() {
                return Err(OidcError::Misconfigured(format!("{name} must be an https URL without a fragment")));
            }
        }
        if let Some(methods) = &self.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(OidcError::Misconfigured("the provider does not support S256 PKCE".into()));
        }
        self.token_auth()?;
        Ok(())
    }

    /// How to authenticate at the token endpoint: `client_secret_basic` unless the provider
    /// supports only `client_secret_post`.
    pub fn token_auth(&self) -> Result<AuthType, OidcError> {
        match &self.token_endpoint_auth_methods_supported {
            None => Ok(AuthType::BasicAuth),
            Some(m) if m.iter().any(|m| m == "client_secret_basic") => Ok(AuthType::BasicAuth),
            Some(m) if m.iter().any(|m| m == "client_secret_post") => Ok(AuthType::RequestBody),
            Some(_) => Err(OidcError::Misconfigured(
                "the token endpoint takes neither client_secret_basic nor client_secret_post".into(),
            )),
        }
    }
}

struct CachedMetadata {
    at: Instant,
    metadata: Arc<ProviderMetadata>,
}

struct CachedKeys {
    fetched: Option<Instant>,
    last_attempt: Instant,
    keys: Arc<Vec<Jwk>>,
}

#[derive(Default)]
pub(super) struct Caches {
    metadata: Mutex<HashMap<String, CachedMetadata>>,
    keys: Mutex<HashMap<String, CachedKeys>>,
}

/// GETs a JSON document, reading at most [`MAX_BODY`] bytes of it.
pub(super) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, OidcError> {
    let mut request = http.get(url).header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|e| OidcError::Unavailable(format!("GET {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(OidcError::Unavailable(format!("GET {url}: HTTP {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OidcError::Unavailable(format!("GET {url}: {e}")))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(OidcError::Unavailable(format!("GET {url}: the answer is larger than {MAX_BODY} bytes")));
        }
    }
    serde_json::from_slice(&body).map_err(|e| OidcError::Unavailable(format!("GET {url}: not the JSON expected: {e}")))
}

impl Oidc {
    /// The issuer's discovery document, checked against the issuer.
    pub async fn metadata(&self, issuer: &str) -> Result<Arc<ProviderMetadata>, OidcError> {
        let cached =
            self.caches.metadata.lock().ok().and_then(|c| c.get(issuer).map(|m| (m.at.elapsed(), m.metadata.clone())));
        if let Some((age, m)) = &cached
            && *age < DISCOVERY_TTL
        {
            return Ok(m.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let fetched = get_json::<ProviderMetadata>(&self.http, &url, None).await.and_then(|m| {
            m.check(issuer)?;
            Ok(m)
        });
        match (fetched, cached) {
            (Ok(m), _) => {
                let m = Arc::new(m);
                if let Ok(mut c) = self.caches.metadata.lock() {
                    c.insert(issuer.to_owned(), CachedMetadata { at: Instant::now(), metadata: m.clone() });
                }
                Ok(m)
            }
            (Err(e), Some((age, stale))) if age < DISCOVERY_STALE_MAX => {
                tracing::warn!(issuer, error = %e, "cannot refresh a discovery document: using the one from before");
                Ok(stale)
            }
            (Err(e), _) => Err(e),
        }
    }

    /// The key that verifies a token signed with `alg` by key `kid` (or, for a token that
    /// names no key, the one key of the set that fits `alg`).
    pub async fn signing_key(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OidcError> {
        let (keys, fresh, may_fetch) = {
            let cache = self.caches.keys.lock().map_err(|_| OidcError::Unavailable("key cache poisoned".into()))?;
            match cache.get(jwks_uri) {
                Some(c) => (
                    Some(c.keys.clone()),
                    c.fetched.is_some_and(|t| t.elapsed() < JWKS_TTL),
                    c.last_attempt.elapsed() >= self.jwks_refetch_gap,
                ),
                None => (None, false, true),
            }
        };
        if fresh && let Some(k) = keys.as_deref().and_then(|k| select(k, kid, alg)) {
            return Ok(k);
        }
        if !may_fetch {
            return keys.as_deref().and_then(|k| select(k, kid, alg)).ok_or(OidcError::IdToken("unknown_key"));
        }
        if let Ok(mut cache) = self.caches.keys.lock() {
            let entry = cache.entry(jwks_uri.to_owned()).or_insert_with(|| CachedKeys {
                fetched: None,
                last_attempt: Instant::now(),
                keys: Arc::new(Vec::new()),
            });
            entry.last_attempt = Instant::now();
        }
        match fetch_keys(&self.http, jwks_uri).await {
            Ok(set) => {
                let set = Arc::new(set);
                if let Ok(mut cache) = self.caches.keys.lock() {
                    cache.insert(
                        jwks_uri.to_owned(),
                        CachedKeys { fetched: Some(Instant::now()), last_attempt: Instant::now(), keys: set.clone() },
                    );
                }
                select(&set, kid, alg).ok_or(OidcError::IdToken("unknown_key"))
            }
            Err(e) => match keys.as_deref().and_then(|k| select(k, kid, alg)) {
                Some(k) => {
                    tracing::warn!(jwks_uri, error = %e, "cannot refresh a key set: using the one from before");
                    Ok(k)
                }
                None => Err(e),
            },
        }
    }
}

/// The keys of a set that parse; a key of a kind this library does not know is skipped
/// rather than failing the whole set.
async fn fetch_keys(http: &reqwest::Client, url: &str) -> Result<Vec<Jwk>, OidcError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = get_json(http, url, None).await?;
    Ok(raw.keys.into_iter().filter_map(|k| serde_json::from_value::<Jwk>(k).ok()).collect())
}

/// Whether `jwk` may verify a signature made with `alg`: a signing key of the right type
/// (and curve), whose own `alg`, if it names one, is `alg`.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let for_signing = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
    let alg_ok = match &jwk.common.key_algorithm {
        None => true,
        Some(k) => matches!(
            (k, alg),
            (KeyAlgorithm::RS256, Algorithm::RS256)
                | (KeyAlgorithm::ES256, Algorithm::ES256)
                | (KeyAlgorithm::EdDSA, Algorithm::EdDSA)
        ),
    };
    let type_ok = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => p.curve == EllipticCurve::Ed25519,
        _ => false,
    };
    for_signing && alg_ok && type_ok
}

fn select(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let mut candidates =
        keys.iter().filter(|k| kid.is_none_or(|kid| k.common.key_id.as_deref() == Some(kid))).filter(|k| fits(k, alg));
    let first = candidates.next()?;
    // A token without `kid` is only accepted when the set leaves no doubt which key it means.
    if kid.is_none() && candidates.next().is_some() {
        return None;
    }
    DecodingKey::from_jwk(first).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(issuer: &str) -> ProviderMetadata {
        ProviderMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}/auth"),
            token_endpoint: format!("{issuer}/token"),
            jwks_uri: format!("{issuer}/jwks"),
            userinfo_endpoint: None,
            token_endpoint_auth_methods_supported: None,
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            authorization_response_iss_parameter_supported: false,
        }
    }

    #[test]
    fn discovery_must_be_the_issuers_own() {
        assert!(meta("https://id.example").check("https://id.example").is_ok());
        assert!(meta("https://id.example").check("https://id.example/").is_err(), "exact, not normalised");
        assert!(meta("https://evil.example").check("https://id.example").is_err());
        assert!(meta("http://127.0.0.1:4000").check("http://127.0.0.1:4000").is_ok());
        let mut m = meta("https://id.example");
        m.token_endpoint = "http://id.example/token".into();
        assert!(m.check("https://id.example").is_err(), "no plain http off this machine");
        let mut m = meta("https://id.example");
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert!(m.check("https://id.example").is_err(), "S256 is required");
    }

    #[test]
    fn client_authentication_follows_discovery() {
        let mut m = meta("https://id.example");
        assert!(matches!(m.token_auth(), Ok(AuthType::BasicAuth)));
        m.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into(), "private_key_jwt".into()]);
        assert!(matches!(m.token_auth(), Ok(AuthType::RequestBody)));
        m.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
        assert!(m.token_auth().is_err());
    }

    #[test]
    fn keys_are_chosen_by_id_type_and_use() {
        let rsa: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }))
        .unwrap();
        let enc: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "e1", "use": "enc",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }))
        .unwrap();
        let keys = vec![rsa, enc];
        assert!(select(&keys, Some("r1"), Algorithm::RS256).is_some());
        assert!(select(&keys, None, Algorithm::RS256).is_some(), "one signing key: no kid needed");
        assert!(select(&keys, Some("e1"), Algorithm::RS256).is_none(), "an encryption key never verifies");
        assert!(select(&keys, Some("r1"), Algorithm::ES256).is_none(), "an RSA key is not an EC key");
        assert!(select(&keys, Some("nope"), Algorithm::RS256).is_none());
    }
}
