//! Reachability: code that rarely runs for a user.
//!
//! A flaw in code that a released build never runs is less likely to matter than the same flaw
//! in a page's `onLoad`. Two kinds of such code lower the confidence of a finding by one step
//! (never its severity), with a note in its message, and the reports list those findings apart
//! (see `docs/severity.md`, *Reachability*):
//!
//! - **Handlers nothing binds or calls** ([`Reach::Unbound`]): a method of a page (`Page`, or the
//!   `methods` of a `Component` or Vue component that is a page: it has `onLoad`, `onShow` or
//!   `onReady`) that no event attribute of its template names (`bindtap`, `catch:tap`, `onTap`,
//!   `@click`, `v-on:click`, ...) and no `{{ }}` of a Vue template calls, that the platform does
//!   not call (lifecycle methods, `observers`, `watch`...) and that no reachable code of its
//!   module refers to (`this.load()`, `'load'`), transitively. A binding in a template comment is
//!   no binding: the template parser keeps comments out of the elements it walks. The methods of
//!   other components are left alone: their parents call them (`selectComponent`, `$refs`).
//! - **Development builds only** ([`Reach::DevOnly`]): elements of a template under a `wx:if`
//!   (`a:if`, `tt:if`, `s-if`, `qq:if`, `v-if`) that tests the environment version for
//!   `develop` or `trial`, the `wx:else` of a test for `release`, handlers bound only from such
//!   elements, and script code guarded by such a test (`envVersion === 'develop'`,
//!   `process.env.NODE_ENV !== 'production'`, `__DEV__`).
//!
//! The analysis is conservative: when a page has no template the scan can read, or when its
//! template or its reachable code names handlers in a way the scan cannot follow (an event
//! attribute whose value is a `{{ }}` expression, `this[name]()`, an `<include>` that does not
//! resolve), no handler of that page is taken as unbound. Work is bounded: at most
//! [`MAX_INCLUDES`] included templates per page, one pass over the module per page.

use std::path::Path;
use std::rc::Rc;

use oxc_ast::ast::{
    BinaryOperator, BindingProperty, ComputedMemberExpression, ConditionalExpression, Expression,
    IfStatement, LogicalExpression, LogicalOperator, ObjectProperty, StaticMemberExpression,
    StringLiteral, UnaryOperator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_span::GetSpan;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{Module, ModuleSet};
use crate::events::RawFinding;
use crate::template::{Dialect, Element, Node, Part, Template};
use crate::value::{FuncNode, FuncRef, Obj, Value};

/// Why code rarely runs for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reach {
    /// A page or component handler that no template binds and no reachable code calls.
    Unbound,
    /// Code only development (or trial) builds run.
    DevOnly,
}

impl Reach {
    /// The note a finding's message and `confidence_reason` carry.
    pub fn note(self) -> miniguard_report::Msg {
        match self {
            Reach::Unbound => miniguard_report::msg!("reach.unbound"),
            Reach::DevOnly => miniguard_report::msg!("reach.dev-only"),
        }
    }
}

/// A byte range of a file (relative path) whose code rarely runs for a user.
#[derive(Clone, Debug)]
pub struct Region {
    pub file: Rc<str>,
    pub start: u32,
    pub end: u32,
    pub reach: Reach,
}

/// Included and imported templates followed per page, at most.
pub const MAX_INCLUDES: usize = 16;

