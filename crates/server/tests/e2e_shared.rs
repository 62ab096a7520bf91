//! Instances sharing Redis, seen from the outside (issue: serve at scale): what a signed request
//! costs in Redis commands, that the shared limit still counts every request wherever it lands,
//! and that `/readyz` says when Redis stops answering.
//!
//! Each server talks to the Redis at `MINIGUARD_TEST_REDIS_URL` through a proxy on loopback
//! that this test starts: it counts the commands the server sends, and can stop answering (it
//! keeps the connections but reads nothing more) or close every connection, as a hung or dead
//! Redis does. Without that variable each test says so and passes without checking anything.

mod common;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, signed, signed_at, test_options, unix_now};
use miniguard_crypto::signing::generate_nonce;
use miniguard_server::AppOptions;
use miniguard_server::ratelimit::Rate;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

fn redis_url() -> Option<String> {
    let url = std::env::var("MINIGUARD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("MINIGUARD_TEST_REDIS_URL is not set: skipping the shared-store test");
    }
    url
}

const FORWARD: u8 = 0;
const SILENT: u8 = 1;
const CLOSED: u8 = 2;

/// A TCP proxy in front of Redis that names every command passing through.
struct RedisProxy {
    url: String,
    mode: Arc<AtomicU8>,
    commands: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisProxy {
    async fn start(redis_url: &str) -> Self {
        let upstream = url::Url::parse(redis_url).unwrap();
        let upstream_addr = format!(
            "{}:{}",
            upstream.host_str().unwrap(),
            upstream.port().unwrap_or(6379)
        );
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut url = upstream.clone();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (m, c) = (Arc::clone(&mode), Arc::clone(&commands));
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if m.load(Ordering::SeqCst) == CLOSED {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream_addr).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, Arc::clone(&m), Arc::clone(&c)));
            }
        });
        Self {
            url: url.to_string(),
            mode,
            commands,
            task,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// The commands seen since the last call (their names, upper case).
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.commands.lock().unwrap())
    }
}

