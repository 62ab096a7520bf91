//! State that several instances of `serve` must share, kept in Redis: nonces of signed requests,
//! GCRA rate limits, and the session invalidations every instance's cache must hear.
//!
//! One instance alone needs none of this (its memory is the whole truth: [`crate::replay`],
//! [`crate::ratelimit`], [`crate::session_cache`]). With several instances behind a load
//! balancer, a nonce accepted by one must be refused by the others, a client's limit must count
//! its requests wherever they land, and a logout on one must end the session on all. Each of
//! these is one atomic Redis operation, so no instance keeps state another needs:
//!
//! - **Nonces**: `SET <prefix>nonce:<fingerprint> 1 NX EX <life>`, in a script that first
//!   compares the request's timestamp with the deployment's **horizon**. Redis answers `OK` for a
//!   nonce it did not have and nothing for one it has, atomically, so two instances receiving the
//!   same signed request at once cannot both accept it. The key expires with the signature
//!   window. The horizon is a key without expiry holding the Redis time (seconds) at which it was
//!   made: a Redis that lost its data (restarted without persistence, failed over to a replica
//!   that missed writes) has lost the horizon too, the next nonce check makes it again at the
//!   current time, and every timestamp up to it is refused, so a nonce accepted before the loss
//!   cannot be replayed after it. A starting instance makes the horizon and waits for the next
//!   second before it serves (see [`Shared::connect`]).
//! - **Rate limits**: a GCRA bucket per key in a small Lua script run by Redis (one key holds
//!   the theoretical arrival time, in microseconds of Redis's own clock, so instances with
//!   skewed clocks still agree).
//! - **A signed request's limit and nonce together** ([`Shared::admit`]): one script counts the
//!   request against its address's general limit and, only if the limit lets it through,
//!   records its nonce, so a signed request costs one round trip instead of two. It runs once
//!   the signature has verified (a nonce is recorded only for a verified request); what comes
//!   before it is bounded by the instance's own count of the same limit (see
//!   [`crate::http`], "Limits with a shared store").
//! - **Invalidations**: published on the `mg:invalidate` channel; every instance subscribes and
//!   drops the cached sessions an invalidation covers. A subscriber that loses its connection
//!   reconnects and, since messages sent meanwhile are lost, must drop its whole cache (see
//!   [`Subscription::next`]).
//!
//! Keys are prefixed with `mg:{<deployment>}:`, the deployment's identity kept in its database
//! (migration 12), so instances of one database share their state and one Redis can serve
//! several deployments (or test runs) without their state mixing. The braces are a Redis Cluster
//! hash tag: a deployment's keys live on one node, where its scripts can reach them all.
//!
//! Redis must not evict keys (`maxmemory-policy noeviction`): an evicted nonce is a replay let
//! through. [`Shared::connect`] refuses a server configured to evict; when memory is full, Redis
//! refuses writes instead, and so a request whose nonce cannot be stored is refused (503).

use std::sync::LazyLock;
use std::time::Duration;

use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;

use crate::db::UserId;
use crate::session_cache::Invalidation;

/// Errors from the shared store. Callers fail closed: a request whose nonce or limit cannot be
/// checked is refused (503), never let through unchecked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis_url is not a redis:// or rediss:// URL: {0}")]
    BadUrl(String),
    #[error("redis answered something unexpected: {0}")]
    Protocol(String),
    #[error(
        "redis evicts keys (maxmemory-policy {0}); an evicted nonce is a replay let through: \
         set maxmemory-policy noeviction"
    )]
    Evicts(String),
}

/// A connection to the shared store (cheap to clone: one multiplexed connection, reconnected by
/// the manager when it drops).
#[derive(Clone)]
pub struct Shared {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The GCRA step of [`GCRA`] and [`ADMIT`]: KEYS[1] the bucket, ARGV[1] the interval (us),
/// ARGV[2] the window (interval x burst, us). Leaves `wait` > 0 (microseconds to wait) when the
/// request is over the limit, else stores the new arrival time (written with `%.0f`: Lua's own
/// number-to-text keeps 14 digits, fewer than a microsecond clock has) and leaves `wait` at 0.
macro_rules! gcra_step {
    () => {
        r"
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = 0
if next_tat - now > window then
  wait = next_tat - now - window
else
  redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX',
    math.floor((next_tat - now) / 1000) + 1000)
end
"
    };
}

