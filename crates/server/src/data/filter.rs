//! The filter and sort language of `GET /v1/collections/{name}/records`, and the lexer and
//! expression parser the authorization rules share.
//!
//! ```text
//! filter  = or
//! or      = and ("or" and)*
//! and     = unary ("and" unary)*
//! unary   = "not" unary | "(" or ")" | atom
//! atom    = FIELD OP literal            OP: = != > >= < <= ~ (contains)
//!         | "owner" | "role:" NAME | "mfa" | "true" | "false"     (rules only)
//! literal = "string" | 'string' | number | true | false | null
//! sort    = ["-"]FIELD ("," ["-"]FIELD)*
//! ```
//!
//! Text is parsed into a typed AST ([`Expr`]), then checked against the collection's schema
//! ([`check_filter`]): unknown fields, literals of the wrong type, comparisons on encrypted or
//! `json` fields and fields the caller may not read are refused. Only then is it compiled to a
//! [`Cond`](super::query::Cond) whose literals become bound parameters; field names select a
//! column from the schema and never reach SQL themselves. Input is limited in length, tokens and
//! nesting depth, and a checked filter is held to a cost budget ([`cost`]) that counts what its
//! comparisons make SQLite do per row, so a hostile filter costs little.

use std::fmt;

use super::query::SqlValue;
use super::schema::{Collection, FieldType};

/// Longest accepted filter or rule text, in bytes.
pub const MAX_LEN: usize = 2048;
/// Deepest nesting of parentheses and `not`.
pub const MAX_DEPTH: usize = 16;
/// Most tokens in one filter.
pub const MAX_TOKENS: usize = 256;
/// Most sort keys.
pub const MAX_SORT_KEYS: usize = 4;

/// A parse or check error; fixed-form text that quotes at most a field name from the schema
/// or a byte offset, never the request's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(m.into()))
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Contains => "~",
        }
    }
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// `field OP literal`, before the schema check.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: String,
    pub op: CmpOp,
    pub lit: Lit,
}

/// The atoms of the shared expression language.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    Cmp(Comparison),
    Owner,
    Role(String),
    Mfa,
    Const(bool),
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Atom(Atom),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Op(CmpOp),
    LParen,
    RParen,
    Colon,
}

