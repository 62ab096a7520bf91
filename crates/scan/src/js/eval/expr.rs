//! Expressions: operators, literals, objects, classes and member reads.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    // ----- expressions --------------------------------------------------------------------

    pub fn eval(&mut self, e: &'a Expression<'a>) -> Value<'a> {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            self.partial.insert((self.cur, PARTIAL_BUDGET));
            self.impure += 1;
            return Value::unknown();
        }
        self.nested(|this| this.eval_inner(e))
    }

    /// Run `f` one nesting level deeper; past [`MAX_NESTING`] the result is unknown (the
    /// default) instead of a stack overflow on generated or hostile code.
    pub(super) fn nested<T: Default>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        if self.depth >= MAX_NESTING {
            self.partial.insert((self.cur, PARTIAL_NESTING));
            self.impure += 1;
            return T::default();
        }
        self.depth += 1;
        self.peak = self.peak.max(self.depth);
        let result = f(self);
        self.depth -= 1;
        result
    }

    pub(super) fn eval_inner(&mut self, e: &'a Expression<'a>) -> Value<'a> {
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

    pub(super) fn eval_target_value(&mut self, t: &'a AssignmentTarget<'a>) -> Value<'a> {
        match t {
            AssignmentTarget::AssignmentTargetIdentifier(id) => self.lookup(id),
            other => match other.as_member_expression() {
                Some(m) => self.eval_member(m),
                None => Value::unknown(),
            },
        }
    }

    pub(super) fn eval_template(&mut self, t: &'a oxc_ast::ast::TemplateLiteral<'a>) -> Value<'a> {
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
    pub(super) fn mark_built(&self, mut v: Value<'a>, span: oxc_span::Span) -> Value<'a> {
        if !v.taint.is_empty() && v.taint.built.is_none() && self.template_file.is_none() {
            v.taint.built = Some(self.origin(span, "string built here"));
        }
        v
    }

    pub(super) fn eval_object(&mut self, o: &'a oxc_ast::ast::ObjectExpression<'a>) -> Value<'a> {
        let mut obj = Obj::default();
        let mut own_taint = crate::value::Taint::default();
        // The keys known without running code, for rules that read a property by its
        // neighbours (a `key` beside a merchant id).
        let siblings: Vec<Rc<str>> = if o.properties.len() <= crate::events::MAX_SIBLINGS {
            o.properties
                .iter()
                .filter_map(|p| match p {
                    ObjectPropertyKind::ObjectProperty(prop) if !prop.computed => {
                        prop.key.static_name().map(|k| Rc::from(k.as_ref()))
                    }
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
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
                            siblings: &siblings,
                        };
                        self.emit(&Event::Property(&ev));
                        obj.set(k, v);
                    }
                }
                ObjectPropertyKind::SpreadProperty(s) => {
                    let v = self.eval(&s.argument);
                    obj.overlay_unknown(&v);
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
                    self.impure += 1;
                }
            }
        }
        let mut v = Value::object(obj);
        v.taint = own_taint;
        v
    }

    pub(super) fn class_value(&mut self, c: &'a Class<'a>) -> Value<'a> {
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

    pub(super) fn eval_member(&mut self, m: &'a MemberExpression<'a>) -> Value<'a> {
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
    pub(super) fn member_value(
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

    pub(super) fn api_member(
        &mut self,
        p: &str,
        prop: &str,
        span: Option<oxc_span::Span>,
    ) -> Value<'a> {
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
}
