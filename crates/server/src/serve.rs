//! Running the application on a socket: TLS (or, when explicitly enabled, plain HTTP behind a
//! proxy), HTTP/1.1 and HTTP/2, connection timeouts and graceful shutdown.
//!
//! Connections are a resource an attacker can hold without sending requests, so every one is
//! bounded: a cap on all connections (the accept loop waits at the cap rather than running the
//! process out of file descriptors), a cap per client address (at it, a new connection makes the
//! address's longest-idle connection close, so keep-alive pools and users behind one NAT are not
//! locked out; when all of them have requests in flight it is closed at once; connections from a
//! trusted proxy, which carry many clients, are held only to the cap on all), a TLS handshake
//! timeout, a header timeout, and an idle timeout counted in requests, not
//! bytes: a connection with no request in flight for [`ConnectionLimits::idle_timeout`] is told
//! to close and dropped a few seconds later if it does not, whatever it sends meanwhile (HTTP/2
//! pings and settings frames do not keep it open). Accept errors back off exponentially.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Time open connections get to finish after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Time a connection told to close (idle, or shutting down) gets before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// The longest pause of the accept loop after repeated failures (e.g. out of file descriptors).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Bounds on connections: how many, from where, and for how long without a request.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once; at the cap the accept loop waits (the kernel backlog queues).
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv6 by /64). At the cap a new
    /// connection tells the address's longest-idle connection to close; when every one has a
    /// request in flight, the new one is closed at once.
    pub max_per_address: usize,
    /// A connection with no request in flight for this long is closed: whether it never sent
    /// anything after the TLS handshake, sent only the HTTP/2 preface, or keeps a keep-alive
    /// connection (HTTP/1.1 or HTTP/2, pings included) without using it.
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed for a request's headers to arrive (HTTP/1.1; slow-loris protection).
    pub header_timeout: Duration,
    /// HTTP/2 streams open at once on one connection.
    pub max_streams: u32,
    /// HTTP/2: the server pings a connection this often while requests are in flight and closes
    /// it when a ping is not answered within the same time.
    pub keep_alive_interval: Duration,
    /// Addresses of reverse proxies in front of the server (`trusted_proxies`): every client
    /// behind one arrives from its address, so its connections are not held to
    /// `max_per_address` (only to `max_connections`).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_per_address: 64,
            idle_timeout: Duration::from_mins(1),
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_streams: 64,
            keep_alive_interval: Duration::from_secs(20),
            trusted_proxies: Vec::new(),
        }
    }
}

/// How connections are secured.
#[derive(Clone)]
pub enum Transport {
    /// TLS with this configuration (see [`crate::tls`]).
    Tls(Arc<rustls::ServerConfig>),
    /// Plain HTTP. Only for a reverse proxy that terminates TLS in front of us.
    InsecureHttpBehindProxy,
}

/// Serves `app` on `listener` with the default [`ConnectionLimits`] until `shutdown`
/// completes (see [`serve_with`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(
        listener,
        app,
        transport,
        ConnectionLimits::default(),
        shutdown,
    )
    .await
}

/// The key connections are counted under: the address, IPv6 by its /64 (one subscriber's
/// network), IPv4-mapped IPv6 as IPv4.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Open connections per address; an [`AddressSlot`] gives its place back when dropped.
#[derive(Default)]
struct PerAddress {
    open: std::sync::Mutex<HashMap<IpAddr, Vec<Arc<Tracked>>>>,
}

/// One open connection as the per-address table sees it.
struct Tracked {
    activity: Arc<Activity>,
    /// Told to close to make room for a newer connection of the same address.
    evicted: Notify,
    was_evicted: AtomicBool,
}

struct AddressSlot {
    /// The table and key the connection is counted under; `None` for a trusted proxy's.
    counted: Option<(Arc<PerAddress>, IpAddr)>,
    tracked: Arc<Tracked>,
}

impl Tracked {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            activity: Arc::new(Activity::new()),
            evicted: Notify::new(),
            was_evicted: AtomicBool::new(false),
        })
    }
}