/// Copies both ways; counts the commands going to Redis. While silent, reads nothing (the
/// client's bytes wait in the socket, unanswered); when closed, drops the connection.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    mode: Arc<AtomicU8>,
    commands: Arc<Mutex<Vec<String>>>,
) {
    let mut pending = Vec::new();
    let mut from_client = [0u8; 16 * 1024];
    let mut from_server = [0u8; 16 * 1024];
    loop {
        match mode.load(Ordering::SeqCst) {
            CLOSED => return,
            SILENT => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            _ => {}
        }
        tokio::select! {
            n = client.read(&mut from_client) => {
                let Ok(n @ 1..) = n else { return };
                pending.extend_from_slice(&from_client[..n]);
                while let Some((used, name)) = one_command(&pending) {
                    commands.lock().unwrap().push(name);
                    pending.drain(..used);
                }
                if server.write_all(&from_client[..n]).await.is_err() {
                    return;
                }
            }
            n = server.read(&mut from_server) => {
                let Ok(n @ 1..) = n else { return };
                if client.write_all(&from_server[..n]).await.is_err() {
                    return;
                }
            }
            // Look at the mode again now and then.
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// The first complete command (a RESP array of bulk strings) of `buf`: its length and name.
fn one_command(buf: &[u8]) -> Option<(usize, String)> {
    fn line(buf: &[u8], at: usize) -> Option<(usize, &[u8])> {
        let end = buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        Some((at + end + 2, &buf[at..at + end]))
    }
    let (mut at, head) = line(buf, 0)?;
    let count: usize = std::str::from_utf8(head.strip_prefix(b"*")?)
        .ok()?
        .parse()
        .ok()?;
    let mut name = String::new();
    for i in 0..count {
        let (next, len) = line(buf, at)?;
        let len: usize = std::str::from_utf8(len.strip_prefix(b"$")?)
            .ok()?
            .parse()
            .ok()?;
        let arg = buf.get(next..next + len)?;
        if i == 0 {
            name = String::from_utf8_lossy(arg).to_ascii_uppercase();
        }
        at = next + len + 2;
        if buf.len() < at {
            return None;
        }
    }
    Some((at, name))
}

fn options(per_minute: u32, burst: u32) -> AppOptions {
    AppOptions {
        general_rate: Rate::new(per_minute, burst),
        ..test_options()
    }
}

async fn login(server: &TestServer, code: &str) -> Value {
    let (status, _, body) = server.login(code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn readyz(server: &TestServer) -> (StatusCode, Duration) {
    let started = Instant::now();
    let res = server
        .client()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    (res.status(), started.elapsed())
}

#[tokio::test]
async fn a_signed_request_costs_one_redis_command() {
    let Some(url) = redis_url() else { return };
    let proxy = RedisProxy::start(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_instance(options(1_000_000, 100_000), dir.path(), &proxy.url).await;
    let session = login(&server, "dev:alice").await;
    // The first request reads the session from the database: it is counted before that read.
    assert_eq!(signed(&server, "GET", "/v1/me", &session).await, 200);
    proxy.take();
    for _ in 0..20 {
        assert_eq!(signed(&server, "GET", "/v1/me", &session).await, 200);
    }
    let sent = proxy.take();
    // The limit and the nonce in one script; counted apart they were 40.
    assert_eq!(sent.len(), 20, "{sent:?}");
    assert!(sent.iter().all(|c| c == "EVALSHA"), "{sent:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_flood_at_one_instance_is_refused_before_redis_is_asked() {
    let Some(url) = redis_url() else { return };
    let proxy = RedisProxy::start(&url).await;
    let dir = tempfile::tempdir().unwrap();
    // Three requests at once, then one a minute: the login and two signed requests pass.
    let server = TestServer::start_instance(options(1, 3), dir.path(), &proxy.url).await;
    let session = login(&server, "dev:flood").await;
    proxy.take();
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(signed(&server, "GET", "/v1/me", &session).await.as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429, 429, 429, 429]);
    // The instance's own count refuses the flood: Redis heard only the two that passed (the
    // first counted before its session was read, then its nonce; the second in one script).
    let sent = proxy.take();
    assert_eq!(sent.len(), 3, "{sent:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_shared_limit_counts_every_request_wherever_it_lands() {
    let Some(url) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Eight at once, then one a minute, for both instances together.
    let a = TestServer::start_instance(options(1, 8), dir.path(), &url).await;
    let b = TestServer::start_instance(options(1, 8), dir.path(), &url).await;
    let session = login(&a, "dev:spread").await; // 1
    assert_eq!(signed(&a, "GET", "/v1/me", &session).await, 200); // 2
    assert_eq!(signed(&b, "GET", "/v1/me", &session).await, 200); // 3
    let nonce = generate_nonce().unwrap();
    let once = signed_at(&b, "GET", "/v1/me", b"", &session, unix_now(), &nonce).await;
    assert_eq!(once.status(), 200); // 4
    // A replay on the other instance is refused, and counted.
    let replay = signed_at(&a, "GET", "/v1/me", b"", &session, unix_now(), &nonce).await;
    assert_eq!(replay.status(), 401); // 5
    // A bad signature is refused, and counted.
    let res = a
        .client()
        .get(a.url("/v1/me"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", unix_now().to_string())
        .header("x-mg-nonce", generate_nonce().unwrap())
        .header("x-mg-signature", "A".repeat(43))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401); // 6
    // A signed request for a path that does not exist reaches no check, and is counted too.
    assert_eq!(signed(&b, "GET", "/v1/nowhere", &session).await, 404); // 7
    assert_eq!(signed(&a, "GET", "/v1/me", &session).await, 200); // 8
    // The burst is spent, wherever the next request lands; A has seen only five of the eight.
    assert_eq!(signed(&a, "GET", "/v1/me", &session).await, 429);
    assert_eq!(signed(&b, "GET", "/v1/me", &session).await, 429);
    let (status, _, _) = b.login("dev:late").await;
    assert_eq!(status, 429);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn readyz_says_not_ready_while_redis_does_not_answer() {
    let Some(url) = redis_url() else { return };
    let proxy = RedisProxy::start(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_instance(test_options(), dir.path(), &proxy.url).await;
    assert_eq!(readyz(&server).await.0, 200);

    // Connections stay open, nothing is answered: not ready, within the server's bound (2 s)
    // and before the connection's own timeout (5 s).
    proxy.set(SILENT);
    let (status, took) = readyz(&server).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(4), "{took:?}");

    // Every connection is closed, and new ones too.
    proxy.set(CLOSED);
    let (status, took) = readyz(&server).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(4), "{took:?}");

    // Redis back: ready again once the connection is made again.
    proxy.set(FORWARD);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if readyz(&server).await.0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}

#[test]
fn commands_are_read_from_a_stream() {
    let two = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    let (used, name) = one_command(two).unwrap();
    assert_eq!(name, "PING");
    let (more, name) = one_command(&two[used..]).unwrap();
    assert_eq!(name, "GET");
    assert_eq!(used + more, two.len());
    // Cut anywhere, a command is not complete.
    for cut in 0..14 {
        assert_eq!(one_command(&two[..cut]), None, "{cut}");
    }
}
