//! Field encryption at rest: AES-256-GCM envelopes under a rotating [`Keyring`].
//!
//! # Why this shape
//!
//! A database dump, a backup or a read-only SQL injection should not reveal phone numbers,
//! WeChat session keys or TOTP secrets. Each such field is stored as an *envelope*: the ciphertext
//! plus everything needed to decrypt it except the key, so keys can rotate without a flag day.
//!
//! * **AES-256-GCM** (`RustCrypto` `aes-gcm`, audited) authenticates as well as encrypts: a flipped
//!   bit, a truncated value or a value encrypted under another key fails to decrypt instead of
//!   yielding garbage.
//! * **A 96-bit random nonce per encryption**, from the OS CSPRNG. Random nonces are safe for about
//!   2^32 encryptions under one key (NIST SP 800-38D §8.3); rotate long before that, e.g. yearly.
//! * **Associated data** binds a ciphertext to where it lives ([`AssociatedData::field`]: table,
//!   column, record id). Copying user A's encrypted phone number into user B's row, or into another
//!   column, makes decryption fail: an attacker with write access to the database cannot move
//!   secrets around.
//! * **Versioned keys**: the newest key encrypts, every key still in the ring decrypts, and
//!   [`Keyring::reencrypt`] moves an old value to the newest key, so a rotation is "add a key,
//!   re-wrap in the background, then drop the old key".
//!
//! # Format (version 1)
//!
//! ```text
//! byte  0       version = 0x01
//! bytes 1..5    key id, u32 big-endian
//! bytes 5..17   nonce, 12 random bytes
//! bytes 17..    AES-256-GCM ciphertext followed by the 16-byte tag
//! GCM associated data = bytes 0..5 || AssociatedData bytes
//! ```
//!
//! The binary form suits `BLOB`/`bytea` columns; the text form ([`Keyring::encrypt_to_string`])
//! is the same bytes in base64url without padding, for `TEXT` columns and configuration files.
//!
//! # Keys
//!
//! A [`Key`] is 32 bytes that come from the environment ([`Key::from_env`]), a file
//! ([`Key::from_file`], e.g. a container secret) or [`Key::generate`]. It lives in a
//! [`secrecy::SecretBox`], is wiped on drop and never shows up in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret as _, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::encoding;
use crate::random::{self, RandomError};

/// The envelope format this module writes.
pub const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes an envelope adds to its plaintext (header, nonce and tag).
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// The largest plaintext [`Keyring::encrypt`] accepts; fields are small, and a bound keeps a
/// hostile "ciphertext" from making us allocate without limit.
pub const MAX_PLAINTEXT_LEN: usize = 16 * 1024 * 1024;
/// The longest key file [`Key::from_file`] reads; a key is 44 characters of base64.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// Why a key or keyring could not be loaded. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not base64 (either alphabet, padding optional).
    #[error("key is not valid base64")]
    InvalidEncoding,
    /// The key decoded to the wrong number of bytes.
    #[error("key must be {expected} bytes, got {actual}")]
    WrongLength {
        /// Bytes required.
        expected: usize,
        /// Bytes found.
        actual: usize,
    },
    /// The environment variable is unset or not valid UTF-8.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The key file could not be read.
    #[error("cannot read key file {path}: {kind}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong, without the file's contents.
        kind: std::io::ErrorKind,
    },
    /// The key file is larger than a key could be.
    #[error("key file {0} is too large to hold a key")]
    FileTooLarge(PathBuf),
    /// A keyring entry is not `ID:BASE64`.
    #[error("keyring entry {index} is not of the form ID:BASE64")]
    InvalidEntry {
        /// Zero-based position of the entry.
        index: usize,
    },
    /// The same key id appears twice.
    #[error("key id {0} appears more than once")]
    DuplicateId(KeyId),
    /// The keyring text lists no key.
    #[error("the keyring holds no key")]
    Empty,
    /// Removing this key would leave nothing to encrypt with.
    #[error("key id {0} is the newest key and cannot be removed")]
    CannotRemoveNewest(KeyId),
    /// Key ids are exhausted (more than four billion rotations).
    #[error("no key id is left after {0}")]
    IdsExhausted(KeyId),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Why an envelope could not be produced or opened. Messages never contain plaintext or keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not base64url, or shorter than header + nonce + tag.
    #[error("malformed envelope")]
    Malformed,
    /// The version byte is one this build does not know.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// Encrypted under a key id that is not in the keyring (removed too early, or foreign data).
    #[error("envelope uses key id {0}, which is not in the keyring")]
    UnknownKey(KeyId),
    /// Authentication failed: tampered ciphertext, wrong associated data, or wrong key.
    #[error("envelope failed authentication")]
    Authentication,
    /// Plaintext or envelope larger than [`MAX_PLAINTEXT_LEN`].
    #[error("envelope input exceeds {MAX_PLAINTEXT_LEN} bytes")]
    TooLarge,
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A key's version number inside a [`Keyring`]; higher is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A 256-bit AES key, wiped on drop, never printed.
pub struct Key(SecretBox<[u8; Key::LEN]>);

