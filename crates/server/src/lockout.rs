//! Per-account abuse limits: attempt rates and progressive lockout.
//!
//! The per-address limits of [`crate::ratelimit`] stop one client from hammering the server, but
//! not a botnet guessing one account's password from many addresses, nor one address guessing
//! many accounts slowly. Two measures add a per-account view:
//!
//! 1. **Attempt rates per account** ([`AccountLimits`]): login, second-factor and refresh
//!    attempts are counted per account (GCRA, like the per-address limits: in memory, or in
//!    Redis when several instances share it), whatever the address they come from.
//! 2. **Progressive lockout** ([`check`], [`record_failure`], [`reset`]): failed passwords and
//!    failed second-factor codes are counted in the database, under two keys:
//!    - per (account, client address): after [`LockoutPolicy::ip_threshold`] failures the pair
//!      is locked for [`LockoutPolicy::ip_base_delay`], doubling with each further failure, capped
//!      at [`LockoutPolicy::ip_cap`] (15 minutes). This is what stops a guesser.
//!    - per account, from every address: only above the much higher
//!      [`LockoutPolicy::account_threshold`], and it only slows down: the delay doubles from one
//!      second but is capped at [`LockoutPolicy::account_cap`] (one minute).
//!
//! Why two keys: a lockout per account alone would let anyone lock a victim out by typing wrong
//! passwords for them. Here an attacker's failures lock the attacker's own address; the owner,
//! typing the right password from another address, is not affected at all below the account
//! threshold, and above it waits at most a minute, during which the attacker is held to the same
//! single attempt (refused attempts are not counted as failures and do not extend the delay).
//! An address with no failure on record for the account (see [`address_is_clean`]) skips the
//! account-wide rate and slowdown altogether: strangers failing from other addresses cannot keep
//! the owner out, and each of their addresses gets at most one attempt before it is held to the
//! account's limits too. A lock is never permanent: every delay is capped, counters older than a day start over, and
//! a successful login (or factor) clears the owner's address key and the account key (the
//! attacker's address stays locked). The account key is the username for password logins, so
//! unknown usernames behave like known ones (no enumeration through the lockout). Every new lock
//! is audited (`auth.lockout`); a refusal answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::ApiError;
use crate::http::AppState;
use crate::ratelimit::{Rate, address_key};

/// Tunables of the progressive lockout and the per-account attempt rates.
#[derive(Clone, Copy, Debug)]
pub struct LockoutPolicy {
    /// Failures per (account, address) before the first lock.
    pub ip_threshold: u32,
    /// The first lock of an (account, address); doubles with each further failure.
    pub ip_base_delay: Duration,
    /// Longest lock of an (account, address).
    pub ip_cap: Duration,
    /// Failures per account, from all addresses, before it is slowed down.
    pub account_threshold: u32,
    /// Longest delay of the whole account (it only slows down, never locks for long).
    pub account_cap: Duration,
    /// Counters whose last failure is older than this start over.
    pub forget_after: Duration,
    /// Per account: password logins.
    pub login_rate: Rate,
    /// Per account: second-factor attempts (TOTP, SMS, SOTER, recovery codes).
    pub otp_rate: Rate,
    /// Per account: refresh-token presentations.
    pub refresh_rate: Rate,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            ip_threshold: 5,
            ip_base_delay: Duration::from_mins(1),
            ip_cap: Duration::from_mins(15),
            account_threshold: 20,
            account_cap: Duration::from_mins(1),
            forget_after: Duration::from_hours(24),
            login_rate: Rate::new(20, 10),
            otp_rate: Rate::new(20, 10),
            refresh_rate: Rate::new(60, 20),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `base * 2^(failures - threshold)`, capped; zero below the threshold.
fn delay(failures: u32, threshold: u32, base: Duration, cap: Duration) -> Duration {
    if failures < threshold {
        return Duration::ZERO;
    }
    let doublings = (failures - threshold).min(30);
    base.saturating_mul(1u32 << doublings).min(cap)
}

/// What is being protected: password logins or second-factor codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Login,
    Otp,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Otp => "otp",
        }
    }
}

