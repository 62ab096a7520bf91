//! A faithful local fake of Alipay's gateway for `alipay.system.oauth.token`, for tests and
//! `serve --dev`. It takes the form POST, checks the common parameters and verifies the request's
//! RSA2 signature with the app's public key, then answers with a response object signed with its
//! own private key over the exact text it sends:
//!
//! | case | `code` / `sub_code` |
//! |---|---|
//! | `sign` missing | 40001 `isv.missing-signature` |
//! | `app_id` unknown | 40002 `isv.invalid-app-id` |
//! | `method` not `alipay.system.oauth.token` | 40002 `isv.invalid-method` |
//! | `charset`, `sign_type`, `version` or `timestamp` malformed | 40002 `isv.invalid-charset` / `isv.invalid-signature-type` / `isv.invalid-version` / `isv.invalid-timestamp` |
//! | signature does not verify | 40002 `isv.invalid-signature` |
//! | `grant_type` not `authorization_code` | 40002 `isv.grant-type-invalid` |
//! | a `code` that is not `dev:<name>[:<n>]`, or used before | 40002 `isv.code-invalid` |
//!
//! [`FakeAlipay::sign_with`] makes it sign answers with another key, so a client's refusal of a
//! forged answer can be tested.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::alipay::{
    METHOD, RESPONSE_KEY, private_key_from_pem, public_key_from_pem, rsa2_sign, rsa2_verify,
    sign_content,
};
use super::fake::{LoopbackServer, derive, dev_name, lock};
use super::wechat::WeChatConfigError;

struct FakeState {
    app_id: String,
    app_public: RsaPublicKey,
    signer: Mutex<RsaPrivateKey>,
    own: RsaPrivateKey,
    used: Mutex<HashSet<String>>,
}

/// A running fake. Dropping it stops the server.
pub struct FakeAlipay {
    server: LoopbackServer,
    state: Arc<FakeState>,
}

/// The `open_id` the fake gives `dev:<name>` for `app_id`.
pub fn dev_open_id(app_id: &str, name: &str) -> String {
    format!("074a{}", &derive("alipay-openid", app_id, name)[..40])
}

/// A fresh RSA-2048 key pair as (PKCS#8 PEM private, SPKI PEM public), for `serve --dev`.
/// Slow in unoptimized builds (seconds): tests use committed test keys instead.
pub fn generate_key_pair() -> Result<(secrecy::SecretString, String), WeChatConfigError> {
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| WeChatConfigError::BadKey(format!("generating: {e}")))?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| WeChatConfigError::BadKey(format!("encoding: {e}")))?;
    let public = RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| WeChatConfigError::BadKey(format!("encoding: {e}")))?;
    Ok((secrecy::SecretString::from(private.to_string()), public))
}

impl FakeAlipay {
    /// Starts the fake on `127.0.0.1`: it knows the app `app_id` by its public key and signs with
    /// `alipay_private_pem` (whose public half the client must be given).
    pub async fn start(
        app_id: &str,
        app_public_pem: &str,
        alipay_private_pem: &str,
    ) -> Result<Self, WeChatConfigError> {
        let own = private_key_from_pem(alipay_private_pem)?;
        let state = Arc::new(FakeState {
            app_id: app_id.to_owned(),
            app_public: public_key_from_pem(app_public_pem)?,
            signer: Mutex::new(own.clone()),
            own,
            used: Mutex::new(HashSet::new()),
        });
        let app = Router::new()
            .route("/gateway.do", post(gateway))
            .with_state(Arc::clone(&state));
        let server = LoopbackServer::start(app)
            .await
            .map_err(|e| WeChatConfigError::Client(format!("starting the fake: {e}")))?;
        Ok(Self { server, state })
    }

    /// The gateway URL to give [`super::alipay::AlipayClient`].
    pub fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.server.addr)
    }

    /// Signs answers with this private key (PEM) from now on, or with the fake's own again
    /// (`None`).
    pub fn sign_with(&self, private_pem: Option<&str>) -> Result<(), WeChatConfigError> {
        let key = match private_pem {
            Some(pem) => private_key_from_pem(pem)?,
            None => self.state.own.clone(),
        };
        *lock(&self.state.signer) = key;
        Ok(())
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn error(code: &str, msg: &str, sub_code: &str) -> (&'static str, String) {
    let inner = serde_json::json!({
        "code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_code,
    });
    ("error_response", inner.to_string())
}

fn well_formed_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

async fn gateway(State(state): State<Arc<FakeState>>, body: Bytes) -> impl IntoResponse {
    let (key, inner) = respond(&state, &body);
    // The signature covers the exact text of the object as sent.
    let signer = lock(&state.signer).clone();
    let sign = rsa2_sign(&signer, &inner).unwrap_or_default();
    let text = format!(r#"{{"{key}":{inner},"sign":"{sign}"}}"#);
    ([(header::CONTENT_TYPE, "text/html;charset=utf-8")], text)
}

fn respond(state: &FakeState, body: &[u8]) -> (&'static str, String) {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let Some(sign) = Some(get("sign")).filter(|s| !s.is_empty()) else {
        return error(
            "40001",
            "Missing Required Arguments",
            "isv.missing-signature",
        );
    };
    if get("app_id") != state.app_id {
        return error("40002", "Invalid Arguments", "isv.invalid-app-id");
    }
    if get("method") != METHOD {
        return error("40002", "Invalid Arguments", "isv.invalid-method");
    }
    if !get("charset").eq_ignore_ascii_case("utf-8") {
        return error("40002", "Invalid Arguments", "isv.invalid-charset");
    }
    if get("sign_type") != "RSA2" {
        return error("40002", "Invalid Arguments", "isv.invalid-signature-type");
    }
    if get("version") != "1.0" {
        return error("40002", "Invalid Arguments", "isv.invalid-version");
    }
    if !well_formed_timestamp(get("timestamp")) {
        return error("40002", "Invalid Arguments", "isv.invalid-timestamp");
    }
    let content = sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !rsa2_verify(&state.app_public, &content, sign) {
        return error("40002", "Invalid Arguments", "isv.invalid-signature");
    }
    if get("grant_type") != "authorization_code" {
        return error("40002", "Invalid Arguments", "isv.grant-type-invalid");
    }
    let code = get("code");
    let Some(name) = dev_name(code) else {
        return error("40002", "Invalid Arguments", "isv.code-invalid");
    };
    if !lock(&state.used).insert(code.to_owned()) {
        return error("40002", "Invalid Arguments", "isv.code-invalid");
    }
    let digits = derive("alipay-userid", &state.app_id, name)
        .bytes()
        .fold(0u64, |n, b| n.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000_000_000;
    let inner = serde_json::json!({
        "user_id": format!("2088{digits:012}"),
        "open_id": dev_open_id(&state.app_id, name),
        "access_token": format!("authusrB{}", uuid::Uuid::new_v4().simple()),
        "expires_in": 1_296_000,
        "refresh_token": format!("authusrB{}", uuid::Uuid::new_v4().simple()),
        "re_expires_in": 2_592_000,
        "auth_start": super::alipay::alipay_timestamp(
            i64::try_from(super::fake::unix_now()).unwrap_or(0)
        ),
    });
    (RESPONSE_KEY, inner.to_string())
}