/// Methods the platform itself calls: page, component, app and Vue lifecycles, and the page
/// events of every supported platform.
const LIFECYCLE: &[&str] = &[
    // Pages (WeChat, QQ, Douyin, Baidu, Alipay, uni-app).
    "onLoad",
    "onShow",
    "onReady",
    "onHide",
    "onUnload",
    "onRouteDone",
    "onPullDownRefresh",
    "onReachBottom",
    "onShareAppMessage",
    "onShareTimeline",
    "onAddToFavorites",
    "onPageScroll",
    "onResize",
    "onTabItemTap",
    "onSaveExitState",
    "onTitleClick",
    "onOptionMenuClick",
    "onPopMenuClick",
    "onPullIntercept",
    "onSelectedTabItemTap",
    "onKeyboardHeight",
    "onBack",
    "onBackPress",
    "onInit",
    "onForceReLaunch",
    "onNavigationBarButtonTap",
    "onNavigationBarSearchInputChanged",
    "onNavigationBarSearchInputConfirmed",
    "onNavigationBarSearchInputClicked",
    "onNavigationBarSearchInputFocusChanged",
    "onUploadDouyinVideo",
    // Apps.
    "onLaunch",
    "onError",
    "onPageNotFound",
    "onUnhandledRejection",
    "onThemeChange",
    // Components (WeChat and Alipay).
    "created",
    "attached",
    "ready",
    "moved",
    "detached",
    "error",
    "didMount",
    "didUpdate",
    "didUnmount",
    "deriveDataFromProps",
    // Vue.
    "beforeCreate",
    "beforeMount",
    "mounted",
    "beforeUpdate",
    "updated",
    "activated",
    "deactivated",
    "beforeDestroy",
    "destroyed",
    "beforeUnmount",
    "unmounted",
    "errorCaptured",
    "setup",
    "render",
];

/// Options groups whose functions the platform calls (observers, watchers, computed values).
const CALLED_GROUPS: &[&str] = &[
    "lifetimes",
    "pageLifetimes",
    "observers",
    "watch",
    "computed",
];

/// What a page's template and code say about its methods.
pub struct PageReach {
    /// Names of the methods that nothing binds or calls, or only development builds do.
    pub rare: FxHashSet<Rc<str>>,
    /// Their function bodies, and the template elements only development builds show.
    pub regions: Vec<Region>,
}

