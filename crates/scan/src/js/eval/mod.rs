//! The evaluator: an abstract interpreter over the oxc AST.
//!
//! It walks each module's statements in order, keeping for every variable (by oxc `SymbolId`)
//! the abstract [`Value`] last assigned to it, so taint follows assignments, destructuring,
//! object fields, template literals and concatenation. A call of a function of the analysed code
//! evaluates its body with the argument values bound to its parameters (memoised per function
//! and argument shape, bounded in depth), so taint follows calls, returns, callbacks, promise
//! `.then` and `await`, within a module and across `require`/`import`. Known APIs come from the
//! tables in [`super::apis`]. Every call, assignment, literal and member read is shown to the
//! rules as an [`Event`].
//!
//! Functions nobody calls (page handlers, route handlers, exported helpers) are evaluated at the
//! end with parameters chosen by what they are: `onLoad(options)` gets page options,
//! `exports.main(event)` the client-controlled event, `(req, res)` an HTTP request.
//!
//! The evaluator is one type whose methods are split by concern: `modules` (entries, exports,
//! imports, the environment), `stmt` (statements and assignment), `expr` (expressions),
//! `call` (calls of analysed code, constructors, injection), `platform` (platform and
//! framework models written as code) and `page` (pages, templates, JSX). The API tables they
//! read are in [`super::apis`].

mod call;
mod expr;
mod modules;
mod page;
mod platform;
mod stmt;

use std::rc::Rc;

use miniguard_project::Role;
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, AssignmentOperator, AssignmentTarget,
    AssignmentTargetMaybeDefault, AssignmentTargetProperty, BinaryOperator, BindingPattern,
    ChainElement, Class, ClassElement, Declaration, ExportDefaultDeclarationKind, Expression,
    ForStatementInit, ForStatementLeft, FormalParameters, Function, ImportDeclarationSpecifier,
    JSXAttributeItem, JSXAttributeName, JSXAttributeValue, JSXChild, JSXElement, JSXElementName,
    JSXExpression, MemberExpression, ModuleExportName, ObjectPropertyKind, PropertyKey,
    PropertyKind, Statement, VariableDeclaration,
};
use oxc_semantic::SymbolId;
use rustc_hash::{FxHashMap, FxHashSet};

use super::apis::{self, Sanitizer};
use super::{Module, ModuleSet};
use crate::events::{
    AssignEvent, BindingEvent, CallEvent, Cx, Event, LiteralEvent, MemberEvent, PropertyEvent,
    RawFinding, RespondEvent, Span,
};
use crate::names::labels_for_name;
use crate::rules::Rule;
use crate::value::{FuncNode, FuncRef, Kind, Labels, Obj, Origin, Sanitized, SourceKind, Value};

/// What a name of a one-time value (`nonce_str`, `salt`) takes back from the names a value had
/// before (see [`crate::names::names_one_time_value`]).
const ONE_TIME_NOT: Labels = Labels::PASSWORD.union(Labels::TOKEN).union(Labels::SECRET);

/// Implicit globals remembered per batch (see [`Evaluator::implicit`]).
const MAX_IMPLICIT: usize = 4096;
/// How deep calls are followed.
const MAX_DEPTH: usize = 8;
/// How deeply nested expressions and statements are followed; deeper code (generated or
/// hostile) is treated as unknown rather than risking the stack.
const MAX_NESTING: u32 = 400;
/// Evaluation steps one batch may take before the analysis of deeper calls stops.
const STEP_BUDGET: u64 = 3_000_000;
/// Why a module was partly analysed (the texts of the warnings).
pub const PARTIAL_NESTING: &str =
    "code nested deeper than 400 levels; the deeper code was not analysed";
pub const PARTIAL_BUDGET: &str =
    "the evaluation budget ran out in this file; the rest of it was not followed";

