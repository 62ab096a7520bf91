//! The example shop's own rules over real HTTPS (issue 9, item 10): an order is frozen for its
//! buyer once it is stored as paid (`stored.status`), and admins read orders.

mod common;

use std::path::Path;

use common::*;
use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{RequestParts, SigningKey};
use miniguard_server::config::ServerSettings;
use miniguard_server::db::{Db, UserId};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server with the collections of `examples/secure-app/miniguard.toml`.
async fn start_example() -> TestServer {
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/secure-app/miniguard.toml");
    let collections = ServerSettings::collections_from_file(&config).unwrap();
    TestServer::start_collections(collections, test_options()).await
}

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
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login_with_role(server: &TestServer, name: &str, role: Option<&str>) -> Value {
    let (status, _, session) = server.login(&format!("dev:{name}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    if let Some(role) = role {
        let db = Db::open_at(&server.db).await.unwrap();
        db.grant_role(UserId(session["user"]["id"].as_i64().unwrap()), role)
            .await
            .unwrap();
        db.close().await;
    }
    session
}

#[tokio::test]
async fn a_paid_order_is_frozen_for_its_buyer_and_admins_read_orders() {
    let server = start_example().await;
    let buyer = login_with_role(&server, "alice", None).await;
    let operator = login_with_role(&server, "sam", Some("operator")).await;
    let admin = login_with_role(&server, "ada", Some("admin")).await;

    let (status, good) = call(
        &server,
        &operator,
        "POST",
        "/v1/collections/goods/records",
        Some(&json!({ "name": "Oolong tea", "price_cents": 1200, "status": "on_sale" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    let (status, order) = call(
        &server,
        &buyer,
        "POST",
        "/v1/collections/orders/records",
        Some(&json!({ "item": good["id"], "quantity": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let path = format!(
        "/v1/collections/orders/records/{}",
        order["id"].as_str().unwrap()
    );

    // Open: the buyer changes it; the buyer cannot set the status.
    let (status, body) = call(
        &server,
        &buyer,
        "PATCH",
        &path,
        Some(&json!({ "quantity": 2 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &server,
        &buyer,
        "PATCH",
        &path,
        Some(&json!({ "status": "paid" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Staff mark it paid; from then on the buyer cannot change it, staff still can.
    let (status, body) = call(
        &server,
        &operator,
        "PATCH",
        &path,
        Some(&json!({ "status": "paid" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &server,
        &buyer,
        "PATCH",
        &path,
        Some(&json!({ "quantity": 3 })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(&server, &buyer, "GET", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["quantity"], 2);
    assert_eq!(body["status"], "paid");

    // An admin reads orders (and the list), a stranger does not.
    let (status, body) = call(&server, &admin, "GET", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &server,
        &admin,
        "GET",
        "/v1/collections/orders/records",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 1);
    let stranger = login_with_role(&server, "eve", None).await;
    let (status, _) = call(&server, &stranger, "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}
