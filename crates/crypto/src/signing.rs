//! Signed requests: HMAC-SHA256 over a canonical request, a timestamp window and single-use nonces.
//!
//! # Why
//!
//! TLS protects the wire, but a mini-program backend also faces clients behind intercepting
//! proxies, leaked access tokens and replayed captures. With a per-session `signing_key` that never
//! travels after login, a stolen bearer token alone cannot forge a request, a captured request
//! cannot be altered, and it cannot be replayed: the timestamp bounds how long it is valid and the
//! nonce makes it usable once within that time.
//!
//! # The protocol (copied into `docs/protocol.md`)
//!
//! Login returns a per-session `signing_key`: 32 random bytes as base64url without padding.
//! Every authenticated request carries
//!
//! * `X-MG-Timestamp`: the current time in unix seconds, plain decimal without sign or leading
//!   zeros (`1700000000`);
//! * `X-MG-Nonce`: 16 to 64 fresh random bytes, base64url without padding (22 to 86 characters);
//! * `X-MG-Signature`: `base64url(HMAC-SHA256(signing_key, canonical_request))` without padding
//!   (43 characters), where `canonical_request` is the six lines
//!
//! ```text
//! METHOD "\n" PATH "\n" CANONICAL_QUERY "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body))
//! ```
//!
//! with no trailing newline, and
//!
//! * `METHOD` the request method exactly as sent (`GET`, `POST`; case matters);
//! * `PATH` the path exactly as sent in the request line, percent-encoding untouched, without
//!   the query string (`/v1/users/me`, `/v1/files/a%20b`);
//! * `TIMESTAMP` and `NONCE` the header values, character for character;
//! * `hex(SHA-256(body))` in lower case; an empty body hashes to
//!   `e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`;
//! * `CANONICAL_QUERY` built from the raw query string (after `?`, without any `#fragment`):
//!   1. split on `&` and drop empty parameters;
//!   2. split each parameter at its first `=`; with no `=` the value is empty (`flag` = `flag=`);
//!   3. decode key and value as `application/x-www-form-urlencoded`: `+` is a space, `%XX`
//!      (either case) is the byte `XX`; a `%` not followed by two hex digits makes the request
//!      invalid;
//!   4. encode every byte of key and value again, except the RFC 3986 unreserved characters
//!      `A-Z a-z 0-9 - . _ ~`, as `%XX` with upper-case hex (a space becomes `%20`);
//!   5. sort the pairs by encoded key, then by encoded value, comparing bytes;
//!   6. join them as `key=value` with `&`. No query gives the empty string.
//!
//!   So `b=2&a=3&a=1&flag&q=x+y%2b&t=%7e` becomes `a=1&a=3&b=2&flag=&q=x%20y%2B&t=~`. Steps 3
//!   and 4 make the signature independent of how a client library escapes characters, while two
//!   queries that a form decoder reads differently never share a canonical form. Because step 5
//!   sorts values too, handlers must not give meaning to the order of repeated parameters.
//!
//! The server rejects a request whose signature does not verify (compared in constant time),
//! whose timestamp is more than [`DEFAULT_WINDOW_SECS`] (300 s) away from its clock in either
//! direction, or whose nonce it has already seen for this session. Nonces are remembered until
//! the timestamp leaves the window, after which the timestamp check alone rejects a replay.
//!
//! Test vectors for client implementations live in `crates/crypto/tests/vectors/signing.json`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretBox, SecretString};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::encoding;
use crate::random::{self, RandomError};

type HmacSha256 = Hmac<Sha256>;

/// How far a request's timestamp may be from the server's clock, in seconds.
pub const DEFAULT_WINDOW_SECS: u64 = 300;
/// The fewest random bytes a nonce must carry.
pub const MIN_NONCE_BYTES: usize = 16;
/// The most random bytes a nonce may carry (bounds what the nonce store keeps).
pub const MAX_NONCE_BYTES: usize = 64;
/// Header names, for the server and clients.
pub const TIMESTAMP_HEADER: &str = "X-MG-Timestamp";
/// See [`TIMESTAMP_HEADER`].
pub const NONCE_HEADER: &str = "X-MG-Nonce";
/// See [`TIMESTAMP_HEADER`].
pub const SIGNATURE_HEADER: &str = "X-MG-Signature";

