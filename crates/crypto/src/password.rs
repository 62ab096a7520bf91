//! Passwords for admin and operator accounts: Argon2id hashes and a length-first policy.
//!
//! # Why
//!
//! Mini-program users log in through the platform and never have a password here; only the
//! backend's own staff do, and their accounts can do the most harm. A stolen hash table must not
//! turn into passwords, so hashes use **Argon2id** (RFC 9106, winner of the Password Hashing
//! Competition) through the `RustCrypto` `argon2` crate, with the OWASP Password Storage Cheat
//! Sheet's first recommended setting:
//!
//! | parameter | value | meaning |
//! |---|---|---|
//! | m | 19 456 KiB (19 MiB) | memory per hash: GPUs and ASICs pay for every guess in RAM |
//! | t | 2 | passes over that memory |
//! | p | 1 | lanes (one thread per login) |
//! | salt | 16 bytes from the OS CSPRNG | no two hashes share work |
//! | output | 32 bytes | |
//!
//! One hash takes roughly 20-50 ms on a server core. Hashes are PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) that carry their own parameters, so
//! [`needs_rehash`] can spot old ones at login and the caller can upgrade them.
//!
//! The policy follows NIST SP 800-63B §5.1.1.2: length matters, composition rules do not. At
//! least 12 characters, not one of the most common passwords, not the username, not one repeated
//! character. Checking against a full breach corpus (HIBP) is a network call and belongs in the
//! server.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::random::{self, RandomError};

/// Argon2id memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest password the policy accepts, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted, in characters (passphrases welcome; unbounded input is not).
pub const MAX_CHARS: usize = 256;
/// Longest password accepted, in bytes.
pub const MAX_BYTES: usize = 1024;

/// Why a password could not be hashed or a stored hash could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is longer than [`MAX_BYTES`].
    #[error("password is longer than {MAX_BYTES} bytes")]
    TooLong,
    /// The stored hash is not an Argon2 PHC string.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// Argon2 refused its inputs (cannot happen with the fixed parameters above).
    #[error("password hashing failed")]
    Hashing,
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Why the policy refused a new password. Safe to show to the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("password must be at least {MIN_CHARS} characters long")]
    TooShort,
    /// More than [`MAX_CHARS`] characters or [`MAX_BYTES`] bytes.
    #[error("password must be at most {MAX_CHARS} characters long")]
    TooLong,
    /// On the list of the most common passwords.
    #[error("password is too common")]
    Common,
    /// Equal to the username (ignoring case and surrounding spaces).
    #[error("password must not be the username")]
    SameAsUsername,
    /// One character repeated.
    #[error("password must not repeat a single character")]
    Repetitive,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants inside Argon2's accepted ranges, so `Params::new` cannot fail;
    // `Params::DEFAULT` (which is the same OWASP setting in argon2 0.5) is the unreachable fallback.
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(32)).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with Argon2id and a fresh salt; returns the PHC string to store.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    let salt = random::bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hashing)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Checks a password against a stored PHC string; the comparison inside `argon2` is constant
/// time. `Ok(false)` for a wrong (or over-long) password, `Err` only for a malformed stored hash.
pub fn verify_password(password: &str, stored: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::MalformedHash);
    }
    if password.len() > MAX_BYTES {
        return Ok(false);
    }
    Ok(argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Spends the same time as [`verify_password`] against a throwaway hash, for logins naming an
/// unknown user, so response times do not reveal which usernames exist. Always `false`.
pub fn verify_dummy(password: &str) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("miniguard dummy password for timing").ok());
    if let Some(hash) = dummy {
        let _ = verify_password(password, hash);
    }
    false
}

/// Whether a stored hash uses other parameters than the current ones (rehash after a login).
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
}

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str, username: &str) -> Result<(), PolicyViolation> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PolicyViolation::TooShort);
    }
    if chars > MAX_CHARS || password.len() > MAX_BYTES {
        return Err(PolicyViolation::TooLong);
    }
    let normalized = password.trim().to_lowercase();
    if !username.trim().is_empty() && normalized == username.trim().to_lowercase() {
        return Err(PolicyViolation::SameAsUsername);
    }
    let mut distinct = normalized.chars();
    if let Some(first) = distinct.next()
        && distinct.all(|c| c == first)
    {
        return Err(PolicyViolation::Repetitive);
    }
    if COMMON_PASSWORDS.contains(&normalized.as_str()) {
        return Err(PolicyViolation::Common);
    }
    Ok(())
}

