//! The HTTP application: state, middleware stack and router.
//!
//! Layers, outermost first:
//!
//! 1. request id: a well-formed client `x-request-id` (at most 64 of `[A-Za-z0-9._-]`) is kept
//!    for correlation, anything else is replaced by a fresh UUID; the id is only ever logged and
//!    echoed, never used for a decision;
//! 2. client address: the TCP peer, or, only when the peer is a configured proxy, the first
//!    untrusted address of `X-Forwarded-For`; `X-Forwarded-*`/`Forwarded` from anyone else are
//!    removed before a handler can see them;
//! 3. a `tracing` span per request (method, path, request id, client address, status, latency);
//! 4. security headers on every response;
//! 5. problem rendering: every error status becomes `application/problem+json` with the request
//!    id, and the error's cause is logged here;
//! 6. the general per-address limit (see "Limits with a shared store" below);
//! 7. panics become 500s; requests time out (408); bodies are limited (413).
//!
//! # Limits with a shared store
//!
//! One instance counts every request against its address's general limit in memory, before
//! anything else. With several instances (`redis_url`) the count is Redis's, and a signed request
//! would pay two round trips: the limit on the way in, the nonce once the signature verified.
//! Instead:
//!
//! - every request is counted first against the instance's own in-memory bucket of the same
//!   limit (no round trip). It sees a subset of what Redis sees, so it never lets through what
//!   the shared count refuses, and it refuses at most one request early (within one interval) for
//!   a client already over its limit. A flood at one instance stops here, before any work;
//! - a request without the signature headers is then counted in Redis, as before, except the
//!   health routes (`/healthz`, `/readyz`): they speak for this instance and must answer
//!   promptly when Redis does not, so the instance's own count is theirs;
//! - a request with them (`Deferred`) is counted in Redis by the step that needs Redis anyway:
//!   [`crate::signed::verify`] counts it and records its nonce in one script
//!   ([`crate::shared::Shared::admit`]) once the signature has verified. Any earlier step that
//!   would do expensive work (a session not in the cache is read from the database) counts it
//!   first, every refusal counts it before answering, a public route counts it before its
//!   handler, and a request that reaches none of these (an unknown path) is counted here on the
//!   way out, a refusal then replacing the answer with 429. So every request counts once in the
//!   shared bucket, wherever it lands, and the limits stay exact; only the order changes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::db::Db;
use crate::error::ApiError;
use crate::error::{Cause, Problem};
use crate::metrics::Metrics;
use crate::platform::{PlatformClient, Platforms};
use crate::ratelimit::{Rate, RateLimiter};
use crate::sessions::SessionPolicy;
use miniguard_crypto::Keyring;

/// The request id header, on every request (after the first layer) and every response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// Addresses whose `X-Forwarded-For` is believed (the reverse proxies in front of us).
    pub trusted_proxies: Vec<IpAddr>,
    /// Per client address, on every route.
    pub general_rate: Rate,
    /// Per client address, on the auth routes (login), in addition to the general rate.
    pub auth_rate: Rate,
    /// Token lifetimes.
    pub sessions: SessionPolicy,
    /// Addresses besides loopback that may read `/metrics`.
    pub metrics_from: Vec<IpAddr>,
    /// How old WeChat open data (the old phone flow's `encryptedData`) may be, by its watermark.
    pub open_data_max_age: Duration,
    /// Second factors, step-up and per-account lockout.
    pub mfa: crate::mfa::MfaPolicy,
    /// The time limit of one data API query: SQLite is interrupted at it, and the request
    /// answers 503 with `Retry-After`.
    pub data_query_timeout: Duration,
    /// The cost budget of one `?filter=` (see [`crate::data::filter::cost`]).
    pub filter_budget: u32,
    /// Bytes of files one user may have uploaded (charged to the uploader, whoever owns the
    /// records that hold them).
    pub upload_quota_bytes: u64,
    /// Hosts rich-text images may come from (`https:` only); empty: no remote image is kept.
    pub image_hosts: Vec<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(15),
            trusted_proxies: Vec::new(),
            general_rate: Rate::new(600, 100),
            auth_rate: Rate::new(30, 10),
            sessions: SessionPolicy::default(),
            metrics_from: Vec::new(),
            // The client sends encryptedData right after the user tapped the button; 10 minutes
            // allows for slow networks and clock skew, and stops replays of old captures.
            open_data_max_age: Duration::from_mins(10),
            mfa: crate::mfa::MfaPolicy::default(),
            data_query_timeout: Duration::from_secs(5),
            filter_budget: crate::data::filter::DEFAULT_BUDGET,
            upload_quota_bytes: 100 * 1024 * 1024,
            image_hosts: Vec::new(),
        }
    }
}

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    platforms: Platforms,
    keyring: Keyring,
    general_limit: RateLimiter,
    auth_limit: RateLimiter,
    metrics: Metrics,
    options: AppOptions,
    mfa: crate::mfa::MfaServices,
    account_limits: crate::lockout::AccountLimits,
    collections: std::sync::OnceLock<crate::data::Collections>,
    rich_text: crate::data::sanitize::Cleaner,
}

