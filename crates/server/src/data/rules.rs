//! Authorization rules: `owner`, `role:X`, `mfa`, `true`, `false`, field comparisons such as
//! `status = "published"`, combined with `and`, `or`, `not` and parentheses.
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

use super::filter::{Atom, CmpOp, Expr, Target, TypedCmp, check_comparison, parse_expr};
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

impl Rule {
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_expr(text, true)
            .map(Self::Expr)
            .map_err(|e| e.to_string())
    }

    /// Checks the rule's comparisons against the schema (at startup).
    pub fn check(&self, c: &Collection) -> Result<(), String> {
        fn walk(e: &Expr, c: &Collection) -> Result<(), String> {
            match e {
                Expr::Atom(Atom::Cmp(cmp)) => {
                    check_comparison(c, cmp).map_err(|e| e.to_string())?;
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

    /// Evaluates the rule for one record.
    // Reason: the evaluator's short names (expression, collection, principal, record) repeat often.
    #[allow(clippy::many_single_char_names)]
    pub fn allows(&self, c: &Collection, p: &Principal, record: &RecordView, now_ms: i64) -> bool {
        fn eval(e: &Expr, c: &Collection, p: &Principal, r: &RecordView, now: i64) -> bool {
            match e {
                Expr::Atom(Atom::Const(b)) => *b,
                Expr::Atom(Atom::Owner) => r.owner == Some(p.user.0),
                Expr::Atom(Atom::Role(role)) => p.has_role(role),
                Expr::Atom(Atom::Mfa) => p.mfa_fresh(c.mfa_window, now),
                // Checked at startup; a comparison that no longer checks denies.
                Expr::Atom(Atom::Cmp(cmp)) => check_comparison(c, cmp)
                    .is_ok_and(|t| compare(&r.get(&t.target), t.op, &t.value)),
                Expr::And(a, b) => eval(a, c, p, r, now) && eval(b, c, p, r, now),
                Expr::Or(a, b) => eval(a, c, p, r, now) || eval(b, c, p, r, now),
                Expr::Not(a) => !eval(a, c, p, r, now),
            }
        }
        match self {
            Self::False => false,
            Self::Expr(e) => eval(e, c, p, record, now_ms),
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
                Expr::Atom(Atom::Cmp(cmp)) => {
                    check_comparison(c, cmp).map_or(Cond::Const(false), Cond::Cmp)
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
        let mut sql = super::super::query::Sql::default();
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