/// Why a request signature was refused. Messages name the problem, never the key or the expected
/// signature; a server should still answer every variant with one generic 401.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signing key is not 32 bytes of base64url.
    #[error("signing key is not 32 bytes of base64url")]
    InvalidKey,
    /// The method is empty or not an HTTP token.
    #[error("request method is not a valid HTTP token")]
    MalformedMethod,
    /// The path is empty, does not start with `/`, or holds whitespace or control characters.
    #[error("request path is malformed")]
    MalformedPath,
    /// The query contains a `%` not followed by two hex digits.
    #[error("query string has a malformed percent escape")]
    MalformedQuery,
    /// The timestamp header is not a plain decimal number of seconds.
    #[error("timestamp is not plain decimal unix seconds")]
    MalformedTimestamp,
    /// The nonce is not base64url of 16 to 64 bytes.
    #[error("nonce must be {MIN_NONCE_BYTES} to {MAX_NONCE_BYTES} random bytes in base64url")]
    MalformedNonce,
    /// The signature is not 32 bytes of base64url.
    #[error("signature is not 32 bytes of base64url")]
    MalformedSignature,
    /// The timestamp is outside the accepted window.
    #[error("timestamp is outside the {window_secs} s window")]
    Expired {
        /// The window in force.
        window_secs: u64,
    },
    /// The signature does not match the request.
    #[error("signature does not match the request")]
    BadSignature,
    /// The nonce was already used in this scope.
    #[error("nonce was already used (replay)")]
    Replay,
    /// The nonce store failed; the request is refused (fail closed).
    #[error("nonce store failed: {0}")]
    NonceStore(#[from] NonceStoreError),
}

/// A per-session HMAC-SHA256 key, wiped on drop, never printed.
pub struct SigningKey(SecretBox<[u8; SigningKey::LEN]>);

impl SigningKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the OS CSPRNG, made at login.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        random::fill(bytes.as_mut())?;
        Ok(Self::from_array(&bytes))
    }

    /// Parses the base64url form (as stored encrypted, or as a client received it).
    pub fn from_base64url(text: &str) -> Result<Self, SignatureError> {
        let bytes =
            Zeroizing::new(encoding::b64url_decode(text).ok_or(SignatureError::InvalidKey)?);
        let array: &[u8; Self::LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SignatureError::InvalidKey)?;
        Ok(Self::from_array(array))
    }

    /// The base64url form, to return once in the login response.
    pub fn to_base64url(&self) -> SecretString {
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

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail; the fallback is never reached.
        HmacSha256::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

/// The parts of a request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ... exactly as sent.
    pub method: &'a str,
    /// The path as sent, without the query.
    pub path: &'a str,
    /// The raw query string without `?` (empty when there is none).
    pub query: &'a str,
    /// Unix seconds.
    pub timestamp: u64,
    /// The nonce header value.
    pub nonce: &'a str,
    /// The request body (empty for none).
    pub body: &'a [u8],
}

/// The canonical form of a raw query string (see the module docs, steps 1 to 6).
pub fn canonical_query(query: &str) -> Result<String, SignatureError> {
    let mut pairs = Vec::new();
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        pairs.push((form_component(key)?, form_component(value)?));
    }
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + pairs.len());
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    Ok(out)
}

fn form_component(raw: &str) -> Result<String, SignatureError> {
    let spaced = raw.replace('+', " ");
    let bytes = encoding::percent_decode(&spaced).ok_or(SignatureError::MalformedQuery)?;
    let mut out = String::with_capacity(bytes.len());
    encoding::percent_encode(&bytes, &mut out);
    Ok(out)
}

/// The string that is signed (see the module docs).
pub fn canonical_request(parts: &RequestParts<'_>) -> Result<String, SignatureError> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if parts.method.is_empty() || !parts.method.bytes().all(is_tchar) {
        return Err(SignatureError::MalformedMethod);
    }
    if !parts.path.starts_with('/')
        || !parts
            .path
            .bytes()
            .all(|b| b.is_ascii_graphic() || b >= 0x80)
    {
        return Err(SignatureError::MalformedPath);
    }
    check_nonce(parts.nonce)?;
    let query = canonical_query(parts.query)?;
    let body_hash = encoding::hex(&Sha256::digest(parts.body));
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method, parts.path, query, parts.timestamp, parts.nonce, body_hash
    ))
}

/// `base64url(HMAC-SHA256(key, canonical_request(parts)))`, the `X-MG-Signature` value.
pub fn sign(key: &SigningKey, parts: &RequestParts<'_>) -> Result<String, SignatureError> {
    let mut mac = key.mac();
    mac.update(canonical_request(parts)?.as_bytes());
    Ok(encoding::b64url(&mac.finalize().into_bytes()))
}

