//! The ownership analysis of server-side handlers: for each cloud function and each route or
//! controller method, which records it reads, changes or deletes, by which key, and whether the
//! caller's verified identity (or role) guards the operation.
//!
//! A handler is a cloud function (its whole module; the first parameter of `main` is the
//! client's `event`) or, in Node backends, a function that takes a request (`req`, `ctx`) or a
//! controller's method. Within it, a small provenance analysis follows local variables in
//! source order: what is the client's input (`event.id`, `req.body`, `ctx.query`,
//! `this.post('id')`), what is the caller's verified identity (`cloud.getWXContext().OPENID`,
//! `ctx.state.user`, `this.getLoginUserId()`, `think.userId`). Record accesses are the call
//! chains of the database APIs (`db.collection(c).doc(id).update()`, `.where({...}).remove()`,
//! `Model.findByPk(id)`, `this.model('cart').where({id}).update()`), summarised as a
//! collection, a selector (client key? tied to the caller?) and the data written.
//!
//! Every API, field and word this reads is in [`super::authz_spec`]. The rules of the auth
//! category (ownership, client-trusted money, missing role checks) are policies over the
//! [`Handler`]s this produces.

use std::rc::Rc;

use bitflags::bitflags;
use miniguard_project::Role;
use oxc_ast::ast::{
    Argument, ArrowFunctionExpression, AssignmentExpression, AssignmentTarget, BinaryExpression,
    BindingPattern, CallExpression, Class, ConditionalExpression, Expression, FormalParameters,
    Function, IfStatement, MemberExpression, MethodDefinition, ObjectExpression, ObjectProperty,
    ObjectPropertyKind, PropertyKey, Statement, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_syntax::scope::ScopeFlags;
use rustc_hash::FxHashMap;

use super::Module;
use super::authz_spec as spec;
use crate::events::Span;

bitflags! {
    /// What a value is, for the ownership analysis.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Src: u8 {
        /// Chosen by the client.
        const CLIENT = 1 << 0;
        /// The caller's verified identity.
        const IDENTITY = 1 << 1;
        /// A cloud function's `event` object itself.
        const EVENT = 1 << 2;
        /// The platform context (`cloud.getWXContext()`).
        const PLATFORM = 1 << 3;
        /// `event.userInfo`, filled in by the platform.
        const USERINFO = 1 << 4;
        /// A request object (`req`, `ctx`, `this.ctx`).
        const REQUEST = 1 << 5;
        /// A controller's `this`.
        const CONTROLLER = 1 << 6;
    }
}

/// Where a handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    CloudFunction,
    Route,
}

/// A place in the handler's file, with the code there.
#[derive(Clone, Debug)]
pub struct Site {
    pub span: Span,
    pub what: String,
}

/// One record access.
#[derive(Clone, Debug)]
pub struct Access {
    pub op: spec::Op,
    /// The collection, table or model, when written as a literal or a model name.
    pub collection: Option<String>,
    /// The terminal call (`update(...)`), and the method name.
    pub span: Span,
    pub method: String,
    /// The client-chosen part of the selector (`event.orderid`), if any.
    pub client_key: Option<String>,
    /// The selector holds the caller's identity (`_openid: OPENID`) and nothing the client
    /// chose in its place.
    pub owned: bool,
    /// Fields of the data written, and those of them whose value the client chose.
    pub data_keys: Vec<String>,
    pub client_data_keys: Vec<String>,
    /// The whole data object is the client's (`update({data: event.item})`, `{...body}`).
    pub whole_client_data: bool,
}

impl Access {
    pub fn writes_client_data(&self) -> bool {
        self.whole_client_data || !self.client_data_keys.is_empty()
    }

    /// An update that sets a password on records the client selects.
    pub fn changes_password_by_client_key(&self) -> bool {
        self.op == spec::Op::Update
            && self.client_key.is_some()
            && self
                .data_keys
                .iter()
                .any(|k| spec::has_word(k, spec::PASSWORD_WORDS))
    }
}

/// A balance, credit or stock changed by a client-chosen delta.
#[derive(Clone, Debug)]
pub struct Increment {
    pub span: Span,
    pub field: Option<String>,
    pub delta: String,
}

/// What the analysis learned about one handler.
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // Reason: independent facts, each read by some rule.
pub struct Handler {
    pub kind: HandlerKind,
    /// The cloud function's folder name, or the route path / method name.
    pub name: String,
    pub span: Span,
    /// The handler sits under an admin/back-office folder.
    pub admin_path: bool,
    pub accesses: Vec<Access>,
    /// The identity is compared with something that is not a constant (a loaded record's
    /// owner), or passed to a check function.
    pub owner_checked: bool,
    /// The caller's role is checked: an allow-list, a role field, an admin table looked up by
    /// the identity, a role middleware on the route.
    pub role_checked: bool,
    /// Collections some selector of this handler ties to the caller: a record of them loaded
    /// with the owner condition before another access by id.
    pub owned_collections: Vec<Option<String>>,
    /// Client keys that a selector tying records to the caller also used: the handler looked
    /// the id up among the caller's records (`where({ id: orderId, user_id })`) before using
    /// it elsewhere.
    pub owned_keys: Vec<String>,
    /// A role or privilege flag of the client's input used as a condition (`event.isAdmin`).
    pub client_flags: Vec<Site>,
    /// A payment created for an amount the client chose.
    pub client_amounts: Vec<Site>,
    /// Value fields changed by a client-chosen delta.
    pub increments: Vec<Increment>,
    /// Refund calls.
    pub refunds: Vec<Site>,
    /// Payment-notification fields read from the event.
    pub notify_fields: Vec<String>,
    /// A verification of a payment notification (signature, order query) is called.
    pub verified: bool,
    /// The route has middleware before it (authentication at least).
    pub has_middleware: bool,
}

impl Handler {
    fn new(kind: HandlerKind, name: String, span: Span, admin_path: bool) -> Self {
        Handler {
            kind,
            name,
            span,
            admin_path,
            accesses: Vec::new(),
            owner_checked: false,
            role_checked: false,
            owned_collections: Vec::new(),
            owned_keys: Vec::new(),
            client_flags: Vec::new(),
            client_amounts: Vec::new(),
            increments: Vec::new(),
            refunds: Vec::new(),
            notify_fields: Vec::new(),
            verified: false,
            has_middleware: false,
        }
    }

