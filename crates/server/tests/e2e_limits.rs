//! Hardening round 2 of the data API over real HTTPS on 127.0.0.1: the cost budget of filters,
//! the time limit of data queries and overload answers (item 3), uploads that leave no orphans
//! and a per-owner quota (item 5), private files on disk (item 7), repeated query keys (item 8),
//! one path for both 404s and bounded audit rows (item 9), polyglot and active uploads and the
//! rich-text policy (item 11). Every test starts its own server, sends a bounded number of
//! requests and ends by itself.

use std::sync::Arc;
use std::time::Duration;

use miniguard_server::AppOptions;
use miniguard_server::data::Collections;
use miniguard_server::db::{Db, DbError, PoolConn};
use reqwest::StatusCode;
use serde_json::Value;

mod common;
use common::*;

const CONFIG: &str = r#"
[collections.notes]
fields = { title = "string(1..100)", body = "richtext", owner = "owner" }
read = "true"
write = "owner"
delete = "owner"

[collections.docs]
fields = { title = "string", scan = "file(max=4KB, types=image/png|application/pdf)", owner = "owner" }
read = "owner"
write = "owner"
delete = "owner"

[collections.board]
fields = { title = "string", photo = "file(max=4KB, types=image/png)", owner = "owner" }
read = "true"
write = "true"
delete = "owner"
"#;

async fn start(options: AppOptions) -> TestServer {
    TestServer::start_collections(Collections::from_config_text(CONFIG).unwrap(), options).await
}