impl Key {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the OS CSPRNG (`miniguard keys generate`, `serve --dev`).
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        random::fill(bytes.as_mut())?;
        Ok(Self::from_array(&bytes))
    }

    /// Parses 32 bytes written as base64: standard or url-safe alphabet, padding optional,
    /// surrounding whitespace ignored.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes =
            Zeroizing::new(encoding::b64_lenient_decode(text).ok_or(KeyError::InvalidEncoding)?);
        let array: &[u8; Self::LEN] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrongLength {
                    expected: Self::LEN,
                    actual: bytes.len(),
                })?;
        Ok(Self::from_array(array))
    }

    /// Reads a base64 key from a file (for example a mounted container secret).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let io = |error: std::io::Error| KeyError::Io {
            path: path.to_path_buf(),
            kind: error.kind(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(KeyError::FileTooLarge(path.to_path_buf()));
        }
        Self::from_base64(&text)
    }

    /// Reads a base64 key from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text =
            Zeroizing::new(std::env::var(var).map_err(|_| KeyError::MissingEnv(var.to_owned()))?);
        Self::from_base64(&text)
    }

    /// The key as base64url, to hand to an operator once (`miniguard keys generate`).
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(encoding::b64url(self.0.expose_secret()))
    }

    /// A key from fixed bytes, for deterministic tests only.
    #[cfg(any(test, feature = "testing"))]
    pub fn from_bytes_for_tests(bytes: [u8; Self::LEN]) -> Self {
        Self::from_array(&bytes)
    }

    fn from_array(bytes: &[u8; Self::LEN]) -> Self {
        Self(SecretBox::init_with_mut(|slot: &mut [u8; Self::LEN]| {
            slot.copy_from_slice(bytes);
        }))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.expose_secret().into())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([REDACTED])")
    }
}

/// What a ciphertext is bound to: decryption succeeds only with the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociatedData(Vec<u8>);

impl AssociatedData {
    /// Binds a value to one column of one record. Each part is length-prefixed, so
    /// `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(table: &str, column: &str, record_id: &str) -> Self {
        let mut bytes = b"miniguard.field.v1".to_vec();
        for part in [table, column, record_id] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        Self(bytes)
    }

    /// Caller-defined context bytes, for values that are not database fields.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// No binding. Prefer [`AssociatedData::field`]: without it a ciphertext can be moved.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Versioned keys: the newest encrypts, all decrypt.
pub struct Keyring {
    keys: BTreeMap<KeyId, Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// A keyring holding one key.
    pub fn new(id: KeyId, key: Key) -> Self {
        Self {
            keys: BTreeMap::from([(id, key)]),
        }
    }

    /// Parses `ID:BASE64` entries separated by commas or whitespace, e.g. the value of
    /// `MINIGUARD_DATA_KEYS="1:q3Jf...,2:Zm9v..."`. The highest id encrypts.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let mut keys = BTreeMap::new();
        let entries = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let (id, key) = entry
                .split_once(':')
                .ok_or(KeyError::InvalidEntry { index })?;
            let id = KeyId(id.parse().map_err(|_| KeyError::InvalidEntry { index })?);
            let key = Key::from_base64(key)?;
            if keys.insert(id, key).is_some() {
                return Err(KeyError::DuplicateId(id));
            }
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// Adds a key under an explicit id (for example when loading keys one by one).
    pub fn insert(&mut self, id: KeyId, key: Key) -> Result<(), KeyError> {
        if self.keys.contains_key(&id) {
            return Err(KeyError::DuplicateId(id));
        }
        self.keys.insert(id, key);
        Ok(())
    }

