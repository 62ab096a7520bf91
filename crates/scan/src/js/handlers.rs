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
//! Backends rarely touch records in the route itself: the controller validates the input and
//! hands it to a service in another module. A handler's calls into the project's other modules
//! with client input are recorded as [`Callout`]s (egg's `ctx.service.order.submit(id)`, thinkjs
//! `this.service('order')`, a `require`d or imported module, a nest service injected into the
//! controller); the evaluator resolves them and [`analyse_callee`] analyses the called function
//! as the handler's continuation, its parameters carrying what the arguments were and the
//! caller's checks counting for it. Nest controllers are handlers by their decorators
//! (`@Controller`, `@Body()`/`@Query()`/`@Param()` parameters, `@UseGuards` as middleware).
//!
//! Every API, field and word this reads is in [`super::authz_spec`]. The rules of the auth
//! category (ownership, client-trusted money, missing role checks) are policies over the
//! [`Handler`]s this produces.

use std::path::{Path, PathBuf};
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
    /// The data spreads the client's input (`{ ...event.data, _openid }`), and no order
    /// state set after the spread overrides what it held.
    pub client_spread: bool,
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

/// Where a handler's call into another module of the project goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A module bound by `require('../service/order')` / `import x from './x'` (the
    /// specifier as written), or a nest service injected through the constructor.
    Module(String),
    /// egg's `ctx.service.user.admin`: the names after `service` (`app/service/user/admin.js`).
    EggService(Vec<String>),
    /// thinkjs `this.service('order', 'api')` / `think.service('order')`: the name, and the
    /// module when given (`src/api/service/order.js`).
    ThinkService(String, Option<String>),
}

/// A call from a handler into a function of another module of the project, with client input
/// among its arguments (`service.order.submit(addressId)`, `orderService.submitOrder(openId,
/// price)`): the callee is analysed as part of the handler, its parameters carrying what the
/// arguments were.
#[derive(Clone, Debug)]
pub struct Callout {
    pub target: Target,
    pub method: String,
    pub args: Vec<Src>,
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
    /// Mail or SMS sent to a recipient and with content both from the client's input.
    pub relays: Vec<Site>,
    /// Payment-notification fields read from the event.
    pub notify_fields: Vec<String>,
    /// A verification of a payment notification (signature, order query) is called.
    pub verified: bool,
    /// The route has middleware before it (authentication at least).
    pub has_middleware: bool,
    /// A quantity the client chose (`number`, `buyNum`) stored in a cart, order or stock
    /// record, added to one, or multiplied into a price.
    pub quantities: Vec<Site>,
    /// The handler gives some client number a lower bound (`if (num < 1)`, `Math.max(1, n)`,
    /// a validator's `min`), or its module declares one (`@Min(1)`).
    pub quantity_bounded: bool,
    /// Outgoing requests that log in to another service as a user the client names
    /// (`got(base + '/login', { body: { loginMethod: 'unionid', unionid: event.unionid } })`).
    pub identity_logins: Vec<Site>,
    /// Outgoing requests that change something in another service (a POST, PUT, PATCH or
    /// DELETE), other than logins.
    pub outgoing_writes: Vec<Site>,
    /// Calls into other modules of the project with client input (see [`Callout`]).
    pub callouts: Vec<Callout>,
    /// An owner field the server set (from the caller's identity, or written into the
    /// request) that a later spread of client input overwrites: `{ user_id: me, ...body }`,
    /// `body.openId = session.openId; body = { ...body, ...ctx.query }`.
    pub client_overrides: Vec<Override>,
}

/// What one outgoing request (`got(url, options)`, `axios.post(url, data)`) does, from its
/// arguments.
#[derive(Default, Clone)]
struct OutgoingRequest {
    /// Its URL or options say it logs in (`/login`, `loginMethod`).
    login: bool,
    /// It sends something that proves the user (a password, a login code).
    proof: bool,
    /// It changes something (POST, PUT, PATCH, DELETE).
    write: bool,
    /// Identity fields whose value the client chose (`unionid: event.unionid`).
    client_ids: Vec<String>,
}

/// The last name of a path as written (`number` of `cartInfo.number`, `num` of `event.num`).
fn last_name(text: &str) -> &str {
    text.rsplit(['.', ' ', '(', '[', '-', '+'])
        .find(|s| !s.is_empty())
        .unwrap_or(text)
        .trim_end_matches([')', ']', '\'', '"'])
}

/// The number an expression converts (`parseInt(x, 10)`, `Number(x)`, `+x`, `x | 0`): `x`.
fn number_of<'x, 'a>(e: &'x Expression<'a>) -> &'x Expression<'a> {
    let e = e.get_inner_expression();
    match e {
        Expression::CallExpression(c)
            if matches!(
                ident_name(&c.callee),
                Some("parseInt" | "parseFloat" | "Number")
            ) =>
        {
            c.arguments
                .first()
                .and_then(Argument::as_expression)
                .map_or(e, |a| a.get_inner_expression())
        }
        Expression::UnaryExpression(u)
            if u.operator == oxc_syntax::operator::UnaryOperator::UnaryPlus =>
        {
            u.argument.get_inner_expression()
        }
        _ => e,
    }
}

/// Whether an argument holds options with a lower bound (`{ type: 'int', min: 1 }`), a few
/// objects deep.
fn has_min_option(e: &Expression<'_>, depth: u32) -> bool {
    if depth > 4 {
        return false;
    }
    let Expression::ObjectExpression(o) = e.get_inner_expression() else {
        return false;
    };
    o.properties.iter().any(|p| {
        let ObjectPropertyKind::ObjectProperty(p) = p else {
            return false;
        };
        let k = key_name(&p.key).unwrap_or_default();
        k == "min" || k == "minimum" || has_min_option(&p.value, depth + 1)
    })
}

/// Whether a key names a user's identity (`unionid`, `open_id`, `userId`).
fn identity_key(k: &str) -> bool {
    let norm = k.to_ascii_lowercase().replace(['_', '-'], "");
    spec::IDENTITY_KEYS.contains(&norm.as_str())
}

/// See [`Handler::client_overrides`].
#[derive(Clone, Debug)]
pub struct Override {
    /// The spread of client input that comes last.
    pub span: Span,
    pub field: String,
    pub spread: String,
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
            relays: Vec::new(),
            notify_fields: Vec::new(),
            verified: false,
            quantities: Vec::new(),
            quantity_bounded: false,
            identity_logins: Vec::new(),
            outgoing_writes: Vec::new(),
            has_middleware: false,
            callouts: Vec::new(),
            client_overrides: Vec::new(),
        }
    }

    /// Some check on the caller guards the handler.
    pub fn guarded(&self) -> bool {
        self.owner_checked || self.role_checked
    }

    /// A handler of a payment notification: a cloud function named like one or reading
    /// several notification fields from its event, or a route reading several from its
    /// request with no middleware before it (middleware may verify the notification).
    pub fn is_payment_notification(&self) -> bool {
        match self.kind {
            HandlerKind::CloudFunction => {
                spec::has_word(&self.name, spec::NOTIFY_NAME_WORDS) || self.notify_fields.len() >= 2
            }
            HandlerKind::Route => self.notify_fields.len() >= 2 && !self.has_middleware,
        }
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
    let mut a = Analyser::new(module);
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
        let admin_path = a.admin_path;
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
    let mut handlers = a.handlers;
    if declares_lower_bound(module.source) {
        for h in &mut handlers {
            h.quantity_bounded = true;
        }
    }
    handlers
}

