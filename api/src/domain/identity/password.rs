//! Password rules (OWASP ASVS 5: length, no composition rules, no common passwords) and
//! argon2id hashing with OWASP's parameters, always off the async runtime.

use std::collections::HashSet;
use std::sync::{LazyLock, OnceLock};

use anyhow::anyhow;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

use super::error::IdentityError;

pub const MIN_LEN: usize = 8;
pub const RECOMMENDED_LEN: usize = 15;
pub const MAX_LEN: usize = 128;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// The hash that unknown users' sign-ins are checked against, so that they cost the same
/// as a wrong password.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn hasher() -> Result<Argon2<'static>, IdentityError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Whether `password` may be used. `email` is the sign-in it is for: a password that is the
/// address, or its part before the @, is refused as well.
pub fn check_policy(password: &str, email: Option<&str>) -> Result<(), IdentityError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(IdentityError::invalid(
            "password",
            format!(
                "must be at least {MIN_LEN} characters; {RECOMMENDED_LEN} or more is better, for example three or four \
                 unrelated words"
            ),
        ));
    }
    if len > MAX_LEN {
        return Err(IdentityError::invalid("password", format!("must be at most {MAX_LEN} characters")));
    }
    if is_common(password) {
        return Err(IdentityError::invalid(
            "password",
            format!(
                "is one of the most common passwords, which are guessed first: choose another, {RECOMMENDED_LEN} or \
                 more characters, for example three or four unrelated words"
            ),
        ));
    }
    if let Some(email) = email {
        let lower = password.to_lowercase();
        let email = email.trim().to_lowercase();
        let local = email.split('@').next().unwrap_or_default();
        if lower == email || (local.chars().count() >= 4 && lower == local) {
            return Err(IdentityError::invalid("password", "must not be your email address"));
        }
    }
    Ok(())
}

/// Case-insensitive, and also after dropping trailing digits and symbols, so that
/// `Password2027!` counts as `password`.
pub fn is_common(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    !stem.is_empty() && stem.len() < lower.len() && COMMON.contains(stem)
}

/// How many passwords the shipped list holds.
pub fn common_count() -> usize {
    COMMON.len()
}

/// argon2id PHC string of `secret`, computed on the blocking pool.
pub async fn hash(secret: SecretString) -> Result<String, IdentityError> {
    tokio::task::spawn_blocking(move || hash_blocking(secret.expose_secret()))
        .await
        .map_err(|e| anyhow!("hashing task: {e}"))?
}

pub fn hash_blocking(secret: &str) -> Result<String, IdentityError> {
    let hash = hasher()?.hash_password(secret.as_bytes()).map_err(|e| anyhow!("argon2 hash: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `secret` matches `hash`. With no hash (unknown user, no password set) it still
/// does the work of one verification and answers false.
pub async fn verify(secret: SecretString, hash: Option<String>) -> Result<bool, IdentityError> {
    tokio::task::spawn_blocking(move || verify_blocking(secret.expose_secret(), hash.as_deref()))
        .await
        .map_err(|e| anyhow!("verification task: {e}"))?
}

pub fn verify_blocking(secret: &str, hash: Option<&str>) -> Result<bool, IdentityError> {
    let argon = hasher()?;
    match hash {
        Some(h) => Ok(argon.verify_password(secret.as_bytes(), h).is_ok()),
        None => {
            let dummy = match DUMMY_HASH.get() {
                Some(d) => d.clone(),
                None => {
                    let d = hash_blocking("a password nobody has: it only makes the work equal")?;
                    DUMMY_HASH.get_or_init(|| d).clone()
                }
            };
            let _ = argon.verify_password(secret.as_bytes(), dummy.as_str());
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_name_the_field_and_recommend_fifteen() {
        let err = check_policy("short", None).unwrap_err();
        assert!(matches!(&err, IdentityError::Invalid { field: "password", message } if message.contains("15")));
        assert!(check_policy(&"x".repeat(129), None).is_err());
        assert!(check_policy(&"ab cd ef gh ".repeat(11)[..128], None).is_ok());
        assert!(check_policy("mill lane kettle", None).is_ok());
    }

    #[test]
    fn no_composition_rules_but_common_passwords_are_refused() {
        assert!(check_policy("allsmallletters", None).is_ok());
        for common in ["password", "Password1", "PASSWORD123", "qwerty123", "iloveyou", "Liverpool1", "12345678"] {
            assert!(check_policy(common, None).is_err(), "{common}");
        }
        assert!(common_count() > 2000, "{}", common_count());
    }

    #[test]
    fn the_email_is_not_a_password() {
        assert!(check_policy("sam.jones@example.com", Some("Sam.Jones@example.com")).is_err());
        assert!(check_policy("samjones99", Some("samjones99@example.com")).is_err());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash_blocking("correct lamp battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct lamp battery", Some(&h)).unwrap());
        assert!(!verify_blocking("correct lamp batter", Some(&h)).unwrap());
        assert!(!verify_blocking("anything", None).unwrap());
    }
}
