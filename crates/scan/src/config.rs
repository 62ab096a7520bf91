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

/// A JSON Web Token signed or verified in server code with a key the code names.
#[derive(Debug, Clone)]
pub struct TokenKey {
    /// `verify` (else `sign`).
    pub verify: bool,
    /// The key: its text when the code gives it (`'s3cret'`, a constant), else `code:` and
    /// the expression (`code:app.config.jwt.secret`).
    pub key: String,
    pub file: String,
    pub span: crate::events::Span,
    /// The file lies in a back-office folder (`admin/`, `manage/`).
    pub admin: bool,
    /// The file reads a role-like claim (`.role`, `.isAdmin`, `.permissions`).
    pub role_claim: bool,
}

/// Facts gathered over the whole project.
#[derive(Debug, Clone, Default)]
pub struct ProjectFacts {
    pub apps: Vec<AppFacts>,
    /// Token signatures and verifications with their keys.
    pub token_keys: Vec<TokenKey>,
    /// Mini-program APIs called from client code: (api name, file, span).
    pub mp_calls: Vec<(String, Rc<str>, Span)>,
}