#[derive(Clone)]
enum ExportState<'a> {
    InProgress(Value<'a>),
    Done(Value<'a>),
}

struct PageState<'a> {
    data: Value<'a>,
    methods: Vec<(Rc<str>, FuncRef<'a>)>,
    extra: FxHashMap<Rc<str>, Value<'a>>,
}

/// What evaluating a module's top level left for the rest of a batch: its exports, its
/// variables, the functions it defined, the imports it loaded and the top levels it needed.
///
/// A worker keeps it (in its [`ModuleCache`](super::ModuleCache)) when the evaluation depended
/// on nothing but the module and the summaries of the modules it read: it ran no function of
/// the analysed code, read nothing the batch had gathered (the app, pages, stores, checks seen
/// before), was not cut short, and was not in an import cycle. Evaluating that top level again
/// in a later batch would do the same again, so the later batch takes the summary instead
/// (`ensure_module`); the findings of the top level were reported by the batch
/// that evaluated it, and would be the same findings again.
pub struct Summary<'a> {
    exports: Value<'a>,
    env: FxHashMap<SymbolId, Value<'a>>,
    /// Functions of the module seen at its top level, in order.
    seen: Vec<Seen<'a>>,
    /// Imports loaded and top levels needed, in order.
    log: Vec<Need>,
    /// Evaluation steps of the top level itself, and of it with the top levels it evaluated.
    own_steps: u64,
    /// Deepest nesting reached, from the nesting it started at.
    peak: u32,
}

/// What a top level asked of the batch (see [`Summary::log`]).
#[derive(Clone)]
enum Need {
    /// It loaded the import at this path.
    Load(std::path::PathBuf),
    /// It needed the top level of this module, at this nesting from its own start.
    TopLevel(usize, u32),
}

/// A top level being evaluated for a [`Summary`].
struct Recording {
    module: usize,
    log: Vec<Need>,
    needed: FxHashSet<usize>,
    /// Set when the evaluation read something a summary cannot stand for.
    spoiled: bool,
    marks: Marks,
    /// `steps`, `depth` and `seen.len()` when it started.
    steps: u64,
    depth: u32,
    seen: usize,
    /// Steps taken by top levels it needed (counted in their own summaries).
    nested_steps: u64,
}

/// Counters of what a top level must not touch to be summarised (see [`Summary`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Marks {
    impure: u64,
    guards: (u64, u64),
    refusals: usize,
    facts: (usize, usize),
    templates: (usize, usize, usize),
    reach: usize,
    app: bool,
}

/// A summary about to be taken instead of evaluating a top level, checked first.
#[derive(Default)]
struct Plan {
    modules: FxHashSet<usize>,
    loads: FxHashSet<std::path::PathBuf>,
    steps: u64,
    peak: u32,
}

/// The state of the code that needed a module's top level, set aside while that runs (see
/// [`Evaluator::enter_top_level`]).
struct Outer<'a> {
    template_file: Option<(Rc<str>, Rc<str>)>,
    template_scope: Option<Vec<(Rc<str>, Value<'a>)>>,
    this_stack: Vec<Value<'a>>,
    returns: Vec<Option<Value<'a>>>,
    return_spans: Vec<Option<oxc_span::Span>>,
    last_return_span: Option<oxc_span::Span>,
    last_this: Option<Value<'a>>,
    name_ctx: Option<Rc<str>>,
    this_hint: Option<&'static str>,
    cur_class: Option<&'a Class<'a>>,
    pages: Vec<PageState<'a>>,
    injecting: u32,
}

/// A function seen during evaluation, with the `this` it should get if nobody calls it.
#[derive(Clone)]
struct Seen<'a> {
    func: FuncRef<'a>,
    this_hint: Option<&'static str>,
    /// The class the function is a method of, when seen as one (`class X { m() {} }`).
    class: Option<&'a Class<'a>>,
}

