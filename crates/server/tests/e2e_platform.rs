//! End to end over real HTTPS on 127.0.0.1 for issue 5, item 3: phone binding (WeChat's code
//! flow with the cached access token, and the old encryptedData flow), the rawData check, and
//! Douyin and Alipay logins, each against its faithful fake on another loopback port.
//!
//! The Alipay fake and client use the committed test-only key pairs in `tests/keys/` (RSA-2048
//! key generation takes seconds in an unoptimized build; these keys protect nothing).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{AssociatedData, RequestParts, SigningKey};
use miniguard_server::db::{Db, UserId};
use miniguard_server::platform::Platforms;
use miniguard_server::platform::alipay::AlipayClient;
use miniguard_server::platform::douyin::DouyinClient;
use miniguard_server::platform::fake::{FakeWeChat, dev_openid, dev_phone};
use miniguard_server::platform::fake_alipay::{FakeAlipay, dev_open_id};
use miniguard_server::platform::fake_douyin::{self, FakeDouyin};
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::platform::{LoginCode, PlatformClient, PlatformError, mask_phone};
use miniguard_server::ratelimit::Rate;
use miniguard_server::serve::{Transport, serve};
use miniguard_server::tls::DevCertificate;
use miniguard_server::{AppOptions, AppState, app};
use reqwest::StatusCode;
use rustls_pki_types::pem::PemObject as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use sha1::Digest as _;
use tokio::sync::oneshot;

mod common;
use common::*;

const DOUYIN_APPID: &str = "tttest00000000001";
const DOUYIN_SECRET: &str = "douyin-test-secret";
const ALIPAY_APP_ID: &str = "2021000000000001";
const APP_PRIVATE: &str = include_str!("keys/app_private.pem");
const APP_PUBLIC: &str = include_str!("keys/app_public.pem");
const ALIPAY_PRIVATE: &str = include_str!("keys/alipay_private.pem");
const ALIPAY_PUBLIC: &str = include_str!("keys/alipay_public.pem");

struct Platformed {
    server: TestServer,
    douyin: FakeDouyin,
    alipay: FakeAlipay,
}

/// The shared harness's server, with all three platforms and a generous auth rate (these tests
/// call the auth-limited routes more than ten times).
async fn start() -> Platformed {
    let dir = tempfile::tempdir().unwrap();
    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    let t = Duration::from_secs(5);
    let fake = FakeWeChat::start(APPID, SecretString::from(SECRET))
        .await
        .unwrap();
    let wechat = WeChatClient::new(&fake.base_url(), APPID, SecretString::from(SECRET), t).unwrap();
    let douyin = FakeDouyin::start(DOUYIN_APPID, SecretString::from(DOUYIN_SECRET))
        .await
        .unwrap();
    let douyin_client = DouyinClient::new(
        &douyin.base_url(),
        DOUYIN_APPID,
        SecretString::from(DOUYIN_SECRET),
        t,
    )
    .unwrap();
    let alipay = FakeAlipay::start(ALIPAY_APP_ID, APP_PUBLIC, ALIPAY_PRIVATE)
        .await
        .unwrap();
    let alipay_client = AlipayClient::new(
        &alipay.gateway_url(),
        ALIPAY_APP_ID,
        &SecretString::from(APP_PRIVATE),
        ALIPAY_PUBLIC,
        t,
    )
    .unwrap();
    let platforms = Platforms::new(Arc::new(wechat))
        .with(Arc::new(douyin_client))
        .with(Arc::new(alipay_client));
    let options = AppOptions {
        auth_rate: Rate::new(6000, 1000),
        ..test_options()
    };
    let state = AppState::with_platforms(db, platforms, test_keyring(), options);
    let cert = DevCertificate::generate().unwrap();
    let transport = Transport::Tls(cert.server_config().unwrap());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app(state), transport, async {
        let _ = stopped.await;
    }));
    Platformed {
        server: TestServer {
            base: format!("https://127.0.0.1:{port}"),
            port,
            cert: cert.cert.clone(),
            fake,
            db: store,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        },
        douyin,
        alipay,
    }
}

