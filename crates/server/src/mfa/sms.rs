//! SMS one-time codes: the [`SmsProvider`] seam, a console provider for `--dev`, an HTTP gateway
//! provider, and [`FakeSmsGateway`], a local server speaking the gateway protocol for tests.
//!
//! The gateway protocol (what [`HttpSms`] sends and [`FakeSmsGateway`] checks):
//!
//! ```text
//! POST {url}
//! Authorization: Bearer {token}
//! Content-Type: application/json
//!
//! {"to": "+8613800138000", "template": "mfa_code", "params": {"code": "123456", "minutes": 5}}
//! ```
//!
//! answered `200 {"message_id": "..."}`, or `4xx/5xx {"error": {"code": "...", "message": "..."}}`
//! (`unauthorized` 401, `invalid_request` 400, `unavailable` 503). Most commercial gateways
//! (or a small adapter in front of one) take this shape; the token comes from the environment or
//! a file, never from `miniguard.toml`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::platform::BoxFuture;

/// The `tracing` target of the development console provider. Only `--dev` uses it.
pub const DEV_SMS_TARGET: &str = "miniguard::dev_sms";

/// Why a code could not be sent; the text is for logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    #[error("SMS gateway refused: {status} {code}")]
    Refused { status: u16, code: String },
    #[error("SMS gateway transport: {0}")]
    Transport(String),
    #[error("SMS provider configuration: {0}")]
    Config(String),
}

/// Sends a one-time code to a phone number.
pub trait SmsProvider: Send + Sync + 'static {
    /// A short name for logs (`console`, `http`).
    fn name(&self) -> &'static str;

    /// Sends `code` (valid for `minutes`) to `phone`.
    fn send_code<'a>(
        &'a self,
        phone: &'a str,
        code: &'a SecretString,
        minutes: u64,
    ) -> BoxFuture<'a, Result<(), SmsError>>;
}

/// The last four digits, for logs.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***{tail}")
}

/// DEVELOPMENT ONLY: "sends" the code by logging it at target [`DEV_SMS_TARGET`], at WARN level
/// so it stands out. Never configure it in production: codes would sit in the logs.
#[derive(Debug, Default)]
pub struct ConsoleSms;

impl SmsProvider for ConsoleSms {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send_code<'a>(
        &'a self,
        phone: &'a str,
        code: &'a SecretString,
        minutes: u64,
    ) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            tracing::warn!(
                target: DEV_SMS_TARGET,
                phone = %mask_phone(phone),
                code = %code.expose_secret(),
                minutes,
                "DEVELOPMENT SMS (not sent): one-time code"
            );
            Ok(())
        })
    }
}

/// Posts codes to an HTTP gateway (see the module docs for the protocol).
pub struct HttpSms {
    url: String,
    token: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for HttpSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSms").finish_non_exhaustive()
    }
}

impl HttpSms {
    /// `url` must be `https://`, or `http://` to a loopback address (tests, a local adapter).
    pub fn new(url: &str, token: SecretString, timeout: Duration) -> Result<Self, SmsError> {
        let parsed = url::Url::parse(url).map_err(|e| SmsError::Config(e.to_string()))?;
        let loopback = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(SmsError::Config(
                "the SMS gateway URL must be https (http only to loopback)".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Config(e.to_string()))?;
        Ok(Self {
            url: url.to_owned(),
            token,
            http,
        })
    }

    /// The bearer token from an environment variable or a file (first line, trimmed).
    pub fn token_from(
        env: Option<&str>,
        file: Option<&std::path::Path>,
    ) -> Result<SecretString, SmsError> {
        let text = match (env, file) {
            (Some(var), _) => std::env::var(var)
                .map_err(|_| SmsError::Config(format!("environment variable {var} is not set")))?,
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| SmsError::Config(format!("reading {}: {e}", path.display())))?,
            (None, None) => return Err(SmsError::Config("no SMS gateway token source".into())),
        };
        let token = text.lines().next().unwrap_or_default().trim().to_owned();
        if token.is_empty() {
            return Err(SmsError::Config("the SMS gateway token is empty".into()));
        }
        Ok(SecretString::from(token))
    }
}

impl SmsProvider for HttpSms {
    fn name(&self) -> &'static str {
        "http"
    }

    fn send_code<'a>(
        &'a self,
        phone: &'a str,
        code: &'a SecretString,
        minutes: u64,
    ) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let res = self
                .http
                .post(&self.url)
                .bearer_auth(self.token.expose_secret())
                .json(&json!({
                    "to": phone,
                    "template": "mfa_code",
                    "params": { "code": code.expose_secret(), "minutes": minutes },
                }))
                .send()
                .await
                // Without the URL: it may carry a key in its query.
                .map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
            let status = res.status();
            if status.is_success() {
                return Ok(());
            }
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .chars()
                .take(64)
                .collect();
            Err(SmsError::Refused {
                status: status.as_u16(),
                code,
            })
        })
    }
}