/// Facts about the project gathered while evaluating, for project-level rules.
#[derive(Default, Debug, Clone)]
pub struct Facts {
    /// Mini-program APIs called from client code: (api name, file, span).
    pub mp_calls: Vec<(String, Rc<str>, Span)>,
    /// JSON Web Tokens signed or verified in server code, with their keys.
    pub token_keys: Vec<crate::config::TokenKey>,
}

/// Evaluates the modules of one batch and collects the rules' findings.
pub struct Evaluator<'a, 'r> {
    set: &'r ModuleSet<'a>,
    rules: &'r [&'static dyn Rule],
    pub findings: Vec<RawFinding>,
    pub facts: Facts,
    /// Template sources read for page bindings: (rel, text).
    pub templates: Vec<(Rc<str>, Rc<str>)>,
    pub template_errors: Vec<(Rc<str>, u32, String)>,
    /// `.vue` modules whose template was analysed (with the page of their options object).
    vue_templates_done: FxHashSet<usize>,
    /// Modules whose analysis was cut short: (module index, why). Reported as warnings.
    pub partial: std::collections::BTreeSet<(usize, &'static str)>,
    /// Handlers nothing binds or calls, and template elements only development builds show.
    pub reach: Vec<super::reach::Region>,
    /// The variables of each module (by module number), and what each module exports (none:
    /// its top level not evaluated yet).
    envs: FxHashMap<usize, FxHashMap<SymbolId, Value<'a>>>,
    exports: FxHashMap<usize, ExportState<'a>>,
    cur: usize,
    stack: Vec<(usize, u32)>,
    memo: FxHashMap<(usize, u32, u64), Value<'a>>,
    returns: Vec<Option<Value<'a>>>,
    this_stack: Vec<Value<'a>>,
    resolvers: Vec<Value<'a>>,
    pages: Vec<PageState<'a>>,
    name_ctx: Option<Rc<str>>,
    steps: u64,
    depth: u32,
    /// Spans of the return statements of the functions being evaluated, innermost last.
    return_spans: Vec<Option<oxc_span::Span>>,
    /// The span of the last value-returning `return` of the function evaluated last.
    last_return_span: Option<oxc_span::Span>,
    guards: super::guards::Guards,
    /// `this` as the last evaluated function left it (the instance after a constructor).
    last_this: Option<Value<'a>>,
    called: FxHashSet<(usize, u32)>,
    seen: Vec<Seen<'a>>,
    seen_set: FxHashSet<(usize, u32)>,
    this_hint: Option<&'static str>,
    /// The class whose methods are being read (see [`Seen::class`]).
    cur_class: Option<&'a Class<'a>>,
    /// How many constructor-injected services are being built inside each other.
    injecting: u32,
    template_scope: Option<Vec<(Rc<str>, Value<'a>)>>,
    /// Current event file when evaluating a template: (rel, source, role).
    template_file: Option<(Rc<str>, Rc<str>)>,
    app_value: Option<Value<'a>>,
    /// Vuex mutations seen in store (or store module) options, by name: `commit('name', x)`
    /// runs them with the payload.
    mutations: FxHashMap<Rc<str>, FuncRef<'a>>,
    /// Pinia stores by the API path of their `useStore` function (`@pinia:<module>:<offset>`):
    /// the setup function or the options object given to `defineStore`.
    pinia: FxHashMap<Rc<str>, Value<'a>>,
    evaluating_app: bool,
    /// Variables assigned without a declaration (`sql = '...' + x` in sloppy code: an implicit
    /// global), by module and name.
    implicit: FxHashMap<(usize, Rc<str>), Value<'a>>,
    /// Top levels being evaluated for a summary, innermost last.
    recording: Vec<Recording>,
    /// Modules whose exports are still those of their summary.
    from_summary: FxHashSet<usize>,
    /// Counts what ties a top level to the batch: calls of analysed code, the app, pages,
    /// stores, the analysis cut short.
    impure: u64,
    /// Deepest nesting reached (see [`Summary::peak`]).
    peak: u32,
    /// Top levels evaluated and taken from summaries (`modules_parsed` is the cache's).
    pub work: crate::Work,
}

impl<'a, 'r> Evaluator<'a, 'r> {
    pub fn new(set: &'r ModuleSet<'a>, rules: &'r [&'static dyn Rule]) -> Self {
        Evaluator {
            set,
            rules,
            findings: Vec::new(),
            facts: Facts::default(),
            templates: Vec::new(),
            template_errors: Vec::new(),
            vue_templates_done: FxHashSet::default(),
            partial: std::collections::BTreeSet::new(),
            reach: Vec::new(),
            envs: FxHashMap::default(),
            exports: FxHashMap::default(),
            cur: 0,
            stack: Vec::new(),
            memo: FxHashMap::default(),
            returns: Vec::new(),
            this_stack: Vec::new(),
            resolvers: Vec::new(),
            pages: Vec::new(),
            name_ctx: None,
            steps: 0,
            depth: 0,
            return_spans: Vec::new(),
            last_return_span: None,
            guards: super::guards::Guards::default(),
            last_this: None,
            called: FxHashSet::default(),
            seen: Vec::new(),
            seen_set: FxHashSet::default(),
            this_hint: None,
            cur_class: None,
            injecting: 0,
            template_scope: None,
            template_file: None,
            app_value: None,
            mutations: FxHashMap::default(),
            pinia: FxHashMap::default(),
            evaluating_app: false,
            implicit: FxHashMap::default(),
            recording: Vec::new(),
            from_summary: FxHashSet::default(),
            impure: 0,
            peak: 0,
            work: crate::Work::default(),
        }
    }

    fn module(&self, idx: usize) -> Rc<Module<'a>> {
        // Invariant: indices come from ModuleSet::load, which only returns indices it stored.
        self.set
            .get(idx)
            .expect("module index from ModuleSet::load")
    }

    /// The variables of the current module.
    fn env_mut(&mut self) -> &mut FxHashMap<SymbolId, Value<'a>> {
        self.envs.entry(self.cur).or_default()
    }

    // ----- events -------------------------------------------------------------------------

    fn emit(&mut self, event: &Event<'_, 'a>) {
        let template = self.template_file.clone();
        let module;
        let (file, source, role): (Rc<str>, &str, Role) = if let Some((rel, src)) = &template {
            (rel.clone(), src, Role::Client)
        } else {
            module = self.module(self.cur);
            (module.rel.clone(), module.source, module.role)
        };
        self.guards.observe(&file, source, event);
        let mut cx = Cx::new(file, role, source, &mut self.findings).with_guards(&self.guards);
        for rule in self.rules {
            rule.check(&mut cx, event);
        }
    }

    fn origin(&self, span: oxc_span::Span, what: &str) -> Rc<Origin> {
        let file = match &self.template_file {
            Some((rel, _)) => rel.clone(),
            None => self.module(self.cur).rel.clone(),
        };
        let what: String = what.chars().take(80).collect();
        Rc::new(Origin {
            file,
            start: span.start,
            end: span.end,
            what: Rc::from(what),
        })
    }

    fn snippet(&self, span: oxc_span::Span) -> String {
        if let Some((_, src)) = &self.template_file {
            return src
                .get(span.start as usize..span.end as usize)
                .unwrap_or("")
                .to_owned();
        }
        let m = self.module(self.cur);
        m.source
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
            .to_owned()
    }

    fn role(&self) -> Role {
        if self.template_file.is_some() {
            Role::Client
        } else {
            self.module(self.cur).role
        }
    }
}