/// The nonce step of [`NONCE`] and [`ADMIT`]: KEYS[n] the nonce, KEYS[h] the horizon, ARGV[l]
/// its life (s), ARGV[t] the request's timestamp (unix s). Leaves `new` true when the nonce was
/// not seen (and stores it), false when it was or its timestamp is at or behind the horizon
/// (which a lost horizon makes again at Redis's time).
macro_rules! nonce_step {
    ($n:literal, $h:literal, $l:literal, $t:literal) => {
        concat!(
            "
local h = redis.call('GET', KEYS[",
            $h,
            "])
if not h then
  h = redis.call('TIME')[1]
  redis.call('SET', KEYS[",
            $h,
            "], h)
end
local new = false
if tonumber(ARGV[",
            $t,
            "]) > tonumber(h) then
  new = redis.call('SET', KEYS[",
            $n,
            "], '1', 'NX', 'EX', ARGV[",
            $l,
            "]) and true or false
end
"
        )
    };
}

/// The GCRA step, atomic in Redis, in microseconds of Redis's clock (a coarser unit would cap a
/// limit: in milliseconds no key could pass more than 1,000 requests a second). KEYS[1]: the
/// bucket. ARGV: interval (us), window (interval x burst, us). Answers 0 when allowed, or the
/// microseconds to wait.
static GCRA: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(concat!(gcra_step!(), "return wait\n")));

/// The nonce check. KEYS[1]: the nonce, KEYS[2]: the horizon. ARGV: life (s), the request's
/// timestamp (unix s). Answers 1 when the nonce is new (and stores it), 0 when it was seen or its
/// timestamp is at or behind the horizon.
static NONCE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(concat!(
        nonce_step!("1", "2", "1", "2"),
        "if new then return 1 end\nreturn 0\n"
    ))
});

/// A signed request's general limit, then its nonce, in one step. KEYS[1]: the bucket, KEYS[2]:
/// the nonce, KEYS[3]: the horizon. ARGV: interval (us), window (us), life (s), timestamp
/// (unix s). Answers `{0, wait}` when the request is over the limit (its nonce is then not
/// recorded), `{1, 0}` for a new nonce (recorded), `{2, 0}` for a seen one or one at or behind
/// the horizon. A replay counts against the limit, as every request does.
static ADMIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(concat!(
        gcra_step!(),
        "if wait > 0 then return {0, wait} end\n",
        nonce_step!("2", "3", "3", "4"),
        "if new then return {1, 0} end\nreturn {2, 0}\n"
    ))
});

/// Makes the horizon if there is none. KEYS[1]: the horizon. Answers 1 when it made it.
static HORIZON: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], redis.call('TIME')[1])
return 1
",
    )
});

/// What [`Shared::admit`] decided about a signed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Within the limit, and its nonce is new (now recorded).
    New,
    /// Within the limit (and counted), but its nonce was seen, or its timestamp is at or behind
    /// the horizon: a replay, or possibly one.
    Seen,
    /// Over the limit: refused before its nonce was looked at; retry after this long.
    Limited(Duration),
}