/// Which methods of the page or component `options` (`kind` as `run_page` names it) of `module`
/// rarely run: see the module docs. `methods` are the functions `run_page` collected.
pub fn page(
    set: &ModuleSet<'_>,
    module: &Module<'_>,
    module_idx: usize,
    kind: &str,
    options: &Obj<'_>,
    methods: &[(Rc<str>, FuncRef<'_>)],
) -> PageReach {
    let mut out = PageReach {
        rare: FxHashSet::default(),
        regions: Vec::new(),
    };
    let is_page = matches!(kind, "Page" | "mp.createPage");
    if !is_page && !matches!(kind, "Component" | "mp.createComponent" | "Vue") {
        return out;
    }
    let Some(tpl) = read_templates(set, module) else {
        return out;
    };
    out.regions.extend(tpl.dev_regions.iter().cloned());
    // A component's methods are also its interface: its parent calls them
    // (`selectComponent('#list').loadMore()`, `this.$refs.picker.show()`). Only pages, and
    // components that are pages (with a page's `onLoad` or `onShow`), have handlers that only
    // their template reaches.
    let page_lifecycle = methods
        .iter()
        .any(|(n, _)| matches!(&**n, "onLoad" | "onShow" | "onReady"));
    if tpl.dynamic || !(is_page || page_lifecycle) {
        return out;
    }
    // Handlers: a page's own functions, a component's `methods`, defined in this module.
    let group = |name: &str| options.get(name).and_then(Value::obj);
    let mut candidates: FxHashMap<&str, (u32, u32)> = FxHashMap::default();
    let in_methods: FxHashSet<&str> = group("methods")
        .map(|m| m.fields.iter().map(|(k, _)| &**k).collect())
        .unwrap_or_default();
    let top: FxHashSet<&str> = options.fields.iter().map(|(k, _)| &**k).collect();
    for (name, f) in methods {
        let name: &str = name;
        let handler = in_methods.contains(name) || (is_page && top.contains(name));
        let called = LIFECYCLE.contains(&name)
            || CALLED_GROUPS
                .iter()
                .any(|g| group(g).is_some_and(|o| o.get(name).is_some()));
        if f.module == module_idx && handler && !called {
            let span = match f.node {
                FuncNode::Function(x) => x.span,
                FuncNode::Arrow(x) => x.span,
                FuncNode::Class(x) => x.span,
            };
            candidates.insert(name, (span.start, span.end));
        }
    }
    // A name defined twice (a mixin and the page): taken as called.
    for (name, f) in methods {
        if f.module != module_idx && candidates.contains_key(&**name) {
            candidates.remove(&**name);
        }
    }
    if candidates.is_empty() {
        return out;
    }
    // Where the module refers to each handler: inside another handler (an edge) or elsewhere
    // (a root: lifecycle code, options, helpers).
    let mut refs = Refs {
        names: &candidates,
        found: Vec::new(),
        dynamic: Vec::new(),
    };
    refs.visit_program(module.program);
    // Handlers are fields of the options object: their bodies do not overlap, so the one
    // around an offset is the last that starts before it.
    let mut spans: Vec<(u32, u32, &str)> =
        candidates.iter().map(|(n, (s, e))| (*s, *e, *n)).collect();
    spans.sort_unstable();
    let owner = |offset: u32| -> Option<&str> {
        let i = spans.partition_point(|(s, _, _)| *s <= offset);
        let (_, end, name) = spans.get(i.checked_sub(1)?)?;
        (offset < *end).then_some(*name)
    };
    let mut edges: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    let mut roots: Vec<&str> = Vec::new();
    for (offset, name) in &refs.found {
        match owner(*offset) {
            Some(from) => edges.entry(from).or_default().push(name),
            None => roots.push(name),
        }
    }
    // `this[name]()` in code that runs: any handler may be called.
    let mut dynamic_in: Vec<Option<&str>> = refs.dynamic.iter().map(|o| owner(*o)).collect();
    if dynamic_in.iter().any(Option::is_none) {
        return out;
    }
    let live = reached(
        &candidates,
        &edges,
        roots
            .iter()
            .copied()
            .chain(tpl.names.iter().map(String::as_str)),
    );
    let with_dev = reached(
        &candidates,
        &edges,
        roots
            .iter()
            .copied()
            .chain(tpl.names.iter().chain(&tpl.dev_names).map(String::as_str)),
    );
    dynamic_in.retain(|o| o.is_some_and(|n| with_dev.contains(n)));
    if !dynamic_in.is_empty() {
        return out;
    }
    for (name, (start, end)) in &candidates {
        let reach = if live.contains(name) {
            continue;
        } else if with_dev.contains(name) {
            Reach::DevOnly
        } else {
            Reach::Unbound
        };
        out.rare.insert(Rc::from(*name));
        out.regions.push(Region {
            file: module.rel.clone(),
            start: *start,
            end: *end,
            reach,
        });
    }
    out
}

/// The handlers reached from `starts` through `edges`: a walk over at most every handler once.
fn reached<'c, 's>(
    candidates: &FxHashMap<&'c str, (u32, u32)>,
    edges: &FxHashMap<&'c str, Vec<&'c str>>,
    starts: impl Iterator<Item = &'s str>,
) -> FxHashSet<&'c str> {
    let mut seen: FxHashSet<&'c str> = FxHashSet::default();
    let mut queue: Vec<&'c str> = starts
        .filter_map(|n| candidates.get_key_value(n).map(|(k, _)| *k))
        .collect();
    while let Some(n) = queue.pop() {
        if seen.insert(n) {
            queue.extend(edges.get(n).into_iter().flatten().copied());
        }
    }
    seen
}

/// What the templates of a page say.
#[derive(Default)]
struct TemplateNames {
    /// Names bound or mentioned outside development-only elements.
    names: FxHashSet<String>,
    /// Names bound inside development-only elements.
    dev_names: FxHashSet<String>,
    /// A binding the scan cannot follow: every handler counts as bound.
    dynamic: bool,
    /// Elements only development builds show.
    dev_regions: Vec<Region>,
}

/// Read and walk the template of `module` (the `<template>` block of a Vue file, else the
/// template beside the script) and the templates it includes. `None` when there is none.
fn read_templates(set: &ModuleSet<'_>, module: &Module<'_>) -> Option<TemplateNames> {
    let is_vue = module
        .path
        .extension()
        .is_some_and(|e| e == "vue" || e == "nvue");
    let mut out = TemplateNames::default();
    if is_vue {
        let split = super::vue::split(module.source, "template");
        let block = split.blocks.into_iter().next()?;
        // A template in another language (`lang="pug"`) is not markup the parser reads.
        if block.attrs.contains("lang") && !block.attrs.contains("html") {
            return None;
        }
        let masked = super::vue::mask(module.source, &[(block.start, block.end)]);
        let tpl = crate::template::parse(&masked, Dialect::Wxml);
        walk_template(&tpl, None, &module.rel, &mut out);
        return Some(out);
    }
    let (path, dialect) = set.index.template_for(&module.path)?;
    let mut queue = vec![path];
    let mut done: Vec<std::path::PathBuf> = Vec::new();
    while let Some(path) = queue.pop() {
        if done.contains(&path) {
            continue;
        }
        if done.len() >= MAX_INCLUDES {
            out.dynamic = true;
            break;
        }
        let Some(file) = set.index.file(&path) else {
            // An include that does not resolve: its bindings are unknown.
            out.dynamic = true;
            continue;
        };
        let Ok((text, _)) = super::read_source(file) else {
            out.dynamic = true;
            continue;
        };
        let rel: Rc<str> = Rc::from(file.rel.as_str());
        let tpl = crate::template::parse(&text, dialect);
        let mut includes = Vec::new();
        walk_template(&tpl, Some((dialect, &mut includes)), &rel, &mut out);
        for src in includes {
            match resolve_include(set, &path, &src, dialect) {
                Some(p) => queue.push(p),
                None => out.dynamic = true,
            }
        }
        done.push(path);
    }
    Some(out)
}

/// The file an `<include src>` or `<import src>` names: relative to the including template, or
/// to the mini-program root when it starts with `/`; with the dialect's extension if it has
/// none.
fn resolve_include(
    set: &ModuleSet<'_>,
    from: &Path,
    src: &str,
    dialect: Dialect,
) -> Option<std::path::PathBuf> {
    let src = src.trim();
    if src.is_empty() || src.contains("{{") {
        return None;
    }
    let base = match src.strip_prefix('/') {
        Some(rest) => set.index.miniprogram_root_of(from)?.join(rest),
        None => from.parent()?.join(src),
    };
    let base = super::normalize(&base);
    let ext = match dialect {
        Dialect::Wxml => "wxml",
        Dialect::Axml => "axml",
        Dialect::Ttml => "ttml",
        Dialect::Swan => "swan",
        Dialect::Qml => "qml",
    };
    [base.clone(), base.with_extension(ext)]
        .into_iter()
        .find(|p| set.index.file(p).is_some())
}

/// Collect the names one template binds. `native` is the dialect of a mini-program template and
/// where its include paths go; `None` for a Vue template.
fn walk_template(
    tpl: &Template,
    mut native: Option<(Dialect, &mut Vec<String>)>,
    rel: &Rc<str>,
    out: &mut TemplateNames,
) {
    let dialect = native.as_ref().map(|(d, _)| *d);
    // Per depth: whether the element is development-only, and whether the last element at
    // that depth tested for a release build (its `wx:else` is development-only).
    let mut dev_stack: Vec<bool> = Vec::new();
    let mut release_if: Vec<bool> = Vec::new();
    let mut events: Vec<(bool, String, bool)> = Vec::new();
    tpl.walk(&mut |el, ancestors| {
        let depth = ancestors.len();
        dev_stack.truncate(depth);
        release_if.truncate(depth + 1);
        release_if.resize(depth + 1, false);
        let inherited = dev_stack.last().copied().unwrap_or(false);
        let test = condition(el, dialect, "if").map(|code| dev_test_code(&code));
        let is_else = condition_attr(el, dialect, "else").is_some();
        let own = match test {
            Some(Some(true)) => true,
            _ => is_else && release_if.get(depth).copied().unwrap_or(false),
        };
        if test.is_some() || !is_else {
            release_if[depth] = test == Some(Some(false));
        }
        let dev = inherited || own;
        dev_stack.push(dev);
        if own && !inherited {
            out.dev_regions.push(Region {
                file: rel.clone(),
                start: el.span.start,
                end: el.span.end,
                reach: Reach::DevOnly,
            });
        }
        if let Some((_, includes)) = native.as_mut()
            && (el.name.eq_ignore_ascii_case("include") || el.name.eq_ignore_ascii_case("import"))
            && let Some(src) = el.attr("src")
        {
            includes.push(src.raw_value().to_owned());
        }
        for attr in &el.attrs {
            let Some(value) = &attr.value else { continue };
            let name = attr.name.as_str();
            if dialect.is_some() {
                if !is_event_attribute(name) {
                    continue;
                }
                if value.parts.iter().any(|p| matches!(p, Part::Expr { .. })) {
                    out.dynamic = true;
                } else {
                    events.push((dev, value.raw.trim().to_owned(), false));
                }
            } else if name.starts_with(['@', ':', '#']) || name.starts_with("v-") {
                // Vue: the value is code; every name in it may be a method.
                events.push((dev, value.raw.clone(), true));
            }
        }
        if dialect.is_none() {
            for child in &el.children {
                if let Node::Text(t) = child {
                    for part in &t.parts {
                        if let Part::Expr { code, .. } = part {
                            events.push((dev, code.clone(), true));
                        }
                    }
                }
            }
        }
    });
    for (dev, text, code) in events {
        let set = if dev {
            &mut out.dev_names
        } else {
            &mut out.names
        };
        if code {
            set.extend(identifiers(&text).map(str::to_owned));
        } else if !text.is_empty() {
            set.insert(text);
        }
    }
}

/// `bindtap`, `bind:tap`, `catchtap`, `catch:tap`, `capture-bind:tap`, `capture-catch:tap`,
/// `mut-bind:tap`, and the Alipay and Douyin `onTap` form.
fn is_event_attribute(name: &str) -> bool {
    name.starts_with("bind")
        || name.starts_with("catch")
        || name.starts_with("capture-")
        || name.starts_with("mut-bind")
        || name
            .strip_prefix("on")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// The `if` or `else` directive of an element in a mini-program dialect, or `v-if`/`v-else` in
/// Vue (`dialect` `None`).
fn condition_attr<'e>(
    el: &'e Element,
    dialect: Option<Dialect>,
    name: &str,
) -> Option<&'e crate::template::Attribute> {
    match dialect {
        Some(d) => el.directive(d, name),
        None => el.attr(&format!("v-{name}")),
    }
}

