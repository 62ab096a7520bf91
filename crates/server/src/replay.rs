//! Nonces of signed requests, remembered in memory, with replay protection across restarts
//! (docs/protocol.md, "Replay").
//!
//! A nonce is kept as a 64-bit fingerprint (the first 8 bytes of SHA-256 over the access token's
//! row id and the nonce) until its timestamp leaves the 300 s window, in 64 shards of a map that
//! holds at most [`DEFAULT_CAPACITY`] live nonces; when it is full of unexpired ones, a new
//! nonce is refused ([`NonceStoreError::Full`], answered 503 with `Retry-After`) rather than an
//! old one forgotten. Two different nonces sharing a fingerprint would only make the second be
//! refused as a replay (never the other way round); with a few million live nonces that chance is
//! below one in a trillion per request.
//!
//! Nothing is written per request. What makes a restart safe is a **lease**: before this process
//! accepts, from memory alone, a request whose timestamp is `T`, the database holds a lease of at
//! least `T` (one row, `nonces.nonce = 'lease'`, raised at most once a second by the first
//! request of each new second). A request signed *ahead* of the server's clock (`T > now`) is not
//! covered by the lease: its nonce is also written to the `nonces` table, as every nonce was
//! before. A starting process ([`crate::db::Db::open`]) loads the stored nonces that are still
//! live into memory, and refuses, as possible replays, timestamps up to the lease it finds (the
//! previous process may have accepted them from memory); if the lease is the current second, it
//! first waits for the next second, so a client with a correct clock never sees that refusal. Both
//! rows expire, and are swept, once their timestamps are out of the window.
//!
//! [`MemoryNonces`] is this process's part; the
//! [`NonceStore`](miniguard_crypto::signing::NonceStore) trait of `miniguard-crypto` is the seam
//! where a store shared by several instances would take its place.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use miniguard_crypto::NonceStoreError;
use miniguard_crypto::signing::DEFAULT_WINDOW_SECS;
use sha2::{Digest as _, Sha256};

/// Live nonces held at most: about 13,000 signed requests a second sustained over the window,
/// about 150 MB at the worst (16 bytes and a control byte per slot, tables half empty).
pub const DEFAULT_CAPACITY: usize = 4_000_000;

/// How long after its timestamp a nonce must be remembered (the verifier's window, plus one).
pub const LIFE_SECS: u64 = DEFAULT_WINDOW_SECS + 1;

/// The key of the lease row in `nonces` (stored nonces are `<token id>:<nonce>`).
pub const LEASE_KEY: &str = "lease";

const SHARDS: usize = 64;

/// The 64-bit fingerprint of a nonce within its scope (the access token's row id).
pub fn fingerprint(scope: &str, nonce: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0u8])
        .chain_update(nonce.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Fingerprints are already uniform: hash them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Shard {
    /// Fingerprint to expiry (unix seconds).
    seen: HashMap<u64, u64, BuildHasherDefault<Identity>>,
    /// Expired entries are purged when the map reaches this size.
    purge_at: usize,
}

/// This process's nonces, and the lease that covers them.
pub struct MemoryNonces {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Timestamps up to this one (unix seconds) are refused: a previous process may have
    /// accepted them from memory.
    horizon: AtomicU64,
    /// The lease known to be stored: memory-only nonces have timestamps up to it.
    lease: AtomicU64,
    /// One lease write at a time.
    pub(crate) lease_lock: tokio::sync::Mutex<()>,
}

impl Default for MemoryNonces {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryNonces {
    /// A store of at most `capacity` live nonces (at least one per shard).
    pub fn with_capacity(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    seen: HashMap::default(),
                    purge_at: 1024.min(per_shard),
                })
            })
            .collect();
        Self {
            shards,
            per_shard,
            horizon: AtomicU64::new(0),
            lease: AtomicU64::new(0),
            lease_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Records a fingerprint until `expires_at`: `Ok(true)` when it was new, `Ok(false)` when it
    /// is held and unexpired, `Err(Full)` when there is no room.
    pub fn remember(&self, fp: u64, expires_at: u64, now: u64) -> Result<bool, NonceStoreError> {
        // The top bits pick the shard, the map hashes the whole value.
        let shard = &self.shards[usize::try_from(fp >> 58).unwrap_or(0) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&expiry) = shard.seen.get(&fp)
            && expiry > now
        {
            return Ok(false);
        }
        if shard.seen.len() >= shard.purge_at {
            shard.seen.retain(|_, expiry| *expiry > now);
            // Purge again only after the map doubles: amortised O(1) per insert.
            shard.purge_at = (shard.seen.len() * 2).clamp(1024.min(self.per_shard), self.per_shard);
        }
        if shard.seen.len() >= self.per_shard && !shard.seen.contains_key(&fp) {
            return Err(NonceStoreError::Full);
        }
        shard.seen.insert(fp, expires_at);
        Ok(true)
    }

    /// Live nonces held at most.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Nonces held (expired ones may linger until their shard is purged).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).seen.len())
            .sum()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamps up to this one are refused.
    pub fn horizon(&self) -> u64 {
        self.horizon.load(Ordering::Acquire)
    }

    pub(crate) fn raise_horizon(&self, to: u64) {
        self.horizon.fetch_max(to, Ordering::AcqRel);
        self.lease.fetch_max(to, Ordering::AcqRel);
    }

    /// The stored lease.
    pub fn lease(&self) -> u64 {
        self.lease.load(Ordering::Acquire)
    }

    pub(crate) fn lease_stored(&self, until: u64) {
        self.lease.fetch_max(until, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_new_once_until_it_expires() {
        let m = MemoryNonces::with_capacity(1000);
        let fp = fingerprint("7", "AAECAwQFBgcICQoLDA0ODw");
        assert!(m.remember(fp, 100, 10).unwrap());
        assert!(!m.remember(fp, 100, 50).unwrap());
        // Another token's nonce of the same text is another entry.
        assert_ne!(fp, fingerprint("8", "AAECAwQFBgcICQoLDA0ODw"));
        assert_ne!(fp, fingerprint("7", "AAECAwQFBgcICQoLDA0ODx"));
        // Expired: the timestamp check refuses it anyway, the slot is free again.
        assert!(m.remember(fp, 500, 100).unwrap());
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets() {
        // One slot per shard.
        let m = MemoryNonces::with_capacity(SHARDS);
        let mut refused = 0;
        let mut taken = 0;
        for n in 0..2000 {
            match m.remember(fingerprint("1", &format!("nonce-{n}")), 100, 10) {
                Ok(true) => taken += 1,
                Err(NonceStoreError::Full) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(taken, SHARDS);
        assert_eq!(refused, 2000 - SHARDS);
        assert_eq!(m.len(), SHARDS);
        // Once they expire there is room again.
        assert!(m.remember(fingerprint("1", "later"), 400, 100).unwrap());
    }

    #[test]
    fn the_horizon_and_lease_only_rise() {
        let m = MemoryNonces::default();
        m.raise_horizon(50);
        m.raise_horizon(40);
        assert_eq!((m.horizon(), m.lease()), (50, 50));
        m.lease_stored(60);
        m.lease_stored(55);
        assert_eq!((m.horizon(), m.lease()), (50, 60));
    }
}
