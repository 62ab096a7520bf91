//! The TLS checks against HTTPS listeners this test starts on loopback (Node's `https`, which can
//! still be told to accept TLS 1.0 and CBC suites): a certificate that ends in 5 days on a server
//! accepting TLS 1.0 (T104, T105), the same server with a certificate valid for a year (no T105),
//! a certificate for another host name and one that has expired (T102). The negative side for
//! T104 is `serve --dev` (rustls, TLS 1.2 and 1.3 only) in crates/cli/tests/probe.rs.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use miniguard_probe::{ClientOptions, ProbeConfig, Scope};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A self-signed certificate for `names`, valid from two days ago until `days` days from now
/// (negative: already expired): (cert PEM, key PEM).
fn certificate(names: &[&str], days: i64) -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(2);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

const SERVER: &str = r"
const https = require('node:https');
const fs = require('node:fs');
const [cert, key] = process.argv.slice(2);
const s = https.createServer({
  cert: fs.readFileSync(cert), key: fs.readFileSync(key),
  minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0',
}, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'strict-transport-security': 'max-age=31536000', 'x-content-type-options': 'nosniff' });
  res.end('ok');
});
s.listen(0, '127.0.0.1', () => console.log(`tls on ${s.address().port}`));
";

/// Starts the Node HTTPS server with a certificate; answers its port.
fn start(dir: &Path, cert: &str, key: &str) -> (Guard, u16) {
    let script = dir.join("tls-server.js");
    std::fs::write(&script, SERVER).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(&c)
        .arg(&k)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("tls on "))
        .expect("the TLS server prints its port");
    (guard, line["tls on ".len()..].trim().parse().unwrap())
}

fn probe(port: u16, trust: &str) -> Vec<(String, String)> {
    // 20 s: too short for the slow-request check, which the test below runs on its own.
    probe_for(port, trust, 20)
}

fn probe_for(port: u16, trust: &str, seconds: u64) -> Vec<(String, String)> {
    let scope = Scope::from_toml(
        &format!(
            "[scope]\nhosts = [\"127.0.0.1:{port}\"]\npaths = [\"/\"]\nrate_per_second = 50\nmax_requests = 40\nmax_seconds = {seconds}\n"
        ),
        "scope.toml",
    )
    .unwrap();
    let config = ProbeConfig {
        target: format!("https://127.0.0.1:{port}/").parse().unwrap(),
        scope,
        client: ClientOptions {
            extra_roots_pem: vec![trust.as_bytes().to_vec()],
        },
        openapi: None,
        identities: Vec::new(),
        path_values: Vec::new(),
        skip: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(90),
                miniguard_probe::run(config, &|_, _| {}),
            )
            .await
        })
        .expect("the probe ends within its budget")
        .unwrap();
    outcome
        .report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.message.to_string()))
        .collect()
}

fn node() -> bool {
    let ok = Command::new("node").arg("--version").output().is_ok();
    if !ok {
        eprintln!("SKIPPED: `node` is not installed");
    }
    ok
}

#[test]
fn old_versions_weak_suites_and_an_expiring_certificate_are_reported() {
    if !node() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&["localhost", "127.0.0.1"], 5);
    let (_server, port) = start(dir.path(), &cert, &key);
    let found = probe(port, &cert);
    let rules: Vec<&str> = found.iter().map(|(r, _)| r.as_str()).collect();
    assert!(rules.contains(&"T105"), "{found:#?}");
    assert!(!rules.contains(&"T102"), "{found:#?}");
    let t104: Vec<&String> = found
        .iter()
        .filter(|(r, _)| r == "T104")
        .map(|(_, m)| m)
        .collect();
    assert!(t104.iter().any(|m| m.contains("TLS 1.0")), "{found:#?}");
    assert!(t104.iter().any(|m| m.contains("CBC")), "{found:#?}");
    let t105 = &found.iter().find(|(r, _)| r == "T105").unwrap().1;
    assert!(
        t105.contains("ends in 4 days") || t105.contains("ends in 5 days"),
        "{t105}"
    );
}

#[test]
fn a_certificate_valid_for_a_year_is_not_reported_as_expiring() {
    if !node() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&["localhost", "127.0.0.1"], 365);
    let (_server, port) = start(dir.path(), &cert, &key);
    let found = probe(port, &cert);
    assert!(
        !found.iter().any(|(r, _)| r == "T105" || r == "T102"),
        "{found:#?}"
    );
}

#[test]
fn a_certificate_for_another_host_is_reported() {
    if !node() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&["other.example"], 365);
    let (_server, port) = start(dir.path(), &cert, &key);
    let found = probe(port, &cert);
    let t102 = found.iter().find(|(r, _)| r == "T102");
    assert!(t102.is_some(), "{found:#?}");
    assert!(!found.iter().any(|(r, _)| r == "T105"), "{found:#?}");
}

#[test]
fn an_expired_certificate_is_reported_as_invalid() {
    if !node() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&["localhost", "127.0.0.1"], -1);
    let (_server, port) = start(dir.path(), &cert, &key);
    let found = probe(port, &cert);
    let t102 = found.iter().find(|(r, _)| r == "T102");
    assert!(
        t102.is_some_and(|(_, m)| m.to_ascii_lowercase().contains("expired")),
        "{found:#?}"
    );
    assert!(!found.iter().any(|(r, _)| r == "T105"), "{found:#?}");
}

#[test]
fn an_https_request_held_after_the_handshake_is_reported() {
    if !node() {
        return;
    }
    // Node keeps a request whose headers never end for 60 s (its default header timeout); the
    // probe gives up after 20 s. (`serve --dev` closes it after 10 s: crates/cli/tests/probe.rs.)
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&["localhost", "127.0.0.1"], 365);
    let (_server, port) = start(dir.path(), &cert, &key);
    let found = probe_for(port, &cert, 40);
    let c105 = found.iter().find(|(r, _)| r == "C105");
    assert!(
        c105.is_some_and(|(_, m)| m.contains("after the TLS handshake")),
        "{found:#?}"
    );
}
