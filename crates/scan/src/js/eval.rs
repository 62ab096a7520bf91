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
    NotStarted,
    InProgress(Value<'a>),
    Done(Value<'a>),
}

struct PageState<'a> {
    data: Value<'a>,
    methods: Vec<(Rc<str>, FuncRef<'a>)>,
    extra: FxHashMap<Rc<str>, Value<'a>>,
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
    envs: Vec<FxHashMap<SymbolId, Value<'a>>>,
    exports: Vec<ExportState<'a>>,
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
            envs: Vec::new(),
            exports: Vec::new(),
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
        }
    }

    fn module(&self, idx: usize) -> Rc<Module<'a>> {
        // Invariant: indices come from ModuleSet::load, which only returns indices it stored.
        self.set
            .get(idx)
            .expect("module index from ModuleSet::load")
    }

    fn grow(&mut self) {
        let n = self.set.len();
        if self.envs.len() < n {
            self.envs.resize_with(n, FxHashMap::default);
            self.exports.resize(n, ExportState::NotStarted);
        }
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

    // ----- modules ------------------------------------------------------------------------

    /// Evaluate a module as an entry: its top level, then every function nobody called.
    pub fn run_entry(&mut self, idx: usize) {
        self.ensure_module(idx);
        let before = self.cur;
        self.cur = idx;
        // Cloud function entry: exports.main(event, context).
        if self.module(idx).role == Role::CloudFunction
            && let ExportState::Done(exports) = self.exports[idx].clone()
        {
            let main = exports.field("main").cloned().or_else(|| {
                exports
                    .field("default")
                    .and_then(|d| d.field("main"))
                    .cloned()
            });
            if let Some(Value {
                kind: Kind::Func(f),
                ..
            }) = main
            {
                let event = self.param_origin_value(f, 0, SourceKind::CLOUD_EVENT, "event");
                let ret = self.call_func(f, Value::unknown(), &[event, Value::unknown()], false);
                let span = self
                    .last_return_span
                    .take()
                    .unwrap_or_else(|| func_span(f.node));
                let ev = RespondEvent {
                    value: &ret,
                    via: crate::events::CLOUD_FUNCTION_RETURN,
                    span: span.into(),
                };
                self.emit_in(f.module, &Event::Respond(&ev));
            }
        }
        // A Vue file without an options object (`<script setup>`, or a template alone): its
        // template is analysed all the same, with the page data unknown, so its sinks and its
        // parse errors are reported as for an options-API page.
        if !self.vue_templates_done.contains(&idx)
            && self
                .module(idx)
                .path
                .extension()
                .is_some_and(|e| e == "vue" || e == "nvue")
        {
            let data = self.script_setup_bindings(idx);
            self.check_template(&PageState {
                data,
                methods: Vec::new(),
                extra: FxHashMap::default(),
            });
        }
        self.run_uncalled(idx);
        let module = self.module(idx);
        let mut handlers = super::handlers::analyse(&module);
        // A lower bound declared on a request DTO of another module (nest: `@Min(1)` in
        // `create-order.dto.ts`, imported by the controller) bounds the handlers' quantities,
        // and those of the services they call.
        if handlers.iter().any(|h| !h.quantity_bounded) && self.imports_declare_lower_bound(idx) {
            for h in &mut handlers {
                h.quantity_bounded = true;
            }
        }
        for h in &handlers {
            self.emit_in(idx, &Event::Handler(h));
        }
        self.follow_callouts(idx, handlers);
        self.cur = before;
    }

    /// Whether a project module that module `idx` imports declares a lower bound on request
    /// fields (see [`super::authz_spec::LOWER_BOUND_DECLARATIONS`]).
    fn imports_declare_lower_bound(&mut self, idx: usize) -> bool {
        let module = self.module(idx);
        for stmt in &module.program.body {
            let Statement::ImportDeclaration(imp) = stmt else {
                continue;
            };
            let Some(path) =
                super::resolve(self.set.index, &module.path, imp.source.value.as_str())
            else {
                continue;
            };
            let Some(target) = self.set.load(&path) else {
                continue;
            };
            let source = self.module(target).source;
            if super::authz_spec::LOWER_BOUND_DECLARATIONS
                .iter()
                .any(|d| source.contains(d))
            {
                return true;
            }
        }
        false
    }

    /// Analyses the service functions the handlers of module `idx` call with client input
    /// (see [`super::handlers::analyse_callee`]), two calls deep at most, each (module,
    /// function, argument classes) once per entry.
    fn follow_callouts(&mut self, idx: usize, handlers: Vec<super::handlers::Handler>) {
        const MAX_DEPTH: u32 = 2;
        const MAX_FOLLOWED: usize = 64;
        let mut queue: Vec<(usize, super::handlers::Handler, u32)> =
            handlers.into_iter().map(|h| (idx, h, 1)).collect();
        let mut done = FxHashSet::default();
        while let Some((from, caller, depth)) = queue.pop() {
            for c in &caller.callouts {
                if done.len() >= MAX_FOLLOWED {
                    return;
                }
                let from_path = self.module(from).path.clone();
                let Some(path) =
                    super::handlers::target_path(self.set.index, &from_path, &c.target)
                else {
                    continue;
                };
                let Some(target) = self.set.load(&path) else {
                    continue;
                };
                let bits: Vec<u8> = c.args.iter().map(super::handlers::Src::bits).collect();
                if !done.insert((
                    target,
                    c.method.clone(),
                    bits,
                    caller.role_checked,
                    caller.owner_checked,
                )) {
                    continue;
                }
                let module = self.module(target);
                let Some(h) = super::handlers::analyse_callee(&module, &c.method, &c.args, &caller)
                else {
                    continue;
                };
                self.emit_in(target, &Event::Handler(&h));
                if depth < MAX_DEPTH {
                    queue.push((target, h, depth + 1));
                }
            }
        }
    }

    /// What the template of a `<script setup>` file sees: the script's top-level bindings, with
    /// refs unwrapped (`url` in the template is `url.value` in the script). Unknown when the file
    /// has no `<script setup>` block.
    fn script_setup_bindings(&self, idx: usize) -> Value<'a> {
        let m = self.module(idx);
        let setup = super::vue::blocks(m.source, "script")
            .iter()
            .any(|b| b.attrs.split_whitespace().any(|a| a == "setup"));
        if !setup {
            return Value::unknown();
        }
        let scoping = &m.scoping;
        let Some(env) = self.envs.get(idx) else {
            return Value::unknown();
        };
        let mut data = Obj::default();
        for sym in scoping
            .get_bindings(scoping.root_scope_id())
            .values()
            .copied()
        {
            let Some(v) = env.get(&sym) else { continue };
            let unwrapped = match v.obj().and_then(|o| o.get("value")) {
                Some(inner) if v.obj().is_some_and(|o| o.fields.len() == 1) => inner.clone(),
                _ => v.clone(),
            };
            data.set(scoping.symbol_name(sym), unwrapped);
        }
        Value::object(data)
    }

    fn emit_in(&mut self, module: usize, event: &Event<'_, 'a>) {
        let saved = self.cur;
        self.cur = module;
        self.emit(event);
        self.cur = saved;
    }

    fn run_uncalled(&mut self, idx: usize) {
        let mut i = 0;
        while i < self.seen.len() {
            let s = self.seen[i].clone();
            i += 1;
            if s.func.module != idx || self.called.contains(&(s.func.module, s.func.node.start())) {
                continue;
            }
            let (FuncNode::Function(_) | FuncNode::Arrow(_)) = s.func.node else {
                continue;
            };
            let role = self.module(s.func.module).role;
            let args = self.default_args(s.func, role);
            let this = match (s.this_hint, s.class) {
                (Some(h), _) => Value::api(h),
                // A method of a class with constructor-injected services (nest): `this` is an
                // instance whose services are instances of their classes, so that
                // `this.authService.login(code)` runs the service's code.
                (None, Some(c)) if injects_services(c) => {
                    let class = FuncRef {
                        module: s.func.module,
                        node: FuncNode::Class(c),
                    };
                    self.construct(class, c, &[])
                }
                (None, _) => Value::unknown(),
            };
            let ret = self.call_func(s.func, this, &args, false);
            // A nest route method's return value is the response body.
            if let (Some(c), FuncNode::Function(func)) = (s.class, s.func.node)
                && let Some(via) = nest_route(c, func)
            {
                let span = self
                    .last_return_span
                    .take()
                    .unwrap_or_else(|| func_span(s.func.node));
                let ev = RespondEvent {
                    value: &ret,
                    via,
                    span: span.into(),
                };
                self.emit_in(s.func.module, &Event::Respond(&ev));
            }
        }
    }

    /// Parameters for a function nobody called, by what its parameter names say it is.
    fn default_args(&mut self, f: FuncRef<'a>, role: Role) -> Vec<Value<'a>> {
        let Some(params) = func_params(f.node) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, p) in params.items.iter().enumerate() {
            let name = match &p.pattern {
                BindingPattern::BindingIdentifier(id) => id.name.as_str(),
                BindingPattern::AssignmentPattern(a) => match &a.left {
                    BindingPattern::BindingIdentifier(id) => id.name.as_str(),
                    _ => "",
                },
                _ => "",
            };
            let server_side = role != Role::Client;
            let v = match name {
                "req" | "request" if server_side => Value::api("@req"),
                "res" | "response" if server_side && i > 0 => Value::api("@res"),
                "ctx" if server_side => Value::api("@ctx"),
                "event" if role == Role::CloudFunction && i == 0 => {
                    self.param_origin_value(f, 0, SourceKind::CLOUD_EVENT, "event")
                }
                _ => Value::unknown(),
            };
            out.push(v);
        }
        out
    }

    fn param_origin_value(
        &mut self,
        f: FuncRef<'a>,
        i: usize,
        kind: SourceKind,
        what: &str,
    ) -> Value<'a> {
        let span = func_params(f.node).map_or(func_span(f.node), |params| {
            params.items.get(i).map_or(params.span, |p| p.span)
        });
        let saved = self.cur;
        self.cur = f.module;
        let o = self.origin(span, what);
        self.cur = saved;
        Value::tainted(kind, o)
    }

    fn ensure_module(&mut self, idx: usize) {
        self.grow();
        if !matches!(self.exports[idx], ExportState::NotStarted) {
            return;
        }
        self.exports[idx] = ExportState::InProgress(Value::object(Obj::default()));
        let saved_cur = self.cur;
        let saved_tpl = self.template_file.take();
        let saved_scope = self.template_scope.take();
        self.cur = idx;
        let m = self.module(idx);
        self.exec_block(&m.program.body);
        let exports = match std::mem::replace(&mut self.exports[idx], ExportState::NotStarted) {
            ExportState::InProgress(v) | ExportState::Done(v) => v,
            ExportState::NotStarted => Value::unknown(),
        };
        self.exports[idx] = ExportState::Done(exports);
        self.cur = saved_cur;
        self.template_file = saved_tpl;
        self.template_scope = saved_scope;
    }

    fn exports_of(&mut self, idx: usize) -> Value<'a> {
        self.ensure_module(idx);
        match &self.exports[idx] {
            ExportState::InProgress(v) | ExportState::Done(v) => v.clone(),
            ExportState::NotStarted => Value::unknown(),
        }
    }

    fn current_exports_mut(&mut self) -> Option<&mut Value<'a>> {
        self.grow();
        match self.exports.get_mut(self.cur)? {
            ExportState::InProgress(v) | ExportState::Done(v) => Some(v),
            ExportState::NotStarted => None,
        }
    }

    fn set_export(&mut self, name: &str, value: Value<'a>) {
        if let Some(exp) = self.current_exports_mut() {
            let mut obj = exp.obj().cloned().unwrap_or_default();
            obj.set(name, value);
            exp.kind = Kind::Object(Rc::new(obj));
        }
    }

    fn require(&mut self, spec: &str) -> Value<'a> {
        if let Some(lib) = apis::vendored(spec)
            && (spec.starts_with('.') || spec.starts_with('/'))
        {
            return Value::api(lib);
        }
        let from = self.module(self.cur).path.clone();
        if let Some(path) = super::resolve(self.set.index, &from, spec) {
            if let Some(idx) = self.set.load(&path) {
                self.grow();
                return Value {
                    kind: Kind::Module(idx),
                    ..Value::default()
                };
            }
            return Value::unknown();
        }
        if spec.starts_with('.') || spec.starts_with('/') {
            return Value::unknown();
        }
        Value::api(&apis::module(spec))
    }

    // ----- environment --------------------------------------------------------------------

    fn symbol_of_ref(&self, id: &oxc_ast::ast::IdentifierReference<'a>) -> Option<SymbolId> {
        let m = self.module(self.cur);
        let rid = id.reference_id.get()?;
        m.scoping.get_reference(rid).symbol_id()
    }

    fn bind(&mut self, id: &oxc_ast::ast::BindingIdentifier<'a>, value: Value<'a>) {
        if self.template_file.is_some() {
            return;
        }
        if let Some(sym) = id.symbol_id.get() {
            self.grow();
            self.envs[self.cur].insert(sym, value);
        }
    }

    fn lookup(&mut self, id: &'a oxc_ast::ast::IdentifierReference<'a>) -> Value<'a> {
        let name = id.name.as_str();
        if let Some(scope) = &self.template_scope {
            if let Some((_, v)) = scope.iter().rev().find(|(n, _)| &**n == name) {
                return v.clone();
            }
            if let Some(page) = self.pages.last() {
                if let Some(v) = page.data.field(name) {
                    return v.clone();
                }
                // Data set by a spread of tainted data (`setData({ ...options })`).
                return Value {
                    taint: page.data.taint.clone(),
                    ..Value::default()
                };
            }
            return Value::unknown();
        }
        match self.symbol_of_ref(id) {
            Some(sym) => {
                let mut v = self
                    .envs
                    .get(self.cur)
                    .and_then(|e| e.get(&sym))
                    .cloned()
                    .unwrap_or_default();
                if !v.is_constant() && matches!(v.kind, Kind::Unknown) {
                    v.labels |= labels_for_name(name);
                }
                v
            }
            None => match name {
                "undefined" | "NaN" | "Infinity" => Value::unknown(),
                _ => apis::global(name).map_or_else(Value::unknown, Value::api),
            },
        }
    }

    // ----- statements ---------------------------------------------------------------------

    fn exec_block(&mut self, stmts: &'a oxc_allocator::Vec<'a, Statement<'a>>) {
        // Hoist function declarations so calls before the declaration resolve.
        for s in stmts {
            let decl = match s {
                Statement::FunctionDeclaration(f) => Some(&**f),
                Statement::ExportNamedDeclaration(_) => None,
                _ => None,
            };
            if let Some(f) = decl {
                self.declare_function(f);
            }
            if let Statement::ExportDeclaration(e) = s
                && let Declaration::FunctionDeclaration(f) = &e.declaration
            {
                self.declare_function(f);
            }
        }
        for s in stmts {
            if self.steps > STEP_BUDGET {
                return;
            }
            self.exec(s);
        }
    }

    fn declare_function(&mut self, f: &'a Function<'a>) {
        let v = self.func_value(FuncNode::Function(f));
        if let Some(id) = &f.id {
            self.bind(id, v);
        }
    }

    fn func_value(&mut self, node: FuncNode<'a>) -> Value<'a> {
        let func = FuncRef {
            module: self.cur,
            node,
        };
        let key = (self.cur, node.start());
        if self.template_file.is_none() && self.seen_set.insert(key) {
            self.seen.push(Seen {
                func,
                this_hint: self.this_hint,
                class: self.cur_class,
            });
        }
        Value {
            kind: Kind::Func(func),
            ..Value::default()
        }
    }

    fn exec(&mut self, s: &'a Statement<'a>) {
        self.nested(|this| this.exec_inner(s));
    }

    fn exec_inner(&mut self, s: &'a Statement<'a>) {
        self.steps += 1;
        match s {
            Statement::BlockStatement(b) => self.exec_block(&b.body),
            Statement::ExpressionStatement(e) => {
                self.eval(&e.expression);
            }
            Statement::VariableDeclaration(d) => self.exec_var(d),
            Statement::FunctionDeclaration(f) => {
                if let Some(id) = &f.id
                    && self
                        .envs
                        .get(self.cur)
                        .and_then(|e| e.get(&id.symbol_id.get()?))
                        .is_none()
                {
                    self.declare_function(f);
                }
            }
            Statement::ClassDeclaration(c) => {
                let v = self.class_value(c);
                if let Some(id) = &c.id {
                    self.bind(id, v);
                }
            }
            Statement::IfStatement(i) => {
                self.eval(&i.test);
                // `if (!x) x = d` is `x = x || d`: after it, x is either value.
                let defaulted = match (&i.test, &i.alternate) {
                    (Expression::UnaryExpression(u), None)
                        if u.operator == oxc_syntax::operator::UnaryOperator::LogicalNot =>
                    {
                        match u.argument.without_parentheses() {
                            Expression::Identifier(id) => self.symbol_of_ref(id),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let before = defaulted.and_then(|sym| {
                    self.envs
                        .get(self.cur)
                        .and_then(|e| e.get(&sym))
                        .cloned()
                        .map(|v| (sym, v))
                });
                self.exec(&i.consequent);
                if let Some(a) = &i.alternate {
                    self.exec(a);
                }
                if let Some((sym, old)) = before
                    && let Some(new) = self.envs.get(self.cur).and_then(|e| e.get(&sym))
                {
                    let joined = old.join(new);
                    self.envs[self.cur].insert(sym, joined);
                }
            }
            Statement::ForStatement(f) => {
                match &f.init {
                    Some(ForStatementInit::VariableDeclaration(d)) => self.exec_var(d),
                    Some(init) => {
                        if let Some(e) = init.as_expression() {
                            self.eval(e);
                        }
                    }
                    None => {}
                }
                if let Some(t) = &f.test {
                    self.eval(t);
                }
                self.exec(&f.body);
                if let Some(u) = &f.update {
                    self.eval(u);
                }
            }
            Statement::ForInStatement(f) => {
                let right = self.eval(&f.right);
                let key = Value {
                    taint: right.deep_taint(),
                    ..Value::default()
                };
                self.bind_for_left(&f.left, key);
                self.exec(&f.body);
            }
            Statement::ForOfStatement(f) => {
                let right = self.eval(&f.right);
                let elem = element_of(&right);
                self.bind_for_left(&f.left, elem);
                self.exec(&f.body);
            }
            Statement::WhileStatement(w) => {
                self.eval(&w.test);
                self.exec(&w.body);
            }
            Statement::DoWhileStatement(w) => {
                self.exec(&w.body);
                self.eval(&w.test);
            }
            Statement::ReturnStatement(r) => {
                let v = match &r.argument {
                    Some(e) => self.eval(e),
                    None => Value::unknown(),
                };
                if let Some(slot) = self.returns.last_mut() {
                    match slot {
                        Some(prev) => prev.join_in(&v),
                        None => *slot = Some(v),
                    }
                }
                if let (Some(slot), Some(arg)) = (self.return_spans.last_mut(), &r.argument) {
                    // The last return with a value: where a response is sent from.
                    *slot = Some(oxc_span::GetSpan::span(arg));
                }
            }
            Statement::ThrowStatement(t) => {
                self.eval(&t.argument);
            }
            Statement::TryStatement(t) => {
                self.exec_block(&t.block.body);
                if let Some(h) = &t.handler {
                    if let Some(p) = &h.param {
                        self.bind_pattern(&p.pattern, Value::unknown());
                    }
                    self.exec_block(&h.body.body);
                }
                if let Some(f) = &t.finalizer {
                    self.exec_block(&f.body);
                }
            }
            Statement::SwitchStatement(sw) => {
                self.eval(&sw.discriminant);
                for case in &sw.cases {
                    if let Some(t) = &case.test {
                        self.eval(t);
                    }
                    self.exec_block(&case.consequent);
                }
            }
            Statement::LabeledStatement(l) => self.exec(&l.body),
            Statement::WithStatement(w) => {
                self.eval(&w.object);
                self.exec(&w.body);
            }
            Statement::ImportDeclaration(imp) => {
                let module = self.require(imp.source.value.as_str());
                if let Some(specs) = &imp.specifiers {
                    for spec in specs {
                        match spec {
                            ImportDeclarationSpecifier::ImportDefaultSpecifier(d) => {
                                let v = self.member_value(&module, "default", None);
                                self.bind(&d.local, v);
                            }
                            ImportDeclarationSpecifier::ImportNamespaceSpecifier(n) => {
                                self.bind(&n.local, module.clone());
                            }
                            ImportDeclarationSpecifier::ImportSpecifier(s) => {
                                let name = export_name(&s.imported);
                                let v = self.member_value(&module, &name, None);
                                self.bind(&s.local, v);
                            }
                        }
                    }
                }
            }
            Statement::ExportDeclaration(e) => self.exec_export_decl(&e.declaration),
            Statement::ExportNamedDeclaration(e) => {
                for spec in &e.specifiers {
                    let local = match &spec.local {
                        ModuleExportName::IdentifierReference(r) => self.lookup(r),
                        _ => Value::unknown(),
                    };
                    let name = export_name(&spec.exported);
                    self.set_export(&name, local);
                }
            }
            Statement::ExportFromDeclaration(e) => {
                let module = self.require(e.source.value.as_str());
                for spec in &e.specifiers {
                    let local = export_name(&spec.local);
                    let v = self.member_value(&module, &local, None);
                    let name = export_name(&spec.exported);
                    self.set_export(&name, v);
                }
            }
            Statement::ExportAllDeclaration(e) => {
                let module = self.require(e.source.value.as_str());
                if let Kind::Module(idx) = module.kind {
                    let ex = self.exports_of(idx);
                    if let Some(o) = ex.obj() {
                        for (k, v) in o.fields.clone() {
                            self.set_export(&k, v);
                        }
                    }
                }
            }
            Statement::ExportDefaultDeclaration(e) => {
                let v = match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        let v = self.func_value(FuncNode::Function(f));
                        if let Some(id) = &f.id {
                            self.bind(id, v.clone());
                        }
                        v
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => {
                        let v = self.class_value(c);
                        if let Some(id) = &c.id {
                            self.bind(id, v.clone());
                        }
                        v
                    }
                    ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => Value::unknown(),
                    other => match other.as_expression() {
                        Some(expr) => self.eval(expr),
                        None => Value::unknown(),
                    },
                };
                // A Vue single-file component (uni-app page or component): its options object.
                let m = self.module(self.cur);
                if m.path
                    .extension()
                    .is_some_and(|e| e == "vue" || e == "nvue")
                    && v.obj().is_some()
                {
                    self.run_page("Vue", &v);
                }
                self.set_export("default", v);
            }
            Statement::TSExportAssignment(e) => {
                let v = self.eval(&e.expression);
                if let Some(exp) = self.current_exports_mut() {
                    *exp = v;
                }
            }
            _ => {}
        }
    }

    fn exec_export_decl(&mut self, d: &'a Declaration<'a>) {
        match d {
            Declaration::VariableDeclaration(v) => {
                self.exec_var(v);
                for decl in &v.declarations {
                    for id in decl.id.get_binding_identifiers() {
                        let val = self
                            .envs
                            .get(self.cur)
                            .and_then(|e| e.get(&id.symbol_id.get()?))
                            .cloned();
                        self.set_export(id.name.as_str(), val.unwrap_or_default());
                    }
                }
            }
            Declaration::FunctionDeclaration(f) => {
                let v = self.func_value(FuncNode::Function(f));
                if let Some(id) = &f.id {
                    self.bind(id, v.clone());
                    self.set_export(id.name.as_str(), v);
                }
            }
            Declaration::ClassDeclaration(c) => {
                let v = self.class_value(c);
                if let Some(id) = &c.id {
                    self.bind(id, v.clone());
                    self.set_export(id.name.as_str(), v);
                }
            }
            _ => {}
        }
    }

    fn exec_var(&mut self, d: &'a VariableDeclaration<'a>) {
        for decl in &d.declarations {
            let saved = self.name_ctx.take();
            if let BindingPattern::BindingIdentifier(id) = &decl.id {
                self.name_ctx = Some(Rc::from(id.name.as_str()));
            }
            let v = match &decl.init {
                Some(init) => self.eval(init),
                None => Value::unknown(),
            };
            self.name_ctx = saved;
            self.bind_pattern(&decl.id, v);
        }
    }

    fn bind_for_left(&mut self, left: &'a ForStatementLeft<'a>, v: Value<'a>) {
        match left {
            ForStatementLeft::VariableDeclaration(d) => {
                for decl in &d.declarations {
                    self.bind_pattern(&decl.id, v.clone());
                }
            }
            other => {
                if let Some(t) = other.as_assignment_target() {
                    self.assign_target(t, v);
                }
            }
        }
    }

    fn bind_pattern(&mut self, p: &'a BindingPattern<'a>, v: Value<'a>) {
        self.nested(|this| this.bind_pattern_inner(p, v));
    }

    fn bind_pattern_inner(&mut self, p: &'a BindingPattern<'a>, v: Value<'a>) {
        match p {
            BindingPattern::BindingIdentifier(id) => {
                let mut v = v;
                if !v.is_constant() {
                    if crate::names::names_one_time_value(id.name.as_str()) {
                        v.labels.remove(ONE_TIME_NOT);
                    }
                    v.labels |= labels_for_name(id.name.as_str());
                }
                self.bind(id, v);
            }
            BindingPattern::ObjectPattern(o) => {
                for prop in &o.properties {
                    let key = property_key_name(&prop.key).unwrap_or_default();
                    let fv = self.member_value(&v, &key, Some(prop.span));
                    self.bind_pattern(&prop.value, fv);
                }
                if let Some(rest) = &o.rest {
                    self.bind_pattern(&rest.argument, v.clone());
                }
            }
            BindingPattern::ArrayPattern(a) => {
                let elem = element_of(&v);
                for e in a.elements.iter().flatten() {
                    self.bind_pattern(e, elem.clone());
                }
                if let Some(rest) = &a.rest {
                    self.bind_pattern(&rest.argument, v.clone());
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                let d = self.eval(&a.right);
                let joined = if v.is_blank() { d } else { v.join(&d) };
                self.bind_pattern(&a.left, joined);
            }
        }
    }

    fn assign_target(&mut self, t: &'a AssignmentTarget<'a>, v: Value<'a>) {
        self.nested(|this| this.assign_target_inner(t, v));
    }

    fn assign_target_inner(&mut self, t: &'a AssignmentTarget<'a>, v: Value<'a>) {
        match t {
            AssignmentTarget::AssignmentTargetIdentifier(id) => {
                if let Some(sym) = self.symbol_of_ref(id) {
                    let mut v = v;
                    if !v.is_constant() {
                        if crate::names::names_one_time_value(id.name.as_str()) {
                            v.labels.remove(ONE_TIME_NOT);
                        }
                        v.labels |= labels_for_name(id.name.as_str());
                    }
                    self.grow();
                    self.envs[self.cur].insert(sym, v);
                }
            }
            AssignmentTarget::ObjectAssignmentTarget(o) => {
                for prop in &o.properties {
                    match prop {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(p) => {
                            let fv = self.member_value(&v, p.binding.name.as_str(), Some(p.span));
                            if let Some(sym) = self.symbol_of_ref(&p.binding) {
                                self.grow();
                                self.envs[self.cur].insert(sym, fv);
                            }
                        }
                        AssignmentTargetProperty::AssignmentTargetPropertyProperty(p) => {
                            let key = property_key_name(&p.name).unwrap_or_default();
                            let fv = self.member_value(&v, &key, Some(p.span));
                            self.assign_maybe_default(&p.binding, fv);
                        }
                    }
                }
            }
            AssignmentTarget::ArrayAssignmentTarget(a) => {
                let elem = element_of(&v);
                for e in a.elements.iter().flatten() {
                    self.assign_maybe_default(e, elem.clone());
                }
            }
            other => {
                if let Some(m) = other.as_member_expression() {
                    self.assign_member(m, v);
                }
            }
        }
    }

    fn assign_maybe_default(&mut self, t: &'a AssignmentTargetMaybeDefault<'a>, v: Value<'a>) {
        match t {
            AssignmentTargetMaybeDefault::AssignmentTargetWithDefault(d) => {
                let dv = self.eval(&d.init);
                self.assign_target(&d.binding, v.join(&dv));
            }
            other => {
                if let Some(t) = other.as_assignment_target() {
                    self.assign_target(t, v);
                }
            }
        }
    }

    fn assign_member(&mut self, m: &'a MemberExpression<'a>, v: Value<'a>) {
        let (object, prop) = match m {
            MemberExpression::StaticMemberExpression(s) => {
                (&s.object, s.property.name.as_str().to_owned())
            }
            MemberExpression::ComputedMemberExpression(c) => {
                let k = self.eval(&c.expression);
                (&c.object, k.exact_text().unwrap_or("").to_owned())
            }
            MemberExpression::PrivateFieldExpression(p) => {
                (&p.object, p.field.name.as_str().to_owned())
            }
        };
        // module.exports = v / module.exports.x = v / exports.x = v
        if let Expression::Identifier(id) = object.get_inner_expression()
            && self.symbol_of_ref(id).is_none()
        {
            match (id.name.as_str(), prop.as_str()) {
                ("module", "exports") => {
                    if let Some(exp) = self.current_exports_mut() {
                        *exp = v;
                    }
                    return;
                }
                ("exports", name) => {
                    self.set_export(name, v);
                    return;
                }
                _ => {}
            }
        }
        if let Some(inner) = object.get_inner_expression().as_member_expression()
            && let MemberExpression::StaticMemberExpression(s) = inner
            && s.property.name == "exports"
            && matches!(s.object.get_inner_expression(), Expression::Identifier(id) if id.name == "module")
        {
            self.set_export(&prop, v);
            return;
        }
        let obj_val = self.eval(object);
        let path = obj_val.api_path().map(|p| format!("{p}.{prop}"));
        let span = m_span(m);
        let ev = AssignEvent {
            property: &prop,
            path: path.as_deref(),
            value: &v,
            span: span.into(),
            value_span: span.into(),
        };
        self.emit(&Event::Assign(&ev));
        // koa/egg: `ctx.body = v`, and the same through `ctx.response.body` (`ctx.response` is
        // the response object, `@res`).
        if let Some(via) = match path.as_deref() {
            Some("@ctx.body") => Some("ctx.body"),
            Some("@res.body") => Some("ctx.response.body"),
            _ => None,
        } {
            let ev = RespondEvent {
                value: &v,
                via,
                span: span.into(),
            };
            self.emit(&Event::Respond(&ev));
        }
        // `this.x = v` in a constructor or method: the instance gets the field.
        if matches!(object.get_inner_expression(), Expression::ThisExpression(_))
            && let Some(this) = self.this_stack.last_mut()
            && (this.obj().is_some()
                || (matches!(this.kind, Kind::Unknown) && this.taint.is_empty()))
        {
            let mut o = this.obj().cloned().unwrap_or_default();
            o.set(&prop, v);
            this.kind = Kind::Object(Rc::new(o));
            return;
        }
        // Page `this.x = v`.
        if obj_val.api_path() == Some("@page")
            && let Some(page) = self.pages.last_mut()
        {
            page.extra.insert(Rc::from(prop.as_str()), v);
            return;
        }
        // obj.a.field = v (a few levels deep, `app.globalData.userInfo = row`) on a local
        // object: update the variable's nested objects (copy on write).
        if let Some((id, mut path)) = static_chain(object.get_inner_expression())
            && !path.is_empty()
            && let Some(sym) = self.symbol_of_ref(id)
        {
            path.push(prop.as_str());
            self.grow();
            let env = &mut self.envs[self.cur];
            if let Some(cur) = env.get_mut(&sym) {
                set_nested(cur, &path, v);
            }
            return;
        }
        // obj.field = v on a local object: update the variable (copy on write).
        if let Expression::Identifier(id) = object.get_inner_expression()
            && let Some(sym) = self.symbol_of_ref(id)
        {
            self.grow();
            let env = &mut self.envs[self.cur];
            let cur = env.entry(sym).or_default();
            match &cur.kind {
                Kind::Object(o) => {
                    let mut o = (**o).clone();
                    o.set(&prop, v);
                    cur.kind = Kind::Object(Rc::new(o));
                }
                Kind::Unknown if cur.taint.is_empty() => {
                    let mut o = Obj::default();
                    o.set(&prop, v);
                    cur.kind = Kind::Object(Rc::new(o));
                }
                _ => {}
            }
        }
    }

    // ----- expressions --------------------------------------------------------------------

    pub fn eval(&mut self, e: &'a Expression<'a>) -> Value<'a> {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            self.partial.insert((self.cur, PARTIAL_BUDGET));
            return Value::unknown();
        }
        self.nested(|this| this.eval_inner(e))
    }

    /// Run `f` one nesting level deeper; past [`MAX_NESTING`] the result is unknown (the
    /// default) instead of a stack overflow on generated or hostile code.
    fn nested<T: Default>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        if self.depth >= MAX_NESTING {
            self.partial.insert((self.cur, PARTIAL_NESTING));
            return T::default();
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, e: &'a Expression<'a>) -> Value<'a> {
        match e {
            Expression::StringLiteral(s) => {
                let text = s.value.as_str();
                let hint = self.name_ctx.clone();
                let ev = LiteralEvent {
                    text,
                    name_hint: hint.as_deref(),
                    span: s.span.into(),
                };
                self.emit(&Event::Literal(&ev));
                let what = self.snippet(s.span);
                Value::text(text, Some(self.origin(s.span, &what)))
            }
            Expression::NumericLiteral(n) => {
                let t = if n.value.fract() == 0.0 && n.value.abs() < 1e15 {
                    format!("{}", n.value as i64)
                } else {
                    n.value.to_string()
                };
                Value::text(&t, None)
            }
            Expression::BooleanLiteral(b) => {
                Value::text(if b.value { "true" } else { "false" }, None)
            }
            Expression::NullLiteral(_)
            | Expression::BigIntLiteral(_)
            | Expression::RegExpLiteral(_)
            | Expression::Super(_)
            | Expression::ImportMeta(_)
            | Expression::NewTarget(_)
            | Expression::PrivateInExpression(_)
            | Expression::V8IntrinsicExpression(_) => Value::unknown(),
            Expression::TemplateLiteral(t) => self.eval_template(t),
            Expression::TaggedTemplateExpression(t) => {
                self.eval(&t.tag);
                self.eval_template(&t.quasi).flattened()
            }
            Expression::Identifier(id) => self.lookup(id),
            Expression::ThisExpression(_) => self.this_stack.last().cloned().unwrap_or_default(),
            Expression::ArrayExpression(a) => {
                let mut elem: Option<Value<'a>> = None;
                for el in &a.elements {
                    let v = match el {
                        ArrayExpressionElement::SpreadElement(s) => {
                            element_of(&self.eval(&s.argument))
                        }
                        ArrayExpressionElement::Elision(_) => continue,
                        other => match other.as_expression() {
                            Some(x) => self.eval(x),
                            None => continue,
                        },
                    };
                    elem = Some(match elem {
                        Some(prev) => prev.join(&v),
                        None => v,
                    });
                }
                Value {
                    kind: Kind::Array(Rc::new(elem.unwrap_or_default())),
                    ..Value::default()
                }
            }
            Expression::ObjectExpression(o) => self.eval_object(o),
            Expression::FunctionExpression(f) => self.func_value(FuncNode::Function(f)),
            Expression::ArrowFunctionExpression(f) => self.func_value(FuncNode::Arrow(f)),
            Expression::ClassExpression(c) => self.class_value(c),
            Expression::AssignmentExpression(a) => {
                let saved = self.name_ctx.take();
                self.name_ctx = assignment_target_name(&a.left).map(Rc::from);
                let right = self.eval(&a.right);
                self.name_ctx = saved;
                let v = match a.operator {
                    AssignmentOperator::Assign => right,
                    AssignmentOperator::Addition => {
                        let cur = self.eval_target_value(&a.left);
                        let v = cur.concat(&right);
                        self.mark_built(v, a.span)
                    }
                    AssignmentOperator::LogicalOr
                    | AssignmentOperator::LogicalNullish
                    | AssignmentOperator::LogicalAnd => {
                        let cur = self.eval_target_value(&a.left);
                        cur.join(&right)
                    }
                    _ => Value::unknown(),
                };
                self.assign_target(&a.left, v.clone());
                v
            }
            Expression::AwaitExpression(a) => self.eval(&a.argument),
            Expression::BinaryExpression(b) => {
                let left = self.eval(&b.left);
                let right = self.eval(&b.right);
                match b.operator {
                    BinaryOperator::Addition => {
                        let joined = left.concat(&right);
                        self.mark_built(joined, b.span)
                    }
                    _ => Value::unknown(),
                }
            }
            Expression::LogicalExpression(l) => {
                let a = self.eval(&l.left);
                let b = self.eval(&l.right);
                a.join(&b)
            }
            Expression::ConditionalExpression(c) => {
                self.eval(&c.test);
                let a = self.eval(&c.consequent);
                let b = self.eval(&c.alternate);
                a.join(&b)
            }
            Expression::UnaryExpression(u) => {
                self.eval(&u.argument);
                Value::unknown()
            }
            Expression::UpdateExpression(_) => Value::unknown(),
            Expression::SequenceExpression(s) => {
                let mut last = Value::unknown();
                for x in &s.expressions {
                    last = self.eval(x);
                }
                last
            }
            Expression::ParenthesizedExpression(p) => self.eval(&p.expression),
            Expression::TSAsExpression(t) => self.eval(&t.expression),
            Expression::TSSatisfiesExpression(t) => self.eval(&t.expression),
            Expression::TSTypeAssertion(t) => self.eval(&t.expression),
            Expression::TSNonNullExpression(t) => self.eval(&t.expression),
            Expression::TSInstantiationExpression(t) => self.eval(&t.expression),
            Expression::ChainExpression(c) => match &c.expression {
                ChainElement::CallExpression(call) => self.eval_call(call),
                ChainElement::TSNonNullExpression(t) => self.eval(&t.expression),
                other => match other.as_member_expression() {
                    Some(m) => self.eval_member(m),
                    None => Value::unknown(),
                },
            },
            Expression::CallExpression(call) => self.eval_call(call),
            Expression::NewExpression(n) => self.eval_new(n),
            Expression::ImportExpression(i) => {
                let spec = self.eval(&i.source);
                match spec.exact_text() {
                    Some(s) => {
                        let s = s.to_owned();
                        self.require(&s)
                    }
                    None => Value::unknown(),
                }
            }
            Expression::YieldExpression(y) => match &y.argument {
                Some(a) => self.eval(a),
                None => Value::unknown(),
            },
            Expression::JSXElement(el) => {
                self.eval_jsx(el);
                Value::unknown()
            }
            Expression::JSXFragment(f) => {
                for c in &f.children {
                    self.eval_jsx_child(c);
                }
                Value::unknown()
            }
            other => match other.as_member_expression() {
                Some(m) => self.eval_member(m),
                None => Value::unknown(),
            },
        }
    }

    fn eval_target_value(&mut self, t: &'a AssignmentTarget<'a>) -> Value<'a> {
        match t {
            AssignmentTarget::AssignmentTargetIdentifier(id) => self.lookup(id),
            other => match other.as_member_expression() {
                Some(m) => self.eval_member(m),
                None => Value::unknown(),
            },
        }
    }

    fn eval_template(&mut self, t: &'a oxc_ast::ast::TemplateLiteral<'a>) -> Value<'a> {
        let mut acc: Option<Value<'a>> = None;
        for (i, q) in t.quasis.iter().enumerate() {
            let text = q
                .value
                .cooked
                .as_ref()
                .map_or(q.value.raw.as_str(), |c| c.as_str());
            if !text.is_empty() {
                let hint = self.name_ctx.clone();
                let ev = LiteralEvent {
                    text,
                    name_hint: hint.as_deref(),
                    span: q.span.into(),
                };
                self.emit(&Event::Literal(&ev));
            }
            let what = self.snippet(q.span);
            let qv = Value::text(text, Some(self.origin(q.span, &what)));
            acc = Some(match acc {
                Some(a) => a.concat(&qv),
                None => qv,
            });
            if let Some(e) = t.expressions.get(i) {
                let ev = self.eval(e);
                acc = Some(match acc {
                    Some(a) => a.concat(&ev),
                    None => Value::text("", None).concat(&ev),
                });
            }
        }
        let mut v = acc.unwrap_or_else(|| Value::text("", None));
        v.sanitized |= Sanitized::PRIMITIVE;
        self.mark_built(v, t.span)
    }

    /// Record where tainted data was first built into a string.
    fn mark_built(&self, mut v: Value<'a>, span: oxc_span::Span) -> Value<'a> {
        if !v.taint.is_empty() && v.taint.built.is_none() && self.template_file.is_none() {
            v.taint.built = Some(self.origin(span, "string built here"));
        }
        v
    }

    fn eval_object(&mut self, o: &'a oxc_ast::ast::ObjectExpression<'a>) -> Value<'a> {
        let mut obj = Obj::default();
        let mut own_taint = crate::value::Taint::default();
        for p in &o.properties {
            match p {
                ObjectPropertyKind::ObjectProperty(prop) => {
                    if matches!(prop.kind, PropertyKind::Get | PropertyKind::Set) {
                        continue;
                    }
                    let key = if prop.computed {
                        match prop.key.as_expression() {
                            Some(k) => self.eval(k).exact_text().map(str::to_owned),
                            None => None,
                        }
                    } else {
                        property_key_name(&prop.key)
                    };
                    let saved = self.name_ctx.take();
                    self.name_ctx = key.as_deref().map(Rc::from);
                    let mut v = self.eval(&prop.value);
                    self.name_ctx = saved;
                    if let Some(k) = &key {
                        if !v.is_constant() && !matches!(v.kind, Kind::Func(_)) {
                            if crate::names::names_one_time_value(k) {
                                v.labels.remove(ONE_TIME_NOT);
                            }
                            v.labels |= labels_for_name(k);
                        }
                        let ev = PropertyEvent {
                            key: k,
                            value: &v,
                            span: prop.span.into(),
                            value_span: oxc_span::GetSpan::span(&prop.value).into(),
                        };
                        self.emit(&Event::Property(&ev));
                        obj.set(k, v);
                    }
                }
                ObjectPropertyKind::SpreadProperty(s) => {
                    let v = self.eval(&s.argument);
                    match &v.kind {
                        Kind::Object(inner) => {
                            for (k, fv) in &inner.fields {
                                obj.set(k, fv.clone());
                            }
                            own_taint.join(&v.taint);
                        }
                        _ => own_taint.join(&v.deep_taint()),
                    }
                }
            }
        }
        // Vuex store options (`{ state, mutations, actions }`): remember the mutations.
        if let Some(Kind::Object(m)) = obj.get("mutations").map(|m| &m.kind) {
            for (name, f) in &m.fields {
                if let Kind::Func(f) = f.kind
                    && self.mutations.len() < 4096
                {
                    self.mutations.insert(name.clone(), f);
                }
            }
        }
        let mut v = Value::object(obj);
        v.taint = own_taint;
        v
    }

    fn class_value(&mut self, c: &'a Class<'a>) -> Value<'a> {
        let saved_hint = self.this_hint;
        let extends = c.heritage.as_ref().map(|h| {
            let mut s = self.snippet(oxc_span::GetSpan::span(&h.expression));
            s.retain(|ch| !ch.is_whitespace());
            s
        });
        self.this_hint = match extends.as_deref() {
            Some(e)
                if e.ends_with("Controller")
                    || e.ends_with("Service")
                    || e.ends_with("Subscription") =>
            {
                Some("@controller")
            }
            _ => None,
        };
        let saved_class = self.cur_class.replace(c);
        let mut obj = Obj::default();
        for el in &c.body.body {
            match el {
                ClassElement::MethodDefinition(m) => {
                    let v = self.func_value(FuncNode::Function(&m.value));
                    if let Some(name) = property_key_name(&m.key) {
                        obj.set(&name, v);
                    }
                }
                ClassElement::PropertyDefinition(p) => {
                    if let Some(v) = &p.value {
                        let val = self.eval(v);
                        if let Some(name) = property_key_name(&p.key) {
                            obj.set(&name, val);
                        }
                    }
                }
                _ => {}
            }
        }
        self.this_hint = saved_hint;
        self.cur_class = saved_class;
        let _ = obj;
        self.func_value(FuncNode::Class(c))
    }

    fn eval_member(&mut self, m: &'a MemberExpression<'a>) -> Value<'a> {
        match m {
            MemberExpression::StaticMemberExpression(s) => {
                let obj = self.eval(&s.object);
                self.member_value(&obj, s.property.name.as_str(), Some(s.span))
            }
            MemberExpression::ComputedMemberExpression(c) => {
                let obj = self.eval(&c.object);
                let key = self.eval(&c.expression);
                if let Some(k) = key.exact_text() {
                    let k = k.to_owned();
                    self.member_value(&obj, &k, Some(c.span))
                } else {
                    let mut v = element_of(&obj);
                    // A lookup in a table the code wrote (`SORTABLE[req.query.sort]`, a map of
                    // role to query condition) is an allow-list: the result is one of its
                    // entries, whatever the key. Entries that carry input keep their taint.
                    let table = obj.obj().is_some_and(|o| {
                        !o.fields.is_empty()
                            && o.fields.iter().all(|(_, f)| {
                                f.is_constant()
                                    || !matches!(f.kind, Kind::Unknown) && f.deep_taint().is_empty()
                            })
                    });
                    if !table {
                        v.taint.join(&key.taint);
                    }
                    v
                }
            }
            MemberExpression::PrivateFieldExpression(p) => {
                self.eval(&p.object);
                Value::unknown()
            }
        }
    }

    /// The value of `object.prop`.
    fn member_value(
        &mut self,
        object: &Value<'a>,
        prop: &str,
        span: Option<oxc_span::Span>,
    ) -> Value<'a> {
        let path = object.api_path().map(|p| {
            if prop == "default" {
                p.to_owned()
            } else {
                format!("{p}.{prop}")
            }
        });
        if let Some(span) = span {
            let ev = MemberEvent {
                object,
                property: prop,
                path: path.as_deref(),
                span: span.into(),
            };
            self.emit(&Event::Member(&ev));
        }
        let name_labels = labels_for_name(prop);
        let mut v = match &object.kind {
            Kind::Object(o) => match o.get(prop) {
                Some(v) => v.clone(),
                None => Value {
                    taint: object.taint.clone(),
                    ..Value::default()
                },
            },
            Kind::Array(e) => {
                if prop.chars().all(|c| c.is_ascii_digit()) && !prop.is_empty() {
                    (**e).clone()
                } else {
                    Value::unknown()
                }
            }
            Kind::Module(idx) => {
                let ex = self.exports_of(*idx);
                match ex.field(prop) {
                    Some(v) => v.clone(),
                    None if prop == "default" => ex,
                    None => Value::unknown(),
                }
            }
            Kind::Api(p) => self.api_member(p, prop, span),
            Kind::Func(_) => Value::unknown(),
            Kind::Unknown => {
                let mut v = Value {
                    taint: object.taint.clone(),
                    ..Value::default()
                };
                // Name the source precisely: `event.user` rather than `event`.
                if let (Some(s), Some(o)) = (span, &object.taint.origin)
                    && o.what.len() < 40
                    && self.template_file.is_none()
                {
                    let what = self.snippet(s);
                    if what.len() <= 60 && !what.contains('\n') {
                        v.taint.origin = Some(self.origin(s, &what));
                    }
                }
                if object.taint.kinds.contains(SourceKind::CLOUD_EVENT) && prop == "userInfo" {
                    // Injected by the platform into the event of a cloud function: trusted.
                    v = Value::unknown();
                }
                v
            }
        };
        if !object.taint.is_empty() && is_identity_name(prop) && !v.taint.is_empty() {
            v.taint.kinds |= SourceKind::CLIENT_IDENTITY;
        }
        if !v.is_constant() && !matches!(v.kind, Kind::Func(_)) {
            v.labels |= name_labels;
        }
        v
    }

    fn api_member(&mut self, p: &str, prop: &str, span: Option<oxc_span::Span>) -> Value<'a> {
        if let Some(obj) = apis::member_object(p, prop) {
            return Value::api(obj);
        }
        if let Some(kind) = apis::member_source(p, prop) {
            let what = match span {
                Some(s) => self.snippet(s),
                None => format!("{p}.{prop}"),
            };
            let o = self.origin(span.unwrap_or_default(), &what);
            let mut v = Value::tainted(kind, o);
            v.kind = Kind::Unknown;
            return v;
        }
        match (p, prop) {
            ("@event", "detail") => return Value::api("@event.detail"),
            ("@event.detail", "value" | "content") => {
                let what = span.map_or_else(|| "e.detail.value".to_owned(), |s| self.snippet(s));
                let o = self.origin(span.unwrap_or_default(), &what);
                return Value::tainted(SourceKind::USER_INPUT, o);
            }
            ("@event" | "@event.detail", _) => return Value::unknown(),
            ("@page", "data") => {
                return self
                    .pages
                    .last()
                    .map(|pg| pg.data.clone())
                    .unwrap_or_default();
            }
            ("@page", "setData" | "setState") => return Value::api("@setData"),
            ("@page", name) => {
                if let Some(pg) = self.pages.last() {
                    if let Some((_, f)) = pg.methods.iter().find(|(n, _)| &**n == name) {
                        return Value {
                            kind: Kind::Func(*f),
                            ..Value::default()
                        };
                    }
                    if let Some(v) = pg.extra.get(name) {
                        return v.clone();
                    }
                    if let Some(v) = pg.data.field(name) {
                        return v.clone();
                    }
                }
                return Value::unknown();
            }
            ("@res" | "@ctx" | "@req" | "@koareq" | "@controller", _) => {
                return Value::api(&format!("{p}.{prop}"));
            }
            ("process.env", _) => return Value::api(&format!("process.env.{prop}")),
            _ => {}
        }
        if p.starts_with("@ctx.") || p.starts_with("@req.") || p.starts_with("@koareq.") {
            // Egg's HTTP clients and app (`ctx.httpclient.request`, `ctx.app.curl`) keep a path.
            if matches!(p, "@ctx.httpclient" | "@ctx.app" | "@ctx.app.httpclient") {
                return Value::api(&format!("{p}.{prop}"));
            }
            return Value::unknown();
        }
        if prop == "default" || prop == "__esModule" {
            return Value::api(p);
        }
        Value::api(&format!("{p}.{prop}"))
    }

    // ----- calls --------------------------------------------------------------------------

    fn eval_args(
        &mut self,
        args: &'a oxc_allocator::Vec<'a, Argument<'a>>,
    ) -> (Vec<Value<'a>>, Vec<Span>) {
        let saved = self.name_ctx.take();
        let mut vals = Vec::with_capacity(args.len());
        let mut spans = Vec::with_capacity(args.len());
        for a in args {
            let span = oxc_span::GetSpan::span(a);
            let v = match a {
                Argument::SpreadElement(s) => element_of(&self.eval(&s.argument)),
                other => match other.as_expression() {
                    Some(e) => self.eval(e),
                    None => Value::unknown(),
                },
            };
            vals.push(v);
            spans.push(span.into());
        }
        self.name_ctx = saved;
        (vals, spans)
    }

    fn eval_call(&mut self, call: &'a oxc_ast::ast::CallExpression<'a>) -> Value<'a> {
        // require('x')
        if let Expression::Identifier(id) = call.callee.get_inner_expression()
            && id.name == "require"
            && self.symbol_of_ref(id).is_none()
            && let Some(Argument::StringLiteral(s)) = call.arguments.first()
        {
            return self.require(s.value.as_str());
        }
        let (callee, receiver, method) = self.eval_callee(&call.callee);
        let (args, spans) = self.eval_args(&call.arguments);
        self.apply_call(
            &callee,
            receiver.as_ref(),
            method.as_deref(),
            &args,
            &spans,
            call.span,
            oxc_span::GetSpan::span(&call.callee),
            false,
        )
    }

    fn eval_new(&mut self, n: &'a oxc_ast::ast::NewExpression<'a>) -> Value<'a> {
        let (callee, receiver, method) = self.eval_callee(&n.callee);
        let (args, spans) = self.eval_args(&n.arguments);
        self.apply_call(
            &callee,
            receiver.as_ref(),
            method.as_deref(),
            &args,
            &spans,
            n.span,
            oxc_span::GetSpan::span(&n.callee),
            true,
        )
    }

    fn eval_callee(
        &mut self,
        callee: &'a Expression<'a>,
    ) -> (Value<'a>, Option<Value<'a>>, Option<String>) {
        let inner = callee.get_inner_expression();
        if let Some(m) = inner.as_member_expression() {
            let (obj_expr, name) = match m {
                MemberExpression::StaticMemberExpression(s) => {
                    (&s.object, Some(s.property.name.as_str().to_owned()))
                }
                MemberExpression::ComputedMemberExpression(c) => {
                    let k = self.eval(&c.expression);
                    (&c.object, k.exact_text().map(str::to_owned))
                }
                MemberExpression::PrivateFieldExpression(p) => {
                    (&p.object, Some(p.field.name.as_str().to_owned()))
                }
            };
            let recv = self.eval(obj_expr);
            let f = match &name {
                Some(n) => self.member_value(&recv, n, Some(m_span(m))),
                None => Value::unknown(),
            };
            return (f, Some(recv), name);
        }
        if let Expression::ChainExpression(c) = inner
            && let Some(m) = c.expression.as_member_expression()
        {
            let (obj_expr, name) = match m {
                MemberExpression::StaticMemberExpression(s) => {
                    (&s.object, Some(s.property.name.as_str().to_owned()))
                }
                _ => return (self.eval(callee), None, None),
            };
            let recv = self.eval(obj_expr);
            let f = match &name {
                Some(n) => self.member_value(&recv, n, Some(m_span(m))),
                None => Value::unknown(),
            };
            return (f, Some(recv), name);
        }
        let name = match inner {
            Expression::Identifier(id) => Some(id.name.as_str().to_owned()),
            _ => None,
        };
        (self.eval(callee), None, name)
    }

    #[allow(clippy::too_many_arguments)] // Reason: one call site shape shared by call and new.
    fn apply_call(
        &mut self,
        callee: &Value<'a>,
        receiver: Option<&Value<'a>>,
        method: Option<&str>,
        args: &[Value<'a>],
        spans: &[Span],
        span: oxc_span::Span,
        callee_span: oxc_span::Span,
        is_new: bool,
    ) -> Value<'a> {
        let path = callee.api_path().map(str::to_owned);
        {
            let ev = CallEvent {
                path: path.as_deref(),
                method,
                receiver,
                args,
                arg_spans: spans,
                span: span.into(),
                callee_span: callee_span.into(),
                is_new,
            };
            self.emit(&Event::Call(&ev));
        }
        if let Some(p) = path.as_deref()
            && let Some(name) = p.strip_prefix("mp.")
            && !name.contains('.')
            && self.role() == Role::Client
        {
            let file = self.module(self.cur).rel.clone();
            // Calls written with another platform's namespace keep it (`my.getLocation`): their
            // rules differ (`requiredPrivateInfos` is WeChat's).
            let written = self.snippet(callee_span);
            let ns = written.split('.').next().unwrap_or("").trim();
            let name = match ns {
                "my" | "tt" | "swan" | "qq" | "dd" | "ks" | "jd" | "has" => format!("{ns}.{name}"),
                _ => name.to_owned(),
            };
            self.facts.mp_calls.push((name, file, span.into()));
        }
        if matches!(method, Some("sign" | "verify"))
            && self.role() != Role::Client
            && self.template_file.is_none()
            && path.as_deref().is_some_and(|p| {
                p.starts_with("jsonwebtoken") || p.contains("jwt.") || p.starts_with("jose")
            })
            && let Some(key) = args.get(1)
            && self.facts.token_keys.len() < 256
        {
            // A key the code gives by value, or by a configuration path (`app.config.jwt.secret`);
            // a bare name of unknown value says nothing.
            let key = match key.exact_text() {
                Some(t) if key.taint.is_empty() && !t.is_empty() => Some(t.to_owned()),
                _ => {
                    let code = spans
                        .get(1)
                        .map(|s| self.snippet(oxc_span::Span::new(s.start, s.end)))
                        .unwrap_or_default();
                    let code: String = code.split_whitespace().collect();
                    (code.contains('.') && code.len() <= 120).then(|| format!("code:{code}"))
                }
            };
            let module = self.module(self.cur);
            let rel: &str = &module.rel;
            let admin =
                rel.split('/').rev().skip(1).take(2).any(|seg| {
                    super::authz_spec::has_word(seg, super::authz_spec::ADMIN_PATH_WORDS)
                });
            if let Some(key) = key {
                self.facts.token_keys.push(crate::config::TokenKey {
                    verify: method == Some("verify"),
                    key,
                    file: rel.to_owned(),
                    span: span.into(),
                    admin,
                    role_claim: reads_role_claim(module.source),
                });
            }
        }
        // A signature's key is an input, never part of the signed result.
        let keyless: Vec<Value<'a>>;
        let args = match apis::key_argument(path.as_deref(), method, args.len()) {
            Some(key) if !matches!(callee.kind, Kind::Func(_) | Kind::Module(_)) => {
                keyless = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if i == key {
                            Value::unknown()
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                &keyless[..]
            }
            _ => args,
        };
        let mut result = match &callee.kind {
            Kind::Func(f) => {
                let this = receiver.cloned().unwrap_or_default();
                if let FuncNode::Class(c) = f.node {
                    self.construct(*f, c, args)
                } else {
                    self.call_func(*f, this, args, true)
                }
            }
            Kind::Module(idx) => {
                let ex = self.exports_of(*idx);
                match ex.kind {
                    Kind::Func(f) => self.call_func(f, Value::unknown(), args, true),
                    _ => Value::unknown(),
                }
            }
            Kind::Api(p) => {
                let p = p.clone();
                self.call_api(&p, receiver, args, span, is_new)
            }
            // A request wrapper the evaluator cannot follow (`api.get('/service/products',
            // { id })`, an inherited `this.post(...)`): its result is the server's answer to
            // the path, not the parameters that picked it.
            _ if method.is_some_and(|m| {
                matches!(m, "get" | "post" | "put" | "delete" | "patch" | "request")
            }) && args.first().and_then(Value::exact_text).is_some_and(|t| {
                t.starts_with('/') && t.len() > 1 || t.starts_with("https://")
            }) && self.role() == Role::Client =>
            {
                let what = format!("response of {}", self.snippet(callee_span));
                let o = self.origin(span, &what);
                let resp = Value::tainted(SourceKind::NETWORK, o);
                for a in args {
                    if let Kind::Func(f) = a.kind {
                        self.call_func(f, Value::unknown(), std::slice::from_ref(&resp), true);
                    }
                }
                resp
            }
            // Vuex `commit('user/SET_TOKEN', payload)` (`this.$store.commit`, an action's
            // `commit` or `context.commit`): the mutation runs with the state and the payload.
            _ if method == Some("commit")
                && let Some(f) = args
                    .first()
                    .and_then(Value::exact_text)
                    .map(|n| n.rsplit('/').next().unwrap_or(n))
                    .and_then(|n| self.mutations.get(n).copied()) =>
            {
                let payload = args.get(1).cloned().unwrap_or_default();
                // Not memoized: each commit's payload (a different key) is its own flow.
                self.call_func(f, Value::unknown(), &[Value::unknown(), payload], false);
                Value::unknown()
            }
            _ => self.call_unknown(receiver, method, args),
        };
        if let Some(s) = apis::sanitizer(path.as_deref(), method) {
            result = match s {
                Sanitizer::Clean => Value::unknown(),
                Sanitizer::Clock => Value {
                    sanitized: Sanitized::CLOCK,
                    ..Value::unknown()
                },
                Sanitizer::Flags(f) => {
                    let mut v = args.first().map(Value::flattened).unwrap_or_default();
                    v.sanitized |= f;
                    v
                }
            };
        }
        if let Some(p) = path.as_deref()
            && apis::is_encrypting(p)
        {
            result.sanitized |= Sanitized::ENCRYPTED;
        }
        // A key is an input of decryption, verification and signing, not part of the result:
        // the user profile decrypted with the session_key, the payload a JWT secret verified
        // are new values (what they hold is said by their own names and fields).
        if apis::uses_key(path.as_deref(), method) {
            result.labels.remove(Labels::SESSION_KEY | Labels::SECRET);
        }
        result
    }

    /// A call of something we know nothing about: taint flows from the receiver and arguments
    /// to the result and into callbacks.
    fn call_unknown(
        &mut self,
        receiver: Option<&Value<'a>>,
        method: Option<&str>,
        args: &[Value<'a>],
    ) -> Value<'a> {
        let mut ctx = Value::unknown();
        if let Some(r) = receiver {
            ctx.join_in(&r.flattened());
        }
        for a in args {
            if !matches!(a.kind, Kind::Func(_)) {
                ctx.join_in(&a.flattened());
            }
        }
        let funcs: Vec<FuncRef<'a>> = args
            .iter()
            .filter_map(|a| match a.kind {
                Kind::Func(f) => Some(f),
                _ => None,
            })
            .collect();
        let recv = receiver.cloned().unwrap_or_default();
        match method {
            Some("then") => {
                if let Some(f) = funcs.first() {
                    return self.call_func(*f, Value::unknown(), std::slice::from_ref(&recv), true);
                }
                return recv;
            }
            Some("catch" | "finally") => {
                for f in &funcs {
                    self.call_func(*f, Value::unknown(), &[Value::unknown()], true);
                }
                return recv;
            }
            Some(
                "map" | "forEach" | "filter" | "find" | "some" | "every" | "findIndex" | "flatMap",
            ) => {
                let elem = element_of(&recv);
                let mut out = Value::unknown();
                for f in &funcs {
                    out = self.call_func(
                        *f,
                        Value::unknown(),
                        &[elem.clone(), Value::unknown()],
                        true,
                    );
                }
                return match method {
                    Some("map" | "flatMap") => Value {
                        kind: Kind::Array(Rc::new(out)),
                        ..Value::default()
                    },
                    Some("filter") => recv,
                    Some("find") => elem,
                    _ => Value::unknown(),
                };
            }
            Some("reduce") => {
                let elem = element_of(&recv);
                let init = args.get(1).cloned().unwrap_or_default();
                if let Some(f) = funcs.first() {
                    return self.call_func(*f, Value::unknown(), &[init, elem], true);
                }
            }
            _ => {}
        }
        let param = if ctx.taint.is_empty() {
            Value::unknown()
        } else {
            ctx.clone()
        };
        for f in funcs {
            self.call_func(f, Value::unknown(), &[param.clone(), param.clone()], true);
        }
        // String methods keep taint; `join` of an array keeps its elements' taint.
        ctx.text = None;
        ctx.sanitized = match method {
            Some(
                "toString" | "trim" | "toLowerCase" | "toUpperCase" | "slice" | "substring"
                | "substr",
            ) => receiver.map_or(Sanitized::empty(), |r| r.sanitized),
            // `phone.replace(/(\d{3})\d{4}(\d{4})/, '$1****$2')`: masked for display.
            Some("replace" | "replaceAll")
                if args
                    .get(1)
                    .and_then(|a| a.text.as_deref())
                    .is_some_and(|t| t.contains('*')) =>
            {
                Sanitized::MASKED
            }
            _ => Sanitized::empty(),
        };
        ctx.labels |= getter_key_labels(method, args);
        ctx
    }

    fn construct(&mut self, f: FuncRef<'a>, c: &'a Class<'a>, args: &[Value<'a>]) -> Value<'a> {
        let mut obj = Obj::default();
        let mut ctor = None;
        let saved = self.cur;
        self.cur = f.module;
        for el in &c.body.body {
            match el {
                ClassElement::MethodDefinition(m) => {
                    let Some(name) = property_key_name(&m.key) else {
                        continue;
                    };
                    let v = self.func_value(FuncNode::Function(&m.value));
                    if name == "constructor" {
                        if let Kind::Func(f) = v.kind {
                            ctor = Some(f);
                        }
                    } else {
                        obj.set(&name, v);
                    }
                }
                ClassElement::PropertyDefinition(p) if !p.r#static => {
                    if let (Some(name), Some(init)) = (property_key_name(&p.key), &p.value) {
                        let v = self.eval(init);
                        obj.set(&name, v);
                    }
                }
                _ => {}
            }
        }
        // TypeScript parameter properties (`constructor(private readonly svc: OrderService)`)
        // are fields of the instance: the argument, or, when the framework injects it (nest),
        // an instance of the declared class.
        if let Some(params) = constructor_of(c).map(|m| &m.value.params) {
            for (i, p) in params.items.iter().enumerate() {
                if p.accessibility.is_none() && !p.readonly {
                    continue;
                }
                let Some(name) = p.pattern.get_binding_identifier().map(|b| b.name.as_str()) else {
                    continue;
                };
                let v = match args.get(i) {
                    Some(a) => a.clone(),
                    None => self.injected(p),
                };
                obj.set(name, v);
            }
        }
        self.cur = saved;
        let instance = Value::object(obj);
        let Some(ctor) = ctor else { return instance };
        self.last_this = None;
        self.call_func(ctor, instance.clone(), args, false);
        match self.last_this.take() {
            Some(v) if v.obj().is_some() => v,
            _ => instance,
        }
    }

    /// The service a framework injects for a constructor parameter (nest): an instance of the
    /// class its type names (`authService: AuthService`, the class imported from the
    /// project), a few services deep. Unknown for a type from a package or none.
    fn injected(&mut self, param: &'a oxc_ast::ast::FormalParameter<'a>) -> Value<'a> {
        const MAX_INJECTING: u32 = 3;
        let Some(ann) = &param.type_annotation else {
            return Value::unknown();
        };
        let oxc_ast::ast::TSType::TSTypeReference(reference) = &ann.type_annotation else {
            return Value::unknown();
        };
        let oxc_ast::ast::TSTypeName::IdentifierReference(type_id) = &reference.type_name else {
            return Value::unknown();
        };
        if self.injecting >= MAX_INJECTING {
            return Value::unknown();
        }
        let class = self.lookup(type_id);
        let Kind::Func(func) = class.kind else {
            return class;
        };
        let FuncNode::Class(c) = func.node else {
            return Value::unknown();
        };
        self.injecting += 1;
        let v = self.construct(func, c, &[]);
        self.injecting -= 1;
        v
    }

    /// Evaluate a function of the analysed code with these arguments.
    fn call_func(
        &mut self,
        f: FuncRef<'a>,
        this: Value<'a>,
        args: &[Value<'a>],
        memo: bool,
    ) -> Value<'a> {
        let key = (f.module, f.node.start());
        if self.stack.contains(&key) || self.stack.len() >= MAX_DEPTH || self.steps > STEP_BUDGET {
            return Value::unknown();
        }
        let sig = signature(&this, args) ^ (self.pages.len() as u64);
        if memo && let Some(v) = self.memo.get(&(key.0, key.1, sig)) {
            return v.clone();
        }
        self.called.insert(key);
        self.stack.push(key);
        let saved_cur = self.cur;
        let saved_tpl = self.template_file.take();
        let saved_scope = self.template_scope.take();
        let saved_name = self.name_ctx.take();
        self.cur = f.module;
        let is_arrow = matches!(f.node, FuncNode::Arrow(_));
        if !is_arrow {
            self.this_stack.push(this);
        }
        self.returns.push(None);
        self.return_spans.push(None);
        let params = func_params(f.node);
        for (i, p) in params.iter().flat_map(|ps| ps.items.iter()).enumerate() {
            let mut v = args.get(i).cloned().unwrap_or_default();
            if let Some(init) = &p.initializer {
                let d = self.eval(init);
                if args.get(i).is_none() {
                    v = d;
                }
            }
            if let Some(tag) = decorator_source(&p.decorators) {
                let o = self.origin(p.span, tag);
                v = if tag == "@Req()" {
                    Value::api("@req")
                } else {
                    Value::tainted(SourceKind::HTTP_REQUEST, o)
                };
            }
            self.bind_pattern(&p.pattern, v);
        }
        if let Some(rest) = params.and_then(|ps| ps.rest.as_ref()) {
            let mut elem = Value::unknown();
            for a in args.iter().skip(params.map_or(0, |ps| ps.items.len())) {
                elem.join_in(a);
            }
            self.bind_pattern(
                &rest.rest.argument,
                Value {
                    kind: Kind::Array(Rc::new(elem)),
                    ..Value::default()
                },
            );
        }
        match f.node {
            FuncNode::Function(func) => {
                if let Some(body) = &func.body {
                    self.exec_block(&body.statements);
                }
            }
            FuncNode::Arrow(arrow) => match &arrow.body {
                oxc_ast::ast::ArrowFunctionBody::FunctionBody(b) => self.exec_block(&b.statements),
                other => {
                    if let Some(e) = other.as_expression() {
                        let v = self.eval(e);
                        if let Some(slot) = self.returns.last_mut() {
                            *slot = Some(v);
                        }
                    }
                }
            },
            FuncNode::Class(_) => {}
        }
        let ret = self.returns.pop().flatten().unwrap_or_default();
        self.last_return_span = self.return_spans.pop().flatten();
        if !is_arrow {
            self.last_this = self.this_stack.pop();
        }
        self.cur = saved_cur;
        self.template_file = saved_tpl;
        self.template_scope = saved_scope;
        self.name_ctx = saved_name;
        self.stack.pop();
        if memo {
            self.memo.insert((key.0, key.1, sig), ret.clone());
        }
        ret
    }

    fn invoke_callback(&mut self, v: Option<&Value<'a>>, args: &[Value<'a>]) {
        if let Some(Value {
            kind: Kind::Func(f),
            ..
        }) = v
        {
            self.call_func(*f, Value::unknown(), args, true);
        }
    }

    /// Calls of known APIs.
    /// The store a Pinia `useStore()` returns: a setup store's returned object, or an options
    /// store's state fields and actions (called with the store as `this`).
    fn pinia_store(&mut self, path: &str) -> Value<'a> {
        let Some(def) = self.pinia.get(path).cloned() else {
            return Value::unknown();
        };
        match &def.kind {
            Kind::Func(f) => self.call_func(*f, Value::unknown(), &[], true),
            Kind::Object(o) => {
                let mut store = Obj::default();
                if let Some(state) = o.get("state") {
                    let state = match state.kind {
                        Kind::Func(f) => self.call_func(f, Value::unknown(), &[], true),
                        _ => state.clone(),
                    };
                    if let Kind::Object(so) = &state.kind {
                        for (k, v) in &so.fields {
                            store.set(k, v.clone());
                        }
                    }
                }
                for part in ["getters", "actions"] {
                    if let Some(Kind::Object(po)) = o.get(part).map(|v| &v.kind) {
                        for (k, v) in &po.fields {
                            store.set(k, v.clone());
                        }
                    }
                }
                Value::object(store)
            }
            _ => Value::unknown(),
        }
    }

    fn call_api(
        &mut self,
        p: &str,
        receiver: Option<&Value<'a>>,
        args: &[Value<'a>],
        span: oxc_span::Span,
        is_new: bool,
    ) -> Value<'a> {
        let arg0 = args.first().cloned().unwrap_or_default();
        // Vue's reactivity: `ref(x)` is `{ value: x }` (templates read it unwrapped), and
        // `reactive(x)` is `x` itself.
        match p {
            "vue.ref" | "vue.shallowRef" | "@vue/reactivity.ref" => {
                let mut o = Obj::default();
                o.set("value", arg0);
                return Value::object(o);
            }
            "vue.reactive" | "vue.shallowReactive" | "@vue/reactivity.reactive" => return arg0,
            // Pinia: `defineStore(id, setup)`, `defineStore(id, { state, actions })`,
            // `defineStore({ id, state, actions })` give a `useStore` function; calling it gives
            // the store, whose actions run with what the page passes them.
            "pinia.defineStore" => {
                let def = args
                    .iter()
                    .find(|a| matches!(a.kind, Kind::Func(_) | Kind::Object(_)))
                    .cloned();
                if let Some(def) = def
                    && self.pinia.len() < 4096
                {
                    let key: Rc<str> = Rc::from(format!("@pinia:{}:{}", self.cur, span.start));
                    self.pinia.insert(key.clone(), def);
                    return Value {
                        kind: Kind::Api(key),
                        ..Value::default()
                    };
                }
                return Value::unknown();
            }
            _ if p.starts_with("@pinia:") => return self.pinia_store(p),
            _ => {}
        }
        // Mini-program APIs.
        if let Some(name) = p.strip_prefix("mp.") {
            let last = name.rsplit('.').next().unwrap_or(name);
            // Name the call by what it is, not by its (possibly multi-line) source text.
            let namespace = self
                .snippet(span)
                .split('.')
                .next()
                .unwrap_or("wx")
                .trim()
                .to_owned();
            let namespace = if namespace.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !namespace.is_empty()
            {
                namespace
            } else {
                "wx".to_owned()
            };
            let what = format!("{namespace}.{name}()");
            if apis::MP_REQUESTS.contains(&last)
                || name == "cloud.callFunction"
                || name == "cloud.callContainer"
            {
                let o = self.origin(span, &format!("response of {what}"));
                let resp = Value::tainted(SourceKind::NETWORK, o);
                self.invoke_callback(arg0.field("success"), std::slice::from_ref(&resp));
                self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&resp));
                self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
                return resp;
            }
            // uni-app composition API: `onLoad((options) => ...)` from '@dcloudio/uni-app'.
            if last == "onLoad"
                && let Kind::Func(f) = arg0.kind
            {
                let options = self.param_origin_value(f, 0, SourceKind::PAGE_OPTIONS, "options");
                self.call_func(f, Value::unknown(), &[options], false);
                return Value::unknown();
            }
            let source = match last {
                "getStorageSync" | "getStorage" | "getStorageInfoSync" => Some(SourceKind::STORAGE),
                "getClipboardData" => Some(SourceKind::CLIPBOARD),
                "showModal" => Some(SourceKind::USER_INPUT),
                "getEnterOptionsSync" | "getLaunchOptionsSync" => Some(SourceKind::PAGE_OPTIONS),
                // Taro: `useRouter().params`, `getCurrentInstance().router.params`: the page's
                // link parameters, whatever the link said.
                "useRouter" | "getCurrentInstance" => Some(SourceKind::PAGE_OPTIONS),
                _ => None,
            };
            // A cloud database query matched on a password (`where({ account, password })`, a
            // login done on the client): the records it reads hold that password.
            if name.contains("database()") {
                if last == "where"
                    && arg0.obj().is_some_and(|o| {
                        // Page data starts as `password: ''` and the form fills it in.
                        o.fields.iter().any(|(k, v)| {
                            !(v.is_constant() && v.text.as_deref().is_some_and(|t| !t.is_empty()))
                                && labels_for_name(k).contains(Labels::PASSWORD)
                        })
                    })
                {
                    let mut q = Value::api(&format!("{p}()"));
                    q.labels |= Labels::PASSWORD;
                    return q;
                }
                if last == "get" && receiver.is_some_and(|r| r.labels.contains(Labels::PASSWORD)) {
                    let resp = password_rows();
                    self.invoke_callback(arg0.field("success"), std::slice::from_ref(&resp));
                    self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&resp));
                    self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
                    return resp;
                }
            }
            let result = match source {
                Some(kind) => {
                    let o = self.origin(span, &what);
                    let mut v = Value::tainted(kind, o);
                    if let Some(key) = arg0.exact_text() {
                        v.labels |= labels_for_name(key);
                    } else if let Some(key) = arg0.field("key").and_then(Value::exact_text) {
                        v.labels |= labels_for_name(key);
                    }
                    v
                }
                None => Value::api(&format!("{p}()")),
            };
            let cb_arg = if source.is_some() {
                result.clone()
            } else {
                Value::unknown()
            };
            self.invoke_callback(arg0.field("success"), std::slice::from_ref(&cb_arg));
            self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&cb_arg));
            self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
            return result;
        }
        match p {
            "Page" | "Component" | "Behavior" | "App" | "mp.createPage" | "mp.createComponent" => {
                return self.run_page(p, &arg0);
            }
            "getApp" => return self.app_value(),
            "Promise" if is_new => {
                self.resolvers.push(Value::unknown());
                if let Some(Value {
                    kind: Kind::Func(f),
                    ..
                }) = args.first()
                {
                    self.call_func(
                        *f,
                        Value::unknown(),
                        &[Value::api("@resolve"), Value::api("@reject")],
                        false,
                    );
                }
                return self.resolvers.pop().unwrap_or_default();
            }
            "@resolve" => {
                if let Some(r) = self.resolvers.last_mut() {
                    r.join_in(&arg0);
                }
                return Value::unknown();
            }
            "@reject" => return Value::unknown(),
            "Promise.resolve"
            | "Promise.reject"
            | "util.promisify"
            | "Buffer.from"
            | "Object.freeze"
            | "vue.defineComponent"
            | "@vue/composition-api.defineComponent" => {
                return arg0;
            }
            "Promise.all" | "Promise.allSettled" | "Promise.race" => return arg0,
            "JSON.parse" => return arg0.flattened(),
            "JSON.stringify" => {
                let mut v = arg0.flattened();
                v.text = Some(Rc::from(crate::value::HOLE.to_string()));
                v.sanitized |= Sanitized::PRIMITIVE;
                return v;
            }
            "Object.assign" => {
                let mut out = Value::unknown();
                for a in args {
                    if let (Kind::Object(_), Kind::Object(b)) = (&out.kind, &a.kind) {
                        let mut merged = out.obj().cloned().unwrap_or_default();
                        for (k, v) in &b.fields {
                            merged.set(k, v.clone());
                        }
                        out.kind = Kind::Object(Rc::new(merged));
                        out.taint.join(&a.taint);
                    } else if matches!(out.kind, Kind::Unknown) {
                        let mut t = out.taint.clone();
                        out = a.clone();
                        out.taint.join(&t);
                        t = out.taint.clone();
                        out.taint = t;
                    } else {
                        out.taint.join(&a.deep_taint());
                    }
                }
                return out;
            }
            "Object.keys" | "Object.values" | "Object.entries" => {
                return Value {
                    kind: Kind::Array(Rc::new(arg0.flattened())),
                    ..Value::default()
                };
            }
            "@setData" => {
                self.set_data(&arg0);
                for a in args.iter().skip(1) {
                    self.invoke_callback(Some(a), &[]);
                }
                return Value::unknown();
            }
            "@res.send" | "@res.json" | "@res.jsonp" | "@res.end" | "@res.write" => {
                let via = p.trim_start_matches('@').to_owned();
                let ev = RespondEvent {
                    value: &arg0,
                    via: &via,
                    span: span.into(),
                };
                self.emit(&Event::Respond(&ev));
                return Value::api("@res");
            }
            "@res.status" | "@res.set" | "@res.header" | "@res.type" | "@res.cookie" => {
                return Value::api("@res");
            }
            _ => {}
        }
        if (p.starts_with("crypto-js.enc.") || p.starts_with("crypto-js/enc-"))
            && p.ends_with(".parse")
        {
            return arg0;
        }
        if matches!(
            p,
            "crypto.createHash"
                | "crypto.createHmac"
                | "crypto.createCipheriv"
                | "crypto.createDecipheriv"
                | "crypto.createCipher"
        ) {
            let mut v = Value::api(&format!("{p}()"));
            v.text.clone_from(&arg0.text);
            return v;
        }
        if let Some(kind) = receiver.and_then(|r| r.api_path()).and_then(|rp| {
            let method = p.rsplit('.').next().unwrap_or("");
            apis::method_source(rp, method)
        }) {
            let what = self.snippet(span);
            let o = self.origin(span, &what);
            return Value::tainted(kind, o);
        }
        // A method of a crypto object keeps the algorithm (`createHash('md5').update(x)`).
        let mut result = Value::api(&format!("{p}()"));
        if p.starts_with("crypto.create")
            && let Some(r) = receiver
        {
            result.text.clone_from(&r.text);
        }
        // Unknown library calls: taint flows through.
        let mut t = crate::value::Taint::default();
        let mut labels = Labels::empty();
        for a in args {
            if !matches!(a.kind, Kind::Func(_)) {
                t.join(&a.deep_taint());
                labels |= a.deep_labels();
            }
        }
        // A tainted API value is the result of an earlier library call
        // (`decodeURIComponent(x).split('|')`): its taint flows on too.
        if let Some(r) = receiver
            && (!matches!(r.kind, Kind::Api(_)) || !r.taint.is_empty())
        {
            t.join(&r.deep_taint());
        }
        result.taint = t;
        // A cloud SDK call (`cloud.openapi.subscribeMessage.send({..})`, a database write)
        // answers with the platform's result, not with the data it was given.
        if !p.starts_with("wxcloud.") {
            result.labels = labels | getter_key_labels(p.rsplit('.').next(), args);
        }
        // `path.join(dir, path.basename(x))`: path functions keep what every tainted part had.
        if p.starts_with("path.") {
            let mut tainted = args.iter().filter(|a| !a.deep_taint().is_empty());
            if let Some(first) = tainted.next() {
                result.sanitized = tainted.fold(first.sanitized, |acc, a| acc & a.sanitized);
            }
        }
        // The code-to-session exchange answers with the session_key: callers see it in the
        // result. Its `openid` is the platform's verified answer, whatever code the client sent.
        if args.iter().any(is_session_exchange) {
            let resp = session_response(&crate::value::Taint::default());
            for a in args {
                if let Kind::Func(f) = a.kind {
                    let params = [Value::unknown(), resp.clone(), resp.clone()];
                    self.call_func(f, Value::unknown(), &params, true);
                }
            }
            return resp;
        }
        // The platform's credential exchange (`cgi-bin/token`) answers with the access_token.
        if args.iter().any(is_token_exchange) {
            let resp = credential_response(&result.taint, "access_token", Labels::SECRET);
            for a in args {
                if let Kind::Func(f) = a.kind {
                    let params = [Value::unknown(), resp.clone(), resp.clone()];
                    self.call_func(f, Value::unknown(), &params, true);
                }
            }
            return resp;
        }
        // Callbacks passed to library calls still run (e.g. `pool.query(sql, (err, rows) => ..)`).
        let param = Value {
            taint: result.taint.clone(),
            ..Value::default()
        };
        let funcs: Vec<FuncRef<'a>> = args
            .iter()
            .filter_map(|a| {
                if let Kind::Func(f) = a.kind {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        let role = self.role();
        for f in funcs {
            // A route handler (`router.get('/x', (req, res) => ..)`, `app.use(async (ctx) => ..)`)
            // gets the request objects its parameter names say.
            let named = if role == Role::Client {
                Vec::new()
            } else {
                self.default_args(f, role)
            };
            if named.iter().any(|v| v.api_path().is_some()) {
                self.call_func(f, Value::unknown(), &named, true);
            } else {
                self.call_func(f, Value::unknown(), &[param.clone(), param.clone()], true);
            }
        }
        for a in args {
            if let Some(o) = a.obj() {
                for key in ["success", "complete", "callback"] {
                    if let Some(Value {
                        kind: Kind::Func(f),
                        ..
                    }) = o.get(key)
                    {
                        self.call_func(*f, Value::unknown(), &[Value::unknown()], true);
                    }
                }
            }
        }
        result
    }

    fn set_data(&mut self, arg: &Value<'a>) {
        let Some(page) = self.pages.last_mut() else {
            return;
        };
        let Some(o) = arg.obj() else { return };
        let mut data = page.data.obj().cloned().unwrap_or_default();
        // `setData({ ...options })`: a spread of tainted data of unknown shape may set any key,
        // including keys the page declared with constant defaults.
        if !arg.taint.is_empty() {
            page.data.taint.join(&arg.taint);
            for (k, v) in &mut data.fields {
                if o.get(k).is_none() {
                    v.taint.join(&arg.taint);
                    v.text = None;
                    v.text_origin = None;
                }
            }
        }
        for (k, v) in &o.fields {
            // `'article.content'` or `'list[0].html'`: the top-level field carries it.
            let top: String = k.split(['.', '[']).next().unwrap_or(k).to_owned();
            if top.len() == k.len() {
                let merged = data_update(data.get(&top), v);
                data.set(&top, merged);
            } else {
                let mut prev = data.get(&top).cloned().unwrap_or_default();
                let rest = k[top.len()..].trim_start_matches('.');
                if let (Some(field), false) = (rest.split(['.', '[']).next(), rest.starts_with('['))
                {
                    let mut inner = prev.obj().cloned().unwrap_or_default();
                    let joined = inner.get(field).map_or_else(|| v.clone(), |p| p.join(v));
                    inner.set(field, joined);
                    prev.kind = Kind::Object(Rc::new(inner));
                } else {
                    prev.taint.join(&v.deep_taint());
                    if let Kind::Array(e) = &prev.kind {
                        prev.kind = Kind::Array(Rc::new(e.join(v)));
                    } else {
                        prev.kind = Kind::Array(Rc::new(v.clone()));
                    }
                }
                data.set(&top, prev);
            }
        }
        page.data.kind = Kind::Object(Rc::new(data));
    }

    fn app_value(&mut self) -> Value<'a> {
        if let Some(v) = &self.app_value {
            return v.clone();
        }
        if self.evaluating_app {
            return Value::unknown();
        }
        let from = self.module(self.cur).path.clone();
        let Some(root) = self.set.index.miniprogram_root_of(&from) else {
            return Value::unknown();
        };
        let candidates = [root.join("app.js"), root.join("app.ts")];
        for c in candidates {
            if let Some(idx) = self.set.load(&c) {
                self.evaluating_app = true;
                self.ensure_module(idx);
                self.evaluating_app = false;
                break;
            }
        }
        self.app_value.clone().unwrap_or_default()
    }

    /// `Page({...})`, `Component({...})`, `App({...})`: run the lifecycle and handlers with the
    /// inputs the platform gives them, then check the page's template bindings.
    fn run_page(&mut self, kind: &str, arg: &Value<'a>) -> Value<'a> {
        let Some(o) = arg.obj() else {
            return Value::unknown();
        };
        if kind == "App" {
            self.app_value = Some(arg.clone());
        }
        let mut data = o
            .get("data")
            .cloned()
            .unwrap_or_else(|| Value::object(Obj::default()));
        // Vue: `data() { return {...} }`.
        if let Kind::Func(f) = data.kind {
            self.pages.push(PageState {
                data: Value::object(Obj::default()),
                methods: Vec::new(),
                extra: FxHashMap::default(),
            });
            data = self.call_func(f, Value::api("@page"), &[], false);
            self.pages.pop();
            if data.obj().is_none() {
                data = Value::object(Obj::default());
            }
        }
        data = self.typed_in_by_v_model(data);
        let mut methods: Vec<(Rc<str>, FuncRef<'a>)> = Vec::new();
        let collect = |obj: &Obj<'a>, methods: &mut Vec<(Rc<str>, FuncRef<'a>)>| {
            for (k, v) in &obj.fields {
                if let Kind::Func(f) = v.kind {
                    methods.push((k.clone(), f));
                }
            }
        };
        collect(o, &mut methods);
        methods.retain(|(name, _)| &**name != "data");
        for group in [
            "methods",
            "lifetimes",
            "pageLifetimes",
            "observers",
            "watch",
            "computed",
        ] {
            if let Some(g) = o.get(group).and_then(Value::obj) {
                collect(g, &mut methods);
            }
        }
        // Handlers nothing binds or calls run last: what they share with the others (a memoised
        // helper) is then reported from a handler that runs.
        let rare = super::reach::page(
            self.set,
            &self.module(self.cur),
            self.cur,
            kind,
            o,
            &methods,
        );
        methods.sort_by_key(|(name, _)| rare.rare.contains(name));
        self.reach.extend(rare.regions);
        self.pages.push(PageState {
            data,
            methods: methods.clone(),
            extra: FxHashMap::default(),
        });
        for round in 0..2 {
            for (name, f) in &methods {
                let args: Vec<Value<'a>> = match &**name {
                    "onLoad" if kind != "App" => {
                        vec![self.param_origin_value(*f, 0, SourceKind::PAGE_OPTIONS, "options")]
                    }
                    "onShow" | "onReady" | "onHide" | "onUnload" | "onPullDownRefresh"
                    | "onReachBottom" | "onShareAppMessage" | "onShareTimeline"
                    | "onPageScroll" | "onResize" | "onTabItemTap" | "created" | "attached"
                    | "ready" | "detached" | "moved" | "onLaunch" | "onError"
                    | "onPageNotFound" | "onHide2" => vec![Value::unknown()],
                    _ => vec![Value::api("@event")],
                };
                if round == 1 {
                    // Second round: handlers see data set by the others.
                    self.memo
                        .retain(|k, _| !(k.0 == f.module && k.1 == f.node.start()));
                }
                self.call_func(*f, Value::api("@page"), &args, true);
            }
        }
        let Some(page) = self.pages.pop() else {
            return Value::unknown();
        };
        self.check_template(&page);
        Value::unknown()
    }

    /// The page data with every field a Vue template binds with `v-model` holding what the
    /// user types (a form's `password` starts as `''` and is filled in by the user).
    fn typed_in_by_v_model(&mut self, data: Value<'a>) -> Value<'a> {
        let m = self.module(self.cur);
        if !m
            .path
            .extension()
            .is_some_and(|e| e == "vue" || e == "nvue")
        {
            return data;
        }
        let src = m.source;
        let Some(block) = super::vue::blocks(src, "template").into_iter().next() else {
            return data;
        };
        let bound = super::vue::model_bindings(src, &block, 256);
        if bound.is_empty() {
            return data;
        }
        let mut obj = data.obj().cloned().unwrap_or_default();
        for (name, at) in bound {
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            let o = self.origin(
                oxc_span::Span::new(at, at.saturating_add(name.len() as u32)),
                &format!("text the user types into `v-model=\"{name}\"`"),
            );
            let mut v = Value::tainted(SourceKind::USER_INPUT, o);
            v.labels = labels_for_name(&name);
            obj.set(&name, v);
        }
        let mut out = Value::object(obj);
        out.taint = data.taint;
        out.labels = data.labels;
        out
    }

    fn check_template(&mut self, page: &PageState<'a>) {
        let m = self.module(self.cur);
        let is_vue = m
            .path
            .extension()
            .is_some_and(|e| e == "vue" || e == "nvue");
        let (rel, src, text, dialect) = if is_vue {
            self.vue_templates_done.insert(self.cur);
            // The template block of the same file, masked in place so offsets stay true.
            let original = m.source;
            let split = super::vue::split(original, "template");
            if let Some(at) = split.unclosed {
                self.template_errors.push((
                    m.rel.clone(),
                    at as u32,
                    "<template> block without its end tag; the template was not analysed"
                        .to_owned(),
                ));
            }
            let Some(block) = split.blocks.into_iter().next() else {
                return;
            };
            let masked = super::vue::mask(original, &[(block.start, block.end)]);
            (
                m.rel.clone(),
                Rc::from(original),
                masked,
                crate::template::Dialect::Wxml,
            )
        } else {
            let Some((tpl_path, dialect)) = self.set.index.template_for(&m.path) else {
                return;
            };
            let Some(file) = self.set.index.file(&tpl_path) else {
                return;
            };
            let rel: Rc<str> = Rc::from(file.rel.as_str());
            let text = match super::read_source(file) {
                Ok((text, exact)) => {
                    if !exact {
                        self.template_errors
                            .push((rel.clone(), 0, super::NOT_UTF8.to_owned()));
                    }
                    text
                }
                Err(e) => {
                    self.template_errors
                        .push((rel.clone(), 0, format!("cannot read: {e}")));
                    return;
                }
            };
            let src: Rc<str> = Rc::from(text.as_str());
            if !self.templates.iter().any(|(r, _)| *r == rel) {
                self.templates.push((rel.clone(), src.clone()));
            }
            (rel, src, text, dialect)
        };
        let tpl = crate::template::parse(&text, dialect);
        for e in &tpl.errors {
            self.template_errors
                .push((rel.clone(), e.span.start, e.message.clone()));
        }
        let alloc = self.set.allocator();
        let mut data = page.data.obj().cloned().unwrap_or_default();
        for (k, v) in &page.extra {
            let merged = data_update(data.get(k), v);
            data.set(k, merged);
        }
        self.pages.push(PageState {
            data: Value {
                taint: page.data.taint.clone(),
                ..Value::object(data)
            },
            methods: Vec::new(),
            extra: FxHashMap::default(),
        });
        let saved_tpl = self.template_file.replace((rel.clone(), src.clone()));
        let mut bindings: Vec<TemplateBinding> = Vec::new();
        // Loops form a tree: each element points at the innermost loop around it, so a binding
        // costs nothing per enclosing loop, and each loop's list is evaluated once.
        let mut loop_nodes: Vec<LoopNode> = Vec::new();
        let mut chain_of: Vec<Option<usize>> = Vec::new();
        let mut loops_cut = false;
        tpl.walk(&mut |el, ancestors| {
            chain_of.truncate(ancestors.len());
            let parent = chain_of.last().copied().flatten();
            let own = if is_vue {
                vue_for_binding(el)
            } else {
                el.for_binding(dialect)
                    .map(|b| (b.item.clone(), b.list.clone(), b.index.clone()))
            };
            let chain = match own {
                Some((item, list, index)) => {
                    let level = parent
                        .and_then(|p| loop_nodes.get(p))
                        .map_or(0, |n| n.level)
                        + 1;
                    if level > MAX_TEMPLATE_LOOPS {
                        loops_cut = true;
                        parent
                    } else {
                        loop_nodes.push(LoopNode {
                            parent,
                            level,
                            item,
                            list,
                            index,
                        });
                        Some(loop_nodes.len() - 1)
                    }
                }
                None => parent,
            };
            chain_of.push(chain);
            for attr in &el.attrs {
                let Some(val) = &attr.value else { continue };
                let span = Span {
                    start: val.span.start,
                    end: val.span.end,
                };
                if is_vue {
                    // `:src="url"`, `v-bind:nodes="html"`, `v-html="html"`: the value is code.
                    let name = attr.name.as_str();
                    let bound = name
                        .strip_prefix(':')
                        .or_else(|| name.strip_prefix("v-bind:"))
                        .map(str::to_owned)
                        .or_else(|| (name == "v-html").then(|| name.to_owned()));
                    if let Some(bound) = bound {
                        let expr = crate::template::Part::Expr {
                            code: val.raw.clone(),
                            span: val.span,
                        };
                        bindings.push((
                            el.name.to_ascii_lowercase(),
                            bound,
                            vec![expr],
                            chain,
                            span,
                        ));
                    }
                    continue;
                }
                if !val
                    .parts
                    .iter()
                    .any(|p| matches!(p, crate::template::Part::Expr { .. }))
                {
                    continue;
                }
                bindings.push((
                    el.name.to_ascii_lowercase(),
                    attr.name.clone(),
                    val.parts.clone(),
                    chain,
                    span,
                ));
            }
        });
        if loops_cut {
            self.template_errors.push((
                rel.clone(),
                0,
                format!(
                    "loops nested deeper than {MAX_TEMPLATE_LOOPS} levels; the inner loop \
                     variables were not followed"
                ),
            ));
        }
        let mut scopes: Vec<Option<LoopScope<'a>>> = vec![None; loop_nodes.len()];
        for (element, attribute, parts, chain, span) in bindings {
            let scope = match chain {
                Some(c) => self.loop_scope(alloc, &loop_nodes, &mut scopes, c),
                None => Rc::new(Vec::new()),
            };
            self.template_scope = Some(scope.as_ref().clone());
            let mut acc: Option<Value<'a>> = None;
            for part in &parts {
                let v = match part {
                    crate::template::Part::Text { text, .. } => Value::text(text, None),
                    crate::template::Part::Expr { code, span } => {
                        self.eval_template_code(alloc, code, span.start)
                    }
                };
                acc = Some(match acc {
                    Some(a) => a.concat(&v),
                    None if parts.len() == 1 => v,
                    None => Value::text("", None).concat(&v),
                });
            }
            let value = acc.unwrap_or_default();
            let ev = BindingEvent {
                element: &element,
                attribute: &attribute,
                value: &value,
                span,
            };
            self.emit(&Event::Binding(&ev));
        }
        self.template_scope = None;
        self.template_file = saved_tpl;
        self.pages.pop();
    }

    /// The variables in scope inside loop `node`: those of the enclosing loops plus its item
    /// (an element of its evaluated list) and index. Each loop is evaluated once per template;
    /// the walk up the tree is iterative and at most [`MAX_TEMPLATE_LOOPS`] long.
    fn loop_scope(
        &mut self,
        alloc: &'a oxc_allocator::Allocator,
        nodes: &[LoopNode],
        scopes: &mut [Option<LoopScope<'a>>],
        node: usize,
    ) -> LoopScope<'a> {
        let mut path = Vec::new();
        let mut at = Some(node);
        while let Some(n) = at {
            if let Some(Some(done)) = scopes.get(n) {
                let done = done.clone();
                return self.extend_scopes(alloc, nodes, scopes, &path, done);
            }
            path.push(n);
            at = nodes.get(n).and_then(|x| x.parent);
        }
        self.extend_scopes(alloc, nodes, scopes, &path, Rc::new(Vec::new()))
    }

    /// Evaluates the loops of `path` (innermost first) from the outermost, starting with the
    /// scope `base` of the loop around them.
    fn extend_scopes(
        &mut self,
        alloc: &'a oxc_allocator::Allocator,
        nodes: &[LoopNode],
        scopes: &mut [Option<LoopScope<'a>>],
        path: &[usize],
        base: LoopScope<'a>,
    ) -> LoopScope<'a> {
        let mut scope = base;
        for &n in path.iter().rev() {
            let Some(node) = nodes.get(n) else { continue };
            self.template_scope = Some(scope.as_ref().clone());
            let list_val = match &node.list {
                Some(crate::template::Part::Expr { code, span }) => {
                    self.eval_template_code(alloc, code, span.start)
                }
                _ => Value::unknown(),
            };
            let mut next = scope.as_ref().clone();
            next.push((Rc::from(node.item.as_str()), element_of(&list_val)));
            next.push((Rc::from(node.index.as_str()), Value::unknown()));
            scope = Rc::new(next);
            if let Some(slot) = scopes.get_mut(n) {
                *slot = Some(scope.clone());
            }
        }
        scope
    }

    fn eval_template_code(
        &mut self,
        alloc: &'a oxc_allocator::Allocator,
        code: &str,
        offset: u32,
    ) -> Value<'a> {
        if let Err(deep) = super::depth::check(
            code,
            super::depth::MAX_SOURCE_NESTING,
            super::depth::Options::default(),
        ) {
            if let Some((rel, _)) = &self.template_file {
                self.template_errors.push((
                    rel.clone(),
                    offset.saturating_add(deep.offset as u32),
                    format!(
                        "binding nested deeper than {} levels; the binding was not analysed",
                        deep.limit
                    ),
                ));
            }
            return Value::unknown();
        }
        let src: &'a str = alloc.alloc_str(code);
        let Ok(expr) =
            oxc_parser::Parser::new(alloc, src, oxc_span::SourceType::mjs()).parse_expression()
        else {
            return Value::unknown();
        };
        let expr: &'a Expression<'a> = alloc.alloc(expr);
        // Events inside template expressions are not reported at parsed offsets; only the
        // binding itself is.
        let saved_rules = std::mem::take(&mut self.findings);
        let v = self.eval(expr);
        self.findings = saved_rules;
        v
    }

    // ----- JSX ----------------------------------------------------------------------------

    fn eval_jsx(&mut self, el: &'a JSXElement<'a>) {
        self.nested(|this| this.eval_jsx_inner(el));
    }

    fn eval_jsx_inner(&mut self, el: &'a JSXElement<'a>) {
        let name = match &el.opening_element.name {
            JSXElementName::Identifier(i) => i.name.as_str().to_owned(),
            JSXElementName::IdentifierReference(i) => i.name.as_str().to_owned(),
            JSXElementName::NamespacedName(n) => n.name.name.as_str().to_owned(),
            JSXElementName::MemberExpression(m) => m.property.name.as_str().to_owned(),
            JSXElementName::ThisExpression(_) => String::new(),
        };
        let element = name.to_ascii_lowercase();
        for item in &el.opening_element.attributes {
            match item {
                JSXAttributeItem::Attribute(a) => {
                    let attr = match &a.name {
                        JSXAttributeName::Identifier(i) => i.name.as_str().to_owned(),
                        JSXAttributeName::NamespacedName(n) => {
                            format!("{}:{}", n.namespace.name, n.name.name)
                        }
                    };
                    let value = match &a.value {
                        Some(JSXAttributeValue::ExpressionContainer(c)) => match &c.expression {
                            JSXExpression::EmptyExpression(_) => continue,
                            other => match other.as_expression() {
                                Some(e) => self.eval(e),
                                None => continue,
                            },
                        },
                        Some(JSXAttributeValue::StringLiteral(s)) => {
                            Value::text(s.value.as_str(), None)
                        }
                        Some(JSXAttributeValue::Element(e)) => {
                            self.eval_jsx(e);
                            continue;
                        }
                        _ => continue,
                    };
                    let span = a.span;
                    let ev = BindingEvent {
                        element: &element,
                        attribute: &attr,
                        value: &value,
                        span: span.into(),
                    };
                    self.emit(&Event::Binding(&ev));
                }
                JSXAttributeItem::SpreadAttribute(s) => {
                    self.eval(&s.argument);
                }
            }
        }
        for c in &el.children {
            self.eval_jsx_child(c);
        }
    }

    fn eval_jsx_child(&mut self, c: &'a JSXChild<'a>) {
        match c {
            JSXChild::Element(e) => self.eval_jsx(e),
            JSXChild::Fragment(f) => {
                for c in &f.children {
                    self.eval_jsx_child(c);
                }
            }
            JSXChild::ExpressionContainer(e) => {
                if let Some(x) = e.expression.as_expression() {
                    self.eval(x);
                }
            }
            JSXChild::Spread(s) => {
                self.eval(&s.expression);
            }
            JSXChild::Text(_) => {}
        }
    }
}

