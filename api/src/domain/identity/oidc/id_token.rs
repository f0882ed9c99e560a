//! Verifying an ID token (OpenID Connect Core §3.1.3.7, RFC 8725): the signature with the
//! provider's published key under an algorithm allow-list (never `none`, never HMAC: an
//! HMAC "signature" keyed with the client secret proves nothing about the provider), then
//! `iss` equal to the issuer, `aud` containing the client id (and `azp` when there are
//! several audiences), `exp` and `iat` within a small leeway, and the `nonce` of this flow.
//! Every failure is one short reason code; none says more to the browser than "failed".

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{Oidc, OidcError, constant_time_eq};

/// The signature algorithms accepted, whatever a token or a key set says.
pub const ALLOWED_ALGS: &[(&str, Algorithm)] =
    &[("RS256", Algorithm::RS256), ("ES256", Algorithm::ES256), ("EdDSA", Algorithm::EdDSA)];
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;
/// An ID token issued longer ago than this is refused: it comes straight from the token
/// endpoint, so it is seconds old.
pub const MAX_AGE_SECS: i64 = 600;
/// OpenID Connect Core §2: a subject is at most 255 ASCII characters.
const MAX_SUBJECT: usize = 255;

/// What this flow expects of its ID token.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
}

/// A verified external identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Only `true` when the provider said so (`email_verified`), never assumed.
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    /// A string, not a list: an issuer is one URL.
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
}

/// `true` or, as some providers send it, `"true"`; anything else is not verified.
pub fn is_true(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The token's `alg` and `kid`, read before anything else so that a token whose algorithm is
/// not on the allow-list is refused without parsing further.
fn header(token: &str) -> Result<(Algorithm, Option<String>), OidcError> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(OidcError::IdToken("malformed"));
    };
    let bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| OidcError::IdToken("malformed"))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| OidcError::IdToken("malformed"))?;
    let alg_name = value.get("alg").and_then(|a| a.as_str()).ok_or(OidcError::IdToken("malformed"))?;
    let alg = ALLOWED_ALGS
        .iter()
        .find(|(name, _)| *name == alg_name)
        .map(|(_, a)| *a)
        .ok_or(OidcError::IdToken("algorithm_not_allowed"))?;
    // Critical extensions we do not understand must make us refuse (RFC 7515 §4.1.11).
    if value.get("crit").is_some() {
        return Err(OidcError::IdToken("unsupported_critical_header"));
    }
    let kid = match value.get("kid") {
        None => None,
        Some(serde_json::Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(OidcError::IdToken("malformed")),
    };
    Ok((alg, kid))
}

/// Verifies `token` against the keys at `jwks_uri` and what `expected` says.
pub async fn verify(
    oidc: &Oidc,
    jwks_uri: &str,
    token: &str,
    expected: &Expected<'_>,
) -> Result<VerifiedIdentity, OidcError> {
    let (alg, kid) = header(token)?;
    let key = oidc.signing_key(jwks_uri, kid.as_deref(), alg).await?;

    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS as u64;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
        OidcError::IdToken(match e.kind() {
            ErrorKind::InvalidSignature => "bad_signature",
            ErrorKind::ExpiredSignature => "expired",
            ErrorKind::ImmatureSignature => "not_yet_valid",
            ErrorKind::InvalidIssuer => "wrong_issuer",
            ErrorKind::InvalidAudience => "wrong_audience",
            ErrorKind::MissingRequiredClaim(_) => "missing_claim",
            ErrorKind::InvalidAlgorithm => "algorithm_not_allowed",
            ErrorKind::Json(_) => "bad_claims",
            _ => "invalid",
        })
    })?;
    let c = data.claims;

    // The library checked these; they are checked again here, exactly, so that this module
    // says what an ID token must be whatever the library's rules become.
    if c.iss != expected.issuer {
        return Err(OidcError::IdToken("wrong_issuer"));
    }
    let audiences: Vec<&str> = match &c.aud {
        Audience::One(a) => vec![a.as_str()],
        Audience::Many(list) => list.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(OidcError::IdToken("wrong_audience"));
    }
    // Core §3.1.3.7 items 4 and 5: with other audiences, the token must say it was issued to us.
    if audiences.len() > 1 && c.azp.is_none() {
        return Err(OidcError::IdToken("missing_azp"));
    }
    if c.azp.as_deref().is_some_and(|azp| azp != expected.client_id) {
        return Err(OidcError::IdToken("wrong_azp"));
    }
    let now = Utc::now().timestamp();
    if c.exp + LEEWAY_SECS < now {
        return Err(OidcError::IdToken("expired"));
    }
    if c.iat > now + LEEWAY_SECS {
        return Err(OidcError::IdToken("issued_in_future"));
    }
    if c.iat < now - MAX_AGE_SECS - LEEWAY_SECS {
        return Err(OidcError::IdToken("too_old"));
    }
    match c.nonce.as_deref() {
        Some(n) if constant_time_eq(n, expected.nonce) => {}
        Some(_) => return Err(OidcError::IdToken("wrong_nonce")),
        None => return Err(OidcError::IdToken("missing_nonce")),
    }
    if c.sub.is_empty() || c.sub.len() > MAX_SUBJECT || c.sub.chars().any(|ch| ch.is_control()) {
        return Err(OidcError::IdToken("bad_subject"));
    }
    let email_verified = is_true(c.email_verified.as_ref());
    Ok(VerifiedIdentity {
        issuer: c.iss,
        subject: c.sub,
        email: c.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty() && e.len() <= 254),
        email_verified,
        name: c.name.map(|n| n.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(h: serde_json::Value) -> String {
        format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(h.to_string()))
    }

    #[test]
    fn only_allowed_algorithms_get_past_the_header() {
        for bad in ["none", "HS256", "HS512", "RS384", "PS256", "None", ""] {
            let t = token_with_header(serde_json::json!({"alg": bad, "kid": "k"}));
            assert!(matches!(header(&t), Err(OidcError::IdToken("algorithm_not_allowed"))), "{bad} must be refused");
        }
        for good in ["RS256", "ES256", "EdDSA"] {
            let t = token_with_header(serde_json::json!({"alg": good, "kid": "k"}));
            assert!(header(&t).is_ok(), "{good}");
        }
        let t = token_with_header(serde_json::json!({"alg": "RS256", "crit": ["exp"]}));
        assert!(header(&t).is_err());
        assert!(header("a.b").is_err());
        assert!(header("a.b.c.d").is_err());
    }

    #[test]
    fn email_verified_must_say_true() {
        assert!(is_true(Some(&serde_json::json!(true))));
        assert!(is_true(Some(&serde_json::json!("true"))));
        assert!(!is_true(Some(&serde_json::json!(false))));
        assert!(!is_true(Some(&serde_json::json!("yes"))));
        assert!(!is_true(None));
    }
}