    /// Some check on the caller guards the handler.
    pub fn guarded(&self) -> bool {
        self.owner_checked || self.role_checked
    }

    /// A cloud function that handles a payment notification: named like one, or reading
    /// several notification fields from its event.
    pub fn is_payment_notification(&self) -> bool {
        self.kind == HandlerKind::CloudFunction
            && (spec::has_word(&self.name, spec::NOTIFY_NAME_WORDS)
                || self.notify_fields.len() >= 2)
    }

    /// Whether an access's collection was tied to the caller elsewhere in the handler.
    pub fn collection_owned(&self, a: &Access) -> bool {
        self.owned_collections.contains(&a.collection)
            || a.client_key
                .as_ref()
                .is_some_and(|k| self.owned_keys.contains(k))
    }
}

/// Analyse a server-side module.
pub fn analyse(module: &Module<'_>) -> Vec<Handler> {
    // Code of the client or of an unknown role gives nothing unless it has the shape of a
    // cloud function (see below): mini-program pages never export `main(event, context)`,
    // while the cloud functions of platforms the discovery does not recognise do.
    let main = main_param(module.program);
    if matches!(module.role, Role::Client | Role::Unknown) && main.is_none() {
        return Vec::new();
    }
    let rel: &str = &module.rel;
    let admin_path = rel
        .split('/')
        .rev()
        .skip(1)
        .take(2)
        .any(|seg| spec::has_word(seg, spec::ADMIN_PATH_WORDS));
    let mut a = Analyser {
        source: module.source,
        role: module.role,
        admin_path,
        scopes: vec![FxHashMap::default()],
        hints: FxHashMap::default(),
        handlers: Vec::new(),
        current: None,
        depth: 0,
        event_param: None,
        pending_method: false,
        controller_class: Vec::new(),
        routes: FxHashMap::default(),
        keys: Vec::new(),
        pending_fn_name: None,
        learning: true,
    };
    // A module with the shape of a cloud function (`exports.main = async (event, context) =>`)
    // is analysed as one, whatever its discovered role.
    if module.role == Role::CloudFunction || main.is_some() {
        a.role = Role::CloudFunction;
        a.event_param = main;
        let name = rel.rsplit('/').nth(1).unwrap_or(rel).to_owned();
        let span = Span {
            start: 0,
            end: u32::try_from(module.source.len()).unwrap_or(u32::MAX),
        };
        // Two passes: the first learns which helper functions receive client input.
        a.visit_program(module.program);
        a.learning = false;
        a.scopes = vec![FxHashMap::default()];
        a.current = Some(Handler::new(
            HandlerKind::CloudFunction,
            name,
            span,
            admin_path,
        ));
        a.visit_program(module.program);
        if let Some(h) = a.current.take() {
            a.handlers.push(h);
        }
    } else {
        a.learning = false;
        a.visit_program(module.program);
    }
    a.handlers
}

/// The first parameter's name of a cloud function's `main` (`exports.main = async (event) =>`).
fn main_param(program: &oxc_ast::ast::Program<'_>) -> Option<String> {
    for s in &program.body {
        let params = match s {
            Statement::ExpressionStatement(e) => {
                let Expression::AssignmentExpression(asg) = e.expression.get_inner_expression()
                else {
                    continue;
                };
                let target = asg.left.as_member_expression();
                let is_main = target.is_some_and(|m| m.static_property_name() == Some("main"));
                if !is_main {
                    continue;
                }
                fn_params(&asg.right)
            }
            Statement::ExportDeclaration(d) => match &d.declaration {
                oxc_ast::ast::Declaration::FunctionDeclaration(f)
                    if f.id.as_ref().is_some_and(|i| i.name == "main") =>
                {
                    Some(&*f.params)
                }
                oxc_ast::ast::Declaration::VariableDeclaration(v) => v
                    .declarations
                    .iter()
                    .find(|d| d.id.get_identifier_name().is_some_and(|n| n == "main"))
                    .and_then(|d| d.init.as_ref())
                    .and_then(fn_params),
                _ => None,
            },
            _ => None,
        };
        if let Some(p) = params
            && let Some(first) = p.items.first()
            && let Some(name) = first.pattern.get_identifier_name()
        {
            return Some(name.to_string());
        }
    }
    None
}

fn fn_params<'x, 'a>(e: &'x Expression<'a>) -> Option<&'x FormalParameters<'a>> {
    match e.get_inner_expression() {
        Expression::FunctionExpression(f) => Some(&f.params),
        Expression::ArrowFunctionExpression(f) => Some(&f.params),
        _ => None,
    }
}

/// What the analysis knows of a variable.
#[derive(Clone, Debug, Default)]
struct Var {
    src: Src,
    chain: Option<Rc<Chain>>,
}

/// A database chain built so far (`db.collection('orders').where({...})`).
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // Reason: independent facts of one chain.
struct Chain {
    /// A database or model object is at its root.
    db: bool,
    /// A model class or model container root (`Order`, `ctx.model.Order`).
    model: bool,
    /// egg-mysql style: the table is the call's first argument.
    table_first: bool,
    /// `db.command` of cloud databases.
    command: bool,
    collection: Option<String>,
    sel: Sel,
}

#[derive(Clone, Debug, Default)]
struct Sel {
    client: Option<String>,
    owned: bool,
    any: bool,
}

impl Sel {
    fn join(&mut self, o: &Sel) {
        if self.client.is_none() {
            self.client.clone_from(&o.client);
        }
        self.owned |= o.owned;
        self.any |= o.any;
    }
}

#[derive(Default)]
struct Data {
    keys: Vec<String>,
    client_keys: Vec<String>,
    whole_client: bool,
}

struct Analyser<'s> {
    source: &'s str,
    role: Role,
    admin_path: bool,
    scopes: Vec<FxHashMap<String, Var>>,
    /// Parameter provenance of local helper functions, learnt from their calls.
    hints: FxHashMap<String, Vec<Src>>,
    handlers: Vec<Handler>,
    current: Option<Handler>,
    /// Function depth of the current handler's function (server handlers).
    depth: u32,
    event_param: Option<String>,
    pending_method: bool,
    /// Per enclosing class: whether it is a controller.
    controller_class: Vec<bool>,
    /// Route handler functions by span start: (route path, role middleware, any middleware).
    routes: FxHashMap<u32, (String, bool, bool)>,
    /// Property keys being built (`credit: _.inc(x)`, `param.goldNum = _.inc(x)`).
    keys: Vec<Option<String>>,
    pending_fn_name: Option<String>,
    learning: bool,
}