/// A template attribute with bindings: element, attribute, value parts, the innermost
/// enclosing loop (an index into the loop nodes), value span.
type TemplateBinding = (
    String,
    String,
    Vec<crate::template::Part>,
    Option<usize>,
    Span,
);

/// The variables in scope inside a template loop: (name, value), outermost loop first.
type LoopScope<'a> = Rc<Vec<(Rc<str>, Value<'a>)>>;

/// Template loops nested deeper than this are not followed (their variables are unknown).
const MAX_TEMPLATE_LOOPS: u32 = 32;

/// A `wx:for` / `v-for` loop of a template, in a tree of loops.
struct LoopNode {
    parent: Option<usize>,
    /// 1 for an outermost loop.
    level: u32,
    item: String,
    list: Option<crate::template::Part>,
    index: String,
}

/// A Vue `v-for="(item, index) in list"` as a loop binding (item, list, index).
fn vue_for_binding(
    el: &crate::template::Element,
) -> Option<(String, Option<crate::template::Part>, String)> {
    let attr = el.attr("v-for")?;
    let val = attr.value.as_ref()?;
    let (item, index, list) = super::vue::parse_v_for(&val.raw)?;
    let list = crate::template::Part::Expr {
        code: list,
        span: val.span,
    };
    Some((
        item,
        Some(list),
        index.unwrap_or_else(|| "index".to_owned()),
    ))
}

/// A page data field after an update (`setData({k: v})`, Vue `this.k = v`): a constant initial
/// value (`url: ''`) is a placeholder the update replaces; a tainted or structured one may
/// survive the update, so both are kept.
fn data_update<'a>(prev: Option<&Value<'a>>, v: &Value<'a>) -> Value<'a> {
    match prev {
        Some(prev) if !prev.taint.is_empty() || prev.obj().is_some() => prev.join(v),
        _ => v.clone(),
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
