//! The abstract values the evaluator computes for expressions.
//!
//! A [`Value`] says, for one expression, everything the rules need to know without running the
//! program: which untrusted sources can reach it ([`Taint`]), which kinds of sensitive data it
//! carries ([`Labels`]), which sanitizers it went through ([`Sanitized`]), what its text is when
//! that is known (with holes where unknown parts go), and what it is (an object with fields, a
//! function, a known API such as `wx.request` or `child_process.exec`).

use std::rc::Rc;

use bitflags::bitflags;
use miniguard_report::{Msg, msg};

bitflags! {
    /// Where untrusted data comes from.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct SourceKind: u16 {
        /// The `event` of a cloud function: whatever the client sent.
        const CLOUD_EVENT = 1 << 0;
        /// An HTTP request to a Node backend: body, query, params, headers, cookies, URL.
        const HTTP_REQUEST = 1 << 1;
        /// Page `onLoad(options)` / query parameters: anyone can open a page with any query.
        const PAGE_OPTIONS = 1 << 2;
        /// What the user typed: `e.detail.value` of input events, modal content.
        const USER_INPUT = 1 << 3;
        /// A network response (`wx.request` success data).
        const NETWORK = 1 << 4;
        /// Local storage (`getStorageSync`).
        const STORAGE = 1 << 5;
        /// The clipboard.
        const CLIPBOARD = 1 << 6;
        /// A user identity (openid, user id) taken from client-controlled input.
        const CLIENT_IDENTITY = 1 << 7;
    }
}

impl SourceKind {
    /// Sources that reach server-side sinks (SQL, shell, file paths, outgoing requests).
    pub const SERVER_INPUT: SourceKind = SourceKind::CLOUD_EVENT.union(SourceKind::HTTP_REQUEST);
    /// Sources an attacker controls on the client side (page links, typed text, clipboard).
    pub const CLIENT_INPUT: SourceKind = SourceKind::PAGE_OPTIONS
        .union(SourceKind::USER_INPUT)
        .union(SourceKind::CLIPBOARD);
    /// Everything an attacker may control, on either side.
    pub const ATTACKER: SourceKind = SourceKind::SERVER_INPUT.union(SourceKind::CLIENT_INPUT);

    /// Where the data came from, as a finding's message says it.
    pub fn describe(self) -> Msg {
        if self.contains(SourceKind::CLIENT_IDENTITY) {
            msg!("source.client-identity")
        } else if self.contains(SourceKind::CLOUD_EVENT) {
            msg!("source.cloud-event")
        } else if self.contains(SourceKind::HTTP_REQUEST) {
            msg!("source.http-request")
        } else if self.contains(SourceKind::PAGE_OPTIONS) {
            msg!("source.page-options")
        } else if self.contains(SourceKind::USER_INPUT) {
            msg!("source.user-input")
        } else if self.contains(SourceKind::CLIPBOARD) {
            msg!("source.clipboard")
        } else if self.contains(SourceKind::NETWORK) {
            msg!("source.network")
        } else if self.contains(SourceKind::STORAGE) {
            msg!("source.storage")
        } else {
            msg!("source.untrusted")
        }
    }
}

bitflags! {
    /// Kinds of sensitive data, recognised mostly by the names data travels under.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Labels: u16 {
        const TOKEN = 1 << 0;
        const PASSWORD = 1 << 1;
        const SESSION_KEY = 1 << 2;
        const PHONE = 1 << 3;
        const ID_NUMBER = 1 << 4;
        const SECRET = 1 << 5;
        const BANK_CARD = 1 << 6;
    }
}

impl Labels {
    /// The kind of data, as a finding's message says it ("a password").
    pub fn describe(self) -> Msg {
        if self.contains(Labels::PASSWORD) {
            msg!("label.password")
        } else if self.contains(Labels::SESSION_KEY) {
            msg!("label.session-key")
        } else if self.contains(Labels::SECRET) {
            msg!("label.secret")
        } else if self.contains(Labels::ID_NUMBER) {
            msg!("label.id-number")
        } else if self.contains(Labels::BANK_CARD) {
            msg!("label.bank-card")
        } else if self.contains(Labels::PHONE) {
            msg!("label.phone")
        } else if self.contains(Labels::TOKEN) {
            msg!("label.token")
        } else {
            msg!("label.sensitive")
        }
    }
}

