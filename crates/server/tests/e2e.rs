//! End to end over real HTTPS on 127.0.0.1: each test starts the server on port 0 with a fresh
//! development certificate, the fake WeChat API on another loopback port, and a client that
//! trusts exactly that certificate. Nothing leaves the machine; every test stops its servers.

use std::sync::Arc;
use std::time::Duration;

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{AssociatedData, RequestParts, SigningKey};
use miniguard_server::AppOptions;
use miniguard_server::config::ServerSettings;
use miniguard_server::db::Db;
use miniguard_server::launch::start_configured;
use miniguard_server::platform::fake::{FakeWeChat, dev_openid};
use miniguard_server::ratelimit::Rate;
use miniguard_server::tls::DevCertificate;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

mod common;
use common::*;

#[tokio::test]
async fn health_over_tls13_and_tls12_carries_security_headers() {
    let server = TestServer::start().await;
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let res = server
            .client_with(versions)
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_security_headers(res.headers());
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    }
    let ready = server
        .client()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn request_ids_are_generated_or_kept_when_well_formed() {
    let server = TestServer::start().await;
    let c = server.client();
    let kept = c
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-abc_123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-abc_123");
    let replaced = c
        .get(server.url("/healthz"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "<script>");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    server.stop().await;
}

#[tokio::test]
async fn errors_are_problem_json_with_the_request_id() {
    let server = TestServer::start().await;
    let c = server.client();
    let res = c.get(server.url("/no/such/route")).send().await.unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;

    let res = c
        .get(server.url("/v1/auth/wechat/login"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("allow"));
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED).await;

    let big = serde_json::json!({ "code": "x".repeat(32 * 1024) });
    let res = c
        .post(server.url("/v1/auth/wechat/login"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;

    let res = c
        .post(server.url("/v1/auth/wechat/login"))
        .body(r#"{"code":"dev:alice"}"#)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let res = c
        .post(server.url("/v1/auth/wechat/login"))
        .json(&serde_json::json!({ "code": "dev:alice", "openid": "forged" }))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, StatusCode::BAD_REQUEST).await;
    // The parser's message (which quotes the input) stays in the log.
    assert!(!body.to_string().contains("openid"), "{body}");
    server.stop().await;
}

/// A `ClientHello` as a TLS 1.1 client sends it (no `supported_versions` extension), or the same
/// hello claiming TLS 1.2, to show that only the version makes the difference.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut body = version.to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc013, 0xc014, 0x002f, 0x0035];
    body.extend_from_slice(&(u16::try_from(suites.len() * 2).unwrap()).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut ext = Vec::new();
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]); // groups
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]); // ec point formats
    ext.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]); // signature algorithms
    ext.extend_from_slice(&[0xff, 0x01, 0x00, 0x01, 0x00]); // renegotiation_info
    body.extend_from_slice(&(u16::try_from(ext.len()).unwrap()).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    hs.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(hs.len()).unwrap().to_be_bytes());
    record.extend(hs);
    record
}

async fn first_record(port: u16, hello: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(hello).await.unwrap();
    let mut buf = vec![0; 7];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .expect("the server answers")
        .unwrap();
    buf
}

#[tokio::test]
async fn tls11_is_refused_with_a_protocol_version_alert() {
    let server = TestServer::start().await;
    let answer = first_record(server.port, &client_hello([0x03, 0x02])).await;
    // Alert record, fatal, protocol_version (70).
    assert_eq!(answer[0], 0x15, "{answer:02x?}");
    assert_eq!(answer[5], 2, "{answer:02x?}");
    assert_eq!(answer[6], 70, "{answer:02x?}");
    // The same hello offering TLS 1.2 gets a ServerHello.
    let answer = first_record(server.port, &client_hello([0x03, 0x03])).await;
    assert_eq!(answer[0], 0x16, "{answer:02x?}");
    assert_eq!(answer[5], 0x02, "{answer:02x?}");
    server.stop().await;
}