fn keys(scope: Scope, account: &str, ip: Option<IpAddr>) -> (String, String) {
    let account_key = format!("{}:{account}", scope.as_str());
    let pair_key = format!("{account_key}@{}", address_key(ip));
    (pair_key, account_key)
}

/// Refuses an attempt while the (account, address) pair or the account is locked.
pub async fn check(
    state: &AppState,
    scope: Scope,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let now = state.options().mfa.clock.now_ms();
    let (pair, acct) = keys(scope, account, ip);
    let mut until = 0;
    for key in [pair, acct] {
        if let Some((_, locked_until)) = state.db().failure_state(&key).await? {
            until = until.max(locked_until);
        }
    }
    if until > now {
        let wait = u64::try_from(until - now).unwrap_or(0);
        return Err(ApiError::RateLimited {
            retry_after: Duration::from_millis(wait),
        });
    }
    Ok(())
}

/// Whether the (account, address) pair has no failure on record: an address that never failed
/// for this account (the owner's, usually). Such an attempt is not held to the account-wide rate
/// and slowdown, which strangers elsewhere can drive up; its address is still limited, and its
/// first failure makes it an address like any other.
pub async fn address_is_clean(
    state: &AppState,
    scope: Scope,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<bool, ApiError> {
    let (pair, _) = keys(scope, account, ip);
    Ok(state
        .db()
        .failure_state(&pair)
        .await?
        .is_none_or(|(failures, _)| failures == 0))
}

/// Counts a failure under both keys and starts (or extends) the locks; audits a new lock.
pub async fn record_failure(
    state: &AppState,
    scope: Scope,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let policy = state.options().mfa.lockout;
    let now = state.options().mfa.clock.now_ms();
    let forget_before = now.saturating_sub(ms(policy.forget_after));
    let (pair, acct) = keys(scope, account, ip);
    let pair_failures = state.db().count_failure(&pair, now, forget_before).await?;
    let acct_failures = state.db().count_failure(&acct, now, forget_before).await?;
    let pair_delay = delay(
        pair_failures,
        policy.ip_threshold,
        policy.ip_base_delay,
        policy.ip_cap,
    );
    let acct_delay = delay(
        acct_failures,
        policy.account_threshold,
        Duration::from_secs(1),
        policy.account_cap,
    );
    for (key, d, which) in [
        (&pair, pair_delay, "address"),
        (&acct, acct_delay, "account"),
    ] {
        if d.is_zero() {
            continue;
        }
        let until = now.saturating_add(ms(d));
        state.db().set_locked_until(key, until).await?;
        state
            .db()
            .append_audit(
                &format!("{}:{account}", scope.as_str()),
                "auth.lockout",
                &json!({
                    "scope": scope.as_str(),
                    "key": which,
                    "ip": ip.map(|i| i.to_string()),
                    "failures": if which == "address" { pair_failures } else { acct_failures },
                    "seconds": d.as_secs(),
                }),
            )
            .await?;
    }
    Ok(())
}

/// A success clears the caller's (account, address) counter and the account counter.
pub async fn reset(
    state: &AppState,
    scope: Scope,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let (pair, acct) = keys(scope, account, ip);
    state.db().clear_failures(&[&pair, &acct]).await?;
    Ok(())
}

/// Most keys remembered per limiter (as in [`crate::ratelimit`]).
const MAX_KEYS: usize = 100_000;

/// A GCRA limit keyed by account.
#[derive(Debug)]
struct KeyedLimiter {
    rate: Rate,
    tat: Mutex<HashMap<String, Instant>>,
}

impl KeyedLimiter {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            tat: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let interval = Duration::from_mins(1) / self.rate.per_minute.max(1);
        let window = interval * self.rate.burst.max(1);
        let mut map = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, tat| *tat > now);
            if map.len() >= MAX_KEYS {
                return Err(interval);
            }
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        let ahead = next.duration_since(now);
        if ahead > window {
            return Err(ahead.saturating_sub(window));
        }
        map.insert(key.to_owned(), next);
        Ok(())
    }
}

