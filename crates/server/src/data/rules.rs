//! Authorization rules: `owner`, `role:X`, `mfa`, `true`, `false`, field comparisons such as
//! `status = "published"`, comparisons with the stored record such as `stored.status = "open"`,
//! combined with `and`, `or`, `not` and parentheses.
//!
//! **The stored record.** A plain comparison in a `write` rule must hold for the record before
//! the change *and* for the result, so it can keep a record in the caller's reach but cannot
//! describe a transition. `stored.FIELD` always reads the record as it is stored, before the
//! change: `owner and stored.status = "open"` lets the buyer edit an order (even set its status,
//! if the field's own rule lets them) only while it is open, and freezes it for them once it is
//! paid. Before a create nothing is stored, so `stored.FIELD` is missing (a comparison false, its
//! `not` true); in `read` and `delete` rules the stored record is the record.
//!
//! A rule is parsed once at startup and checked against its collection's schema. It is then
//! used two ways, which must agree:
//!
//! - [`Rule::allows`] evaluates it in memory for one record (a create, before the row exists;
//!   an update or delete of a row already read);
//! - [`Rule::to_cond`] compiles it, for one principal, into a SQL condition with bound
//!   parameters, which every list and every by-id lookup adds to its `WHERE`, so a list is
//!   filtered before `LIMIT`/`OFFSET` and `COUNT(*)`: pagination and totals never leak.
//!
//! Comparisons use two-valued logic in both places: a comparison with a missing (NULL) value is
//! false and its `not` true, because the SQL form wraps each comparison in `coalesce(.., 0)`
//! (SQL's three-valued `NOT NULL` would otherwise differ from the in-memory answer).

use std::collections::HashMap;
use std::time::Duration;

use super::filter::{
    Atom, CmpOp, Comparison, Expr, Target, TypedCmp, check_comparison, parse_expr,
};
use super::query::{Cond, SqlValue};
use super::schema::Collection;
use crate::db::UserId;

/// Who is asking: built in one place ([`super::principal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub roles: Vec<String>,
    /// When the user last passed a step-up check (milliseconds since the epoch).
    pub mfa_at_ms: Option<i64>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the last step-up is within `window` of `now_ms`.
    pub fn mfa_fresh(&self, window: Duration, now_ms: i64) -> bool {
        let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.mfa_at_ms
            .is_some_and(|at| at <= now_ms && now_ms.saturating_sub(at) <= window)
    }
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    False,
    Expr(Expr),
}

/// One record as the rules see it: the owner and the stored (plain) values of its fields.
#[derive(Debug, Clone, Default)]
pub struct RecordView {
    pub id: String,
    pub owner: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub fields: HashMap<String, SqlValue>,
}

impl RecordView {
    fn get(&self, t: &Target) -> SqlValue {
        match t {
            Target::Id => SqlValue::Text(self.id.clone()),
            Target::Created => SqlValue::Int(self.created),
            Target::Updated => SqlValue::Int(self.updated),
            Target::Owner => self.owner.map_or(SqlValue::Null, SqlValue::Int),
            Target::Field(f) => self.fields.get(f).cloned().unwrap_or(SqlValue::Null),
        }
    }
}

/// The internal name of `stored.FIELD` in a parsed rule (field names start with a letter, so it
/// cannot name a real field).
const STORED: &str = "_stored_";

/// Rewrites `stored.NAME` outside string literals to `_stored_NAME`, which the shared expression
/// parser reads as a field name; refuses names that already start with `_stored_`.
fn rewrite_stored(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut prev_ident = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        } else if !prev_ident && rest.starts_with("stored.") {
            out.push_str(STORED);
            rest = &rest["stored.".len()..];
            prev_ident = true;
            continue;
        } else if !prev_ident && rest.starts_with(STORED) {
            return Err(format!("names starting with {STORED} are reserved"));
        }
        prev_ident = quote.is_none() && (c.is_ascii_alphanumeric() || c == '_');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// `(true, FIELD comparison)` for `stored.FIELD`, `(false, the comparison)` otherwise.
fn unstore(cmp: &Comparison) -> (bool, std::borrow::Cow<'_, Comparison>) {
    match cmp.field.strip_prefix(STORED) {
        Some(field) => (
            true,
            std::borrow::Cow::Owned(Comparison {
                field: field.to_owned(),
                ..cmp.clone()
            }),
        ),
        None => (false, std::borrow::Cow::Borrowed(cmp)),
    }
}

