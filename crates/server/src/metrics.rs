//! Prometheus metrics at `/metrics`, in the text exposition format.
//!
//! - `miniguard_http_requests_total{method, route, status}`: answered requests; `route` is the
//!   route template (`/v1/me`), `unmatched` for paths no route serves, so a scanner walking
//!   random paths cannot blow up the label set;
//! - `miniguard_http_request_duration_seconds{route}`: latency histogram;
//! - `miniguard_http_requests_in_flight`.
//!
//! Security signals read straight off these: 401s (bad tokens, bad signatures, replays), 429s
//! (rate limits) and 4xx on the login routes. The route is declared
//! [`crate::access::Access::MonitoringAddress`]: the access layer lets through only clients on a
//! loopback address or listed in `AppOptions::metrics_from` (`[server] metrics_from`); to
//! everyone else it does not exist (404).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::http::AppState;

/// The path of the endpoint.
pub const METRICS_PATH: &str = "/metrics";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and its metrics. One per [`AppState`].
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    in_flight: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("miniguard_http");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        registry.register("requests", "Answered HTTP requests", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        registry.register(
            "requests_in_flight",
            "HTTP requests being served",
            in_flight.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            in_flight,
        }
    }
}

impl Metrics {
    /// The text exposition of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware: counts and times every request by its route template.
pub(crate) async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let metrics = state.metrics();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    metrics.in_flight.inc();
    let res = next.run(req).await;
    metrics.in_flight.dec();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// Auth: declared `monitoring-address` (loopback or `metrics_from`; 404 for everyone else).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Request counts, latencies and requests in flight by route template, in the Prometheus text format", content_type = "text/plain; version=0.0.4")))]
pub(crate) async fn serve_metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state
        .metrics()
        .render()
        .map_err(|e| ApiError::Internal(format!("rendering metrics: {e}").into()))?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}