// ----- helpers -----------------------------------------------------------------------------

/// The parameters of a function, or of a class's constructor.
fn func_params(node: FuncNode<'_>) -> Option<&FormalParameters<'_>> {
    match node {
        FuncNode::Function(f) => Some(&f.params),
        FuncNode::Arrow(a) => Some(&a.params),
        FuncNode::Class(c) => c.body.body.iter().find_map(|el| match el {
            ClassElement::MethodDefinition(m)
                if property_key_name(&m.key).as_deref() == Some("constructor") =>
            {
                Some(&*m.value.params)
            }
            _ => None,
        }),
    }
}

fn func_span(node: FuncNode<'_>) -> oxc_span::Span {
    match node {
        FuncNode::Function(f) => f.span,
        FuncNode::Arrow(a) => a.span,
        FuncNode::Class(c) => c.span,
    }
}

fn m_span(m: &MemberExpression<'_>) -> oxc_span::Span {
    oxc_span::GetSpan::span(m)
}

/// Value of one element of an array-like value.
/// `store.get('token')`, `cache.getItem('password')`, `state.getCommonState('token')`: a getter
/// called with a constant key returns what the key names.
fn getter_key_labels(method: Option<&str>, args: &[Value<'_>]) -> Labels {
    let Some(m) = method else {
        return Labels::empty();
    };
    let getter = m == "get"
        || m.strip_prefix("get")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()));
    match (getter, args.first().and_then(Value::exact_text)) {
        (true, Some(key)) if args.len() <= 2 => labels_for_name(key),
        _ => Labels::empty(),
    }
}