/// Bytes of code read for a description (see [`Analyser::text`]).
const MAX_TEXT_BYTES: usize = 240;

const NOT_MODELS: &[&str] = &[
    "Object", "Array", "Promise", "Math", "JSON", "Date", "Map", "Set", "Number", "String",
    "Reflect", "Buffer", "Error", "RegExp", "Boolean", "Symbol", "Intl", "URL",
];

fn ident_name<'x>(e: &'x Expression<'_>) -> Option<&'x str> {
    match e.get_inner_expression() {
        Expression::Identifier(id) => Some(id.name.as_str()),
        _ => None,
    }
}

fn strip<'x, 'a>(e: &'x Expression<'a>) -> &'x Expression<'a> {
    let mut e = e.get_inner_expression();
    loop {
        match e {
            Expression::AwaitExpression(a) => e = a.argument.get_inner_expression(),
            Expression::ChainExpression(c) => {
                if let Some(m) = c.expression.as_member_expression() {
                    // Re-dispatch on the member inside the optional chain below.
                    let _ = m;
                }
                return e;
            }
            _ => return e,
        }
    }
}

fn is_literal(e: &Expression<'_>) -> bool {
    matches!(
        e.get_inner_expression(),
        Expression::StringLiteral(_)
            | Expression::NumericLiteral(_)
            | Expression::BooleanLiteral(_)
            | Expression::NullLiteral(_)
            | Expression::ArrayExpression(_)
    ) || matches!(e.get_inner_expression(), Expression::TemplateLiteral(t) if t.expressions.is_empty())
        || ident_name(e).is_some_and(|n| {
            n == "undefined"
                || (n.len() > 1
                    && n.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
        })
}

fn key_name(k: &PropertyKey<'_>) -> Option<String> {
    k.static_name().map(std::borrow::Cow::into_owned)
}

impl Analyser<'_> {
    /// The code at `span`, whitespace folded, cut to 60 characters. Only a bounded prefix is
    /// read: a call's callee can be a chain of thousands of links.
    fn text(&self, span: oxc_span::Span) -> String {
        let start = span.start as usize;
        let mut end = (span.end as usize).min(start.saturating_add(MAX_TEXT_BYTES));
        while end > start && !self.source.is_char_boundary(end) {
            end -= 1;
        }
        let t = self.source.get(start..end).unwrap_or("");
        let cut = end < span.end as usize;
        let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if cut || t.chars().count() > 60 {
            let mut s: String = t.chars().take(57).collect();
            s.push_str("...");
            s
        } else {
            t
        }
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&mut self, name: &str, v: Var) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_owned(), v);
        }
    }

    /// `x = v`: join into the scope that declares `x` (or the innermost).
    fn assign(&mut self, name: &str, v: &Var) {
        for s in self.scopes.iter_mut().rev() {
            if let Some(old) = s.get_mut(name) {
                old.src |= v.src;
                if old.chain.is_none() {
                    old.chain.clone_from(&v.chain);
                }
                return;
            }
        }
        self.bind(name, v.clone());
    }

    fn in_controller(&self) -> bool {
        self.controller_class.last().copied().unwrap_or(false)
    }

    // ----- provenance -----------------------------------------------------------------

    fn class(&self, e: &Expression<'_>) -> Src {
        self.class_depth(e, 0)
    }

    fn class_depth(&self, expr: &Expression<'_>, depth: u32) -> Src {
        if depth > 24 {
            return Src::empty();
        }
        let d = depth + 1;
        match strip(expr) {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                if let Some(v) = self.lookup(name) {
                    return v.src;
                }
                if self.event_param.as_deref() == Some(name) {
                    return Src::EVENT | Src::CLIENT;
                }
                if self.role == Role::Server && spec::REQUEST_ROOTS.contains(&name) {
                    return Src::REQUEST;
                }
                Src::empty()
            }
            Expression::ThisExpression(_) => {
                if self.role == Role::Server {
                    Src::CONTROLLER
                } else {
                    Src::empty()
                }
            }
            Expression::ChainExpression(c) => match c.expression.as_member_expression() {
                Some(m) => Self::member(self.class_depth(m.object(), d), m.static_property_name()),
                None => Src::empty(),
            },
            e if e.as_member_expression().is_some() => {
                let Some(m) = e.as_member_expression() else {
                    return Src::empty();
                };
                if let (Some(obj), Some(prop)) = (ident_name(m.object()), m.static_property_name())
                    && spec::IDENTITY_GLOBALS.contains(&(obj, prop))
                    && self.lookup(obj).is_none()
                {
                    return Src::IDENTITY;
                }
                Self::member(self.class_depth(m.object(), d), m.static_property_name())
            }
            Expression::CallExpression(c) => self.call_class(c, d),
            Expression::LogicalExpression(l) => {
                self.class_depth(&l.left, d) | self.class_depth(&l.right, d)
            }
            Expression::ConditionalExpression(c) => {
                self.class_depth(&c.consequent, d) | self.class_depth(&c.alternate, d)
            }
            Expression::BinaryExpression(b)
                if !b.operator.is_equality() && !b.operator.is_compare() =>
            {
                (self.class_depth(&b.left, d) | self.class_depth(&b.right, d))
                    & (Src::CLIENT | Src::IDENTITY)
            }
            Expression::UnaryExpression(u)
                if matches!(
                    u.operator,
                    oxc_syntax::operator::UnaryOperator::UnaryNegation
                        | oxc_syntax::operator::UnaryOperator::UnaryPlus
                ) =>
            {
                self.class_depth(&u.argument, d) & (Src::CLIENT | Src::IDENTITY)
            }
            Expression::TemplateLiteral(t) => t.expressions.iter().fold(Src::empty(), |acc, x| {
                acc | (self.class_depth(x, d) & (Src::CLIENT | Src::IDENTITY))
            }),
            Expression::ObjectExpression(o) => {
                let mut s = Src::empty();
                for p in &o.properties {
                    match p {
                        ObjectPropertyKind::ObjectProperty(p) => {
                            s |= self.class_depth(&p.value, d) & (Src::CLIENT | Src::IDENTITY);
                        }
                        ObjectPropertyKind::SpreadProperty(sp) => {
                            s |= self.class_depth(&sp.argument, d) & (Src::CLIENT | Src::IDENTITY);
                        }
                    }
                }
                s
            }
            _ => Src::empty(),
        }
    }

    /// A property of a value of class `base`.
    fn member(base: Src, prop: Option<&str>) -> Src {
        let prop = prop.unwrap_or("");
        if base.contains(Src::PLATFORM) {
            return if spec::PLATFORM_IDENTITY_MEMBERS.contains(&prop) {
                Src::IDENTITY
            } else {
                Src::empty()
            };
        }
        if base.contains(Src::USERINFO) {
            return if prop.eq_ignore_ascii_case("openid") {
                Src::IDENTITY
            } else {
                Src::empty()
            };
        }
        if base.contains(Src::EVENT) {
            return if prop == spec::EVENT_PLATFORM_MEMBER {
                Src::USERINFO
            } else {
                Src::CLIENT
            };
        }
        if base.intersects(Src::REQUEST | Src::CONTROLLER) {
            return match spec::REQUEST_MEMBERS.iter().find(|(n, _)| *n == prop) {
                Some((_, spec::RequestMember::Client)) if base.contains(Src::REQUEST) => {
                    Src::CLIENT
                }
                Some((_, spec::RequestMember::Request)) => Src::REQUEST,
                Some((_, spec::RequestMember::Identity)) => Src::IDENTITY,
                _ => Src::empty(),
            };
        }
        if base.contains(Src::CLIENT) {
            return Src::CLIENT;
        }
        if base.contains(Src::IDENTITY) {
            return Src::IDENTITY;
        }
        Src::empty()
    }

    fn call_class(&self, c: &CallExpression<'_>, d: u32) -> Src {
        let arg0 = c.arguments.first().and_then(Argument::as_expression);
        let callee = c.callee.get_inner_expression();
        if let Some(name) = ident_name(callee) {
            if spec::PASS_THROUGH_FUNCTIONS.contains(&name) {
                return arg0.map_or(Src::empty(), |a| {
                    self.class_depth(a, d) & (Src::CLIENT | Src::IDENTITY)
                });
            }
            return Src::empty();
        }
        let Some(m) = callee.as_member_expression() else {
            return Src::empty();
        };
        let method = m.static_property_name().unwrap_or("");
        if spec::PLATFORM_CONTEXT_CALLS.contains(&method) {
            return Src::PLATFORM;
        }
        if spec::IDENTITY_METHODS.contains(&method) {
            return Src::IDENTITY;
        }
        let recv = self.class_depth(m.object(), d);
        if spec::CLIENT_INPUT_METHODS.contains(&method)
            && ((recv.contains(Src::CONTROLLER) && self.in_controller())
                || (recv.contains(Src::REQUEST) && method == "param"))
        {
            return Src::CLIENT;
        }
        if spec::PASS_THROUGH_METHODS.contains(&method) {
            let from_arg = if method == "parse" || method == "ObjectId" {
                arg0.map_or(Src::empty(), |a| self.class_depth(a, d))
            } else {
                Src::empty()
            };
            return (recv | from_arg) & (Src::CLIENT | Src::IDENTITY);
        }
        // Query operators of cloud databases (`_.eq(x)`, `_.in(ids)`) keep their operand.
        if self.chain_of(m.object(), 0).is_some_and(|ch| ch.command) {
            return c
                .arguments
                .iter()
                .filter_map(Argument::as_expression)
                .fold(Src::empty(), |acc, a| {
                    acc | (self.class_depth(a, d) & (Src::CLIENT | Src::IDENTITY))
                });
        }
        Src::empty()
    }

    // ----- database chains --------------------------------------------------------------

    fn chain_of(&self, expr: &Expression<'_>, depth: u32) -> Option<Chain> {
        if depth > 16 {
            return None;
        }
        let d = depth + 1;
        match strip(expr) {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                // A variable with a known chain; a capitalised name bound to something else
                // (`const { Order } = require('../models')`) is a model class.
                if let Some(v) = self.lookup(name)
                    && (v.chain.is_some() || !name.starts_with(|c: char| c.is_ascii_uppercase()))
                {
                    return v.chain.as_deref().cloned();
                }
                if name.starts_with(|c: char| c.is_ascii_uppercase()) && !NOT_MODELS.contains(&name)
                {
                    return Some(Chain {
                        model: true,
                        collection: Some(name.to_owned()),
                        ..Chain::default()
                    });
                }
                None
            }
            Expression::CallExpression(c) => {
                let callee = c.callee.get_inner_expression();
                let arg0 = c.arguments.first().and_then(Argument::as_expression);
                let lit = arg0.and_then(|a| match a.get_inner_expression() {
                    Expression::StringLiteral(s) => Some(s.value.to_string()),
                    _ => None,
                });
                if let Some(name) = ident_name(callee) {
                    // knex('orders'), db('orders')
                    if (name == "db" || name.contains("knex")) && lit.is_some() {
                        return Some(Chain {
                            db: true,
                            collection: lit,
                            ..Chain::default()
                        });
                    }
                    return None;
                }
                let m = callee.as_member_expression()?;
                let method = m.static_property_name()?;
                if method == "database" {
                    return Some(Chain {
                        db: true,
                        ..Chain::default()
                    });
                }
                let base = self.chain_of(m.object(), d);
                if spec::COLLECTION_LINKS.contains(&method) {
                    let db = base.as_ref().is_some_and(|b| b.db)
                        || method == "collection"
                        || (method == "model" && lit.is_some());
                    if !db {
                        return None;
                    }
                    return Some(Chain {
                        db: true,
                        collection: lit.or_else(|| arg0.map(|a| self.text(a.span()))),
                        ..Chain::default()
                    });
                }
                let mut base = base?;
                if !(base.db || base.model) {
                    return None;
                }
                if spec::SELECTOR_LINKS.contains(&method) {
                    for a in c.arguments.iter().filter_map(Argument::as_expression) {
                        let s = self.selector(a, 0);
                        base.sel.join(&s);
                    }
                }
                Some(base)
            }
            e => {
                let m = e.as_member_expression()?;
                let prop = m.static_property_name()?;
                if prop == "command" {
                    let base = self.chain_of(m.object(), d);
                    if base.is_some_and(|b| b.db) {
                        return Some(Chain {
                            command: true,
                            ..Chain::default()
                        });
                    }
                    return None;
                }
                if prop == "mysql" {
                    return Some(Chain {
                        db: true,
                        table_first: true,
                        ..Chain::default()
                    });
                }
                let obj = m.object();
                let obj_prop = obj
                    .get_inner_expression()
                    .as_member_expression()
                    .and_then(MemberExpression::static_property_name)
                    .or_else(|| ident_name(obj));
                if obj_prop.is_some_and(|p| spec::MODEL_CONTAINERS.contains(&p)) {
                    return Some(Chain {
                        model: true,
                        collection: Some(prop.to_owned()),
                        ..Chain::default()
                    });
                }
                None
            }
        }
    }

    /// The selector a query argument makes.
    fn selector(&self, e: &Expression<'_>, depth: u32) -> Sel {
        let mut s = Sel {
            any: true,
            ..Sel::default()
        };
        if depth > 6 {
            return s;
        }
        match e.get_inner_expression() {
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    match p {
                        ObjectPropertyKind::ObjectProperty(p) => {
                            if matches!(
                                p.value.get_inner_expression(),
                                Expression::ObjectExpression(_) | Expression::ArrayExpression(_)
                            ) {
                                let inner = self.selector(&p.value, depth + 1);
                                s.join(&inner);
                                continue;
                            }
                            self.selector_value(&p.value, &mut s);
                        }
                        ObjectPropertyKind::SpreadProperty(sp) => {
                            self.selector_value(&sp.argument, &mut s);
                        }
                    }
                }
            }
            Expression::ArrayExpression(a) => {
                for el in &a.elements {
                    if let Some(x) = el.as_expression() {
                        let inner = self.selector(x, depth + 1);
                        s.join(&inner);
                    }
                }
            }
            other => self.selector_value(other, &mut s),
        }
        s
    }

    fn selector_value(&self, v: &Expression<'_>, s: &mut Sel) {
        let c = self.class(v);
        if c.contains(Src::CLIENT) {
            if s.client.is_none() {
                s.client = Some(self.text(v.span()));
            }
        } else if c.contains(Src::IDENTITY) {
            s.owned = true;
        }
    }

    /// The data a write takes (`{data: {...}}` of cloud databases, the values of others).
    fn data(&self, e: &Expression<'_>) -> Data {
        let mut out = Data::default();
        let e = e.get_inner_expression();
        if let Expression::ObjectExpression(o) = e {
            // Cloud databases wrap the data: `update({ data: {...} })`.
            let wrapped = o.properties.iter().find_map(|p| match p {
                ObjectPropertyKind::ObjectProperty(p)
                    if key_name(&p.key).as_deref() == Some("data") =>
                {
                    Some(&p.value)
                }
                _ => None,
            });
            let target = wrapped.unwrap_or(e);
            if let Expression::ObjectExpression(o) = target.get_inner_expression() {
                for p in &o.properties {
                    match p {
                        ObjectPropertyKind::ObjectProperty(p) => {
                            let k = key_name(&p.key).unwrap_or_default();
                            if self.class(&p.value).contains(Src::CLIENT) {
                                out.client_keys.push(k.clone());
                            }
                            out.keys.push(k);
                        }
                        ObjectPropertyKind::SpreadProperty(sp) => {
                            if self.class(&sp.argument).contains(Src::CLIENT) {
                                out.whole_client = true;
                            }
                        }
                    }
                }
                return out;
            }
            if self.class(target).contains(Src::CLIENT) {
                out.whole_client = true;
            }
            return out;
        }
        if self.class(e).contains(Src::CLIENT) {
            out.whole_client = true;
        }
        out
    }

    // ----- events in the walk -----------------------------------------------------------

    fn handler(&mut self) -> Option<&mut Handler> {
        if self.learning {
            return None;
        }
        self.current.as_mut()
    }

    fn record_access(&mut self, c: &CallExpression<'_>) {
        let Some(m) = c.callee.get_inner_expression().as_member_expression() else {
            return;
        };
        let Some(method) = m.static_property_name() else {
            return;
        };
        let Some(&(_, op, shape)) = spec::ACCESS_METHODS.iter().find(|(n, _, _)| *n == method)
        else {
            return;
        };
        let Some(chain) = self.chain_of(m.object(), 0) else {
            return;
        };
        let args: Vec<&Expression<'_>> = c
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        let mut sel = chain.sel.clone();
        let mut data = Data::default();
        let mut collection = chain.collection.clone();
        if chain.table_first {
            // egg-mysql: update('table', row) / delete('table', where) / get('table', where).
            collection = args.first().and_then(|a| match a.get_inner_expression() {
                Expression::StringLiteral(s) => Some(s.value.to_string()),
                _ => None,
            });
            if let Some(second) = args.get(1) {
                if op == spec::Op::Update || op == spec::Op::Add {
                    data = self.data(second);
                    let s = self.selector(second, 0);
                    sel.join(&s);
                } else {
                    let s = self.selector(second, 0);
                    sel.join(&s);
                }
            }
            if let Some(third) = args.get(2) {
                let s = self.selector(third, 0);
                sel.join(&s);
            }
        } else if chain.model && !chain.db {
            // A model class: only its static methods with explicit selectors.
            match shape {
                spec::Args::Chain if spec::DATA_THEN_WHERE.contains(&method) => {
                    if let Some(first) = args.first() {
                        data = self.data(first);
                    }
                    if let Some(opts) = args.get(1) {
                        let s = self.selector(opts, 0);
                        sel.join(&s);
                    }
                }
                spec::Args::First => {
                    if let Some(first) = args.first() {
                        if op == spec::Op::Add {
                            data = self.data(first);
                        } else {
                            let s = self.selector(first, 0);
                            sel.join(&s);
                        }
                    }
                }
                spec::Args::FilterThenData => {
                    if let Some(first) = args.first() {
                        let s = self.selector(first, 0);
                        sel.join(&s);
                    }
                    if let Some(second) = args.get(1) {
                        data = self.data(second);
                    }
                }
                _ => return,
            }
        } else if chain.db {
            match shape {
                spec::Args::Chain | spec::Args::First => {
                    if matches!(op, spec::Op::Update | spec::Op::Add)
                        && let Some(first) = args.first()
                    {
                        data = self.data(first);
                    } else if shape == spec::Args::First
                        && let Some(first) = args.first()
                    {
                        let s = self.selector(first, 0);
                        sel.join(&s);
                    }
                }
                spec::Args::FilterThenData => {
                    if let Some(first) = args.first() {
                        let s = self.selector(first, 0);
                        sel.join(&s);
                    }
                    if let Some(second) = args.get(1) {
                        data = self.data(second);
                    }
                }
                spec::Args::DataThenWhere | spec::Args::TableThenSelector => {}
            }
            // A chain with neither a collection nor a selector is not a record access
            // (`cache.get(key)` on something that merely looks like a database).
            if collection.is_none() && !sel.any {
                return;
            }
        } else {
            return;
        }
        let owned = sel.owned;
        let access = Access {
            op,
            collection: collection.clone(),
            span: c.span.into(),
            method: method.to_owned(),
            client_key: sel.client.clone(),
            owned,
            data_keys: data.keys,
            client_data_keys: data.client_keys,
            whole_client_data: data.whole_client,
        };
        let privileged_lookup = collection.as_deref().is_some_and(|c| {
            spec::has_word(
                c,
                &[
                    "admin",
                    "staff",
                    "manager",
                    "role",
                    "permission",
                    "mgmt",
                    "employee",
                ],
            )
        });
        let Some(h) = self.handler() else { return };
        if owned {
            if !h.owned_collections.contains(&collection) {
                h.owned_collections.push(collection);
            }
            if let Some(k) = sel.client
                && !h.owned_keys.contains(&k)
            {
                h.owned_keys.push(k);
            }
            if privileged_lookup && op == spec::Op::Read {
                h.role_checked = true;
            }
        }
        h.accesses.push(access);
    }

    fn record_call_facts(&mut self, c: &CallExpression<'_>) {
        let callee = c.callee.get_inner_expression();
        let callee_text = self.text(callee.span());
        let method = callee
            .as_member_expression()
            .and_then(MemberExpression::static_property_name)
            .or_else(|| ident_name(callee))
            .unwrap_or("");
        let args: Vec<&Expression<'_>> = c
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        let arg_classes: Vec<Src> = args.iter().map(|a| self.class(a)).collect();
        let any_identity_arg = arg_classes.iter().any(|s| s.contains(Src::IDENTITY));
        // Learn helper parameters: `update(event)` → the helper's first parameter is client.
        if let Some(name) = ident_name(callee)
            && arg_classes.iter().any(|s| !s.is_empty())
        {
            let e = self.hints.entry(name.to_owned()).or_default();
            if e.len() < arg_classes.len() {
                e.resize(arg_classes.len(), Src::empty());
            }
            for (i, s) in arg_classes.iter().enumerate() {
                e[i] |= *s & (Src::CLIENT | Src::IDENTITY | Src::EVENT);
            }
        }
        // Verification of a payment notification.
        let verify = spec::VERIFY_METHODS.contains(&method);
        // Checks on the caller.
        let role_call = spec::has_word(method, &["admin", "role", "permission", "privilege"]);
        let check_call = any_identity_arg && spec::has_word(method, spec::CHECK_CALL_WORDS);
        let allow_list = any_identity_arg && matches!(method, "includes" | "indexOf" | "has");
        // Payment for a client amount.
        let pay = spec::PAY_METHODS
            .iter()
            .find(|(n, _)| *n == method)
            .is_some_and(|(_, needs_pay)| {
                !needs_pay || callee_text.to_ascii_lowercase().contains("pay")
            });
        let mut amounts = Vec::new();
        if pay && let Some(first) = args.first() {
            self.amount_fields(first, 0, &mut amounts);
        }
        let refund = spec::REFUND_METHODS.contains(&method)
            && callee_text.to_ascii_lowercase().contains("pay");
        // A client delta added to a value field.
        let mut increment = None;
        if matches!(method, "inc" | "increment")
            && let Some(m) = callee.as_member_expression()
            && (method == "increment" || self.chain_of(m.object(), 0).is_some_and(|ch| ch.command))
        {
            let delta = if method == "increment" {
                args.get(1)
            } else {
                args.first()
            };
            if let Some(delta) = delta
                && self.class(delta).contains(Src::CLIENT)
            {
                let field = if method == "increment" {
                    args.first().and_then(|a| match a.get_inner_expression() {
                        Expression::StringLiteral(s) => Some(s.value.to_string()),
                        _ => None,
                    })
                } else {
                    self.keys.iter().rev().find_map(Clone::clone)
                };
                increment = Some(Increment {
                    span: c.span.into(),
                    field,
                    delta: self.text(delta.span()),
                });
            }
        }
        let span: Span = c.span.into();
        let what = callee_text;
        let Some(h) = self.handler() else { return };
        h.verified |= verify;
        h.role_checked |= role_call || allow_list;
        h.owner_checked |= check_call;
        for a in amounts {
            h.client_amounts.push(a);
        }
        if refund {
            h.refunds.push(Site { span, what });
        }
        if let Some(i) = increment {
            h.increments.push(i);
        }
    }

    fn amount_fields(&self, e: &Expression<'_>, depth: u32, out: &mut Vec<Site>) {
        if depth > 4 {
            return;
        }
        let Expression::ObjectExpression(o) = e.get_inner_expression() else {
            return;
        };
        for p in &o.properties {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                continue;
            };
            let k = key_name(&p.key).unwrap_or_default();
            if let Expression::ObjectExpression(_) = p.value.get_inner_expression() {
                self.amount_fields(&p.value, depth + 1, out);
                continue;
            }
            if spec::AMOUNT_FIELDS.contains(&k.as_str())
                && self.class(&p.value).contains(Src::CLIENT)
            {
                out.push(Site {
                    span: p.span.into(),
                    what: format!("{k}: {}", self.text(p.value.span())),
                });
            }
        }
    }

    /// A condition or comparison: checks on the caller, and role flags taken from the client.
    fn condition(&mut self, test: &Expression<'_>) {
        let t = test.get_inner_expression();
        let flag = match t {
            Expression::UnaryExpression(u) => Some(&u.argument),
            _ => None,
        };
        let target = flag.map_or(t, |a| a.get_inner_expression());
        if let Some(m) = target.as_member_expression()
            && let Some(prop) = m.static_property_name()
            && spec::has_word(prop, spec::ROLE_WORDS)
            && !spec::has_word(prop, &["author"])
        {
            let base = self.class(m.object());
            let span: Span = target.span().into();
            let what = self.text(target.span());
            if let Some(h) = self.handler() {
                if base.contains(Src::CLIENT) {
                    h.client_flags.push(Site { span, what });
                } else {
                    h.role_checked = true;
                }
            }
        }
    }

    fn comparison(&mut self, bin: &BinaryExpression<'_>) {
        if !bin.operator.is_equality() {
            return;
        }
        let (left, right) = (self.class(&bin.left), self.class(&bin.right));
        let span: Span = bin.span.into();
        let what = self.text(bin.span);
        // The identity compared with a constant is an allow-list; with anything else (a
        // record's owner, or the id the client sent: `if (body.userId !== ctx.state.user.id)`)
        // it ties the operation to the caller.
        for (side, other_e) in [(left, &bin.right), (right, &bin.left)] {
            if side.contains(Src::IDENTITY) && !side.contains(Src::CLIENT) {
                let constant = is_literal(other_e);
                if let Some(h) = self.handler() {
                    if constant {
                        h.role_checked = true;
                    } else {
                        h.owner_checked = true;
                    }
                }
            }
        }
        // `role === 'admin'` on either side, from the client or from a record.
        for (x, lit) in [(&bin.left, &bin.right), (&bin.right, &bin.left)] {
            let Expression::StringLiteral(s) = lit.get_inner_expression() else {
                continue;
            };
            let name = x
                .get_inner_expression()
                .as_member_expression()
                .and_then(MemberExpression::static_property_name)
                .or_else(|| ident_name(x));
            let named_role =
                name.is_some_and(|p| spec::has_word(p, spec::ROLE_WORDS) && !p.contains("author"));
            if !(named_role || spec::has_word(&s.value, &["admin", "manager", "staff"])) {
                continue;
            }
            let c = self.class(x);
            let what = what.clone();
            if let Some(h) = self.handler() {
                if c.contains(Src::CLIENT) && named_role {
                    h.client_flags.push(Site { span, what });
                } else if named_role || !c.is_empty() {
                    h.role_checked = true;
                }
            }
        }
    }

    fn notify_field(&mut self, base: Src, prop: &str) {
        if base.contains(Src::EVENT) && spec::NOTIFY_FIELDS.contains(&prop) {
            let prop = prop.to_owned();
            if let Some(h) = self.handler()
                && !h.notify_fields.contains(&prop)
            {
                h.notify_fields.push(prop);
            }
        }
    }

    fn bind_pattern(&mut self, p: &BindingPattern<'_>, v: &Var, declare: bool) {
        match p {
            BindingPattern::BindingIdentifier(id) => {
                if declare {
                    self.bind(id.name.as_str(), v.clone());
                } else {
                    self.assign(id.name.as_str(), v);
                }
            }
            BindingPattern::ObjectPattern(o) => {
                for prop in &o.properties {
                    let key = key_name(&prop.key).unwrap_or_default();
                    self.notify_field(v.src, &key);
                    let fv = Var {
                        src: Self::member(v.src, Some(&key)),
                        chain: None,
                    };
                    self.bind_pattern(&prop.value, &fv, declare);
                }
                if let Some(rest) = &o.rest {
                    let rv = Var {
                        src: v.src & (Src::CLIENT | Src::IDENTITY),
                        chain: None,
                    };
                    self.bind_pattern(&rest.argument, &rv, declare);
                }
            }
            BindingPattern::ArrayPattern(a) => {
                let ev = Var {
                    src: v.src & (Src::CLIENT | Src::IDENTITY),
                    chain: None,
                };
                for e in a.elements.iter().flatten() {
                    self.bind_pattern(e, &ev, declare);
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                let d = self.class(&a.right);
                let joined = Var {
                    src: v.src | d,
                    chain: v.chain.clone(),
                };
                self.bind_pattern(&a.left, &joined, declare);
            }
        }
    }

    fn enter_function(
        &mut self,
        params: &FormalParameters<'_>,
        span: oxc_span::Span,
        name: Option<&str>,
        is_method: bool,
    ) -> bool {
        self.scopes.push(FxHashMap::default());
        // Parameters.
        let hint = name.and_then(|n| self.hints.get(n)).cloned();
        for (i, p) in params.items.iter().enumerate() {
            let mut src = hint
                .as_ref()
                .and_then(|h| h.get(i))
                .copied()
                .unwrap_or_default();
            if let Some(n) = p.pattern.get_identifier_name() {
                if self.role == Role::CloudFunction
                    && self.event_param.as_deref() == Some(n.as_str())
                    && self.depth == 0
                {
                    src |= Src::EVENT | Src::CLIENT;
                }
                if self.role == Role::Server && spec::REQUEST_ROOTS.contains(&n.as_str()) {
                    src |= Src::REQUEST;
                }
            }
            let v = Var { src, chain: None };
            self.bind_pattern(&p.pattern, &v, true);
        }
        if self.role != Role::Server || self.current.is_some() {
            return false;
        }
        let takes_request = params.items.iter().any(|p| {
            p.pattern
                .get_identifier_name()
                .is_some_and(|n| spec::REQUEST_ROOTS.contains(&n.as_str()))
        });
        if !(takes_request || (is_method && self.in_controller())) {
            return false;
        }
        let (route, mw_role, mw_any) = self
            .routes
            .get(&span.start)
            .cloned()
            .unwrap_or_else(|| (name.unwrap_or_default().to_owned(), false, false));
        let mut h = Handler::new(HandlerKind::Route, route, span.into(), self.admin_path);
        h.role_checked = mw_role;
        h.has_middleware = mw_any;
        self.current = Some(h);
        true
    }

    fn leave_function(&mut self, started: bool) {
        self.scopes.pop();
        if started && let Some(h) = self.current.take() {
            self.handlers.push(h);
        }
    }

    fn note_route(&mut self, c: &CallExpression<'_>) {
        if self.role != Role::Server {
            return;
        }
        let Some(m) = c.callee.get_inner_expression().as_member_expression() else {
            return;
        };
        let Some(method) = m.static_property_name() else {
            return;
        };
        if !matches!(
            method,
            "get" | "post" | "put" | "delete" | "del" | "patch" | "all"
        ) {
            return;
        }
        let args: Vec<&Expression<'_>> = c
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        let Some(Expression::StringLiteral(path)) = args.first().map(|a| a.get_inner_expression())
        else {
            return;
        };
        let Some(last) = args.last() else { return };
        if !matches!(
            last.get_inner_expression(),
            Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
        ) {
            return;
        }
        let middle = &args[1..args.len().saturating_sub(1).max(1)];
        let mw_role = middle
            .iter()
            .any(|a| spec::has_word(&self.text(a.span()), spec::ROLE_MIDDLEWARE_WORDS));
        self.routes.insert(
            last.get_inner_expression().span().start,
            (
                format!("{method} {}", path.value),
                mw_role,
                !middle.is_empty(),
            ),
        );
    }
}