    /// Adds `key` as the newest (id = newest + 1) and returns its id; it encrypts from now on.
    pub fn rotate(&mut self, key: Key) -> Result<KeyId, KeyError> {
        let newest = self.current_id();
        let id = KeyId(
            newest
                .0
                .checked_add(1)
                .ok_or(KeyError::IdsExhausted(newest))?,
        );
        self.keys.insert(id, key);
        Ok(id)
    }

    /// Drops an old key once nothing is encrypted under it any more.
    pub fn remove(&mut self, id: KeyId) -> Result<(), KeyError> {
        if id == self.current_id() {
            return Err(KeyError::CannotRemoveNewest(id));
        }
        self.keys.remove(&id);
        Ok(())
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> KeyId {
        // Invariant: every constructor inserts a key and `remove` refuses the newest, so the map is
        // never empty.
        self.keys.keys().next_back().copied().unwrap_or(KeyId(0))
    }

    /// Every key id, oldest first.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }

    /// HMAC-SHA256 of `message` under a key derived from data key `id` for `purpose`
    /// (`HMAC(HMAC(data key, "miniguard.keyed-hash.v1\0" || purpose), message)`), or `None` for
    /// an unknown key. For short secrets (SMS codes) that a bare hash would give away to anyone
    /// holding the database: without the data key, the hash says nothing about the code. Keep
    /// the key id beside the hash so the hash still checks after a rotation.
    pub fn keyed_hash(&self, id: KeyId, purpose: &str, message: &[u8]) -> Option<[u8; 32]> {
        use hmac::{Hmac, Mac};
        type HmacSha256 = Hmac<sha2::Sha256>;
        let key = self.keys.get(&id)?;
        // Invariant: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut derive = <HmacSha256 as Mac>::new_from_slice(key.0.expose_secret()).ok()?;
        derive.update(b"miniguard.keyed-hash.v1\0");
        derive.update(purpose.as_bytes());
        let sub = Zeroizing::new(<[u8; 32]>::from(derive.finalize().into_bytes()));
        let mut mac = <HmacSha256 as Mac>::new_from_slice(sub.as_ref()).ok()?;
        mac.update(message);
        Some(mac.finalize().into_bytes().into())
    }

    /// Encrypts under the newest key; the binary envelope.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        aad: &AssociatedData,
    ) -> Result<Vec<u8>, EnvelopeError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EnvelopeError::TooLarge);
        }
        let id = self.current_id();
        let key = self.keys.get(&id).ok_or(EnvelopeError::UnknownKey(id))?;
        let nonce: [u8; NONCE_LEN] = random::bytes()?;
        let header = header(id);
        let gcm_aad = gcm_aad(header, aad);
        let sealed = key
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &gcm_aad,
                },
            )
            // aes-gcm fails only for inputs beyond 64 GiB, which MAX_PLAINTEXT_LEN rules out.
            .map_err(|_| EnvelopeError::TooLarge)?;
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Encrypts under the newest key; the envelope as base64url without padding.
    pub fn encrypt_to_string(
        &self,
        plaintext: &[u8],
        aad: &AssociatedData,
    ) -> Result<String, EnvelopeError> {
        Ok(encoding::b64url(&self.encrypt(plaintext, aad)?))
    }

    /// Opens a binary envelope with whichever key it names.
    pub fn decrypt(
        &self,
        envelope: &[u8],
        aad: &AssociatedData,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let parsed = Parsed::parse(envelope)?;
        let key = self
            .keys
            .get(&parsed.key_id)
            .ok_or(EnvelopeError::UnknownKey(parsed.key_id))?;
        let gcm_aad = gcm_aad(parsed.header, aad);
        key.cipher()
            .decrypt(
                Nonce::from_slice(parsed.nonce),
                Payload {
                    msg: parsed.sealed,
                    aad: &gcm_aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| EnvelopeError::Authentication)
    }

    /// Opens a base64url envelope.
    pub fn decrypt_str(
        &self,
        envelope: &str,
        aad: &AssociatedData,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.decrypt(&decode_text(envelope)?, aad)
    }

    /// Opens an envelope and seals it again under the newest key (key rotation).
    pub fn reencrypt(
        &self,
        envelope: &[u8],
        aad: &AssociatedData,
    ) -> Result<Vec<u8>, EnvelopeError> {
        let plaintext = self.decrypt(envelope, aad)?;
        self.encrypt(&plaintext, aad)
    }

    /// [`Keyring::reencrypt`] for the base64url form.
    pub fn reencrypt_str(
        &self,
        envelope: &str,
        aad: &AssociatedData,
    ) -> Result<String, EnvelopeError> {
        Ok(encoding::b64url(
            &self.reencrypt(&decode_text(envelope)?, aad)?,
        ))
    }

    /// Whether an envelope is under an older key than the newest (a rotation job's filter).
    /// Malformed envelopes answer `false`: re-encryption could not help them.
    pub fn needs_reencrypt(&self, envelope: &[u8]) -> bool {
        key_id_of(envelope).is_ok_and(|id| id != self.current_id())
    }
}

