//! The data API end to end over real HTTPS on 127.0.0.1: collections from a `miniguard.toml`
//! text, signed sessions of fake-WeChat users, CRUD with every field type, filters, sorting,
//! pagination, field-level validation errors, encryption at rest, rich-text sanitizing, and a
//! table of roles x actions x collections including IDOR attempts by id and through filters.

use std::time::Duration;

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{AssociatedData, RequestParts, SigningKey};
use miniguard_server::data::Collections;
use miniguard_server::data::sanitize::sanitize_rich_text;
use miniguard_server::db::{Db, UserId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

mod common;
use common::*;

const CONFIG: &str = r#"
[collections.orders]
fields = { item = "string(1..100)", qty = "int(1..99)", note = "richtext", phone = "string encrypted", owner = "owner" }
read = "owner or role:staff"
write = "owner"
delete = "role:admin and mfa"

[collections.posts]
fields = { title = "string(1..50)", status = "enum(draft|published)", owner = "owner" }
read = "owner or status = \"published\" or role:staff"
write = "owner or role:staff"
delete = "owner or role:admin"

[collections.things]
read = "owner"
write = "owner"
delete = "owner"
[collections.things.fields]
name = "string(1..20) required"
code = "string unique"
n = "int(0..10)"
x = "float(0..1)"
flag = "bool"
kind = "enum(a|b|c)"
at = "datetime"
meta = { type = "json", schema = '{"type":"object","properties":{"k":{"type":"integer"}},"additionalProperties":false}' }
body = "richtext"
owner = "owner"
order = "relation(orders)"
secret = "string encrypted"
hidden = "string private"
fixed = "string readonly"
"#;

async fn start() -> TestServer {
    TestServer::start_collections(
        Collections::from_config_text(CONFIG).unwrap(),
        test_options(),
    )
    .await
}

/// A logged-in user: the login response and the user id.
struct User {
    session: Value,
    id: i64,
}

async fn user(server: &TestServer, name: &str, roles: &[&str]) -> User {
    let (status, _, session) = server.login(&format!("dev:{name}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let id = session["user"]["id"].as_i64().unwrap();
    if !roles.is_empty() {
        let db = Db::open_at(&server.db).await.unwrap();
        for r in roles {
            db.grant_role(UserId(id), r).await.unwrap();
        }
        db.close().await;
    }
    User { session, id }
}

/// A signed JSON request; answers the status and the body (JSON or null).
async fn call(
    server: &TestServer,
    who: &User,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let key = SigningKey::from_base64url(who.session["signing_key"].as_str().unwrap()).unwrap();
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
        body: &bytes,
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    let mut req = server
        .client()
        .request(method.parse().unwrap(), server.url(path_and_query))
        .bearer_auth(who.session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", timestamp.to_string())
        .header("x-mg-nonce", &nonce)
        .header("x-mg-signature", signature);
    if body.is_some() {
        req = req.header("content-type", "application/json").body(bytes);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{status}"
        );
    }
    assert_security_headers(res.headers());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// `?filter=...&sort=...` encoded as a form, which the server decodes.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn crud_with_every_field_type_and_encryption_at_rest() {
    let server = start().await;
    let alice = user(&server, "alice", &[]).await;
    let (s, order) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/orders/records",
        Some(&json!({ "item": "green tea", "qty": 2, "phone": "13800138000" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order_id.len(), 32);
    assert_eq!(order["owner"], alice.id);
    assert_eq!(order["phone"], "13800138000");

    let thing = json!({
        "name": "first",
        "code": "A-1",
        "n": 3,
        "x": 0.5,
        "flag": true,
        "kind": "b",
        "at": "2024-02-29T20:34:56.789+08:00",
        "meta": { "k": 7 },
        "body": "<p style=\"color: red\" onclick=\"alert(1)\">hi <script>alert(2)</script><img src=\"javascript:alert(3)\"></p>",
        "order": order_id,
        "secret": "s3cret-value",
        "hidden": "only rules see this",
        "fixed": "set once",
    });
    let (s, created) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/things/records",
        Some(&thing),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "first");
    assert_eq!(created["n"], 3);
    assert_eq!(created["x"], 0.5);
    assert_eq!(created["flag"], true);
    assert_eq!(created["kind"], "b");
    assert_eq!(created["at"], "2024-02-29T12:34:56.789Z");
    assert_eq!(created["meta"], json!({ "k": 7 }));
    assert_eq!(created["body"], "<p style=\"color: red\">hi <img></p>");
    assert_eq!(created["order"], order_id.as_str());
    assert_eq!(created["secret"], "s3cret-value");
    assert!(
        created.get("hidden").is_none(),
        "private fields are never returned"
    );
    assert!(created["created"].as_str().unwrap().ends_with('Z'));

    let (s, got) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/things/records/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, created);

    // At rest: the encrypted field is an envelope bound to table, field and record id.
    let mut conn = Raw::connect(&server.db).await;
    let envelope = conn
        .blob(
            "SELECT f_secret FROM c_things WHERE id = $1",
            &[RawVal::Text(&id)],
        )
        .await;
    assert!(!envelope.windows(b"s3cret".len()).any(|w| w == b"s3cret"));
    assert_eq!(envelope[0], 1, "envelope version");
    assert_eq!(&envelope[1..5], &1u32.to_be_bytes(), "key id");
    let plain = test_keyring()
        .decrypt(&envelope, &AssociatedData::field("c_things", "secret", &id))
        .unwrap();
    assert_eq!(&plain[..], b"\"s3cret-value\"");
    assert!(
        test_keyring()
            .decrypt(
                &envelope,
                &AssociatedData::field("c_things", "secret", "other")
            )
            .is_err()
    );
    let hidden = conn
        .text(
            "SELECT f_hidden FROM c_things WHERE id = $1",
            &[RawVal::Text(&id)],
        )
        .await;
    assert_eq!(hidden, "only rules see this");
    conn.close().await;

    // Update: typed, partial; the read-only field refuses a change.
    let path = format!("/v1/collections/things/records/{id}");
    let (s, updated) = call(
        &server,
        &alice,
        "PATCH",
        &path,
        Some(&json!({ "n": 4, "kind": null })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["n"], 4);
    assert_eq!(updated["kind"], Value::Null);
    assert_eq!(updated["secret"], "s3cret-value");
    let (s, body) = call(
        &server,
        &alice,
        "PATCH",
        &path,
        Some(&json!({ "fixed": "again" })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["fixed"]);

    // Unique field: a second record with the same code is refused with a field error.
    let (s, body) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/things/records",
        Some(&json!({ "name": "second", "code": "A-1" })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["code"]);
    assert_eq!(body["errors"][0]["message"], "already taken");

    // A relation to a record that does not exist (or that the caller cannot read) is refused.
    let (s, body) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/things/records",
        Some(&json!({ "name": "third", "order": "0".repeat(32) })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["order"]);

    let (s, list) = call(
        &server,
        &alice,
        "GET",
        "/v1/collections/things/records",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["page"], 1);
    assert_eq!(list["per_page"], 20);
    assert_eq!(list["items"][0]["id"], id.as_str());

    let (s, _) = call(&server, &alice, "DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&server, &alice, "GET", &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&server, &alice, "GET", "/v1/collections/nope/records", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Without a signed session, nothing.
    let res = server
        .client()
        .get(server.url("/v1/collections/things/records"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_writes_answer_400_with_field_level_errors() {
    let server = start().await;
    let alice = user(&server, "alice", &[]).await;
    let (s, body) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/things/records",
        Some(&json!({
            "n": 11, "x": "0.5", "flag": 1, "kind": "d", "at": "yesterday",
            "meta": { "k": "seven" }, "owner": 99, "surprise": true, "code": 5,
        })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "urn:miniguard:problem:invalid-record");
    assert_eq!(
        error_fields(&body),
        [
            "at", "code", "flag", "kind", "meta", "n", "name", "owner", "surprise", "x"
        ]
    );
    let by_field = |f: &str| {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == f)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(by_field("n"), "must be an integer from 0 to 10");
    assert_eq!(by_field("surprise"), "unknown field");
    assert_eq!(by_field("name"), "required");
    assert_eq!(by_field("owner"), "set by the server");
    // Not an object, not JSON.
    let (s, _) = call(
        &server,
        &alice,
        "POST",
        "/v1/collections/things/records",
        Some(&json!([1])),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Nothing was stored.
    let (_, list) = call(
        &server,
        &alice,
        "GET",
        "/v1/collections/things/records",
        None,
    )
    .await;
    assert_eq!(list["total"], 0);
    server.stop().await;
}

#[tokio::test]
async fn filters_sort_and_pagination() {
    let server = start().await;
    let alice = user(&server, "alice", &[]).await;
    for i in 1..=30 {
        let item = if i % 2 == 0 {
            format!("tea {i}")
        } else {
            format!("coffee {i}")
        };
        let (s, _) = call(
            &server,
            &alice,
            "POST",
            "/v1/collections/orders/records",
            Some(&json!({ "item": item, "qty": i })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // The issue's example: qty>2 and item~"tea", newest first, page 2.
    let q = query(&[
        ("filter", "qty>2 and item~\"tea\""),
        ("sort", "-qty"),
        ("page", "2"),
        ("per_page", "5"),
    ]);
    let (s, list) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/orders/records?{q}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 14, "even qty 4..=30");
    assert_eq!(list["page"], 2);
    let qtys: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["qty"].as_i64().unwrap())
        .collect();
    assert_eq!(qtys, [20, 18, 16, 14, 12]);
    // Default sort is newest first; ascending sort and not/or/parentheses.
    let q = query(&[
        ("filter", "not (qty <= 27 or item ~ \"tea\")"),
        ("sort", "qty"),
    ]);
    let (_, list) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/orders/records?{q}"),
        None,
    )
    .await;
    let qtys: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["qty"].as_i64().unwrap())
        .collect();
    assert_eq!(qtys, [29]);
    // SQL in a literal is a literal.
    let q = query(&[("filter", "item = \"x' OR 1=1; DROP TABLE c_orders; --\"")]);
    let (s, list) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/orders/records?{q}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 0);
    let (_, list) = call(
        &server,
        &alice,
        "GET",
        "/v1/collections/orders/records",
        None,
    )
    .await;
    assert_eq!(list["total"], 30, "the table is intact");
    // Refused filters and parameters, each naming what was wrong.
    for (pairs, field) in [
        (vec![("filter", "phone = \"1\"")], "filter"),
        (vec![("filter", "nope = 1")], "filter"),
        (vec![("filter", "qty = \"2\"")], "filter"),
        (vec![("filter", "qty = 1) or (1 = 1")], "filter"),
        (vec![("filter", "qty = 1; DROP TABLE users")], "filter"),
        (vec![("sort", "phone")], "sort"),
        (vec![("sort", "qty desc")], "sort"),
        (vec![("page", "0")], "page"),
        (vec![("per_page", "1000")], "per_page"),
        (vec![("page", "99999999999")], "page"),
        (vec![("limit", "1")], "query"),
    ] {
        let q = query(&pairs);
        let (s, body) = call(
            &server,
            &alice,
            "GET",
            &format!("/v1/collections/orders/records?{q}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert_eq!(error_fields(&body), [field], "{pairs:?}");
    }
    let deep = format!("{}qty = 1{}", "(".repeat(50), ")".repeat(50));
    let q = query(&[("filter", &deep)]);
    let (s, _) = call(
        &server,
        &alice,
        "GET",
        &format!("/v1/collections/orders/records?{q}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    server.stop().await;
}

/// Who does what to which record, and what they get.
#[tokio::test]
async fn authorization_table_roles_actions_collections_and_idor() {
    let server = start().await;
    let alice = user(&server, "alice", &[]).await;
    let bob = user(&server, "bob", &[]).await;
    let carol = user(&server, "carol", &["staff"]).await;
    let dave = user(&server, "dave", &["admin"]).await;

    let create = |who: &'static str, coll: &'static str, body: Value| (who, coll, body);
    let mut ids = std::collections::HashMap::new();
    for (who, coll, body) in [
        create(
            "alice",
            "orders",
            json!({ "item": "alice tea", "qty": 1, "phone": "111" }),
        ),
        create(
            "bob",
            "orders",
            json!({ "item": "bob tea", "qty": 2, "phone": "222" }),
        ),
        create(
            "alice",
            "posts",
            json!({ "title": "alice draft", "status": "draft" }),
        ),
        create(
            "alice",
            "posts",
            json!({ "title": "alice pub", "status": "published" }),
        ),
        create(
            "bob",
            "posts",
            json!({ "title": "bob draft", "status": "draft" }),
        ),
    ] {
        let u = match who {
            "alice" => &alice,
            _ => &bob,
        };
        let (s, rec) = call(
            &server,
            u,
            "POST",
            &format!("/v1/collections/{coll}/records"),
            Some(&body),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{rec}");
        ids.insert(
            body["item"]
                .as_str()
                .or(body["title"].as_str())
                .unwrap()
                .to_owned(),
            rec["id"].as_str().unwrap().to_owned(),
        );
    }
    let users = [
        ("alice", &alice),
        ("bob", &bob),
        ("carol", &carol),
        ("dave", &dave),
    ];
    let get_user = |n: &str| users.iter().find(|(k, _)| *k == n).unwrap().1;

    // (user, action, collection, record, expected status)
    let table: &[(&str, &str, &str, &str, StatusCode)] = &[
        // Orders: owner or staff read; owner writes; admin with a fresh step-up deletes.
        ("alice", "GET", "orders", "alice tea", StatusCode::OK),
        ("bob", "GET", "orders", "alice tea", StatusCode::NOT_FOUND),
        ("bob", "PATCH", "orders", "alice tea", StatusCode::NOT_FOUND),
        (
            "bob",
            "DELETE",
            "orders",
            "alice tea",
            StatusCode::NOT_FOUND,
        ),
        ("carol", "GET", "orders", "alice tea", StatusCode::OK),
        (
            "carol",
            "PATCH",
            "orders",
            "alice tea",
            StatusCode::FORBIDDEN,
        ),
        (
            "carol",
            "DELETE",
            "orders",
            "alice tea",
            StatusCode::FORBIDDEN,
        ),
        ("dave", "GET", "orders", "alice tea", StatusCode::NOT_FOUND),
        (
            "dave",
            "DELETE",
            "orders",
            "alice tea",
            StatusCode::NOT_FOUND,
        ),
        (
            "alice",
            "DELETE",
            "orders",
            "alice tea",
            StatusCode::FORBIDDEN,
        ),
        ("alice", "PATCH", "orders", "alice tea", StatusCode::OK),
        ("alice", "GET", "orders", "bob tea", StatusCode::NOT_FOUND),
        ("alice", "PATCH", "orders", "bob tea", StatusCode::NOT_FOUND),
        (
            "alice",
            "DELETE",
            "orders",
            "bob tea",
            StatusCode::NOT_FOUND,
        ),
        // Posts: published ones are public; staff edit; owner or admin delete.
        ("bob", "GET", "posts", "alice pub", StatusCode::OK),
        ("bob", "GET", "posts", "alice draft", StatusCode::NOT_FOUND),
        ("bob", "PATCH", "posts", "alice pub", StatusCode::FORBIDDEN),
        ("bob", "DELETE", "posts", "alice pub", StatusCode::FORBIDDEN),
        (
            "bob",
            "PATCH",
            "posts",
            "alice draft",
            StatusCode::NOT_FOUND,
        ),
        ("carol", "GET", "posts", "bob draft", StatusCode::OK),
        ("carol", "PATCH", "posts", "bob draft", StatusCode::OK),
        (
            "carol",
            "DELETE",
            "posts",
            "bob draft",
            StatusCode::FORBIDDEN,
        ),
        ("dave", "GET", "posts", "bob draft", StatusCode::NOT_FOUND),
        (
            "dave",
            "DELETE",
            "posts",
            "alice pub",
            StatusCode::NO_CONTENT,
        ),
        ("alice", "GET", "posts", "alice draft", StatusCode::OK),
        (
            "alice",
            "DELETE",
            "posts",
            "alice draft",
            StatusCode::NO_CONTENT,
        ),
    ];
    for (who, method, coll, record, expected) in table {
        let id = &ids[*record];
        let body = match (*method, *coll) {
            ("PATCH", "orders") => Some(json!({ "qty": 5 })),
            ("PATCH", _) => Some(json!({ "title": "edited" })),
            _ => None,
        };
        let (s, res) = call(
            &server,
            get_user(who),
            method,
            &format!("/v1/collections/{coll}/records/{id}"),
            body.as_ref(),
        )
        .await;
        assert_eq!(s, *expected, "{who} {method} {coll} {record}: {res}");
        if s == StatusCode::OK && *method == "GET" && *coll == "orders" {
            assert!(res["phone"].is_string());
        }
    }
    // The refused PATCHes changed nothing.
    let (_, bob_order) = call(
        &server,
        &bob,
        "GET",
        &format!("/v1/collections/orders/records/{}", ids["bob tea"]),
        None,
    )
    .await;
    assert_eq!(bob_order["qty"], 2);

    // IDOR through lists and filters: totals and items never include another user's records.
    for (who, coll, filter, total) in [
        ("bob", "orders", None, 1),
        (
            "bob",
            "orders",
            Some(format!("id = \"{}\"", ids["alice tea"])),
            0,
        ),
        ("bob", "orders", Some(format!("owner = {}", alice.id)), 0),
        (
            "bob",
            "orders",
            Some("item ~ \"alice\" or qty > 0".to_owned()),
            1,
        ),
        ("bob", "orders", Some("not item = \"x\"".to_owned()), 1),
        ("alice", "orders", None, 1),
        ("carol", "orders", None, 2),
        ("dave", "orders", None, 0),
        ("bob", "posts", None, 1),
        ("alice", "posts", None, 0),
        ("carol", "posts", None, 1),
    ] {
        let path = match &filter {
            Some(f) => format!("/v1/collections/{coll}/records?{}", query(&[("filter", f)])),
            None => format!("/v1/collections/{coll}/records"),
        };
        let (s, list) = call(&server, get_user(who), "GET", &path, None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["total"], total, "{who} {coll} {filter:?}: {list}");
        assert_eq!(
            i64::try_from(list["items"].as_array().unwrap().len()).unwrap(),
            total
        );
        if who == "bob" {
            for item in list["items"].as_array().unwrap() {
                assert_eq!(item["owner"], bob.id, "{item}");
            }
        }
    }
    // Bob cannot create for Alice, nor move his post to her.
    let (s, body) = call(
        &server,
        &bob,
        "POST",
        "/v1/collections/orders/records",
        Some(&json!({ "item": "x", "owner": alice.id })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["owner"]);
    // Denials of existing records are audited.
    let denied: Vec<Value> = audit(&server.db)
        .await
        .into_iter()
        .filter(|(a, _)| a == "authz.denied")
        .map(|(_, d)| d)
        .collect();
    assert!(denied.len() >= 14, "{denied:?}");
    assert!(denied.iter().any(|d| d["action"] == "delete"
        && d["collection"] == "orders"
        && d["user_id"] == alice.id));
    assert!(
        denied
            .iter()
            .any(|d| d["action"] == "read" && d["user_id"] == bob.id)
    );
    server.stop().await;
}

#[tokio::test]
async fn rich_text_is_sanitized_over_http() {
    let server = start().await;
    let alice = user(&server, "alice", &[]).await;
    for payload in payloads().into_iter().take(40) {
        let (s, rec) = call(
            &server,
            &alice,
            "POST",
            "/v1/collections/orders/records",
            Some(&json!({ "item": "x", "note": payload })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{payload}");
        assert_safe(&payload, rec["note"].as_str().unwrap());
    }
    server.stop().await;
}

fn payloads() -> Vec<String> {
    include_str!("fixtures/xss_payloads.txt")
        .lines()
        .filter(|l| !l.starts_with("# ") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Attributes the rich-text whitelist allows.
const ALLOWED_ATTRS: [&str; 11] = [
    "class", "style", "span", "width", "alt", "src", "height", "start", "type", "colspan",
    "rowspan",
];

/// No script execution vector in sanitized output: every `<` starts a whitelisted tag (ammonia
/// escapes the rest), no event handler or other attribute outside the whitelist, and no
/// dangerous URL scheme or CSS function in any attribute value.
fn assert_safe(payload: &str, out: &str) {
    let lower = out.to_ascii_lowercase();
    for bad in [
        "<script", "<iframe", "<object", "<embed", "<svg", "<style", "<link", "<meta", "<base",
        "<form", "<math",
    ] {
        assert!(!lower.contains(bad), "{bad} in {out:?} from {payload:?}");
    }
    let mut rest = out;
    while let Some(start) = rest.find('<') {
        let tag_end = rest[start..].find('>').map_or(rest.len(), |e| start + e);
        let tag = &rest[start + 1..tag_end];
        rest = &rest[tag_end.min(rest.len())..];
        let tag = tag.trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(
            miniguard_server::data::sanitize::TAGS.contains(&name.as_str()),
            "tag {name:?} in {out:?} from {payload:?}"
        );
        // Attributes: name="value" pairs as html5ever serializes them.
        let mut attrs = &tag[name.len()..];
        while let Some(eq) = attrs.find("=\"") {
            let attr_name = attrs[..eq].trim().to_ascii_lowercase();
            let value_end = attrs[eq + 2..]
                .find('"')
                .map_or(attrs.len(), |e| eq + 2 + e);
            let value = &attrs[eq + 2..value_end];
            assert!(
                ALLOWED_ATTRS.contains(&attr_name.as_str()) || attr_name == "dir",
                "attribute {attr_name:?} in {out:?} from {payload:?}"
            );
            assert!(!attr_name.starts_with("on"), "{out:?}");
            let squashed: String = value
                .to_ascii_lowercase()
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect();
            for bad in [
                "javascript:",
                "vbscript:",
                "livescript:",
                "data:",
                "expression(",
                "url(",
                "\\",
                "behavior",
                "binding",
                "&#",
                "@import",
            ] {
                assert!(
                    !squashed.contains(bad),
                    "{bad} in attribute of {out:?} from {payload:?}"
                );
            }
            if attr_name == "src" {
                assert!(
                    squashed.starts_with("https://") || squashed.starts_with("http://"),
                    "{out:?}"
                );
            }
            attrs = &attrs[(value_end + 1).min(attrs.len())..];
        }
    }
}

#[test]
fn the_xss_corpus_leaves_no_script_execution_vector() {
    let corpus = payloads();
    assert!(corpus.len() >= 60, "{} payloads", corpus.len());
    for payload in &corpus {
        let out = sanitize_rich_text(payload);
        assert_safe(payload, &out);
        // Sanitizing is idempotent: what is stored is already clean.
        assert_eq!(sanitize_rich_text(&out), out, "{payload}");
    }
}

#[test]
fn the_checker_itself_catches_vectors() {
    for raw in [
        "<img src=\"javascript:alert(1)\">",
        "<p onclick=\"x\">",
        "<script>",
        "<p style=\"width: expression(1)\">",
        "<img src=\"data:x\">",
        "<blink>",
    ] {
        let caught = std::panic::catch_unwind(|| assert_safe("raw", raw)).is_err();
        assert!(caught, "{raw}");
    }
}

/// `serve --dev --config FILE` serves FILE's collections (the CLI passes what
/// `ServerSettings::collections_from_file` reads to `launch::start_dev_with`).
#[tokio::test]
async fn dev_server_serves_the_collections_of_its_config_file() {
    use miniguard_server::config::ServerSettings;
    use miniguard_server::launch::{DevOptions, start_dev_with};
    use rustls_pki_types::pem::PemObject as _;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("miniguard.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let collections = ServerSettings::collections_from_file(&config).unwrap();
    assert!(collections.get("orders").is_some());
    // On PostgreSQL when the tests are (`--dev --database-url`).
    let store = TestDb::new(dir.path()).await;
    let running = start_dev_with(
        DevOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: None,
            database_url: store.database_url(),
            redis_url: None,
            limits: None,
            rich_text_image_hosts: Vec::new(),
        },
        collections,
    )
    .await
    .unwrap();
    let base = running.url.clone();
    let cert =
        rustls_pki_types::CertificateDer::from_pem_file(running.cert_pem_path.clone().unwrap())
            .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(running.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&cert, &[&rustls::version::TLS13]))
        .build()
        .unwrap();
    let session: Value = client
        .post(format!("{base}/v1/auth/wechat/login"))
        .json(&json!({ "code": "dev:alice" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let send = |method: &str, path: &str, body: Option<Value>| {
        let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let nonce = generate_nonce().unwrap();
        let timestamp = unix_now();
        let signature = miniguard_crypto::sign(
            &key,
            &RequestParts {
                method,
                path,
                query: "",
                timestamp,
                nonce: &nonce,
                body: &bytes,
            },
        )
        .unwrap();
        client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(session["access_token"].as_str().unwrap())
            .header("x-mg-timestamp", timestamp.to_string())
            .header("x-mg-nonce", nonce)
            .header("x-mg-signature", signature)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
    };
    let created = send(
        "POST",
        "/v1/collections/orders/records",
        Some(json!({ "item": "tea", "qty": 1 })),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let list: Value = send("GET", "/v1/collections/orders/records", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let missing = send("GET", "/v1/collections/undeclared/records", None)
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// `[collections.*]` next to `[server]` reach the configured server's settings; a bad schema
/// stops the configuration with the collection and field named.
#[test]
fn server_settings_carry_the_collections() {
    use miniguard_server::config::ServerSettings;
    let server = r#"
[server]
listen = "127.0.0.1:8443"
database = "mg.db"
data_keys_env = "X"
insecure_http_behind_proxy = true
trusted_proxies = ["10.0.0.2"]
[server.wechat]
appid = "wx1"
secret_env = "Y"
"#;
    let s = ServerSettings::from_toml(&format!("{server}{CONFIG}")).unwrap();
    assert_eq!(s.collections.by_name.len(), 3);
    let bad = format!("{server}[collections.x]\nfields = {{ a = \"int(9..1)\" }}\n");
    let e = ServerSettings::from_toml(&bad).unwrap_err().to_string();
    assert!(e.contains("collections.x.fields.a"), "{e}");
}