impl AppState {
    /// `keyring` encrypts data at rest (the platform session keys); its newest key encrypts.
    pub fn new(
        db: Db,
        platform: Arc<dyn PlatformClient>,
        keyring: Keyring,
        options: AppOptions,
    ) -> Self {
        Self::with_services(
            db,
            Platforms::new(platform),
            keyring,
            options,
            crate::mfa::MfaServices::default(),
        )
    }

    /// Like [`AppState::new`] with several platforms (each gets `/v1/auth/<name>/login`).
    pub fn with_platforms(
        db: Db,
        platforms: Platforms,
        keyring: Keyring,
        options: AppOptions,
    ) -> Self {
        Self::with_services(
            db,
            platforms,
            keyring,
            options,
            crate::mfa::MfaServices::default(),
        )
    }

    /// [`AppState::new`] with the outside services of MFA (SMS provider, SOTER client).
    pub fn with_mfa(
        db: Db,
        platform: Arc<dyn PlatformClient>,
        keyring: Keyring,
        options: AppOptions,
        mfa: crate::mfa::MfaServices,
    ) -> Self {
        Self::with_services(db, Platforms::new(platform), keyring, options, mfa)
    }

    /// Every part given: the platforms and the outside services of MFA.
    pub fn with_services(
        db: Db,
        platforms: Platforms,
        keyring: Keyring,
        options: AppOptions,
        mfa: crate::mfa::MfaServices,
    ) -> Self {
        db.set_data_query_timeout(options.data_query_timeout);
        Self {
            inner: Arc::new(Inner {
                db,
                platforms,
                keyring,
                general_limit: RateLimiter::new(options.general_rate),
                auth_limit: RateLimiter::new(options.auth_rate),
                metrics: Metrics::default(),
                account_limits: crate::lockout::AccountLimits::new(&options.mfa.lockout),
                rich_text: crate::data::sanitize::Cleaner::new(options.image_hosts.clone()),
                options,
                mfa,
                collections: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The outside services of MFA.
    pub fn mfa(&self) -> &crate::mfa::MfaServices {
        &self.inner.mfa
    }

    /// Counts an attempt against the account's rate (shared by the instances when they share a
    /// store); 429 with `Retry-After` over it.
    pub(crate) async fn account_rate(
        &self,
        attempt: crate::lockout::Attempt,
        account: &str,
    ) -> Result<(), ApiError> {
        self.inner
            .account_limits
            .check_shared(self.db().shared(), attempt, account)
            .await
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The primary (first configured) platform.
    pub fn platform(&self) -> &dyn PlatformClient {
        self.inner.platforms.primary().as_ref()
    }

    /// Every configured platform, by name.
    pub fn platforms(&self) -> &Platforms {
        &self.inner.platforms
    }

    pub fn options(&self) -> &AppOptions {
        &self.inner.options
    }

    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    pub fn session_policy(&self) -> SessionPolicy {
        self.inner.options.sessions
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Serves these collections (`[collections.*]`); set once, before serving (a second call
    /// is ignored). Their tables must exist: see [`crate::data::store::install`].
    pub fn with_collections(self, collections: crate::data::Collections) -> Self {
        let _ = self.inner.collections.set(collections);
        self
    }

    /// The declared collections (none unless [`Self::with_collections`] was called).
    pub fn collections(&self) -> &crate::data::Collections {
        static NONE: crate::data::Collections = crate::data::Collections {
            by_name: std::collections::BTreeMap::new(),
        };
        self.inner.collections.get().unwrap_or(&NONE)
    }

    /// The rich-text sanitizer with the deployment's image hosts.
    pub fn rich_text(&self) -> &crate::data::sanitize::Cleaner {
        &self.inner.rich_text
    }

    /// The stricter limit of the auth routes.
    pub(crate) fn auth_limit(&self) -> &RateLimiter {
        &self.inner.auth_limit
    }
}

/// The request id of the current request, as a request extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

/// The client's address as far as we can tell it (see the module docs), as a request extension.
/// `None` when the server runs without a socket (tests driving the router directly).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Builds the whole application. No socket needed: tests call it and drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let options = state.options().clone();
    let trusted: Arc<[IpAddr]> = options.trusted_proxies.clone().into();

    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Strict for everything: the API serves no HTML, and any HTML added later starts locked.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ));

    let (routes, doc) = crate::routes::router(&state).split_for_parts();
    let doc: Arc<str> = serde_json::to_string(&crate::openapi::finish(doc))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        .into();
    // `Router::layer` wraps what is already there, so the innermost layer comes first.
    routes
        .layer(axum::Extension(crate::openapi::Document(doc)))
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(RequestBodyLimitLayer::new(options.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), general_limit))
        .layer(middleware::from_fn(problems))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record,
        ))
        .layer(security_headers)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_millis(),
                        "response"
                    );
                })
                .on_failure(()),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let trusted = Arc::clone(&trusted);
            async move { client_addr(&trusted, req, next).await }
        }))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