/// The key id an envelope names, without decrypting it.
pub fn key_id_of(envelope: &[u8]) -> Result<KeyId, EnvelopeError> {
    Parsed::parse(envelope).map(|p| p.key_id)
}

struct Parsed<'a> {
    header: [u8; HEADER_LEN],
    key_id: KeyId,
    nonce: &'a [u8],
    sealed: &'a [u8],
}

impl<'a> Parsed<'a> {
    fn parse(envelope: &'a [u8]) -> Result<Self, EnvelopeError> {
        if envelope.len() > MAX_PLAINTEXT_LEN + OVERHEAD {
            return Err(EnvelopeError::TooLarge);
        }
        let (&version, rest) = envelope.split_first().ok_or(EnvelopeError::Malformed)?;
        if version != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(version));
        }
        if envelope.len() < OVERHEAD {
            return Err(EnvelopeError::Malformed);
        }
        let (id_bytes, rest) = rest.split_at(4);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let key_id = KeyId(u32::from_be_bytes([
            id_bytes[0],
            id_bytes[1],
            id_bytes[2],
            id_bytes[3],
        ]));
        Ok(Self {
            header: header(key_id),
            key_id,
            nonce,
            sealed,
        })
    }
}

fn header(id: KeyId) -> [u8; HEADER_LEN] {
    let id = id.0.to_be_bytes();
    [VERSION, id[0], id[1], id[2], id[3]]
}

fn gcm_aad(header: [u8; HEADER_LEN], aad: &AssociatedData) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + aad.0.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&aad.0);
    out
}

