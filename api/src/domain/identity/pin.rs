//! The one-time PIN in a registration letter: drawn from the operating system's CSPRNG over
//! an alphabet with no look-alike characters (no 0/O, 1/I/L, U/V pairs).

use std::fmt;

use super::error::IdentityError;

/// 30 symbols: digits 2–9 and capitals without I, L, O and U.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 10 symbols of 30: about 49 bits, against an attacker who gets 5 guesses.
pub const LEN: usize = 10;
/// Days a PIN stays usable after its letter is produced.
pub const VALID_DAYS: i64 = 30;
/// Wrong PINs before the request locks.
pub const MAX_ATTEMPTS: i32 = 5;

/// A PIN in clear. It has no `Debug` or `Display` that shows it, so it cannot reach a log
/// line by accident; only the letter reads it.
pub struct Pin(String);

impl Pin {
    pub fn generate() -> Result<Pin, IdentityError> {
        let mut out = String::with_capacity(LEN);
        // Rejection sampling: 240 is the largest multiple of 30 below 256, so every symbol
        // is equally likely.
        while out.len() < LEN {
            let mut buf = [0u8; 32];
            super::random::fill(&mut buf)?;
            for b in buf {
                if b < 240 && out.len() < LEN {
                    out.push(ALPHABET[(b % 30) as usize] as char);
                }
            }
        }
        Ok(Pin(out))
    }

    /// As printed: two groups of five.
    pub fn for_letter(&self) -> String {
        let (a, b) = self.0.split_at(LEN / 2);
        format!("{a} {b}")
    }

    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// A PIN as a person typed it: spaces and hyphens dropped, upper case.
pub fn normalise(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_use_the_alphabet_and_differ() {
        let a = Pin::generate().unwrap();
        let b = Pin::generate().unwrap();
        assert_eq!(a.secret().len(), LEN);
        assert!(a.secret().bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a.secret(), b.secret());
        assert_eq!(normalise(&a.for_letter().to_lowercase()), a.secret());
        assert!(!format!("{a:?}").contains(a.secret()));
    }

    #[test]
    fn every_symbol_turns_up() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(Pin::generate().unwrap().secret().bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len());
    }
}