/// The code of an element's `if` condition.
fn condition(el: &Element, dialect: Option<Dialect>, name: &str) -> Option<String> {
    let value = condition_attr(el, dialect, name)?.value.as_ref()?;
    match dialect {
        Some(_) => value.exprs().next().map(|(code, _)| code.to_owned()),
        None => Some(value.raw.clone()),
    }
}

/// The identifiers of a piece of code (and the words of its strings: a handler named in a
/// string counts as named).
fn identifiers(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| w.starts_with(|c: char| !c.is_ascii_digit()) && !w.is_empty())
}

/// [`dev_test`] of a template condition (parsed on its own).
fn dev_test_code(code: &str) -> Option<bool> {
    let alloc = oxc_allocator::Allocator::default();
    let expr = oxc_parser::Parser::new(&alloc, code, oxc_span::SourceType::mjs())
        .parse_expression()
        .ok()?;
    dev_test(&expr)
}

/// How deep a build test is read (`a && (b || !c)` is 3): a longer condition says nothing, so
/// that a chain of thousands of `&&`, which the visitor meets at every link, costs a bounded
/// amount at each.
const MAX_TEST_DEPTH: u32 = 6;

/// Whether a condition holds only in development builds (`Some(true)`), only in release
/// builds (`Some(false)`), or either (`None`).
pub fn dev_test(e: &Expression<'_>) -> Option<bool> {
    dev_test_within(e, MAX_TEST_DEPTH)
}

