//! miniguard's cryptography, in one small crate the server and the CLI call.
//!
//! # Why a crate of its own
//!
//! Security-critical code is easiest to review when it is small, has no I/O beyond reading a key
//! file, and forbids `unsafe`. Everything here is built from audited `RustCrypto` primitives
//! (`aes-gcm`, `aes` + `cbc`, `hmac`, `sha1`, `sha2`, `argon2`, `subtle`) and the OS random number
//! generator (`getrandom`); nothing is home-made except encodings (base32, percent-encoding) and
//! the protocol glue. Secrets live in `secrecy`/`zeroize` types: they are wiped on drop and their
//! `Debug` output is `[REDACTED]`. Every decoder of outside input returns an error instead of
//! panicking and has a property test that feeds it garbage.
//!
//! | module | what | used for |
//! |---|---|---|
//! | [`envelope`] | AES-256-GCM envelopes, versioned [`Keyring`], associated data | phone numbers, session keys, TOTP secrets at rest |
//! | [`signing`] | canonical request, HMAC-SHA256 signatures, timestamp window, [`NonceStore`] | `X-MG-Signature` on every authenticated request |
//! | [`token`] | 256-bit opaque tokens stored as SHA-256 [`TokenHash`], refresh [`FamilyId`] | access and refresh tokens |
//! | [`password`] | Argon2id (m=19 MiB, t=2, p=1) and the password policy | admin and operator accounts |
//! | [`totp`] | RFC 6238 TOTP, `otpauth://` URIs, reuse-safe verification | MFA |
//! | [`recovery`] | one-time recovery codes stored hashed | MFA fallback |
//! | [`wechat`] | `encryptedData` decryption with watermark check, `rawData` signature | WeChat login and phone binding |
//!
//! Errors are one `#[non_exhaustive]` enum per module; their messages never include secret
//! material, and servers should still map them to generic responses.
//!
//! The `testing` feature adds deterministic key constructors (`from_bytes_for_tests`) for other
//! crates' tests; production builds never enable it.

#![forbid(unsafe_code)]

mod encoding;
pub mod envelope;
pub mod password;
mod random;
pub mod recovery;
pub mod signing;
pub mod token;
pub mod totp;
pub mod wechat;

pub use envelope::{AssociatedData, EnvelopeError, Key, KeyError, KeyId, Keyring};
pub use password::{
    PasswordError, PolicyViolation, check_password_policy, hash_password, verify_password,
};
pub use random::RandomError;
pub use recovery::{RecoveryCode, find_recovery_code, generate_recovery_codes};
pub use signing::{
    Clock, FixedClock, MemoryNonceStore, NonceStore, NonceStoreError, RequestParts, SignatureError,
    SignedRequest, SigningKey, SystemClock, Verifier, canonical_query, canonical_request, sign,
    verify,
};
pub use token::{FamilyId, Token, TokenError, TokenHash};
pub use totp::{Totp, TotpAlgorithm, TotpError, TotpSecret};
pub use wechat::{
    OpenData, Watermark, WechatError, WechatSessionKey, decrypt_open_data, encrypt_open_data,
    encrypt_open_data_with_iv, verify_raw_data,
};