#[tokio::test]
async fn dev_login_through_the_fake_platform_finds_the_same_user_twice() {
    let server = TestServer::start().await;
    let (status, headers, body) = server.login("dev:alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_security_headers(&headers);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["new"], true);
    // Nothing about the platform session leaves the server.
    for field in ["session_key", "openid", "unionid"] {
        assert!(!body.to_string().contains(field), "{field} in {body}");
    }
    let (status, _, again) = server.login("dev:alice:2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["user"]["id"], body["user"]["id"]);
    assert_eq!(again["user"]["new"], false);
    assert_ne!(
        again["access_token"], body["access_token"],
        "a new token on every login"
    );

    let db = Db::open_read_only_at(&server.db).await.unwrap();
    assert_eq!(db.count_users().await.unwrap(), 1);
    db.close().await;
    let rows = audit(&server.db).await;
    let verified: Vec<&Value> = rows
        .iter()
        .filter(|(a, _)| a == "login.success")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(verified.len(), 2);
    assert_eq!(verified[0]["user_id"], verified[1]["user_id"]);
    assert_eq!(verified[0]["new_user"], true);
    assert_eq!(verified[1]["new_user"], false);
    assert_eq!(verified[0]["ip"], "127.0.0.1");

    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let alice = db
        .find_user("wechat", &dev_openid(APPID, "alice"))
        .await
        .unwrap()
        .expect("alice exists under the openid the fake derives from her name");
    assert_eq!(verified[0]["user_id"], alice.0);
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn bad_codes_map_to_generic_problems_and_are_audited() {
    let server = TestServer::start().await;
    let (status, _, body) = server.login("081NotARealCode").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-login-code");
    let text = body.to_string();
    for leak in ["40029", "errmsg", "rid", APPID, SECRET] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }

    let (status, _, _) = server.login("dev:bob").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = server.login("dev:bob").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once");
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-login-code");

    server.fake.inject_error(45011);
    let (status, headers, body) = server.login("dev:carol").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    assert!(!body.to_string().contains("45011"));

    server.fake.inject_error(-1);
    let (status, _, _) = server.login("dev:carol").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let (status, _, body) = server.login("not a code\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "about:blank");

    let reasons: Vec<String> = audit(&server.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "login.failure")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        [
            "invalid_code",
            "code_used",
            "rate_limited",
            "platform_busy",
            "malformed_code"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_audit_chain_verifies_and_a_tampered_row_is_detected() {
    let server = TestServer::start().await;
    for code in ["dev:dan", "bad-code", "dev:erin", "dev:dan:2"] {
        server.login(code).await;
    }
    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let report = db.verify_audit().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.rows, 4);
    db.close().await;

    // Someone with the database file removes the guard and rewrites a failure as a success.
    let mut conn = Raw::connect(&server.db).await;
    let blocked = conn
        .execute(
            "UPDATE audit_log SET action = 'login.success' WHERE id = 2",
            &[],
        )
        .await;
    assert!(blocked.is_err(), "the table is append-only");
    conn.script(if conn.is_postgres() {
        "DROP TRIGGER audit_log_no_update ON audit_log;
         DROP TRIGGER audit_log_no_delete ON audit_log;
         UPDATE audit_log SET action = 'login.success' WHERE id = 2;"
    } else {
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         UPDATE audit_log SET action = 'login.success' WHERE id = 2;"
    })
    .await
    .unwrap();
    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let report = db.verify_audit().await.unwrap();
    assert!(!report.is_intact());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].to_string().contains("row 2"));

    // Put it back: intact again. Then delete a row instead.
    conn.execute(
        "UPDATE audit_log SET action = 'login.failure' WHERE id = 2",
        &[],
    )
    .await
    .unwrap();
    assert!(db.verify_audit().await.unwrap().is_intact());
    conn.execute("DELETE FROM audit_log WHERE id = 3", &[])
        .await
        .unwrap();
    let report = db.verify_audit().await.unwrap();
    assert!(!report.is_intact());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.to_string().contains("missing"))
    );
    db.close().await;
    conn.close().await;
    server.stop().await;
}