fn element_of<'a>(v: &Value<'a>) -> Value<'a> {
    match &v.kind {
        Kind::Array(e) => {
            let mut e = (**e).clone();
            e.taint.join(&v.taint);
            e
        }
        _ => v.flattened(),
    }
}

fn property_key_name(k: &PropertyKey<'_>) -> Option<String> {
    k.static_name().map(std::borrow::Cow::into_owned)
}

fn export_name(n: &ModuleExportName<'_>) -> String {
    match n {
        ModuleExportName::IdentifierName(i) => i.name.as_str().to_owned(),
        ModuleExportName::IdentifierReference(i) => i.name.as_str().to_owned(),
        ModuleExportName::StringLiteral(s) => s.value.as_str().to_owned(),
    }
}

fn assignment_target_name(t: &AssignmentTarget<'_>) -> Option<String> {
    match t {
        AssignmentTarget::AssignmentTargetIdentifier(id) => Some(id.name.as_str().to_owned()),
        other => match other.as_member_expression()? {
            MemberExpression::StaticMemberExpression(s) => {
                Some(s.property.name.as_str().to_owned())
            }
            MemberExpression::ComputedMemberExpression(c) => match &c.expression {
                Expression::StringLiteral(s) => Some(s.value.as_str().to_owned()),
                _ => None,
            },
            MemberExpression::PrivateFieldExpression(_) => None,
        },
    }
}

/// A request URL (or options with `url`) of a platform's code-to-session exchange.
fn is_session_exchange(a: &Value<'_>) -> bool {
    let url = if a.text.is_some() {
        Some(a)
    } else {
        a.field("url").or_else(|| a.field("uri"))
    };
    url.and_then(|u| u.text.as_deref()).is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("jscode2session") || t.contains("getsessionkeybycode")
    })
}

/// A request URL (or options with `url`) of the platform's server credential exchange
/// (`cgi-bin/token`, `cgi-bin/stable_token`: the app-wide `access_token`).
fn is_token_exchange(a: &Value<'_>) -> bool {
    let url = if a.text.is_some() {
        Some(a)
    } else {
        a.field("url").or_else(|| a.field("uri"))
    };
    url.and_then(|u| u.text.as_deref()).is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("/cgi-bin/token") || t.contains("/cgi-bin/stable_token")
    })
}

/// The answer of the code-to-session exchange: `session_key` in the parsed body and under
/// `data` / `body` of the HTTP clients' response objects.
fn session_response<'a>(taint: &crate::value::Taint) -> Value<'a> {
    credential_response(taint, "session_key", Labels::SESSION_KEY)
}