bitflags! {
    /// Sanitizers the data went through, each neutralising one kind of sink.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Sanitized: u16 {
        const HTML = 1 << 0;
        const SQL = 1 << 1;
        const SHELL = 1 << 2;
        const PATH = 1 << 3;
        const URL = 1 << 4;
        /// Encrypted or hashed: no longer readable sensitive data.
        const ENCRYPTED = 1 << 5;
        /// Coerced to a primitive string (`String(x)`, template literal): no operator objects.
        const PRIMITIVE = 1 << 6;
        /// Masked for display (`138****8000`, `maskPhone(x)`): no longer the sensitive value.
        const MASKED = 1 << 7;
        /// A clock reading (`Date.now()`, `new Date().getTime()`): a time, whatever name it is
        /// kept under (`token = Date.now()` is a login timestamp, not a credential).
        const CLOCK = 1 << 8;
    }
}

impl Sanitized {
    /// What a value has been through that makes it no longer the sensitive data its names or
    /// sources say: encrypted or hashed, masked, or never such data (a clock reading).
    pub const NOT_SENSITIVE: Sanitized = Sanitized::ENCRYPTED
        .union(Sanitized::MASKED)
        .union(Sanitized::CLOCK);
}

/// A place in a file, for traces. `file` is the report path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Rc<str>,
    pub start: u32,
    pub end: u32,
    /// What is there, e.g. `event.sql` or `'http://api.example.com'`.
    pub what: Rc<str>,
}

/// The sources that reach a value, and where the first of them is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taint {
    pub kinds: SourceKind,
    pub origin: Option<Rc<Origin>>,
    /// Where the tainted data was first built into a string (a template literal or `+`): the
    /// place to fix for string-building flaws such as SQL or shell commands. Findings are
    /// located there, so one flaw reached through several wrappers is one finding.
    pub built: Option<Rc<Origin>>,
    /// The value's text begins with data of this taint: a string whose start the source chose
    /// (`baseUrl + '/login'` with `baseUrl` from the client, however many variables it went
    /// through), not a configured base followed by tainted parts.
    pub leads: bool,
}

impl Taint {
    pub fn new(kinds: SourceKind, origin: Rc<Origin>) -> Self {
        Taint {
            kinds,
            origin: Some(origin),
            built: None,
            leads: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn join(&mut self, other: &Taint) {
        if other.kinds.is_empty() {
            return;
        }
        if self.origin.is_none() || self.kinds.is_empty() {
            self.origin.clone_from(&other.origin);
        }
        if self.built.is_none() {
            self.built.clone_from(&other.built);
        }
        self.kinds |= other.kinds;
        self.leads |= other.leads;
    }
}

/// The known start two texts share, followed by a hole; `None` when they share none.
fn common_prefix(a: &str, b: &str) -> Option<Rc<str>> {
    let len: usize = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y && *x != HOLE)
        .map(|(x, _)| x.len_utf8())
        .sum();
    (len > 0).then(|| Rc::from(format!("{}{HOLE}", &a[..len])))
}

/// The character that stands for an unknown part inside a known text.
pub const HOLE: char = '\u{FFFC}';
/// Texts longer than this are cut (and end in a hole).
const MAX_TEXT: usize = 4096;

/// What kind of thing a value is.
#[derive(Clone, Debug, Default)]
pub enum Kind<'a> {
    #[default]
    Unknown,
    /// An object whose fields we know (at least some of them).
    Object(Rc<Obj<'a>>),
    /// An array; the value stands for every element.
    Array(Rc<Value<'a>>),
    /// A function defined in analysed code.
    Func(FuncRef<'a>),
    /// A known API or module member, by canonical dotted path (`mp.request`,
    /// `child_process.exec`, `@req`, `crypto.createHash()`).
    Api(Rc<str>),
    /// A module of the project (`require('./config')`), by index in the module set.
    Module(usize),
}

/// An object's known fields, in insertion order.
#[derive(Clone, Debug, Default)]
pub struct Obj<'a> {
    pub fields: Vec<(Rc<str>, Value<'a>)>,
}

impl<'a> Obj<'a> {
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }

    /// The fields after a spread (`{ qty: 10, ...data }`) or `Object.assign(defaults, data)` of
    /// `over`: a field `over` may hold beyond the ones known of it can replace each field set
    /// before, so each now may be what `over` holds (its taint), or what it was.
    pub fn overlay_unknown(&mut self, over: &Value<'a>) {
        let taint = match &over.kind {
            Kind::Object(_) => over.taint.clone(),
            _ => over.deep_taint(),
        };
        if taint.is_empty() {
            return;
        }
        let known = over.obj();
        let maybe = Value {
            taint,
            ..Value::default()
        };
        for (k, v) in &mut self.fields {
            if known.is_none_or(|o| o.get(k).is_none()) {
                v.join_in(&maybe);
            }
        }
    }

    pub fn set(&mut self, name: &str, value: Value<'a>) {
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| &**k == name) {
            slot.1 = value;
        } else {
            self.fields.push((Rc::from(name), value));
        }
    }
}

/// A function of the analysed code: which module it is in and its AST node.
#[derive(Clone, Copy, Debug)]
pub struct FuncRef<'a> {
    pub module: usize,
    pub node: FuncNode<'a>,
}

