//! Verified tokens and nonces are kept in memory (`session_cache.rs`, `replay.rs`):
//! over real HTTPS on 127.0.0.1, every way a token ends is honoured by the very next request,
//! with the token verified (and cached) just before, and replays are refused across a restart.
//! The factor-change paths (TOTP enrolment and removal, phone binding, password change, role
//! removal) are in `e2e_mfa.rs`.

mod common;

use std::time::Duration;

use common::*;
use miniguard_crypto::signing::generate_nonce;
use reqwest::StatusCode;
use serde_json::json;

/// Signs in and makes sure the token is verified and cached.
async fn warm_login(server: &TestServer, code: &str) -> serde_json::Value {
    let (status, _, session) = server.login(code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(me(server, &session).await, StatusCode::OK);
    assert_eq!(me(server, &session).await, StatusCode::OK);
    session
}

#[tokio::test]
async fn logout_is_honoured_at_once() {
    let server = TestServer::start().await;
    let a = warm_login(&server, "dev:rev-a").await;
    let b = warm_login(&server, "dev:rev-a:2").await;
    assert_eq!(
        signed(&server, "POST", "/v1/auth/logout", &a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(me(&server, &a).await, StatusCode::UNAUTHORIZED);
    // Only that login.
    assert_eq!(me(&server, &b).await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn logout_everywhere_is_honoured_at_once_by_every_login() {
    let server = TestServer::start().await;
    let a = warm_login(&server, "dev:rev-b").await;
    let b = warm_login(&server, "dev:rev-b:2").await;
    let other_user = warm_login(&server, "dev:rev-b-other").await;
    assert_eq!(
        signed(&server, "POST", "/v1/auth/logout-all", &a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(me(&server, &a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &other_user).await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_cached_tokens_of_its_login() {
    let server = TestServer::start().await;
    let login = warm_login(&server, "dev:rev-c").await;
    let (status, rotated) = post_json(
        &server,
        "/v1/auth/refresh",
        &json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(me(&server, &rotated).await, StatusCode::OK);
    // Rotation alone leaves the old access token to its short life.
    assert_eq!(me(&server, &login).await, StatusCode::OK);
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &rotated).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &login).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_login_ends_with_its_cached_tokens() {
    let mut options = test_options();
    options.sessions.idle_ttl = Duration::from_millis(300);
    let server = TestServer::start_full(true, options).await;
    let login = warm_login(&server, "dev:rev-d").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = post_json(
        &server,
        "/v1/auth/refresh",
        &json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &login).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn replays_are_refused_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Held across restarts: the same database each time.
    let db = TestDb::new(dir.path()).await;
    let server = TestServer::start_in(dir.path(), test_options()).await;
    let (status, _, session) = server.login("dev:rev-e").await;
    assert_eq!(status, StatusCode::OK);
    // One request signed now, one signed 100 s ahead of the server's clock (a client clock
    // running fast); both accepted once.
    let now = unix_now();
    let (n_now, n_ahead) = (generate_nonce().unwrap(), generate_nonce().unwrap());
    for (t, n) in [(now, &n_now), (now + 100, &n_ahead)] {
        let ok = signed_at(&server, "GET", "/v1/me", b"", &session, t, n).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let again = signed_at(&server, "GET", "/v1/me", b"", &session, t, n).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    }
    server.stop().await;

    // The next process on the same database: neither comes through again, while the same login
    // signing afresh goes on at once.
    let server = TestServer::start_in(dir.path(), test_options()).await;
    for (t, n) in [(now, &n_now), (now + 100, &n_ahead)] {
        let replay = signed_at(&server, "GET", "/v1/me", b"", &session, t, n).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "{t}");
    }
    assert_eq!(me(&server, &session).await, StatusCode::OK);
    let ahead = generate_nonce().unwrap();
    let ok = signed_at(
        &server,
        "GET",
        "/v1/me",
        b"",
        &session,
        unix_now() + 100,
        &ahead,
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    server.stop().await;

    let actions: Vec<String> = audit(&db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "auth.signature_rejected")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["replay"; 4]);
}

#[tokio::test]
async fn a_full_nonce_memory_refuses_with_503_rather_than_forget() {
    if std::env::var_os("MINIGUARD_TEST_SHARED_REDIS_URL").is_some() {
        eprintln!("nonces are kept in Redis in this run, not in the process's memory: skipped");
        return;
    }
    // One live nonce per shard: 64 in all.
    let server = TestServer::start_with_nonce_capacity(64).await;
    let (status, _, session) = server.login("dev:rev-f").await;
    assert_eq!(status, StatusCode::OK);
    let mut accepted = Vec::new();
    let mut full = None;
    for _ in 0..400 {
        let nonce = generate_nonce().unwrap();
        let res = signed_at(&server, "GET", "/v1/me", b"", &session, unix_now(), &nonce).await;
        match res.status() {
            StatusCode::OK => accepted.push(nonce),
            StatusCode::SERVICE_UNAVAILABLE => {
                full = Some(res);
                break;
            }
            other => panic!("{other}"),
        }
    }
    let res = full.expect("the nonce memory fills up");
    assert!(accepted.len() <= 64, "{}", accepted.len());
    assert_eq!(res.headers()["retry-after"], "2");
    let body = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["type"], "urn:miniguard:problem:overloaded");
    // What it holds is still refused as a replay: nothing was forgotten to make room.
    let first = &accepted[0];
    let again = signed_at(&server, "GET", "/v1/me", b"", &session, unix_now(), first).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}
