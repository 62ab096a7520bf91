//! The one error type of the HTTP API and its rendering as RFC 9457 problem JSON.
//!
//! A handler returns [`ApiError`]. Turning it into a response has no side effects: the response
//! carries a [`Problem`] (what the client may see: a fixed title, a status, a type) and a
//! [`Cause`] (what only the log may see) as extensions. The problem middleware in [`crate::http`]
//! logs the cause inside the request's span and renders the body with the request id. The same
//! middleware turns every other error status (axum's 404 and 405, the body limit's 413, the
//! timeout's 408, a caught panic's 500) into problem JSON, so no error leaves in another shape.
//!
//! Overload is not a fault: a database pool with no connection free in time, a query stopped
//! at its time limit, or a database locked past the busy timeout answer **503** with
//! `Retry-After` (`urn:miniguard:problem:overloaded`), never 500.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::platform::PlatformError;

/// What went wrong while serving a request. The `Display` text is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// An upload would take its uploader over the storage quota.
    #[error("storage quota exceeded")]
    QuotaExceeded,
    /// The body or a parameter was malformed; the reason is for the log.
    #[error("bad request: {0}")]
    BadRequest(Cow<'static, str>),
    /// The body was larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body was not `application/json`.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(Cow<'static, str>),
    /// An upload's `Content-Type` is not one of its file field's types.
    #[error("file type not accepted by this field")]
    UnsupportedFileType,
    /// The platform login failed; the platform's own code and message are for the log.
    #[error("platform login: {0}")]
    Platform(#[from] PlatformError),
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] crate::db::DbError),
    /// A bounded in-memory store is full (the nonces of signed requests); the client may retry
    /// shortly. The reason is for the log.
    #[error("overloaded: {0}")]
    Overloaded(&'static str),
    /// A dependency the route needs is not ready (e.g. the database during `/readyz`).
    #[error("not ready: {0}")]
    NotReady(Cow<'static, str>),
    /// No valid session; the reason is for the log.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Our own failure (randomness, encryption, a stored value that does not parse).
    #[error("internal: {0}")]
    Internal(Cow<'static, str>),
    /// The client sent too many requests; it may retry after this long.
    #[error("rate limited, retry after {retry_after:?}")]
    RateLimited {
        /// How long until a request would be allowed.
        retry_after: std::time::Duration,
    },
    /// Platform open data (WeChat `encryptedData`, a `rawData` signature, a phone number's
    /// watermark) failed verification; the reason is for the log.
    #[error("open data rejected: {0}")]
    OpenData(&'static str),
    /// There is no such thing (or the caller may not know it exists).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// A password or a second-factor code was wrong, expired or already used; the reason is for
    /// the log. Unlike [`ApiError::Unauthorized`] the session (if any) stays valid.
    #[error("invalid credentials: {0}")]
    InvalidCredentials(&'static str),
    /// The session may not do this (e.g. a login limited to factor enrolment); reason for the log.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The route demands a second-factor verification within a recent window (step-up).
    #[error("a recent second-factor verification is required")]
    MfaRequired,
    /// A route for staff accounts, called by another user.
    #[error("a staff account is required")]
    StaffRequired,
    /// A staff login without a second factor may only enrol one.
    #[error("the login is limited to TOTP enrolment")]
    EnrolmentRequired,
    /// A new password breaks the policy; `detail` is a fixed, client-safe explanation.
    #[error("weak password: {detail}")]
    WeakPassword {
        /// Which rule it broke.
        detail: &'static str,
    },
    /// A record or query failed validation: (field, message) pairs, shown to the client. The
    /// messages are fixed texts; a field is a schema name or, for an unknown field, the key sent.
    #[error("invalid: {0:?}")]
    Invalid(Vec<(String, String)>),
    /// The route exists but this build cannot complete it yet; `detail` is shown to the client,
    /// so it is a fixed string, never data from the request.
    #[error("not implemented: {detail}")]
    NotImplemented {
        /// A fixed, client-safe explanation.
        detail: &'static str,
    },
}

/// The `Retry-After` of an overload answer (503): a pool with no free connection in time, or a
/// query stopped at its time limit.
pub const OVERLOAD_RETRY_AFTER_SECS: u64 = 2;

/// The client-visible part of an error, attached to the response as an extension and rendered
/// by the problem middleware (which knows the request id).
#[derive(Clone, Debug)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Problem type: `about:blank` for a plain HTTP status, else `urn:miniguard:problem:<slug>`.
    pub kind: Cow<'static, str>,
    /// A short, fixed, human-readable summary.
    pub title: Cow<'static, str>,
    /// An optional fixed explanation; never request data.
    pub detail: Option<&'static str>,
}

impl Problem {
    /// The generic problem for a bare HTTP status (`type: about:blank`, title = reason phrase).
    pub fn from_status(status: StatusCode) -> Self {
        Self {
            status,
            kind: Cow::Borrowed("about:blank"),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            detail: None,
        }
    }

    fn typed(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            kind: Cow::Owned(format!("urn:miniguard:problem:{slug}")),
            title: Cow::Borrowed(title),
            detail: None,
        }
    }
}

/// Field-level errors shown to the client as the problem's `errors` member.
#[derive(Clone, Debug)]
pub struct ProblemErrors(pub serde_json::Value);

/// The log-only cause of an error response; removed from the response before it is sent.
#[derive(Clone, Debug)]
pub struct Cause(pub String);

impl ApiError {
    /// What the client may see.
    pub fn problem(&self) -> Problem {
        match self {
            Self::BadRequest(_) => Problem::from_status(StatusCode::BAD_REQUEST),
            Self::PayloadTooLarge => Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE),
            Self::QuotaExceeded => Problem::typed(
                StatusCode::PAYLOAD_TOO_LARGE,
                "quota-exceeded",
                "The storage quota of the uploading user would be exceeded",
            ),
            Self::UnsupportedFileType => {
                let mut p = Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
                p.detail = Some("The Content-Type is not one of the file field's types.");
                p
            }
            Self::UnsupportedMediaType(_) => {
                let mut p = Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
                p.detail = Some("Send the body as application/json.");
                p
            }
            Self::Platform(e) => match e {
                PlatformError::InvalidCode | PlatformError::CodeUsed => Problem::typed(
                    StatusCode::BAD_REQUEST,
                    "invalid-login-code",
                    "The login code is invalid, expired or already used",
                ),
                PlatformError::RateLimited => Problem::typed(
                    StatusCode::TOO_MANY_REQUESTS,
                    "platform-rate-limited",
                    "Too many login attempts, try again later",
                ),
                PlatformError::Busy => Problem::typed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "platform-busy",
                    "The platform is busy, try again shortly",
                ),
                _ => Problem::typed(
                    StatusCode::BAD_GATEWAY,
                    "platform-unavailable",
                    "The platform login service failed",
                ),
            },
            Self::Database(e) if e.is_overload() => Problem::typed(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy, try again shortly",
            ),
            Self::Database(_) => Problem::from_status(StatusCode::INTERNAL_SERVER_ERROR),
            Self::Overloaded(_) => Problem::typed(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy, try again shortly",
            ),
            Self::NotReady(_) => Problem::from_status(StatusCode::SERVICE_UNAVAILABLE),
            Self::Unauthorized(_) => Problem::typed(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid access token is required",
            ),
            Self::Internal(_) => Problem::from_status(StatusCode::INTERNAL_SERVER_ERROR),
            Self::RateLimited { .. } => Problem::typed(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests, try again later",
            ),
            Self::OpenData(_) => Problem::typed(
                StatusCode::BAD_REQUEST,
                "invalid-open-data",
                "The platform data failed verification",
            ),
            Self::NotFound(_) => Problem::from_status(StatusCode::NOT_FOUND),
            Self::InvalidCredentials(_) => Problem::typed(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "The credentials are invalid, expired or already used",
            ),
            Self::Forbidden(_) => Problem::typed(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You are not allowed to do this",
            ),
            Self::MfaRequired => Problem::typed(
                StatusCode::FORBIDDEN,
                "mfa-required",
                "A recent second-factor verification is required",
            ),
            Self::StaffRequired => Problem::typed(
                StatusCode::FORBIDDEN,
                "staff-required",
                "This needs a staff account",
            ),
            Self::EnrolmentRequired => Problem::typed(
                StatusCode::FORBIDDEN,
                "mfa-enrolment-required",
                "Enrol a second factor first: this login may only enrol TOTP",
            ),
            Self::WeakPassword { detail } => {
                let mut p = Problem::typed(
                    StatusCode::BAD_REQUEST,
                    "weak-password",
                    "The password does not meet the policy",
                );
                p.detail = Some(detail);
                p
            }
            Self::Invalid(_) => Problem::typed(
                StatusCode::BAD_REQUEST,
                "invalid-record",
                "The request has invalid fields",
            ),
            Self::NotImplemented { detail } => {
                let mut p = Problem::typed(
                    StatusCode::NOT_IMPLEMENTED,
                    "not-implemented",
                    "Not implemented in this build",
                );
                p.detail = Some(detail);
                p
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut res = problem.status.into_response();
        let retry_after = match &self {
            // Whole seconds, rounded up, at least one.
            Self::RateLimited { retry_after } => {
                Some((retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1))
            }
            Self::Platform(PlatformError::RateLimited) => Some(60),
            Self::Database(e) if e.is_overload() => Some(OVERLOAD_RETRY_AFTER_SECS),
            Self::Overloaded(_) => Some(OVERLOAD_RETRY_AFTER_SECS),
            _ => None,
        };
        if matches!(self, Self::Unauthorized(_)) {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"miniguard\""),
            );
        }
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::Invalid(errors) = &self {
            let list: Vec<serde_json::Value> = errors
                .iter()
                .map(|(field, message)| serde_json::json!({ "field": field, "message": message }))
                .collect();
            res.extensions_mut().insert(ProblemErrors(list.into()));
        }
        res.extensions_mut().insert(problem);
        res.extensions_mut().insert(Cause(self.to_string()));
        res
    }
}