/// Checks a signature in constant time. This checks the signature only; [`Verifier`] adds the
/// timestamp window and the nonce.
pub fn verify(
    key: &SigningKey,
    parts: &RequestParts<'_>,
    signature: &str,
) -> Result<(), SignatureError> {
    let tag = encoding::b64url_decode(signature)
        .filter(|t| t.len() == 32)
        .ok_or(SignatureError::MalformedSignature)?;
    let mut mac = key.mac();
    mac.update(canonical_request(parts)?.as_bytes());
    // `verify_slice` compares through `subtle`, in constant time.
    mac.verify_slice(&tag)
        .map_err(|_| SignatureError::BadSignature)
}

/// A fresh nonce for clients written in Rust (tests, the probe, benchmarks).
pub fn generate_nonce() -> Result<String, RandomError> {
    Ok(encoding::b64url(&random::bytes::<MIN_NONCE_BYTES>()?))
}

fn check_nonce(nonce: &str) -> Result<(), SignatureError> {
    let max_chars = (MAX_NONCE_BYTES * 4).div_ceil(3);
    if nonce.len() > max_chars {
        return Err(SignatureError::MalformedNonce);
    }
    match encoding::b64url_decode(nonce) {
        Some(bytes) if (MIN_NONCE_BYTES..=MAX_NONCE_BYTES).contains(&bytes.len()) => Ok(()),
        _ => Err(SignatureError::MalformedNonce),
    }
}

/// Parses `X-MG-Timestamp`: ASCII digits, no sign, no leading zero, fits in u64.
pub fn parse_timestamp(text: &str) -> Result<u64, SignatureError> {
    let plain = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    if !plain || (text.len() > 1 && text.starts_with('0')) {
        return Err(SignatureError::MalformedTimestamp);
    }
    text.parse().map_err(|_| SignatureError::MalformedTimestamp)
}

/// The time source of a [`Verifier`]; inject a fixed one in tests.
pub trait Clock: Send + Sync {
    /// Unix seconds now.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        // A clock before 1970 is a misconfigured host; 0 makes every request fall outside the window.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that always answers the same time (tests, replaying recorded traffic).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

/// Why a nonce store could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NonceStoreError {
    /// The store reached its capacity with unexpired nonces (a flood); refuse rather than forget.
    #[error("nonce store is full")]
    Full,
    /// The backing store (database, Redis) failed.
    #[error("nonce store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Remembers nonces until they expire. The in-memory [`MemoryNonceStore`] serves one process; the
/// server adds a database-backed one for several instances.
pub trait NonceStore: Send + Sync {
    /// Records `nonce` within `scope` (a session id) until `expires_at` (unix seconds).
    /// Answers `Ok(true)` when it was new and is now recorded, `Ok(false)` when it was already
    /// there and has not expired. Must be atomic: two concurrent calls with the same nonce cannot
    /// both see `true`.
    fn insert_if_new(
        &self,
        scope: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<bool, NonceStoreError>> + Send;
}

/// A bounded in-memory nonce store with expiry.
#[derive(Debug)]
pub struct MemoryNonceStore {
    inner: Mutex<MemoryInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct MemoryInner {
    seen: HashMap<(String, String), u64>,
    purge_at: usize,
}

impl MemoryNonceStore {
    /// Default capacity: a million nonces, about 150 MB at the worst, enough for ~3000 signed
    /// requests per second over a 300 s window.
    pub const DEFAULT_CAPACITY: usize = 1_000_000;

    /// A store holding at most [`MemoryNonceStore::DEFAULT_CAPACITY`] live nonces.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store holding at most `capacity` live nonces.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(MemoryInner {
                seen: HashMap::new(),
                purge_at: 1024.min(capacity),
            }),
            capacity,
        }
    }

    /// Live entries (expired ones may linger until the next purge).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_sync(
        &self,
        scope: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, NonceStoreError> {
        // The map stays consistent even if a holder panicked, so a poisoned lock is still usable.
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (scope.to_owned(), nonce.to_owned());
        if let Some(&expiry) = inner.seen.get(&key)
            && expiry > now
        {
            return Ok(false);
        }
        if inner.seen.len() >= inner.purge_at {
            inner.seen.retain(|_, expiry| *expiry > now);
            // Purge again only after the map doubles: amortised O(1) per insert.
            inner.purge_at = (inner.seen.len() * 2).clamp(1024.min(self.capacity), self.capacity);
        }
        if inner.seen.len() >= self.capacity && !inner.seen.contains_key(&key) {
            return Err(NonceStoreError::Full);
        }
        inner.seen.insert(key, expires_at);
        Ok(true)
    }
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl NonceStore for MemoryNonceStore {
    fn insert_if_new(
        &self,
        scope: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<bool, NonceStoreError>> + Send {
        std::future::ready(self.insert_sync(scope, nonce, expires_at, now))
    }
}

/// The header values and request parts a server received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// Request method.
    pub method: &'a str,
    /// Path as sent, without the query.
    pub path: &'a str,
    /// Raw query string without `?`.
    pub query: &'a str,
    /// `X-MG-Timestamp`.
    pub timestamp: &'a str,
    /// `X-MG-Nonce`.
    pub nonce: &'a str,
    /// `X-MG-Signature`.
    pub signature: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The request's timestamp (unix seconds).
    pub timestamp: u64,
    /// The nonce, now recorded as used.
    pub nonce: String,
}

