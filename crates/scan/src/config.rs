//! JSON configuration files as the config rules see them, and project-wide facts.

use std::rc::Rc;

use miniguard_project::JsonKind;
use miniguard_project::json::JsonNode;

use crate::events::Span;

/// A parsed JSON configuration file.
#[derive(Debug)]
pub struct JsonFile<'s> {
    pub rel: &'s str,
    pub kind: JsonKind,
    pub root: &'s JsonNode,
    pub source: &'s str,
}

impl JsonFile<'_> {
    /// The file name (`app.json`, `project.config.json`).
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(self.rel)
    }
}

/// The span of a JSON node, for reports.
pub fn node_span(n: &JsonNode) -> Span {
    Span {
        start: u32::try_from(n.span.start).unwrap_or(u32::MAX),
        end: u32::try_from(n.span.end).unwrap_or(u32::MAX),
    }
}

/// The span of a JSON key, for reports.
pub fn key_span(s: miniguard_project::json::Span) -> Span {
    Span {
        start: u32::try_from(s.start).unwrap_or(u32::MAX),
        end: u32::try_from(s.end).unwrap_or(u32::MAX),
    }
}

/// One mini-program's `app.json`, as far as project rules need it.
#[derive(Debug, Clone)]
pub struct AppFacts {
    /// `app.json` path relative to the scan root.
    pub config_rel: String,
    /// The mini-program root, relative to the scan root ("" for the root).
    pub root_rel: String,
    /// Entries of `requiredPrivateInfos`.
    pub required_private_infos: Vec<String>,
    /// Where to point when something is missing: the `requiredPrivateInfos` key, or the start
    /// of the file.
    pub anchor: Span,
}

/// Facts gathered over the whole project.
#[derive(Debug, Clone, Default)]
pub struct ProjectFacts {
    pub apps: Vec<AppFacts>,
    /// Mini-program APIs called from client code: (api name, file, span).
    pub mp_calls: Vec<(String, Rc<str>, Span)>,
}
