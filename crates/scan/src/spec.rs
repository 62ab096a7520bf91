//! The taint specification: `spec/taint.toml`, compiled into the binary and read once.
//!
//! It is data, in the spirit of `CodeQL`'s models: which globals and modules are which APIs
//! (canonical paths, see the file's header), where untrusted data comes from (member reads and
//! calls of request-like objects and platform APIs), which calls sanitize it and for what, and
//! which calls are sinks of which kind with which arguments. The evaluator asks it through
//! [`crate::js::apis`]; the rules ask it for the sinks of their kind ([`Spec::sink_by_method`],
//! [`Spec::sink_by_call`]) and keep only their policy: what reaching the sink means.
//!
//! The file is checked when it is read: an unknown key, source kind, sanitizer effect or sink
//! kind is an error, and the tests read it, so a bad row fails the build's tests instead of a
//! user's scan.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::value::{Sanitized, SourceKind};

/// The specification as written (`spec/taint.toml`).
const TEXT: &str = include_str!("../spec/taint.toml");

/// What kind of harm a sink does; each kind belongs to one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    /// A whole SQL statement (I001).
    SqlStatement,
    /// A condition of a query builder, SQL when it is text (I001).
    SqlBuilderCondition,
    /// A raw SQL fragment whatever the receiver (I001).
    SqlRawCondition,
    /// A MongoDB filter (I002).
    NosqlFilter,
    /// A command line run by a shell (I003).
    ShellCommand,
    /// A program started without a shell (I003).
    Program,
    /// A file system path (I005).
    FilePath,
    /// A file sent in an HTTP response (I005).
    FileSent,
    /// A token decoded without verification (A005).
    JwtDecode,
    /// A log line (S002).
    Log,
}

/// What a sanitizer call does to its argument's taint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sanitizer {
    /// A number or boolean comes out: nothing of the input's text survives.
    Clean,
    /// The output is safe for some sinks.
    Flags(Sanitized),
    /// A clock reading comes out: a time, never a credential or personal data.
    Clock,
}

/// One sink row: the arguments that reach the sink (`None`: every argument).
#[derive(Debug)]
pub struct Sink {
    pub kind: SinkKind,
    args: Option<Vec<usize>>,
}

impl Sink {
    /// Whether argument `i` reaches the sink.
    pub fn takes(&self, i: usize) -> bool {
        self.args.as_ref().is_none_or(|a| a.contains(&i))
    }

    /// The arguments that reach the sink, of a call with `n` arguments.
    pub fn arguments(&self, n: usize) -> Vec<usize> {
        (0..n).filter(|&i| self.takes(i)).collect()
    }
}

/// The specification, indexed for the evaluator's lookups.
#[derive(Debug)]
pub struct Spec {
    globals: FxHashMap<String, String>,
    modules: FxHashMap<String, String>,
    vendored: FxHashMap<String, String>,
    pub requests: Requests,
    member_sources: FxHashMap<String, FxHashMap<String, SourceKind>>,
    method_sources: FxHashMap<String, FxHashMap<String, SourceKind>>,
    objects: FxHashMap<String, FxHashMap<String, String>>,
    sanitizer_calls: FxHashMap<String, Sanitizer>,
    sanitizer_patterns: Vec<(Vec<String>, String, Sanitizer)>,
    sanitizer_names: Vec<NameMatch>,
    sinks: Vec<Sink>,
    sinks_by_method: FxHashMap<SinkKind, FxHashMap<String, usize>>,
    sinks_by_call: FxHashMap<SinkKind, FxHashMap<String, usize>>,
}

/// `[requests]`: the calls that send HTTP requests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    pub mini_program: Vec<String>,
    pub http_clients: Vec<String>,
    pub http_verbs: Vec<String>,
    pub framework: Vec<String>,
}

/// A sanitizer matched by the name of a helper, lower case.
#[derive(Debug)]
struct NameMatch {
    names: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    contains: Vec<String>,
    makes: Sanitizer,
}

