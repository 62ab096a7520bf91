//! Connections as a resource (hardening round 2, item 2): idle connections are closed whatever
//! they send, connections are capped per address and in all, and a full table of idle
//! connections does not keep a new client out. Every test talks to a server it starts on
//! 127.0.0.x, opens a bounded number of connections and waits at most a few seconds each time.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{APPID, SECRET, TestDb, TestServer, client_config, test_keyring, test_options};
use miniguard_server::db::Db;
use miniguard_server::platform::fake::FakeWeChat;
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::serve::{ConnectionLimits, Transport, serve_with};
use miniguard_server::tls::DevCertificate;
use miniguard_server::{AppState, app};
use rustls_pki_types::ServerName;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How long a test waits for the server to close a connection before failing.
const WAIT: Duration = Duration::from_secs(10);

async fn start(limits: ConnectionLimits) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    let fake = FakeWeChat::start(APPID, SecretString::from(SECRET))
        .await
        .unwrap();
    let platform = WeChatClient::new(
        &fake.base_url(),
        APPID,
        SecretString::from(SECRET),
        Duration::from_secs(5),
    )
    .unwrap();
    let state = AppState::new(db, Arc::new(platform), test_keyring(), test_options());
    let cert = DevCertificate::generate().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_with(
        listener,
        app(state),
        Transport::Tls(cert.server_config().unwrap()),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        base: format!("https://127.0.0.1:{port}"),
        port,
        cert: cert.cert.clone(),
        fake,
        db: store,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

fn short_idle() -> ConnectionLimits {
    ConnectionLimits {
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

/// A TCP connection from `from` (any 127.0.0.0/8 address is loopback on Linux).
async fn tcp_from(server: &TestServer, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket
        .connect(([127, 0, 0, 1], server.port).into())
        .await
        .unwrap()
}

/// A finished TLS handshake from `from`, offering these ALPN protocols; `None` when the server
/// closed the connection instead.
async fn tls_from(server: &TestServer, from: &str, alpn: &[&[u8]]) -> Option<TlsStream<TcpStream>> {
    let mut config = client_config(&server.cert, &[&rustls::version::TLS13]);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tcp_from(server, from).await;
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(
        WAIT,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .expect("the handshake ends one way or the other")
    .ok()
}

/// Reads until the server closes the connection; panics if it is still open after [`WAIT`].
async fn closed_by_server<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0_u8; 4096];
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(elapsed) => panic!("the server kept an idle connection open: {elapsed}"),
        }
    }
}

fn client_from(server: &TestServer, from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&server.cert, &[&rustls::version::TLS13]))
        .local_address(from.parse::<IpAddr>().unwrap())
        .timeout(WAIT)
        .build()
        .unwrap()
}

/// Regression (round 2, item 2): a TLS connection that sends nothing after the handshake
/// stayed open for good.
#[tokio::test]
async fn a_connection_that_sends_nothing_after_the_handshake_is_closed() {
    let server = start(short_idle()).await;
    let mut tls = tls_from(&server, "127.0.0.1", &[b"h2", b"http/1.1"])
        .await
        .expect("handshake");
    closed_by_server(&mut tls).await;
    server.stop().await;
}

