//! A tiny loopback HTTP/1.1 server for the probe's tests: it counts every request it receives
//! and answers through a closure. It is the "other side" the gate must or must not reach.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::fmt::Write as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn ok(body: &str) -> Answer {
        Answer {
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.to_owned(),
        }
    }
    pub fn redirect(to: &str) -> Answer {
        Answer {
            status: 302,
            headers: vec![("location".into(), to.to_owned())],
            body: String::new(),
        }
    }
}

pub struct TestServer {
    pub port: u16,
    pub hits: Arc<AtomicU64>,
}

impl TestServer {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Starts a server on 127.0.0.1 with a free port; `answer` gets the request path.
pub async fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicU64::new(0));
    let answer = Arc::new(answer);
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        counter.fetch_add(1, Ordering::SeqCst);
                        let path = head
                            .lines()
                            .next()
                            .and_then(|l| l.split(' ').nth(1))
                            .unwrap_or("/")
                            .to_owned();
                        let a = answer(&path);
                        let mut out = format!("HTTP/1.1 {} X\r\n", a.status);
                        for (k, v) in &a.headers {
                            let _ = write!(out, "{k}: {v}\r\n");
                        }
                        let _ = write!(out, "content-length: {}\r\n\r\n{}", a.body.len(), a.body);
                        if stream.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    TestServer { port, hits }
}

pub fn scope_for(
    port: u16,
    paths: &str,
    rate: u32,
    max_requests: u64,
    max_seconds: u64,
) -> miniguard_probe::Scope {
    let text = format!(
        "[scope]\nhosts = [\"127.0.0.1:{port}\"]\npaths = [{paths}]\nrate_per_second = {rate}\nmax_requests = {max_requests}\nmax_seconds = {max_seconds}\n"
    );
    miniguard_probe::Scope::from_toml(&text, "test-scope.toml").unwrap()
}