impl NameMatch {
    fn matches(&self, n: &str) -> bool {
        let named = self.names.iter().any(|x| x == n)
            || self.prefixes.iter().any(|p| n.starts_with(p.as_str()))
            || self.suffixes.iter().any(|s| n.ends_with(s.as_str()));
        named && (self.contains.is_empty() || self.contains.iter().any(|w| n.contains(w.as_str())))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    globals: FxHashMap<String, Vec<String>>,
    modules: FxHashMap<String, Vec<String>>,
    vendored: FxHashMap<String, Vec<String>>,
    requests: Requests,
    source: Vec<SourceRow>,
    object: Vec<ObjectRow>,
    sanitizer: Vec<SanitizerRow>,
    sink: Vec<SinkRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRow {
    object: Vec<String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectRow {
    of: String,
    member: Vec<String>,
    is: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SanitizerRow {
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    call_prefixes: Vec<String>,
    last_name: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name_prefixes: Vec<String>,
    #[serde(default)]
    name_suffixes: Vec<String>,
    #[serde(default)]
    name_contains: Vec<String>,
    makes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkRow {
    kind: SinkKind,
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    args: Option<Vec<usize>>,
}

/// The specification compiled into this binary.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    // Invariant: the embedded file is read by the tests (`the_specification_is_valid`).
    SPEC.get_or_init(|| Spec::parse(TEXT).expect("spec/taint.toml is valid"))
}

fn source_kind(name: &str) -> Result<SourceKind, String> {
    Ok(match name {
        "cloud-event" => SourceKind::CLOUD_EVENT,
        "http-request" => SourceKind::HTTP_REQUEST,
        "page-options" => SourceKind::PAGE_OPTIONS,
        "user-input" => SourceKind::USER_INPUT,
        "network" => SourceKind::NETWORK,
        "storage" => SourceKind::STORAGE,
        "clipboard" => SourceKind::CLIPBOARD,
        "client-identity" => SourceKind::CLIENT_IDENTITY,
        _ => return Err(format!("unknown source kind {name:?}")),
    })
}

fn sanitizer_effect(makes: &[String]) -> Result<Sanitizer, String> {
    match makes {
        [one] if one == "number" => return Ok(Sanitizer::Clean),
        [one] if one == "clock" => return Ok(Sanitizer::Clock),
        [] => return Err("a sanitizer must say what it makes".into()),
        _ => {}
    }
    let mut flags = Sanitized::empty();
    for m in makes {
        flags |= match m.as_str() {
            "html" => Sanitized::HTML,
            "sql" => Sanitized::SQL,
            "shell" => Sanitized::SHELL,
            "path" => Sanitized::PATH,
            "url" => Sanitized::URL,
            "encrypted" => Sanitized::ENCRYPTED,
            "primitive" => Sanitized::PRIMITIVE,
            "masked" => Sanitized::MASKED,
            "number" | "clock" => {
                return Err(format!("{m:?} stands alone in a sanitizer's `makes`"));
            }
            _ => return Err(format!("unknown sanitizer effect {m:?}")),
        };
    }
    Ok(Sanitizer::Flags(flags))
}

fn invert(
    table: FxHashMap<String, Vec<String>>,
    what: &str,
) -> Result<FxHashMap<String, String>, String> {
    let mut out = FxHashMap::default();
    for (path, names) in table {
        for name in names {
            let path = if path == "same" {
                name.clone()
            } else {
                path.clone()
            };
            if let Some(before) = out.insert(name.clone(), path) {
                return Err(format!(
                    "{what}: {name:?} is listed twice (also as {before:?})"
                ));
            }
        }
    }
    Ok(out)
}

impl Spec {
    /// Reads and checks a specification.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let file: File = toml_from_str(text)?;
        let mut member_sources: FxHashMap<String, FxHashMap<String, SourceKind>> =
            FxHashMap::default();
        let mut method_sources: FxHashMap<String, FxHashMap<String, SourceKind>> =
            FxHashMap::default();
        for row in file.source {
            let kind = source_kind(&row.kind)?;
            if row.members.is_empty() == row.methods.is_empty() {
                return Err(format!(
                    "a source of {:?} lists members or methods, one of the two",
                    row.object
                ));
            }
            for object in &row.object {
                for m in &row.members {
                    member_sources
                        .entry(object.clone())
                        .or_default()
                        .insert(m.clone(), kind);
                }
                for m in &row.methods {
                    method_sources
                        .entry(object.clone())
                        .or_default()
                        .insert(m.clone(), kind);
                }
            }
        }
        let mut objects: FxHashMap<String, FxHashMap<String, String>> = FxHashMap::default();
        for row in file.object {
            for m in row.member {
                objects
                    .entry(row.of.clone())
                    .or_default()
                    .insert(m, row.is.clone());
            }
        }
        let mut sanitizer_calls = FxHashMap::default();
        let mut sanitizer_patterns = Vec::new();
        let mut sanitizer_names = Vec::new();
        for row in file.sanitizer {
            let makes = sanitizer_effect(&row.makes)?;
            for c in row.calls {
                if sanitizer_calls.insert(c.clone(), makes).is_some() {
                    return Err(format!("sanitizer {c:?} is listed twice"));
                }
            }
            match (row.call_prefixes.is_empty(), row.last_name) {
                (false, Some(last)) => {
                    sanitizer_patterns.push((row.call_prefixes, last.to_ascii_lowercase(), makes));
                }
                (true, None) => {}
                _ => return Err("`call_prefixes` and `last_name` go together".into()),
            }
            let lower = |v: Vec<String>| -> Vec<String> {
                v.into_iter().map(|s| s.to_ascii_lowercase()).collect()
            };
            let by_name = NameMatch {
                names: lower(row.names),
                prefixes: lower(row.name_prefixes),
                suffixes: lower(row.name_suffixes),
                contains: lower(row.name_contains),
                makes,
            };
            if !(by_name.names.is_empty()
                && by_name.prefixes.is_empty()
                && by_name.suffixes.is_empty())
            {
                sanitizer_names.push(by_name);
            } else if !by_name.contains.is_empty() {
                return Err("`name_contains` needs names, prefixes or suffixes".into());
            }
        }
        let mut sinks = Vec::new();
        let mut sinks_by_method: FxHashMap<SinkKind, FxHashMap<String, usize>> =
            FxHashMap::default();
        let mut sinks_by_call: FxHashMap<SinkKind, FxHashMap<String, usize>> = FxHashMap::default();
        for row in file.sink {
            if row.calls.is_empty() && row.methods.is_empty() {
                return Err(format!("a {:?} sink names no call or method", row.kind));
            }
            let i = sinks.len();
            for m in row.methods {
                if sinks_by_method
                    .entry(row.kind)
                    .or_default()
                    .insert(m.clone(), i)
                    .is_some()
                {
                    return Err(format!("{:?} sink method {m:?} is listed twice", row.kind));
                }
            }
            for c in row.calls {
                if sinks_by_call
                    .entry(row.kind)
                    .or_default()
                    .insert(c.clone(), i)
                    .is_some()
                {
                    return Err(format!("{:?} sink call {c:?} is listed twice", row.kind));
                }
            }
            sinks.push(Sink {
                kind: row.kind,
                args: row.args,
            });
        }
        Ok(Spec {
            globals: invert(file.globals, "globals")?,
            modules: invert(file.modules, "modules")?,
            vendored: invert(file.vendored, "vendored")?,
            requests: file.requests,
            member_sources,
            method_sources,
            objects,
            sanitizer_calls,
            sanitizer_patterns,
            sanitizer_names,
            sinks,
            sinks_by_method,
            sinks_by_call,
        })
    }

    /// The canonical path of an undeclared global (`wx` is `mp`).
    pub fn global(&self, name: &str) -> Option<&str> {
        self.globals.get(name).map(String::as_str)
    }

    /// The canonical path a module specifier is an alias of, if it is one.
    pub fn module_alias(&self, spec: &str) -> Option<&str> {
        self.modules.get(spec).map(String::as_str)
    }

    /// The library a vendored file is, by its lower-case file stem.
    pub fn vendored(&self, stem: &str) -> Option<&str> {
        self.vendored.get(stem).map(String::as_str)
    }

    /// The taint of a member read `object.prop`.
    pub fn member_source(&self, object: &str, prop: &str) -> Option<SourceKind> {
        self.member_sources.get(object)?.get(prop).copied()
    }

    /// The taint of the result of `object.method(...)`.
    pub fn method_source(&self, object: &str, method: &str) -> Option<SourceKind> {
        self.method_sources.get(object)?.get(method).copied()
    }

    /// The request-like object a member of one is (`ctx.request` is a Koa request).
    pub fn member_object(&self, object: &str, prop: &str) -> Option<&str> {
        self.objects.get(object)?.get(prop).map(String::as_str)
    }

    /// The sanitizer a call path is, by the path itself.
    pub fn sanitizer_call(&self, path: &str) -> Option<Sanitizer> {
        if let Some(s) = self.sanitizer_calls.get(path) {
            return Some(*s);
        }
        let last = path.rsplit('.').next().unwrap_or(path);
        self.sanitizer_patterns
            .iter()
            .find(|(prefixes, name, _)| {
                prefixes.iter().any(|p| path.starts_with(p.as_str()))
                    && last.eq_ignore_ascii_case(name)
            })
            .map(|(_, _, s)| *s)
    }

    /// The sanitizer a helper is by its name (`escapeHtml`, `maskPhone`).
    pub fn sanitizer_name(&self, name: &str) -> Option<Sanitizer> {
        let n = name.to_ascii_lowercase();
        self.sanitizer_names
            .iter()
            .find(|m| m.matches(&n))
            .map(|m| m.makes)
    }

    /// The sink of `kind` that a method of that name is, on any receiver.
    pub fn sink_by_method(&self, kind: SinkKind, method: &str) -> Option<&Sink> {
        let i = *self.sinks_by_method.get(&kind)?.get(method)?;
        self.sinks.get(i)
    }

    /// The sink of `kind` that a call of that canonical path is.
    pub fn sink_by_call(&self, kind: SinkKind, path: &str) -> Option<&Sink> {
        let i = *self.sinks_by_call.get(&kind)?.get(path)?;
        self.sinks.get(i)
    }
}

fn toml_from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_is_valid() {
        let s = Spec::parse(TEXT).unwrap_or_else(|e| panic!("spec/taint.toml: {e}"));
        assert_eq!(s.global("uni"), Some("mp"));
        assert_eq!(s.global("Page"), Some("Page"));
        assert_eq!(s.module_alias("cross-spawn"), Some("cross_spawn"));
        assert_eq!(
            s.member_source("@koareq", "body"),
            Some(SourceKind::HTTP_REQUEST)
        );
        assert_eq!(s.member_object("@ctx", "res"), Some("@res"));
        assert!(s.sink_by_method(SinkKind::Log, "info").unwrap().takes(5));
        let copy = s.sink_by_method(SinkKind::FilePath, "rename").unwrap();
        assert_eq!(copy.arguments(3), vec![0, 1]);
        assert_eq!(
            s.sanitizer_call("mongoose.Types.ObjectId"),
            Some(Sanitizer::Flags(Sanitized::PRIMITIVE))
        );
        assert_eq!(
            s.sanitizer_name("hidePhone"),
            Some(Sanitizer::Flags(Sanitized::MASKED))
        );
        assert_eq!(s.sanitizer_name("hideDialog"), None);
    }

    #[test]
    fn every_sink_kind_has_rows() {
        let s = spec();
        for kind in [
            SinkKind::SqlStatement,
            SinkKind::SqlBuilderCondition,
            SinkKind::SqlRawCondition,
            SinkKind::NosqlFilter,
            SinkKind::ShellCommand,
            SinkKind::Program,
            SinkKind::FilePath,
            SinkKind::FileSent,
            SinkKind::JwtDecode,
            SinkKind::Log,
        ] {
            assert!(
                s.sinks.iter().any(|r| r.kind == kind),
                "{kind:?} has no row"
            );
        }
    }

    #[test]
    fn bad_rows_are_refused_with_the_reason() {
        let base = TEXT.to_owned();
        for (bad, says) in [
            (
                "[[sink]]\nkind = \"sql\"\nmethods = [\"q\"]\n",
                "unknown variant",
            ),
            (
                "[[source]]\nobject = [\"@req\"]\nmembers = [\"x\"]\nkind = \"radio\"\n",
                "unknown source kind",
            ),
            (
                "[[sanitizer]]\ncalls = [\"x1\"]\nmakes = [\"number\", \"html\"]\n",
                "stands alone",
            ),
            (
                "[[sink]]\nkind = \"log\"\nmethods = [\"log\"]\n",
                "listed twice",
            ),
            (
                "[[sink]]\nkind = \"log\"\nflavour = 1\nmethods = [\"z\"]\n",
                "unknown field",
            ),
        ] {
            let err = Spec::parse(&format!("{base}\n{bad}")).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