/// A platform answer carrying a credential under `key`, in the parsed body and under `data` /
/// `body` of the HTTP clients' response objects.
fn credential_response<'a>(taint: &crate::value::Taint, field: &str, labels: Labels) -> Value<'a> {
    let mut key = Value {
        labels,
        ..Value::default()
    };
    // The credential came over the network from the platform (not from a secret of the code).
    key.taint = taint.clone();
    key.taint.kinds |= SourceKind::NETWORK;
    let mut body = Obj::default();
    body.set(field, key);
    let body = Value::object(body);
    let mut resp = body.obj().cloned().unwrap_or_default();
    resp.set("data", body.clone());
    resp.set("body", body);
    let mut v = Value::object(resp);
    v.taint = taint.clone();
    v
}

/// `a.b.c` as its root identifier and the names after it (`b`, `c`), at most 3 deep.
fn static_chain<'e, 'a>(
    e: &'e Expression<'a>,
) -> Option<(&'e oxc_ast::ast::IdentifierReference<'a>, Vec<&'e str>)> {
    let mut names = Vec::new();
    let mut cur = e;
    loop {
        match cur {
            Expression::Identifier(id) => {
                names.reverse();
                return Some((id, names));
            }
            Expression::StaticMemberExpression(m) if names.len() < 3 => {
                names.push(m.property.name.as_str());
                cur = m.object.get_inner_expression();
            }
            _ => return None,
        }
    }
}

/// Set `path` inside the objects of `v` (copy on write). Only known objects, or blank values
/// that become objects, are written into; anything else is left as it is.
fn set_nested<'a>(v: &mut Value<'a>, path: &[&str], new: Value<'a>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let mut o = match &v.kind {
        Kind::Object(o) => (**o).clone(),
        Kind::Unknown if v.is_blank() => Obj::default(),
        _ => return,
    };
    if rest.is_empty() {
        o.set(first, new);
    } else {
        let mut inner = o.get(first).cloned().unwrap_or_default();
        set_nested(&mut inner, rest, new);
        o.set(first, inner);
    }
    v.kind = Kind::Object(Rc::new(o));
}

/// The answer of a database read whose condition compared a password: `{ data: [row] }` with
/// the row's `password` field.
fn password_rows<'a>() -> Value<'a> {
    let mut row = Obj::default();
    row.set(
        "password",
        Value {
            labels: Labels::PASSWORD,
            ..Value::default()
        },
    );
    let rows = Value {
        kind: Kind::Array(Rc::new(Value::object(row))),
        ..Value::default()
    };
    let mut resp = Obj::default();
    resp.set("data", rows);
    Value::object(resp)
}

/// Names under which code carries a user's identity.
fn is_identity_name(prop: &str) -> bool {
    matches!(
        prop,
        "openid"
            | "openId"
            | "OPENID"
            | "_openid"
            | "openID"
            | "unionid"
            | "unionId"
            | "UNIONID"
            | "userId"
            | "userid"
            | "user_id"
            | "uid"
            | "UID"
            | "userID"
            | "memberId"
            | "member_id"
    )
}

/// A class's constructor.
fn constructor_of<'a>(c: &'a Class<'a>) -> Option<&'a oxc_ast::ast::MethodDefinition<'a>> {
    c.body.body.iter().find_map(|el| match el {
        ClassElement::MethodDefinition(m)
            if property_key_name(&m.key).as_deref() == Some("constructor") =>
        {
            Some(&**m)
        }
        _ => None,
    })
}

/// Whether a class's constructor declares TypeScript parameter properties with a class type
/// (`constructor(private readonly orders: OrderService)`), as nest services are injected.
fn injects_services(c: &Class<'_>) -> bool {
    constructor_of(c).is_some_and(|m| {
        m.value.params.items.iter().any(|p| {
            (p.accessibility.is_some() || p.readonly)
                && p.type_annotation.as_ref().is_some_and(|a| {
                    matches!(&a.type_annotation, oxc_ast::ast::TSType::TSTypeReference(_))
                })
        })
    })
}