impl Rule {
    /// Whether the rule names a role anywhere (`role:X`, also under `not`).
    pub fn mentions_role(&self) -> bool {
        fn walk(e: &Expr) -> bool {
            match e {
                Expr::Atom(Atom::Role(_)) => true,
                Expr::Atom(_) => false,
                Expr::And(a, b) | Expr::Or(a, b) => walk(a) || walk(b),
                Expr::Not(a) => walk(a),
            }
        }
        match self {
            Self::False => false,
            Self::Expr(e) => walk(e),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = rewrite_stored(text)?;
        parse_expr(&text, true)
            .map(Self::Expr)
            .map_err(|e| e.to_string().replace(STORED, "stored."))
    }

    /// Checks the rule's comparisons against the schema (at startup).
    pub fn check(&self, c: &Collection) -> Result<(), String> {
        fn walk(e: &Expr, c: &Collection) -> Result<(), String> {
            match e {
                Expr::Atom(Atom::Cmp(cmp)) => {
                    let (_, cmp) = unstore(cmp);
                    check_comparison(c, &cmp).map_err(|e| e.to_string())?;
                    if c.field(&cmp.field)
                        .is_some_and(|f| f.ty == super::schema::FieldType::Owner)
                    {
                        return Err("compare the owner with `owner`, not a field comparison".into());
                    }
                    Ok(())
                }
                Expr::Atom(Atom::Role(r)) if r.is_empty() => Err("empty role".into()),
                Expr::Atom(_) => Ok(()),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, c)?;
                    walk(b, c)
                }
                Expr::Not(a) => walk(a, c),
            }
        }
        match self {
            Self::False => Ok(()),
            Self::Expr(e) => walk(e, c),
        }
    }

    /// Evaluates the rule for one record as it is stored (a read, a delete, the record before an
    /// update): `stored.FIELD` reads the record itself.
    pub fn allows(&self, c: &Collection, p: &Principal, record: &RecordView, now_ms: i64) -> bool {
        self.allows_change(c, p, Some(record), record, now_ms)
    }

    /// Evaluates the rule for a record about to be written (`record`: the result of a create or
    /// an update) over what is stored now (`stored`: `None` before a create).
    // Reason: the evaluator's short names (expression, collection, principal, record) repeat often.
    #[allow(clippy::many_single_char_names)]
    pub fn allows_change(
        &self,
        c: &Collection,
        p: &Principal,
        stored: Option<&RecordView>,
        record: &RecordView,
        now_ms: i64,
    ) -> bool {
        struct Ctx<'a> {
            c: &'a Collection,
            p: &'a Principal,
            r: &'a RecordView,
            stored: &'a RecordView,
            now: i64,
        }
        fn eval(e: &Expr, x: &Ctx<'_>) -> bool {
            match e {
                Expr::Atom(Atom::Const(b)) => *b,
                Expr::Atom(Atom::Owner) => x.r.owner == Some(x.p.user.0),
                Expr::Atom(Atom::Role(role)) => x.p.has_role(role),
                Expr::Atom(Atom::Mfa) => x.p.mfa_fresh(x.c.mfa_window, x.now),
                // Checked at startup; a comparison that no longer checks denies.
                Expr::Atom(Atom::Cmp(cmp)) => {
                    let (from_stored, cmp) = unstore(cmp);
                    let r = if from_stored { x.stored } else { x.r };
                    check_comparison(x.c, &cmp)
                        .is_ok_and(|t| compare(&r.get(&t.target), t.op, &t.value))
                }
                Expr::And(a, b) => eval(a, x) && eval(b, x),
                Expr::Or(a, b) => eval(a, x) || eval(b, x),
                Expr::Not(a) => !eval(a, x),
            }
        }
        let nothing = RecordView::default();
        match self {
            Self::False => false,
            Self::Expr(e) => eval(
                e,
                &Ctx {
                    c,
                    p,
                    r: record,
                    stored: stored.unwrap_or(&nothing),
                    now: now_ms,
                },
            ),
        }
    }

    /// Compiles the rule for one principal into a SQL condition (bound parameters only).
    // Reason: as in `allows`.
    #[allow(clippy::many_single_char_names)]
    pub fn to_cond(&self, c: &Collection, p: &Principal, now_ms: i64) -> Cond {
        fn comp(e: &Expr, c: &Collection, p: &Principal, now: i64) -> Cond {
            match e {
                Expr::Atom(Atom::Const(b)) => Cond::Const(*b),
                Expr::Atom(Atom::Owner) => Cond::Cmp(TypedCmp {
                    target: Target::Owner,
                    op: CmpOp::Eq,
                    value: SqlValue::Int(p.user.0),
                }),
                Expr::Atom(Atom::Role(role)) => Cond::Const(p.has_role(role)),
                Expr::Atom(Atom::Mfa) => Cond::Const(p.mfa_fresh(c.mfa_window, now)),
                // The row in SQL is the stored record: `stored.FIELD` is the column itself.
                Expr::Atom(Atom::Cmp(cmp)) => {
                    check_comparison(c, &unstore(cmp).1).map_or(Cond::Const(false), Cond::Cmp)
                }
                Expr::And(a, b) => Cond::And(vec![comp(a, c, p, now), comp(b, c, p, now)]),
                Expr::Or(a, b) => Cond::Or(vec![comp(a, c, p, now), comp(b, c, p, now)]),
                Expr::Not(a) => Cond::Not(Box::new(comp(a, c, p, now))),
            }
        }
        match self {
            Self::False => Cond::Const(false),
            Self::Expr(e) => comp(e, c, p, now_ms).simplify(),
        }
    }
}