use oxc_span::GetSpan;

impl<'a> Visit<'a> for Analyser<'_> {
    fn visit_class(&mut self, it: &Class<'a>) {
        let sup = it
            .heritage
            .as_ref()
            .map(|h| self.text(h.expression.span()))
            .unwrap_or_default();
        let is_controller = self.role == Role::Server
            && (sup.contains("Controller")
                || sup.contains("Base")
                || sup.contains("think")
                || sup.contains("Service"));
        self.controller_class.push(is_controller);
        walk::walk_class(self, it);
        self.controller_class.pop();
    }

    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        self.pending_method = true;
        self.pending_fn_name = key_name(&it.key);
        walk::walk_method_definition(self, it);
    }

    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        let is_method = std::mem::take(&mut self.pending_method);
        let name = it
            .id
            .as_ref()
            .map(|i| i.name.to_string())
            .or_else(|| self.pending_fn_name.take());
        self.pending_fn_name = None;
        let started = self.enter_function(&it.params, it.span, name.as_deref(), is_method);
        self.depth += 1;
        if let Some(body) = &it.body {
            self.visit_function_body(body);
        }
        let _ = flags;
        self.depth -= 1;
        self.leave_function(started);
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        let name = self.pending_fn_name.take();
        self.pending_method = false;
        let started = self.enter_function(&it.params, it.span, name.as_deref(), false);
        self.depth += 1;
        self.visit_arrow_function_body(&it.body);
        self.depth -= 1;
        self.leave_function(started);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if let Some(init) = &it.init {
            if let Some(n) = it.id.get_identifier_name()
                && matches!(
                    init.get_inner_expression(),
                    Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
                )
            {
                self.pending_fn_name = Some(n.to_string());
            }
            self.visit_expression(init);
            let v = Var {
                src: self.class(init),
                chain: self.chain_of(init, 0).map(Rc::new),
            };
            self.bind_pattern(&it.id, &v, true);
        } else {
            self.bind_pattern(&it.id, &Var::default(), true);
        }
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        let key = it
            .left
            .as_member_expression()
            .and_then(MemberExpression::static_property_name)
            .map(str::to_owned);
        self.keys.push(key);
        self.visit_expression(&it.right);
        self.keys.pop();
        let v = Var {
            src: self.class(&it.right),
            chain: self.chain_of(&it.right, 0).map(Rc::new),
        };
        match &it.left {
            AssignmentTarget::AssignmentTargetIdentifier(id) => self.assign(id.name.as_str(), &v),
            other => {
                if let Some(m) = other.as_member_expression() {
                    self.visit_expression(m.object());
                }
            }
        }
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let key = key_name(&it.key);
        // Mongo `$inc: { balance: body.amount }`.
        if key.as_deref() == Some("$inc")
            && let Expression::ObjectExpression(o) = it.value.get_inner_expression()
        {
            self.mongo_inc(o);
        }
        self.keys.push(key);
        walk::walk_object_property(self, it);
        self.keys.pop();
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        self.note_route(it);
        walk::walk_call_expression(self, it);
        self.record_access(it);
        self.record_call_facts(it);
    }

    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        walk::walk_binary_expression(self, it);
        self.comparison(it);
    }

    fn visit_if_statement(&mut self, it: &IfStatement<'a>) {
        self.condition(&it.test);
        walk::walk_if_statement(self, it);
    }

    fn visit_conditional_expression(&mut self, it: &ConditionalExpression<'a>) {
        self.condition(&it.test);
        walk::walk_conditional_expression(self, it);
    }

    fn visit_static_member_expression(&mut self, it: &oxc_ast::ast::StaticMemberExpression<'a>) {
        let base = self.class(&it.object);
        self.notify_field(base, it.property.name.as_str());
        walk::walk_static_member_expression(self, it);
    }
}

