//! Issue 15, done-when: `miniguard probe` finds every planted flaw of
//! `examples/vulnerable-backend` (exactly the rows of its EXPECTED.md) and nothing in
//! `miniguard serve --dev` with the example collections, probed authenticated through the signed
//! protocol. It refuses to start without a scope. Loopback only, bounded by each scope's budgets.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn probe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .arg("probe")
        .args(args)
        .args(["--no-progress", "--color", "never"])
        .output()
        .expect("run miniguard probe")
}

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd`, waits for a stdout line containing `marker`, returns the line.
fn start(mut cmd: Command, marker: &str) -> (Guard, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = loop {
        let line = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("the server prints its address");
        if line.contains(marker) {
            break line;
        }
    };
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (guard, line)
}

fn write_scope(dir: &Path, hostport: &str, rate: u32) -> PathBuf {
    let path = dir.join("scope.toml");
    std::fs::write(
        &path,
        format!(
            "[scope]\nhosts = [\"{hostport}\"]\npaths = [\"/\"]\nrate_per_second = {rate}\nmax_requests = 2000\nmax_seconds = 240\n"
        ),
    )
    .unwrap();
    path
}

fn findings(output: &Path) -> Vec<(String, String, String)> {
    let report: Value = serde_json::from_slice(&std::fs::read(output).unwrap()).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["snippet"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn probe_refuses_to_start_without_a_scope() {
    let out = probe(&["http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--scope FILE is required"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path().join("scope.toml");
    std::fs::write(
        &scope,
        "[scope]\nhosts = [\"127.0.0.1:9\"]\npaths = [\"/\"]\n",
    )
    .unwrap();
    let out = probe(&["http://127.0.0.1:9/", "--scope", scope.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing") && err.contains("max_requests") && err.contains("max_seconds"),
        "{err}"
    );

    // A target outside its own scope is refused before anything is sent.
    std::fs::write(
        &scope,
        "[scope]\nhosts = [\"127.0.0.1:9\"]\npaths = [\"/api/\"]\nrate_per_second = 1\nmax_requests = 1\nmax_seconds = 1\n",
    )
    .unwrap();
    let out = probe(&[
        "http://127.0.0.1:10/api/",
        "--scope",
        scope.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the scope"));

    // An unknown check to skip is an error before anything is sent.
    let out = probe(&[
        "http://127.0.0.1:9/api/",
        "--scope",
        scope.to_str().unwrap(),
        "--skip",
        "A105,Z999",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--skip Z999: no such check"), "{err}");
}

#[test]
fn probe_skips_the_checks_it_is_told_to_skip() {
    let (port, hits) = counting_server();
    let dir = tempfile::tempdir().unwrap();
    let scope = counting_scope(dir.path(), port, 20);
    let output = dir.path().join("report.json");
    let out = probe(&[
        &format!("http://127.0.0.1:{port}/"),
        "--scope",
        scope.to_str().unwrap(),
        "--skip",
        "T101,c101",
        "--skip",
        "C105",
        "--fail-on",
        "info",
        "--format",
        "json",
        "--output",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Plain HTTP without nosniff, but both checks are skipped (and the slow request with them).
    assert!(findings(&output).is_empty(), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

/// The rows of EXPECTED.md's table: (rule, route).
fn expected() -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("examples/vulnerable-backend/EXPECTED.md")).unwrap();
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 3 && cells[1].len() == 4 && cells[1] != "rule")
                .then(|| (cells[1].to_owned(), cells[2].to_owned()))
        })
        .collect()
}

#[test]
fn probe_finds_every_planted_flaw_of_the_vulnerable_backend() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `node` is not installed, so examples/vulnerable-backend cannot run");
        return;
    }
    let backend = root().join("examples/vulnerable-backend");
    let setup = Command::new(backend.join("setup.sh")).status().unwrap();
    assert!(
        setup.success(),
        "examples/vulnerable-backend/setup.sh failed"
    );
    let mut cmd = Command::new("node");
    cmd.arg(backend.join("server.js")).args(["--port", "0"]);
    let (_server, line) = start(cmd, "vulnerable backend on");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let hostport = url.trim_start_matches("http://").to_owned();

    let dir = tempfile::tempdir().unwrap();
    let scope = write_scope(dir.path(), &hostport, 100);
    let output = dir.path().join("report.json");
    let out = probe(&[
        &url,
        "--scope",
        scope.to_str().unwrap(),
        "--as",
        &format!("alice=@{}", backend.join("probe/alice.toml").display()),
        "--as",
        &format!("bob=@{}", backend.join("probe/bob.toml").display()),
        "--format",
        "json",
        "--output",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let found = findings(&output);
    let got: BTreeSet<(String, String)> = found
        .iter()
        .map(|(r, p, _)| (r.clone(), p.clone()))
        .collect();
    let want = expected();
    assert_eq!(want.len(), 29, "EXPECTED.md rows");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(found.len(), want.len(), "one finding per flaw");
    // Evidence never carries the sessions' tokens.
    let report = std::fs::read_to_string(&output).unwrap();
    let a106 = found.iter().find(|(r, _, _)| r == "A106").unwrap();
    assert!(a106.2.contains("token=****"), "{}", a106.2);
    assert!(
        !regex_like_token(&report),
        "a 48-hex-digit session token leaked into the report"
    );
    assert!(stderr.contains("requests sent"), "{stderr}");
}

/// The backend's tokens are 48 lower-case hex digits.
fn regex_like_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut run = 0;
    for b in bytes {
        if b.is_ascii_hexdigit() && !b.is_ascii_uppercase() {
            run += 1;
            if run >= 48 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[test]
fn probe_finds_nothing_in_serve_dev_with_the_example_collections() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    cmd.env("LC_ALL", "C");
    cmd.args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--config")
        .arg(root().join("examples/secure-app/miniguard.toml"))
        .env("RUST_LOG", "warn");
    let (_server, line) = start(cmd, "listening");
    let url = line
        .trim()
        .trim_start_matches("listening")
        .trim()
        .to_owned();
    let hostport = url.trim_start_matches("https://").to_owned();
    let cert = data.join("dev-cert.pem");

    // The server's per-client limit is 600 requests a minute: stay under it.
    let scope = write_scope(dir.path(), &hostport, 8);
    for name in ["alice", "bob"] {
        std::fs::write(
            dir.path().join(format!("{name}.toml")),
            format!("[login]\nkind = \"miniguard\"\ncode = \"dev:{name}\"\n"),
        )
        .unwrap();
    }
    // Alice owns an address, so that bob's attempt to read it (BOLA) is really made.
    let address = create_address(&url, &cert);
    let output = dir.path().join("report.json");
    let out = probe(&[
        &url,
        "--scope",
        scope.to_str().unwrap(),
        "--path-param",
        "name=addresses",
        "--ca-cert",
        cert.to_str().unwrap(),
        "--as",
        &format!("alice=@{}", dir.path().join("alice.toml").display()),
        "--as",
        &format!("bob=@{}", dir.path().join("bob.toml").display()),
        "--fail-on",
        "info",
        "--format",
        "json",
        "--output",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = findings(&output);
    assert!(found.is_empty(), "{found:#?}\n{stderr}");
    assert!(!address.is_empty());
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    // Without trusting its certificate, the same server is a TLS finding (T102).
    let out = probe(&[
        &url,
        "--scope",
        scope.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let found = findings(&output);
    assert!(found.iter().any(|(r, _, _)| r == "T102"), "{found:?}");
}

/// Logs alice in to `serve --dev` and stores an address of hers (signed per docs/protocol.md);
/// answers its id.
fn create_address(url: &str, cert: &Path) -> String {
    use miniguard_crypto::signing::{RequestParts, SigningKey, generate_nonce, sign};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pem = std::fs::read(cert).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let login: Value = client
            .post(format!("{url}/v1/auth/wechat/login"))
            .json(&serde_json::json!({"code": "dev:alice:1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body = serde_json::json!({"label": "home", "recipient": "Alice", "phone": "+86 13800000000", "address": "1 Long Street"})
            .to_string();
        let path = "/v1/collections/addresses/records";
        let key = SigningKey::from_base64url(login["signing_key"].as_str().unwrap()).unwrap();
        let nonce = generate_nonce().unwrap();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let parts = RequestParts {
            method: "POST",
            path,
            query: "",
            timestamp,
            nonce: &nonce,
            body: body.as_bytes(),
        };
        let res = client
            .post(format!("{url}{path}"))
            .bearer_auth(login["access_token"].as_str().unwrap())
            .header("x-mg-timestamp", timestamp.to_string())
            .header("x-mg-nonce", &nonce)
            .header("x-mg-signature", sign(&key, &parts).unwrap())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let created: Value = res.json().await.unwrap();
        created["id"].as_str().map_or_else(|| created["id"].to_string(), str::to_owned)
    })
}

/// A loopback HTTP server answering every request with a page of links; counts requests.
fn counting_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 8192];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if head.is_empty() {
                continue;
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = format!("<a href=\"/p{n}a\">a</a> <a href=\"/p{n}b\">b</a>");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, hits)
}

/// A scope file for the counting server: its address only, at most `max_requests` requests.
fn counting_scope(dir: &std::path::Path, port: u16, max_requests: u32) -> std::path::PathBuf {
    let scope = dir.join("scope.toml");
    std::fs::write(
        &scope,
        format!(
            "[scope]\nhosts = [\"127.0.0.1:{port}\"]\npaths = [\"/\"]\nrate_per_second = 100\nmax_requests = {max_requests}\nmax_seconds = 60\n"
        ),
    )
    .unwrap();
    scope
}

#[test]
fn probe_stops_at_its_request_budget_and_says_so() {
    let (port, hits) = counting_server();
    let dir = tempfile::tempdir().unwrap();
    let scope = counting_scope(dir.path(), port, 5);
    let output = dir.path().join("report.json");
    let out = probe(&[
        &format!("http://127.0.0.1:{port}/"),
        "--scope",
        scope.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("probe: 5 requests sent"), "{stderr}");
    assert!(stderr.contains("stopped early"), "{stderr}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 5);
    let report: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("request budget")),
        "{report}"
    );
    // What was seen before the stop is still reported (plain HTTP, no nosniff).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
