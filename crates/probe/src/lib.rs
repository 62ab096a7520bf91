//! `miniguard-probe`: active, scoped checks against a live mini-program backend.
//!
//! Static analysis cannot see a deployed backend: its TLS, its headers, whether its routes really
//! ask for a session, whether one user can read another's order, whether its filters inject. This
//! crate sends real requests to find out, and it is built around one rule: **nothing leaves the
//! process except through [`client::Client::send`]**, which checks the declared [`scope::Scope`]
//! (hosts, path prefixes), the request and time budgets and the pace before every request and
//! every redirect hop.
//!
//! The crate never prints; the binary renders the [`miniguard_report::Report`] it returns.

#![forbid(unsafe_code)]

pub mod client;
pub mod crawl;
pub mod scope;

pub use client::{Client, ClientOptions, Exchange, GateStats, Request, SendError};
pub use scope::{Scope, ScopeError};