/// One message the fake gateway accepted.
#[derive(Clone, Debug)]
pub struct SentSms {
    pub to: String,
    pub code: String,
}

struct FakeSmsState {
    token: String,
    sent: Mutex<Vec<SentSms>>,
    fail_next: Mutex<VecDeque<u16>>,
}

/// A local SMS gateway speaking the protocol of the module docs, for tests. It records what it
/// "sends" so a test can read the code off the phone.
pub struct FakeSmsGateway {
    addr: SocketAddr,
    state: Arc<FakeSmsState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayRequest {
    to: String,
    template: String,
    params: GatewayParams,
}

#[derive(Deserialize)]
struct GatewayParams {
    code: String,
    #[allow(dead_code)] // part of the protocol; the fake does not render templates
    minutes: Option<u64>,
}

fn gateway_error(status: StatusCode, code: &str) -> (StatusCode, Json<serde_json::Value>) {
    (
        status,
        Json(json!({ "error": { "code": code, "message": code.replace('_', " ") } })),
    )
}

async fn gateway_send(
    State(state): State<Arc<FakeSmsState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<serde_json::Value>) {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if auth != Some(state.token.as_str()) {
        return gateway_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    if let Some(status) = state
        .fail_next
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front()
    {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return gateway_error(status, "unavailable");
    }
    let Ok(req) = serde_json::from_slice::<GatewayRequest>(&body) else {
        return gateway_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let phone_ok = req.to.starts_with('+')
        && (8..=16).contains(&req.to.len())
        && req.to[1..].bytes().all(|b| b.is_ascii_digit());
    if !phone_ok || req.template != "mfa_code" {
        return gateway_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    state
        .sent
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(SentSms {
            to: req.to,
            code: req.params.code,
        });
    let id = uuid::Uuid::new_v4().simple().to_string();
    (StatusCode::OK, Json(json!({ "message_id": id })))
}

impl FakeSmsGateway {
    /// Starts the fake on `127.0.0.1` with an OS-chosen port, accepting `token`.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(FakeSmsState {
            token: token.to_owned(),
            sent: Mutex::new(Vec::new()),
            fail_next: Mutex::new(VecDeque::new()),
        });
        let app = Router::new()
            .route("/v1/messages", post(gateway_send))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "fake SMS gateway stopped");
            }
        });
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The URL to give [`HttpSms::new`].
    pub fn url(&self) -> String {
        format!("http://{}/v1/messages", self.addr)
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<SentSms> {
        self.state
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes the next request fail with this HTTP status.
    pub fn fail_next(&self, status: u16) {
        self.state
            .fail_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(status);
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

impl Drop for FakeSmsGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A uniformly random 6-digit code from the OS CSPRNG.
pub fn generate_code() -> Result<SecretString, getrandom::Error> {
    // Rejection sampling: 4_294_000_000 is the largest multiple of 10^6 below 2^32.
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b)?;
        let n = u32::from_be_bytes(b);
        if n < 4_294_000_000 {
            return Ok(SecretString::from(format!("{:06}", n % 1_000_000)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_http_provider_speaks_to_the_fake_gateway() {
        let gw = FakeSmsGateway::start("gw-token").await.unwrap();
        let sms = HttpSms::new(
            &gw.url(),
            SecretString::from("gw-token"),
            Duration::from_secs(5),
        )
        .unwrap();
        let code = SecretString::from("123456");
        sms.send_code("+8613800138000", &code, 5).await.unwrap();
        assert_eq!(gw.sent()[0].code, "123456");
        gw.fail_next(503);
        assert!(matches!(
            sms.send_code("+8613800138000", &code, 5).await,
            Err(SmsError::Refused { status: 503, .. })
        ));
        let wrong = HttpSms::new(
            &gw.url(),
            SecretString::from("nope"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(matches!(
            wrong.send_code("+8613800138000", &code, 5).await,
            Err(SmsError::Refused { status: 401, .. })
        ));
        assert!(matches!(
            sms.send_code("not a phone", &code, 5).await,
            Err(SmsError::Refused { status: 400, .. })
        ));
        assert_eq!(gw.sent().len(), 1);
        assert!(
            HttpSms::new(
                "http://example.com/x",
                SecretString::from("t"),
                Duration::from_secs(1)
            )
            .is_err()
        );
        gw.stop().await;
    }

    #[test]
    fn codes_are_six_digits_and_phones_are_masked() {
        for _ in 0..100 {
            let c = generate_code().unwrap();
            assert_eq!(c.expose_secret().len(), 6);
            assert!(c.expose_secret().bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(mask_phone("+8613800138000"), "***8000");
        assert_eq!(mask_phone("1"), "***1");
    }
}
