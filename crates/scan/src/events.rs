//! What the evaluator tells the rules, and how rules report back.

use std::rc::Rc;

use miniguard_project::Role;
use miniguard_report::{Msg, Runtime, Severity, msg};

use crate::rules::RuleMeta;
use crate::value::{Origin, Value};

/// A byte range in the current file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl From<oxc_span::Span> for Span {
    fn from(s: oxc_span::Span) -> Self {
        Span {
            start: s.start,
            end: s.end,
        }
    }
}

/// A call (or `new`) in analysed code, with everything evaluated.
#[derive(Debug)]
pub struct CallEvent<'e, 'a> {
    /// Canonical path of a known API (`mp.request`, `child_process.exec`, `crypto.createHash`).
    pub path: Option<&'e str>,
    /// The last name of the callee (`query` in `pool.query(...)`, `md5` in `md5(x)`).
    pub method: Option<&'e str>,
    pub receiver: Option<&'e Value<'a>>,
    pub args: &'e [Value<'a>],
    pub arg_spans: &'e [Span],
    pub span: Span,
    /// Span of the callee expression.
    pub callee_span: Span,
    pub is_new: bool,
}

impl<'a> CallEvent<'_, 'a> {
    pub fn arg(&self, i: usize) -> Option<&Value<'a>> {
        self.args.get(i)
    }

    pub fn arg_span(&self, i: usize) -> Span {
        self.arg_spans.get(i).copied().unwrap_or(self.span)
    }

    /// Whether the canonical path is `path` or ends with `.path`-style segments given.
    pub fn is(&self, path: &str) -> bool {
        self.path == Some(path)
    }

    pub fn path_ends_with(&self, suffix: &str) -> bool {
        self.path
            .is_some_and(|p| p == suffix || p.ends_with(&format!(".{suffix}")))
    }
}

/// An assignment `target = value` where the target ends in a property name or is a global path.
#[derive(Debug)]
pub struct AssignEvent<'e, 'a> {
    /// The property assigned (`innerHTML` in `el.innerHTML = x`).
    pub property: &'e str,
    /// Canonical path of the target when known (`process.env.NODE_TLS_REJECT_UNAUTHORIZED`,
    /// `@ctx.body`).
    pub path: Option<&'e str>,
    pub value: &'e Value<'a>,
    pub span: Span,
    pub value_span: Span,
}

/// A string literal (or the cooked text of a template literal part) in code or configuration.
#[derive(Debug)]
pub struct LiteralEvent<'e> {
    pub text: &'e str,
    /// The name the literal is bound to, if any: the variable, property or parameter name.
    pub name_hint: Option<&'e str>,
    pub span: Span,
}

/// A property read `object.property`.
#[derive(Debug)]
pub struct MemberEvent<'e, 'a> {
    pub object: &'e Value<'a>,
    pub property: &'e str,
    /// Canonical path of the result when the object is a known API.
    pub path: Option<&'e str>,
    pub span: Span,
}

/// An object literal property `key: value`, or an entry of a configuration file.
#[derive(Debug)]
pub struct PropertyEvent<'e, 'a> {
    pub key: &'e str,
    pub value: &'e Value<'a>,
    pub span: Span,
    pub value_span: Span,
    /// The names of the object's properties (this one included) that are known without
    /// running code, in source order: the keys of an object literal that are not computed,
    /// the keys of a JSON object, the entries of one section of a settings file. At most
    /// [`MAX_SIBLINGS`]; empty when the object has more.
    pub siblings: &'e [Rc<str>],
}

/// Objects with more properties than this give their properties no siblings: a rule asks
/// about the small objects that hold one service's settings.
pub const MAX_SIBLINGS: usize = 64;

/// A value bound into a template attribute or JSX attribute: `<rich-text nodes="{{html}}">`,
/// `<web-view src="{{url}}">`, `<div dangerouslySetInnerHTML={{__html: x}}>`.
#[derive(Debug)]
pub struct BindingEvent<'e, 'a> {
    /// Element name, lower-cased (`rich-text`, `web-view`, `richtext`).
    pub element: &'e str,
    /// Attribute name as written (`nodes`, `src`, `v-html`).
    pub attribute: &'e str,
    pub value: &'e Value<'a>,
    pub span: Span,
}