fn dev_test_within(e: &Expression<'_>, depth: u32) -> Option<bool> {
    let depth = depth.checked_sub(1)?;
    match e.without_parentheses() {
        Expression::BinaryExpression(b) => {
            let equal = match b.operator {
                BinaryOperator::Equality | BinaryOperator::StrictEquality => true,
                BinaryOperator::Inequality | BinaryOperator::StrictInequality => false,
                _ => return None,
            };
            let (subject, text) = match (&b.left, &b.right) {
                (x, Expression::StringLiteral(s)) | (Expression::StringLiteral(s), x) => {
                    (x, s.value.as_str())
                }
                _ => return None,
            };
            if !is_environment(subject) {
                return None;
            }
            let dev = match text.to_ascii_lowercase().as_str() {
                "develop" | "development" | "dev" | "trial" | "test" => true,
                "release" | "production" | "prod" => false,
                _ => return None,
            };
            // `env !== 'develop'` still holds in trial builds: says nothing.
            match (equal, dev) {
                (true, d) => Some(d),
                (false, false) => Some(true),
                (false, true) => None,
            }
        }
        Expression::LogicalExpression(l) => {
            let (a, b) = (
                dev_test_within(&l.left, depth),
                dev_test_within(&l.right, depth),
            );
            match l.operator {
                LogicalOperator::And => {
                    if a == Some(true) || b == Some(true) {
                        Some(true)
                    } else if a == Some(false) || b == Some(false) {
                        Some(false)
                    } else {
                        None
                    }
                }
                LogicalOperator::Or => (a == b).then_some(a).flatten(),
                LogicalOperator::Coalesce => None,
            }
        }
        Expression::UnaryExpression(u) if u.operator == UnaryOperator::LogicalNot => {
            dev_test_within(&u.argument, depth).map(|d| !d)
        }
        Expression::Identifier(i) if i.name == "__DEV__" => Some(true),
        _ => None,
    }
}