// Reason: a hand-written lexer reads best with the conventional `b`, `i`, `c` names.
#[allow(clippy::many_single_char_names)]
fn lex(text: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    if text.len() > MAX_LEN {
        return err(format!("longer than {MAX_LEN} bytes"));
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if out.len() > MAX_TOKENS {
            return err(format!("more than {MAX_TOKENS} tokens"));
        }
        let start = i;
        let c = b[i];
        let tok = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b':' => {
                i += 1;
                Tok::Colon
            }
            b'~' => {
                i += 1;
                Tok::Op(CmpOp::Contains)
            }
            b'=' => {
                i += if b.get(i + 1) == Some(&b'=') { 2 } else { 1 };
                Tok::Op(CmpOp::Eq)
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                i += if eq { 2 } else { 1 };
                Tok::Op(match (c, eq) {
                    (b'<', false) => CmpOp::Lt,
                    (b'<', true) => CmpOp::Le,
                    (_, false) => CmpOp::Gt,
                    (_, true) => CmpOp::Ge,
                })
            }
            b'"' | b'\'' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = b.get(i) else {
                        return err(format!("unterminated string at byte {start}"));
                    };
                    if ch == quote {
                        i += 1;
                        break;
                    }
                    if ch == b'\\' {
                        match b.get(i + 1) {
                            Some(&e @ (b'"' | b'\'' | b'\\')) => s.push(char::from(e)),
                            Some(b'n') => s.push('\n'),
                            Some(b't') => s.push('\t'),
                            _ => return err(format!("bad escape at byte {i}")),
                        }
                        i += 2;
                        continue;
                    }
                    // Copy one whole UTF-8 character (the input is a &str, so boundaries hold).
                    let len = utf8_len(ch);
                    let piece = text
                        .get(i..i + len)
                        .ok_or_else(|| FilterError("bad UTF-8".into()))?;
                    s.push_str(piece);
                    i += len;
                }
                Tok::Str(s)
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E')) {
                    i += 1;
                }
                let t = &text[start..i];
                if let Ok(n) = t.parse::<i64>() {
                    Tok::Int(n)
                } else if let Ok(x) = t
                    .parse::<f64>()
                    .map_err(|_| ())
                    .and_then(|x| if x.is_finite() { Ok(x) } else { Err(()) })
                {
                    Tok::Float(x)
                } else {
                    return err(format!("bad number at byte {start}"));
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if i - start > 64 {
                    return err(format!("name too long at byte {start}"));
                }
                Tok::Ident(text[start..i].to_owned())
            }
            _ => return err(format!("unexpected character at byte {start}")),
        };
        out.push((start, tok));
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    rules: bool,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == k)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if depth >= MAX_DEPTH {
            return err(format!("nested deeper than {MAX_DEPTH}"));
        }
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or(depth + 1)?;
            if self.peek() != Some(&Tok::RParen) {
                return err(format!("expected ) at byte {}", self.at()));
            }
            self.pos += 1;
            return Ok(e);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, FilterError> {
        let at = self.at();
        let Some(Tok::Ident(name)) = self.peek().cloned() else {
            return err(format!("expected a field name at byte {at}"));
        };
        self.pos += 1;
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let lit = self.literal()?;
            return Ok(Expr::Atom(Atom::Cmp(Comparison {
                field: name,
                op,
                lit,
            })));
        }
        if self.rules {
            match name.as_str() {
                "owner" => return Ok(Expr::Atom(Atom::Owner)),
                "mfa" => return Ok(Expr::Atom(Atom::Mfa)),
                "true" => return Ok(Expr::Atom(Atom::Const(true))),
                "false" => return Ok(Expr::Atom(Atom::Const(false))),
                "role" if self.peek() == Some(&Tok::Colon) => {
                    self.pos += 1;
                    if let Some(Tok::Ident(role)) = self.peek().cloned() {
                        self.pos += 1;
                        return Ok(Expr::Atom(Atom::Role(role)));
                    }
                    return err(format!("expected a role name at byte {}", self.at()));
                }
                _ => {}
            }
        }
        err(format!("expected an operator at byte {}", self.at()))
    }

    fn literal(&mut self) -> Result<Lit, FilterError> {
        let at = self.at();
        let lit = match self.peek().cloned() {
            Some(Tok::Str(s)) => Lit::Str(s),
            Some(Tok::Int(n)) => Lit::Int(n),
            Some(Tok::Float(x)) => Lit::Float(x),
            Some(Tok::Ident(k)) if k == "true" => Lit::Bool(true),
            Some(Tok::Ident(k)) if k == "false" => Lit::Bool(false),
            Some(Tok::Ident(k)) if k == "null" => Lit::Null,
            _ => return err(format!("expected a literal at byte {at}")),
        };
        self.pos += 1;
        Ok(lit)
    }
}

/// Parses the shared expression language; `rules` admits `owner`, `role:X`, `mfa`,
/// `true`, `false` as atoms.
pub fn parse_expr(text: &str, rules: bool) -> Result<Expr, FilterError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return err("empty expression");
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        rules,
    };
    let e = p.or(0)?;
    if p.pos != p.toks.len() {
        return err(format!("unexpected token at byte {}", p.at()));
    }
    Ok(e)
}

/// What a comparison or sort key refers to: a record column or a schema field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id,
    Created,
    Updated,
    /// The record's owner (`owner_id`), through `owner` in rules or the owner field's name.
    Owner,
    /// A declared field (by name; its column comes from the schema).
    Field(String),
}

impl Target {
    /// The column, from the schema only.
    pub fn column(&self, c: &Collection) -> String {
        match self {
            Self::Id => "id".into(),
            Self::Created => "created".into(),
            Self::Updated => "updated".into(),
            Self::Owner => "owner_id".into(),
            Self::Field(f) => c
                .field(f)
                .map_or_else(|| "id".into(), super::schema::Field::column),
        }
    }
}

/// A comparison checked against the schema: its target and the literal as a typed value.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedCmp {
    pub target: Target,
    pub op: CmpOp,
    /// `SqlValue::Null` only with `=`/`!=` (IS NULL / IS NOT NULL).
    pub value: SqlValue,
}

