//! Record accesses written as SQL text: which table a statement reads or writes, which columns
//! it writes, and which value each column and each `WHERE col = …` condition gets.
//!
//! The ownership analysis of handlers ([`super::handlers`]) sees ORM and cloud database calls
//! as accesses; a Node backend on a SQL driver writes `pool.query('UPDATE orders SET status =
//! ? WHERE id = ?', [body.status, body.id])` instead. This module reads such a statement (a
//! string or template literal, the placeholders filled from the array that follows, in order)
//! into the same terms: the table, the written columns with the value of each, and the
//! selector's columns with theirs. It reads the four plain statement shapes; anything else
//! (joins, sub-queries, `INSERT … SELECT`, positional `VALUES` without a column list) is not
//! an access it can place, and is left alone.

/// What fills a place of the statement: the n-th `?` placeholder, the n-th `${…}` of a
/// template literal, or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Param(usize),
    Interpolation(usize),
    Constant,
}

/// A statement read as an access.
#[derive(Debug, PartialEq, Eq)]
pub struct SqlAccess {
    pub op: super::authz_spec::Op,
    pub table: String,
    /// Written columns and what fills them.
    pub columns: Vec<(String, Slot)>,
    /// `WHERE` conditions `column = …` and what they compare with.
    pub conditions: Vec<(String, Slot)>,
}

/// The longest statement read (longer text is not a hand-written statement).
const MAX_SQL: usize = 4096;

/// Reads a statement. `text` is the statement with each `${…}` of a template literal replaced
/// by [`HOLE`](crate::value::HOLE).
pub fn read(text: &str) -> Option<SqlAccess> {
    if text.len() > MAX_SQL {
        return None;
    }
    let mut next_param = 0;
    let mut next_interp = 0;
    // Number the placeholders and holes in order of appearance.
    let mut slots = Vec::new();
    let mut normal = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '?' => {
                slots.push(Slot::Param(next_param));
                next_param += 1;
                normal.push_str(" \u{1} ");
            }
            crate::value::HOLE => {
                slots.push(Slot::Interpolation(next_interp));
                next_interp += 1;
                normal.push_str(" \u{1} ");
            }
            '(' | ')' | ',' | '=' => {
                normal.push(' ');
                normal.push(c);
                normal.push(' ');
            }
            '`' | '"' | '\'' => normal.push(' '),
            c if c.is_whitespace() => normal.push(' '),
            c => normal.push(c),
        }
    }
    let words: Vec<&str> = normal.split_whitespace().collect();
    let mut slots = slots.into_iter();
    let lower = |i: usize| words.get(i).map(|w| w.to_ascii_lowercase());
    let first = lower(0)?;
    let mut out = match first.as_str() {
        "insert" | "replace" => {
            let mut i = 1;
            while lower(i).is_some_and(|w| matches!(w.as_str(), "ignore" | "into")) {
                i += 1;
            }
            let table = table_name(words.get(i)?)?;
            if words.get(i + 1) != Some(&"(") {
                return None;
            }
            let close = i + 2 + words.get(i + 2..)?.iter().position(|w| *w == ")")?;
            let cols: Vec<String> = words[i + 2..close]
                .iter()
                .filter(|w| **w != ",")
                .map(|w| column_name(w))
                .collect();
            if lower(close + 1).as_deref() != Some("values") || words.get(close + 2) != Some(&"(") {
                return None;
            }
            let mut columns = Vec::new();
            let mut col = 0;
            let mut depth = 0u32;
            let mut current = Slot::Constant;
            for w in words.get(close + 3..)? {
                match *w {
                    "(" => depth += 1,
                    ")" if depth == 0 => {
                        columns.push((cols.get(col)?.clone(), current));
                        break;
                    }
                    ")" => depth -= 1,
                    "," if depth == 0 => {
                        columns.push((cols.get(col)?.clone(), current));
                        col += 1;
                        current = Slot::Constant;
                    }
                    "\u{1}" => current = slots.next()?,
                    _ => {}
                }
            }
            if columns.len() != cols.len() {
                return None;
            }
            return Some(SqlAccess {
                op: super::authz_spec::Op::Add,
                table,
                columns,
                conditions: Vec::new(),
            });
        }
        "update" => {
            let table = table_name(words.get(1)?)?;
            if lower(2).as_deref() != Some("set") {
                return None;
            }
            let mut columns = Vec::new();
            let mut i = 3;
            while i + 2 < words.len() && lower(i).as_deref() != Some("where") {
                if words[i + 1] == "=" {
                    let slot = if words[i + 2] == "\u{1}" {
                        slots.next()?
                    } else {
                        Slot::Constant
                    };
                    columns.push((column_name(words[i]), slot));
                    i += 3;
                } else {
                    // `n = n + ?`, functions: skip to the next assignment, keeping slots in order.
                    if words[i] == "\u{1}" {
                        slots.next()?;
                    }
                    i += 1;
                }
            }
            SqlAccess {
                op: super::authz_spec::Op::Update,
                table,
                columns,
                conditions: Vec::new(),
            }
            .with_where(&words, i, &mut slots)?
        }
        "delete" => {
            if lower(1).as_deref() != Some("from") {
                return None;
            }
            let table = table_name(words.get(2)?)?;
            SqlAccess {
                op: super::authz_spec::Op::Remove,
                table,
                columns: Vec::new(),
                conditions: Vec::new(),
            }
            .with_where(&words, 3, &mut slots)?
        }
        "select" => {
            let from = (1..words.len()).find(|&i| lower(i).as_deref() == Some("from"))?;
            // Placeholders in the select list come first.
            for w in &words[1..from] {
                if *w == "\u{1}" {
                    slots.next()?;
                }
            }
            let table = table_name(words.get(from + 1)?)?;
            // One table only: a join or a second table names records this does not place.
            if words.get(from + 2).is_some_and(|w| {
                *w == "," || matches!(w.to_ascii_lowercase().as_str(), "join" | "inner" | "left")
            }) {
                return None;
            }
            SqlAccess {
                op: super::authz_spec::Op::Read,
                table,
                columns: Vec::new(),
                conditions: Vec::new(),
            }
            .with_where(&words, from + 2, &mut slots)?
        }
        _ => return None,
    };
    out.table = out.table.trim_matches('`').to_owned();
    Some(out)
}