/// Whether an expression reads the build's environment: its last name is `envVersion`,
/// `NODE_ENV`, `env` or the like.
fn is_environment(e: &Expression<'_>) -> bool {
    let name = match e.without_parentheses() {
        Expression::Identifier(i) => i.name.as_str(),
        Expression::StaticMemberExpression(m) => m.property.name.as_str(),
        Expression::ComputedMemberExpression(m) => match &m.expression {
            Expression::StringLiteral(s) => s.value.as_str(),
            _ => return false,
        },
        _ => return false,
    };
    let lower = name.to_ascii_lowercase();
    lower.contains("env") && !lower.ends_with("id")
}

/// Texts that a development-build test compares with; a module without any is not visited.
const BUILD_WORDS: &[&str] = &[
    "develop",
    "trial",
    "production",
    "release",
    "__DEV__",
    "'dev'",
    "\"dev\"",
    "'prod'",
    "\"prod\"",
    "'test'",
    "\"test\"",
];

/// The script code of `module` that only development builds run: the branch of an `if`, a
/// `?:` or a `&&` / `||` that a build-environment test guards.
pub fn dev_regions(module: &Module<'_>) -> Vec<Region> {
    if !BUILD_WORDS.iter().any(|w| module.source.contains(w)) {
        return Vec::new();
    }
    let mut v = DevCode { spans: Vec::new() };
    v.visit_program(module.program);
    v.spans
        .into_iter()
        .map(|(start, end)| Region {
            file: module.rel.clone(),
            start,
            end,
            reach: Reach::DevOnly,
        })
        .collect()
}

struct DevCode {
    spans: Vec<(u32, u32)>,
}

impl<'a> Visit<'a> for DevCode {
    fn visit_if_statement(&mut self, it: &IfStatement<'a>) {
        match dev_test(&it.test) {
            Some(true) => {
                let s = it.consequent.span();
                self.spans.push((s.start, s.end));
            }
            Some(false) => {
                if let Some(alt) = &it.alternate {
                    let s = alt.span();
                    self.spans.push((s.start, s.end));
                }
            }
            None => {}
        }
        walk::walk_if_statement(self, it);
    }

