//! A faithful local fake of WeChat's `jscode2session`, for tests and `serve --dev`.
//!
//! It listens on a loopback port and speaks the real protocol: `GET /sns/jscode2session` with
//! `appid`, `secret`, `js_code` and `grant_type=authorization_code`, HTTP 200 and a JSON body
//! (sent as `text/plain`, as WeChat does) that is either `{openid, session_key, unionid}` or
//! `{errcode, errmsg}` with the real codes:
//!
//! | case | errcode |
//! |---|---|
//! | `js_code` missing | 41008 |
//! | wrong `appid` | 40013 |
//! | wrong `secret` | 40125 |
//! | `grant_type` not `authorization_code` | 40002 |
//! | a code that is not `dev:<name>` | 40029 |
//! | a code used before | 40163 |
//! | [`FakeWeChat::inject_error`] (e.g. 45011 rate limit, -1 busy) | as injected |
//!
//! The phone-number API is faked as well: `POST /cgi-bin/stable_token` (`grant_type`
//! `client_credential` else 40002, wrong `appid` 40013, wrong `secret` 40125; the same token is
//! returned, with its remaining life, until [`FakeWeChat::invalidate_access_tokens`] or
//! `force_refresh: true`) and `POST /wxa/business/getuserphonenumber?access_token=` (missing
//! token 41001, unknown or invalidated token 40001, a code that is not `dev:<name>[:<n>]` or was
//! used before 40029). The phone number of `dev:<name>` is [`dev_phone`]`(name)`. For the old
//! flow, [`FakeWeChat::session_key`] and [`FakeWeChat::encrypted_phone`] give tests the
//! `encryptedData`/`iv` the real client would get, encrypted with the session key this fake
//! issued at login.
//!
//! `dev:<name>` or `dev:<name>:<n>` (name and n: 1 to 64 of `[A-Za-z0-9_.-]`) logs in a test user
//! whose openid is derived from the appid and the name only, so the same name is the same user
//! across codes and runs. Like a real `wx.login` code, each code works once: log the same user in
//! again with `dev:alice:2`, `dev:alice:3`, ... Every login gets a fresh random `session_key`, as
//! with the real API.
//!
//! For SOTER biometrics it also serves `POST /cgi-bin/stable_token` (JSON `grant_type`, `appid`,
//! `secret`, `force_refresh` → `{access_token, expires_in}`; 40002, 40013, 40125 as above) and
//! `POST /cgi-bin/soter/verify_signature?access_token=` (JSON `openid`, `json_string`,
//! `json_signature` → `{errcode: 0, errmsg: "ok", is_ok}`; 40001 for an unknown token, 47001 for a
//! malformed body). The real service checks an RSA signature made by the device's TEE key; the
//! fake holds one ECDSA P-256 key per instance and checks that instead, which is faithful at the
//! HTTP protocol level, the level the server depends on. Tests make a device's signature with
//! [`FakeWeChat::sign_soter_result`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct FakeState {
    appid: String,
    secret: SecretString,
    used: Mutex<HashSet<String>>,
    injected: Mutex<VecDeque<i64>>,
    /// The latest `session_key` issued per openid.
    session_keys: Mutex<HashMap<String, String>>,
    /// The live access token and when it was issued.
    access_token: Mutex<Option<(String, std::time::Instant)>>,
    token_requests: AtomicUsize,
    phone_codes_used: Mutex<HashSet<String>>,
    /// When set, phone answers carry this appid in their watermark.
    watermark_appid: Mutex<Option<String>>,
    /// The stand-in for every device's SOTER key (see the module docs).
    soter_key: ring::signature::EcdsaKeyPair,
}

/// Lifetime of a fake access token, as WeChat's.
const TOKEN_LIFE_SECS: u64 = 7200;