impl SqlAccess {
    /// Adds the `col = …` conditions of a `WHERE` clause at or after word `at`.
    fn with_where(
        mut self,
        words: &[&str],
        at: usize,
        slots: &mut impl Iterator<Item = Slot>,
    ) -> Option<Self> {
        let Some(w) = (at..words.len()).find(|&i| words[i].eq_ignore_ascii_case("where")) else {
            return Some(self);
        };
        for w in &words[at..w] {
            if *w == "\u{1}" {
                slots.next()?;
            }
        }
        let mut i = w + 1;
        while i < words.len() {
            if words[i] == "\u{1}" {
                let slot = slots.next()?;
                // `col = ?`
                if i >= 2 && words[i - 1] == "=" {
                    self.conditions.push((column_name(words[i - 2]), slot));
                }
            } else if matches!(
                words[i].to_ascii_lowercase().as_str(),
                "order" | "limit" | "group"
            ) {
                break;
            }
            i += 1;
        }
        Some(self)
    }
}

fn table_name(w: &str) -> Option<String> {
    let t = w.trim_matches('`');
    let t = t.rsplit('.').next().unwrap_or(t);
    (!t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| t.to_owned())
}

fn column_name(w: &str) -> String {
    let w = w.trim_matches('`');
    w.rsplit('.')
        .next()
        .unwrap_or(w)
        .trim_matches('`')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::authz_spec::Op;

    #[test]
    fn an_insert_names_its_columns_and_their_placeholders() {
        let a = read("INSERT INTO orders (order_no, openid, price, status) VALUES (?, ?, ?, 0)")
            .unwrap();
        assert_eq!(a.op, Op::Add);
        assert_eq!(a.table, "orders");
        assert_eq!(
            a.columns,
            vec![
                ("order_no".into(), Slot::Param(0)),
                ("openid".into(), Slot::Param(1)),
                ("price".into(), Slot::Param(2)),
                ("status".into(), Slot::Constant),
            ]
        );
    }

    #[test]
    fn an_update_names_what_it_sets_and_what_selects() {
        let a = read(
            "UPDATE `ordering` SET status = ?, paid_at = NOW() WHERE sessionid = ? && orderId = ?",
        )
        .unwrap();
        assert_eq!(a.op, Op::Update);
        assert_eq!(a.table, "ordering");
        assert_eq!(a.columns[0], ("status".into(), Slot::Param(0)));
        assert_eq!(
            a.conditions,
            vec![
                ("sessionid".into(), Slot::Param(1)),
                ("orderId".into(), Slot::Param(2))
            ]
        );
        let h = crate::value::HOLE;
        let t = read(&format!(
            "update usertable set user_name='{h}' where user_openid ='{h}'"
        ))
        .unwrap();
        assert_eq!(
            t.columns,
            vec![("user_name".into(), Slot::Interpolation(0))]
        );
        assert_eq!(
            t.conditions,
            vec![("user_openid".into(), Slot::Interpolation(1))]
        );
    }

    #[test]
    fn selects_and_deletes_name_their_conditions() {
        let a =
            read("select * from ordering where user_openid = ? order by id desc limit ?").unwrap();
        assert_eq!(a.op, Op::Read);
        assert_eq!(a.conditions, vec![("user_openid".into(), Slot::Param(0))]);
        let d = read("DELETE FROM cart WHERE id = ? AND user_id = ?").unwrap();
        assert_eq!(d.op, Op::Remove);
        assert_eq!(d.conditions.len(), 2);
    }

    #[test]
    fn shapes_it_cannot_place_are_left_alone() {
        assert!(read("INSERT INTO orders VALUES (0, ?, ?)").is_none());
        assert!(read("SELECT * FROM a JOIN b ON a.id = b.a WHERE b.x = ?").is_none());
        assert!(read("SELECT * FROM a, b WHERE a.id = ?").is_none());
        assert!(read("CREATE TABLE t (id int)").is_none());
        assert!(read("INSERT INTO t (a, b) VALUES (?)").is_none());
        assert!(read(&"x".repeat(MAX_SQL + 1)).is_none());
    }
}
