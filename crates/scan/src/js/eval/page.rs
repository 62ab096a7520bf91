//! Pages and components: `Page({...})`, `setData`, the app, templates and their bindings, JSX.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    pub(super) fn set_data(&mut self, arg: &Value<'a>) {
        self.impure += 1;
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

    pub(super) fn app_value(&mut self) -> Value<'a> {
        self.impure += 1;
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
    pub(super) fn run_page(&mut self, kind: &str, arg: &Value<'a>) -> Value<'a> {
        self.impure += 1;
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
        let rare = crate::js::reach::page(
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
    pub(super) fn typed_in_by_v_model(&mut self, data: Value<'a>) -> Value<'a> {
        let m = self.module(self.cur);
        if !m
            .path
            .extension()
            .is_some_and(|e| e == "vue" || e == "nvue")
        {
            return data;
        }
        let src = m.source;
        let Some(block) = crate::js::vue::blocks(src, "template").into_iter().next() else {
            return data;
        };
        let bound = crate::js::vue::model_bindings(src, &block, 256);
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

    pub(super) fn check_template(&mut self, page: &PageState<'a>) {
        self.impure += 1;
        let m = self.module(self.cur);
        let is_vue = m
            .path
            .extension()
            .is_some_and(|e| e == "vue" || e == "nvue");
        let (rel, src, text, dialect) = if is_vue {
            self.vue_templates_done.insert(self.cur);
            // The template block of the same file, masked in place so offsets stay true.
            let original = m.source;
            let split = crate::js::vue::split(original, "template");
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
            let masked = crate::js::vue::mask(original, &[(block.start, block.end)]);
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
            let text = match crate::js::read_source(file) {
                Ok((text, exact)) => {
                    if !exact {
                        self.template_errors
                            .push((rel.clone(), 0, crate::js::NOT_UTF8.to_owned()));
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
    pub(super) fn loop_scope(
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
    pub(super) fn extend_scopes(
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

    pub(super) fn eval_template_code(
        &mut self,
        alloc: &'a oxc_allocator::Allocator,
        code: &str,
        offset: u32,
    ) -> Value<'a> {
        if let Err(deep) = crate::js::depth::check(
            code,
            crate::js::depth::MAX_SOURCE_NESTING,
            crate::js::depth::Options::default(),
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

    pub(super) fn eval_jsx(&mut self, el: &'a JSXElement<'a>) {
        self.impure += 1;
        self.nested(|this| this.eval_jsx_inner(el));
    }

    pub(super) fn eval_jsx_inner(&mut self, el: &'a JSXElement<'a>) {
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

    pub(super) fn eval_jsx_child(&mut self, c: &'a JSXChild<'a>) {
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
pub(super) type TemplateBinding = (
    String,
    String,
    Vec<crate::template::Part>,
    Option<usize>,
    Span,
);

/// The variables in scope inside a template loop: (name, value), outermost loop first.
pub(super) type LoopScope<'a> = Rc<Vec<(Rc<str>, Value<'a>)>>;

/// Template loops nested deeper than this are not followed (their variables are unknown).
pub(super) const MAX_TEMPLATE_LOOPS: u32 = 32;

/// A `wx:for` / `v-for` loop of a template, in a tree of loops.
pub(super) struct LoopNode {
    parent: Option<usize>,
    /// 1 for an outermost loop.
    level: u32,
    item: String,
    list: Option<crate::template::Part>,
    index: String,
}

/// A Vue `v-for="(item, index) in list"` as a loop binding (item, list, index).
pub(super) fn vue_for_binding(
    el: &crate::template::Element,
) -> Option<(String, Option<crate::template::Part>, String)> {
    let attr = el.attr("v-for")?;
    let val = attr.value.as_ref()?;
    let (item, index, list) = crate::js::vue::parse_v_for(&val.raw)?;
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
pub(super) fn data_update<'a>(prev: Option<&Value<'a>>, v: &Value<'a>) -> Value<'a> {
    match prev {
        Some(prev) if !prev.taint.is_empty() || prev.obj().is_some() => prev.join(v),
        _ => v.clone(),
    }
}