/// Compares a stored value with a literal the way the SQL form does.
// Reason: SQLite compares INTEGER with REAL as REAL; the in-memory form must agree with it.
#[allow(clippy::cast_precision_loss)]
pub fn compare(v: &SqlValue, op: CmpOp, lit: &SqlValue) -> bool {
    use std::cmp::Ordering;
    if *lit == SqlValue::Null {
        let is_null = *v == SqlValue::Null;
        return if op == CmpOp::Eq { is_null } else { !is_null };
    }
    if op == CmpOp::Contains {
        return match (v, lit) {
            (SqlValue::Text(a), SqlValue::Text(b)) => a.contains(b.as_str()),
            _ => false,
        };
    }
    let ord = match (v, lit) {
        (SqlValue::Int(a), SqlValue::Int(b)) => a.cmp(b),
        (SqlValue::Float(a), SqlValue::Float(b)) => match a.partial_cmp(b) {
            Some(o) => o,
            None => return false,
        },
        (SqlValue::Int(a), SqlValue::Float(b)) => match (*a as f64).partial_cmp(b) {
            Some(o) => o,
            None => return false,
        },
        (SqlValue::Float(a), SqlValue::Int(b)) => match a.partial_cmp(&(*b as f64)) {
            Some(o) => o,
            None => return false,
        },
        // SQLite's BINARY collation compares UTF-8 bytes, as str's Ord does.
        (SqlValue::Text(a), SqlValue::Text(b)) => a.as_str().cmp(b.as_str()),
        _ => return false,
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Contains => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::Collections;

    /// A request reads the caller's roles only when some rule names one; `not role:X` counts
    /// (with no roles read it would hold for everyone).
    #[test]
    fn rules_that_name_a_role_are_told_apart() {
        assert!(Rule::parse("owner or role:admin").unwrap().mentions_role());
        assert!(
            Rule::parse("owner and not role:banned")
                .unwrap()
                .mentions_role()
        );
        assert!(!Rule::parse("owner and mfa").unwrap().mentions_role());
        assert!(!Rule::False.mentions_role());
        let only_owner = Collections::from_config_text(
            r#"[collections.notes]
fields = { title = "string", owner = "owner" }
read = "owner"
write = "owner""#,
        )
        .unwrap();
        assert!(!only_owner.mention_roles());
        let field_rule = Collections::from_config_text(
            r#"[collections.notes]
fields = { title = "string", owner = "owner", memo = { type = "string", read = "role:staff" } }
read = "owner"
write = "owner""#,
        )
        .unwrap();
        assert!(field_rule.mention_roles());
        let c = coll();
        assert!(c.read.mentions_role());
    }

    fn coll() -> Collection {
        Collections::from_config_text(
            r#"[collections.posts]
fields = { status = "enum(draft|published)", score = "int", owner = "owner" }
read = "owner or status = \"published\" or role:staff"
write = "owner and not role:banned"
delete = "role:admin and mfa""#,
        )
        .unwrap()
        .get("posts")
        .unwrap()
        .clone()
    }

    fn who(user: i64, roles: &[&str], mfa: Option<i64>) -> Principal {
        Principal {
            user: UserId(user),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            mfa_at_ms: mfa,
        }
    }

    fn rec(owner: i64, status: Option<&str>) -> RecordView {
        let mut fields = HashMap::new();
        if let Some(s) = status {
            fields.insert("status".into(), SqlValue::Text(s.into()));
        }
        RecordView {
            id: "r".into(),
            owner: Some(owner),
            fields,
            ..RecordView::default()
        }
    }

    #[test]
    fn rules_evaluate_per_principal_and_record() {
        let c = coll();
        let now = 1_000_000_000;
        let (alice, bob) = (who(1, &[], None), who(2, &[], None));
        let draft = rec(1, Some("draft"));
        let published = rec(1, Some("published"));
        assert!(c.read.allows(&c, &alice, &draft, now));
        assert!(!c.read.allows(&c, &bob, &draft, now));
        assert!(c.read.allows(&c, &bob, &published, now));
        assert!(c.read.allows(&c, &who(2, &["staff"], None), &draft, now));
        assert!(!c.write.allows(&c, &who(1, &["banned"], None), &draft, now));
        let admin_stale = who(3, &["admin"], Some(now - 6 * 60_000));
        let admin_fresh = who(3, &["admin"], Some(now - 60_000));
        assert!(!c.delete.allows(&c, &admin_stale, &draft, now));
        assert!(c.delete.allows(&c, &admin_fresh, &draft, now));
        assert!(!c.delete.allows(&c, &who(3, &[], Some(now)), &draft, now));
        // A future step-up time is not fresh.
        assert!(
            !c.delete
                .allows(&c, &who(3, &["admin"], Some(now + 1)), &draft, now)
        );
    }

    #[test]
    fn a_comparison_with_a_missing_value_is_false_and_its_negation_true() {
        let c = coll();
        let none = rec(1, None);
        let r = Rule::parse("status = \"draft\"").unwrap();
        assert!(!r.allows(&c, &who(1, &[], None), &none, 0));
        let r = Rule::parse("not status = \"draft\"").unwrap();
        assert!(r.allows(&c, &who(1, &[], None), &none, 0));
        let r = Rule::parse("status = null").unwrap();
        assert!(r.allows(&c, &who(1, &[], None), &none, 0));
    }

    #[test]
    fn compiled_rules_bind_the_principal_and_fold_constants() {
        let c = coll();
        let mut sql = super::super::query::Sql::new(crate::db::Dialect::Sqlite);
        c.read
            .to_cond(&c, &who(7, &[], None), 0)
            .render(&c, &mut sql);
        assert!(!sql.text.contains('7'), "{}", sql.text);
        assert!(sql.params.contains(&SqlValue::Int(7)));
        assert!(sql.params.contains(&SqlValue::Text("published".into())));
        let staff = c.read.to_cond(&c, &who(7, &["staff"], None), 0);
        assert_eq!(staff, Cond::Const(true));
        let nobody = c.delete.to_cond(&c, &who(7, &[], None), 0);
        assert_eq!(nobody, Cond::Const(false));
    }

    #[test]
    fn stored_comparisons_read_the_record_before_the_change() {
        let c = coll();
        let now = 0;
        let alice = who(1, &[], None);
        // The buyer may move an open order to published, never touch a published one.
        let r = Rule::parse("owner and stored.status = \"draft\"").unwrap();
        r.check(&c).unwrap();
        let (draft, published) = (rec(1, Some("draft")), rec(1, Some("published")));
        assert!(r.allows_change(&c, &alice, Some(&draft), &published, now));
        assert!(!r.allows_change(&c, &alice, Some(&published), &draft, now));
        assert!(r.allows(&c, &alice, &draft, now));
        // The plain comparison must hold before and after, so it cannot describe the move.
        let plain = Rule::parse("owner and status = \"draft\"").unwrap();
        assert!(!plain.allows_change(&c, &alice, Some(&draft), &published, now));
        // Before a create nothing is stored.
        let frozen = Rule::parse("owner and not stored.status = \"published\"").unwrap();
        assert!(frozen.allows_change(&c, &alice, None, &published, now));
        assert!(!frozen.allows(&c, &alice, &published, now));
        // In SQL the row is the stored record.
        assert_eq!(
            r.to_cond(&c, &alice, now),
            Rule::parse("owner and status = \"draft\"")
                .unwrap()
                .to_cond(&c, &alice, now)
        );
        // Only outside string literals, only as a prefix; the internal name is reserved.
        assert_eq!(
            rewrite_stored(r#"stored.a = "stored.b\" stored.c" or xstored.d = 'stored.e'"#),
            Ok(r#"_stored_a = "stored.b\" stored.c" or xstored.d = 'stored.e'"#.to_owned())
        );
        assert!(Rule::parse("_stored_status = \"draft\"").is_err());
        assert!(Rule::parse("stored.nope = 1").unwrap().check(&c).is_err());
    }

    #[test]
    fn rules_are_checked_against_the_schema() {
        let c = coll();
        for bad in [
            "nope = 1",
            "score = \"x\"",
            "role:",
            "owner = 1",
            "owner or",
            "admin",
        ] {
            let r = Rule::parse(bad);
            assert!(r.is_err() || r.unwrap().check(&c).is_err(), "{bad}");
        }
    }
}