fn decode_text(envelope: &str) -> Result<Vec<u8>, EnvelopeError> {
    if envelope.len() > (MAX_PLAINTEXT_LEN + OVERHEAD).div_ceil(3) * 4 {
        return Err(EnvelopeError::TooLarge);
    }
    encoding::b64url_decode(envelope).ok_or(EnvelopeError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring() -> Keyring {
        Keyring::new(KeyId(1), Key::from_bytes_for_tests([7; 32]))
    }

    fn phone(record: &str) -> AssociatedData {
        AssociatedData::field("users", "phone", record)
    }

    #[test]
    fn keyed_hashes_depend_on_key_purpose_and_message() {
        let ring = ring();
        let a = ring.keyed_hash(KeyId(1), "sms", b"123456").unwrap();
        assert_eq!(ring.keyed_hash(KeyId(1), "sms", b"123456"), Some(a));
        assert_ne!(ring.keyed_hash(KeyId(1), "sms", b"123457"), Some(a));
        assert_ne!(ring.keyed_hash(KeyId(1), "other", b"123456"), Some(a));
        let other = Keyring::new(KeyId(1), Key::from_bytes_for_tests([8; 32]));
        assert_ne!(other.keyed_hash(KeyId(1), "sms", b"123456"), Some(a));
        assert_eq!(ring.keyed_hash(KeyId(2), "sms", b"123456"), None);
        let bare: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"123456").into();
        assert_ne!(a, bare);
    }

    #[test]
    fn round_trip_binary_and_text() {
        let ring = ring();
        let envelope = ring.encrypt(b"13800138000", &phone("42")).unwrap();
        assert_eq!(envelope.len(), OVERHEAD + 11);
        assert_eq!(envelope[0], VERSION);
        assert_eq!(key_id_of(&envelope), Ok(KeyId(1)));
        assert_eq!(
            ring.decrypt(&envelope, &phone("42")).unwrap().as_slice(),
            b"13800138000"
        );

        let text = ring.encrypt_to_string(b"", &phone("42")).unwrap();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(ring.decrypt_str(&text, &phone("42")).unwrap().is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let ring = ring();
        let a = ring.encrypt(b"same", &phone("1")).unwrap();
        let b = ring.encrypt(b"same", &phone("1")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn ciphertext_cannot_move_between_fields() {
        let ring = ring();
        let envelope = ring.encrypt(b"secret", &phone("42")).unwrap();
        for other in [
            phone("43"),
            AssociatedData::field("users", "email", "42"),
            AssociatedData::field("admins", "phone", "42"),
            AssociatedData::field("user", "sphone", "42"),
            AssociatedData::none(),
        ] {
            assert_eq!(
                ring.decrypt(&envelope, &other),
                Err(EnvelopeError::Authentication)
            );
        }
    }

    #[test]
    fn tampering_is_detected_everywhere() {
        let ring = ring();
        let envelope = ring.encrypt(b"secret value", &phone("1")).unwrap();
        for i in 0..envelope.len() {
            let mut bad = envelope.clone();
            bad[i] ^= 0x01;
            assert!(
                ring.decrypt(&bad, &phone("1")).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
        assert_eq!(
            ring.decrypt(&envelope[..OVERHEAD - 1], &phone("1")),
            Err(EnvelopeError::Malformed)
        );
        assert_eq!(
            ring.decrypt(&[], &phone("1")),
            Err(EnvelopeError::Malformed)
        );
        assert_eq!(
            ring.decrypt(&[9], &phone("1")),
            Err(EnvelopeError::UnsupportedVersion(9))
        );
        assert_eq!(
            ring.decrypt_str("not base64!", &phone("1")),
            Err(EnvelopeError::Malformed)
        );
    }

    #[test]
    fn rotation_and_reencrypt() {
        let mut ring = ring();
        let old = ring.encrypt(b"v", &phone("1")).unwrap();
        let new_id = ring.rotate(Key::from_bytes_for_tests([8; 32])).unwrap();
        assert_eq!(new_id, KeyId(2));
        assert_eq!(ring.current_id(), KeyId(2));
        assert!(ring.needs_reencrypt(&old));
        assert_eq!(ring.decrypt(&old, &phone("1")).unwrap().as_slice(), b"v");

        let rewrapped = ring.reencrypt(&old, &phone("1")).unwrap();
        assert_eq!(key_id_of(&rewrapped), Ok(KeyId(2)));
        assert!(!ring.needs_reencrypt(&rewrapped));

        ring.remove(KeyId(1)).unwrap();
        assert_eq!(
            ring.decrypt(&old, &phone("1")),
            Err(EnvelopeError::UnknownKey(KeyId(1)))
        );
        assert_eq!(
            ring.decrypt(&rewrapped, &phone("1")).unwrap().as_slice(),
            b"v"
        );
        assert!(matches!(
            ring.remove(KeyId(2)),
            Err(KeyError::CannotRemoveNewest(_))
        ));

        let text = ring.encrypt_to_string(b"t", &phone("1")).unwrap();
        ring.rotate(Key::generate().unwrap()).unwrap();
        let rewrapped = ring.reencrypt_str(&text, &phone("1")).unwrap();
        assert_eq!(
            ring.decrypt_str(&rewrapped, &phone("1"))
                .unwrap()
                .as_slice(),
            b"t"
        );
    }

    #[test]
    fn wrong_key_with_same_id_fails() {
        let a = ring();
        let b = Keyring::new(KeyId(1), Key::from_bytes_for_tests([9; 32]));
        let envelope = a.encrypt(b"x", &phone("1")).unwrap();
        assert_eq!(
            b.decrypt(&envelope, &phone("1")),
            Err(EnvelopeError::Authentication)
        );
    }

    #[test]
    fn keys_parse_and_never_print() {
        let key = Key::generate().unwrap();
        let text = key.to_base64();
        let again = Key::from_base64(text.expose_secret()).unwrap();
        assert_eq!(again.0.expose_secret(), key.0.expose_secret());
        // Standard alphabet with padding and a trailing newline, as `base64` tools write it.
        let standard = format!(
            "{}\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0xfb; 32])
        );
        assert!(Key::from_base64(&standard).is_ok());
        assert!(matches!(
            Key::from_base64("AAAA"),
            Err(KeyError::WrongLength {
                expected: 32,
                actual: 3
            })
        ));
        assert!(matches!(
            Key::from_base64("***"),
            Err(KeyError::InvalidEncoding)
        ));

        let debug = format!("{key:?} {:?}", ring());
        assert!(!debug.contains(text.expose_secret()));
        assert_eq!(debug, "Key([REDACTED]) Keyring { key_ids: [KeyId(1)] }");
    }

    #[test]
    fn key_from_file_and_env() {
        let dir = std::env::temp_dir().join(format!("miniguard-crypto-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, format!("{}\n", encoding::b64url(&[3; 32]))).unwrap();
        assert!(Key::from_file(&path).is_ok());
        std::fs::write(&path, "A".repeat(5000)).unwrap();
        assert!(matches!(
            Key::from_file(&path),
            Err(KeyError::FileTooLarge(_))
        ));
        assert!(matches!(
            Key::from_file(&dir.join("missing")),
            Err(KeyError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            Key::from_env("MINIGUARD_CRYPTO_TEST_SURELY_UNSET"),
            Err(KeyError::MissingEnv(_))
        ));
    }

    #[test]
    fn keyring_text_form() {
        let one = encoding::b64url(&[1; 32]);
        let two = encoding::b64url(&[2; 32]);
        let ring = Keyring::from_text(&format!("1:{one}, 2:{two}\n")).unwrap();
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), [KeyId(1), KeyId(2)]);
        assert_eq!(ring.current_id(), KeyId(2));
        assert!(matches!(Keyring::from_text(""), Err(KeyError::Empty)));
        assert!(matches!(
            Keyring::from_text(&one),
            Err(KeyError::InvalidEntry { index: 0 })
        ));
        assert!(matches!(
            Keyring::from_text(&format!("1:{one},1:{two}")),
            Err(KeyError::DuplicateId(KeyId(1)))
        ));
        let mut ring = ring;
        assert!(matches!(
            ring.insert(KeyId(2), Key::from_bytes_for_tests([0; 32])),
            Err(KeyError::DuplicateId(_))
        ));
        let mut max = Keyring::new(KeyId(u32::MAX), Key::from_bytes_for_tests([0; 32]));
        assert!(matches!(
            max.rotate(Key::from_bytes_for_tests([1; 32])),
            Err(KeyError::IdsExhausted(_))
        ));
    }

    #[test]
    fn oversized_inputs_are_refused_without_work() {
        let ring = ring();
        let huge = vec![0u8; MAX_PLAINTEXT_LEN + OVERHEAD + 1];
        assert_eq!(
            ring.decrypt(&huge, &phone("1")),
            Err(EnvelopeError::TooLarge)
        );
        let huge_text = "A".repeat((MAX_PLAINTEXT_LEN + OVERHEAD) / 3 * 4 + 8);
        assert_eq!(
            ring.decrypt_str(&huge_text, &phone("1")),
            Err(EnvelopeError::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn decrypt_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            prop_assert!(ring().decrypt(&bytes, &phone("1")).is_err());
        }

        #[test]
        fn decrypt_never_panics_on_text(text in ".{0,160}") {
            prop_assert!(ring().decrypt_str(&text, &phone("1")).is_err());
        }

        #[test]
        fn forged_v1_envelopes_fail_authentication(tail in proptest::collection::vec(any::<u8>(), 28..96)) {
            let mut bytes = vec![VERSION, 0, 0, 0, 1];
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(ring().decrypt(&bytes, &phone("1")), Err(EnvelopeError::Authentication));
        }

        #[test]
        fn key_parsing_never_panics(text in ".{0,80}") {
            let _ = Key::from_base64(&text);
            let _ = Keyring::from_text(&text);
        }

        #[test]
        fn round_trips(plain in proptest::collection::vec(any::<u8>(), 0..256), record in "[a-z0-9]{0,12}") {
            let ring = ring();
            let envelope = ring.encrypt(&plain, &phone(&record)).unwrap();
            let opened = ring.decrypt(&envelope, &phone(&record)).unwrap();
            prop_assert_eq!(opened.as_slice(), plain.as_slice());
        }
    }
}