async fn login(server: &TestServer, name: &str) -> Value {
    let (status, _, session) = server.login(&format!("dev:{name}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session
}

/// `rows` notes of `kib` KiB of body each, written straight to the table in one statement.
async fn seed_notes(server: &TestServer, owner: i64, rows: u32, kib: u32) {
    let mut conn = Raw::connect(&server.db).await;
    let sql = if conn.is_postgres() {
        "INSERT INTO c_notes (id, owner_id, created, updated, f_title, f_body)
         SELECT md5(random()::text || i), $2, i, i, 'note ' || i,
                repeat('00', ($3 * 512)::integer)
         FROM generate_series(1, $1) AS i"
    } else {
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO c_notes (id, owner_id, created, updated, f_title, f_body)
         SELECT lower(hex(randomblob(16))), $2, i, i, 'note ' || i, hex(zeroblob($3 * 512)) FROM n"
    };
    conn.execute(
        sql,
        &[
            RawVal::Int(rows.into()),
            RawVal::Int(owner),
            RawVal::Int(kib.into()),
        ],
    )
    .await
    .unwrap();
    conn.close().await;
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

/// A changed data query limit holds from the next query on. On PostgreSQL the limit is the
/// connection's `statement_timeout`, set once when it opens (no `SET` round trip per request):
/// a connection opened under an earlier limit is closed instead of lent.
#[tokio::test]
async fn a_changed_data_query_limit_holds_from_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    db.set_data_query_timeout(Duration::from_mins(2));
    slow_query(&db).await.unwrap();
    db.set_data_query_timeout(Duration::from_millis(100));
    let e = slow_query(&db).await.unwrap_err();
    assert!(e.is_overload(), "{e}");
    db.set_data_query_timeout(Duration::from_mins(2));
    slow_query(&db).await.unwrap();
    db.close().await;
}

/// A data query of at least a few hundred milliseconds.
async fn slow_query(db: &Db) -> Result<(), DbError> {
    let mut conn = db.data_conn().await?;
    match conn.conn() {
        PoolConn::Sqlite(c) => {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) \
                 SELECT count(*) FROM n",
            )
            .execute(&mut **c)
            .await?;
        }
        PoolConn::Postgres(c) => {
            sqlx::query("SELECT pg_sleep(0.5)")
                .execute(&mut **c)
                .await?;
        }
    }
    Ok(())
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

/// A signed request with a raw body and content type (uploads).
async fn raw(
    server: &TestServer,
    session: &Value,
    method: &str,
    path_and_query: &str,
    content_type: &str,
    body: &[u8],
) -> reqwest::Response {
    use miniguard_crypto::{RequestParts, SigningKey};
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
    let timestamp = unix_now();
    let parts = RequestParts {
        method,
        path,
        query,
        timestamp,
        nonce: &nonce,
        body,
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    server
        .client()
        .request(method.parse().unwrap(), server.url(path_and_query))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", timestamp.to_string())
        .header("x-mg-nonce", &nonce)
        .header("x-mg-signature", signature)
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn json_call(
    server: &TestServer,
    session: &Value,
    method: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let res = raw(
        server,
        session,
        method,
        path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A well-formed PNG of `len` bytes (at least 57), with `text` in a tEXt chunk when given.
fn png(len: usize, text: Option<&[u8]>) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        v.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend_from_slice(&[0, 0, 0, 0]);
    };
    chunk(b"IHDR", &[0; 13]);
    let extra = text.map_or(0, |t| t.len() + 12);
    if let Some(t) = text {
        chunk(b"tEXt", t);
    }
    let idat: Vec<u8> = (0..len - 57 - extra)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    v
}

fn uploads(server: &TestServer) -> Vec<String> {
    let dir = server.db.uploads_dir();
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn new_doc(server: &TestServer, s: &Value) -> String {
    let (status, rec) = json_call(
        server,
        s,
        "POST",
        "/v1/collections/docs/records",
        &serde_json::json!({ "title": "t" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    rec["id"].as_str().unwrap().to_owned()
}

async fn upload_png(server: &TestServer, s: &Value, id: &str, bytes: &[u8]) -> reqwest::Response {
    raw(
        server,
        s,
        "POST",
        &format!("/v1/collections/docs/records/{id}/files/scan"),
        "image/png",
        bytes,
    )
    .await
}

/// Regression (round 2, item 5): setting a file field to null or deleting its record left the
/// blob on disk for good.
#[tokio::test]
async fn a_cleared_file_or_a_deleted_record_takes_its_blob_along() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let id = new_doc(&server, &s).await;
    assert_eq!(
        upload_png(&server, &s, &id, &png(600, None)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(uploads(&server).len(), 1);
    let (status, rec) = json_call(
        &server,
        &s,
        "PATCH",
        &format!("/v1/collections/docs/records/{id}"),
        &serde_json::json!({ "scan": null }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(uploads(&server), Vec::<String>::new(), "cleared field");

    let id = new_doc(&server, &s).await;
    assert_eq!(
        upload_png(&server, &s, &id, &png(600, None)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(uploads(&server).len(), 1);
    let res = raw(
        &server,
        &s,
        "DELETE",
        &format!("/v1/collections/docs/records/{id}"),
        "application/json",
        b"",
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(uploads(&server), Vec::<String>::new(), "deleted record");
    server.stop().await;
}

/// Round 2, item 5: blobs a crash left behind (no row refers to them) are swept once old
/// enough; referenced ones and young ones stay.
#[tokio::test]
async fn orphaned_blobs_are_swept_and_referenced_ones_kept() {
    use miniguard_server::data::files::sweep_orphans;
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let id = new_doc(&server, &s).await;
    assert_eq!(
        upload_png(&server, &s, &id, &png(600, None)).await.status(),
        StatusCode::CREATED
    );
    let kept = uploads(&server);
    let dir = server.db.uploads_dir();
    let orphan = "0123456789abcdef0123456789abcdef";
    std::fs::write(dir.join(orphan), b"left by a crash").unwrap();
    let db = Db::open_at(&server.db).await.unwrap();
    // Young: kept (it may be an upload whose row is being written).
    assert_eq!(
        sweep_orphans(&db, Duration::from_hours(1)).await.unwrap(),
        0
    );
    assert_eq!(sweep_orphans(&db, Duration::ZERO).await.unwrap(), 1);
    assert_eq!(uploads(&server), kept);
    db.close().await;
    server.stop().await;
}

/// Regression: the sweep took the referenced files from the collections of the configuration
/// in use, so a server started with a configuration that leaves a collection out (or declares
/// none) deleted the files of that collection's records once they were an hour old.
#[tokio::test]
async fn the_sweep_keeps_files_of_collections_the_configuration_leaves_out() {
    use miniguard_server::data::files::sweep_orphans;
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let id = new_doc(&server, &s).await;
    let file = png(600, None);
    assert_eq!(
        upload_png(&server, &s, &id, &file).await.status(),
        StatusCode::CREATED
    );
    let kept = uploads(&server);
    assert_eq!(kept.len(), 1);
    let db = Db::open_at(&server.db).await.unwrap();
    let without_docs = CONFIG.split("[collections.docs]").next().unwrap();
    for config in [without_docs, ""] {
        // Reopened with a configuration without `docs`, installed as a start would.
        let collections = Collections::from_config_text(config).unwrap();
        miniguard_server::data::store::install(&db, &collections)
            .await
            .unwrap();
        assert_eq!(sweep_orphans(&db, Duration::ZERO).await.unwrap(), 0);
        assert_eq!(uploads(&server), kept, "{config}");
    }
    db.close().await;
    // The record's file is still there to download.
    let res = raw(
        &server,
        &s,
        "GET",
        &format!("/v1/collections/docs/records/{id}/files/scan"),
        "application/json",
        b"",
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), file.as_slice());
    server.stop().await;
}

/// Regression: the quota was charged to the record's owner, not to whoever uploaded, and it was
/// checked before the write with nothing in between, so parallel uploads of one user each
/// passed it against the same total.
#[tokio::test]
async fn the_quota_charges_the_uploader_and_parallel_uploads_cannot_pass_it_together() {
    let server = start(AppOptions {
        upload_quota_bytes: 1000,
        ..test_options()
    })
    .await;
    let alice = login(&server, "alice").await;
    let bob = login(&server, "bob").await;
    // Two uploads of 600 bytes at once, 1200 in all: exactly one is stored.
    for _ in 0..3 {
        let (a, b) = (
            new_doc(&server, &alice).await,
            new_doc(&server, &alice).await,
        );
        let file = png(600, None);
        let (ra, rb) = tokio::join!(
            upload_png(&server, &alice, &a, &file),
            upload_png(&server, &alice, &b, &file)
        );
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::PAYLOAD_TOO_LARGE]
        );
        assert_eq!(uploads(&server).len(), 1);
        // Deleting the stored one gives the quota back for the next round.
        for id in [a, b] {
            let res = raw(
                &server,
                &alice,
                "DELETE",
                &format!("/v1/collections/docs/records/{id}"),
                "application/json",
                b"",
            )
            .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        }
        assert_eq!(uploads(&server), Vec::<String>::new());
    }
    // Alice holds 600 bytes; Bob puts 600 into a record of Alice's that anyone may write: his
    // quota pays, not hers (hers would go over).
    let mine = new_doc(&server, &alice).await;
    assert_eq!(
        upload_png(&server, &alice, &mine, &png(600, None))
            .await
            .status(),
        StatusCode::CREATED
    );
    let (status, rec) = json_call(
        &server,
        &alice,
        "POST",
        "/v1/collections/board/records",
        &serde_json::json!({ "title": "shared" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    let shared = rec["id"].as_str().unwrap().to_owned();
    let upload_board = |s: Value, bytes: Vec<u8>| {
        let server = &server;
        let path = format!("/v1/collections/board/records/{shared}/files/photo");
        async move { raw(server, &s, "POST", &path, "image/png", &bytes).await }
    };
    let res = upload_board(bob.clone(), png(600, None)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let shown: Value = res.json().await.unwrap();
    assert!(shown["photo"].get("by").is_none(), "{shown}");
    assert!(shown["photo"].get("blob").is_none(), "{shown}");
    // ... so Bob has 400 bytes left and Alice still 400.
    let bobs = new_doc(&server, &bob).await;
    let res = upload_png(&server, &bob, &bobs, &png(600, None)).await;
    let body = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:miniguard:problem:quota-exceeded");
    assert_eq!(
        upload_png(&server, &bob, &bobs, &png(300, None))
            .await
            .status(),
        StatusCode::CREATED
    );
    // Alice replacing Bob's file pays for hers and gets nothing back for his.
    let res = upload_board(alice.clone(), png(500, None)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        upload_board(alice.clone(), png(300, None)).await.status(),
        StatusCode::CREATED
    );
    server.stop().await;
}

/// Round 2, item 5: the records of one owner hold at most the upload quota; a replaced file
/// no longer counts.
#[tokio::test]
async fn uploads_are_held_to_a_per_owner_quota() {
    let server = start(AppOptions {
        upload_quota_bytes: 1000,
        ..test_options()
    })
    .await;
    let s = login(&server, "alice").await;
    let (a, b) = (new_doc(&server, &s).await, new_doc(&server, &s).await);
    assert_eq!(
        upload_png(&server, &s, &a, &png(600, None)).await.status(),
        StatusCode::CREATED
    );
    let res = upload_png(&server, &s, &b, &png(600, None)).await;
    let body = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:miniguard:problem:quota-exceeded");
    assert_eq!(uploads(&server).len(), 1, "nothing stored over the quota");
    // Replacing a's file: 700 bytes in all.
    assert_eq!(
        upload_png(&server, &s, &a, &png(700, None)).await.status(),
        StatusCode::CREATED
    );
    // Another owner has a quota of their own.
    let bob = login(&server, "bob").await;
    let c = new_doc(&server, &bob).await;
    assert_eq!(
        upload_png(&server, &bob, &c, &png(600, None))
            .await
            .status(),
        StatusCode::CREATED
    );
    server.stop().await;
}

/// Regression (round 2, item 7): the database and its WAL were 0644 in a 0755 folder.
#[cfg(unix)]
#[tokio::test]
async fn the_database_its_wal_keys_and_uploads_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let running = miniguard_server::launch::start_dev_with(
        miniguard_server::launch::DevOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: Some(data.clone()),
            database_url: None,
            redis_url: None,
            limits: None,
            rich_text_image_hosts: Vec::new(),
        },
        Collections::from_config_text(CONFIG).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(mode(&data), 0o700);
    let db = data.join("miniguard.db");
    assert_eq!(mode(&db), 0o600);
    let wal = data.join("miniguard.db-wal");
    assert!(wal.exists(), "WAL mode keeps a -wal file while open");
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(
        mode(&data.join(miniguard_server::launch::DEV_AUDIT_KEY_FILE)),
        0o600
    );
    running.run_until(async {}).await.unwrap();
}

/// Regression (round 2, item 8): `per_page=1&per_page=100` (reordered, the signature is the
/// same) changed the answer; a repeated key of a single-valued parameter is now refused.
#[tokio::test]
async fn repeated_query_keys_are_refused() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    for (query, field) in [
        ("per_page=1&per_page=100", "per_page"),
        ("per_page=100&per_page=1", "per_page"),
        ("page=1&page=2", "page"),
        (
            "filter=title%20%3D%20'a'&filter=title%20%3D%20'b'",
            "filter",
        ),
        ("sort=title&sort=-title", "sort"),
    ] {
        let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
        let path = format!("/v1/collections/notes/records?{query}");
        let res = signed_at(&server, "GET", &path, b"", &s, unix_now(), &nonce).await;
        let body = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let path = "/v1/collections/notes/records?per_page=1&page=1";
    assert_eq!(signed(&server, "GET", path, &s).await, StatusCode::OK);
    // The upload's `name` too.
    let id = new_doc(&server, &s).await;
    let res = raw(
        &server,
        &s,
        "POST",
        &format!("/v1/collections/docs/records/{id}/files/scan?name=a.png&name=b.png"),
        "image/png",
        &png(100, None),
    )
    .await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}

/// Regression (round 2, item 9): another user's record answered 404 by another path than a
/// random id (an existence check and a synchronous audit write), and every probe wrote an
/// `authz.denied` row. Both now answer alike, and the rows per prober are bounded.
#[tokio::test]
async fn probing_ids_answers_alike_and_audits_a_bounded_number_of_rows() {
    let server = start(test_options()).await;
    let alice = login(&server, "alice").await;
    let bob = login(&server, "bob").await;
    let bob_id = bob["user"]["id"].as_i64().unwrap();
    let id = new_doc(&server, &alice).await;
    let mut answers = Vec::new();
    for target in [id.clone(), "0123456789abcdef0123456789abcdef".to_owned()] {
        let nonce = miniguard_crypto::signing::generate_nonce().unwrap();
        let path = format!("/v1/collections/docs/records/{target}");
        let res = signed_at(&server, "GET", &path, b"", &bob, unix_now(), &nonce).await;
        let mut body = assert_problem(res, StatusCode::NOT_FOUND).await;
        body["request_id"] = Value::Null;
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
    for _ in 0..20 {
        let path = format!("/v1/collections/docs/records/{id}");
        assert_eq!(
            signed(&server, "GET", &path, &bob).await,
            StatusCode::NOT_FOUND
        );
    }
    // The denials are audited off the request path: wait (bounded) for them to land.
    let actor = format!("user:{bob_id}");
    let mut denied = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        denied = audit(&server.db)
            .await
            .iter()
            .filter(|(action, d)| action == "authz.denied" && d["user_id"] == bob_id)
            .count();
        if denied >= 5 {
            break;
        }
    }
    assert!(
        (1..=5).contains(&denied),
        "{denied} authz.denied rows for {actor} after 21 probes"
    );
    server.stop().await;
}

/// Regression (round 2, item 9): a bad signature wrote the attacker's path into the audit log
/// at any length, once per request. Now the path is a bounded, escaped value of its own, and
/// the rows per caller are bounded.
#[tokio::test]
async fn bad_signatures_write_bounded_and_cleaned_audit_rows() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let long = format!("/v1/collections/notes/records/{}", "a".repeat(3000));
    for _ in 0..12 {
        let res = server
            .client()
            .get(server.url(&long))
            .bearer_auth(s["access_token"].as_str().unwrap())
            .header("x-mg-timestamp", unix_now().to_string())
            .header(
                "x-mg-nonce",
                miniguard_crypto::signing::generate_nonce().unwrap(),
            )
            .header(
                "x-mg-signature",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let rows: Vec<Value> = audit(&server.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "auth.signature_rejected")
        .map(|(_, d)| d)
        .collect();
    assert!((1..=5).contains(&rows.len()), "{}", rows.len());
    for d in &rows {
        let path = d["path"].as_str().unwrap();
        assert!(path.chars().count() < 240, "{path}");
    }
    server.stop().await;
}

/// Round 2, item 11: a PNG that is also HTML, a PNG with a document after its end, and a PDF
/// with JavaScript are refused as uploads; plain ones are accepted.
#[tokio::test]
async fn polyglot_images_and_active_pdfs_are_refused() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let id = new_doc(&server, &s).await;
    let files = format!("/v1/collections/docs/records/{id}/files/scan");
    let mut after_end = png(200, None);
    after_end.extend_from_slice(b"<p>second document</p>");
    for (ty, bytes) in [
        (
            "image/png",
            png(300, Some(b"Comment\0<html><script>alert(document.domain)</script>")),
        ),
        ("image/png", after_end),
        (
            "application/pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF".to_vec(),
        ),
    ] {
        let res = raw(&server, &s, "POST", &files, ty, &bytes).await;
        let body = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["field"], "scan", "{body}");
    }
    assert!(uploads(&server).is_empty());
    let plain_pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF";
    let res = raw(&server, &s, "POST", &files, "application/pdf", plain_pdf).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    server.stop().await;
}

/// Round 2, item 11: rich text keeps https images of the listed hosts only and no layout that
/// overlays the page.
#[tokio::test]
async fn rich_text_drops_plain_http_images_and_overlay_css() {
    let server = start(AppOptions {
        image_hosts: vec!["img.example".into()],
        ..test_options()
    })
    .await;
    let s = login(&server, "alice").await;
    let body = concat!(
        r#"<img src="http://img.example/p.gif"><img src="https://img.example/a.png">"#,
        r#"<img src="https://tracker.example/p.gif">"#,
        r#"<div style="position: fixed; top: 0; width: 100%; z-index: 9">x</div>"#,
        r#"<p style="margin-top: -500px; color: red">y</p>"#,
    );
    let stored = store_note(&server, &s, body).await;
    assert!(!stored.contains("tracker"), "{stored}");
    assert!(!stored.contains("p.gif"), "{stored}");
    assert!(stored.contains("https://img.example/a.png"), "{stored}");
    for gone in ["position", "z-index", "-500px"] {
        assert!(!stored.contains(gone), "{gone}: {stored}");
    }
    assert!(stored.contains("color: red"), "{stored}");
    server.stop().await;
}

/// Stores a note with this rich-text body; answers the body as stored.
async fn store_note(server: &TestServer, s: &Value, body: &str) -> String {
    let (status, rec) = json_call(
        server,
        s,
        "POST",
        "/v1/collections/notes/records",
        &serde_json::json!({ "title": "t", "body": body }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    rec["body"].as_str().unwrap().to_owned()
}

/// Regression: without `rich_text_image_hosts` any `https:` image host was kept, so an author
/// could put a tracking pixel of their own in front of every reader. By default no remote image
/// is kept now (nor `data:` or relative ones, as before).
#[tokio::test]
async fn rich_text_keeps_no_remote_image_without_a_list_of_hosts() {
    let server = start(test_options()).await;
    let s = login(&server, "alice").await;
    let stored = store_note(
        &server,
        &s,
        concat!(
            r#"<p>hi<img src="https://tracker.example/p.gif" alt="t">"#,
            r#"<img src="data:image/png;base64,AAAA"><img src="/a.png"></p>"#,
        ),
    )
    .await;
    assert_eq!(stored, r#"<p>hi<img alt="t"><img><img></p>"#);
    server.stop().await;
}