#[derive(Clone, Copy, Debug)]
pub enum FuncNode<'a> {
    Function(&'a oxc_ast::ast::Function<'a>),
    Arrow(&'a oxc_ast::ast::ArrowFunctionExpression<'a>),
    Class(&'a oxc_ast::ast::Class<'a>),
}

impl FuncNode<'_> {
    /// Start offset of the node: with the module index it identifies the function.
    pub fn start(&self) -> u32 {
        match self {
            FuncNode::Function(f) => f.span.start,
            FuncNode::Arrow(f) => f.span.start,
            FuncNode::Class(c) => c.span.start,
        }
    }
}

/// The abstract value of an expression.
#[derive(Clone, Debug, Default)]
pub struct Value<'a> {
    pub taint: Taint,
    pub labels: Labels,
    pub sanitized: Sanitized,
    /// The text when (partly) known; unknown parts are [`HOLE`]s.
    pub text: Option<Rc<str>>,
    /// Where the known leading text came from (the first string literal), for traces.
    pub text_origin: Option<Rc<Origin>>,
    pub kind: Kind<'a>,
}

impl<'a> Value<'a> {
    pub fn unknown() -> Self {
        Value::default()
    }

    pub fn text(text: &str, origin: Option<Rc<Origin>>) -> Self {
        let mut t = text.to_owned();
        truncate(&mut t);
        Value {
            text: Some(Rc::from(t)),
            text_origin: origin,
            ..Value::default()
        }
    }

    pub fn api(path: &str) -> Self {
        Value {
            kind: Kind::Api(Rc::from(path)),
            ..Value::default()
        }
    }

    pub fn object(obj: Obj<'a>) -> Self {
        Value {
            kind: Kind::Object(Rc::new(obj)),
            ..Value::default()
        }
    }

    pub fn tainted(kinds: SourceKind, origin: Rc<Origin>) -> Self {
        Value {
            taint: Taint::new(kinds, origin),
            ..Value::default()
        }
    }

    pub fn api_path(&self) -> Option<&str> {
        match &self.kind {
            Kind::Api(p) => Some(p),
            _ => None,
        }
    }

    pub fn obj(&self) -> Option<&Obj<'a>> {
        match &self.kind {
            Kind::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A field of an object value, if known.
    pub fn field(&self, name: &str) -> Option<&Value<'a>> {
        self.obj().and_then(|o| o.get(name))
    }

    /// The exact text, when it has no unknown parts.
    pub fn exact_text(&self) -> Option<&str> {
        self.text.as_deref().filter(|t| !t.contains(HOLE))
    }

    /// The known text before the first unknown part ("" when the text is unknown).
    pub fn prefix(&self) -> &str {
        match &self.text {
            Some(t) => t.split(HOLE).next().unwrap_or(""),
            None => "",
        }
    }

    /// Taint of the value and of everything inside it (fields, elements), with the sanitizers
    /// that apply to all of it.
    pub fn deep_taint(&self) -> Taint {
        let mut t = self.taint.clone();
        self.visit_inner(&mut |v| t.join(&v.taint), 0);
        t
    }

    /// Labels of the value and everything inside it, including labels that field names give.
    pub fn deep_labels(&self) -> Labels {
        let mut l = self.effective_labels();
        self.visit_inner(&mut |v| l |= v.effective_labels(), 0);
        if let Kind::Object(o) = &self.kind {
            for (k, v) in &o.fields {
                if !v.sanitized.intersects(Sanitized::NOT_SENSITIVE) && !v.is_constant() {
                    l |= crate::names::labels_for_name(k);
                }
            }
        }
        l
    }

