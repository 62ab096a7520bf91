//! The request gate: the only way the probe talks to the network.
//!
//! Every request of every check goes through [`Client::send`], which in this order checks the URL
//! against the [`Scope`], takes a request from the budget (count and time), waits for its slot in
//! the pace (`rate_per_second`), and only then sends. Redirects are never followed by the HTTP
//! library; [`Client::send_following`] follows them hop by hop, each hop through `send` again, so
//! a redirect to a host outside the scope is never requested. Bodies are read up to a bound.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::scope::{OutOfScope, Scope};

/// The most bytes of a response body kept; the rest is read no further.
pub const MAX_BODY: usize = 512 * 1024;
/// The longest a single request may take (less when the time budget ends sooner).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The most redirect hops [`Client::send_following`] follows.
pub const MAX_HOPS: usize = 5;

/// Why a request was not sent or got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error("not sent: {url} is outside the scope: {reason}")]
    OutOfScope { url: String, reason: OutOfScope },
    #[error("not sent: the request budget ({0} requests) is spent")]
    RequestBudget(u64),
    #[error("not sent: the time budget ({0} s) is spent")]
    TimeBudget(u64),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{url}: {message}")]
    Transport {
        url: String,
        message: String,
        /// The TLS handshake failed (certificate, version or cipher).
        tls: bool,
        timeout: bool,
    },
}

impl SendError {
    /// Whether the run must stop: a budget is spent.
    pub fn is_budget(&self) -> bool {
        matches!(self, SendError::RequestBudget(_) | SendError::TimeBudget(_))
    }
}

/// A request to send.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: Url) -> Request {
        Request {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body with its content type.
    #[must_use]
    pub fn json(mut self, value: &serde_json::Value) -> Request {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = Some(value.to_string().into_bytes());
        self
    }
}

/// A request and its answer, as evidence.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub request: Request,
    pub status: u16,
    pub headers: HeaderMap,
    /// The body, lossily decoded, at most [`MAX_BODY`] bytes.
    pub body: String,
    pub elapsed: Duration,
    /// The server's certificate (DER) on HTTPS.
    pub peer_certificate: Option<Vec<u8>>,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Counters of what the gate let through and what it refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateStats {
    pub sent: u64,
    pub refused_out_of_scope: u64,
    pub refused_budget: u64,
}

