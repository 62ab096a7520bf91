//! Statements, declarations, destructuring and assignment.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    // ----- statements ---------------------------------------------------------------------

    pub(super) fn exec_block(&mut self, stmts: &'a oxc_allocator::Vec<'a, Statement<'a>>) {
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
                self.impure += 1;
                return;
            }
            self.exec(s);
        }
    }

    pub(super) fn declare_function(&mut self, f: &'a Function<'a>) {
        let v = self.func_value(FuncNode::Function(f));
        if let Some(id) = &f.id {
            self.bind(id, v);
        }
    }

    pub(super) fn func_value(&mut self, node: FuncNode<'a>) -> Value<'a> {
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

    pub(super) fn exec(&mut self, s: &'a Statement<'a>) {
        self.nested(|this| this.exec_inner(s));
    }

    pub(super) fn exec_inner(&mut self, s: &'a Statement<'a>) {
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
                        .get(&self.cur)
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
                        .get(&self.cur)
                        .and_then(|e| e.get(&sym))
                        .cloned()
                        .map(|v| (sym, v))
                });
                self.exec(&i.consequent);
                if let Some(a) = &i.alternate {
                    self.exec(a);
                }
                if let Some((sym, old)) = before
                    && let Some(new) = self.envs.get(&self.cur).and_then(|e| e.get(&sym))
                {
                    let joined = old.join(new);
                    self.env_mut().insert(sym, joined);
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

    pub(super) fn exec_export_decl(&mut self, d: &'a Declaration<'a>) {
        match d {
            Declaration::VariableDeclaration(v) => {
                self.exec_var(v);
                for decl in &v.declarations {
                    for id in decl.id.get_binding_identifiers() {
                        let val = self
                            .envs
                            .get(&self.cur)
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

    pub(super) fn exec_var(&mut self, d: &'a VariableDeclaration<'a>) {
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

    pub(super) fn bind_for_left(&mut self, left: &'a ForStatementLeft<'a>, v: Value<'a>) {
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

    pub(super) fn bind_pattern(&mut self, p: &'a BindingPattern<'a>, v: Value<'a>) {
        self.nested(|this| this.bind_pattern_inner(p, v));
    }

    pub(super) fn bind_pattern_inner(&mut self, p: &'a BindingPattern<'a>, v: Value<'a>) {
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

    pub(super) fn assign_target(&mut self, t: &'a AssignmentTarget<'a>, v: Value<'a>) {
        self.nested(|this| this.assign_target_inner(t, v));
    }

    pub(super) fn assign_target_inner(&mut self, t: &'a AssignmentTarget<'a>, v: Value<'a>) {
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
                    self.env_mut().insert(sym, v);
                } else if apis::global(id.name.as_str()).is_none()
                    && (self.implicit.len() < MAX_IMPLICIT
                        || self
                            .implicit
                            .contains_key(&(self.cur, Rc::from(id.name.as_str()))))
                {
                    // An implicit global: later reads in this module see it. It is not part
                    // of a module's summary, so a top level that sets one is not summarised.
                    self.impure += 1;
                    let mut v = v;
                    if !v.is_constant() {
                        v.labels |= labels_for_name(id.name.as_str());
                    }
                    self.implicit
                        .insert((self.cur, Rc::from(id.name.as_str())), v);
                }
            }
            AssignmentTarget::ObjectAssignmentTarget(o) => {
                for prop in &o.properties {
                    match prop {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(p) => {
                            let fv = self.member_value(&v, p.binding.name.as_str(), Some(p.span));
                            if let Some(sym) = self.symbol_of_ref(&p.binding) {
                                self.env_mut().insert(sym, fv);
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

    pub(super) fn assign_maybe_default(
        &mut self,
        t: &'a AssignmentTargetMaybeDefault<'a>,
        v: Value<'a>,
    ) {
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

    pub(super) fn assign_member(&mut self, m: &'a MemberExpression<'a>, v: Value<'a>) {
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
            let env = self.env_mut();
            if let Some(cur) = env.get_mut(&sym) {
                set_nested(cur, &path, v);
            }
            return;
        }
        // obj.field = v on a local object: update the variable (copy on write).
        if let Expression::Identifier(id) = object.get_inner_expression()
            && let Some(sym) = self.symbol_of_ref(id)
        {
            let env = self.env_mut();
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
}
