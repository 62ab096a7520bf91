//! Key rotation of every envelope the server keeps, and what a damaged envelope does, end to end
//! over real HTTPS on 127.0.0.1: a server on a data directory that survives restarts, the
//! rotation run between them, and the values read back through the data API.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{AssociatedData, Key, KeyId, Keyring, RequestParts, SigningKey};
use miniguard_server::data::Collections;
use miniguard_server::data::store::install;
use miniguard_server::db::{Db, Location};
use miniguard_server::platform::fake::FakeWeChat;
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::rotation::{self, RotationError};
use miniguard_server::serve::{Transport, serve};
use miniguard_server::tls::DevCertificate;
use miniguard_server::{AppState, app};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

mod common;
use common::*;

const CONFIG: &str = r#"
[collections.addresses]
fields = { line = "string encrypted", phone = "string encrypted", label = "string", owner = "owner" }
read = "owner"
write = "owner"
delete = "owner"

[collections.docs]
fields = { title = "string", scan = "file(max=1KB, types=image/png|application/pdf)", owner = "owner" }
read = "owner"
write = "owner"
delete = "owner"
"#;

/// A server on `dir/miniguard.db` with this keyring; the directory outlives the server.
async fn start_on(dir: &Path, keyring: Keyring) -> TestServer {
    start_serving(dir, keyring, Collections::from_config_text(CONFIG).unwrap())
        .await
        .0
}

/// A server with these collections; also answers its certificate as PEM.
async fn start_serving(
    dir: &Path,
    keyring: Keyring,
    collections: Collections,
) -> (TestServer, String) {
    let store = TestDb::new(dir).await;
    let db = Db::open_at(&store).await.unwrap();
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
    let state = AppState::new(db, Arc::new(platform), keyring, test_options())
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
    let server = TestServer {
        base: format!("https://127.0.0.1:{port}"),
        port,
        cert: cert.cert.clone(),
        fake,
        db: store,
        stop: Some(stop),
        task: Some(task),
        _dir: tempfile::tempdir().unwrap(),
    };
    (server, cert.cert_pem.clone())
}

