//! Slow requests (C105) and idle connections (C107).
//!
//! Slow requests (C105): one connection of the probe's own sends a request a header line at a
//! time and never finishes it (on HTTPS after a full TLS handshake with the client's trust; when
//! that handshake fails, the `ClientHello` itself is sent a byte at a time instead). A server that still holds the
//! connection after [`HOLD`] lets a handful of slow clients take all its connections (slowloris).
//! The connection is admitted by the gate as one request and runs beside the other checks, so
//! the wait costs no extra time unless the run ends sooner; a run stopped by a budget drops it.
//!
//! Idle connections (C107): [`IDLE_CONNECTIONS`] connections of the probe's own open and send
//! nothing at all (on HTTPS nothing after a full TLS handshake; when that handshake fails, a TCP
//! connection that sends no byte, not even a `ClientHello`; one handshake of its own, closed at
//! once, decides which). A server that still holds every one of them after [`IDLE_HOLD`] never
//! closes a silent connection. Each connection is admitted by the gate as one request; they run beside the other checks like the slow request and are closed by the
//! probe when decided or dropped.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tokio::io::{AsyncRead, AsyncWrite};

use miniguard_report::msg;

use crate::rules;
use crate::run::{CheckResult, Ctx};
use crate::tls_hello;

/// How long the unfinished request is kept going before the server is said to hold it: longer
/// than the 10 s header timeouts hardened servers use, shorter than the 60 s of Node's default.
pub const HOLD: Duration = Duration::from_secs(20);
/// One more byte (a header line on HTTP) is sent this often, so that the connection is never
/// idle.
const TRICKLE: Duration = Duration::from_secs(2);

/// What became of the slow connection.
#[derive(Debug)]
pub enum Slow {
    /// Still open after `HOLD`.
    Held,
    /// Closed or answered by the server after this long.
    Closed(Duration),
    /// The connection could not be opened.
    Failed(String),
}

/// The running slow connection; aborted when dropped.
pub struct SlowCheck {
    task: tokio::task::JoinHandle<(Slow, Mode)>,
}

/// How the request was held.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Http,
    /// Headers after a completed TLS handshake.
    Https,
    /// The TLS handshake did not complete: its `ClientHello` was trickled instead.
    Handshake,
}