    /// Labels that still matter: none once encrypted, hashed or masked, nor for a clock reading.
    pub fn effective_labels(&self) -> Labels {
        if self.sanitized.intersects(Sanitized::NOT_SENSITIVE) {
            Labels::empty()
        } else {
            self.labels
        }
    }

    /// Nothing is known: no text, no taint, no labels, no shape.
    pub fn is_blank(&self) -> bool {
        self.text.is_none()
            && self.taint.is_empty()
            && self.labels.is_empty()
            && matches!(self.kind, Kind::Unknown)
    }

    /// Built from constants only: a literal, or a combination of literals.
    pub fn is_constant(&self) -> bool {
        self.exact_text().is_some() && self.taint.is_empty()
    }

    fn visit_inner(&self, f: &mut dyn FnMut(&Value<'a>), depth: u32) {
        if depth > 6 {
            return;
        }
        match &self.kind {
            Kind::Object(o) => {
                for (_, v) in &o.fields {
                    f(v);
                    v.visit_inner(f, depth + 1);
                }
            }
            Kind::Array(e) => {
                f(e);
                e.visit_inner(f, depth + 1);
            }
            _ => {}
        }
    }

    /// Attacker-controlled taint that has not been neutralised by any of `sanitizers`.
    pub fn attacker_taint(&self, kinds: SourceKind, sanitizers: Sanitized) -> Option<Taint> {
        if self.sanitized.intersects(sanitizers) {
            return None;
        }
        let t = self.deep_taint();
        if t.kinds.intersects(kinds) {
            Some(t)
        } else {
            None
        }
    }

    /// The value flowing into a string: text joined with holes, taint and labels kept.
    pub fn concat(&self, other: &Value<'a>) -> Value<'a> {
        let mut out = Value::default();
        let mut text = String::new();
        text.push_str(self.text.as_deref().unwrap_or("\u{FFFC}"));
        text.push_str(other.text.as_deref().unwrap_or("\u{FFFC}"));
        collapse_holes(&mut text);
        truncate(&mut text);
        out.text = Some(Rc::from(text));
        out.text_origin = if self.text.as_deref() == Some("") {
            other
                .text_origin
                .clone()
                .or_else(|| self.text_origin.clone())
        } else {
            self.text_origin
                .clone()
                .or_else(|| other.text_origin.clone())
        };
        out.taint = self.deep_taint();
        out.taint.join(&other.deep_taint());
        out.taint.leads = if self.text.as_deref() == Some("") {
            other.starts_tainted()
        } else {
            self.starts_tainted()
        };
        out.labels = self.deep_labels() | other.deep_labels();
        // A sanitizer survives concatenation only when every tainted part went through it.
        out.sanitized = match (self.taint.is_empty(), other.taint.is_empty()) {
            (true, true) => Sanitized::empty(),
            (false, true) => self.sanitized,
            (true, false) => other.sanitized,
            (false, false) => self.sanitized & other.sanitized,
        } | Sanitized::PRIMITIVE;
        out
    }

    /// Whether the value's text begins with tainted data: a tainted value whose text is
    /// unknown, or a string that was built to start so.
    pub fn starts_tainted(&self) -> bool {
        if self.taint.is_empty() {
            return false;
        }
        match self.text.as_deref() {
            None => true,
            Some(t) => t.starts_with(HOLE) && self.taint.leads,
        }
    }

    /// Join of two possible values (branches, several returns): whatever either may be.
    #[must_use]
    pub fn join(&self, other: &Value<'a>) -> Value<'a> {
        let mut out = self.clone();
        out.join_in(other);
        out
    }

    pub fn join_in(&mut self, other: &Value<'a>) {
        let self_clean = self.taint.is_empty();
        let other_clean = other.taint.is_empty();
        self.sanitized = match (self_clean, other_clean) {
            (true, true) => self.sanitized & other.sanitized,
            (false, true) => self.sanitized,
            (true, false) => other.sanitized,
            (false, false) => self.sanitized & other.sanitized,
        };
        self.taint.join(&other.taint);
        self.labels |= other.labels;
        // A side we know nothing about (an absent argument, `undefined`) does not erase what the
        // other side says: `base || 'http://api.example.com'` may well be that URL.
        if self.is_blank() {
            self.text.clone_from(&other.text);
            self.text_origin.clone_from(&other.text_origin);
        } else if !other.is_blank() && self.text != other.text {
            // Two known texts: what they start with is known (`cond ? '/pages/a?id=' + x :
            // '/pages/a?id=' + y + '&t=1'` is `/pages/a?id=` then something).
            self.text = match (&self.text, &other.text) {
                (Some(a), Some(b)) => common_prefix(a, b),
                _ => None,
            };
            self.text_origin = None;
        }
        self.kind = match (std::mem::take(&mut self.kind), &other.kind) {
            (Kind::Object(a), Kind::Object(b)) => {
                let mut merged = (*a).clone();
                for (k, v) in &b.fields {
                    match merged.fields.iter_mut().find(|(mk, _)| mk == k) {
                        Some(slot) => slot.1.join_in(v),
                        None => merged.fields.push((k.clone(), v.clone())),
                    }
                }
                Kind::Object(Rc::new(merged))
            }
            (Kind::Array(a), Kind::Array(b)) => Kind::Array(Rc::new(a.join(b))),
            (Kind::Unknown, k) => k.clone(),
            (k, _) => k,
        };
    }

    /// The value with every inner taint lifted to the top (for opaque transformations).
    #[must_use]
    pub fn flattened(&self) -> Value<'a> {
        Value {
            taint: self.deep_taint(),
            labels: self.deep_labels(),
            sanitized: self.sanitized,
            text: None,
            text_origin: None,
            kind: Kind::Unknown,
        }
    }
}

fn collapse_holes(text: &mut String) {
    let double = "\u{FFFC}\u{FFFC}";
    while text.contains(double) {
        *text = text.replace(double, "\u{FFFC}");
    }
}

fn truncate(text: &mut String) {
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push(HOLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Rc<Origin> {
        Rc::new(Origin {
            file: Rc::from("a.js"),
            start: 0,
            end: 1,
            what: Rc::from("x"),
        })
    }

    #[test]
    fn concat_keeps_known_text_and_taint() {
        let a = Value::text("http://api.example.com/", None);
        let b = Value::tainted(SourceKind::PAGE_OPTIONS, origin());
        let c = a.concat(&b);
        assert_eq!(c.prefix(), "http://api.example.com/");
        assert_eq!(c.exact_text(), None);
        assert!(c.taint.kinds.contains(SourceKind::PAGE_OPTIONS));
        assert!(!c.is_constant());
        let d = a.concat(&Value::text("v1", None));
        assert_eq!(d.exact_text(), Some("http://api.example.com/v1"));
        assert!(d.is_constant());
    }

    #[test]
    fn join_keeps_only_the_start_both_texts_share() {
        let a = Value::text("http://a", None);
        let b = Value::text("https://b", None);
        let j = a.join(&b);
        assert_eq!(j.prefix(), "http");
        assert_eq!(j.exact_text(), None);
        assert!(!j.is_constant());
        let page = Value::text("/pages/cert/cert?raceId=1", None);
        let other = Value::text("/pages/cert/cert?raceId=2&type=x", None);
        assert_eq!(page.join(&other).prefix(), "/pages/cert/cert?raceId=");
        assert_eq!(
            Value::text("a", None).join(&Value::text("b", None)).text,
            None
        );
        assert_eq!(a.join(&a.clone()).exact_text(), Some("http://a"));
        // Multi-byte characters are cut at a character boundary.
        let zh = Value::text("订单a", None).join(&Value::text("订单b", None));
        assert_eq!(zh.prefix(), "订单");
    }

    #[test]
    fn join_with_nothing_known_keeps_the_text() {
        let url = Value::text("http://a", None);
        assert_eq!(Value::unknown().join(&url).exact_text(), Some("http://a"));
        assert_eq!(url.join(&Value::unknown()).exact_text(), Some("http://a"));
    }

    #[test]
    fn sanitizer_survives_only_when_all_tainted_parts_have_it() {
        let mut t = Value::tainted(SourceKind::HTTP_REQUEST, origin());
        t.sanitized = Sanitized::SQL;
        let raw = Value::tainted(SourceKind::HTTP_REQUEST, origin());
        assert!(
            t.concat(&Value::text("x", None))
                .sanitized
                .contains(Sanitized::SQL)
        );
        assert!(!t.concat(&raw).sanitized.contains(Sanitized::SQL));
    }
}