/// The type of a target, for checking literals.
fn target_type(c: &Collection, name: &str) -> Result<(Target, FieldType, bool), FilterError> {
    Ok(match name {
        "id" => (Target::Id, FieldType::String { min: 0, max: 64 }, false),
        "created" => (Target::Created, FieldType::Datetime, false),
        "updated" => (Target::Updated, FieldType::Datetime, false),
        _ => {
            let Some(f) = c.field(name) else {
                return err(format!("unknown field {name:?}")
                    .chars()
                    .take(100)
                    .collect::<String>());
            };
            let target = if f.ty == FieldType::Owner {
                Target::Owner
            } else {
                Target::Field(f.name.clone())
            };
            (target, f.ty.clone(), f.encrypted)
        }
    })
}

/// Checks one comparison against the schema and types its literal.
pub fn check_comparison(c: &Collection, cmp: &Comparison) -> Result<TypedCmp, FilterError> {
    let (target, ty, encrypted) = target_type(c, &cmp.field)?;
    let fname = &cmp.field;
    if encrypted {
        return err(format!(
            "{fname}: encrypted fields cannot be compared (values are stored as ciphertext)"
        ));
    }
    if matches!(ty, FieldType::Json(_)) {
        return err(format!("{fname}: json fields cannot be compared"));
    }
    let op = cmp.op;
    if cmp.lit == Lit::Null {
        return match op {
            CmpOp::Eq | CmpOp::Ne => Ok(TypedCmp {
                target,
                op,
                value: SqlValue::Null,
            }),
            _ => err(format!("{fname}: null compares only with = or !=")),
        };
    }
    if op == CmpOp::Contains && !ty.textual() {
        return err(format!("{fname}: ~ applies to text fields only"));
    }
    if matches!(op, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le) && !ty.orderable() {
        return err(format!("{fname}: this field has no order"));
    }
    let value = match (&ty, &cmp.lit) {
        (
            FieldType::String { .. }
            | FieldType::RichText
            | FieldType::Enum(_)
            | FieldType::Relation(_),
            Lit::Str(s),
        ) => SqlValue::Text(s.clone()),
        (FieldType::Int { .. } | FieldType::Owner, Lit::Int(n)) => SqlValue::Int(*n),
        // Reason: SQLite compares an integer with a REAL column as a REAL, so do we.
        #[allow(clippy::cast_precision_loss)]
        (FieldType::Float { .. }, Lit::Int(n)) => SqlValue::Float(*n as f64),
        (FieldType::Float { .. }, Lit::Float(x)) => SqlValue::Float(*x),
        (FieldType::Bool, Lit::Bool(b)) => SqlValue::Int(i64::from(*b)),
        (FieldType::Datetime, Lit::Int(n)) => SqlValue::Int(*n),
        (FieldType::Datetime, Lit::Str(s)) => match super::records::parse_rfc3339(s) {
            Some(ms) => SqlValue::Int(ms),
            None => return err(format!("{fname}: expects an RFC 3339 date-time")),
        },
        _ => return err(format!("{fname}: wrong literal type")),
    };
    Ok(TypedCmp { target, op, value })
}

/// A filter checked against the schema. `readable(field)` says whether the caller may read a
/// field; a filter on a field it may not read would be an oracle, so it is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    Cmp(TypedCmp),
    And(Box<Checked>, Box<Checked>),
    Or(Box<Checked>, Box<Checked>),
    Not(Box<Checked>),
}

pub fn check_filter(
    c: &Collection,
    e: &Expr,
    readable: &dyn Fn(&str) -> bool,
) -> Result<Checked, FilterError> {
    Ok(match e {
        Expr::Atom(Atom::Cmp(cmp)) => {
            let typed = check_comparison(c, cmp)?;
            if !readable(&cmp.field) {
                return err(format!("{}: not readable, so not filterable", cmp.field));
            }
            Checked::Cmp(typed)
        }
        Expr::Atom(_) => return err("filters compare fields only"),
        Expr::And(a, b) => Checked::And(
            Box::new(check_filter(c, a, readable)?),
            Box::new(check_filter(c, b, readable)?),
        ),
        Expr::Or(a, b) => Checked::Or(
            Box::new(check_filter(c, a, readable)?),
            Box::new(check_filter(c, b, readable)?),
        ),
        Expr::Not(a) => Checked::Not(Box::new(check_filter(c, a, readable)?)),
    })
}

