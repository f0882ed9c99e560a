//! Signed HTTP messages between the portal and a provider: `t=<unix>,v1=<hex>` where the
//! hex is HMAC-SHA256 over `"<t>.<raw body>"`. Verification works on the raw bytes, compares
//! in constant time, bounds the clock skew and accepts any of the active secrets, so that a
//! secret can be rotated without dropping notifications.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header that carries the signature.
pub const HEADER: &str = "doorstep-signature";
/// How far a signed timestamp may be from our clock.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (no {HEADER} header)")]
    Missing,
    #[error("the {HEADER} header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature timestamp is {0} s away from now (at most {TOLERANCE_SECS} s allowed)")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Hex HMAC-SHA256 of a body with no timestamp (GOV.UK Pay's `Pay-Signature`).
pub fn body_hmac_hex(secret: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Whether `given_hex` is the body's hex HMAC under any of `secrets`, in constant time.
pub fn verify_body_hmac(secrets: &[SecretString], body: &[u8], given_hex: &str) -> Result<(), SignatureError> {
    let given = hex::decode(given_hex.trim()).map_err(|_| SignatureError::Malformed("the signature is not hex"))?;
    let mut ok = subtle::Choice::from(0);
    for s in secrets {
        let want = hex::decode(body_hmac_hex(s.expose_secret().as_bytes(), body)).unwrap_or_default();
        ok |= want.ct_eq(&given);
    }
    if bool::from(ok) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// The header value for `body` signed at `timestamp` with each of `secrets`.
pub fn sign(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut out = format!("t={timestamp}");
    for s in secrets {
        out.push_str(",v1=");
        out.push_str(&hex::encode(mac(s, timestamp, body)));
    }
    out
}

/// The header value for `body` signed now with one secret.
pub fn sign_now(secret: &SecretString, body: &[u8]) -> String {
    sign(&[secret.expose_secret().as_bytes()], chrono::Utc::now().timestamp(), body)
}

/// Checks a header value against the raw body, the clock `now` and the active secrets.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[SecretString], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut given = Vec::new();
    for part in header.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(SignatureError::Malformed("expected key=value pairs"))?;
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed("t is not a number"))?),
            "v1" => given.push(hex::decode(v).map_err(|_| SignatureError::Malformed("v1 is not hex"))?),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed("no t="))?;
    if given.is_empty() {
        return Err(SignatureError::Malformed("no v1="));
    }
    let skew = (now - t).abs();
    if skew > TOLERANCE_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let mut ok = subtle::Choice::from(0);
    for s in secrets {
        let want = mac(s.expose_secret().as_bytes(), t, body);
        for g in &given {
            ok |= want.as_slice().ct_eq(g.as_slice());
        }
    }
    if bool::from(ok) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let s = secret("k1");
        let h = sign(&[b"k1"], 1_000, b"{\"a\":1}");
        assert_eq!(verify(Some(&h), b"{\"a\":1}", std::slice::from_ref(&s), 1_010), Ok(()));
        assert_eq!(verify(Some(&h), b"{\"a\":2}", std::slice::from_ref(&s), 1_010), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&h), b"{\"a\":1}", &[secret("k2")], 1_010), Err(SignatureError::Mismatch));
        let tampered_time = h.replacen("t=1000", "t=1001", 1);
        assert_eq!(verify(Some(&tampered_time), b"{\"a\":1}", &[s], 1_010), Err(SignatureError::Mismatch));
    }

    #[test]
    fn stale_missing_and_malformed_headers_are_named() {
        let s = [secret("k")];
        let h = sign(&[b"k"], 1_000, b"x");
        assert_eq!(verify(Some(&h), b"x", &s, 1_301), Err(SignatureError::Stale(301)));
        assert_eq!(verify(Some(&h), b"x", &s, 699), Err(SignatureError::Stale(301)));
        assert_eq!(verify(None, b"x", &s, 1_000), Err(SignatureError::Missing));
        assert!(matches!(verify(Some("garbage"), b"x", &s, 1_000), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify(Some("t=1000"), b"x", &s, 1_000), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify(Some("t=1000,v1=zz"), b"x", &s, 1_000), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn either_of_two_secrets_verifies_during_rotation() {
        let both = [secret("old"), secret("new")];
        for key in [b"old".as_slice(), b"new".as_slice()] {
            let h = sign(&[key], 5, b"body");
            assert_eq!(verify(Some(&h), b"body", &both, 5), Ok(()));
        }
        let two = sign(&[b"other", b"new"], 5, b"body");
        assert_eq!(verify(Some(&two), b"body", &both, 5), Ok(()));
    }

    #[test]
    fn pay_signature_is_hex_hmac_of_the_body() {
        // RFC 4231 test case 2.
        let hex = body_hmac_hex(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(verify_body_hmac(&[secret("Jefe")], b"what do ya want for nothing?", &hex), Ok(()));
        assert_eq!(
            verify_body_hmac(&[secret("Jefe")], b"what do ya want for nothing!", &hex),
            Err(SignatureError::Mismatch)
        );
    }
}