/// Regression (round 2, item 2): the HTTP/2 preface and SETTINGS alone held a connection.
#[tokio::test]
async fn an_http2_connection_without_requests_is_closed_even_when_it_pings() {
    let server = start(short_idle()).await;
    let mut tls = tls_from(&server, "127.0.0.1", &[b"h2"])
        .await
        .expect("handshake");
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame.
    tls.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    // PING frames every 200 ms (bounded: at most 60) while waiting for the close.
    let ping = [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let (mut read, mut write) = tokio::io::split(tls);
    let pinger = tokio::spawn(async move {
        for _ in 0..60 {
            if write.write_all(&ping).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    closed_by_server(&mut read).await;
    pinger.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_kept_alive_http1_connection_is_closed_when_idle() {
    let server = start(short_idle()).await;
    let mut tls = tls_from(&server, "127.0.0.1", &[b"http/1.1"])
        .await
        .expect("handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0_u8; 1024];
    let n = tokio::time::timeout(WAIT, tls.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    closed_by_server(&mut tls).await;
    server.stop().await;
}

/// Regression (round 2, item 2): 236 idle connections from one attacker made every new
/// `/healthz` fail. Now one address holds at most `max_per_address`: at the cap a new connection
/// makes the address's longest-idle one close (a keep-alive pool or users behind one NAT are not
/// locked out), so holding connections open gains nothing, and another address is served.
#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share() {
    let server = start(ConnectionLimits {
        max_per_address: 4,
        ..ConnectionLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..12 {
        held.push(
            tls_from(&server, "127.0.0.1", &[b"http/1.1"])
                .await
                .expect("a new connection is taken; an idle one makes room"),
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The eight oldest were told to close, the four newest are still served.
    for tls in &mut held[..8] {
        closed_by_server(tls).await;
    }
    for tls in &mut held[8..] {
        tls.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0_u8; 64];
        let n = tokio::time::timeout(WAIT, tls.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    }
    let res = client_from(&server, "127.0.0.2")
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(held);
    server.stop().await;
}

/// A connection with a request in flight is never closed to make room: when every connection
/// of an address is busy, a new one from it is closed at once.
#[tokio::test]
async fn busy_connections_are_not_closed_to_make_room() {
    let server = start(ConnectionLimits {
        max_per_address: 2,
        ..ConnectionLimits::default()
    })
    .await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut tls = tls_from(&server, "127.0.0.1", &[b"http/1.1"])
            .await
            .expect("within the share");
        // A request whose body is still on its way: in flight until it arrives.
        tls.write_all(
            b"POST /v1/auth/wechat/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"code\":",
        )
        .await
        .unwrap();
        tls.flush().await.unwrap();
        busy.push(tls);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tls_from(&server, "127.0.0.1", &[b"http/1.1"])
            .await
            .is_none(),
        "over the cap with every connection busy, a new one is closed"
    );
    // The busy ones were left alone: each still gets its answer.
    for tls in &mut busy {
        tls.write_all(b"\"dev:x\"}                              ")
            .await
            .unwrap();
        let mut buf = [0_u8; 64];
        let n = tokio::time::timeout(WAIT, tls.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 "), "{:?}", &buf[..n]);
    }
    server.stop().await;
}

/// At the cap on all connections the server stops accepting rather than failing, and serves the
/// next client once idle connections have been closed.
#[tokio::test]
async fn a_full_table_of_idle_connections_drains_and_new_clients_are_served() {
    let server = start(ConnectionLimits {
        max_connections: 3,
        ..short_idle()
    })
    .await;
    let mut held = Vec::new();
    for from in ["127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        held.push(
            tls_from(&server, from, &[b"http/1.1"])
                .await
                .expect("under the cap"),
        );
    }
    let res = client_from(&server, "127.0.0.6")
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for mut tls in held {
        closed_by_server(&mut tls).await;
    }
    server.stop().await;
}

/// A connection with a request in flight (its body is still on its way) from `from`, or `None`
/// when the server closed it instead.
async fn busy_from(server: &TestServer, from: &str) -> Option<TlsStream<TcpStream>> {
    let mut tls = tls_from(server, from, &[b"http/1.1"]).await?;
    tls.write_all(
        b"POST /v1/auth/wechat/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"code\":",
    )
    .await
    .ok()?;
    tls.flush().await.ok()?;
    Some(tls)
}

/// Regression: behind a reverse proxy every client arrives from the proxy's address, so the
/// per-address cap was one cap for all clients: once `max_per_address` of them had requests in
/// flight, everyone else was turned away. A trusted proxy's connections are held only to the cap
/// on all connections; any other address still gets its share and no more.
#[tokio::test]
async fn a_trusted_proxy_is_not_held_to_the_per_address_cap() {
    let server = start(ConnectionLimits {
        max_per_address: 2,
        max_connections: 16,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ConnectionLimits::default()
    })
    .await;
    let mut busy = Vec::new();
    for i in 0..6 {
        let tls = busy_from(&server, "127.0.0.1").await;
        // Let the server's answer (or refusal) arrive before the next one.
        tokio::time::sleep(Duration::from_millis(50)).await;
        busy.push(tls.unwrap_or_else(|| panic!("connection {i} from the proxy was refused")));
    }
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(
            busy_from(&server, "127.0.0.2")
                .await
                .expect("within the share"),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tls_from(&server, "127.0.0.2", &[b"http/1.1"])
            .await
            .is_none(),
        "an address that is not a proxy keeps its cap"
    );
    // Every connection of the proxy is still served.
    for tls in &mut busy {
        tls.write_all(b"\"dev:x\"}                              ")
            .await
            .unwrap();
        let mut buf = [0_u8; 64];
        let n = tokio::time::timeout(WAIT, tls.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 "), "{:?}", &buf[..n]);
    }
    drop(others);
    server.stop().await;
}

/// One HTTP/2 frame: (type, flags, stream id, payload).
type Frame = (u8, u8, u32, Vec<u8>);

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads the next frame; `None` when the server closed the connection or [`WAIT`] passed.
async fn read_frame<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<Frame> {
    let mut head = [0_u8; 9];
    tokio::time::timeout(WAIT, stream.read_exact(&mut head))
        .await
        .ok()?
        .ok()?;
    let len = usize::try_from(u32::from_be_bytes([0, head[0], head[1], head[2]])).unwrap();
    assert!(len <= 1 << 16, "a frame of {len} bytes");
    let mut payload = vec![0_u8; len];
    tokio::time::timeout(WAIT, stream.read_exact(&mut payload))
        .await
        .ok()?
        .ok()?;
    let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    Some((head[3], head[4], id, payload))
}

/// A HPACK header block of literal fields (never indexed, no Huffman coding): short names and
/// values only.
fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x10);
        out.push(u8::try_from(name.len()).unwrap());
        out.extend_from_slice(name.as_bytes());
        out.push(u8::try_from(value.len()).unwrap());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;
const REFUSED_STREAM: u32 = 0x7;

/// Round 2, item 2: an HTTP/2 connection carries at most `max_streams` requests at once. A
/// client that opens more than the server's SETTINGS allow has the extra streams refused
/// (`RST_STREAM` with `REFUSED_STREAM`), and the streams within the limit go on.
#[tokio::test]
async fn http2_streams_over_the_limit_are_refused() {
    let server = start(ConnectionLimits {
        max_streams: 2,
        ..ConnectionLimits::default()
    })
    .await;
    let mut tls = tls_from(&server, "127.0.0.1", &[b"h2"])
        .await
        .expect("handshake");
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    tls.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    // The server's SETTINGS name the limit (MAX_CONCURRENT_STREAMS, 0x3); acknowledging them
    // puts it in force.
    let mut advertised = None;
    for _ in 0..16 {
        let (kind, flags, _, payload) = read_frame(&mut tls).await.expect("server SETTINGS");
        if kind == SETTINGS && flags & ACK == 0 {
            for s in payload.chunks_exact(6) {
                if s[..2] == [0, 3] {
                    advertised = Some(u32::from_be_bytes([s[2], s[3], s[4], s[5]]));
                }
            }
            break;
        }
    }
    assert_eq!(advertised, Some(2));
    tls.write_all(&frame(SETTINGS, ACK, 0, &[])).await.unwrap();
    // Four requests whose bodies never come (each stays open): streams 1, 3, 5 and 7.
    let block = header_block(&[
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/v1/auth/wechat/login"),
        (":authority", "localhost"),
        ("content-type", "application/json"),
    ]);
    for id in [1, 3, 5, 7] {
        tls.write_all(&frame(HEADERS, END_HEADERS, id, &block))
            .await
            .unwrap();
    }
    tls.flush().await.unwrap();
    let mut refused = Vec::new();
    while refused.len() < 2 {
        let Some((kind, _, id, payload)) = read_frame(&mut tls).await else {
            panic!("the connection ended before the extra streams were refused: {refused:?}");
        };
        assert_ne!(
            kind, GOAWAY,
            "the connection itself was closed: {payload:?}"
        );
        if kind == RST_STREAM {
            let code = u32::from_be_bytes(payload[..4].try_into().unwrap());
            assert_eq!(code, REFUSED_STREAM, "stream {id}");
            refused.push(id);
        }
    }
    refused.sort_unstable();
    assert_eq!(
        refused,
        [5, 7],
        "the streams over the limit, and only those"
    );
    drop(tls);
    server.stop().await;
}