    fn visit_conditional_expression(&mut self, it: &ConditionalExpression<'a>) {
        let branch = match dev_test(&it.test) {
            Some(true) => Some(it.consequent.span()),
            Some(false) => Some(it.alternate.span()),
            None => None,
        };
        if let Some(s) = branch {
            self.spans.push((s.start, s.end));
        }
        walk::walk_conditional_expression(self, it);
    }

    fn visit_logical_expression(&mut self, it: &LogicalExpression<'a>) {
        let guarded = matches!(
            (it.operator, dev_test(&it.left)),
            (LogicalOperator::And, Some(true)) | (LogicalOperator::Or, Some(false))
        );
        if guarded {
            let s = it.right.span();
            self.spans.push((s.start, s.end));
        }
        walk::walk_logical_expression(self, it);
    }
}

/// Where a module names the handlers: `this.load`, `that['load']`, `'load'`, `{ load } = this`.
struct Refs<'n> {
    names: &'n FxHashMap<&'n str, (u32, u32)>,
    /// (offset, name).
    found: Vec<(u32, &'n str)>,
    /// Offsets of `this[expr]` with a computed name.
    dynamic: Vec<u32>,
}

impl Refs<'_> {
    fn note(&mut self, offset: u32, name: &str) {
        if let Some((n, _)) = self.names.get_key_value(name) {
            self.found.push((offset, n));
        }
    }
}

impl<'a> Visit<'a> for Refs<'_> {
    fn visit_static_member_expression(&mut self, it: &StaticMemberExpression<'a>) {
        self.note(it.span.start, &it.property.name);
        walk::walk_static_member_expression(self, it);
    }

    fn visit_computed_member_expression(&mut self, it: &ComputedMemberExpression<'a>) {
        if matches!(it.expression, Expression::StringLiteral(_)) {
            // Noted by `visit_string_literal`.
        } else if matches!(
            it.object.without_parentheses(),
            Expression::ThisExpression(_)
        ) {
            self.dynamic.push(it.span.start);
        }
        walk::walk_computed_member_expression(self, it);
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        // The key of `load: function () {}` defines the handler rather than naming it.
        if it.computed {
            self.visit_property_key(&it.key);
        }
        self.visit_expression(&it.value);
    }

    fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
        self.note(it.span.start, &it.value);
    }

    fn visit_binding_property(&mut self, it: &BindingProperty<'a>) {
        if let Some(name) = it.key.static_name() {
            self.note(it.span.start, &name);
        }
        walk::walk_binding_property(self, it);
    }
}

/// Regions a lookup walks back over at most (regions nest a few levels: a handler, a
/// development-only branch in it).
const MAX_LOOKBACK: usize = 64;

/// Mark the findings whose place, source or sink lies in a region (see [`RawFinding::reach`]).
pub fn mark(findings: &mut [RawFinding], regions: &[Region]) {
    if regions.is_empty() {
        return;
    }
    let mut by_file: FxHashMap<&str, Vec<&Region>> = FxHashMap::default();
    for r in regions {
        by_file.entry(&r.file).or_default().push(r);
    }
    for list in by_file.values_mut() {
        list.sort_unstable_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    }
    // The regions that start at or before the place, nearest first, up to [`MAX_LOOKBACK`]:
    // a lookup costs a binary search and a bounded walk however many regions a file has.
    let find = |file: &str, start: u32, end: u32| -> Option<Reach> {
        let list = by_file.get(file)?;
        let i = list.partition_point(|r| r.start <= start);
        list[..i]
            .iter()
            .rev()
            .take(MAX_LOOKBACK)
            .find(|r| end <= r.end)
            .map(|r| r.reach)
    };
    for f in findings {
        f.reach = find(&f.file, f.span.start, f.span.end).or_else(|| {
            f.trace
                .iter()
                .find_map(|(o, _)| find(&o.file, o.start, o.end))
        });
    }
}