fn make_span(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or("-", |r| &*r.0)
        .to_owned();
    let client = req
        .extensions()
        .get::<ClientAddr>()
        .and_then(|c| c.0)
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    // The path only, never the query string (which could carry credentials).
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = ?req.uri().path(),
        request_id = %id,
        client = %client,
    )
}

fn acceptable_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(s)
}

async fn request_id(mut req: Request, next: Next) -> Response {
    let id: Arc<str> = match req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(acceptable_request_id)
    {
        Some(s) => s.into(),
        None => uuid::Uuid::new_v4().to_string().into(),
    };
    // Only [A-Za-z0-9._-] reach here, so the header value is always valid.
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(X_REQUEST_ID, v.clone());
    }
    req.extensions_mut().insert(RequestId(id));
    let mut res = next.run(req).await;
    if let Some(v) = value {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    res
}

const FORWARDED_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
];

/// Who the client is: the peer, or, behind a trusted proxy, the right-most untrusted address of
/// `X-Forwarded-For` (the left part of the list is whatever the client chose to send).
pub fn resolve_client(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(list) = forwarded_for else {
        return Some(peer);
    };
    let mut last_valid = peer;
    for part in list.rsplit(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => last_valid = ip,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(last_valid),
        }
    }
    Some(last_valid)
}

async fn client_addr(trusted: &[IpAddr], mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let from_proxy = peer.is_some_and(|p| trusted.contains(&p));
    let xff = if from_proxy {
        // Several X-Forwarded-For lines form one list.
        let joined: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!joined.is_empty()).then(|| joined.join(","))
    } else {
        None
    };
    let client = resolve_client(peer, xff.as_deref(), trusted);
    if !from_proxy {
        for name in FORWARDED_HEADERS {
            req.headers_mut().remove(name);
        }
    }
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// Refuses a request over the client's rate before any other work: counted in memory, or in
/// the shared store when the instances share one (`name` tells the limits apart there). Only
/// the client's address crosses the await (a request is not `Sync`).
pub(crate) fn limit<'a>(
    state: &'a AppState,
    limiter: &'a RateLimiter,
    name: &'a str,
    req: &Request,
) -> impl Future<Output = Result<(), ApiError>> + Send + 'a {
    let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
    limit_client(state, limiter, name, client)
}