impl Analyser<'_> {
    fn mongo_inc(&mut self, o: &ObjectExpression<'_>) {
        let mut found = Vec::new();
        for p in &o.properties {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                continue;
            };
            if self.class(&p.value).contains(Src::CLIENT) {
                found.push(Increment {
                    span: p.span.into(),
                    field: key_name(&p.key),
                    delta: self.text(p.value.span()),
                });
            }
        }
        if let Some(h) = self.handler() {
            h.increments.extend(found);
        }
    }
}

/// Whether `a`'s collection reads as personal data.
pub fn personal(collection: Option<&str>) -> bool {
    collection.is_some_and(|c| spec::has_word(c, spec::PERSONAL_COLLECTION_WORDS))
}

/// Whether `a`'s collection reads as the operator's (staff, catalogue, settings) and not as a
/// person's own records.
pub fn privileged(collection: Option<&str>) -> bool {
    collection.is_some_and(|c| {
        spec::has_word(
            c,
            &[
                "admin",
                "staff",
                "manager",
                "mgmt",
                "employee",
                "role",
                "permission",
            ],
        ) || (spec::has_word(c, spec::PRIVILEGED_COLLECTION_WORDS)
            && !spec::has_word(c, spec::PERSONAL_COLLECTION_WORDS))
    })
}
