//! The vocabulary every part of miniguard speaks: a [`Finding`] found by a rule declared by a
//! [`RuleMeta`] (carried in a report as a [`RuleInfo`]), at a [`Location`], with a [`Severity`]
//! and a [`Category`]; the [`Report`] that collects them; and the renderers that turn a report
//! into text, JSON, SARIF or HTML.
//!
//! This crate never prints. Renderers write into any `std::io::Write`, so the binary decides
//! where output goes and tests can capture it.

#![forbid(unsafe_code)]

mod finding;
mod fingerprint;
pub mod i18n;
pub mod message;
pub mod render;

pub use finding::{
    CONTEXT_LINES, Category, Confidence, DependencyInfo, Finding, Location, MAX_SNIPPET_LINE,
    ParseLevelError, Position, Related, Report, RuleInfo, RuleMeta, Runtime, Severity, Stats,
    TraceStep, Warning,
};
pub use fingerprint::{assign_fingerprints, fingerprint_line};
pub use message::{Arg, Msg, Text};