async fn limit_client(
    state: &AppState,
    limiter: &RateLimiter,
    name: &str,
    client: Option<IpAddr>,
) -> Result<(), ApiError> {
    let verdict = match state.db().shared() {
        Some(shared) => {
            let rate = limiter.rate();
            shared
                .rate(&rate_key(name, client), rate.per_minute, rate.burst)
                .await
                .map_err(crate::db::DbError::from)?
        }
        None => limiter.check(client, std::time::Instant::now()),
    };
    verdict.map_err(|retry_after| ApiError::RateLimited { retry_after })
}

/// The shared store's name of a limit's bucket for a client.
fn rate_key(name: &str, client: Option<IpAddr>) -> String {
    format!("addr:{name}:{}", crate::ratelimit::address_key(client))
}

/// The shared count of a signed request's general limit, put off until a step that needs the
/// shared store anyway (see the module documentation, "Limits with a shared store"). Held in
/// the request's extensions; whoever [`Deferred::take`]s it first counts the request.
#[derive(Clone, Debug)]
pub(crate) struct Deferred {
    client: Option<IpAddr>,
    owed: Arc<std::sync::atomic::AtomicBool>,
}

impl Deferred {
    fn new(client: Option<IpAddr>) -> Self {
        Self {
            client,
            owed: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    /// Takes the count over: `true` once, for the one step that must now count the request.
    pub(crate) fn take(&self) -> bool {
        self.owed.swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    /// The key, rate and burst of the general limit's shared bucket for this request.
    pub(crate) fn bucket(&self, state: &AppState) -> (String, crate::ratelimit::Rate) {
        (
            rate_key("general", self.client),
            state.inner.general_limit.rate(),
        )
    }

    /// Counts the request in the shared bucket now, unless some step did already.
    pub(crate) async fn settle(&self, state: &AppState) -> Result<(), ApiError> {
        if !self.take() {
            return Ok(());
        }
        let Some(shared) = state.db().shared() else {
            return Ok(());
        };
        let (key, rate) = self.bucket(state);
        shared
            .rate(&key, rate.per_minute, rate.burst)
            .await
            .map_err(crate::db::DbError::from)?
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

/// Counts a request's shared general limit now if it was put off (see [`Deferred`]).
/// Only the [`Deferred`] crosses the await (a request is not `Sync`).
pub(crate) fn settle_deferred<'a>(
    state: &'a AppState,
    req: &Request,
) -> impl Future<Output = Result<(), ApiError>> + Send + 'a {
    let deferred = req.extensions().get::<Deferred>().cloned();
    async move {
        match deferred {
            Some(d) => d.settle(state).await,
            None => Ok(()),
        }
    }
}

/// Whether a request carries the signature headers (and so may be a signed request whose
/// shared count can wait for its nonce: see [`Deferred`]).
fn looks_signed(req: &Request) -> bool {
    let h = req.headers();
    h.contains_key(header::AUTHORIZATION)
        && h.contains_key(miniguard_crypto::signing::SIGNATURE_HEADER)
        && h.contains_key(miniguard_crypto::signing::NONCE_HEADER)
        && h.contains_key(miniguard_crypto::signing::TIMESTAMP_HEADER)
}

async fn general_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
    // This instance's own count, the whole count when there is no shared store.
    state
        .inner
        .general_limit
        .check(client, std::time::Instant::now())
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    // The health routes speak for this instance alone, and must answer when Redis does not
    // (`/readyz` says so): its own count limits them.
    if state.db().shared().is_none() || matches!(req.uri().path(), "/healthz" | "/readyz") {
        return Ok(next.run(req).await);
    }
    if !looks_signed(&req) {
        limit_client(&state, &state.inner.general_limit, "general", client).await?;
        return Ok(next.run(req).await);
    }
    let deferred = Deferred::new(client);
    req.extensions_mut().insert(deferred.clone());
    let res = next.run(req).await;
    // Reached no step that counts it (an unknown path, a method the route lacks).
    deferred.settle(&state).await?;
    Ok(res)
}

async fn problems(req: Request, next: Next) -> Response {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut res = next.run(req).await;
    let cause = res.extensions_mut().remove::<Cause>();
    let errors = res.extensions_mut().remove::<crate::error::ProblemErrors>();
    let problem = res.extensions_mut().remove::<Problem>();
    let status = res.status();
    if let Some(Cause(cause)) = &cause {
        // Debug formatting escapes newlines, so a cause quoting input cannot forge log lines.
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(cause = ?cause, "request failed");
        } else if status.is_server_error() {
            tracing::warn!(cause = ?cause, "request not served");
        } else {
            tracing::info!(cause = ?cause, "request rejected");
        }
    }
    let problem = match problem {
        Some(p) => p,
        None if status.is_client_error() || status.is_server_error() => {
            Problem::from_status(status)
        }
        None => return res,
    };
    let mut body = serde_json::json!({
        "type": problem.kind,
        "title": problem.title,
        "status": problem.status.as_u16(),
        "request_id": request_id.as_deref().unwrap_or(""),
    });
    if let (Some(detail), Some(obj)) = (problem.detail, body.as_object_mut()) {
        obj.insert("detail".into(), detail.into());
    }
    if let (Some(errors), Some(obj)) = (errors, body.as_object_mut()) {
        obj.insert("errors".into(), errors.0);
    }
    let (mut parts, _) = res.into_parts();
    parts.status = problem.status;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let got = resolve_client(Some(ip("203.0.113.9")), Some("1.2.3.4"), &[]);
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_takes_the_rightmost_untrusted_address() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client prepended a fake address; the proxies appended the real one.
        let got = resolve_client(
            Some(ip("10.0.0.1")),
            Some("6.6.6.6, 198.51.100.7, 10.0.0.2"),
            &trusted,
        );
        assert_eq!(got, Some(ip("198.51.100.7")));
    }