/// Checks signature, timestamp window and nonce, in that order of cost: malformed headers and
/// stale timestamps are refused before any MAC work, and only correctly signed requests reach the
/// nonce store, so unauthenticated traffic cannot fill it.
#[derive(Debug, Clone)]
pub struct Verifier<C = SystemClock> {
    window_secs: u64,
    clock: C,
}

impl Verifier<SystemClock> {
    /// The system clock and a [`DEFAULT_WINDOW_SECS`] window.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }
}

impl Default for Verifier<SystemClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> Verifier<C> {
    /// A verifier reading time from `clock`.
    pub fn with_clock(clock: C) -> Self {
        Self {
            window_secs: DEFAULT_WINDOW_SECS,
            clock,
        }
    }

    /// Changes the accepted clock difference.
    pub fn window_secs(mut self, window_secs: u64) -> Self {
        self.window_secs = window_secs;
        self
    }

    /// Signature and timestamp window, without the nonce store (for a caller that records nonces
    /// itself). On success returns the parsed timestamp and the expiry the nonce needs.
    pub fn check_stateless(
        &self,
        key: &SigningKey,
        request: &SignedRequest<'_>,
    ) -> Result<(u64, u64), SignatureError> {
        let timestamp = parse_timestamp(request.timestamp)?;
        check_nonce(request.nonce)?;
        let now = self.clock.now_unix();
        if now.abs_diff(timestamp) > self.window_secs {
            return Err(SignatureError::Expired {
                window_secs: self.window_secs,
            });
        }
        let parts = RequestParts {
            method: request.method,
            path: request.path,
            query: request.query,
            timestamp,
            nonce: request.nonce,
            body: request.body,
        };
        verify(key, &parts, request.signature)?;
        // After timestamp + window the timestamp check refuses the request on its own.
        Ok((
            timestamp,
            timestamp.saturating_add(self.window_secs).saturating_add(1),
        ))
    }

    /// Full verification: signature, window, then the nonce is recorded in `scope` (a session
    /// id) and a second use is refused as [`SignatureError::Replay`].
    pub async fn verify<S: NonceStore>(
        &self,
        key: &SigningKey,
        scope: &str,
        request: &SignedRequest<'_>,
        store: &S,
    ) -> Result<Verified, SignatureError> {
        let (timestamp, expires_at) = self.check_stateless(key, request)?;
        let now = self.clock.now_unix();
        if store
            .insert_if_new(scope, request.nonce, expires_at, now)
            .await?
        {
            Ok(Verified {
                timestamp,
                nonce: request.nonce.to_owned(),
            })
        } else {
            Err(SignatureError::Replay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs a future that never waits (the in-memory store is ready at once).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the in-memory store never waits"),
        }
    }

    const NONCE: &str = "AAECAwQFBgcICQoLDA0ODw";

    fn key() -> SigningKey {
        SigningKey::from_bytes_for_tests([0x42; 32])
    }

    fn parts(body: &[u8]) -> RequestParts<'_> {
        RequestParts {
            method: "POST",
            path: "/v1/orders",
            query: "b=2&a=1",
            timestamp: 1_700_000_000,
            nonce: NONCE,
            body,
        }
    }

