//! Verified access tokens, kept in memory so a signed request reads nothing from the database.
//!
//! An entry holds what [`crate::signed::verify`] needs after the first request of a token: the
//! token's row id, user and login (family), its expiry, its opened signing key and the login's
//! second-factor state. It lives until the token expires or [`MAX_AGE_MS`] passes, whichever
//! comes first, and the cache holds at most [`DEFAULT_CAPACITY`] tokens (when full, a token is
//! simply looked up in the database each time).
//!
//! **Revocation is synchronous.** Every database write that ends a token or changes a login's
//! second-factor state ([`crate::db::Db::revoke_family`], [`crate::db::Db::revoke_user`],
//! `revoke_user_except`, `record_family_mfa`, `limit_family`, `unlimit_family`) calls
//! [`SessionCache::invalidate`] after its write and before it returns, so the request that
//! revoked answers only once no cached entry can let the token through. A cache fill races
//! with a revocation only harmlessly: the filler reads the [`SessionCache::epoch`] before it
//! reads the database, and [`SessionCache::insert`] refuses the entry if any invalidation came in
//! between (the entry might predate the revocation's write).
//!
//! With several instances ([`crate::shared`], `redis_url`), each revocation is also published
//! before the revoking request answers, and every instance drops what it covers as it hears it
//! (within milliseconds; an instance that lost its subscription drops its whole cache when it is
//! back). [`MAX_AGE_MS`] bounds how long an entry is trusted even if a message were lost.
//!
//! Ending every session at once ([`crate::db::Db::end_all_sessions`], run by `miniguard accounts
//! end-sessions` in a process of its own) also raises a count in the database, which a running
//! server reads once a second: when it moved, the whole cache goes, so the end holds within a
//! second on instances no message reached (no Redis at all, or a lost one).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use miniguard_crypto::SigningKey;

use crate::db::UserId;

/// Tokens held at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The longest an entry is trusted without reading the database again (a bound on anything
/// that changed the database behind this process's back).
pub const MAX_AGE_MS: i64 = 30_000;

/// A verified, live access token.
pub struct CachedSession {
    /// The token's row, the scope of its nonces.
    pub token_id: i64,
    pub user: UserId,
    pub family_id: String,
    /// When the token expires (ms since the epoch).
    pub expires_at_ms: i64,
    /// The token's opened request-signing key.
    pub key: SigningKey,
    /// When the login last verified a second factor.
    pub mfa_at_ms: Option<i64>,
    /// Whether the login is limited to TOTP enrolment.
    pub limited: bool,
    /// Until when this entry may be used (ms since the epoch).
    pub valid_until_ms: i64,
}

impl std::fmt::Debug for CachedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSession")
            .field("token_id", &self.token_id)
            .field("user", &self.user)
            .field("family_id", &self.family_id)
            .finish_non_exhaustive()
    }
}

/// What stops being valid: the tokens (and second-factor state) of one login, of one user, of
/// one user except one login, or every token (every session ended at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    Family(String),
    User(UserId),
    UserExcept { user: UserId, keep_family: String },
    All,
}