/// The name of a decorator (`Get` of `@Get('login')`, `Controller` of `@Controller`).
fn decorator_name<'b>(d: &'b oxc_ast::ast::Decorator<'_>) -> Option<&'b str> {
    match &d.expression {
        Expression::CallExpression(c) => match &c.callee {
            Expression::Identifier(id) => Some(id.name.as_str()),
            _ => None,
        },
        Expression::Identifier(id) => Some(id.name.as_str()),
        _ => None,
    }
}

/// Whether `func` is a route method of a nest controller (`@Controller()` class, `@Get()` /
/// `@Post()`... method) whose return value nest sends as the response body (not when the
/// method takes the response object with `@Res()` and answers through it).
fn nest_route(c: &Class<'_>, func: &Function<'_>) -> Option<&'static str> {
    if !c
        .decorators
        .iter()
        .any(|d| decorator_name(d) == Some("Controller"))
    {
        return None;
    }
    let m = c.body.body.iter().find_map(|el| match el {
        ClassElement::MethodDefinition(m) if std::ptr::eq(&raw const *m.value, func) => Some(m),
        _ => None,
    })?;
    let route = m.decorators.iter().any(|d| {
        matches!(
            decorator_name(d),
            Some("Get" | "Post" | "Put" | "Patch" | "Delete" | "All" | "Options" | "Head")
        )
    });
    if !route {
        return None;
    }
    let takes_res = m.value.params.items.iter().any(|p| {
        p.decorators
            .iter()
            .any(|d| matches!(decorator_name(d), Some("Res" | "Response")))
    });
    if takes_res {
        return None;
    }
    Some(crate::events::ROUTE_RETURN)
}

/// `NestJS` parameter decorators that mark request data.
fn decorator_source(
    decorators: &oxc_allocator::Vec<'_, oxc_ast::ast::Decorator<'_>>,
) -> Option<&'static str> {
    for d in decorators {
        if let Expression::CallExpression(c) = &d.expression
            && let Expression::Identifier(id) = &c.callee
        {
            return match id.name.as_str() {
                "Body" => Some("@Body()"),
                "Query" => Some("@Query()"),
                "Param" => Some("@Param()"),
                "Headers" => Some("@Headers()"),
                "Req" | "Request" => Some("@Req()"),
                _ => continue,
            };
        }
    }
    None
}

/// A cheap summary of argument values for memoisation.
fn signature(this: &Value<'_>, args: &[Value<'_>]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    for v in std::iter::once(this).chain(args) {
        v.deep_taint().kinds.bits().hash(&mut h);
        v.deep_labels().bits().hash(&mut h);
        v.sanitized.bits().hash(&mut h);
        v.text.hash(&mut h);
        match &v.kind {
            Kind::Unknown => 0u8.hash(&mut h),
            Kind::Object(o) => {
                1u8.hash(&mut h);
                for (k, _) in &o.fields {
                    k.hash(&mut h);
                }
            }
            Kind::Array(_) => 2u8.hash(&mut h),
            Kind::Func(f) => {
                3u8.hash(&mut h);
                f.node.start().hash(&mut h);
            }
            Kind::Api(p) => {
                4u8.hash(&mut h);
                p.hash(&mut h);
            }
            Kind::Module(i) => {
                5u8.hash(&mut h);
                i.hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Whether a module reads a role-like property (`payload.role`, `user.isAdmin`,
/// `decoded.permissions`): a token check there can tell an administrator from a user.
fn reads_role_claim(source: &str) -> bool {
    source.split('.').skip(1).any(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        !name.is_empty()
            && super::authz_spec::has_word(
                &name,
                &["role", "admin", "permission", "privilege", "staff"],
            )
    })
}