/// The TLS configuration of the connections the probe opens itself (C105): the same trust as the
/// HTTP client (the web PKI roots and `--ca-cert`).
fn tls_config(options: &ClientOptions) -> Result<std::sync::Arc<rustls::ClientConfig>, SendError> {
    let mut roots: rustls::RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
    for pem in &options.extra_roots_pem {
        use rustls::pki_types::pem::PemObject as _;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| SendError::Invalid(format!("trusted certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SendError::Invalid(format!("trusted certificate: {e}")))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SendError::Invalid(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

struct State {
    stats: GateStats,
    next_slot: Instant,
}

/// The gate. Cheap to share by reference between checks; safe to use from several tasks.
pub struct Client {
    http: reqwest::Client,
    scope: Scope,
    started: Instant,
    interval: Duration,
    state: Mutex<State>,
    tls: std::sync::Arc<rustls::ClientConfig>,
}

/// Options of the HTTP client itself.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Extra trust anchors (PEM), e.g. the self-signed certificate of `serve --dev`.
    pub extra_roots_pem: Vec<Vec<u8>>,
}

impl Client {
    pub fn new(scope: Scope, options: &ClientOptions) -> Result<Client, SendError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("miniguard-probe/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(10))
            .no_proxy()
            .tls_info(true)
            .https_only(false);
        for pem in &options.extra_roots_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| SendError::Invalid(format!("trusted certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| SendError::Invalid(format!("HTTP client: {e}")))?;
        let tls = tls_config(options)?;
        let interval = Duration::from_secs_f64(1.0 / scope.rate_per_second);
        let now = Instant::now();
        Ok(Client {
            http,
            scope,
            started: now,
            interval,
            tls,
            state: Mutex::new(State {
                stats: GateStats::default(),
                next_slot: now,
            }),
        })
    }

    /// The TLS configuration for connections a check opens itself (after [`Client::admit`]).
    pub fn tls_config(&self) -> std::sync::Arc<rustls::ClientConfig> {
        self.tls.clone()
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn stats(&self) -> GateStats {
        self.lock().stats
    }

    /// Time left in the budget.
    pub fn time_left(&self) -> Duration {
        self.scope
            .max_duration
            .saturating_sub(self.started.elapsed())
    }

    /// Requests left in the budget.
    pub fn requests_left(&self) -> u64 {
        self.scope
            .max_requests
            .saturating_sub(self.lock().stats.sent)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two counters and an instant, valid after any panic in between.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `url` may be requested (without sending anything).
    pub fn in_scope(&self, url: &Url) -> bool {
        self.scope.allows(url).is_ok()
    }

    /// Takes one request from the budget for `url` without sending it: scope, budget, then the
    /// wait for its slot in the pace. Checks that open a connection of their own (a TLS
    /// handshake, a slow request) pass here first and count as one request. Answers the time
    /// left for the connection.
    pub async fn admit(&self, url: &Url) -> Result<Duration, SendError> {
        if let Err(reason) = self.scope.allows(url) {
            self.lock().stats.refused_out_of_scope += 1;
            return Err(SendError::OutOfScope {
                url: url.to_string(),
                reason,
            });
        }
        let wait = {
            let mut state = self.lock();
            if state.stats.sent >= self.scope.max_requests {
                state.stats.refused_budget += 1;
                return Err(SendError::RequestBudget(self.scope.max_requests));
            }
            let now = Instant::now();
            let slot = state.next_slot.max(now);
            if slot.duration_since(self.started) >= self.scope.max_duration {
                state.stats.refused_budget += 1;
                return Err(SendError::TimeBudget(self.scope.max_duration.as_secs()));
            }
            state.next_slot = slot + self.interval;
            state.stats.sent += 1;
            slot.duration_since(now)
        };
        tokio::time::sleep(wait).await;
        let left = self.time_left();
        if left.is_zero() {
            return Err(SendError::TimeBudget(self.scope.max_duration.as_secs()));
        }
        Ok(left)
    }

    /// Sends one request through the gate: scope, budget, pace, then the network.
    pub async fn send(&self, request: &Request) -> Result<Exchange, SendError> {
        let timeout = self.admit(&request.url).await?.min(REQUEST_TIMEOUT);

        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SendError::Invalid(format!("header name `{name}`")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| SendError::Invalid(format!("header value of `{name}`")))?;
            headers.append(name, value);
        }
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .headers(headers)
            .timeout(timeout);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let transport = |e: &reqwest::Error| SendError::Transport {
            url: request.url.to_string(),
            message: error_chain(e),
            tls: is_tls_error(e),
            timeout: e.is_timeout(),
        };
        let mut response = builder.send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let peer_certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate())
            .map(<[u8]>::to_vec);
        let mut body = Vec::new();
        loop {
            match tokio::time::timeout(timeout.saturating_sub(started.elapsed()), response.chunk())
                .await
            {
                Ok(Ok(Some(chunk))) => {
                    let room = MAX_BODY - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_BODY {
                        break;
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(transport(&e)),
                // A body that trickles past the timeout: keep what arrived.
                Err(_) => break,
            }
        }
        Ok(Exchange {
            request: request.clone(),
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            elapsed: started.elapsed(),
            peer_certificate,
        })
    }

    /// Sends a GET and follows redirects hop by hop, each hop through [`Client::send`] (so a hop
    /// outside the scope ends the chain with [`SendError::OutOfScope`]). Returns every exchange.
    pub async fn send_following(&self, request: &Request) -> (Vec<Exchange>, Option<SendError>) {
        let mut chain = Vec::new();
        let mut next = request.clone();
        for _ in 0..=MAX_HOPS {
            let exchange = match self.send(&next).await {
                Ok(e) => e,
                Err(e) => return (chain, Some(e)),
            };
            let location = (300..400)
                .contains(&exchange.status)
                .then(|| exchange.header("location").map(str::to_owned))
                .flatten();
            let base = exchange.request.url.clone();
            chain.push(exchange);
            let Some(location) = location else {
                return (chain, None);
            };
            let Ok(url) = base.join(&location) else {
                return (chain, None);
            };
            next = Request::get(url);
        }
        (chain, None)
    }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn is_tls_error(e: &reqwest::Error) -> bool {
    let text = error_chain(e).to_ascii_lowercase();
    e.is_connect()
        && (text.contains("certificate")
            || text.contains("tls")
            || text.contains("handshake")
            || text.contains("invalidcertificate"))
}