/// Whether a module declares a lower bound on request fields (`@Min(1)` on a DTO).
fn declares_lower_bound(source: &str) -> bool {
    spec::LOWER_BOUND_DECLARATIONS
        .iter()
        .any(|d| source.contains(d))
}

/// Analyse the functions named `method` of a server module as the continuation of `caller`,
/// which called them with arguments of the classes `args`; local helpers they pass client
/// input to are followed too. The result carries the caller's checks (a role middleware, an
/// owner check before the call) and its records tied to the caller; `None` when the module
/// has no such function or it touches no record and calls no further module.
pub fn analyse_callee(
    module: &Module<'_>,
    method: &str,
    args: &[Src],
    caller: &Handler,
) -> Option<Handler> {
    if module.role != Role::Server || !args.iter().any(|s| s.contains(Src::CLIENT)) {
        return None;
    }
    let mut a = Analyser::new(module);
    a.callee = true;
    a.hints.insert(
        method.to_owned(),
        args.iter()
            .map(|s| *s & (Src::CLIENT | Src::IDENTITY))
            .collect(),
    );
    // Pass one learns which local helpers the callee passes client input to.
    a.visit_program(module.program);
    a.learning = false;
    a.scopes = vec![FxHashMap::default()];
    let mut h = Handler::new(
        HandlerKind::Route,
        format!("{} -> {method}", caller.name),
        caller.span,
        caller.admin_path || a.admin_path,
    );
    h.role_checked = caller.role_checked;
    h.owner_checked = caller.owner_checked;
    h.quantity_bounded = caller.quantity_bounded || declares_lower_bound(module.source);
    h.has_middleware = caller.has_middleware;
    h.owned_collections.clone_from(&caller.owned_collections);
    h.owned_keys.clone_from(&caller.owned_keys);
    a.current = Some(h);
    a.visit_program(module.program);
    let h = a.current.take()?;
    let touches = !(h.accesses.is_empty()
        && h.client_amounts.is_empty()
        && h.increments.is_empty()
        && h.quantities.is_empty()
        && h.client_overrides.is_empty()
        && h.callouts.is_empty());
    (a.entered && touches).then_some(h)
}

impl<'s> Analyser<'s> {
    fn new(module: &Module<'s>) -> Self {
        let admin_path = module
            .rel
            .split('/')
            .rev()
            .skip(1)
            .take(2)
            .any(|seg| spec::has_word(seg, spec::ADMIN_PATH_WORDS));
        let imported = imports(module.program);
        let pay_sdk = imported
            .values()
            .any(|(from, _)| spec::PAYMENT_MODULES.contains(&from.as_str()));
        Analyser {
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
            imports: imported,
            class_fields: Vec::new(),
            pay_sdk,
            class_guards: Vec::new(),
            class_models: Vec::new(),
            pending_guards: None,
            callee: false,
            active: 0,
            entered: false,
            server_owner_writes: Vec::new(),
            request_parts: FxHashMap::default(),
        }
    }
}