#[tokio::test]
async fn behind_a_proxy_forwarded_for_is_believed_only_from_the_proxy() {
    // We (127.0.0.1) are the configured proxy: the address we forward is the client's.
    let server = TestServer::start_with(false, vec!["127.0.0.1".parse().unwrap()]).await;
    server
        .login_via_proxy("dev:frank", "6.6.6.6, 198.51.100.7")
        .await;
    let rows = audit(&server.db).await;
    assert_eq!(rows[0].1["ip"], "198.51.100.7");
    server.stop().await;

    // Another address is the proxy: what we send in X-Forwarded-For is ignored.
    let server = TestServer::start_with(false, vec!["10.9.9.9".parse().unwrap()]).await;
    server.login_via_proxy("dev:frank", "198.51.100.7").await;
    let rows = audit(&server.db).await;
    assert_eq!(rows[0].1["ip"], "127.0.0.1");
    server.stop().await;
}

#[tokio::test]
async fn a_request_whose_body_never_comes_times_out_with_a_problem() {
    let server = TestServer::start_with_timeout(Duration::from_millis(500)).await;
    let config = client_config(&server.cert, rustls::DEFAULT_VERSIONS);
    let tcp = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    // Announce a body, send none of it.
    tls.write_all(
        b"POST /v1/auth/wechat/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/json\r\nContent-Length: 20\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&answer).contains("request_id") {
        let n = tokio::time::timeout_at(deadline, tls.read(&mut buf))
            .await
            .expect("the server answers before the deadline")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    drop(tls);
    server.stop().await;
}

#[tokio::test]
async fn a_configured_server_serves_tls_from_files_and_reads_the_secret_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = DevCertificate::generate().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &cert.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pem()).unwrap();
    std::fs::write(dir.path().join("wechat-secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(dir.path().join("data-keys"), format!("{TEST_KEYS}\n")).unwrap();
    std::fs::write(
        dir.path().join("audit-key"),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
    )
    .unwrap();
    let fake = FakeWeChat::start(APPID, SecretString::from(SECRET))
        .await
        .unwrap();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
database = "data/miniguard.db"
data_keys_file = "data-keys"
audit_key_file = "audit-key"
[server.tls]
cert = "cert.pem"
key = "key.pem"
[server.wechat]
appid = "{APPID}"
base_url = "{}"
secret_file = "wechat-secret"
"#,
        fake.base_url()
    );
    let path = dir.path().join("miniguard.toml");
    std::fs::write(&path, toml).unwrap();
    let settings = ServerSettings::from_file(&path).unwrap();
    let running = start_configured(&settings).await.unwrap();
    assert!(running.url.starts_with("https://127.0.0.1:"));
    assert_eq!(
        running.cert_fingerprint.as_deref(),
        Some(cert.fingerprint().as_str())
    );
    let url = running.url.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(running.run_until(async {
        let _ = stopped.await;
    }));

    let config = client_config(&cert.cert, rustls::DEFAULT_VERSIONS);
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    let res = client
        .post(format!("{url}/v1/auth/wechat/login"))
        .json(&serde_json::json!({ "code": "dev:gina" }))
        .send()
        .await
        .unwrap();
    // The secret and the keys from the files work: the platform accepted us, tokens were issued.
    assert_eq!(res.status(), StatusCode::OK);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    assert!(dir.path().join("data/miniguard.db").exists());
    fake.stop().await;
}

