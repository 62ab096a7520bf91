//! A faithful local fake of Douyin's `jscode2session` (`POST /api/apps/v2/jscode2session`, JSON
//! in and out), for tests and `serve --dev`:
//!
//! | case | `err_no` |
//! |---|---|
//! | neither `code` nor `anonymous_code` | 40014 |
//! | wrong `appid` | 40015 |
//! | wrong `secret` | 40017 |
//! | a `code` that is not `dev:<name>[:<n>]`, or used before | 40018 |
//! | an `anonymous_code` given (the fake knows none) | 40019 |
//! | [`FakeDouyin::inject_error`] (e.g. -1) | as injected |
//!
//! `dev:<name>` logs in a user whose openid ([`dev_openid`]) depends on the appid and the name
//! only; each code works once, and every login gets a fresh `session_key`.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, body::Bytes};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::fake::{LoopbackServer, derive, dev_name, lock};

struct FakeState {
    appid: String,
    secret: SecretString,
    used: Mutex<HashSet<String>>,
    injected: Mutex<VecDeque<i64>>,
}

/// A running fake. Dropping it stops the server.
pub struct FakeDouyin {
    server: LoopbackServer,
    state: Arc<FakeState>,
}

/// The openid the fake gives `dev:<name>` for `appid`.
pub fn dev_openid(appid: &str, name: &str) -> String {
    format!("_000{}", &derive("douyin-openid", appid, name)[..40])
}

impl FakeDouyin {
    /// Starts the fake on `127.0.0.1` with an OS-chosen port.
    pub async fn start(appid: &str, secret: SecretString) -> std::io::Result<Self> {
        let state = Arc::new(FakeState {
            appid: appid.to_owned(),
            secret,
            used: Mutex::new(HashSet::new()),
            injected: Mutex::new(VecDeque::new()),
        });
        let app = Router::new()
            .route("/api/apps/v2/jscode2session", post(jscode2session))
            .with_state(Arc::clone(&state));
        Ok(Self {
            server: LoopbackServer::start(app).await?,
            state,
        })
    }

    /// The base URL to give [`super::douyin::DouyinClient`].
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Makes the next request answer with this `err_no`.
    pub fn inject_error(&self, err_no: i64) {
        lock(&self.state.injected).push_back(err_no);
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn error(err_no: i64, tips: &str) -> serde_json::Value {
    serde_json::json!({ "err_no": err_no, "err_tips": tips, "data": null })
}

async fn jscode2session(
    State(state): State<Arc<FakeState>>,
    body: Bytes,
) -> Json<serde_json::Value> {
    Json(respond(&state, &body))
}

fn respond(state: &FakeState, body: &[u8]) -> serde_json::Value {
    if let Some(n) = lock(&state.injected).pop_front() {
        return error(
            n,
            if n == -1 {
                "system error"
            } else {
                "injected error"
            },
        );
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return error(40014, "bad params");
    };
    let text = |k: &str| v[k].as_str().filter(|s| !s.is_empty());
    let (code, anonymous) = (text("code"), text("anonymous_code"));
    if code.is_none() && anonymous.is_none() {
        return error(40014, "bad params");
    }
    if text("appid") != Some(state.appid.as_str()) {
        return error(40015, "appid error");
    }
    if text("secret") != Some(state.secret.expose_secret()) {
        return error(40017, "secret error");
    }
    if anonymous.is_some() {
        return error(40019, "anonymous_code invalid");
    }
    let code = code.unwrap_or_default();
    let Some(name) = dev_name(code) else {
        return error(40018, "code expired or invalid");
    };
    if !lock(&state.used).insert(code.to_owned()) {
        return error(40018, "code expired or invalid");
    }
    let key = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    serde_json::json!({
        "err_no": 0,
        "err_tips": "success",
        "data": {
            "session_key": key,
            "openid": dev_openid(&state.appid, name),
            "anonymous_openid": "",
            "unionid": format!("u{}", &derive("douyin-unionid", "", name)[..30]),
        }
    })
}
