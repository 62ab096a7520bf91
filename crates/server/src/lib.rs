//! The hardened mini-program backend behind `miniguard serve`.
//!
//! Every protective measure is on by default, so a team gets them without writing them:
//!
//! - transport: rustls only, TLS 1.2 and 1.3 with rustls' safe cipher suites ([`tls`]); plain HTTP
//!   only when explicitly enabled behind a proxy, and then `X-Forwarded-*` is believed only from
//!   the configured proxy addresses ([`http`]);
//! - every response carries a request id and the security headers (HSTS, `nosniff`, frame denial,
//!   no referrer, a strict Content-Security-Policy, `Cache-Control: no-store`); bodies are size
//!   limited and requests time out ([`http`]);
//! - every error reaches the client as `application/problem+json` with a generic title and the
//!   request id, while the cause goes to the log only ([`error`]);
//! - platform login happens on the server: the mini-program sends only its one-time `code`, the
//!   server exchanges it with the platform ([`platform`]), and the `session_key` never leaves it
//!   (it is stored encrypted with `miniguard-crypto`'s AES-256-GCM keyring);
//! - sessions are opaque tokens stored as hashes: a short-lived access token and a rotating
//!   refresh token whose reuse revokes the whole login ([`sessions`]); every authenticated
//!   request is signed with the access token's own key, within a time window, with a nonce
//!   that works once ([`signed`]); verified tokens and nonces are kept in memory, so a signed
//!   request reads and writes nothing in the database, and every revocation drops the cached
//!   token before it answers ([`session_cache`], [`replay`]);
//! - every client address is rate limited, auth routes more strictly, in memory and before any
//!   database work ([`ratelimit`]); login, second-factor and refresh attempts are also limited
//!   per account, and failed passwords and codes lock the (account, address) pair with growing,
//!   capped delays that never lock the owner out for good ([`lockout`]);
//! - second factors (TOTP, SMS codes, WeChat SOTER, recovery codes) mark the login as verified,
//!   and sensitive routes demand a recent factor (step-up) ([`mfa`]); staff accounts log in with
//!   an Argon2id password and a mandatory TOTP ([`accounts`]);
//! - every login success and failure is appended to a SHA-256 hash-chained audit log that
//!   [`audit::verify`] checks for edits, deletions and reordering ([`audit`], [`db`]).
//!
//! `fn app(state) -> Router` builds the whole HTTP application without a socket, so tests can
//! drive it with `tower::ServiceExt::oneshot`; [`serve::serve`] runs it on a listener.
//!
//! This library never prints and never installs a logger: it emits `tracing` events and the
//! binary decides where they go.

#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod audit;
pub mod config;
pub mod data;
pub mod db;
pub mod error;
pub mod http;
pub mod launch;
pub mod lockout;
pub mod metrics;
pub mod mfa;
pub mod openapi;
pub mod phone;
pub mod platform;
pub mod ratelimit;
pub mod replay;
pub mod roles_admin;
pub mod rotation;
mod routes;
pub mod serve;
pub mod session_cache;
pub mod sessions;
pub mod shared;
pub mod signed;
pub mod tls;

pub use error::ApiError;
pub use http::{AppOptions, AppState, app};
