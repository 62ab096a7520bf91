//! Hardening round 2 of the data API over real HTTPS on 127.0.0.1: the cost budget of filters,
//! the time limit of data queries and overload answers (item 3). Every test starts its own
//! server, sends a bounded number of requests and ends by itself.

use std::sync::Arc;
use std::time::Duration;

use miniguard_server::data::Collections;
use miniguard_server::data::store::install;
use miniguard_server::db::Db;
use miniguard_server::platform::fake::FakeWeChat;
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::serve::{Transport, serve};
use miniguard_server::tls::DevCertificate;
use miniguard_server::{AppOptions, AppState, app};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::sync::oneshot;

mod common;
use common::*;

const CONFIG: &str = r#"
[collections.notes]
fields = { title = "string(1..100)", body = "richtext", owner = "owner" }
read = "true"
write = "owner"
delete = "owner"
"#;

async fn start(options: AppOptions) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("miniguard.db");
    let db = Db::open(&db_path).await.unwrap();
    let collections = Collections::from_config_text(CONFIG).unwrap();
    install(&db, &collections).await.unwrap();
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
    let state = AppState::new(db, Arc::new(platform), test_keyring(), options)
        .with_collections(collections);
    let cert = DevCertificate::generate().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        app(state),
        Transport::Tls(cert.server_config().unwrap()),
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        base: format!("https://127.0.0.1:{port}"),
        port,
        cert: cert.cert.clone(),
        fake,
        db_path,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

async fn login(server: &TestServer, name: &str) -> Value {
    let (status, _, session) = server.login(&format!("dev:{name}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session
}

/// `rows` notes of `kib` KiB of body each, written straight to the table in one statement.
async fn seed_notes(server: &TestServer, owner: i64, rows: u32, kib: u32) {
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", server.db_path.display()))
            .await
            .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO c_notes (id, owner_id, created, updated, f_title, f_body)
         SELECT lower(hex(randomblob(16))), ?, i, i, 'note ' || i, hex(zeroblob(? * 512)) FROM n",
    )
    .bind(rows)
    .bind(owner)
    .bind(kib)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `n` `body ~ '...'` terms joined by `or`: the attack's filter.
fn contains_terms(n: usize) -> String {
    (0..n)
        .map(|i| format!("body ~ 'needle{i}'"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Regression (round 2, item 3): 62 `~` terms over a rich-text field were accepted (they are
/// within the length and token limits) and took the database down; the cost budget refuses
/// them while as many cheap comparisons still pass.
#[tokio::test]
async fn a_filter_over_its_cost_budget_is_refused_before_the_database() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let path = format!(
        "/v1/collections/notes/records?filter={}",
        encode(&contains_terms(62))
    );
    let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
    let res = signed_at(&server, "GET", &path, b"", &s, unix_now(), &nonce).await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "filter", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too expensive"),
        "{body}"
    );
    // Three are within the budget; so are 62 comparisons of a short field.
    for filter in [
        contains_terms(3),
        (0..62)
            .map(|i| format!("title = 'n{i}'"))
            .collect::<Vec<_>>()
            .join(" or "),
    ] {
        let path = format!("/v1/collections/notes/records?filter={}", encode(&filter));
        assert_eq!(signed(&server, "GET", &path, &s).await, StatusCode::OK);
    }
    server.stop().await;
}

/// Regression (round 2, item 3): a data query over its time limit is interrupted in SQLite
/// and answers 503 with Retry-After (not 500), and sessions go on being served.
#[tokio::test]
async fn a_data_query_over_its_time_limit_answers_503_with_retry_after() {
    let server = start(AppOptions {
        data_query_timeout: Duration::from_millis(1),
        ..test_options()
    })
    .await;
    let s = login(&server, "alice").await;
    let owner = s["user"]["id"].as_i64().unwrap();
    seed_notes(&server, owner, 3000, 8).await;
    let path = format!(
        "/v1/collections/notes/records?filter={}",
        encode(&contains_terms(3))
    );
    let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
    let res = signed_at(&server, "GET", &path, b"", &s, unix_now(), &nonce).await;
    let retry_after = res.headers().get("retry-after").cloned();
    let body = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["type"], "urn:miniguard:problem:overloaded");
    assert!(retry_after.is_some_and(|v| v.to_str().unwrap().parse::<u64>().unwrap() >= 1));
    assert_eq!(me(&server, &s).await, StatusCode::OK);
    server.stop().await;
}

/// Regression (round 2, item 3): 8-16 expensive lists in parallel made `GET /v1/me` fail with
/// 500 ("pool timed out"). Data queries now have their own connections and a time limit: every
/// session request is served, and a list either answers or says 503, never 500.
#[tokio::test]
async fn parallel_expensive_lists_do_not_starve_sessions() {
    let server = start(AppOptions {
        data_query_timeout: Duration::from_millis(500),
        // The attack's own filter, let through the budget to load the database.
        filter_budget: 10_000,
        ..test_options()
    })
    .await;
    let s = login(&server, "alice").await;
    let owner = s["user"]["id"].as_i64().unwrap();
    seed_notes(&server, owner, 1000, 16).await;
    let path = format!(
        "/v1/collections/notes/records?filter={}",
        encode(&contains_terms(62))
    );
    let server = Arc::new(server);
    let mut lists = Vec::new();
    for _ in 0..12 {
        let (server, s, path) = (Arc::clone(&server), s.clone(), path.clone());
        lists.push(tokio::spawn(async move {
            signed(&server, "GET", &path, &s).await
        }));
    }
    for _ in 0..6 {
        assert_eq!(me(&server, &s).await, StatusCode::OK);
    }
    for l in lists {
        let status = l.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    let server = Arc::into_inner(server).unwrap();
    server.stop().await;
}
