//! Modules: entries, functions nobody calls, exports, `require`/`import`, and the environment
//! of variables.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    // ----- modules ------------------------------------------------------------------------

    /// Evaluate a module as an entry: its top level, then every function nobody called.
    pub fn run_entry(&mut self, idx: usize) {
        self.ensure_module(idx);
        let before = self.cur;
        self.cur = idx;
        // Cloud function entry: exports.main(event, context).
        if self.module(idx).role == Role::CloudFunction
            && let Some(ExportState::Done(exports)) = self.exports.get(&idx).cloned()
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
        let mut handlers = crate::js::handlers::analyse(&module);
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
    /// fields (see [`crate::js::authz_spec::LOWER_BOUND_DECLARATIONS`]).
    pub(super) fn imports_declare_lower_bound(&mut self, idx: usize) -> bool {
        let module = self.module(idx);
        for stmt in &module.program.body {
            let Statement::ImportDeclaration(imp) = stmt else {
                continue;
            };
            let Some(path) =
                crate::js::resolve(self.set.index, &module.path, imp.source.value.as_str())
            else {
                continue;
            };
            let Some(target) = self.set.load(&path) else {
                continue;
            };
            let source = self.module(target).source;
            if crate::js::authz_spec::LOWER_BOUND_DECLARATIONS
                .iter()
                .any(|d| source.contains(d))
            {
                return true;
            }
        }
        false
    }

    /// Analyses the service functions the handlers of module `idx` call with client input
    /// (see [`crate::js::handlers::analyse_callee`]), two calls deep at most, each (module,
    /// function, argument classes) once per entry.
    pub(super) fn follow_callouts(
        &mut self,
        idx: usize,
        handlers: Vec<crate::js::handlers::Handler>,
    ) {
        const MAX_DEPTH: u32 = 2;
        const MAX_FOLLOWED: usize = 64;
        let mut queue: Vec<(usize, crate::js::handlers::Handler, u32)> =
            handlers.into_iter().map(|h| (idx, h, 1)).collect();
        let mut done = FxHashSet::default();
        while let Some((from, caller, depth)) = queue.pop() {
            for c in &caller.callouts {
                if done.len() >= MAX_FOLLOWED {
                    return;
                }
                let from_path = self.module(from).path.clone();
                let Some(path) =
                    crate::js::handlers::target_path(self.set.index, &from_path, &c.target)
                else {
                    continue;
                };
                let Some(target) = self.set.load(&path) else {
                    continue;
                };
                let bits: Vec<u8> = c.args.iter().map(crate::js::handlers::Src::bits).collect();
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
                let Some(h) =
                    crate::js::handlers::analyse_callee(&module, &c.method, &c.args, &caller)
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
    pub(super) fn script_setup_bindings(&self, idx: usize) -> Value<'a> {
        let m = self.module(idx);
        let setup = crate::js::vue::blocks(m.source, "script")
            .iter()
            .any(|b| b.attrs.split_whitespace().any(|a| a == "setup"));
        if !setup {
            return Value::unknown();
        }
        let scoping = &m.scoping;
        let Some(env) = self.envs.get(&idx) else {
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

    pub(super) fn emit_in(&mut self, module: usize, event: &Event<'_, 'a>) {
        let saved = self.cur;
        self.cur = module;
        self.emit(event);
        self.cur = saved;
    }

    pub(super) fn run_uncalled(&mut self, idx: usize) {
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
    pub(super) fn default_args(&mut self, f: FuncRef<'a>, role: Role) -> Vec<Value<'a>> {
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

    pub(super) fn param_origin_value(
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

    /// Evaluate module `idx`'s top level if this batch has not: from the worker's summary of
    /// it when there is one that stands for evaluating it here (see [`Summary`]), else by
    /// evaluating it, keeping a summary when the evaluation allows one.
    pub(super) fn ensure_module(&mut self, idx: usize) {
        self.note_need(idx);
        match self.exports.get(&idx) {
            // An import cycle: the exports so far.
            Some(ExportState::InProgress(_)) => {
                self.spoil();
                return;
            }
            Some(ExportState::Done(_)) => {
                if !self.from_summary.contains(&idx) {
                    self.spoil();
                }
                return;
            }
            None => {}
        }
        let before = self.steps;
        if self.replay(idx) {
            self.work.top_levels_from_summaries += 1;
        } else {
            self.work.top_levels_evaluated += 1;
            self.evaluate_top_level(idx);
        }
        let used = self.steps - before;
        if let Some(r) = self.recording.last_mut() {
            r.nested_steps += used;
        }
    }

    fn evaluate_top_level(&mut self, idx: usize) {
        self.exports
            .insert(idx, ExportState::InProgress(Value::object(Obj::default())));
        let saved_cur = self.cur;
        let outer = self.enter_top_level();
        let saved_peak = std::mem::replace(&mut self.peak, self.depth);
        let recording = Recording {
            module: idx,
            log: Vec::new(),
            needed: FxHashSet::default(),
            spoiled: self.envs.get(&idx).is_some_and(|e| !e.is_empty()),
            marks: self.marks(),
            steps: self.steps,
            depth: self.depth,
            seen: self.seen.len(),
            nested_steps: 0,
        };
        self.recording.push(recording);
        self.cur = idx;
        let m = self.module(idx);
        self.exec_block(&m.program.body);
        let exports = match self.exports.remove(&idx) {
            Some(ExportState::InProgress(v) | ExportState::Done(v)) => v,
            None => Value::unknown(),
        };
        self.exports.insert(idx, ExportState::Done(exports.clone()));
        self.cur = saved_cur;
        self.leave_top_level(outer);
        let r = self.recording.pop();
        let peak = self.peak.saturating_sub(r.as_ref().map_or(0, |r| r.depth));
        self.peak = self.peak.max(saved_peak);
        match r {
            Some(r) if !r.spoiled && r.marks == self.marks() => {
                let seen = self.seen[r.seen..]
                    .iter()
                    .filter(|s| s.func.module == idx)
                    .cloned()
                    .collect();
                self.set.cache().keep_summary(
                    idx,
                    Summary {
                        exports,
                        env: self.envs.get(&idx).cloned().unwrap_or_default(),
                        seen,
                        log: r.log,
                        own_steps: (self.steps - r.steps).saturating_sub(r.nested_steps),
                        peak,
                    },
                );
                self.from_summary.insert(idx);
            }
            _ => self.spoil(),
        }
    }

    /// The counters a summarised top level must leave as they were.
    fn marks(&self) -> Marks {
        Marks {
            impure: self.impure,
            guards: self.guards.activity(),
            refusals: self.set.refusals(),
            facts: (self.facts.mp_calls.len(), self.facts.token_keys.len()),
            templates: (
                self.templates.len(),
                self.template_errors.len(),
                self.vue_templates_done.len(),
            ),
            reach: self.reach.len(),
            app: self.app_value.is_some(),
        }
    }

    /// The top level being summarised read something a summary cannot stand for.
    fn spoil(&mut self) {
        if let Some(r) = self.recording.last_mut() {
            r.spoiled = true;
        }
    }

    /// Note that the top level being summarised needed module `idx`'s top level.
    fn note_need(&mut self, idx: usize) {
        let depth = self.depth;
        if let Some(r) = self.recording.last_mut()
            && r.module != idx
            && r.needed.insert(idx)
        {
            r.log
                .push(Need::TopLevel(idx, depth.saturating_sub(r.depth)));
        }
    }

    /// Take the worker's summary of module `idx`'s top level instead of evaluating it, if
    /// there is one and evaluating the top level here would do what it says: the imports it
    /// loads can be loaded, the top levels it needs are not evaluated yet (then their summaries
    /// are taken too) or still have their summaries' exports, and the step budget and the
    /// nesting limit leave room for all of it.
    fn replay(&mut self, idx: usize) -> bool {
        let mut plan = Plan::default();
        plan.modules.insert(idx);
        if !self.plan(idx, 0, &mut plan)
            || self.steps + plan.steps > STEP_BUDGET
            || self.depth + plan.peak > MAX_NESTING
            || !self.set.reserve(plan.loads.len())
        {
            return false;
        }
        self.peak = self.peak.max(self.depth + plan.peak);
        self.take_summary(idx);
        true
    }

    fn plan(&self, idx: usize, depth: u32, plan: &mut Plan) -> bool {
        let Some(summary) = self.set.cache().summary(idx) else {
            return false;
        };
        if self.envs.get(&idx).is_some_and(|e| !e.is_empty()) {
            return false;
        }
        plan.steps += summary.own_steps;
        plan.peak = plan.peak.max(depth + summary.peak);
        for need in &summary.log {
            match need {
                Need::Load(path) => {
                    if !self.set.has(path) {
                        plan.loads.insert(path.clone());
                    }
                }
                Need::TopLevel(d, at) => {
                    let loaded = self.set.has_module(*d)
                        || self
                            .set
                            .get(*d)
                            .is_some_and(|m| plan.loads.contains(&m.path));
                    if !loaded {
                        return false;
                    }
                    match self.exports.get(d) {
                        Some(ExportState::InProgress(_)) => return false,
                        Some(ExportState::Done(_)) => {
                            if !self.from_summary.contains(d) {
                                return false;
                            }
                        }
                        None => {
                            if plan.modules.insert(*d) && !self.plan(*d, depth + at, plan) {
                                return false;
                            }
                        }
                    }
                }
            }
        }
        true
    }

    /// Apply module `idx`'s summary (checked by [`Evaluator::plan`]).
    fn take_summary(&mut self, idx: usize) {
        let Some(summary) = self.set.cache().summary(idx) else {
            return;
        };
        for need in &summary.log {
            match need {
                Need::Load(path) => {
                    self.set.load_reserved(path);
                }
                Need::TopLevel(d, _) => {
                    if !self.exports.contains_key(d) {
                        self.take_summary(*d);
                    }
                }
            }
        }
        if !summary.env.is_empty() {
            self.envs.insert(idx, summary.env.clone());
        }
        self.exports
            .insert(idx, ExportState::Done(summary.exports.clone()));
        for s in &summary.seen {
            if self.seen_set.insert((s.func.module, s.func.node.start())) {
                self.seen.push(s.clone());
            }
        }
        self.steps += summary.own_steps;
        self.from_summary.insert(idx);
    }

    /// Set aside what the code that needs a module's top level was in the middle of (its
    /// `this`, its return slot, the name it was assigning, the class or page it was in, a
    /// template), so that the top level runs as it does for an entry file, whoever needs it
    /// first. Returns it for [`Evaluator::leave_top_level`].
    pub(super) fn enter_top_level(&mut self) -> Outer<'a> {
        Outer {
            template_file: self.template_file.take(),
            template_scope: self.template_scope.take(),
            this_stack: std::mem::take(&mut self.this_stack),
            returns: std::mem::take(&mut self.returns),
            return_spans: std::mem::take(&mut self.return_spans),
            last_return_span: self.last_return_span.take(),
            last_this: self.last_this.take(),
            name_ctx: self.name_ctx.take(),
            this_hint: self.this_hint.take(),
            cur_class: self.cur_class.take(),
            pages: std::mem::take(&mut self.pages),
            injecting: std::mem::take(&mut self.injecting),
        }
    }

    pub(super) fn leave_top_level(&mut self, outer: Outer<'a>) {
        self.template_file = outer.template_file;
        self.template_scope = outer.template_scope;
        self.this_stack = outer.this_stack;
        self.returns = outer.returns;
        self.return_spans = outer.return_spans;
        self.last_return_span = outer.last_return_span;
        self.last_this = outer.last_this;
        self.name_ctx = outer.name_ctx;
        self.this_hint = outer.this_hint;
        self.cur_class = outer.cur_class;
        self.pages = outer.pages;
        self.injecting = outer.injecting;
    }

    pub(super) fn exports_of(&mut self, idx: usize) -> Value<'a> {
        self.ensure_module(idx);
        match self.exports.get(&idx) {
            Some(ExportState::InProgress(v) | ExportState::Done(v)) => v.clone(),
            None => Value::unknown(),
        }
    }

    pub(super) fn current_exports_mut(&mut self) -> Option<&mut Value<'a>> {
        if matches!(self.exports.get(&self.cur), Some(ExportState::Done(_))) {
            self.from_summary.remove(&self.cur);
        }
        match self.exports.get_mut(&self.cur)? {
            ExportState::InProgress(v) | ExportState::Done(v) => Some(v),
        }
    }

    pub(super) fn set_export(&mut self, name: &str, value: Value<'a>) {
        if let Some(exp) = self.current_exports_mut() {
            let mut obj = exp.obj().cloned().unwrap_or_default();
            obj.set(name, value);
            exp.kind = Kind::Object(Rc::new(obj));
        }
    }

    pub(super) fn require(&mut self, spec: &str) -> Value<'a> {
        if let Some(lib) = apis::vendored(spec)
            && (spec.starts_with('.') || spec.starts_with('/'))
        {
            return Value::api(lib);
        }
        let from = self.module(self.cur).path.clone();
        if let Some(path) = crate::js::resolve(self.set.index, &from, spec) {
            let loaded = self.set.load(&path);
            if let Some(r) = self.recording.last_mut() {
                r.log.push(Need::Load(path));
            }
            if let Some(idx) = loaded {
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

    pub(super) fn symbol_of_ref(
        &self,
        id: &oxc_ast::ast::IdentifierReference<'a>,
    ) -> Option<SymbolId> {
        let m = self.module(self.cur);
        let rid = id.reference_id.get()?;
        m.scoping.get_reference(rid).symbol_id()
    }

    pub(super) fn bind(&mut self, id: &oxc_ast::ast::BindingIdentifier<'a>, value: Value<'a>) {
        if self.template_file.is_some() {
            return;
        }
        if let Some(sym) = id.symbol_id.get() {
            self.env_mut().insert(sym, value);
        }
    }

    pub(super) fn lookup(&mut self, id: &'a oxc_ast::ast::IdentifierReference<'a>) -> Value<'a> {
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
                    .get(&self.cur)
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
                _ => {
                    if let Some(v) = self.implicit.get(&(self.cur, Rc::from(name))) {
                        return v.clone();
                    }
                    apis::global(name).map_or_else(Value::unknown, Value::api)
                }
            },
        }
    }
}