impl Shared {
    /// Connects to `url` (`redis://host:port/db` or `rediss://` for TLS), checks the connection
    /// with a PING and that Redis does not evict keys, and makes the nonce horizon if there is
    /// none (then waits a second, so no timestamp a client signs from now on is behind it).
    /// `deployment` names this deployment's keys ([`crate::db::Db::deployment_id`]).
    pub async fn connect(url: &str, deployment: &str) -> Result<Self, SharedError> {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(SharedError::BadUrl(redact(url)));
        }
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
        if pong != "PONG" {
            return Err(SharedError::Protocol(pong));
        }
        // Managed services may refuse CONFIG; then the operator's word is taken (docs).
        let policy: Result<Vec<String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await;
        match policy.as_deref() {
            Ok([_, policy]) if policy != "noeviction" => {
                return Err(SharedError::Evicts(policy.clone()));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = %e,
                "cannot read redis maxmemory-policy; it must be noeviction"
            ),
        }
        let shared = Self {
            conn,
            client,
            prefix: format!("mg:{{{deployment}}}:"),
        };
        let mut conn = shared.conn.clone();
        // Loaded now, so the first requests do not pay a refused EVALSHA and a load (a Redis
        // that lost its scripts since gets them again the same way, on first use).
        for script in [&*GCRA, &*NONCE, &*ADMIT, &*HORIZON] {
            script.load_async(&mut conn).await?;
        }
        let made: i64 = HORIZON
            .key(shared.horizon_key())
            .invoke_async(&mut conn)
            .await?;
        if made == 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok(shared)
    }

    fn horizon_key(&self) -> String {
        format!("{}horizon", self.prefix)
    }

    /// Records a nonce's fingerprint (see [`crate::replay::fingerprint`]) of a request signed at
    /// `timestamp` (unix seconds) for `ttl`: `true` when it was new, `false` when some instance
    /// has seen it within its window, or its timestamp is not after the horizon.
    pub async fn nonce_is_new(
        &self,
        fingerprint: u64,
        timestamp: u64,
        ttl: Duration,
    ) -> Result<bool, SharedError> {
        let mut conn = self.conn.clone();
        let new: i64 = NONCE
            .key(self.nonce_key(fingerprint))
            .key(self.horizon_key())
            .arg(ttl.as_secs().max(1))
            .arg(timestamp)
            .invoke_async(&mut conn)
            .await?;
        Ok(new == 1)
    }

    fn nonce_key(&self, fingerprint: u64) -> String {
        format!("{}nonce:{fingerprint:016x}", self.prefix)
    }

    fn rate_key(&self, key: &str) -> String {
        format!("{}rate:{key}", self.prefix)
    }

    /// Counts one request against the GCRA bucket `key` (`burst` at once, `per_minute`
    /// sustained), shared by every instance: `Ok(())` when allowed, `Err(wait)` when not.
    pub async fn rate(
        &self,
        key: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<Result<(), Duration>, SharedError> {
        let (interval_us, window_us) = gcra_args(per_minute, burst);
        let mut conn = self.conn.clone();
        let wait: i64 = GCRA
            .key(self.rate_key(key))
            .arg(interval_us)
            .arg(window_us)
            .invoke_async(&mut conn)
            .await?;
        Ok(if wait <= 0 { Ok(()) } else { Err(micros(wait)) })
    }

    /// A verified signed request in one round trip: counts it against the GCRA bucket `key`
    /// (as [`Shared::rate`]) and, only when the bucket lets it through, records its nonce (as
    /// [`Shared::nonce_is_new`], horizon included). Atomic: of two instances receiving the same
    /// request at once exactly one sees [`Admission::New`].
    pub async fn admit(
        &self,
        key: &str,
        per_minute: u32,
        burst: u32,
        fingerprint: u64,
        timestamp: u64,
        ttl: Duration,
    ) -> Result<Admission, SharedError> {
        let (interval_us, window_us) = gcra_args(per_minute, burst);
        let mut conn = self.conn.clone();
        let answer: Vec<i64> = ADMIT
            .key(self.rate_key(key))
            .key(self.nonce_key(fingerprint))
            .key(self.horizon_key())
            .arg(interval_us)
            .arg(window_us)
            .arg(ttl.as_secs().max(1))
            .arg(timestamp)
            .invoke_async(&mut conn)
            .await?;
        match answer.as_slice() {
            [0, wait] => Ok(Admission::Limited(micros((*wait).max(1)))),
            [1, _] => Ok(Admission::New),
            [2, _] => Ok(Admission::Seen),
            other => Err(SharedError::Protocol(format!("{other:?}"))),
        }
    }

    /// Whether Redis answers a PING (`/readyz`); bounded by the connection's response timeout,
    /// and by the caller's own.
    pub async fn ping(&self) -> Result<(), SharedError> {
        let mut conn = self.conn.clone();
        let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(SharedError::Protocol(pong))
        }
    }

    /// Tells every instance (this one included) to drop the cached sessions `inv` covers.
    pub async fn publish(&self, inv: &Invalidation) -> Result<(), SharedError> {
        let mut conn = self.conn.clone();
        let _receivers: i64 = conn.publish(self.channel(), encode(inv)).await?;
        Ok(())
    }

    /// Starts listening for invalidations (one dedicated connection; pub/sub cannot share the
    /// multiplexed one).
    pub async fn subscribe(&self) -> Result<Subscription, SharedError> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(self.channel()).await?;
        Ok(Subscription {
            client: self.client.clone(),
            channel: self.channel(),
            stream: Some(pubsub),
        })
    }

    fn channel(&self) -> String {
        format!("{}invalidate", self.prefix)
    }
}