    #[test]
    fn garbage_in_forwarded_for_stops_at_the_last_trusted_hop() {
        let trusted = [ip("10.0.0.1")];
        let got = resolve_client(Some(ip("10.0.0.1")), Some("nonsense"), &trusted);
        assert_eq!(got, Some(ip("10.0.0.1")));
    }

    #[test]
    fn request_ids_are_kept_only_when_well_formed() {
        let ok = HeaderValue::from_static("abc-123_X.y");
        assert_eq!(acceptable_request_id(&ok), Some("abc-123_X.y"));
        let spaces = HeaderValue::from_static("a b");
        assert_eq!(acceptable_request_id(&spaces), None);
        let long = HeaderValue::from_str(&"a".repeat(65)).unwrap();
        assert_eq!(acceptable_request_id(&long), None);
    }
}

#[cfg(test)]
mod oneshot_tests {
    //! The router driven without a socket, as handlers' tests do.

    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use secrecy::SecretString;
    use tower::ServiceExt as _;

    use super::*;
    use crate::platform::wechat::WeChatClient;

    async fn state(dir: &std::path::Path) -> AppState {
        let db = Db::open(&dir.join("t.db")).await.unwrap();
        // Never called in these tests: port 9 on loopback (discard) is not listening.
        let platform = WeChatClient::new(
            "http://127.0.0.1:9",
            "wx1",
            SecretString::from("s"),
            Duration::from_secs(1),
        )
        .unwrap();
        let keyring = Keyring::new(
            miniguard_crypto::KeyId(1),
            miniguard_crypto::Key::generate().unwrap(),
        );
        AppState::new(db, Arc::new(platform), keyring, AppOptions::default())
    }

    async fn body_json(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn readyz_turns_503_when_the_database_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        let app = app(state.clone());
        let ok = app
            .clone()
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        state.db().close().await;
        let gone = app
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::SERVICE_UNAVAILABLE);
        let id = gone.headers()[X_REQUEST_ID].to_str().unwrap().to_owned();
        let body = body_json(gone).await;
        assert_eq!(body["request_id"], id.as_str());
        // The cause (a closed pool) is not in the body.
        assert!(!body.to_string().contains("pool"), "{body}");
    }
}