impl AddressSlot {
    /// A connection from a trusted proxy: it stands for many clients, so it takes no place in
    /// the per-address table (the cap on all connections still holds it).
    fn uncounted() -> Self {
        Self {
            counted: None,
            tracked: Tracked::new(),
        }
    }
}

impl PerAddress {
    /// A place for a new connection from `ip`, or `None` when the address holds `max`
    /// connections that all have requests in flight. At the cap, the longest-idle connection of
    /// the address is told to close; those still closing count towards a hard bound of `2 * max`.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let key = address_key(ip);
        // A poisoned lock only means another connection task panicked while counting; the
        // table stays consistent (each change is one statement), so keep using it.
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conns = open.entry(key).or_default();
        if conns.len() >= max.saturating_mul(2) {
            return None;
        }
        let live = conns
            .iter()
            .filter(|c| !c.was_evicted.load(Ordering::Acquire))
            .count();
        if live >= max {
            let idlest = conns
                .iter()
                .filter(|c| !c.was_evicted.load(Ordering::Acquire))
                .map(|c| (c.activity.idle_for(), c))
                .filter(|(idle, _)| !idle.is_zero())
                .max_by_key(|(idle, _)| *idle)
                .map(|(_, c)| Arc::clone(c));
            let victim = idlest?;
            victim.was_evicted.store(true, Ordering::Release);
            victim.evicted.notify_one();
        }
        let tracked = Tracked::new();
        conns.push(Arc::clone(&tracked));
        Some(AddressSlot {
            counted: Some((Arc::clone(self), key)),
            tracked,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some((table, key)) = &self.counted else {
            return;
        };
        let mut open = table
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(conns) = open.get_mut(key) {
            conns.retain(|c| !Arc::ptr_eq(c, &self.tracked));
            if conns.is_empty() {
                open.remove(key);
            }
        }
    }
}

/// Requests in flight on one connection and when the last one started or ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(Arc::clone(self))
    }

    /// How long the connection has had no request in flight (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// One request in flight; ends when the handler's future completes or is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The pause of the accept loop after failures in a row: none after a success, then 10 ms,
/// doubling up to [`MAX_ACCEPT_BACKOFF`].
#[derive(Debug, Default)]
struct AcceptBackoff {
    pause: Duration,
}

impl AcceptBackoff {
    fn succeeded(&mut self) {
        self.pause = Duration::ZERO;
    }