impl Drop for SlowCheck {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens the slow connection (through the gate) and lets it run; `None` when the time budget
/// cannot cover it or the target has no host.
pub async fn start(ctx: &mut Ctx<'_>) -> Result<Option<SlowCheck>, crate::SendError> {
    let base = ctx.base.clone();
    let (Some(host), Some(port)) = (base.host_str(), base.port_or_known_default()) else {
        return Ok(None);
    };
    if !ctx.enabled(&rules::SLOW_REQUESTS) {
        return Ok(None);
    }
    if ctx.client.time_left() < HOLD + Duration::from_secs(5) {
        ctx.notes.push(format!(
            "the time budget is too short to hold a slow request for {} s; slow requests not checked",
            HOLD.as_secs()
        ));
        return Ok(None);
    }
    match ctx.client.admit(&base).await {
        Ok(_) => {}
        Err(e) if e.is_budget() => return Err(e),
        Err(_) => return Ok(None),
    }
    let tls = base.scheme() == "https";
    let host = host.to_owned();
    let authority = match base.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: miniguard-probe\r\n",
        base.path()
    )
    .into_bytes();
    let config = ctx.client.tls_config();
    let task = tokio::spawn(async move {
        let addr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let stream = match connect(&addr, port).await {
            Ok(s) => s,
            Err(e) => return (Slow::Failed(e), Mode::Http),
        };
        if !tls {
            return (trickle(stream, &head, false).await, Mode::Http);
        }
        let name = match rustls::pki_types::ServerName::try_from(addr.clone()) {
            Ok(n) => n,
            Err(e) => return (Slow::Failed(e.to_string()), Mode::Https),
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let handshake =
            tokio::time::timeout(Duration::from_secs(10), connector.connect(name, stream)).await;
        if let Ok(Ok(tls_stream)) = handshake {
            return (trickle(tls_stream, &head, false).await, Mode::Https);
        }
        // Not trusted or not TLS 1.2+: hold the handshake itself instead.
        let hello = tls_hello::client_hello(
            tls_hello::TLS1_2,
            tls_hello::WEAK_SUITES,
            Some(&addr),
            [0x4d; 32],
        );
        match connect(&addr, port).await {
            Ok(s) => (trickle(s, &hello, true).await, Mode::Handshake),
            Err(e) => (Slow::Failed(e), Mode::Handshake),
        }
    });
    Ok(Some(SlowCheck { task }))
}

async fn connect(addr: &str, port: u16) -> Result<TcpStream, String> {
    match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect((addr, port))).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

/// Sends `head` (a request's first lines, or with `bytewise` a `ClientHello`) and keeps adding
/// to it, never finishing, until the server closes or answers, or `HOLD` has passed.
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    head: &[u8],
    bytewise: bool,
) -> Slow {
    let started = Instant::now();
    let tls = bytewise;
    // The first part at once, then one byte (a hello) or one header line (HTTP) per tick; the
    // request never ends.
    let first = if tls { 11 } else { head.len() };
    let mut sent = first.min(head.len());
    if stream.write_all(&head[..sent]).await.is_err() {
        return Slow::Closed(started.elapsed());
    }
    let mut line = 0u32;
    let mut buf = [0u8; 1024];
    while started.elapsed() < HOLD {
        let tick = TRICKLE.min(HOLD.saturating_sub(started.elapsed()));
        // Closed, reset or answered (e.g. 408): the server did not wait for the rest.
        if tokio::time::timeout(tick, stream.read(&mut buf))
            .await
            .is_ok()
        {
            return Slow::Closed(started.elapsed());
        }
        let more: Vec<u8> = if tls {
            if sent + 1 >= head.len() {
                Vec::new()
            } else {
                sent += 1;
                head[sent - 1..sent].to_vec()
            }
        } else {
            line += 1;
            format!("X-Mg-Slow-{line}: 1\r\n").into_bytes()
        };
        if !more.is_empty() && stream.write_all(&more).await.is_err() {
            return Slow::Closed(started.elapsed());
        }
    }
    Slow::Held
}

/// Waits for the slow connection (at most what is left of `HOLD` and of the time budget) and
/// reports C105 when the server held it.
pub async fn finish(ctx: &mut Ctx<'_>, check: Option<SlowCheck>) -> CheckResult {
    let Some(mut check) = check else {
        return Ok(());
    };
    let left = ctx.client.time_left();
    let (outcome, mode) = match tokio::time::timeout(left, &mut check.task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => return Ok(()),
        Err(_) => {
            ctx.notes
                .push("the time budget ended before the slow request was decided".into());
            return Ok(());
        }
    };
    let what = match mode {
        Mode::Http => msg!("probe.slow-headers"),
        Mode::Https => msg!("probe.slow-headers-tls"),
        Mode::Handshake => msg!("probe.slow-handshake"),
    };
    match outcome {
        Slow::Held => {
            let target = ctx.base.to_string();
            ctx.report(
                &rules::SLOW_REQUESTS,
                "slow",
                "/",
                msg!(
                    "probe.slow-requests",
                    target = &target,
                    hold = HOLD.as_secs(),
                    what = what,
                    trickle = TRICKLE.as_secs()
                ),
                &[],
                &[],
            );
        }
        Slow::Closed(_) => {}
        Slow::Failed(e) => ctx
            .notes
            .push(format!("the slow-request connection failed: {e}")),
    }
    Ok(())
}