    #[test]
    fn canonical_query_rules() {
        assert_eq!(canonical_query("").unwrap(), "");
        assert_eq!(canonical_query("&&").unwrap(), "");
        assert_eq!(
            canonical_query("b=2&a=3&a=1&flag&q=x+y%2b&t=%7e").unwrap(),
            "a=1&a=3&b=2&flag=&q=x%20y%2B&t=~"
        );
        assert_eq!(canonical_query("k=a=b").unwrap(), "k=a%3Db");
        assert_eq!(
            canonical_query("%E4%BD%A0=%e5%a5%bd").unwrap(),
            "%E4%BD%A0=%E5%A5%BD"
        );
        assert_eq!(canonical_query("名=值").unwrap(), "%E5%90%8D=%E5%80%BC");
        assert_eq!(
            canonical_query("a=x%20y").unwrap(),
            canonical_query("a=x+y").unwrap()
        );
        assert_ne!(
            canonical_query("a=x%2By").unwrap(),
            canonical_query("a=x+y").unwrap()
        );
        assert!(matches!(
            canonical_query("a=%zz"),
            Err(SignatureError::MalformedQuery)
        ));
        assert!(matches!(
            canonical_query("a=%4"),
            Err(SignatureError::MalformedQuery)
        ));
    }

    #[test]
    fn canonical_request_layout() {
        let canonical = canonical_request(&parts(b"")).unwrap();
        assert_eq!(
            canonical,
            "POST\n/v1/orders\na=1&b=2\n1700000000\nAAECAwQFBgcICQoLDA0ODw\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for (method, path) in [
            ("", "/"),
            ("GE T", "/"),
            ("GET\n", "/"),
            ("GET", ""),
            ("GET", "x"),
            ("GET", "/a\nb"),
            ("GET", "/a b"),
        ] {
            let mut p = parts(b"");
            p.method = method;
            p.path = path;
            assert!(canonical_request(&p).is_err(), "{method:?} {path:?}");
        }
    }