    /// The pause after one more failure.
    fn failed(&mut self) -> Duration {
        self.pause = (self.pause * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
        self.pause
    }
}

/// Accepts one connection with `accept`, retrying failures after a growing pause: out of file
/// descriptors (EMFILE) and the like repeat until something closes, so retrying at once would
/// spin a core and flood the log.
async fn accept_backing_off<T, F, Fut>(mut accept: F, backoff: &mut AcceptBackoff) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(accepted) => {
                backoff.succeeded();
                return accepted;
            }
            Err(e) => {
                let pause = backoff.failed();
                tracing::warn!(error = %e, backoff_ms = pause.as_millis(), "accept failed");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and lets open
/// connections finish (up to a drain timeout). Connections are bounded by `limits`.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    transport: Transport,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = match &transport {
        Transport::Tls(config) => Some(TlsAcceptor::from(Arc::clone(config))),
        Transport::InsecureHttpBehindProxy => None,
    };
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max_connections));
    let per_address = Arc::new(PerAddress::default());
    let limits = Arc::new(limits);
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = AcceptBackoff::default();
    loop {
        // At the cap, wait for a connection to end before accepting another.
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = accept_backing_off(|| listener.accept(), &mut backoff) => accepted,
            () = &mut shutdown => break,
        };
        let from_proxy = limits
            .trusted_proxies
            .iter()
            .any(|p| p.to_canonical() == peer.ip().to_canonical());
        let slot = if from_proxy {
            Some(AddressSlot::uncounted())
        } else {
            per_address.take(peer.ip(), limits.max_per_address)
        };
        let Some(slot) = slot else {
            tracing::debug!(%peer, "too many busy connections from this address: closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let limits = Arc::clone(&limits);
        let closing = closing_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tracked = Arc::clone(&slot.tracked);
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            serve_connection(tls, peer, app, &limits, closing, &tracked).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => serve_connection(stream, peer, app, &limits, closing, &tracked).await,
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining connections");
    let _ = closing.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("drain timeout: closing remaining connections");
    }
    Ok(())
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    limits: &ConnectionLimits,
    mut closing: watch::Receiver<bool>,
    tracked: &Tracked,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::clone(&tracked.activity);
    let counted = Arc::clone(&activity);
    let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = counted.begin();
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(in_flight);
            res
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .keep_alive_interval(Some(limits.keep_alive_interval))
        .keep_alive_timeout(limits.keep_alive_interval)
        .max_pending_accept_reset_streams(Some(20))
        .max_local_error_reset_streams(Some(64))
        .max_header_list_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let check_every =
        (limits.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Set once the connection was told to close; it is dropped if still open after the grace.
    let mut close_by: Option<Instant> = None;
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            changed = closing.changed(), if close_by.is_none() => {
                if changed.is_err() || *closing.borrow() {
                    conn.as_mut().graceful_shutdown();
                    close_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            () = tracked.evicted.notified(), if close_by.is_none() => {
                tracing::debug!(%peer, "idle connection closed for a newer one of its address");
                conn.as_mut().graceful_shutdown();
                close_by = Some(Instant::now() + CLOSE_GRACE);
            }
            _ = tick.tick() => {
                match close_by {
                    Some(deadline) if Instant::now() >= deadline => {
                        tracing::debug!(%peer, "connection did not close in time: dropped");
                        return;
                    }
                    Some(_) => {}
                    None if activity.idle_for() >= limits.idle_timeout => {
                        tracing::debug!(%peer, "idle connection closed");
                        conn.as_mut().graceful_shutdown();
                        close_by = Some(Instant::now() + CLOSE_GRACE);
                    }
                    None => {}
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Completes on Ctrl-C, or on SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_by_address_ipv6_by_its_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        // IPv4: the exact address.
        assert_eq!(key("203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        // IPv6: one /64 is one key, whatever the interface part.
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            key("2001:db8:1:2:aaaa::9"),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        // IPv4-mapped IPv6 is its IPv4 address (a dual-stack socket), not one /64 for all.
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("::ffff:203.0.113.7"), key("::ffff:203.0.113.8"));
    }

    fn emfile() -> std::io::Error {
        std::io::Error::from_raw_os_error(24)
    }

    /// Out of file descriptors, the accept loop pauses 10 ms, 20 ms, ... between tries instead
    /// of spinning, and a success resets the pause.
    #[tokio::test(start_paused = true)]
    async fn failing_accepts_back_off_instead_of_spinning() {
        let tries = std::cell::Cell::new(0_u32);
        let mut backoff = AcceptBackoff::default();
        let started = tokio::time::Instant::now();
        let accepted = accept_backing_off(
            || {
                tries.set(tries.get() + 1);
                let n = tries.get();
                async move { if n <= 5 { Err(emfile()) } else { Ok(n) } }
            },
            &mut backoff,
        )
        .await;
        assert_eq!(accepted, 6);
        // 10 + 20 + 40 + 80 + 160 ms of pauses, on the paused clock.
        assert_eq!(started.elapsed(), Duration::from_millis(310));
        assert_eq!(backoff.pause, Duration::ZERO, "a success resets the pause");

        // Failing for good: a handful of tries in 10 s, the pause capped at a second.
        tries.set(0);
        let forever = accept_backing_off(
            || {
                tries.set(tries.get() + 1);
                async { Err::<(), _>(emfile()) }
            },
            &mut backoff,
        );
        assert!(
            tokio::time::timeout(Duration::from_secs(10), forever)
                .await
                .is_err()
        );
        assert!((8..=20).contains(&tries.get()), "{} tries", tries.get());
        assert_eq!(backoff.pause, MAX_ACCEPT_BACKOFF);
    }
}