/// The most common passwords of at least 12 characters (shorter ones already fail the length
/// rule), lower case, from the public breach-frequency lists (`SecLists`
/// `Passwords/Common-Credentials`, `NordPass` yearly top lists).
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "123123123123",
    "123412341234",
    "121212121212",
    "987654321098",
    "098765432109",
    "147258369147",
    "123456123456",
    "112233445566",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1234567",
    "p@ssw0rd1234",
    "p@ssword1234",
    "passw0rd1234",
    "mypassword123",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "qwertyuiopasdfghjkl",
    "qwerty123456",
    "qwerty1234567",
    "qwertyqwerty",
    "qwer1234qwer",
    "asdfghjkl123",
    "zxcvbnm12345",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "zaq12wsxcde3",
    "zaq1zaq1zaq1",
    "abc123456789",
    "abcdefghijkl",
    "abcd12345678",
    "abcdefg12345",
    "iloveyou1234",
    "iloveyou123456",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "changeme1234",
    "administrator",
    "administrator1",
    "admin1234567",
    "adminadmin123",
    "admin@123456",
    "superman1234",
    "football1234",
    "baseball1234",
    "princess1234",
    "sunshine1234",
    "starwars1234",
    "trustno1trustno1",
    "whatever1234",
    "monkey123456",
    "dragon123456",
    "master123456",
    "woaini1314520",
    "woaini123456",
    "52013145201314",
    "aa123456789aa",
    "a123456789012",
    "q1w2e3r4t5y6",
    "correcthorsebatterystaple",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_verify_and_parameters() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash).unwrap());
        assert!(!verify_password("correct horse batterY", &hash).unwrap());
        assert!(!verify_password(&"x".repeat(MAX_BYTES + 1), &hash).unwrap());
        assert!(!needs_rehash(&hash));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salts differ"
        );
        assert!(!verify_dummy("anything"));
    }

    #[test]
    fn old_parameters_need_rehash() {
        // RFC 9106-shaped hash with weaker parameters (m=4096): still verifies, flagged for upgrade.
        let params = Params::new(4096, 1, 1, Some(32)).unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(&[1; 16]).unwrap();
        let hash = weak.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify_password("pw", &hash).unwrap());
        assert!(needs_rehash(&hash));
        assert!(needs_rehash("not a hash"));
    }

    #[test]
    fn malformed_and_foreign_hashes() {
        assert_eq!(verify_password("pw", ""), Err(PasswordError::MalformedHash));
        assert_eq!(
            verify_password("pw", "$2b$12$abcdefghijklmnopqrstuu"),
            Err(PasswordError::MalformedHash)
        );
        assert_eq!(
            verify_password(
                "pw",
                "$argon2i$v=19$m=4096,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AAAA"
            ),
            Err(PasswordError::MalformedHash)
        );
        assert_eq!(
            hash_password(&"x".repeat(MAX_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_password_policy("short", "u"),
            Err(PolicyViolation::TooShort)
        );
        // Length counts characters, not bytes: 11 Chinese characters are 33 bytes but too short.
        assert_eq!(
            check_password_policy("我的密码我的密码我的密", "u"),
            Err(PolicyViolation::TooShort)
        );
        assert_eq!(
            check_password_policy(&"ab".repeat(200), "u"),
            Err(PolicyViolation::TooLong)
        );
        assert_eq!(
            check_password_policy("Password1234", "u"),
            Err(PolicyViolation::Common)
        );
        assert_eq!(
            check_password_policy("QWERTYUIOP123", "u"),
            Err(PolicyViolation::Common)
        );
        assert_eq!(
            check_password_policy("aaaaaaaaaaaaa", "u"),
            Err(PolicyViolation::Repetitive)
        );
        assert_eq!(
            check_password_policy("Operator.Admin", " operator.admin "),
            Err(PolicyViolation::SameAsUsername)
        );
        assert_eq!(
            check_password_policy("tulip-orbit-canvas-71", "alice"),
            Ok(())
        );
        assert_eq!(
            check_password_policy("我的密码是一只蓝色的猫咪", "alice"),
            Ok(())
        );
        assert!(
            COMMON_PASSWORDS
                .iter()
                .all(|p| *p == p.to_lowercase() && p.chars().count() >= MIN_CHARS)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn stored_hash_parsing_never_panics(text in ".{0,120}") {
            let _ = needs_rehash(&text);
            // Random text is never a valid Argon2 PHC string, so this returns before hashing.
            let _ = verify_password("pw", &text);
        }

        #[test]
        fn policy_never_panics(password in ".{0,300}", username in ".{0,20}") {
            let _ = check_password_policy(&password, &username);
        }
    }
}