impl Invalidation {
    fn covers(&self, s: &CachedSession) -> bool {
        match self {
            Self::All => true,
            Self::Family(f) => s.family_id == *f,
            Self::User(u) => s.user == *u,
            Self::UserExcept { user, keep_family } => {
                s.user == *user && s.family_id != *keep_family
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Bumped by every invalidation.
    epoch: u64,
    entries: HashMap<[u8; 32], Arc<CachedSession>>,
}

/// The cache, by SHA-256 of the token.
pub struct SessionCache {
    inner: RwLock<Inner>,
    capacity: usize,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl SessionCache {
    /// A cache of at most `capacity` tokens (0 turns it off).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            capacity,
        }
    }

    /// The current invalidation count; read it before reading the database for a fill.
    pub fn epoch(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .epoch
    }

    /// The live entry of a token hash.
    pub fn get(&self, hash: &[u8; 32], now_ms: i64) -> Option<Arc<CachedSession>> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .entries
            .get(hash)
            .filter(|s| s.valid_until_ms > now_ms && s.expires_at_ms > now_ms)
            .cloned()
    }

    /// Keeps an entry filled from a database read that started at `epoch`; refused (`false`) if
    /// an invalidation came since, or when the cache is full of live entries.
    pub fn insert(
        &self,
        epoch: u64,
        hash: [u8; 32],
        session: Arc<CachedSession>,
        now_ms: i64,
    ) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.epoch != epoch || self.capacity == 0 {
            return false;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&hash) {
            inner
                .entries
                .retain(|_, s| s.valid_until_ms > now_ms && s.expires_at_ms > now_ms);
            if inner.entries.len() >= self.capacity {
                return false;
            }
        }
        inner.entries.insert(hash, session);
        true
    }

    /// Drops every entry `what` covers, and refuses fills that started before.
    pub fn invalidate(&self, what: &Invalidation) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.retain(|_, s| !what.covers(s));
    }

    /// Drops every entry, and refuses fills that started before (an instance that may have
    /// missed invalidations: see [`crate::shared::Heard::Everything`]).
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.clear();
    }

    /// Entries held (expired ones may linger until the cache fills).
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token_id: i64, user: i64, family: &str, now: i64) -> Arc<CachedSession> {
        Arc::new(CachedSession {
            token_id,
            user: UserId(user),
            family_id: family.to_owned(),
            expires_at_ms: now + 60_000,
            key: SigningKey::generate().unwrap(),
            mfa_at_ms: None,
            limited: false,
            valid_until_ms: now + MAX_AGE_MS,
        })
    }

    #[test]
    fn invalidation_drops_what_it_covers_and_only_that() {
        let cache = SessionCache::default();
        let now = 1_000_000;
        let e = cache.epoch();
        assert!(cache.insert(e, [1; 32], entry(1, 10, "fa", now), now));
        assert!(cache.insert(e, [2; 32], entry(2, 10, "fb", now), now));
        assert!(cache.insert(e, [3; 32], entry(3, 11, "fc", now), now));
        cache.invalidate(&Invalidation::UserExcept {
            user: UserId(10),
            keep_family: "fa".into(),
        });
        assert!(cache.get(&[1; 32], now).is_some());
        assert!(cache.get(&[2; 32], now).is_none());
        assert!(cache.get(&[3; 32], now).is_some());
        cache.invalidate(&Invalidation::Family("fa".into()));
        assert!(cache.get(&[1; 32], now).is_none());
        cache.invalidate(&Invalidation::User(UserId(11)));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_fill_that_started_before_an_invalidation_is_refused() {
        let cache = SessionCache::default();
        let now = 1_000_000;
        let before = cache.epoch();
        cache.invalidate(&Invalidation::User(UserId(99)));
        assert!(!cache.insert(before, [1; 32], entry(1, 10, "fa", now), now));
        assert!(cache.get(&[1; 32], now).is_none());
        assert!(cache.insert(cache.epoch(), [1; 32], entry(1, 10, "fa", now), now));
    }

    #[test]
    fn entries_expire_and_the_cache_is_bounded() {
        let cache = SessionCache::with_capacity(2);
        let now = 1_000_000;
        let e = cache.epoch();
        assert!(cache.insert(e, [1; 32], entry(1, 1, "a", now), now));
        assert!(cache.insert(e, [2; 32], entry(2, 2, "b", now), now));
        assert!(!cache.insert(e, [3; 32], entry(3, 3, "c", now), now));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&[1; 32], now + MAX_AGE_MS).is_none());
        // Once the others are stale, a new one fits.
        let later = now + MAX_AGE_MS;
        assert!(cache.insert(e, [3; 32], entry(3, 3, "c", later), later));
        assert_eq!(cache.len(), 1);
    }
}