    #[test]
    fn sign_then_verify_and_every_field_matters() {
        let key = key();
        let body = br#"{"amount":1}"#;
        let signature = sign(&key, &parts(body)).unwrap();
        assert_eq!(signature.len(), 43);
        verify(&key, &parts(body), &signature).unwrap();

        let mut changed = vec![];
        let mut p = parts(body);
        p.method = "PUT";
        changed.push(p);
        let mut p = parts(body);
        p.path = "/v1/orderz";
        changed.push(p);
        let mut p = parts(body);
        p.query = "b=2&a=2";
        changed.push(p);
        let mut p = parts(body);
        p.timestamp += 1;
        changed.push(p);
        let mut p = parts(body);
        p.nonce = "AAECAwQFBgcICQoLDA0ODg";
        changed.push(p);
        changed.push(parts(br#"{"amount":9}"#));
        for p in changed {
            assert!(
                matches!(
                    verify(&key, &p, &signature),
                    Err(SignatureError::BadSignature)
                ),
                "{p:?}"
            );
        }
        let other = SigningKey::from_bytes_for_tests([0x43; 32]);
        assert!(matches!(
            verify(&other, &parts(body), &signature),
            Err(SignatureError::BadSignature)
        ));
        assert!(matches!(
            verify(&key, &parts(body), "short"),
            Err(SignatureError::MalformedSignature)
        ));
        assert!(matches!(
            verify(&key, &parts(body), &format!("{signature}=")),
            Err(SignatureError::MalformedSignature)
        ));
    }

    #[test]
    fn timestamps_and_nonces_are_strict() {
        assert_eq!(parse_timestamp("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_timestamp("0").unwrap(), 0);
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1.0",
            "1e9",
            "99999999999999999999999",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
        let short = encoding::b64url(&[0; 15]);
        let long = encoding::b64url(&[0; 65]);
        for bad in [
            "",
            short.as_str(),
            long.as_str(),
            "AAECAwQFBgcICQoLDA0ODw==",
            "AAECAwQFBgcICQoLDA0OD+",
        ] {
            assert!(check_nonce(bad).is_err(), "{bad:?}");
        }
        assert!(check_nonce(&generate_nonce().unwrap()).is_ok());
    }

    fn signed(key: &SigningKey, timestamp: u64, nonce: &str) -> (String, String) {
        let mut p = parts(b"{}");
        p.timestamp = timestamp;
        p.nonce = nonce;
        (timestamp.to_string(), sign(key, &p).unwrap())
    }

    fn request<'a>(timestamp: &'a str, nonce: &'a str, signature: &'a str) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/v1/orders",
            query: "a=1&b=2",
            timestamp,
            nonce,
            signature,
            body: b"{}",
        }
    }

    #[test]
    fn verifier_window_and_replay() {
        let key = key();
        let now = 1_700_000_000;
        let verifier = Verifier::with_clock(FixedClock(now));
        let store = MemoryNonceStore::new();

        let (ts, sig) = signed(&key, now - 300, NONCE);
        let ok = block_on(verifier.verify(&key, "session-1", &request(&ts, NONCE, &sig), &store))
            .unwrap();
        assert_eq!(ok.timestamp, now - 300);
        // The same request again is a replay, in the same session.
        assert!(matches!(
            block_on(verifier.verify(&key, "session-1", &request(&ts, NONCE, &sig), &store)),
            Err(SignatureError::Replay)
        ));
        // Another session's nonces are separate.
        assert!(
            block_on(verifier.verify(&key, "session-2", &request(&ts, NONCE, &sig), &store))
                .is_ok()
        );

        for skew in [now - 301, now + 301] {
            let nonce = generate_nonce().unwrap();
            let (ts, sig) = signed(&key, skew, &nonce);
            assert!(matches!(
                block_on(verifier.verify(&key, "s", &request(&ts, &nonce, &sig), &store)),
                Err(SignatureError::Expired { window_secs: 300 })
            ));
        }
        let nonce = generate_nonce().unwrap();
        let (ts, sig) = signed(&key, now + 300, &nonce);
        assert!(block_on(verifier.verify(&key, "s", &request(&ts, &nonce, &sig), &store)).is_ok());

        // A bad signature never reaches the store.
        let before = store.len();
        let nonce = generate_nonce().unwrap();
        let (ts, _) = signed(&key, now, &nonce);
        let forged = encoding::b64url(&[0; 32]);
        assert!(matches!(
            block_on(verifier.verify(&key, "s", &request(&ts, &nonce, &forged), &store)),
            Err(SignatureError::BadSignature)
        ));
        assert_eq!(store.len(), before);

        let narrow = Verifier::with_clock(FixedClock(now)).window_secs(10);
        let nonce = generate_nonce().unwrap();
        let (ts, sig) = signed(&key, now - 11, &nonce);
        assert!(matches!(
            block_on(narrow.verify(&key, "s", &request(&ts, &nonce, &sig), &store)),
            Err(SignatureError::Expired { window_secs: 10 })
        ));
    }

    #[test]
    fn memory_store_expires_and_bounds() {
        let store = MemoryNonceStore::with_capacity(2);
        assert!(store.insert_sync("s", "a", 100, 0).unwrap());
        assert!(!store.insert_sync("s", "a", 100, 50).unwrap());
        assert!(store.insert_sync("s", "b", 100, 50).unwrap());
        assert!(matches!(
            store.insert_sync("s", "c", 100, 50),
            Err(NonceStoreError::Full)
        ));
        // Once expired, entries make room and the old nonce counts as new again.
        assert!(store.insert_sync("s", "c", 300, 200).unwrap());
        assert!(store.insert_sync("s", "a", 300, 200).unwrap());
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn signing_key_round_trip_and_redaction() {
        let key = SigningKey::generate().unwrap();
        let text = key.to_base64url();
        assert_eq!(text.expose_secret().len(), 43);
        let again = SigningKey::from_base64url(text.expose_secret()).unwrap();
        let p = parts(b"x");
        assert_eq!(sign(&key, &p).unwrap(), sign(&again, &p).unwrap());
        assert_eq!(format!("{key:?}"), "SigningKey([REDACTED])");
        assert!(SigningKey::from_base64url("AAAA").is_err());
    }

    proptest! {
        #[test]
        fn query_canonicalization_never_panics_and_is_idempotent(query in ".{0,80}") {
            if let Ok(canonical) = canonical_query(&query) {
                prop_assert_eq!(canonical_query(&canonical).unwrap(), canonical.clone());
                prop_assert!(!canonical.contains('\n'));
            }
        }

        #[test]
        fn verifier_never_panics_on_headers(ts in ".{0,24}", nonce in ".{0,90}", sig in ".{0,60}", query in ".{0,40}", path in ".{0,20}") {
            let key = key();
            let store = MemoryNonceStore::new();
            let verifier = Verifier::with_clock(FixedClock(1_700_000_000));
            let request = SignedRequest { method: "GET", path: &path, query: &query, timestamp: &ts, nonce: &nonce, signature: &sig, body: b"" };
            prop_assert!(block_on(verifier.verify(&key, "s", &request, &store)).is_err());
            prop_assert!(store.is_empty());
        }

        #[test]
        fn signing_key_parsing_never_panics(text in ".{0,60}") {
            let _ = SigningKey::from_base64url(&text);
        }
    }
}