/// How long a silent connection must stay open to be reported: longer than the common
/// defaults, which close it after 60 s (nginx's `client_header_timeout`, `serve`'s
/// `idle_timeout` plus its 5 s grace) or, in Node, at the first 30 s check after its 60 s
/// `headersTimeout` (so by 90 s).
pub const IDLE_HOLD: Duration = Duration::from_secs(95);
/// Silent connections opened at once.
pub const IDLE_CONNECTIONS: usize = 3;

/// How the silent connections were opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleMode {
    /// Plain TCP to an `http://` target.
    Tcp,
    /// A completed TLS handshake, then nothing.
    Tls,
    /// The TLS handshake failed (not trusted): a TCP connection that sends nothing at all.
    TcpNoHello,
}

/// The running idle connections; aborted (closed) when dropped.
pub struct IdleCheck {
    task: tokio::task::JoinHandle<(Vec<Slow>, IdleMode)>,
}

impl Drop for IdleCheck {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens the silent connections (each through the gate) and lets them run; `None` when the
/// check is skipped, the time budget cannot cover [`IDLE_HOLD`] or the target has no host.
pub async fn start_idle(ctx: &mut Ctx<'_>) -> Result<Option<IdleCheck>, crate::SendError> {
    let base = ctx.base.clone();
    let (Some(host), Some(port)) = (base.host_str(), base.port_or_known_default()) else {
        return Ok(None);
    };
    if !ctx.enabled(&rules::IDLE_CONNECTIONS) {
        return Ok(None);
    }
    if ctx.client.time_left() < IDLE_HOLD + Duration::from_secs(5) {
        ctx.notes.push(format!(
            "the time budget is too short to hold idle connections for {} s; idle connections not checked",
            IDLE_HOLD.as_secs()
        ));
        return Ok(None);
    }
    let tls = base.scheme() == "https";
    // On HTTPS one more connection: the handshake that decides how the others are held.
    for _ in 0..IDLE_CONNECTIONS + usize::from(tls) {
        match ctx.client.admit(&base).await {
            Ok(_) => {}
            Err(e) if e.is_budget() => return Err(e),
            Err(_) => return Ok(None),
        }
    }
    let addr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let config = ctx.client.tls_config();
    let task = tokio::spawn(async move {
        let mut mode = if tls { IdleMode::Tls } else { IdleMode::Tcp };
        if tls {
            // One handshake decides how all of them are held.
            match rustls::pki_types::ServerName::try_from(addr.clone()) {
                Ok(name) => {
                    let connector = tokio_rustls::TlsConnector::from(config.clone());
                    let ok = match connect(&addr, port).await {
                        Ok(s) => matches!(
                            tokio::time::timeout(
                                Duration::from_secs(10),
                                connector.connect(name, s)
                            )
                            .await,
                            Ok(Ok(_))
                        ),
                        Err(e) => return (vec![Slow::Failed(e)], mode),
                    };
                    if !ok {
                        mode = IdleMode::TcpNoHello;
                    }
                }
                Err(e) => return (vec![Slow::Failed(e.to_string())], mode),
            }
        }
        let mut waits = tokio::task::JoinSet::new();
        for _ in 0..IDLE_CONNECTIONS {
            let addr = addr.clone();
            let config = config.clone();
            waits.spawn(async move {
                let stream = match connect(&addr, port).await {
                    Ok(s) => s,
                    Err(e) => return Slow::Failed(e),
                };
                if mode != IdleMode::Tls {
                    return silent(stream, IDLE_HOLD).await;
                }
                let Ok(name) = rustls::pki_types::ServerName::try_from(addr.clone()) else {
                    return Slow::Failed("not a server name".into());
                };
                let connector = tokio_rustls::TlsConnector::from(config);
                match tokio::time::timeout(Duration::from_secs(10), connector.connect(name, stream))
                    .await
                {
                    Ok(Ok(s)) => silent(s, IDLE_HOLD).await,
                    Ok(Err(e)) => Slow::Failed(format!("TLS handshake: {e}")),
                    Err(_) => Slow::Failed("TLS handshake timed out".into()),
                }
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = waits.join_next().await {
            outcomes.push(joined.unwrap_or_else(|e| Slow::Failed(e.to_string())));
        }
        (outcomes, mode)
    });
    Ok(Some(IdleCheck { task }))
}

/// Sends nothing and waits until the server closes, resets or writes (e.g. a 408), or `hold`
/// has passed; the stream is closed when this returns.
async fn silent<S: AsyncRead + Unpin>(mut stream: S, hold: Duration) -> Slow {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(hold, stream.read(&mut buf)).await {
        Ok(_) => Slow::Closed(started.elapsed()),
        Err(_) => Slow::Held,
    }
}

/// Whether every silent connection was held (none closed, none failed).
pub fn all_held(outcomes: &[Slow]) -> bool {
    !outcomes.is_empty() && outcomes.iter().all(|o| matches!(o, Slow::Held))
}

/// Waits for the silent connections (at most what is left of the time budget) and reports C107
/// when the server held every one of them.
pub async fn finish_idle(ctx: &mut Ctx<'_>, check: Option<IdleCheck>) -> CheckResult {
    let Some(mut check) = check else {
        return Ok(());
    };
    let left = ctx.client.time_left();
    let (outcomes, mode) = match tokio::time::timeout(left, &mut check.task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => return Ok(()),
        Err(_) => {
            ctx.notes
                .push("the time budget ended before the idle connections were decided".into());
            return Ok(());
        }
    };
    if all_held(&outcomes) {
        let what = match mode {
            IdleMode::Tcp => msg!("probe.idle-tcp"),
            IdleMode::Tls => msg!("probe.idle-tls"),
            IdleMode::TcpNoHello => msg!("probe.idle-no-hello"),
        };
        let target = ctx.base.to_string();
        ctx.report(
            &rules::IDLE_CONNECTIONS,
            "idle",
            "/",
            msg!(
                "probe.idle-connections",
                target = &target,
                count = outcomes.len(),
                what = what,
                hold = IDLE_HOLD.as_secs()
            ),
            &[],
            &[],
        );
    } else if let Some(Slow::Failed(e)) = outcomes.iter().find(|o| matches!(o, Slow::Failed(_))) {
        ctx.notes
            .push(format!("an idle connection could not be opened: {e}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_is_reported_only_when_every_connection_was_held() {
        assert!(all_held(&[Slow::Held, Slow::Held, Slow::Held]));
        assert!(!all_held(&[]));
        assert!(!all_held(&[
            Slow::Held,
            Slow::Closed(Duration::from_mins(1))
        ]));
        assert!(!all_held(&[Slow::Held, Slow::Failed("refused".into())]));
    }

    /// A loopback listener that closes every accepted connection after `after` (or never),
    /// counting the bytes it received.
    async fn listener(
        after: Option<Duration>,
    ) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = bytes.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let read = async {
                        while let Ok(n) = s.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            seen.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                        }
                    };
                    match after {
                        Some(d) => {
                            let _ = tokio::time::timeout(d, read).await;
                        }
                        None => read.await,
                    }
                });
            }
        });
        (port, bytes)
    }

    #[tokio::test]
    async fn a_silent_connection_is_held_or_closed_as_the_server_decides() {
        // The hold is shortened here; the check itself waits `IDLE_HOLD`.
        let (port, bytes) = listener(None).await;
        let stream = connect("127.0.0.1", port).await.unwrap();
        assert!(matches!(
            silent(stream, Duration::from_millis(300)).await,
            Slow::Held
        ));
        assert_eq!(
            bytes.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "sent nothing"
        );

        let (port, _) = listener(Some(Duration::from_millis(100))).await;
        let stream = connect("127.0.0.1", port).await.unwrap();
        match silent(stream, Duration::from_secs(30)).await {
            Slow::Closed(after) => assert!(after < Duration::from_secs(30), "{after:?}"),
            other => panic!("{other:?}"),
        }
    }
}