/// The default cost budget of one `?filter=`.
pub const DEFAULT_BUDGET: u32 = 100;
/// The cost of a `~` over the longest text fields (rich text, strings of 31 KiB and more).
pub const MAX_CONTAINS_COST: u32 = 32;

/// What a checked filter costs to run: the work SQLite does per row, in units of one
/// comparison of a short value. A length limit alone is not enough: `~` (a substring search)
/// reads the whole value of every row it is tried on, so over a rich-text field it costs
/// [`MAX_CONTAINS_COST`], over a string one unit per KiB of its declared maximum, and every
/// other comparison one unit. A filter over the budget is refused before it reaches the
/// database.
pub fn cost(c: &Collection, f: &Checked) -> u32 {
    match f {
        Checked::Cmp(cmp) => comparison_cost(c, cmp),
        Checked::And(a, b) | Checked::Or(a, b) => cost(c, a).saturating_add(cost(c, b)),
        Checked::Not(a) => cost(c, a),
    }
}

fn comparison_cost(c: &Collection, cmp: &TypedCmp) -> u32 {
    if cmp.op != CmpOp::Contains {
        return 1;
    }
    let Target::Field(name) = &cmp.target else {
        return 1;
    };
    match c.field(name).map(|f| &f.ty) {
        Some(FieldType::RichText) => MAX_CONTAINS_COST,
        Some(FieldType::String { max, .. }) => {
            let kib = u32::try_from(max.div_ceil(1024)).unwrap_or(u32::MAX);
            kib.saturating_add(1).min(MAX_CONTAINS_COST)
        }
        _ => 2,
    }
}

/// Parses and checks a `?filter=` and holds it to a cost `budget` (see [`cost`]).
pub fn parse_filter_within(
    c: &Collection,
    text: &str,
    readable: &dyn Fn(&str) -> bool,
    budget: u32,
) -> Result<Checked, FilterError> {
    let checked = parse_filter(c, text, readable)?;
    let spent = cost(c, &checked);
    if spent > budget {
        return err(format!(
            "too expensive: costs {spent}, the budget is {budget} (a ~ on a long text field costs up to {MAX_CONTAINS_COST})"
        ));
    }
    Ok(checked)
}

/// Parses and checks a `?filter=`.
pub fn parse_filter(
    c: &Collection,
    text: &str,
    readable: &dyn Fn(&str) -> bool,
) -> Result<Checked, FilterError> {
    check_filter(c, &parse_expr(text, false)?, readable)
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub target: Target,
    pub descending: bool,
}

