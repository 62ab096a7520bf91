//! Calls: the callee, functions of the analysed code, constructors, injected services and
//! callbacks.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    // ----- calls --------------------------------------------------------------------------

    pub(super) fn eval_args(
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

    pub(super) fn eval_call(&mut self, call: &'a oxc_ast::ast::CallExpression<'a>) -> Value<'a> {
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

    pub(super) fn eval_new(&mut self, n: &'a oxc_ast::ast::NewExpression<'a>) -> Value<'a> {
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

    pub(super) fn eval_callee(
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
    pub(super) fn apply_call(
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
            let admin = rel.split('/').rev().skip(1).take(2).any(|seg| {
                crate::js::authz_spec::has_word(seg, crate::js::authz_spec::ADMIN_PATH_WORDS)
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
    pub(super) fn call_unknown(
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

    pub(super) fn construct(
        &mut self,
        f: FuncRef<'a>,
        c: &'a Class<'a>,
        args: &[Value<'a>],
    ) -> Value<'a> {
        self.impure += 1;
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
    pub(super) fn injected(&mut self, param: &'a oxc_ast::ast::FormalParameter<'a>) -> Value<'a> {
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
    pub(super) fn call_func(
        &mut self,
        f: FuncRef<'a>,
        this: Value<'a>,
        args: &[Value<'a>],
        memo: bool,
    ) -> Value<'a> {
        self.impure += 1;
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

    pub(super) fn invoke_callback(&mut self, v: Option<&Value<'a>>, args: &[Value<'a>]) {
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
    pub(super) fn pinia_store(&mut self, path: &str) -> Value<'a> {
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
}
