//! Per-client rate limits, in memory for one process; with a shared store (`redis_url`) the same
//! GCRA runs in Redis ([`crate::shared::Shared::rate`]) so every instance counts a client's
//! requests together.
//!
//! Each limit is a GCRA (generic cell rate algorithm) bucket per client address: `burst`
//! requests at once, refilled at `per_minute`. Only one instant per key is stored, so memory is
//! bounded by the number of keys, which is capped; IPv6 clients are keyed by their /64, since
//! one host usually owns a whole /64. A refusal writes no audit row and touches no database, so
//! a flood costs the server a hash lookup.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A rate: `burst` requests at once, `per_minute` sustained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }

    fn interval(self) -> Duration {
        Duration::from_mins(1) / self.per_minute.max(1)
    }
}

/// Most keys remembered per limiter; beyond it, expired keys are dropped first and then, if
/// still full, the new client is refused until some expire.
const MAX_KEYS: usize = 100_000;

/// One limit over client addresses.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    /// Per key: the theoretical arrival time of the next request (GCRA's TAT).
    tat: Mutex<HashMap<Key, Instant>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    V4(u32),
    V6Net(u64),
    Unknown,
}

impl Key {
    fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Self::V4(u32::from(v4)),
            // The upper 64 bits of an IPv6 address are its /64 network.
            Some(IpAddr::V6(v6)) => Self::V6Net((u128::from(v6) >> 64) as u64),
            None => Self::Unknown,
        }
    }
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// The limit's rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Counts a request from `client` at `now`: `Ok` when allowed, `Err(retry_after)` when not.
    pub fn check(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let interval = self.rate.interval();
        let window = interval * self.rate.burst.max(1);
        let key = Key::of(client);
        let mut map = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            map.retain(|_, tat| *tat > now);
            if map.len() >= MAX_KEYS {
                return Err(interval);
            }
        }
        let tat = map.get(&key).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        let ahead = next.duration_since(now);
        if ahead > window {
            return Err(ahead.saturating_sub(window));
        }
        map.insert(key, next);
        Ok(())
    }
}

/// The name of a client address in shared keys: IPv4 as is, IPv6 by its /64 (one host usually
/// owns a whole /64), the same grouping as the in-memory limits.
pub(crate) fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => format!("{:x}::/64", u128::from(v6) >> 64),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let l = RateLimiter::new(Rate::new(60, 3));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check(ip("192.0.2.1"), t0).is_ok());
        }
        let wait = l.check(ip("192.0.2.1"), t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // Another client is not affected.
        assert!(l.check(ip("192.0.2.2"), t0).is_ok());
        // One interval later, one more request fits.
        assert!(
            l.check(ip("192.0.2.1"), t0 + Duration::from_secs(1))
                .is_ok()
        );
        assert!(
            l.check(ip("192.0.2.1"), t0 + Duration::from_secs(1))
                .is_err()
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let l = RateLimiter::new(Rate::new(60, 1));
        let t0 = Instant::now();
        assert!(l.check(ip("2001:db8:1:2::1"), t0).is_ok());
        assert!(l.check(ip("2001:db8:1:2::ffff"), t0).is_err());
        assert!(l.check(ip("2001:db8:1:3::1"), t0).is_ok());
        // An IPv4-mapped address is the IPv4 client.
        assert!(l.check(ip("198.51.100.1"), t0).is_ok());
        assert!(l.check(ip("::ffff:198.51.100.1"), t0).is_err());
    }
}
