//! Opaque session tokens, stored only as hashes.
//!
//! # Why
//!
//! Access and refresh tokens are 256 bits from the OS CSPRNG, so they cannot be guessed and carry
//! no data to tamper with (unlike a JWT, revoking one is deleting a row). The server stores only
//! [`TokenHash`] = SHA-256(token): a leaked sessions table gives an attacker nothing to present.
//! A fast hash is right here, unlike for passwords, because the input already has 256 bits of
//! entropy; there is nothing to brute-force.
//!
//! Looking a hash up by database index is not constant time, and need not be: an attacker who
//! learns how a lookup timed learns about a hash whose preimage they cannot find. Wherever a
//! presented value is compared with a known one in memory, [`TokenHash`]'s `==` runs in constant
//! time.
//!
//! Refresh tokens belong to a [`FamilyId`]: every rotation issues a new refresh token in the same
//! family, and presenting an already-rotated token revokes the whole family (RFC 6819 §5.2.2.3,
//! OAuth 2.0 Security BCP §4.14).

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::encoding;
use crate::random::{self, RandomError};

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// Characters of a token's base64url form.
pub const TOKEN_CHARS: usize = 43;

/// Why a presented token or stored hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not 43 characters of base64url encoding 32 bytes.
    #[error("token is malformed")]
    Malformed,
    /// A stored hash is not 64 hex digits.
    #[error("token hash is not 64 hex digits")]
    MalformedHash,
    /// A family id is not 22 characters of base64url encoding 16 bytes.
    #[error("token family id is malformed")]
    MalformedFamily,
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// An opaque bearer token. Shown to the client once; never logged (`Debug` is redacted).
pub struct Token(SecretString);

impl Token {
    /// A fresh 256-bit token from the OS CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(SecretString::from(encoding::b64url(
            &random::bytes::<TOKEN_BYTES>()?,
        ))))
    }

    /// Checks the shape of a presented token (`Authorization: Bearer ...`) before it is hashed,
    /// so junk of any size is refused cheaply.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        if text.len() != TOKEN_CHARS
            || encoding::b64url_decode(text).is_none_or(|b| b.len() != TOKEN_BYTES)
        {
            return Err(TokenError::Malformed);
        }
        Ok(Self(SecretString::from(text.to_owned())))
    }

    /// The token text, to put in a response once.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The hash to store and look up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// SHA-256 of a high-entropy secret (a token or a recovery code). `==` is constant time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// SHA-256 of the secret's text.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// From stored bytes (a `BLOB` column).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From stored hex (a `TEXT` column).
    pub fn from_hex(text: &str) -> Result<Self, TokenError> {
        encoding::hex_decode_exact::<32>(text)
            .map(Self)
            .ok_or(TokenError::MalformedHash)
    }

    /// The bytes, to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, to store.
    pub fn to_hex(&self) -> String {
        encoding::hex(&self.0)
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret, but a prefix is enough to correlate log lines.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// Identifies a chain of rotated refresh tokens (128 random bits, base64url). Not secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId(String);

impl FamilyId {
    /// A fresh family id, made at login.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(encoding::b64url(&random::bytes::<16>()?)))
    }

    /// Parses a stored family id.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        if text.len() != 22 || encoding::b64url_decode(text).is_none_or(|b| b.len() != 16) {
            return Err(TokenError::MalformedFamily);
        }
        Ok(Self(text.to_owned()))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_are_random_hashed_and_redacted() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_eq!(a.expose_secret().len(), TOKEN_CHARS);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(format!("{a:?}"), "Token([REDACTED])");

        let presented = Token::parse(a.expose_secret()).unwrap();
        assert_eq!(presented.hash(), a.hash());
        assert_ne!(presented.hash(), b.hash());
        let stored = TokenHash::from_hex(&a.hash().to_hex()).unwrap();
        assert_eq!(stored, a.hash());
        assert_eq!(TokenHash::from_bytes(*a.hash().as_bytes()), a.hash());
        assert!(!format!("{:?}", a.hash()).contains(a.expose_secret()));
    }

    #[test]
    fn sha256_of_the_text_form() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1: the hash is over the token's text.
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_inputs() {
        for bad in [
            "",
            "short",
            &"A".repeat(44),
            &"A".repeat(42),
            &format!("{}=", "A".repeat(42)),
        ] {
            assert_eq!(
                Token::parse(bad).unwrap_err(),
                TokenError::Malformed,
                "{bad:?}"
            );
        }
        // 43 characters whose last one carries non-zero trailing bits.
        assert!(Token::parse(&format!("{}B", "A".repeat(42))).is_err());
        assert!(TokenHash::from_hex("zz").is_err());
        let family = FamilyId::generate().unwrap();
        assert_eq!(FamilyId::parse(family.as_str()).unwrap(), family);
        assert_eq!(family.to_string().len(), 22);
        assert!(FamilyId::parse("nope").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,100}") {
            let _ = Token::parse(&text);
            let _ = TokenHash::from_hex(&text);
            let _ = FamilyId::parse(&text);
        }

        #[test]
        fn valid_tokens_parse(bytes in proptest::array::uniform32(any::<u8>())) {
            prop_assert!(Token::parse(&encoding::b64url(&bytes)).is_ok());
        }
    }
}