#[tokio::test]
async fn logins_over_the_rate_get_429_without_touching_the_platform_or_the_audit_log() {
    let server = TestServer::start_full(
        true,
        AppOptions {
            auth_rate: Rate::new(1, 3),
            ..test_options()
        },
    )
    .await;
    for i in 0..3 {
        let (status, _, _) = server.login(&format!("bad-code-{i}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, headers, body) = server.login("dev:henry").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["type"], "urn:miniguard:problem:rate-limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Other routes still answer.
    let res = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Three failures audited, nothing for the refused request.
    assert_eq!(audit(&server.db).await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn the_session_key_is_stored_encrypted_and_bound_to_its_user() {
    let server = TestServer::start().await;
    let (status, _, body) = server.login("dev:ivy").await;
    assert_eq!(status, StatusCode::OK);
    let user = body["user"]["id"].as_i64().unwrap();
    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let user_id = miniguard_server::db::UserId(user);
    let envelope = db.session_key_envelope(user_id).await.unwrap().unwrap();
    db.close().await;
    let keyring = test_keyring();
    let aad = AssociatedData::field("platform_session_keys", "envelope", &user.to_string());
    let key = keyring.decrypt(&envelope, &aad).unwrap();
    // WeChat session keys are base64 of 16 bytes.
    assert_eq!(key.len(), 24);
    // Moved to another user's row, the envelope does not open.
    let other = AssociatedData::field("platform_session_keys", "envelope", "999");
    assert!(keyring.decrypt(&envelope, &other).is_err());
    server.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_login() {
    let server = TestServer::start().await;
    let (_, _, login) = server.login("dev:jack").await;
    assert_eq!(me(&server, &login).await, StatusCode::OK);

    let (status, first) = post_json(
        &server,
        "/v1/auth/refresh",
        &serde_json::json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_ne!(first["refresh_token"], login["refresh_token"]);
    assert!(
        first["refresh_expires_in"].as_u64().unwrap()
            <= login["refresh_expires_in"].as_u64().unwrap()
    );
    assert_eq!(me(&server, &first).await, StatusCode::OK);

    // The spent refresh token comes back (a copy in an attacker's hands): the whole login dies.
    let (status, body) = post_json(
        &server,
        "/v1/auth/refresh",
        &serde_json::json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(me(&server, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &login).await, StatusCode::UNAUTHORIZED);
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &serde_json::json!({ "refresh_token": first["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let actions: Vec<String> = audit(&server.db)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        actions,
        ["login.success", "session.refresh", "session.refresh_reuse"]
    );
    server.stop().await;
}

#[tokio::test]
async fn logout_ends_one_login_and_logout_all_ends_every_one() {
    let server = TestServer::start().await;
    let (_, _, a) = server.login("dev:kim").await;
    let (_, _, b) = server.login("dev:kim:2").await;
    let (_, _, c) = server.login("dev:kim:3").await;
    assert_eq!(
        signed(&server, "POST", "/v1/auth/logout", &a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(me(&server, &a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &b).await, StatusCode::OK);
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &serde_json::json!({ "refresh_token": a["refresh_token"] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a logged-out refresh token is dead too"
    );

    assert_eq!(
        signed(&server, "POST", "/v1/auth/logout-all", &b).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(me(&server, &b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &c).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn protected_routes_demand_a_bearer_token() {
    let server = TestServer::start().await;
    let c = server.client();
    let res = c.get(server.url("/v1/me")).send().await.unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"miniguard\""
    );
    let body = assert_problem(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "urn:miniguard:problem:unauthorized");
    for bad in [
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        &format!("Bearer {}", "A".repeat(43)),
    ] {
        let res = c
            .get(server.url("/v1/me"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn requests_must_be_signed_fresh_and_used_once() {
    let server = TestServer::start().await;
    let (_, _, session) = server.login("dev:lee").await;
    assert_eq!(session["signing_key"].as_str().unwrap().len(), 43);
    let now = unix_now();

    // A valid token alone is not enough.
    let res = server
        .client()
        .get(server.url("/v1/me"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Signed, it works once (the query is signed in canonical order); the same nonce again is a
    // replay.
    let nonce = generate_nonce().unwrap();
    let ok = signed_at(&server, "GET", "/v1/me?b=2&a=1", b"", &session, now, &nonce).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let replay = signed_at(&server, "GET", "/v1/me?b=2&a=1", b"", &session, now, &nonce).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);

    // Outside the 300 s window, even with a fresh nonce.
    let stale_nonce = generate_nonce().unwrap();
    let stale = signed_at(
        &server,
        "GET",
        "/v1/me",
        b"",
        &session,
        now - 301,
        &stale_nonce,
    )
    .await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);

    // Another session's key does not sign for this token.
    let (_, _, other) = server.login("dev:mia").await;
    let mut forged = session.clone();
    forged["signing_key"] = other["signing_key"].clone();
    assert_eq!(me(&server, &forged).await, StatusCode::UNAUTHORIZED);

    // The signature covers the body: sign one body, send another.
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let nonce = generate_nonce().unwrap();
    let parts = RequestParts {
        method: "POST",
        path: "/v1/auth/logout",
        query: "",
        timestamp: now,
        nonce: &nonce,
        body: b"{}",
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    let tampered = server
        .client()
        .post(server.url("/v1/auth/logout"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", now.to_string())
        .header("x-mg-nonce", &nonce)
        .header("x-mg-signature", signature)
        .body(r#"{"all":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&server, &session).await,
        StatusCode::OK,
        "still logged in"
    );

    let rejected: Vec<String> = audit(&server.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "auth.signature_rejected")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rejected, ["replay", "bad_signature", "bad_signature"]);
    server.stop().await;
}

#[tokio::test]
async fn a_login_left_idle_ends() {
    let mut options = test_options();
    options.sessions.idle_ttl = Duration::from_millis(300);
    let server = TestServer::start_full(true, options).await;
    let (_, _, login) = server.login("dev:nora").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &serde_json::json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The idle login is revoked as a whole.
    assert_eq!(me(&server, &login).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn each_user_has_one_storage_key_kept_encrypted() {
    let server = TestServer::start().await;
    let (_, _, kim) = server.login("dev:kim").await;
    let (_, _, lee) = server.login("dev:lee").await;
    let get_key = |session: Value| {
        let server = &server;
        async move {
            let nonce = generate_nonce().unwrap();
            let res = signed_at(
                server,
                "GET",
                "/v1/me/storage-key",
                b"",
                &session,
                unix_now(),
                &nonce,
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let first = get_key(kim.clone()).await;
    let key = first["key"].as_str().unwrap();
    assert_eq!(first["key_id"], 1);
    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, key).unwrap();
    assert_eq!(raw.len(), 32);
    // The same key after a new login; another user's differs.
    let (_, _, kim_again) = server.login("dev:kim:2").await;
    assert_eq!(get_key(kim_again).await, first);
    assert_ne!(get_key(lee).await["key"], first["key"]);
    // At rest it is an envelope bound to Kim's row, not the key.
    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let user = miniguard_server::db::UserId(kim["user"]["id"].as_i64().unwrap());
    let (_, envelope) = db.storage_key(user).await.unwrap().unwrap();
    db.close().await;
    assert!(!envelope.windows(key.len()).any(|w| w == key.as_bytes()));
    let aad = AssociatedData::field("storage_keys", "envelope", &user.0.to_string());
    assert_eq!(
        &*test_keyring().decrypt(&envelope, &aad).unwrap(),
        key.as_bytes()
    );
    // Without a session there is no key.
    let res = server
        .client()
        .get(server.url("/v1/me/storage-key"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_security() {
    let server = TestServer::start().await;
    let res = server
        .client()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method, protected) in [
        ("/healthz", "get", false),
        ("/v1/auth/{platform}/login", "post", false),
        ("/v1/auth/wechat/phone", "post", true),
        ("/v1/auth/refresh", "post", false),
        ("/v1/auth/logout", "post", true),
        ("/v1/me", "get", true),
        ("/v1/me/storage-key", "get", true),
        ("/v1/mfa/totp/enroll", "post", true),
        ("/v1/mfa/totp/confirm", "post", true),
        ("/v1/mfa/totp/verify", "post", true),
        ("/v1/mfa/totp/disable", "post", true),
        ("/v1/mfa/recovery", "post", true),
        ("/v1/mfa/recovery/regenerate", "post", true),
        ("/v1/mfa/sms/send", "post", true),
        ("/v1/mfa/sms/verify", "post", true),
        ("/v1/mfa/soter/challenge", "post", true),
        ("/v1/mfa/soter/verify", "post", true),
        ("/v1/admin/login", "post", false),
        ("/v1/admin/me", "get", true),
        ("/v1/admin/password", "post", true),
        ("/v1/collections/{name}/records", "get", true),
        ("/v1/collections/{name}/records", "post", true),
        ("/v1/collections/{name}/records/{id}", "get", true),
        ("/v1/collections/{name}/records/{id}", "patch", true),
        ("/v1/collections/{name}/records/{id}", "delete", true),
        (
            "/v1/collections/{name}/records/{id}/files/{field}",
            "get",
            true,
        ),
        (
            "/v1/collections/{name}/records/{id}/files/{field}",
            "post",
            true,
        ),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} missing");
        let security = op["security"].as_array().map_or(0, Vec::len);
        assert_eq!(security > 0, protected, "{method} {path}: {op}");
        if protected {
            assert!(op["responses"]["401"].is_object(), "{path}");
        }
        assert!(op["responses"]["429"].is_object(), "{path}");
    }
    // The data API's operations name their tag and path parameters.
    for (path, method) in [
        ("/v1/collections/{name}/records", "get"),
        ("/v1/collections/{name}/records/{id}", "patch"),
        ("/v1/collections/{name}/records/{id}/files/{field}", "post"),
    ] {
        let op = &paths[path][method];
        assert_eq!(op["tags"][0], "data", "{method} {path}");
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = ["name", "id", "field"]
            .into_iter()
            .filter(|n| path.contains(&format!("{{{n}}}")))
            .collect();
        assert_eq!(names, expected, "{method} {path}");
    }
    let list = &paths["/v1/collections/{name}/records"]["get"];
    let query: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, ["filter", "sort", "page", "per_page"]);
    let invalid =
        &list["responses"]["400"]["content"]["application/problem+json"]["schema"]["$ref"];
    let invalid = invalid.as_str().unwrap().rsplit('/').next().unwrap();
    assert!(
        doc["components"]["schemas"][invalid]["properties"]["errors"].is_object(),
        "{invalid}"
    );
    assert!(paths["/v1/collections/{name}/records/{id}"]["delete"]["responses"]["204"].is_object());
    // Each documented operation exists: none answers 404 or 405. Unsigned, the data routes
    // answer 401 from the session layer, which runs only on a matched route and method.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = path
                .replace("{platform}", "wechat")
                .replace("{name}", "notes")
                .replace("{id}", "0123456789abcdef")
                .replace("{field}", "attachment");
            let res = server
                .client()
                .request(method.to_uppercase().parse().unwrap(), server.url(&url))
                .send()
                .await
                .unwrap();
            assert!(
                ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&res.status()),
                "{method} {path}: {}",
                res.status()
            );
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["scheme"], "bearer");
    assert_eq!(schemes["signature"]["name"], "X-MG-Signature");
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_only_loopback_reads_them() {
    let server = TestServer::start().await;
    for _ in 0..3 {
        server
            .client()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
    }
    server
        .client()
        .get(server.url("/no/such/path/42"))
        .send()
        .await
        .unwrap();
    let res = server
        .client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"miniguard_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        !text.contains("/no/such/path"),
        "raw paths never become labels"
    );
    assert!(
        text.contains("miniguard_http_request_duration_seconds_bucket"),
        "{text}"
    );
    server.stop().await;

    // Behind a proxy, a client elsewhere does not see the endpoint at all.
    let proxied = TestServer::start_with(false, vec!["127.0.0.1".parse().unwrap()]).await;
    let res = reqwest::Client::new()
        .get(proxied.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;
    proxied.stop().await;
}