/// The top-level bindings of other modules: `const x = require('./x')`, `const { a } =
/// require('./x')`, `import x from './x'`, `import { a } from './x'`, `import * as x`.
fn imports(program: &oxc_ast::ast::Program<'_>) -> FxHashMap<String, (String, Option<String>)> {
    let mut out = FxHashMap::default();
    for s in &program.body {
        match s {
            Statement::ImportDeclaration(d) => {
                let from = d.source.value.to_string();
                for sp in d.specifiers.iter().flatten() {
                    match sp {
                        oxc_ast::ast::ImportDeclarationSpecifier::ImportSpecifier(i) => {
                            out.insert(
                                i.local.name.to_string(),
                                (from.clone(), Some(i.imported.name().to_string())),
                            );
                        }
                        oxc_ast::ast::ImportDeclarationSpecifier::ImportDefaultSpecifier(i) => {
                            out.insert(i.local.name.to_string(), (from.clone(), None));
                        }
                        oxc_ast::ast::ImportDeclarationSpecifier::ImportNamespaceSpecifier(i) => {
                            out.insert(i.local.name.to_string(), (from.clone(), None));
                        }
                    }
                }
            }
            Statement::VariableDeclaration(v) => {
                for d in &v.declarations {
                    let Some(init) = &d.init else { continue };
                    let Expression::CallExpression(c) = strip(init) else {
                        continue;
                    };
                    if ident_name(&c.callee) != Some("require") {
                        continue;
                    }
                    let Some(Expression::StringLiteral(from)) = c
                        .arguments
                        .first()
                        .and_then(Argument::as_expression)
                        .map(Expression::get_inner_expression)
                    else {
                        continue;
                    };
                    let from = from.value.to_string();
                    match &d.id {
                        BindingPattern::BindingIdentifier(id) => {
                            out.insert(id.name.to_string(), (from, None));
                        }
                        BindingPattern::ObjectPattern(o) => {
                            for p in &o.properties {
                                if let (Some(k), Some(local)) =
                                    (key_name(&p.key), p.value.get_identifier_name())
                                {
                                    out.insert(local.to_string(), (from.clone(), Some(k)));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The file a call target lives in, seen from the module at `from`.
pub fn target_path(index: &crate::ProjectIndex, from: &Path, t: &Target) -> Option<PathBuf> {
    match t {
        Target::Module(spec) => super::resolve(index, from, spec),
        Target::EggService(names) => {
            // `app/controller/x.js` -> `app/service/<names>`; egg names files in snake_case
            // and exposes them in camelCase (`goods_order.js` is `service.goodsOrder`).
            if names.is_empty() {
                return None;
            }
            let app = from
                .ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == "app"))?;
            let camel: PathBuf = names.iter().collect();
            let snake: PathBuf = names.iter().map(|n| snake_case(n)).collect();
            [camel, snake]
                .iter()
                .find_map(|rel| super::resolve_base(index, &app.join("service").join(rel)))
        }
        Target::ThinkService(name, module) => {
            // `src/<module>/controller/x.js` -> `src/<module>/service/<name>.js`, else the
            // `common` module's.
            let kind_dir = from.ancestors().find(|d| {
                d.file_name().is_some_and(|n| {
                    matches!(
                        n.to_str(),
                        Some("controller" | "service" | "logic" | "model")
                    )
                })
            })?;
            let own = kind_dir.parent()?;
            let root = own.parent()?;
            let mut dirs = Vec::new();
            if let Some(m) = module {
                dirs.push(root.join(m));
            }
            dirs.push(own.to_path_buf());
            dirs.push(root.join("common"));
            dirs.iter()
                .find_map(|d| super::resolve_base(index, &d.join("service").join(name)))
        }
    }
}

fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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
    /// The module a call on this value goes to (`const orderService = require(...)`).
    target: Option<Rc<Target>>,
    /// A SQL statement or parameter array the name holds, for the driver call that follows
    /// (see [`SqlPart`]).
    sql: Option<Rc<SqlPart>>,
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

/// Whether a `WHERE` column names records (an id, a number, an owner) rather than filters a
/// list (`status`, `type`).
fn sql_key_column(col: &str) -> bool {
    let c = col.to_ascii_lowercase();
    c.ends_with("id")
        || c.ends_with("_no")
        || c.ends_with("orderno")
        || c.ends_with("tradeno")
        || c.contains("session")
        || c.contains("token")
        || matches!(
            c.as_str(),
            "username" | "user_name" | "account" | "phone" | "mobile" | "email" | "uid"
        )
}

/// A SQL statement or a parameter array bound to a name before the driver call (see
/// [`Analyser::sql_part`]): what fills each place, with its provenance and text.
#[derive(Clone, Debug)]
enum SqlPart {
    Text {
        text: String,
        holes: Vec<(Src, String)>,
    },
    Params(Vec<(Src, String)>),
}

#[derive(Default)]
struct Data {
    keys: Vec<String>,
    client_keys: Vec<String>,
    whole_client: bool,
    /// See [`Access::client_spread`].
    client_spread: bool,
}

#[allow(clippy::struct_excessive_bools)] // Reason: independent states of one walk.
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
    /// Top-level bindings of other modules: name -> (specifier, the export it names, or
    /// `None` for the whole module).
    imports: FxHashMap<String, (String, Option<String>)>,
    /// The module imports a payment SDK (see [`spec::PAYMENT_MODULES`]).
    pay_sdk: bool,
    /// Per enclosing class: its constructor-injected services (nest `private readonly
    /// orders: OrdersService`), by field name.
    class_fields: Vec<FxHashMap<String, Rc<Target>>>,
    /// Per enclosing class: its injected repositories and models (typeorm
    /// `Repository<Order>`, mongoose `Model<Order>`), by field name: the entity's name.
    class_models: Vec<FxHashMap<String, String>>,
    /// Per enclosing class: its guards (role guard, any guard) from class decorators.
    class_guards: Vec<(bool, bool)>,
    /// The guards of the method being entered, from its decorators.
    pending_guards: Option<(bool, bool)>,
    /// Callee mode (see [`analyse_callee`]): facts are recorded only inside functions that
    /// received client input (`active` of them are being walked).
    callee: bool,
    active: u32,
    /// Whether callee mode entered any function.
    entered: bool,
    /// Owner fields the server wrote into a request object: (the object's code, field).
    server_owner_writes: Vec<(String, String)>,
    /// What the objects bound to local names say as parts of an outgoing request (`const
    /// body = { loginMethod: 'unionid', unionid }` before `got(url, { json: body })`).
    request_parts: FxHashMap<String, OutgoingRequest>,
}

/// Calls into other modules one handler records at most.
const MAX_CALLOUTS: usize = 32;

/// Bytes of code read for a description (see [`Analyser::text`]).
const MAX_TEXT_BYTES: usize = 240;

const NOT_MODELS: &[&str] = &[
    "Object", "Array", "Promise", "Math", "JSON", "Date", "Map", "Set", "Number", "String",
    "Reflect", "Buffer", "Error", "RegExp", "Boolean", "Symbol", "Intl", "URL",
];

/// A call's arguments that are expressions (spreads left out).
fn call_args<'x, 'a>(c: &'x CallExpression<'a>) -> Vec<&'x Expression<'a>> {
    c.arguments
        .iter()
        .filter_map(Argument::as_expression)
        .collect()
}

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
                // The statement assigned last is the one a driver call after it sends.
                old.sql.clone_from(&v.sql);
                return;
            }
        }
        self.bind(name, v.clone());
    }

    fn in_controller(&self) -> bool {
        self.controller_class.last().copied().unwrap_or(false)
    }

    // ----- provenance -----------------------------------------------------------------

    /// Whether a message's options take both the recipient and the content from the client:
    /// `{ to: event.to, html: event.html }`, or the client's input itself (`sendMail(event)`).
    fn client_message(&self, e: &Expression<'_>) -> bool {
        let Expression::ObjectExpression(o) = strip(e) else {
            return self.class(e).contains(Src::CLIENT);
        };
        let (mut to, mut content) = (false, false);
        for p in &o.properties {
            match p {
                ObjectPropertyKind::ObjectProperty(p) => {
                    let Some(key) = key_name(&p.key) else {
                        continue;
                    };
                    if !self.class(&p.value).contains(Src::CLIENT) {
                        continue;
                    }
                    to |= spec::RECIPIENT_KEYS.contains(&key.as_str());
                    content |= spec::CONTENT_KEYS.contains(&key.as_str());
                }
                // `{ ...event }`: whatever the client sent, recipient and content included.
                ObjectPropertyKind::SpreadProperty(sp) => {
                    if self.class(&sp.argument).contains(Src::CLIENT) {
                        return true;
                    }
                }
            }
        }
        to && content
    }

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
            // `goods.retail_price * count`: a quantity the client chose times a field of a
            // record the server loaded from its database is priced by the server (a constant
            // factor, `amount * 100`, or a value of unknown origin is not).
            Expression::BinaryExpression(b)
                if b.operator == oxc_syntax::operator::BinaryOperator::Multiplication =>
            {
                let (l, r) = (self.class_depth(&b.left, d), self.class_depth(&b.right, d));
                if self.loaded_field(&b.left) || self.loaded_field(&b.right) {
                    (l | r) & Src::IDENTITY
                } else {
                    (l | r) & (Src::CLIENT | Src::IDENTITY)
                }
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

    /// Whether `e` is a field of a record loaded by a database access of this handler
    /// (`goods.retail_price` after `const goods = await Goods.findByPk(id)`).
    fn loaded_field(&self, e: &Expression<'_>) -> bool {
        let mut e = strip(e);
        let mut fields = 0;
        while let Some(m) = e.as_member_expression() {
            e = strip(m.object());
            fields += 1;
            if fields > 8 {
                return false;
            }
        }
        fields > 0
            && ident_name(e)
                .and_then(|n| self.lookup(n))
                .and_then(|v| v.chain.as_deref())
                .is_some_and(|c| c.db || c.model)
            && !self.class(e).contains(Src::CLIENT)
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
        // `helper.validateParams(rules, request.body)`: still the client's values.
        if spec::has_word(method, spec::VALIDATION_METHOD_WORDS) {
            return c
                .arguments
                .iter()
                .filter_map(Argument::as_expression)
                .fold(Src::empty(), |acc, a| {
                    acc | (self.class_depth(a, d) & Src::CLIENT)
                });
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
                    // knex('orders'), db('orders'), wafer2's mysql('orders')
                    if (spec::TABLE_FUNCTIONS.contains(&name) || name.contains("knex"))
                        && lit.is_some()
                    {
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
                if let Expression::ThisExpression(_) = obj.get_inner_expression()
                    && let Some(entity) = self.class_models.last().and_then(|f| f.get(prop))
                {
                    return Some(Chain {
                        model: true,
                        collection: Some(entity.clone()),
                        ..Chain::default()
                    });
                }
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
                            } else if spec::ORDER_STATE_FIELDS.contains(&k.as_str()) {
                                // `{ ...event, status: 'unpaid' }`: the server's state wins.
                                out.client_spread = false;
                            }
                            out.keys.push(k);
                        }
                        ObjectPropertyKind::SpreadProperty(sp) => {
                            if self.class(&sp.argument).contains(Src::CLIENT) {
                                out.whole_client = true;
                                out.client_spread = true;
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
        if self.learning || (self.callee && self.active == 0) {
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
        let args = call_args(c);
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
                spec::Args::Chain if spec::MODEL_SELECTOR_FIRST.contains(&method) => {
                    if let Some(first) = args.first() {
                        let s = self.selector(first, 0);
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
        self.push_access(op, collection, c.span, method, &sel, data);
    }

    /// Records an access of the current handler (see [`Access`]).
    fn push_access(
        &mut self,
        op: spec::Op,
        collection: Option<String>,
        span: oxc_span::Span,
        method: &str,
        sel: &Sel,
        data: Data,
    ) {
        let owned = sel.owned;
        let access = Access {
            op,
            collection: collection.clone(),
            span: span.into(),
            method: method.to_owned(),
            client_key: sel.client.clone(),
            owned,
            data_keys: data.keys,
            client_data_keys: data.client_keys,
            whole_client_data: data.whole_client,
            client_spread: data.client_spread,
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
        let quantity = (matches!(op, spec::Op::Add | spec::Op::Update)
            && collection
                .as_deref()
                .is_some_and(|c| spec::has_word(c, spec::QUANTITY_COLLECTION_WORDS)))
        .then(|| {
            access
                .client_data_keys
                .iter()
                .find(|k| spec::is_quantity_name(k))
                .cloned()
        })
        .flatten();
        let Some(h) = self.handler() else { return };
        if let Some(k) = quantity {
            h.quantities.push(Site {
                span: access.span,
                what: k,
            });
        }
        if owned {
            if !h.owned_collections.contains(&collection) {
                h.owned_collections.push(collection);
            }
            if let Some(k) = sel.client.clone()
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

    /// A statement of a SQL driver (`pool.query('UPDATE orders SET status = ? WHERE id = ?',
    /// [body.status, body.id])`) as an access: see [`super::sql_access`].
    fn record_sql_access(&mut self, c: &CallExpression<'_>) {
        // `pool.query(sql, params)`, or a wrapper of the project's named like one
        // (`query(sql)`).
        let callee = c.callee.get_inner_expression();
        let Some(method) = callee
            .as_member_expression()
            .and_then(MemberExpression::static_property_name)
            .or_else(|| ident_name(callee))
        else {
            return;
        };
        if !matches!(method, "query" | "execute") {
            return;
        }
        let args = call_args(c);
        let part = |this: &Self, e: Option<&&Expression<'_>>| -> Option<SqlPart> {
            let e = e?;
            match e.get_inner_expression() {
                Expression::Identifier(id) => this
                    .lookup(id.name.as_str())
                    .and_then(|v| v.sql.as_deref().cloned()),
                other => this.sql_part(other),
            }
        };
        let Some(SqlPart::Text { text, holes }) = part(self, args.first()) else {
            return;
        };
        let Some(sql) = super::sql_access::read(&text) else {
            return;
        };
        let params = match part(self, args.get(1)) {
            Some(SqlPart::Params(p)) => p,
            _ => Vec::new(),
        };
        let value = |slot: super::sql_access::Slot| match slot {
            super::sql_access::Slot::Param(i) => params.get(i),
            super::sql_access::Slot::Interpolation(i) => holes.get(i),
            super::sql_access::Slot::Constant => None,
        };
        let mut data = Data::default();
        for (col, slot) in &sql.columns {
            if value(*slot).is_some_and(|(class, _)| class.contains(Src::CLIENT)) {
                data.client_keys.push(col.clone());
            }
            data.keys.push(col.clone());
        }
        let mut sel = Sel::default();
        for (col, slot) in &sql.conditions {
            sel.any = true;
            // A filter (`status = ?`, `type = ?`) narrows a list; a key column names records.
            if !sql_key_column(col) {
                continue;
            }
            // `WHERE sessionid = ?`: the caller's own session (or token) selects, and holding
            // it is the proof of who the caller is.
            if spec::has_word(col, &["session", "token", "skey"]) {
                sel.owned = true;
                continue;
            }
            let Some((class, text)) = value(*slot) else {
                continue;
            };
            if class.contains(Src::CLIENT) {
                if sel.client.is_none() {
                    sel.client = Some(text.clone());
                }
            } else if class.contains(Src::IDENTITY) {
                sel.owned = true;
            }
        }
        self.push_access(sql.op, Some(sql.table), c.span, method, &sel, data);
    }

    /// The text of a string concatenation, each operand that is not a literal a hole.
    fn concat_parts(
        &self,
        e: &Expression<'_>,
        depth: u32,
        text: &mut String,
        holes: &mut Vec<(Src, String)>,
    ) -> Option<()> {
        if depth > 64 || text.len() > 4096 {
            return None;
        }
        match e.get_inner_expression() {
            Expression::BinaryExpression(b)
                if b.operator == oxc_syntax::operator::BinaryOperator::Addition =>
            {
                self.concat_parts(&b.left, depth + 1, text, holes)?;
                self.concat_parts(&b.right, depth + 1, text, holes)
            }
            Expression::StringLiteral(s) => {
                text.push_str(s.value.as_str());
                Some(())
            }
            other => {
                text.push(crate::value::HOLE);
                holes.push((self.class(other), self.text(other.span())));
                Some(())
            }
        }
    }

    /// A SQL statement (a literal that reads as one) or a parameter array, with the provenance
    /// of what fills its places.
    fn sql_part(&self, e: &Expression<'_>) -> Option<SqlPart> {
        match e.get_inner_expression() {
            Expression::StringLiteral(s) => {
                let text = s.value.to_string();
                super::sql_access::read(&text)?;
                Some(SqlPart::Text {
                    text,
                    holes: Vec::new(),
                })
            }
            Expression::TemplateLiteral(t) => {
                let mut text = String::new();
                for (i, q) in t.quasis.iter().enumerate() {
                    text.push_str(q.value.raw.as_str());
                    if i < t.expressions.len() {
                        text.push(crate::value::HOLE);
                    }
                }
                super::sql_access::read(&text)?;
                let holes = t
                    .expressions
                    .iter()
                    .map(|x| (self.class(x), self.text(x.span())))
                    .collect();
                Some(SqlPart::Text { text, holes })
            }
            // `'UPDATE orders SET status = "' + data.status + '" WHERE id = ' + id`
            Expression::BinaryExpression(b)
                if b.operator == oxc_syntax::operator::BinaryOperator::Addition =>
            {
                let mut text = String::new();
                let mut holes = Vec::new();
                self.concat_parts(e, 0, &mut text, &mut holes)?;
                super::sql_access::read(&text)?;
                Some(SqlPart::Text { text, holes })
            }
            Expression::ArrayExpression(a) => Some(SqlPart::Params(
                a.elements
                    .iter()
                    .filter_map(|el| el.as_expression())
                    .map(|x| (self.class(x), self.text(x.span())))
                    .collect(),
            )),
            _ => None,
        }
    }

    fn record_call_facts(&mut self, c: &CallExpression<'_>) {
        let callee = c.callee.get_inner_expression();
        let callee_text = self.text(callee.span());
        let method = callee
            .as_member_expression()
            .and_then(MemberExpression::static_property_name)
            .or_else(|| ident_name(callee))
            .unwrap_or("");
        let args = call_args(c);
        let arg_classes: Vec<Src> = args.iter().map(|a| self.class(a)).collect();
        let any_identity_arg = arg_classes.iter().any(|s| s.contains(Src::IDENTITY));
        // Learn helper parameters: `update(event)` → the helper's first parameter is client;
        // `this.save(body)` → the method's.
        let local = ident_name(callee).or_else(|| {
            callee.as_member_expression().and_then(|m| {
                matches!(
                    m.object().get_inner_expression(),
                    Expression::ThisExpression(_)
                )
                .then(|| m.static_property_name())
                .flatten()
            })
        });
        if let Some(name) = local
            && arg_classes.iter().any(|s| !s.is_empty())
        {
            let e = self.hints.entry(name.to_owned()).or_default();
            if e.len() < arg_classes.len() {
                e.resize(arg_classes.len(), Src::empty());
            }
            // The platform context travels too: `update(event, wxContext)` and then
            // `doc.data._openid !== wxContext.OPENID` in the helper is an owner check.
            for (i, s) in arg_classes.iter().enumerate() {
                e[i] |= *s & (Src::CLIENT | Src::IDENTITY | Src::EVENT | Src::PLATFORM);
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
            && (self.pay_sdk || callee_text.to_ascii_lowercase().contains("pay"));
        // Mail or SMS whose recipient and content the client chooses: an open relay.
        let relay = (spec::SEND_METHODS.contains(&method)
            && args.first().is_some_and(|a| self.client_message(a)))
            || spec::SEND_POSITIONAL
                .iter()
                .find(|(m, _, _)| *m == method)
                .is_some_and(|&(_, to, content)| {
                    [to, content].iter().all(|&i| {
                        args.get(i)
                            .is_some_and(|a| self.class(a).contains(Src::CLIENT))
                    })
                });
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
        // A call into another module of the project with client input.
        let callout =
            if self.role == Role::Server && arg_classes.iter().any(|s| s.contains(Src::CLIENT)) {
                let target = match callee.as_member_expression() {
                    Some(m) => self
                        .target_of(m.object(), 0)
                        .zip(m.static_property_name().map(str::to_owned)),
                    None => ident_name(callee).and_then(|n| match self.imports.get(n) {
                        // The name is the import's own binding (not shadowed by a local).
                        Some((from, Some(export)))
                            if self.lookup(n).is_none_or(|v| v.target.is_some()) =>
                        {
                            Some((Rc::new(Target::Module(from.clone())), export.clone()))
                        }
                        _ => None,
                    }),
                };
                target.map(|(t, m)| Callout {
                    target: (*t).clone(),
                    method: m,
                    args: arg_classes
                        .iter()
                        .map(|s| *s & (Src::CLIENT | Src::IDENTITY))
                        .collect(),
                })
            } else {
                None
            };
        // A lower bound on a client number: `Math.max(1, n)`, joi `.min(1)`, options with
        // `min` (`ctx.validate({ num: { type: 'int', min: 1 } })`, `isInt(s, { min: 1 })`).
        let bounds = (matches!(callee_text.as_str(), "Math.max" | "Math.abs")
            && arg_classes.iter().any(|s| s.contains(Src::CLIENT)))
            // (`Math.min(num, stock)` is an upper bound.)
            || (spec::LOWER_BOUND_METHODS.contains(&method) && callee_text != "Math.min")
            || args.iter().any(|a| has_min_option(a, 0));
        // A cart or stock count changed by a client quantity: `.increment('number', number)`,
        // `number: _.inc(event.num)`.
        let quantity_increment = match &increment {
            Some(i) => {
                let named = i.field.as_deref().is_some_and(spec::is_quantity_name)
                    || spec::is_quantity_name(last_name(&i.delta));
                // `stock: _.inc(...)` and other value fields are A008's.
                let value = i
                    .field
                    .as_deref()
                    .is_some_and(|f| spec::has_word(f, spec::VALUE_FIELD_WORDS));
                (named && !value).then(|| Site {
                    span: i.span,
                    what: i.field.clone().unwrap_or_else(|| i.delta.clone()),
                })
            }
            None => None,
        };
        let outgoing = spec::has_word(&callee_text, spec::HTTP_CLIENT_WORDS).then(|| {
            let mut r = OutgoingRequest {
                write: matches!(method, "post" | "put" | "patch" | "delete"),
                ..OutgoingRequest::default()
            };
            for a in &args {
                self.outgoing_facts(a, 0, &mut r);
            }
            r
        });
        let span: Span = c.span.into();
        let what = callee_text;
        let Some(h) = self.handler() else { return };
        h.quantity_bounded |= bounds;
        if let Some(q) = quantity_increment {
            h.quantities.push(q);
        }
        if let Some(r) = outgoing {
            if r.login {
                if !r.proof
                    && let Some(id) = r.client_ids.first()
                {
                    h.identity_logins.push(Site {
                        span,
                        what: id.clone(),
                    });
                }
            } else if r.write {
                h.outgoing_writes.push(Site {
                    span,
                    what: what.clone(),
                });
            }
        }
        if let Some(c) = callout
            && h.callouts.len() < MAX_CALLOUTS
        {
            h.callouts.push(c);
        }
        h.verified |= verify;
        h.role_checked |= role_call || allow_list;
        h.owner_checked |= check_call;
        for a in amounts {
            h.client_amounts.push(a);
        }
        if relay {
            h.relays.push(Site {
                span,
                what: what.clone(),
            });
        }
        if refund {
            h.refunds.push(Site { span, what });
        }
        if let Some(i) = increment {
            h.increments.push(i);
        }
    }

    /// What the arguments of an outgoing request say (see [`OutgoingRequest`]): its URL and
    /// options, the objects of its body (also inside `JSON.stringify(...)`), a query string
    /// built in a template (`/login?openid=${event.openid}`).
    fn outgoing_facts(&self, e: &Expression<'_>, depth: u32, out: &mut OutgoingRequest) {
        if depth > 6 {
            return;
        }
        let next = depth + 1;
        match e.get_inner_expression() {
            Expression::StringLiteral(s) => {
                out.login |= spec::has_word(&s.value, spec::LOGIN_WORDS);
            }
            // A body built before the call.
            Expression::Identifier(id) => {
                if let Some(part) = self.request_parts.get(id.name.as_str()) {
                    out.login |= part.login;
                    out.proof |= part.proof;
                    out.client_ids.extend(part.client_ids.iter().cloned());
                }
            }
            Expression::TemplateLiteral(t) => {
                for (i, q) in t.quasis.iter().enumerate() {
                    let raw = q.value.raw.as_str();
                    out.login |= spec::has_word(raw, spec::LOGIN_WORDS);
                    // `?openid=${event.openid}`
                    if let Some(x) = t.expressions.get(i)
                        && let Some(key) = raw
                            .strip_suffix('=')
                            .and_then(|s| s.rsplit(['?', '&']).next())
                        && identity_key(key)
                        && self.class(x).contains(Src::CLIENT)
                    {
                        out.client_ids
                            .push(format!("{key}={}", self.text(x.span())));
                    }
                }
                for x in &t.expressions {
                    self.outgoing_facts(x, next, out);
                }
            }
            Expression::BinaryExpression(b) => {
                self.outgoing_facts(&b.left, next, out);
                self.outgoing_facts(&b.right, next, out);
            }
            Expression::CallExpression(c) => {
                for a in c.arguments.iter().filter_map(Argument::as_expression) {
                    self.outgoing_facts(a, next, out);
                }
            }
            Expression::ArrayExpression(a) => {
                for el in a.elements.iter().filter_map(|el| el.as_expression()) {
                    self.outgoing_facts(el, next, out);
                }
            }
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else {
                        continue;
                    };
                    let Some(k) = key_name(&p.key) else { continue };
                    let norm = k.to_ascii_lowercase().replace(['_', '-'], "");
                    if spec::PROOF_KEYS.contains(&norm.as_str()) {
                        out.proof = true;
                    }
                    if k.eq_ignore_ascii_case("method")
                        && let Expression::StringLiteral(m) = p.value.get_inner_expression()
                    {
                        out.write |= matches!(
                            m.value.to_ascii_uppercase().as_str(),
                            "POST" | "PUT" | "PATCH" | "DELETE"
                        );
                    }
                    if k.to_ascii_lowercase().starts_with("login")
                        && matches!(p.value.get_inner_expression(), Expression::StringLiteral(_))
                    {
                        out.login = true;
                    }
                    if identity_key(&k) && self.class(&p.value).contains(Src::CLIENT) {
                        out.client_ids
                            .push(format!("{k}: {}", self.text(p.value.span())));
                    }
                    self.outgoing_facts(&p.value, next, out);
                }
            }
            _ => {}
        }
    }

    /// `num < 1`, `count <= 0`, `0 < quantity`: a client number compared with 0 or 1 has a
    /// lower bound in this handler.
    fn lower_bound(&mut self, bin: &BinaryExpression<'_>) {
        for (x, lit) in [(&bin.left, &bin.right), (&bin.right, &bin.left)] {
            let Expression::NumericLiteral(n) = lit.get_inner_expression() else {
                continue;
            };
            if !(0.0..=1.0).contains(&n.value) {
                continue;
            }
            let named = spec::is_quantity_name(last_name(&self.text(x.span())));
            if named || self.class(x).contains(Src::CLIENT) {
                if let Some(h) = self.handler() {
                    h.quantity_bounded = true;
                }
                return;
            }
        }
    }

    /// `goods.retail_price * number`: a quantity the client chose, multiplied into a price.
    fn quantity_product(&mut self, bin: &BinaryExpression<'_>) {
        if bin.operator != oxc_syntax::operator::BinaryOperator::Multiplication {
            return;
        }
        for (q, other) in [(&bin.left, &bin.right), (&bin.right, &bin.left)] {
            let q = number_of(q);
            if !(matches!(q, Expression::Identifier(_)) || q.as_member_expression().is_some()) {
                continue;
            }
            let q_text = self.text(q.span());
            if !spec::is_quantity_name(last_name(&q_text)) || !self.class(q).contains(Src::CLIENT) {
                continue;
            }
            let other_text = self.text(number_of(other).span());
            if !spec::has_word(last_name(&other_text), spec::PRICE_WORDS) {
                continue;
            }
            let span: Span = bin.span.into();
            if let Some(h) = self.handler() {
                h.quantities.push(Site { span, what: q_text });
            }
            return;
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
        if bin.operator.is_compare() {
            self.lower_bound(bin);
            return;
        }
        if !bin.operator.is_equality() {
            return;
        }
        // A signature computed here compared with the one received (`if (sign !==
        // returnSign)`): the request is verified, a payment notification's fields are the
        // platform's.
        let named_sign = |e: &Expression<'_>| {
            let t = self.text(e.span()).to_ascii_lowercase();
            t.len() <= 80 && t.contains("sign") && !t.contains("design")
        };
        if named_sign(&bin.left)
            && named_sign(&bin.right)
            && let Some(h) = self.handler()
        {
            h.verified = true;
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
        let from_client =
            base.contains(Src::EVENT) || (self.role == Role::Server && base.contains(Src::CLIENT));
        if from_client && spec::NOTIFY_FIELDS.contains(&prop) {
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
                    // egg: `const { service } = this.ctx`.
                    // `const { ordersOf } = require('./db')`: a function of that module.
                    let target = (key == "service"
                        && v.src.intersects(Src::REQUEST | Src::CONTROLLER))
                    .then(|| Rc::new(Target::EggService(Vec::new())))
                    .or_else(|| {
                        v.target
                            .clone()
                            .filter(|t| matches!(**t, Target::Module(_)))
                    });
                    let fv = Var {
                        src: Self::member(v.src, Some(&key)),
                        chain: None,
                        target,
                        sql: None,
                    };
                    self.bind_pattern(&prop.value, &fv, declare);
                }
                if let Some(rest) = &o.rest {
                    let rv = Var {
                        src: v.src & (Src::CLIENT | Src::IDENTITY),
                        chain: None,
                        target: None,
                        sql: None,
                    };
                    self.bind_pattern(&rest.argument, &rv, declare);
                }
            }
            BindingPattern::ArrayPattern(a) => {
                let ev = Var {
                    src: v.src & (Src::CLIENT | Src::IDENTITY),
                    chain: None,
                    target: None,
                    sql: None,
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
                    target: v.target.clone(),
                    sql: None,
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
        let guards = self.pending_guards.take();
        // Parameters.
        let hint = name.and_then(|n| self.hints.get(n)).cloned();
        let mut decorated = false;
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
            // nest: `@Body() dto`, `@Query('id') id`, `@Req() req`, `@User() user`.
            if self.role == Role::Server {
                for d in &p.decorators {
                    let callee = match d.expression.get_inner_expression() {
                        Expression::CallExpression(c) => ident_name(&c.callee),
                        other => ident_name(other),
                    };
                    if let Some((_, what)) =
                        callee.and_then(|c| spec::PARAM_DECORATORS.iter().find(|(n, _)| *n == c))
                    {
                        decorated = true;
                        src |= match what {
                            spec::RequestMember::Client => Src::CLIENT,
                            spec::RequestMember::Request => Src::REQUEST,
                            spec::RequestMember::Identity => Src::IDENTITY,
                        };
                    }
                }
            }
            let v = Var {
                src,
                chain: None,
                target: None,
                sql: None,
            };
            self.bind_pattern(&p.pattern, &v, true);
        }
        if self.callee {
            // Callee mode: the functions that received client input are the handler's.
            let receives = hint
                .as_ref()
                .is_some_and(|h| h.iter().any(|s| s.intersects(Src::CLIENT | Src::IDENTITY)));
            if !receives {
                return false;
            }
            if !self.entered
                && !self.learning
                && let Some(h) = self.current.as_mut()
            {
                h.span = span.into();
            }
            if !self.learning {
                self.entered = true;
            }
            self.active += 1;
            return true;
        }
        if self.role != Role::Server || self.current.is_some() {
            return false;
        }
        let takes_request = params.items.iter().any(|p| {
            p.pattern
                .get_identifier_name()
                .is_some_and(|n| spec::REQUEST_ROOTS.contains(&n.as_str()))
        });
        if !(takes_request || decorated || (is_method && self.in_controller())) {
            return false;
        }
        let (route, mut mw_role, mut mw_any) = self
            .routes
            .get(&span.start)
            .cloned()
            .unwrap_or_else(|| (name.unwrap_or_default().to_owned(), false, false));
        for (role, any) in guards.into_iter().chain(self.class_guards.last().copied()) {
            mw_role |= role;
            mw_any |= any;
        }
        let mut h = Handler::new(HandlerKind::Route, route, span.into(), self.admin_path);
        h.role_checked = mw_role;
        h.has_middleware = mw_any;
        self.current = Some(h);
        true
    }

    fn leave_function(&mut self, started: bool) {
        self.scopes.pop();
        if self.callee {
            if started {
                self.active = self.active.saturating_sub(1);
            }
            return;
        }
        if started && let Some(h) = self.current.take() {
            self.handlers.push(h);
        }
    }

    /// The guards that decorators put on a method or a class (nest `@UseGuards(RolesGuard)`,
    /// `@Roles('admin')`): (a role check, any guard).
    fn decorator_guards(&self, decorators: &[oxc_ast::ast::Decorator<'_>]) -> Option<(bool, bool)> {
        let mut found = None;
        for d in decorators {
            let callee = match d.expression.get_inner_expression() {
                Expression::CallExpression(c) => ident_name(&c.callee),
                other => ident_name(other),
            };
            if callee.is_some_and(|c| spec::GUARD_DECORATORS.contains(&c)) {
                let role = spec::has_word(&self.text(d.span), spec::ROLE_MIDDLEWARE_WORDS);
                let (r, _) = found.unwrap_or((false, true));
                found = Some((r || role, true));
            }
        }
        found
    }

    /// The services a class gets through its constructor (nest `constructor(private readonly
    /// orders: OrdersService)`), by field name, where the type is imported from a module; and
    /// its repositories and models (`@InjectRepository(Order) private repo:
    /// Repository<Order>`), by field name, with the entity's name.
    fn injected_fields(
        &self,
        class: &Class<'_>,
    ) -> (FxHashMap<String, Rc<Target>>, FxHashMap<String, String>) {
        let mut services = FxHashMap::default();
        let mut models = FxHashMap::default();
        for el in &class.body.body {
            let oxc_ast::ast::ClassElement::MethodDefinition(m) = el else {
                continue;
            };
            if m.kind != oxc_ast::ast::MethodDefinitionKind::Constructor {
                continue;
            }
            for p in &m.value.params.items {
                if p.accessibility.is_none() && !p.readonly {
                    continue;
                }
                let Some(field) = p.pattern.get_identifier_name() else {
                    continue;
                };
                let Some(t) = &p.type_annotation else {
                    continue;
                };
                let ty = self.text(t.type_annotation.span());
                if let Some((outer, inner)) = ty.split_once('<') {
                    let entity = inner.trim_end_matches('>').trim();
                    if spec::REPOSITORY_TYPES.contains(&outer.trim())
                        && !entity.is_empty()
                        && entity
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        models.insert(field.to_string(), entity.to_owned());
                    }
                    continue;
                }
                if let Some((from, _)) = self.imports.get(ty.as_str()) {
                    services.insert(field.to_string(), Rc::new(Target::Module(from.clone())));
                }
            }
        }
        (services, models)
    }

    /// Where a call on `e` goes, when `e` is another module of the project: an imported
    /// module, egg's `service.<name>`, thinkjs `this.service('name')`, a nest service
    /// injected into the controller.
    fn target_of(&self, e: &Expression<'_>, depth: u32) -> Option<Rc<Target>> {
        if depth > 8 {
            return None;
        }
        match strip(e) {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                if let Some(t) = self.lookup(name).and_then(|v| v.target.clone()) {
                    return Some(t);
                }
                match self.imports.get(name) {
                    Some((from, None)) => Some(Rc::new(Target::Module(from.clone()))),
                    _ => None,
                }
            }
            Expression::CallExpression(c) => {
                // `require('./db')`: the module itself.
                if ident_name(&c.callee) == Some("require")
                    && let Some(Expression::StringLiteral(from)) = c
                        .arguments
                        .first()
                        .and_then(Argument::as_expression)
                        .map(Expression::get_inner_expression)
                    && from.value.starts_with('.')
                {
                    return Some(Rc::new(Target::Module(from.value.to_string())));
                }
                // thinkjs `this.service('order', 'api')`, `think.service('order')`.
                let m = c.callee.get_inner_expression().as_member_expression()?;
                if m.static_property_name() != Some("service") {
                    return None;
                }
                let lit = |i: usize| match c
                    .arguments
                    .get(i)
                    .and_then(Argument::as_expression)
                    .map(Expression::get_inner_expression)
                {
                    Some(Expression::StringLiteral(s)) => Some(s.value.to_string()),
                    _ => None,
                };
                Some(Rc::new(Target::ThinkService(lit(0)?, lit(1))))
            }
            other => {
                let m = other.as_member_expression()?;
                let prop = m.static_property_name()?;
                let obj = m.object();
                if let Expression::ThisExpression(_) = obj.get_inner_expression()
                    && let Some(t) = self.class_fields.last().and_then(|f| f.get(prop))
                {
                    return Some(t.clone());
                }
                if prop == "service" && self.class(obj).intersects(Src::REQUEST | Src::CONTROLLER) {
                    return Some(Rc::new(Target::EggService(Vec::new())));
                }
                match self.target_of(obj, depth + 1).as_deref() {
                    Some(Target::EggService(names)) => {
                        let mut names = names.clone();
                        names.push(prop.to_owned());
                        Some(Rc::new(Target::EggService(names)))
                    }
                    _ => None,
                }
            }
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
        let args = call_args(c);
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
        // nest: `@Controller('orders')`.
        let decorated = it.decorators.iter().any(|d| {
            let callee = match d.expression.get_inner_expression() {
                Expression::CallExpression(c) => ident_name(&c.callee),
                other => ident_name(other),
            };
            callee.is_some_and(|c| spec::CONTROLLER_DECORATORS.contains(&c))
        });
        let is_controller = self.role == Role::Server
            && (decorated
                || sup.contains("Controller")
                || sup.contains("Base")
                || sup.contains("think")
                || sup.contains("Service"));
        self.controller_class.push(is_controller);
        let (fields, models) = self.injected_fields(it);
        self.class_fields.push(fields);
        self.class_models.push(models);
        let guards = self.decorator_guards(&it.decorators).unwrap_or_default();
        self.class_guards.push(guards);
        walk::walk_class(self, it);
        self.class_guards.pop();
        self.class_models.pop();
        self.class_fields.pop();
        self.controller_class.pop();
    }

    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        self.pending_method = true;
        self.pending_fn_name = key_name(&it.key);
        self.pending_guards = self.decorator_guards(&it.decorators);
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
            if let Some(n) = it.id.get_identifier_name()
                && matches!(
                    init.get_inner_expression(),
                    Expression::ObjectExpression(_) | Expression::CallExpression(_)
                )
                && self.request_parts.len() < 256
            {
                let mut part = OutgoingRequest::default();
                self.outgoing_facts(init, 0, &mut part);
                if part.login || part.proof || !part.client_ids.is_empty() {
                    self.request_parts.insert(n.to_string(), part);
                }
            }
            let v = Var {
                src: self.class(init),
                chain: self.chain_of(init, 0).map(Rc::new),
                target: self.target_of(init, 0),
                sql: self.sql_part(init).map(Rc::new),
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
        // `exports.submit = async (openId, price) => {...}`: the function's name.
        if matches!(
            it.right.get_inner_expression(),
            Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
        ) {
            self.pending_fn_name.clone_from(&key);
        }
        self.keys.push(key);
        self.visit_expression(&it.right);
        self.keys.pop();
        let v = Var {
            src: self.class(&it.right),
            chain: self.chain_of(&it.right, 0).map(Rc::new),
            target: self.target_of(&it.right, 0),
            // Only a plain `=` replaces what the name held.
            sql: (it.operator == oxc_syntax::operator::AssignmentOperator::Assign)
                .then(|| self.sql_part(&it.right).map(Rc::new))
                .flatten(),
        };
        match &it.left {
            AssignmentTarget::AssignmentTargetIdentifier(id) => self.assign(id.name.as_str(), &v),
            other => {
                if let Some(m) = other.as_member_expression() {
                    self.visit_expression(m.object());
                    // `ctx.request.body.openId = session.openId`: the server puts the caller
                    // into the client's input for the handlers after it.
                    if let Some(prop) = m.static_property_name()
                        && spec::OWNER_FIELDS.contains(&prop)
                        && self.class(m.object()).contains(Src::CLIENT)
                        && !v.src.contains(Src::CLIENT)
                        && !self.learning
                        && self.server_owner_writes.len() < 64
                    {
                        let obj = self.text(m.object().span());
                        self.server_owner_writes.push((obj, prop.to_owned()));
                    }
                }
            }
        }
    }

    fn visit_object_expression(&mut self, it: &ObjectExpression<'a>) {
        walk::walk_object_expression(self, it);
        self.owner_override(it);
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let key = key_name(&it.key);
        // Mongo `$inc: { balance: body.amount }`.
        if key.as_deref() == Some("$inc")
            && let Expression::ObjectExpression(o) = it.value.get_inner_expression()
        {
            self.mongo_inc(o);
        }
        // `module.exports = { submit: async (openId) => {...}, detail(id) {...} }`.
        if matches!(
            it.value.get_inner_expression(),
            Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
        ) {
            self.pending_fn_name.clone_from(&key);
        }
        self.keys.push(key);
        walk::walk_object_property(self, it);
        self.keys.pop();
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        self.note_route(it);
        walk::walk_call_expression(self, it);
        self.record_access(it);
        self.record_sql_access(it);
        self.record_call_facts(it);
    }

    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        walk::walk_binary_expression(self, it);
        self.comparison(it);
        self.quantity_product(it);
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
    /// An object literal in which a spread of client input comes after an owner field the
    /// server set: the client's value wins.
    fn owner_override(&mut self, o: &ObjectExpression<'_>) {
        if self.learning || self.handler().is_none() {
            return;
        }
        let mut protected: Option<(String, Option<String>)> = None;
        let mut found = Vec::new();
        for p in &o.properties {
            match p {
                ObjectPropertyKind::ObjectProperty(p) => {
                    let Some(k) = key_name(&p.key) else { continue };
                    if spec::OWNER_FIELDS.contains(&k.as_str()) {
                        let c = self.class(&p.value);
                        protected = (c.contains(Src::IDENTITY) && !c.contains(Src::CLIENT))
                            .then_some((k, None));
                    }
                }
                ObjectPropertyKind::SpreadProperty(sp) => {
                    let text = self.text(sp.argument.span());
                    if let Some((_, field)) = self
                        .server_owner_writes
                        .iter()
                        .find(|(obj, _)| *obj == text)
                    {
                        protected = Some((field.clone(), Some(text)));
                        continue;
                    }
                    let Some((field, from)) = &protected else {
                        continue;
                    };
                    if from.as_deref() != Some(text.as_str())
                        && self.class(&sp.argument).contains(Src::CLIENT)
                    {
                        found.push(Override {
                            span: sp.span.into(),
                            field: field.clone(),
                            spread: text,
                        });
                        protected = None;
                    }
                }
            }
        }
        if let Some(h) = self.handler() {
            h.client_overrides.extend(found);
        }
    }

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