/// What a subscriber hears.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// Drop the sessions this covers.
    Invalidate(Invalidation),
    /// The connection was lost and is back: invalidations may have been missed, so drop every
    /// cached session (they are looked up again in the database).
    Everything,
}

/// A live subscription to the invalidation channel.
pub struct Subscription {
    client: redis::Client,
    channel: String,
    stream: Option<redis::aio::PubSub>,
}

impl Subscription {
    /// The next invalidation. On a lost connection it reconnects (backing off up to 5 s) and
    /// answers [`Heard::Everything`]. Messages that cannot be decoded are skipped.
    pub async fn next(&mut self) -> Heard {
        use futures_util::StreamExt as _;
        let mut backoff = Duration::from_millis(100);
        loop {
            if let Some(pubsub) = self.stream.as_mut() {
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Ok(payload) = msg.get_payload::<String>() else {
                        continue;
                    };
                    if let Some(inv) = decode(&payload) {
                        return Heard::Invalidate(inv);
                    }
                }
                drop(messages);
                self.stream = None;
            }
            if let Ok(mut pubsub) = self.client.get_async_pubsub().await
                && pubsub.subscribe(&self.channel).await.is_ok()
            {
                self.stream = Some(pubsub);
                return Heard::Everything;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

/// GCRA's interval and window in microseconds.
fn gcra_args(per_minute: u32, burst: u32) -> (u64, u64) {
    let interval_us = (60_000_000 / u64::from(per_minute.max(1))).max(1);
    (
        interval_us,
        interval_us.saturating_mul(u64::from(burst.max(1))),
    )
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

/// The wire form of an invalidation: `f <family>`, `u <user>`, `x <user> <kept family>`, `a`
/// (every session).
fn encode(inv: &Invalidation) -> String {
    match inv {
        Invalidation::All => "a".to_owned(),
        Invalidation::Family(f) => format!("f {f}"),
        Invalidation::User(u) => format!("u {}", u.0),
        Invalidation::UserExcept { user, keep_family } => format!("x {} {keep_family}", user.0),
    }
}

fn decode(s: &str) -> Option<Invalidation> {
    let mut parts = s.splitn(3, ' ');
    match (parts.next()?, parts.next(), parts.next()) {
        ("a", None, None) => Some(Invalidation::All),
        ("f", Some(f), None) if !f.is_empty() => Some(Invalidation::Family(f.to_owned())),
        ("u", Some(u), None) => Some(Invalidation::User(UserId(u.parse().ok()?))),
        ("x", Some(u), Some(f)) if !f.is_empty() => Some(Invalidation::UserExcept {
            user: UserId(u.parse().ok()?),
            keep_family: f.to_owned(),
        }),
        _ => None,
    }
}

/// A URL for error messages, without its password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidations_round_trip_and_garbage_is_skipped() {
        for inv in [
            Invalidation::Family("fam-1".into()),
            Invalidation::User(UserId(42)),
            Invalidation::UserExcept {
                user: UserId(7),
                keep_family: "keep".into(),
            },
            Invalidation::All,
        ] {
            assert_eq!(decode(&encode(&inv)), Some(inv));
        }
        for bad in [
            "", "f", "f ", "u x", "x 1", "x 1 ", "z 1", "u 1 2", "a 1", "a ",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn urls_in_errors_hide_the_password() {
        assert_eq!(
            redact("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(redact("nonsense"), "(not a URL)");
    }
}