/// A running fake. Dropping it stops the server.
pub struct FakeWeChat {
    addr: SocketAddr,
    state: Arc<FakeState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeWeChat {
    /// Starts the fake on `127.0.0.1` with an OS-chosen port.
    pub async fn start(appid: &str, secret: SecretString) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(FakeState {
            appid: appid.to_owned(),
            secret,
            used: Mutex::new(HashSet::new()),
            injected: Mutex::new(VecDeque::new()),
            session_keys: Mutex::new(HashMap::new()),
            access_token: Mutex::new(None),
            token_requests: AtomicUsize::new(0),
            phone_codes_used: Mutex::new(HashSet::new()),
            watermark_appid: Mutex::new(None),
            soter_key: soter_key()?,
        });
        let app = router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "fake platform server stopped");
            }
        });
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL to give [`super::wechat::WeChatClient`].
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes the next request answer with this `errcode` (45011 rate limit, -1 busy, ...).
    pub fn inject_error(&self, errcode: i64) {
        self.state
            .injected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(errcode);
    }

    /// The `session_key` most recently issued to `openid` (base64), as WeChat and the user's
    /// client would both know it. Test API, not an HTTP route.
    pub fn session_key(&self, openid: &str) -> Option<SecretString> {
        lock(&self.state.session_keys)
            .get(openid)
            .map(|k| SecretString::from(k.clone()))
    }

    /// What `getPhoneNumber` hands the old-flow client for `dev:<name>`: `(encryptedData, iv)`
    /// of the phone object with a watermark of `appid` and `timestamp`, encrypted with the
    /// session key last issued to `openid`. `None` when the fake issued `openid` no key.
    pub fn encrypted_phone(
        &self,
        openid: &str,
        name: &str,
        appid: &str,
        timestamp: u64,
    ) -> Option<(String, String)> {
        let key = self.session_key(openid)?;
        let key = miniguard_crypto::WechatSessionKey::from_base64(key.expose_secret()).ok()?;
        let payload = phone_object(name, appid, timestamp);
        miniguard_crypto::encrypt_open_data(&key, payload.to_string().as_bytes()).ok()
    }

    /// How many `stable_token` requests were answered.
    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// Invalidates the live access token (as a token fetched elsewhere or a secret reset does):
    /// calls with it get 40001, and the next `stable_token` issues a new one.
    pub fn invalidate_access_tokens(&self) {
        *lock(&self.state.access_token) = None;
    }

    /// Makes phone answers carry another app's watermark (`None` restores this app's).
    pub fn set_watermark_appid(&self, appid: Option<&str>) {
        *lock(&self.state.watermark_appid) = appid.map(str::to_owned);
    }

    /// Signs a SOTER `resultJSON` as the user's device would, for tests (base64 signature).
    pub fn sign_soter_result(&self, json_string: &str) -> String {
        let rng = ring::rand::SystemRandom::new();
        self.state
            .soter_key
            .sign(&rng, json_string.as_bytes())
            .map(|sig| base64::engine::general_purpose::STANDARD.encode(sig.as_ref()))
            .unwrap_or_default()
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeWeChat {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fake's HTTP server on `127.0.0.1`, shared by the three fakes; dropping it stops it.
pub(crate) struct LoopbackServer {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    pub(crate) async fn start(app: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "fake platform server stopped");
            }
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The openid the fake gives `dev:<name>` for `appid` (stable across runs).
pub fn dev_openid(appid: &str, name: &str) -> String {
    format!("o{}", &derive("openid", appid, name)[..27])
}

/// The phone number the fake vouches for `dev:<name>`: `138` and 8 digits derived from the
/// name (stable across runs).
pub fn dev_phone(name: &str) -> String {
    let digest = Sha256::digest(format!("miniguard-fake-phone:{name}").as_bytes());
    let mut n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    n %= 100_000_000;
    format!("138{n:08}")
}

fn phone_object(name: &str, appid: &str, timestamp: u64) -> serde_json::Value {
    let phone = dev_phone(name);
    serde_json::json!({
        "phoneNumber": phone,
        "purePhoneNumber": phone,
        "countryCode": "86",
        "watermark": { "timestamp": timestamp, "appid": appid },
    })
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) use super::unix_now;

fn dev_unionid(name: &str) -> String {
    format!("u{}", &derive("unionid", "", name)[..27])
}

pub(crate) fn derive(label: &str, appid: &str, name: &str) -> String {
    let mut h = Sha256::new();
    for part in ["miniguard-fake-wechat", label, appid, name] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

pub(crate) fn dev_name(code: &str) -> Option<&str> {
    let rest = code.strip_prefix("dev:")?;
    let (name, n) = rest
        .split_once(':')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let part = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    (part(name) && n.is_none_or(part)).then_some(name)
}

fn router(state: Arc<FakeState>) -> Router {
    Router::new()
        .route("/sns/jscode2session", get(jscode2session))
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/wxa/business/getuserphonenumber", post(get_phone))
        .route(
            "/cgi-bin/soter/verify_signature",
            post(soter_verify_signature),
        )
        .with_state(state)
}

fn soter_key() -> std::io::Result<ring::signature::EcdsaKeyPair> {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| std::io::Error::other("generating the fake SOTER key"))?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| std::io::Error::other("loading the fake SOTER key"))
}

async fn stable_token(
    State(state): State<Arc<FakeState>>,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let reply = if v["grant_type"].as_str() != Some("client_credential") {
        error(40002, "invalid grant_type")
    } else if v["appid"].as_str() != Some(state.appid.as_str()) {
        error(40013, "invalid appid")
    } else if v["secret"].as_str() != Some(state.secret.expose_secret()) {
        error(40125, "invalid appsecret")
    } else {
        state.token_requests.fetch_add(1, Ordering::SeqCst);
        let mut current = lock(&state.access_token);
        let now = std::time::Instant::now();
        let live = current
            .as_ref()
            .filter(|(_, at)| now.duration_since(*at).as_secs() < TOKEN_LIFE_SECS)
            .filter(|_| v["force_refresh"].as_bool() != Some(true))
            .cloned();
        let (token, at) = live.unwrap_or_else(|| {
            let fresh = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            *current = Some((fresh.clone(), now));
            (fresh, now)
        });
        serde_json::json!({
            "access_token": token,
            "expires_in": TOKEN_LIFE_SECS - now.duration_since(at).as_secs(),
        })
    };
    answer(&reply)
}

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

async fn get_phone(
    State(state): State<Arc<FakeState>>,
    Query(q): Query<TokenQuery>,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let reply = (|| {
        let Some(token) = q.access_token.filter(|t| !t.is_empty()) else {
            return error(41001, "access_token missing");
        };
        let live = lock(&state.access_token)
            .as_ref()
            .is_some_and(|(t, _)| *t == token);
        if !live {
            return error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = v["code"].as_str().unwrap_or_default();
        let Some(name) = dev_name(code) else {
            return error(40029, "invalid code");
        };
        if !lock(&state.phone_codes_used).insert(code.to_owned()) {
            return error(40029, "invalid code");
        }
        let appid = lock(&state.watermark_appid)
            .clone()
            .unwrap_or_else(|| state.appid.clone());
        serde_json::json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": phone_object(name, &appid, unix_now()),
        })
    })();
    (
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
}

#[derive(Deserialize)]
struct SoterVerifyRequest {
    openid: String,
    json_string: String,
    json_signature: String,
}

async fn soter_verify_signature(
    State(state): State<Arc<FakeState>>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> impl IntoResponse {
    let known = q.access_token.as_deref().is_some_and(|t| {
        lock(&state.access_token)
            .as_ref()
            .is_some_and(|(live, _)| live == t)
    });
    if !known {
        return answer(&error(
            40001,
            "invalid credential, access_token is invalid or not latest",
        ));
    }
    let Ok(req) = serde_json::from_slice::<SoterVerifyRequest>(&body) else {
        return answer(&error(47001, "data format error"));
    };
    if !crate::platform::plausible_id(&req.openid) || req.json_string.is_empty() {
        return answer(&error(47001, "data format error"));
    }
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        ring::signature::KeyPair::public_key(&state.soter_key).as_ref(),
    );
    let is_ok = base64::engine::general_purpose::STANDARD
        .decode(req.json_signature.trim())
        .is_ok_and(|sig| public.verify(req.json_string.as_bytes(), &sig).is_ok());
    answer(&serde_json::json!({ "errcode": 0, "errmsg": "ok", "is_ok": is_ok }))
}

#[derive(Deserialize)]
struct Params {
    appid: Option<String>,
    secret: Option<String>,
    js_code: Option<String>,
    grant_type: Option<String>,
}

fn answer(body: &serde_json::Value) -> impl IntoResponse + use<> {
    ([(header::CONTENT_TYPE, "text/plain")], body.to_string())
}

fn error(errcode: i64, errmsg: &str) -> serde_json::Value {
    let rid = &uuid::Uuid::new_v4().simple().to_string()[..24];
    serde_json::json!({ "errcode": errcode, "errmsg": format!("{errmsg}, rid: {rid}") })
}

async fn jscode2session(
    State(state): State<Arc<FakeState>>,
    Query(p): Query<Params>,
) -> impl IntoResponse {
    answer(&respond(&state, &p))
}

fn respond(state: &FakeState, p: &Params) -> serde_json::Value {
    let injected = state
        .injected
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front();
    if let Some(code) = injected {
        let msg = match code {
            45011 => "api minute-quota reach limit  mustslower  retry next minute",
            -1 => "system error",
            _ => "injected error",
        };
        return error(code, msg);
    }
    let Some(code) = p.js_code.as_deref().filter(|c| !c.is_empty()) else {
        return error(41008, "missing code");
    };
    if p.appid.as_deref() != Some(state.appid.as_str()) {
        return error(40013, "invalid appid");
    }
    // A fake on loopback: a plain comparison is fine here (the real service is not ours).
    if p.secret.as_deref() != Some(state.secret.expose_secret()) {
        return error(40125, "invalid appsecret");
    }
    if p.grant_type.as_deref() != Some("authorization_code") {
        return error(40002, "invalid grant_type");
    }
    let Some(name) = dev_name(code) else {
        return error(40029, "invalid code");
    };
    let fresh = state
        .used
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(code.to_owned());
    if !fresh {
        return error(40163, "code been used");
    }
    let key = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    let openid = dev_openid(&state.appid, name);
    lock(&state.session_keys).insert(openid.clone(), key.clone());
    serde_json::json!({
        "openid": openid,
        "session_key": key,
        "unionid": dev_unionid(name),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platform::wechat::WeChatClient;
    use crate::platform::{LoginCode, PlatformClient, PlatformError};

    #[tokio::test]
    async fn the_fake_speaks_the_protocol_through_the_real_client() {
        let fake = FakeWeChat::start("wxfake", SecretString::from("s3cret"))
            .await
            .unwrap();
        let client = WeChatClient::new(
            &fake.base_url(),
            "wxfake",
            SecretString::from("s3cret"),
            Duration::from_secs(5),
        )
        .unwrap();
        let code = |s: &str| LoginCode::parse(s).unwrap();

        let a = client.code2session(&code("dev:alice")).await.unwrap();
        assert_eq!(a.openid, dev_openid("wxfake", "alice"));
        let again = client.code2session(&code("dev:alice")).await;
        assert!(matches!(again, Err(PlatformError::CodeUsed)));
        let same = client.code2session(&code("dev:alice:2")).await.unwrap();
        assert_eq!(same.openid, a.openid);
        let b = client.code2session(&code("dev:alice.2")).await.unwrap();
        assert_ne!(a.openid, b.openid);
        let bad = client.code2session(&code("081abc")).await;
        assert!(matches!(bad, Err(PlatformError::InvalidCode)));

        fake.inject_error(45011);
        let limited = client.code2session(&code("dev:bob")).await;
        assert!(matches!(limited, Err(PlatformError::RateLimited)));
        fake.inject_error(-1);
        let busy = client.code2session(&code("dev:bob")).await;
        assert!(matches!(busy, Err(PlatformError::Busy)));
        assert!(client.code2session(&code("dev:bob")).await.is_ok());

        let wrong_secret = WeChatClient::new(
            &fake.base_url(),
            "wxfake",
            SecretString::from("nope"),
            Duration::from_secs(5),
        )
        .unwrap();
        let denied = wrong_secret.code2session(&code("dev:carol")).await;
        assert!(matches!(
            denied,
            Err(PlatformError::Api { errcode: 40125, .. })
        ));
        fake.stop().await;
    }

    #[tokio::test]
    async fn the_fake_checks_soter_signatures_and_api_credentials() {
        use crate::mfa::soter::{SoterClient, SoterError};
        let fake = FakeWeChat::start("wxfake", SecretString::from("s3cret"))
            .await
            .unwrap();
        let client = SoterClient::new(
            &fake.base_url(),
            "wxfake",
            SecretString::from("s3cret"),
            Duration::from_secs(5),
        )
        .unwrap();
        let json = r#"{"raw":"challenge","counter":1}"#;
        let sig = fake.sign_soter_result(json);
        assert!(client.verify_signature("o1", json, &sig).await.unwrap());
        assert!(!client.verify_signature("o1", "{}", &sig).await.unwrap());
        assert!(!client.verify_signature("o1", json, "!!").await.unwrap());
        let wrong = SoterClient::new(
            &fake.base_url(),
            "wxfake",
            SecretString::from("nope"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(matches!(
            wrong.verify_signature("o1", json, &sig).await,
            Err(SoterError::Api { errcode: 40125 })
        ));
        // Without a valid access token the API answers 40001.
        let res = reqwest::Client::new()
            .post(format!(
                "{}/cgi-bin/soter/verify_signature?access_token=forged",
                fake.base_url()
            ))
            .body("{}")
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        assert_eq!(body["errcode"], 40001);
        fake.stop().await;
    }

    #[test]
    fn dev_openids_are_stable_and_shaped_like_real_ones() {
        let a = dev_openid("wx1", "alice");
        assert_eq!(a, dev_openid("wx1", "alice"));
        assert_eq!(a.len(), 28);
        assert_ne!(a, dev_openid("wx2", "alice"));
        assert!(dev_name("dev:").is_none());
        assert!(dev_name("alice").is_none());
        assert_eq!(dev_name("dev:alice:2"), Some("alice"));
        assert!(dev_name("dev:alice:").is_none());
        assert!(dev_name("dev:alice:2:3").is_none());
    }
}