/// Data leaving a server-side handler for the client: a cloud function's return value,
/// `res.json(...)`, `res.send(...)`, `ctx.body = ...`.
#[derive(Debug)]
pub struct RespondEvent<'e, 'a> {
    pub value: &'e Value<'a>,
    /// The code that answers (`res.json`, `ctx.body`), or [`CLOUD_FUNCTION_RETURN`].
    pub via: &'e str,
    pub span: Span,
}

/// [`RespondEvent::via`] of a cloud function's return value.
pub const CLOUD_FUNCTION_RETURN: &str = "return value of the cloud function";

/// [`RespondEvent::via`] of a route method's return value (nest sends it as the body).
pub const ROUTE_RETURN: &str = "return value of the route";

impl RespondEvent<'_, '_> {
    /// How the data leaves, as a message says it: the code, or the cloud function's return
    /// value in the reader's language.
    pub fn via_said(&self) -> miniguard_report::Arg {
        if self.via == CLOUD_FUNCTION_RETURN {
            msg!("flow.cloud-function-return").into()
        } else if self.via == ROUTE_RETURN {
            msg!("flow.route-return").into()
        } else {
            self.via.into()
        }
    }
}

/// Everything the evaluator reports to rules.
#[derive(Debug)]
pub enum Event<'e, 'a> {
    Call(&'e CallEvent<'e, 'a>),
    Assign(&'e AssignEvent<'e, 'a>),
    Literal(&'e LiteralEvent<'e>),
    Member(&'e MemberEvent<'e, 'a>),
    Property(&'e PropertyEvent<'e, 'a>),
    Binding(&'e BindingEvent<'e, 'a>),
    Respond(&'e RespondEvent<'e, 'a>),
    /// A server-side handler as the ownership analysis summarised it (once per handler, after
    /// its module was evaluated).
    Handler(&'e crate::js::handlers::Handler),
}

/// A finding before it is placed in a file's lines.
#[derive(Clone, Debug)]
pub struct RawFinding {
    pub rule: &'static RuleMeta,
    pub file: Rc<str>,
    pub span: Span,
    pub severity: Severity,
    pub message: Msg,
    pub help: Option<Msg>,
    /// Source-to-sink steps (origin, note), source first.
    pub trace: Vec<(Rc<Origin>, Msg)>,
    /// Findings of one rule with the same group are one flaw (the same plain-HTTP host, the
    /// same secret): the pipeline keeps one and lists the others as its related locations.
    pub group: Option<String>,
    /// Within a group, the place to fix (the source a generated file comes from) comes first.
    pub primary: bool,
    /// The folder a group is confined to (`/`-separated, relative; empty for the whole
    /// project): findings of one group merge only with a primary finding whose scope holds
    /// their file, or with findings of the same scope.
    pub scope: String,
    /// Where the flagged code runs, when the rule knows better than the file's role (a setting
    /// only the developer tools read).
    pub runtime: Option<Runtime>,
    /// Why the flagged code rarely runs for a user, when its place, source or sink lies in a
    /// handler nothing binds or calls, or in development-only code: set by the pipeline
    /// ([`crate::js::reach::mark`]), it lowers the finding's confidence.
    pub reach: Option<crate::js::reach::Reach>,
}

/// What a rule sees of the file it is looking at, and where it reports.
pub struct Cx<'r> {
    pub file: Rc<str>,
    pub role: Role,
    /// The file is a settings file (YAML, `.env`, properties, INI): its literals are the values
    /// of its entries, quoted or not.
    pub settings: bool,
    pub source: &'r str,
    pub(crate) out: &'r mut Vec<RawFinding>,
    guards: Option<&'r crate::js::guards::Guards>,
}

impl<'r> Cx<'r> {
    pub fn new(file: Rc<str>, role: Role, source: &'r str, out: &'r mut Vec<RawFinding>) -> Self {
        Cx {
            file,
            role,
            settings: false,
            source,
            out,
            guards: None,
        }
    }

    /// The checks seen so far in this batch (see [`crate::js::guards`]).
    pub(crate) fn with_guards(mut self, guards: &'r crate::js::guards::Guards) -> Self {
        self.guards = Some(guards);
        self
    }

    /// Whether the code checked this taint's source before this point (a prefix test, a
    /// pattern test, an allow-list lookup).
    pub fn is_guarded(&self, taint: &crate::value::Taint) -> bool {
        self.guards.is_some_and(|g| g.is_guarded(taint))
    }

    /// The source text of a span in the current file ("" if out of range).
    pub fn text(&self, span: Span) -> &'r str {
        self.source
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    pub fn is_client(&self) -> bool {
        self.role == Role::Client
    }

    /// Server side: a cloud function or a Node backend.
    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::CloudFunction | Role::Server)
    }

    /// Start a finding of `rule` at `span`.
    pub fn report(&mut self, rule: &'static RuleMeta, span: Span, message: Msg) -> Reported<'_> {
        self.out.push(RawFinding {
            rule,
            file: self.file.clone(),
            span,
            severity: rule.severity,
            message,
            help: None,
            trace: Vec::new(),
            group: None,
            primary: false,
            scope: String::new(),
            runtime: None,
            reach: None,
        });
        let last = self.out.len() - 1;
        Reported {
            finding: &mut self.out[last],
        }
    }

    /// Report a finding located at an origin (possibly in another file), e.g. the literal that
    /// holds an `http://` URL.
    pub fn report_at(
        &mut self,
        rule: &'static RuleMeta,
        origin: &Origin,
        message: Msg,
    ) -> Reported<'_> {
        self.out.push(RawFinding {
            rule,
            file: origin.file.clone(),
            span: Span {
                start: origin.start,
                end: origin.end,
            },
            severity: rule.severity,
            message,
            help: None,
            trace: Vec::new(),
            group: None,
            primary: false,
            scope: String::new(),
            runtime: None,
            reach: None,
        });
        let last = self.out.len() - 1;
        Reported {
            finding: &mut self.out[last],
        }
    }

    /// An origin for a span of the current file.
    pub fn origin(&self, span: Span, what: &str) -> Rc<Origin> {
        Rc::new(Origin {
            file: self.file.clone(),
            start: span.start,
            end: span.end,
            what: Rc::from(what),
        })
    }
}

/// Builder for the finding just reported.
pub struct Reported<'f> {
    finding: &'f mut RawFinding,
}

impl Reported<'_> {
    pub fn help(self, help: Msg) -> Self {
        self.finding.help = Some(help);
        self
    }

    pub fn severity(self, severity: Severity) -> Self {
        self.finding.severity = severity;
        self
    }

    /// The flaw this finding shares with others of its rule (see [`RawFinding::group`]).
    pub fn group(self, key: impl Into<String>) -> Self {
        self.finding.group = Some(key.into());
        self
    }

    /// This is the place to fix among the findings of its group.
    pub fn primary(self) -> Self {
        self.finding.primary = true;
        self
    }

    /// Confine the group to a folder (see [`RawFinding::scope`]).
    pub fn scope(self, folder: impl Into<String>) -> Self {
        self.finding.scope = folder.into();
        self
    }

    /// Where the flagged code or setting takes effect (see [`RawFinding::runtime`]).
    pub fn runtime(self, runtime: Runtime) -> Self {
        self.finding.runtime = Some(runtime);
        self
    }

    pub fn step(self, origin: Option<Rc<Origin>>, note: Msg) -> Self {
        if let Some(o) = origin {
            self.finding.trace.push((o, note));
        }
        self
    }
}

impl Cx<'_> {
    /// Report untrusted data reaching a sink: the message names the source, the trace goes from
    /// the source to the sink.
    pub fn report_flow(
        &mut self,
        rule: &'static RuleMeta,
        sink: Span,
        taint: &crate::value::Taint,
        what: Msg,
    ) -> Reported<'_> {
        let source = taint
            .origin
            .as_ref()
            .map(|o| o.what.to_string())
            .unwrap_or_default();
        let from = taint.kinds.describe();
        let message = if source.is_empty() {
            msg!("flow.built", what = what, from = from.clone())
        } else {
            msg!(
                "flow.built-from",
                what = what,
                source = shorten(&source),
                from = from.clone()
            )
        };
        let sink_origin = self.origin(sink, "sink");
        let origin = taint.origin.clone();
        // Located where the string was built from the input, when it was: that is the line to
        // fix, and one flaw reached through several wrappers stays one finding.
        match taint.built.clone() {
            Some(built) => self
                .report_at(rule, &built, message)
                .step(origin, msg!("flow.source", from = from))
                .step(Some(sink_origin), msg!("flow.sink")),
            None => self
                .report(rule, sink, message)
                .step(origin, msg!("flow.source", from = from))
                .step(Some(sink_origin), msg!("flow.sink")),
        }
    }
}

fn shorten(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        one_line.chars().take(60).collect::<String>() + "…"
    } else {
        one_line
    }
}