/// Parses `?sort=-created,qty` against the schema.
pub fn parse_sort(
    c: &Collection,
    text: &str,
    readable: &dyn Fn(&str) -> bool,
) -> Result<Vec<SortKey>, FilterError> {
    if text.len() > 256 {
        return err("sort is too long");
    }
    let mut keys = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (descending, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if name.is_empty() {
            return err("empty sort key");
        }
        let (target, ty, encrypted) = target_type(c, name)?;
        if encrypted || !ty.orderable() {
            return err(format!(
                "{name}: cannot sort on encrypted, json or bool fields"
            ));
        }
        if !readable(name) {
            return err(format!("{name}: not readable, so not sortable"));
        }
        keys.push(SortKey { target, descending });
        if keys.len() > MAX_SORT_KEYS {
            return err(format!("at most {MAX_SORT_KEYS} sort keys"));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::Collections;

    fn orders() -> Collection {
        Collections::from_config_text(
            r#"[collections.orders]
read = "true"
[collections.orders.fields]
item = "string(1..100)"
qty = "int(1..99)"
price = "float"
note = "richtext"
phone = "string encrypted"
owner = "owner"
paid = "bool"
at = "datetime"
meta = "json"
secret = "string private""#,
        )
        .unwrap()
        .get("orders")
        .unwrap()
        .clone()
    }

    fn all(_: &str) -> bool {
        true
    }

    #[test]
    fn the_issue_filter_parses_to_typed_comparisons() {
        let c = orders();
        let f = parse_filter(&c, r#"qty>2 and item~"tea""#, &all).unwrap();
        let Checked::And(a, b) = f else {
            panic!("{f:?}")
        };
        assert_eq!(
            *a,
            Checked::Cmp(TypedCmp {
                target: Target::Field("qty".into()),
                op: CmpOp::Gt,
                value: SqlValue::Int(2)
            })
        );
        assert_eq!(
            *b,
            Checked::Cmp(TypedCmp {
                target: Target::Field("item".into()),
                op: CmpOp::Contains,
                value: SqlValue::Text("tea".into())
            })
        );
    }

    #[test]
    fn precedence_not_and_or_parentheses() {
        let e = parse_expr("not a = 1 or b = 2 and (c = 3 or d = null)", false).unwrap();
        let Expr::Or(l, r) = e else { panic!() };
        assert!(matches!(*l, Expr::Not(_)));
        assert!(matches!(*r, Expr::And(_, _)));
    }

    #[test]
    fn schema_checks_refuse_what_cannot_be_answered() {
        let c = orders();
        for bad in [
            "nope = 1",
            "qty = \"2\"",
            "item > 3",
            "phone = \"123\"",
            "meta = 1",
            "paid > true",
            "qty ~ \"1\"",
            "qty > null",
            "at = \"yesterday\"",
            "owner = \"1\"",
        ] {
            assert!(parse_filter(&c, bad, &all).is_err(), "{bad}");
        }
        let hidden = |f: &str| f != "secret";
        assert!(parse_filter(&c, "secret = \"x\"", &hidden).is_err());
        assert!(parse_filter(&c, "price >= 1 and paid = false", &all).is_ok());
        assert!(parse_filter(&c, "at < \"2030-01-01T00:00:00Z\"", &all).is_ok());
        assert!(parse_filter(&c, "created > 0 and id != \"x\"", &all).is_ok());
    }

    #[test]
    fn hostile_input_is_refused_or_stays_a_literal() {
        let c = orders();
        // SQL metacharacters live inside a literal and become a bound parameter.
        let f = parse_filter(&c, r#"item = "'; DROP TABLE users; --""#, &all).unwrap();
        let Checked::Cmp(t) = f else { panic!() };
        assert_eq!(t.value, SqlValue::Text("'; DROP TABLE users; --".into()));
        // Unicode, quotes and escapes.
        let f = parse_filter(&c, "item ~ '茶\\'\"🍵'", &all).unwrap();
        let Checked::Cmp(t) = f else { panic!() };
        assert_eq!(t.value, SqlValue::Text("茶'\"🍵".into()));
        for bad in [
            "item = 1; DROP TABLE users".to_owned(),
            "item = \"x\" -- comment".to_owned(),
            "qty = 1 /* x */".to_owned(),
            "\"item\" = \"x\"".to_owned(),
            "item = \"unterminated".to_owned(),
            format!("{}qty = 1{}", "(".repeat(100), ")".repeat(100)),
            format!("{}qty = 1", "not ".repeat(100)),
            "qty = 1 and ".repeat(300),
            format!("item = \"{}\"", "x".repeat(5000)),
            "qty = 1e999".to_owned(),
            String::new(),
            "qty = 1 or".to_owned(),
            "qty\u{0} = 1".to_owned(),
            "owner".to_owned(),
            "role:admin".to_owned(),
        ] {
            assert!(parse_filter(&c, &bad, &all).is_err(), "{bad:.80}");
        }
        // Fifteen levels are fine.
        let ok = format!("{}qty = 1{}", "(".repeat(15), ")".repeat(15));
        assert!(parse_filter(&c, &ok, &all).is_ok());
    }

    #[test]
    fn sort_keys_are_checked() {
        let c = orders();
        let k = parse_sort(&c, "-created,qty", &all).unwrap();
        assert_eq!(k[0].target, Target::Created);
        assert!(k[0].descending);
        assert_eq!(k[1].target, Target::Field("qty".into()));
        for bad in [
            "phone",
            "meta",
            "nope",
            "",
            "-",
            "qty;drop",
            "a,b,c,d,e",
            "paid",
        ] {
            assert!(parse_sort(&c, bad, &all).is_err(), "{bad}");
        }
    }
}
