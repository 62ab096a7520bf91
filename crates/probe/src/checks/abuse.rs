//! Slow requests (C105): one connection of the probe's own sends a request a header line at a
//! time and never finishes it (on HTTPS after a full TLS handshake with the client's trust; when
//! that handshake fails, the `ClientHello` itself is sent a byte at a time instead). A server that still holds the
//! connection after [`HOLD`] lets a handful of slow clients take all its connections (slowloris).
//! The connection is admitted by the gate as one request and runs beside the other checks, so
//! the wait costs no extra time unless the run ends sooner; a run stopped by a budget drops it.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tokio::io::{AsyncRead, AsyncWrite};

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
        Mode::Http => "a request whose headers",
        Mode::Https => "a request whose headers (after the TLS handshake)",
        Mode::Handshake => "a TLS handshake",
    };
    match outcome {
        Slow::Held => {
            let target = ctx.base.to_string();
            ctx.report(
                &rules::SLOW_REQUESTS,
                "slow",
                "/",
                &format!(
                    "{target} kept a connection open for {} s while {what} never ended (a byte or a header line every {} s).",
                    HOLD.as_secs(),
                    TRICKLE.as_secs()
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
