//! Recovery codes: the way back in when the phone with the authenticator is lost.
//!
//! # Why
//!
//! Each code is 80 random bits from the OS CSPRNG, written as 16 lower-case base32 characters in
//! groups of four (`abcd-efgh-ijkm-nopq`) so a person can copy it from paper. Codes are shown once
//! and stored as SHA-256 hashes ([`TokenHash`]); as with tokens, 80 bits of entropy make a slow
//! password hash unnecessary. A code works once: the caller deletes the matched hash.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::encoding;
use crate::random::{self, RandomError};
use crate::token::TokenHash;

/// Codes issued per enrolment.
pub const DEFAULT_COUNT: usize = 10;
const CODE_CHARS: usize = 16;

/// One recovery code, shown to the user once.
pub struct RecoveryCode(SecretString);

impl RecoveryCode {
    /// A fresh code.
    pub fn generate() -> Result<Self, RandomError> {
        let raw = encoding::base32_encode(&random::bytes::<10>()?).to_ascii_lowercase();
        let grouped: Vec<&str> = raw
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        Ok(Self(SecretString::from(grouped.join("-"))))
    }

    /// The code as the user should see it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The hash to store.
    pub fn hash(&self) -> TokenHash {
        // Our own codes always normalize; the fallback hashes the text as is.
        hash_recovery_code(self.0.expose_secret())
            .unwrap_or_else(|| TokenHash::of(self.0.expose_secret()))
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([REDACTED])")
    }
}

/// [`DEFAULT_COUNT`] fresh codes.
pub fn generate_recovery_codes() -> Result<Vec<RecoveryCode>, RandomError> {
    (0..DEFAULT_COUNT)
        .map(|_| RecoveryCode::generate())
        .collect()
}

/// The hash of what a user typed: dashes and whitespace dropped, case ignored. `None` when it
/// cannot be a recovery code (wrong length or characters).
pub fn hash_recovery_code(input: &str) -> Option<TokenHash> {
    if input.len() > 64 {
        return None;
    }
    let normalized: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = normalized.len() == CODE_CHARS
        && normalized
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    valid.then(|| TokenHash::of(&normalized))
}

/// Which stored hash a typed code matches. Every stored hash is compared (in constant time), so
/// the time taken does not reveal the position.
pub fn find_recovery_code(input: &str, stored: &[TokenHash]) -> Option<usize> {
    let presented = hash_recovery_code(input)?;
    let mut found = None;
    for (index, hash) in stored.iter().enumerate() {
        if *hash == presented && found.is_none() {
            found = Some(index);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_random_grouped_and_match_once_typed() {
        let codes = generate_recovery_codes().unwrap();
        assert_eq!(codes.len(), DEFAULT_COUNT);
        let shown = codes[3].expose_secret().to_owned();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.matches('-').count(), 3);
        assert_ne!(codes[0].expose_secret(), codes[1].expose_secret());

        let stored: Vec<TokenHash> = codes.iter().map(RecoveryCode::hash).collect();
        assert_eq!(find_recovery_code(&shown, &stored), Some(3));
        let typed = format!(" {} ", shown.replace('-', " ").to_uppercase());
        assert_eq!(find_recovery_code(&typed, &stored), Some(3));
        assert_eq!(find_recovery_code("aaaa-aaaa-aaaa-aaaa", &stored), None);
        assert_eq!(find_recovery_code("short", &stored), None);
        assert_eq!(format!("{:?}", codes[0]), "RecoveryCode([REDACTED])");
    }

    proptest! {
        #[test]
        fn lookup_never_panics(text in ".{0,80}") {
            let _ = find_recovery_code(&text, &[TokenHash::of("x")]);
        }
    }
}
