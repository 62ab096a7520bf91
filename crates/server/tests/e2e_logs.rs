//! What the server writes to its log, read back through the same `tracing-subscriber` formatter
//! the binary installs: no token, key or secret ever appears, and text a client controls cannot
//! start a line of its own (no forged log entries).

use std::io::Write;
use std::sync::{Arc, Mutex};

use miniguard_crypto::AssociatedData;
use miniguard_server::db::{Db, UserId};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;
use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const FORGED: &str = "2026-01-01T00:00:00.000000Z  INFO forged: admin login ok";

#[tokio::test]
async fn logs_hold_no_secrets_and_no_forged_lines() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,miniguard_server=trace",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let server = TestServer::start().await;
    let (status, _, login) = server.login("dev:mallory").await;
    assert_eq!(status, StatusCode::OK);
    let (status, refreshed) = post_json(
        &server,
        "/v1/auth/refresh",
        &json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&server, &refreshed).await, StatusCode::OK);
    // The spent refresh token again: reuse, logged as a warning.
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, _, session) = server.login("dev:mallory:2").await;
    let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
    let res = signed_at(
        &server,
        "GET",
        "/v1/me/storage-key",
        b"",
        &session,
        unix_now(),
        &nonce,
    )
    .await;
    let storage_key = res.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Client-controlled text carrying line breaks, in every place a request can carry it.
    let forged_code = format!("x\n{FORGED}");
    let (status, _) = post_json(
        &server,
        "/v1/auth/wechat/login",
        &json!({ "code": forged_code }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post_json(
        &server,
        "/v1/auth/wechat/login",
        &json!({ "code": "dev:x", format!("\n{FORGED}"): 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let res = server
        .client()
        .get(server.url("/nowhere%0A2026-01-01T00:00:00Z%20INFO%20forged"))
        .header("x-request-id", "abc\tINFO forged")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = server
        .client()
        .get(server.url("/v1/me"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", "1")
        .header("x-mg-nonce", "n\tINFO forged")
        .header("x-mg-signature", "sig")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The platform session key the server holds for this user.
    let db = Db::open_read_only_at(&server.db).await.unwrap();
    let user = UserId(login["user"]["id"].as_i64().unwrap());
    let envelope = db.session_key_envelope(user).await.unwrap().unwrap();
    db.close().await;
    let aad = AssociatedData::field("platform_session_keys", "envelope", &user.0.to_string());
    let session_key =
        String::from_utf8(test_keyring().decrypt(&envelope, &aad).unwrap().to_vec()).unwrap();
    server.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("response"), "the log was captured: {log}");
    assert!(log.contains("refresh token reused"), "{log}");
    assert!(
        log.contains("\\n2026-01-01"),
        "the unknown-field name with its line break reached the log, escaped: {log}"
    );
    let mut secrets = vec![SECRET.to_owned(), session_key, storage_key];
    for s in [&login, &refreshed, &session] {
        for field in ["access_token", "refresh_token", "signing_key"] {
            secrets.push(s[field].as_str().unwrap().to_owned());
        }
    }
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log:\n{log}"
        );
    }
    // Every line is one the formatter started: a timestamp and a level, never client text.
    for line in log.lines() {
        let level = line.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            line.starts_with("20") && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
            "a line the formatter did not start: {line:?}"
        );
        assert!(!line.starts_with("2026-01-01"), "forged line: {line}");
    }
}