/// Which per-account attempt rate applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Login,
    Otp,
    Refresh,
}

impl Attempt {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Otp => "otp",
            Self::Refresh => "refresh",
        }
    }
}

/// The per-account attempt rates, in memory.
#[derive(Debug)]
pub struct AccountLimits {
    login: KeyedLimiter,
    otp: KeyedLimiter,
    refresh: KeyedLimiter,
}

impl AccountLimits {
    pub fn new(policy: &LockoutPolicy) -> Self {
        Self {
            login: KeyedLimiter::new(policy.login_rate),
            otp: KeyedLimiter::new(policy.otp_rate),
            refresh: KeyedLimiter::new(policy.refresh_rate),
        }
    }

    fn limiter(&self, attempt: Attempt) -> &KeyedLimiter {
        match attempt {
            Attempt::Login => &self.login,
            Attempt::Otp => &self.otp,
            Attempt::Refresh => &self.refresh,
        }
    }

    /// Counts an attempt for `account`, in memory; 429 with `Retry-After` over the rate.
    pub fn check(&self, attempt: Attempt, account: &str) -> Result<(), ApiError> {
        self.limiter(attempt)
            .check(account, Instant::now())
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }

    /// Counts an attempt for `account` in `shared` when the instances share a store (every
    /// instance counts the account's attempts together), else in memory.
    pub async fn check_shared(
        &self,
        shared: Option<&crate::shared::Shared>,
        attempt: Attempt,
        account: &str,
    ) -> Result<(), ApiError> {
        let Some(shared) = shared else {
            return self.check(attempt, account);
        };
        let rate = self.limiter(attempt).rate;
        let key = format!("acct:{}:{account}", attempt.as_str());
        shared
            .rate(&key, rate.per_minute, rate.burst)
            .await
            .map_err(crate::db::DbError::from)?
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let base = Duration::from_mins(1);
        let cap = Duration::from_mins(15);
        assert_eq!(delay(4, 5, base, cap), Duration::ZERO);
        assert_eq!(delay(5, 5, base, cap), base);
        assert_eq!(delay(6, 5, base, cap), base * 2);
        assert_eq!(delay(8, 5, base, cap), base * 8);
        assert_eq!(delay(9, 5, base, cap), cap);
        assert_eq!(delay(u32::MAX, 5, base, cap), cap);
    }

    #[test]
    fn keys_separate_addresses_and_group_ipv6_by_64() {
        let a = keys(Scope::Login, "alice", "192.0.2.1".parse().ok());
        let b = keys(Scope::Login, "alice", "192.0.2.2".parse().ok());
        assert_ne!(a.0, b.0);
        assert_eq!(a.1, b.1);
        let c = keys(Scope::Otp, "u1", "2001:db8::1".parse().ok());
        let d = keys(Scope::Otp, "u1", "2001:db8::2".parse().ok());
        assert_eq!(c.0, d.0);
        assert_ne!(keys(Scope::Login, "u1", None).1, c.1);
    }

    #[test]
    fn account_rates_are_per_account() {
        let l = AccountLimits::new(&LockoutPolicy {
            otp_rate: Rate::new(60, 2),
            ..LockoutPolicy::default()
        });
        assert!(l.check(Attempt::Otp, "u1").is_ok());
        assert!(l.check(Attempt::Otp, "u1").is_ok());
        assert!(l.check(Attempt::Otp, "u1").is_err());
        assert!(l.check(Attempt::Otp, "u2").is_ok());
        assert!(l.check(Attempt::Login, "u1").is_ok());
    }
}
