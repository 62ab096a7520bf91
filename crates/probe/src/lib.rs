//! `miniguard-probe`: active, scoped checks against a live mini-program backend.
//!
//! Static analysis cannot see a deployed backend: its TLS, its headers, whether its routes really
//! ask for a session, whether one user can read another's order, whether its filters inject. This
//! crate sends real requests to find out, and it is built around one rule: **nothing leaves the
//! process except through [`client::Client::send`]**, which checks the declared [`scope::Scope`]
//! (hosts, path prefixes), the request and time budgets and the pace before every request and
//! every redirect hop.
//!
//! [`run::run`] logs in the identities, reads the routes from an OpenAPI document, runs the
//! checks of [`rules::ALL`] and returns a [`miniguard_report::Report`]. The crate never prints;
//! the binary renders the report.

#![forbid(unsafe_code)]

pub mod checks;
pub mod client;
pub mod crawl;
pub mod evidence;
pub mod identity;
pub mod openapi;
pub mod rules;
pub mod run;
pub mod scope;
pub mod tls_hello;

pub use client::{Client, ClientOptions, Exchange, GateStats, Request, SendError};
pub use identity::{IdentityError, IdentitySpec};
pub use run::{OpenApiSource, Outcome, ProbeConfig, ProbeError, run};
pub use scope::{Scope, ScopeError};