/// A signed request with an optional JSON body; the status and the body (JSON or null).
async fn call(
    server: &TestServer,
    session: &Value,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let nonce = generate_nonce().unwrap();
    let timestamp = unix_now();
    let parts = RequestParts {
        method,
        path,
        query: "",
        timestamp,
        nonce: &nonce,
        body: &bytes,
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    let mut req = server
        .client()
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", timestamp.to_string())
        .header("x-mg-nonce", &nonce)
        .header("x-mg-signature", signature);
    if body.is_some() {
        req = req.header("content-type", "application/json").body(bytes);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    if status.is_server_error() {
        return (status, assert_problem(res, status).await);
    }
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(server: &TestServer, name: &str) -> Value {
    let (status, _, session) = server.login(&format!("dev:{name}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session
}

async fn create(server: &TestServer, session: &Value, n: usize) -> String {
    let (s, body) = call(
        server,
        session,
        "POST",
        "/v1/collections/addresses/records",
        Some(&json!({ "line": format!("{n} Long Street"), "phone": format!("+86 1380000{n:04}"), "label": format!("l{n}") })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn collections() -> Collections {
    Collections::from_config_text(CONFIG).unwrap()
}

/// Envelopes per key id summed over every target.
async fn totals(db: &Db) -> std::collections::BTreeMap<KeyId, u64> {
    let mut out = std::collections::BTreeMap::new();
    for u in rotation::key_usage(db, &collections()).await.unwrap() {
        assert_eq!(u.malformed, 0, "{}.{}", u.table, u.column);
        for (k, n) in u.by_key {
            *out.entry(k).or_default() += n;
        }
    }
    out
}

#[tokio::test]
async fn rotation_reencrypts_everything_resumes_and_retires_only_unused_keys() {
    let dir = tempfile::tempdir().unwrap();
    // Held across restarts: the same database each time.
    let _db = TestDb::new(dir.path()).await;
    let keys_path = dir.path().join("data-keys");
    std::fs::write(&keys_path, format!("{TEST_KEYS}\n")).unwrap();

    let server = start_on(dir.path(), Keyring::from_text(TEST_KEYS).unwrap()).await;
    let alice = login(&server, "alice").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&server, &alice, n).await);
    }
    // A storage key (storage_keys) too; the login stored a session key and a signing key.
    let (s, before_key) = call(&server, &alice, "GET", "/v1/me/storage-key", None).await;
    assert_eq!(s, StatusCode::OK, "{before_key}");
    server.stop().await;

    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    let before = totals(&db).await;
    assert_eq!(before.keys().copied().collect::<Vec<_>>(), vec![KeyId(1)]);
    let all = before[&KeyId(1)];
    // 10 encrypted record fields + session key + signing key + storage key.
    assert!(all >= 13, "{before:?}");

    // Rotate: a second key in the file, the first kept.
    assert_eq!(rotation::add_key_to_file(&keys_path).unwrap(), KeyId(2));
    let ring = Keyring::from_text(&std::fs::read_to_string(&keys_path).unwrap()).unwrap();
    assert_eq!(ring.current_id(), KeyId(2));

    // An interrupted run: only 4 envelopes, in batches of 3.
    let p = rotation::reencrypt(&db, &ring, &collections(), 3, Some(4))
        .await
        .unwrap();
    assert_eq!(p.reencrypted, 4);
    assert!(!p.complete);
    let mid = totals(&db).await;
    assert_eq!(mid[&KeyId(2)], 4);
    assert_eq!(mid[&KeyId(1)], all - 4);

    // Key 1 is still in use: retiring it is refused, and so is retiring the newest.
    let err = rotation::retire_key_in_file(&keys_path, &db, &collections(), KeyId(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::KeyInUse(KeyId(1), n) if n == all - 4),
        "{err}"
    );
    let err = rotation::retire_key_in_file(&keys_path, &db, &collections(), KeyId(2))
        .await
        .unwrap_err();
    assert!(matches!(err, RotationError::NewestKey(KeyId(2))), "{err}");

    // Resumed: finishes, and a further run finds nothing to do.
    let p = rotation::reencrypt(&db, &ring, &collections(), 3, None)
        .await
        .unwrap();
    assert!(p.complete);
    assert_eq!(p.reencrypted, all - 4);
    assert_eq!(p.current, 4);
    let again = rotation::reencrypt(&db, &ring, &collections(), 3, None)
        .await
        .unwrap();
    assert_eq!((again.reencrypted, again.current), (0, all));
    assert_eq!(
        totals(&db).await,
        std::collections::BTreeMap::from([(KeyId(2), all)])
    );

    // Now key 1 can go; the file keeps only key 2.
    rotation::retire_key_in_file(&keys_path, &db, &collections(), KeyId(1))
        .await
        .unwrap();
    db.close().await;
    let ring = Keyring::from_text(&std::fs::read_to_string(&keys_path).unwrap()).unwrap();
    assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![KeyId(2)]);

    // A server with only the new key: the old login still signs (its signing key was
    // re-encrypted), every value reads back, and the storage key is the same one.
    let server = start_on(dir.path(), ring).await;
    for (n, id) in ids.iter().enumerate() {
        let (s, body) = call(
            &server,
            &alice,
            "GET",
            &format!("/v1/collections/addresses/records/{id}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["line"], format!("{n} Long Street"));
        assert_eq!(body["phone"], format!("+86 1380000{n:04}"));
    }
    let (s, after_key) = call(&server, &alice, "GET", "/v1/me/storage-key", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after_key, before_key);
    // New writes go under key 2 as well.
    create(&server, &alice, 9).await;
    server.stop().await;
    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    assert_eq!(
        totals(&db).await.keys().copied().collect::<Vec<_>>(),
        vec![KeyId(2)]
    );
    db.close().await;
}

async fn phone_envelope(location: &Location, id: &str) -> Vec<u8> {
    let mut conn = Raw::connect(location).await;
    let envelope = conn
        .blob(
            "SELECT f_phone FROM c_addresses WHERE id = $1",
            &[RawVal::Text(id)],
        )
        .await;
    conn.close().await;
    envelope
}

async fn set_phone_envelope(location: &Location, id: &str, envelope: &[u8]) {
    let mut conn = Raw::connect(location).await;
    let n = conn
        .execute(
            "UPDATE c_addresses SET f_phone = $1 WHERE id = $2",
            &[RawVal::Blob(envelope), RawVal::Text(id)],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    conn.close().await;
}

#[tokio::test]
async fn tampered_swapped_and_wrong_key_envelopes_fail_loudly() {
    let dir = tempfile::tempdir().unwrap();
    // Held across restarts: the same database each time.
    let _db = TestDb::new(dir.path()).await;
    let server = start_on(dir.path(), test_keyring()).await;
    let alice = login(&server, "alice").await;
    let a = create(&server, &alice, 1).await;
    let b = create(&server, &alice, 2).await;
    let db_path = server.db.clone();
    let path_a = format!("/v1/collections/addresses/records/{a}");
    let original = phone_envelope(&db_path, &a).await;

    let get_a = || call(&server, &alice, "GET", &path_a, None);
    let (s, body) = get_a().await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["phone"], "+86 13800000001");

    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("tampered ciphertext", {
            let mut e = original.clone();
            let last = e.len() - 1;
            e[last] ^= 1;
            e
        }),
        ("tampered key id header", {
            let mut e = original.clone();
            e[4] ^= 1;
            e
        }),
        // Record B's envelope moved into record A's row: bound to B's id, it must not open.
        (
            "swapped from another row",
            phone_envelope(&db_path, &b).await,
        ),
        // Same key id, same associated data, another key.
        ("wrong key", {
            let other = Keyring::new(KeyId(1), Key::generate().unwrap());
            other
                .encrypt(
                    b"\"+86 13999999999\"",
                    &AssociatedData::field("c_addresses", "phone", &a),
                )
                .unwrap()
        }),
        ("truncated", original[..original.len() - 20].to_vec()),
    ];
    for (what, envelope) in &damaged {
        set_phone_envelope(&db_path, &a, envelope).await;
        let (s, body) = get_a().await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{what}: {body}");
        let text = body.to_string();
        assert!(!text.contains("13800000002"), "{what}: {text}");
        assert!(!text.contains("13999999999"), "{what}: {text}");
        // The list fails too rather than answering garbage or skipping the row.
        let (s, _) = call(
            &server,
            &alice,
            "GET",
            "/v1/collections/addresses/records",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        // A re-encryption run refuses to continue over it, naming the row, and leaves it as is.
        let ring = test_keyring();
        let db = Db::open_at(&db_path).await.unwrap();
        let err = rotation::reencrypt(&db, &ring, &collections(), 100, None)
            .await
            .unwrap_err();
        db.close().await;
        match &err {
            RotationError::Envelope { table, row, .. } if table == "c_addresses" => {
                assert_eq!(row, &a, "{what}");
            }
            other => panic!("{what}: {other}"),
        }
        assert_eq!(&phone_envelope(&db_path, &a).await, envelope, "{what}");
    }

    // Restored, it reads again (the failures were the envelope, not the server).
    set_phone_envelope(&db_path, &a, &original).await;
    let (s, body) = get_a().await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["phone"], "+86 13800000001");
    server.stop().await;

    // A server given a wrong keyring (same id, other key) cannot open anything: not even the
    // session's signing key, so the login is refused, and records never come back as garbage.
    let wrong = Keyring::new(KeyId(1), Key::generate().unwrap());
    let server = start_on(dir.path(), wrong).await;
    let res = signed_request(&server, &alice, &path_a).await;
    assert!(
        res.status() == StatusCode::UNAUTHORIZED
            || res.status() == StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        res.status()
    );
    let status = res.status();
    let body = assert_problem(res, status).await;
    assert!(!body.to_string().contains("13800000001"));
    // And a rotation with that keyring refuses at the first envelope.
    server.stop().await;
    let db = Db::open_at(&db_path).await.unwrap();
    let mut ring = Keyring::new(KeyId(1), Key::generate().unwrap());
    ring.rotate(Key::generate().unwrap()).unwrap();
    let err = rotation::reencrypt(&db, &ring, &collections(), 100, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RotationError::Envelope { .. }), "{err}");
    db.close().await;
}

async fn signed_request(server: &TestServer, session: &Value, path: &str) -> reqwest::Response {
    let nonce = generate_nonce().unwrap();
    signed_at(server, "GET", path, b"", session, unix_now(), &nonce).await
}

/// A signed request with a raw body and a Content-Type.
async fn raw(
    server: &TestServer,
    session: &Value,
    method: &str,
    path_and_query: &str,
    content_type: &str,
    body: &[u8],
) -> reqwest::Response {
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let nonce = generate_nonce().unwrap();
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

/// A PNG of exactly `len` bytes (at least 57): its chunks well-formed up to `IEND`, the
/// `IDAT` filled with a pattern (uploads are checked for structure, not decoded).
fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        v.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend_from_slice(&[0, 0, 0, 0]);
    };
    chunk(b"IHDR", &[0; 13]);
    let idat: Vec<u8> = (0..len - 57)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    assert_eq!(v.len(), len);
    v
}

fn uploads(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir.join("uploads")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn uploads_are_sniffed_bounded_stored_by_random_name_and_served_as_attachments() {
    let dir = tempfile::tempdir().unwrap();
    // Held across restarts: the same database each time.
    let _db = TestDb::new(dir.path()).await;
    let server = start_on(dir.path(), test_keyring()).await;
    let alice = login(&server, "alice").await;
    let bob = login(&server, "bob").await;
    let (s, rec) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/docs/records",
        Some(&json!({ "title": "id card" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    let id = rec["id"].as_str().unwrap();
    let files = format!("/v1/collections/docs/records/{id}/files/scan");

    // Good: a PNG, its Unicode name kept, its path parts dropped.
    let image = png(600);
    let q = "?name=..%2F..%2F%E7%85%A7%E7%89%87%201.png";
    let res = raw(
        &server,
        &alice,
        "POST",
        &format!("{files}{q}"),
        "image/png",
        &image,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let meta = &body["scan"];
    assert_eq!(meta["name"], "照片 1.png");
    assert_eq!(meta["size"], 600);
    assert_eq!(meta["type"], "image/png");
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64, "{meta}");
    assert!(meta.get("blob").is_none(), "{meta}");
    let stored = uploads(dir.path());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32);
    assert!(stored[0].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        std::fs::read(dir.path().join("uploads").join(&stored[0])).unwrap(),
        image
    );
    // The record shows the same metadata.
    let (s, got) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/docs/records/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&got["scan"], meta);

    // Download: the bytes, as an attachment, with the sniffed type and nosniff.
    let res = raw(
        &server,
        &alice,
        "GET",
        &files,
        "application/octet-stream",
        b"",
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"__ 1.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87%201.png"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), image.as_slice());

    // Refused: a PDF body declared as PNG, HTML declared as PNG, a declared type the field
    // does not allow, too big for the field, too big for the server, empty.
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        (
            "image/png",
            b"%PDF-1.7 not a png".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "image/png",
            b"<html><script>alert(1)</script>".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("application/pdf", png(100), StatusCode::BAD_REQUEST),
        (
            "image/gif",
            b"GIF89a......".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "text/html",
            b"<html>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("image/png", png(1025), StatusCode::PAYLOAD_TOO_LARGE),
        ("image/png", png(20 * 1024), StatusCode::PAYLOAD_TOO_LARGE),
        ("image/png", Vec::new(), StatusCode::BAD_REQUEST),
    ];
    for (ct, bytes, want) in cases {
        let res = raw(&server, &alice, "POST", &files, ct, &bytes).await;
        assert_problem(res, want).await;
    }
    // Nothing new stored, the first file still served.
    assert_eq!(uploads(dir.path()), stored);

    // Another user's record: neither upload nor download, and it looks absent.
    let res = raw(&server, &bob, "POST", &files, "image/png", &png(100)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = raw(&server, &bob, "GET", &files, "image/png", b"").await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    // Path tricks in the field: no such field.
    for bad in ["..%2F..%2Fminiguard.db", "title", "nope"] {
        let res = raw(
            &server,
            &alice,
            "GET",
            &format!("/v1/collections/docs/records/{id}/files/{bad}"),
            "image/png",
            b"",
        )
        .await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
    }
    // The field cannot be set through JSON (it would point at any stored blob).
    let (s, body) = call(
        &server,
        &alice,
        "PATCH",
        &format!("/v1/collections/docs/records/{id}"),
        Some(&json!({ "scan": { "name": "x", "blob": "../../miniguard.db" } })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // Replacing the file removes the old blob; a PDF is accepted as well.
    let pdf = b"%PDF-1.4\n1 0 obj\n".to_vec();
    let res = raw(
        &server,
        &alice,
        "POST",
        &format!("{files}?name=scan.pdf"),
        "application/pdf",
        &pdf,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let now = uploads(dir.path());
    assert_eq!(now.len(), 1);
    assert_ne!(now, stored);
    let res = raw(&server, &alice, "GET", &files, "image/png", b"").await;
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().as_ref(), pdf.as_slice());

    // Bytes changed on disk are never served.
    std::fs::write(dir.path().join("uploads").join(&now[0]), b"%PDF-1.4 evil").unwrap();
    let res = raw(&server, &alice, "GET", &files, "image/png", b"").await;
    assert_problem(res, StatusCode::INTERNAL_SERVER_ERROR).await;
    server.stop().await;
}

fn example_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/secure-app/miniguard.toml")
}

#[test]
fn the_secure_app_example_config_loads() {
    let c =
        miniguard_server::config::ServerSettings::collections_from_file(&example_config()).unwrap();
    let names: Vec<_> = c.by_name.keys().cloned().collect();
    assert_eq!(names, ["addresses", "goods", "orders"]);
    let addresses = c.get("addresses").unwrap();
    for f in ["recipient", "phone", "address"] {
        assert!(addresses.field(f).unwrap().encrypted, "{f}");
    }
    assert!(matches!(
        c.get("goods").unwrap().field("photo").unwrap().ty,
        miniguard_server::data::schema::FieldType::File { max, .. } if max == 2 * 1024 * 1024
    ));
    // The example names its image hosts: without a list no remote image would be kept.
    assert_eq!(
        miniguard_server::config::ServerSettings::dev_image_hosts_from_file(&example_config())
            .unwrap(),
        ["img.shop.example.com"]
    );
}

/// Runs `mg-curl.py ARGS` with the session file and certificate; (exit code, stdout).
async fn mg_curl(base: &str, cacert: &Path, session: &Path, args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/secure-app/mg-curl.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(script)
        .args(args)
        .arg("--base")
        .arg(base)
        .arg("--cacert")
        .arg(cacert)
        .arg("--session")
        .arg(session)
        .stderr(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn mg_curl_walks_through_the_secure_app_example() {
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 is not available; skipping the mg-curl.py walk-through");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Held across restarts: the same database each time.
    let _db = TestDb::new(dir.path()).await;
    let collections =
        miniguard_server::config::ServerSettings::collections_from_file(&example_config()).unwrap();
    let (server, pem) = start_serving(dir.path(), test_keyring(), collections).await;
    let cacert = dir.path().join("cert.pem");
    std::fs::write(&cacert, pem).unwrap();
    let alice = dir.path().join("alice.json");
    let staff = dir.path().join("staff.json");
    let base = server.base.clone();
    let run = |session: &Path, args: &[&str]| {
        let (base, cacert, session) = (base.clone(), cacert.clone(), session.to_path_buf());
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            mg_curl(&base, &cacert, &session, &args).await
        }
    };

    // The script reproduces the protocol's test vectors.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crypto/tests/vectors/signing.json")
        .display()
        .to_string();
    assert_eq!(run(&alice, &["--check-vectors", &vectors]).await.0, 0);

    let (code, out) = run(&alice, &["login", "dev:alice"]).await;
    assert_eq!(code, 0, "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&alice).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out) = run(&staff, &["login", "dev:sam"]).await;
    assert_eq!(code, 0, "{out}");
    let sam: Value = serde_json::from_str(&out).unwrap();
    let db = Db::open_at(&server.db).await.unwrap();
    db.grant_role(
        miniguard_server::db::UserId(sam["user"]["id"].as_i64().unwrap()),
        "operator",
    )
    .await
    .unwrap();
    db.close().await;

    // Alice may not stock the shop; staff may.
    let tea = r#"{"name":"Oolong tea","price_cents":1200,"status":"on_sale","cost_cents":700}"#;
    let (code, out) = run(&alice, &["POST", "/v1/collections/goods/records", tea]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"status\":403"), "{out}");
    let (code, out) = run(&staff, &["POST", "/v1/collections/goods/records", tea]).await;
    assert_eq!(code, 0, "{out}");
    let good: Value = serde_json::from_str(&out).unwrap();
    let good_id = good["id"].as_str().unwrap();
    // Alice sees the goods without the staff-only cost.
    let (code, out) = run(
        &alice,
        &[
            "GET",
            "/v1/collections/goods/records?filter=status%20%3D%20%22on_sale%22",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["items"][0]["name"], "Oolong tea", "{list}");
    assert!(list["items"][0].get("cost_cents").is_none(), "{list}");

    // A photo upload and download.
    let photo = dir.path().join("tea.png");
    std::fs::write(&photo, png(300)).unwrap();
    let at_photo = format!("@{}", photo.display());
    let upload = format!("/v1/collections/goods/records/{good_id}/files/photo?name=tea.png");
    let (code, out) = run(&staff, &["POST", &upload, &at_photo, "--type", "image/png"]).await;
    assert_eq!(code, 0, "{out}");
    let got = dir.path().join("got.png");
    let download = format!("/v1/collections/goods/records/{good_id}/files/photo");
    let (code, _) = run(
        &alice,
        &["GET", &download, "--out", &got.display().to_string()],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(&got).unwrap(), png(300));

    // An address, encrypted at rest, and an order pointing at it.
    let (code, out) = run(
        &alice,
        &[
            "POST",
            "/v1/collections/addresses/records",
            r#"{"label":"home","recipient":"Alice","phone":"+86 13800000000","address":"1 Long Street"}"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let address: Value = serde_json::from_str(&out).unwrap();
    let order = json!({ "item": good_id, "quantity": 2, "address": address["id"] }).to_string();
    let (code, out) = run(&alice, &["POST", "/v1/collections/orders/records", &order]).await;
    assert_eq!(code, 0, "{out}");
    let order: Value = serde_json::from_str(&out).unwrap();
    let order_path = format!(
        "/v1/collections/orders/records/{}",
        order["id"].as_str().unwrap()
    );
    // Staff read it but not her address; deleting the order needs an admin with a fresh MFA.
    let (code, _) = run(&staff, &["GET", &order_path]).await;
    assert_eq!(code, 0);
    let address_path = format!(
        "/v1/collections/addresses/records/{}",
        address["id"].as_str().unwrap()
    );
    let (code, out) = run(&staff, &["GET", &address_path]).await;
    assert_eq!(code, 1);
    assert!(out.contains("\"status\":404"), "{out}");
    let (code, out) = run(&alice, &["DELETE", &order_path]).await;
    assert_eq!(code, 1);
    assert!(out.contains("\"status\":403"), "{out}");
    // Alice cannot mark her own order paid.
    let (code, out) = run(&alice, &["PATCH", &order_path, r#"{"status":"paid"}"#]).await;
    assert_eq!(code, 1, "{out}");
    // The stored phone number is ciphertext.
    let needle = b"13800000000";
    if let Some(path) = server.db.sqlite_path() {
        let raw = std::fs::read(path).unwrap();
        let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
        assert!(!wal.windows(needle.len()).any(|w| w == needle));
    } else {
        // PostgreSQL: what the server stored, read over a plain connection.
        let mut conn = Raw::connect(&server.db).await;
        let stored = conn
            .blob(
                "SELECT f_phone FROM c_addresses WHERE id = $1",
                &[RawVal::Text(address["id"].as_str().unwrap())],
            )
            .await;
        assert!(!stored.windows(needle.len()).any(|w| w == needle));
        conn.close().await;
    }
    server.stop().await;
}
