//! Randomness for secrets: the operating system's CSPRNG, and the encodings we use.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::error::IdentityError;

pub fn fill(buf: &mut [u8]) -> Result<(), IdentityError> {
    getrandom::fill(buf).map_err(|e| IdentityError::Internal(anyhow::anyhow!("the system random source failed: {e}")))
}

/// 256 random bits as unpadded base64url (43 characters).
pub fn token_256() -> Result<String, IdentityError> {
    let mut buf = [0u8; 32];
    fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// SHA-256, hex: how high-entropy secrets (refresh tokens, API keys) are stored and looked up.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