impl Platformed {
    async fn stop(self) {
        self.server.stop().await;
        self.douyin.stop().await;
        self.alipay.stop().await;
    }
}

async fn login_at(server: &TestServer, platform: &str, code: &str) -> (StatusCode, Value) {
    post_json(
        server,
        &format!("/v1/auth/{platform}/login"),
        &json!({ "code": code }),
    )
    .await
}

/// A signed JSON POST, as a client of the protocol sends it.
async fn signed_post(
    server: &TestServer,
    path: &str,
    body: &Value,
    session: &Value,
) -> reqwest::Response {
    let body = body.to_string();
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let nonce = generate_nonce().unwrap();
    let timestamp = unix_now();
    let parts = RequestParts {
        method: "POST",
        path,
        query: "",
        timestamp,
        nonce: &nonce,
        body: body.as_bytes(),
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    server
        .client()
        .post(server.url(path))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .header("x-mg-timestamp", timestamp.to_string())
        .header("x-mg-nonce", nonce)
        .header("x-mg-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn ok_json(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn stored_phone(location: &miniguard_server::db::Location, user: i64) -> Value {
    let db = Db::open_read_only_at(location).await.unwrap();
    let sealed = db.phone_envelope(UserId(user)).await.unwrap().unwrap();
    db.close().await;
    let aad = AssociatedData::field("user_phones", "envelope", &user.to_string());
    let plain = test_keyring().decrypt(&sealed, &aad).unwrap();
    // Bound to its row: the same envelope does not open as another user's.
    let other = AssociatedData::field("user_phones", "envelope", &(user + 1).to_string());
    assert!(test_keyring().decrypt(&sealed, &other).is_err());
    serde_json::from_slice(&plain).unwrap()
}

const PHONE: &str = "/v1/auth/wechat/phone";

#[tokio::test]
async fn phone_by_code_shares_one_access_token_and_renews_it_when_invalidated() {
    let p = start().await;
    let s = &p.server;
    let (status, alice) = login_at(s, "wechat", "dev:alice").await;
    assert_eq!(status, StatusCode::OK, "{alice}");
    let user = alice["user"]["id"].as_i64().unwrap();
    assert_eq!(s.fake.token_requests(), 0, "no token before it is needed");

    // Several concurrent requests: one token fetch (single flight). Each is a first bind (of
    // alice and three others), which needs no prior factor.
    let mut users = vec![alice.clone()];
    for name in ["dev:al2", "dev:al3", "dev:al4"] {
        users.push(login_at(s, "wechat", name).await.1);
    }
    let bind = |i: u32| {
        let body = json!({ "code": format!("dev:alice:{i}") });
        let session = users[i as usize - 1].clone();
        async move { signed_post(s, PHONE, &body, &session).await }
    };
    let (r1, r2, r3, r4) = tokio::join!(bind(1), bind(2), bind(3), bind(4));
    for res in [r1, r2, r3, r4] {
        let body = ok_json(res).await;
        assert_eq!(body["phone"], mask_phone(&dev_phone("alice")));
        assert_eq!(body["country_code"], "86");
        assert_eq!(body["source"], "code");
    }
    assert_eq!(s.fake.token_requests(), 1, "one token for every request");
    // A bound phone is a factor: moving it needs a verified one (issue 9; see e2e_mfa.rs), so
    // the later binds here are first binds of other users (a phone code is not tied to a user).
    let first_bind = |name: &'static str, code: &'static str| async move {
        let (status, user) = login_at(s, "wechat", &format!("dev:{name}")).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        signed_post(s, PHONE, &json!({ "code": code }), &user).await
    };
    let again = signed_post(s, PHONE, &json!({ "code": "dev:alice:5" }), &alice).await;
    assert_problem(again, StatusCode::FORBIDDEN).await;
    ok_json(first_bind("ann", "dev:alice:5").await).await;
    assert_eq!(s.fake.token_requests(), 1, "the cached token is reused");

    // WeChat invalidates the token: 40001, one renewal, the call retried and answered.
    s.fake.invalidate_access_tokens();
    ok_json(first_bind("ben", "dev:alice:6").await).await;
    assert_eq!(s.fake.token_requests(), 2, "renewed once after 40001");
    ok_json(first_bind("cy", "dev:alice:7").await).await;
    assert_eq!(s.fake.token_requests(), 2);

    // A used or invalid code is the platform's 40029.
    let (_, probe) = login_at(s, "wechat", "dev:probe").await;
    let used = signed_post(s, PHONE, &json!({ "code": "dev:alice:7" }), &probe).await;
    let body = assert_problem(used, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-login-code");
    let bad = signed_post(s, PHONE, &json!({ "code": "081abc" }), &probe).await;
    assert_problem(bad, StatusCode::BAD_REQUEST).await;
    // An answer watermarked for another app is refused.
    s.fake.set_watermark_appid(Some("wxsomeoneelse0001"));
    let foreign = signed_post(s, PHONE, &json!({ "code": "dev:alice:8" }), &probe).await;
    assert_problem(foreign, StatusCode::BAD_GATEWAY).await;
    s.fake.set_watermark_appid(None);
    // Neither flow's fields, or both: a plain 400. Unsigned: 401.
    let neither = signed_post(s, PHONE, &json!({ "iv": "AAAA" }), &probe).await;
    assert_problem(neither, StatusCode::BAD_REQUEST).await;
    let (status, _) = post_json(s, PHONE, &json!({ "code": "dev:alice:9" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Stored encrypted and bound to the user; audited only masked.
    let stored = stored_phone(&s.db, user).await;
    assert_eq!(stored["pure_phone_number"], dev_phone("alice"));
    let audit = audit(&s.db).await;
    let binds: Vec<_> = audit.iter().filter(|(a, _)| a == "phone.bind").collect();
    assert_eq!(binds.len(), 7);
    assert_eq!(binds[0].1["phone"], mask_phone(&dev_phone("alice")));
    assert_eq!(binds[0].1["source"], "code");
    let all = format!("{audit:?}");
    assert!(
        !all.contains(&dev_phone("alice")),
        "full number in the audit log"
    );
    let failures: Vec<_> = audit
        .iter()
        .filter(|(a, _)| a == "phone.bind_failure")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        failures,
        ["invalid_code", "invalid_code", "platform_bad_response"]
    );
    p.stop().await;
}

#[tokio::test]
async fn phone_by_encrypted_data_checks_appid_age_and_integrity() {
    let p = start().await;
    let s = &p.server;
    let (_, bob) = login_at(s, "wechat", "dev:bob").await;
    let user = bob["user"]["id"].as_i64().unwrap();
    let openid = dev_openid(APPID, "bob");
    let now = unix_now();
    let encrypted =
        |appid: &str, at: u64| s.fake.encrypted_phone(&openid, "bob", appid, at).unwrap();
    let send = |data: String, iv: String| {
        let bob = bob.clone();
        async move { signed_post(s, PHONE, &json!({ "encrypted_data": data, "iv": iv }), &bob).await }
    };

    // The refusals first: once bound, the phone is a factor and moving it needs a verified one.
    let (data, iv) = encrypted("wxsomeoneelse0001", now);
    let res = assert_problem(send(data, iv).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(res["type"], "urn:miniguard:problem:invalid-open-data");

    let (data, iv) = encrypted(APPID, now - 3600);
    assert_problem(send(data, iv).await, StatusCode::BAD_REQUEST).await;

    let (data, iv) = encrypted(APPID, now);
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(&data)
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let tampered = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert_problem(send(tampered, iv).await, StatusCode::BAD_REQUEST).await;

    // A blob encrypted with an old session key no longer opens after a new login.
    let (old, old_iv) = encrypted(APPID, now);
    let (_, bob2) = login_at(s, "wechat", "dev:bob:2").await;
    let res = signed_post(
        s,
        PHONE,
        &json!({ "encrypted_data": old, "iv": old_iv }),
        &bob2,
    )
    .await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;

    // A fresh blob under the latest session key binds.
    let (data, iv) = encrypted(APPID, now);
    let res = signed_post(
        s,
        PHONE,
        &json!({ "encrypted_data": data, "iv": iv }),
        &bob2,
    )
    .await;
    let body = ok_json(res).await;
    assert_eq!(body["phone"], mask_phone(&dev_phone("bob")));
    assert_eq!(body["source"], "encrypted_data");
    assert_eq!(
        stored_phone(&s.db, user).await["pure_phone_number"],
        dev_phone("bob")
    );

    let reasons: Vec<String> = audit(&s.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "phone.bind_failure")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        [
            "watermark_appid_mismatch",
            "stale_watermark",
            "undecryptable",
            "undecryptable"
        ]
    );
    p.stop().await;
}

fn raw_signature(raw: &str, key: &str) -> String {
    let digest = sha1::Sha1::digest(format!("{raw}{key}").as_bytes());
    digest.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[tokio::test]
async fn raw_data_signatures_are_checked_with_the_server_side_session_key() {
    let p = start().await;
    let s = &p.server;
    let (_, carol) = login_at(s, "wechat", "dev:carol").await;
    let key = s.fake.session_key(&dev_openid(APPID, "carol")).unwrap();
    let raw = r#"{"nickName":"Carol","gender":0,"language":"zh_CN","avatarUrl":""}"#;
    let sig = raw_signature(raw, key.expose_secret());
    let path = "/v1/auth/wechat/verify-userinfo";
    let ok = signed_post(
        s,
        path,
        &json!({ "raw_data": raw, "signature": sig }),
        &carol,
    )
    .await;
    let body = ok_json(ok).await;
    assert_eq!(body["user_info"]["nickName"], "Carol");

    let forged = raw.replace("Carol", "Mallory");
    let res = signed_post(
        s,
        path,
        &json!({ "raw_data": forged, "signature": sig }),
        &carol,
    )
    .await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(problem["type"], "urn:miniguard:problem:invalid-open-data");
    let res = signed_post(
        s,
        path,
        &json!({ "raw_data": raw, "signature": "abc" }),
        &carol,
    )
    .await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;
    // Signed with a key the server never issued for this user.
    let other = raw_signature(raw, "AAAAAAAAAAAAAAAAAAAAAA==");
    let res = signed_post(
        s,
        path,
        &json!({ "raw_data": raw, "signature": other }),
        &carol,
    )
    .await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;

    let reasons: Vec<String> = audit(&s.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "userinfo.verify_failure")
        .map(|(_, d)| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        ["bad_signature", "malformed_signature", "bad_signature"]
    );
    p.stop().await;
}

#[tokio::test]
async fn douyin_logins_go_through_its_fake_and_map_its_error_codes() {
    let p = start().await;
    let s = &p.server;
    let (status, dora) = login_at(s, "douyin", "dev:dora").await;
    assert_eq!(status, StatusCode::OK, "{dora}");
    assert_eq!(dora["user"]["new"], true);
    assert!(!dora.to_string().contains("session_key"));
    assert_eq!(me(s, &dora).await, StatusCode::OK);
    let (_, again) = login_at(s, "douyin", "dev:dora:2").await;
    assert_eq!(again["user"]["id"], dora["user"]["id"]);
    // The same name on WeChat is another user: users are keyed by (platform, openid).
    let (_, wechat_dora) = login_at(s, "wechat", "dev:dora").await;
    assert_ne!(wechat_dora["user"]["id"], dora["user"]["id"]);

    let (status, body) = login_at(s, "douyin", "dev:dora:2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "40018: used");
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-login-code");
    let (status, _) = login_at(s, "douyin", "081abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "40018: invalid");
    p.douyin.inject_error(-1);
    let (status, body) = login_at(s, "douyin", "dev:erin").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "urn:miniguard:problem:platform-busy");

    // A Douyin user has no WeChat phone binding.
    let res = signed_post(s, PHONE, &json!({ "code": "dev:dora" }), &dora).await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;

    // The other codes, through the real client against the fake.
    let t = Duration::from_secs(5);
    let code = LoginCode::parse("dev:frank").unwrap();
    let wrong_secret = DouyinClient::new(
        &p.douyin.base_url(),
        DOUYIN_APPID,
        SecretString::from("x"),
        t,
    )
    .unwrap();
    let e = wrong_secret.code2session(&code).await.unwrap_err();
    assert!(
        matches!(e, PlatformError::Api { errcode: 40017, .. }),
        "{e}"
    );
    let wrong_app = DouyinClient::new(
        &p.douyin.base_url(),
        "tt0",
        SecretString::from(DOUYIN_SECRET),
        t,
    )
    .unwrap();
    let e = wrong_app.code2session(&code).await.unwrap_err();
    assert!(
        matches!(e, PlatformError::Api { errcode: 40015, .. }),
        "{e}"
    );
    let audit = audit(&s.db).await;
    let douyin_logins = audit
        .iter()
        .filter(|(a, d)| a == "login.success" && d["platform"] == "douyin")
        .count();
    assert_eq!(douyin_logins, 2);
    assert!(audit.iter().any(|(a, d)| a == "login.failure"
        && d["platform"] == "douyin"
        && d["reason"] == "platform_busy"));
    assert_eq!(
        fake_douyin::dev_openid(DOUYIN_APPID, "dora"),
        fake_douyin::dev_openid(DOUYIN_APPID, "dora")
    );
    p.stop().await;
}

#[tokio::test]
async fn alipay_logins_are_signed_both_ways_and_a_forged_answer_is_refused() {
    let p = start().await;
    let s = &p.server;
    let (status, gina) = login_at(s, "alipay", "dev:gina").await;
    assert_eq!(status, StatusCode::OK, "{gina}");
    assert_eq!(gina["user"]["new"], true);
    assert_eq!(me(s, &gina).await, StatusCode::OK);
    let db = Db::open_read_only_at(&s.db).await.unwrap();
    let found = db
        .find_user("alipay", &dev_open_id(ALIPAY_APP_ID, "gina"))
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.0), gina["user"]["id"].as_i64());
    // Alipay has no session key: nothing is stored for the user.
    let user = UserId(gina["user"]["id"].as_i64().unwrap());
    assert!(db.session_key_envelope(user).await.unwrap().is_none());
    db.close().await;

    let (status, body) = login_at(s, "alipay", "dev:gina").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "isv.code-invalid: used");
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-login-code");

    // The gateway's answer signed with another key (here the app's own): refused.
    p.alipay.sign_with(Some(APP_PRIVATE)).unwrap();
    let (status, body) = login_at(s, "alipay", "dev:gina:2").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["type"], "urn:miniguard:problem:platform-unavailable");
    p.alipay.sign_with(None).unwrap();
    let (status, again) = login_at(s, "alipay", "dev:gina:3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["user"]["id"], gina["user"]["id"]);

    // A request signed with the wrong app key: the gateway's isv.invalid-signature.
    let t = Duration::from_secs(5);
    let wrong_key = AlipayClient::new(
        &p.alipay.gateway_url(),
        ALIPAY_APP_ID,
        &SecretString::from(ALIPAY_PRIVATE),
        ALIPAY_PUBLIC,
        t,
    )
    .unwrap();
    let code = LoginCode::parse("dev:hank").unwrap();
    let e = wrong_key.code2session(&code).await.unwrap_err();
    assert!(
        matches!(e, PlatformError::Api { errcode: 40002, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("isv.invalid-signature"), "{e}");
    // The code was not spent by the refused request.
    let (status, _) = login_at(s, "alipay", "dev:hank").await;
    assert_eq!(status, StatusCode::OK);

    let audit = audit(&s.db).await;
    assert!(audit.iter().any(|(a, d)| a == "login.failure"
        && d["platform"] == "alipay"
        && d["reason"] == "platform_bad_response"));
    p.stop().await;
}

#[tokio::test]
async fn the_phone_route_has_the_auth_rate_limit_before_any_session_work() {
    // The shared harness: WeChat only, the default auth rate (burst 10).
    let s = TestServer::start().await;
    let (status, _, ivy) = s.login("dev:ivy").await;
    assert_eq!(status, StatusCode::OK);
    let mut statuses = Vec::new();
    for i in 1..=12 {
        let body = json!({ "code": format!("dev:ivy:{i}") });
        statuses.push(signed_post(&s, PHONE, &body, &ivy).await.status());
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert_eq!(statuses[11], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Refused before the session check: an unsigned request gets 429, not 401.
    let (status, _) = post_json(&s, PHONE, &json!({ "code": "dev:ivy:13" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}

#[tokio::test]
async fn a_configured_server_logs_in_through_douyin_and_alipay_with_keys_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = DevCertificate::generate().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("cert.pem", &cert.cert_pem);
    write("key.pem", cert.key_pem());
    write("wechat-secret", &format!("{SECRET}\n"));
    write("douyin-secret", &format!("{DOUYIN_SECRET}\n"));
    write("app.pem", APP_PRIVATE);
    write("alipay-public.pem", ALIPAY_PUBLIC);
    write("data-keys", &format!("{TEST_KEYS}\n"));
    write("audit-key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n");
    let wechat = FakeWeChat::start(APPID, SecretString::from(SECRET))
        .await
        .unwrap();
    let douyin = FakeDouyin::start(DOUYIN_APPID, SecretString::from(DOUYIN_SECRET))
        .await
        .unwrap();
    let alipay = FakeAlipay::start(ALIPAY_APP_ID, APP_PUBLIC, ALIPAY_PRIVATE)
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
[server.platforms.douyin]
appid = "{DOUYIN_APPID}"
base_url = "{}"
secret_file = "douyin-secret"
[server.platforms.alipay]
app_id = "{ALIPAY_APP_ID}"
gateway = "{}"
private_key_file = "app.pem"
alipay_public_key_file = "alipay-public.pem"
"#,
        wechat.base_url(),
        douyin.base_url(),
        alipay.gateway_url()
    );
    let path = dir.path().join("miniguard.toml");
    std::fs::write(&path, toml).unwrap();
    let settings = miniguard_server::config::ServerSettings::from_file(&path).unwrap();
    let running = miniguard_server::launch::start_configured(&settings)
        .await
        .unwrap();
    let url = running.url.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(running.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&cert.cert, rustls::DEFAULT_VERSIONS))
        .build()
        .unwrap();
    for platform in ["wechat", "douyin", "alipay"] {
        let res = client
            .post(format!("{url}/v1/auth/{platform}/login"))
            .json(&json!({ "code": "dev:jo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{platform}");
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    wechat.stop().await;
    douyin.stop().await;
    alipay.stop().await;
}

#[tokio::test]
async fn dev_mode_logs_dev_names_in_on_all_three_platforms() {
    // On PostgreSQL when the tests are (`--dev --database-url`).
    let dir = tempfile::tempdir().unwrap();
    let store = TestDb::new(dir.path()).await;
    let running = miniguard_server::launch::start_dev(miniguard_server::launch::DevOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        database_url: store.database_url(),
        redis_url: None,
        limits: None,
        rich_text_image_hosts: Vec::new(),
    })
    .await
    .unwrap();
    let url = running.url.clone();
    let pem = std::fs::read(running.cert_pem_path.clone().unwrap()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(running.run_until(async {
        let _ = stopped.await;
    }));
    let cert = rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&cert, rustls::DEFAULT_VERSIONS))
        .build()
        .unwrap();
    for platform in ["wechat", "douyin", "alipay"] {
        let res = client
            .post(format!("{url}/v1/auth/{platform}/login"))
            .json(&json!({ "code": "dev:kim" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{platform}");
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
