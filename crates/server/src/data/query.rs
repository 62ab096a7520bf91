//! The one query builder of the data API. It writes SQL text from two sources only: fixed
//! keywords in this file and identifiers taken from a validated [`Collection`] (collection and
//! field names match `[a-z][a-z0-9_]*`, and are double-quoted anyway). Every value (filter
//! literals, rule parameters, record values, ids, `LIMIT` and `OFFSET`) is a bound parameter.
//! There is no function here that accepts request text.
//!
//! Every builder takes the [`Dialect`] of the database: placeholders are `$N` for both, and
//! column types, substring search, JSON access and the place of NULLs in an order follow the
//! dialect (NULLs sort first ascending on both, as SQLite does).

use super::filter::{Checked, CmpOp, SortKey, TypedCmp};
use super::schema::Collection;
use crate::db::Dialect;

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// SQL text and its parameters, in order, for one dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub dialect: Dialect,
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    /// Empty SQL of this dialect.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::new(),
            params: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn bind(&mut self, v: SqlValue) {
        self.params.push(v);
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
    }

    /// A schema identifier, quoted. Only ever called with names from a [`Collection`].
    fn ident(&mut self, name: &str) {
        debug_assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        self.text.push('"');
        self.text.push_str(&name.replace('"', "\"\""));
        self.text.push('"');
    }
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Const(bool),
    Cmp(TypedCmp),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// Folds constants (a principal's roles make many rule atoms constant).
    pub fn simplify(self) -> Self {
        match self {
            Self::And(v) => {
                let mut out = Vec::new();
                for c in v.into_iter().map(Self::simplify) {
                    match c {
                        Self::Const(true) => {}
                        Self::Const(false) => return Self::Const(false),
                        other => out.push(other),
                    }
                }
                match out.len() {
                    0 => Self::Const(true),
                    1 => out.pop().unwrap_or(Self::Const(true)),
                    _ => Self::And(out),
                }
            }
            Self::Or(v) => {
                let mut out = Vec::new();
                for c in v.into_iter().map(Self::simplify) {
                    match c {
                        Self::Const(false) => {}
                        Self::Const(true) => return Self::Const(true),
                        other => out.push(other),
                    }
                }
                match out.len() {
                    0 => Self::Const(false),
                    1 => out.pop().unwrap_or(Self::Const(false)),
                    _ => Self::Or(out),
                }
            }
            Self::Not(c) => match c.simplify() {
                Self::Const(b) => Self::Const(!b),
                other => Self::Not(Box::new(other)),
            },
            other => other,
        }
    }

    /// From a checked filter.
    pub fn from_filter(f: &Checked) -> Self {
        match f {
            Checked::Cmp(c) => Self::Cmp(c.clone()),
            Checked::And(a, b) => Self::And(vec![Self::from_filter(a), Self::from_filter(b)]),
            Checked::Or(a, b) => Self::Or(vec![Self::from_filter(a), Self::from_filter(b)]),
            Checked::Not(a) => Self::Not(Box::new(Self::from_filter(a))),
        }
    }

    /// Appends the condition: every comparison is two-valued (`coalesce(.., 0)`), matching the
    /// in-memory evaluation of rules.
    pub fn render(&self, c: &Collection, sql: &mut Sql) {
        match self {
            Self::Const(true) => sql.push("TRUE"),
            Self::Const(false) => sql.push("FALSE"),
            Self::Cmp(cmp) => {
                let col = cmp.target.column(c);
                if cmp.value == SqlValue::Null {
                    sql.ident(&col);
                    sql.push(if cmp.op == CmpOp::Eq {
                        " IS NULL"
                    } else {
                        " IS NOT NULL"
                    });
                } else if cmp.op == CmpOp::Contains {
                    sql.push(match sql.dialect {
                        Dialect::Sqlite => "coalesce(instr(",
                        Dialect::Postgres => "coalesce(strpos(",
                    });
                    sql.ident(&col);
                    sql.push(", ");
                    sql.bind(cmp.value.clone());
                    sql.push(") > 0, FALSE)");
                } else {
                    sql.push("coalesce(");
                    sql.ident(&col);
                    sql.push(" ");
                    sql.push(cmp.op.sql());
                    sql.push(" ");
                    sql.bind(cmp.value.clone());
                    sql.push(", FALSE)");
                }
            }
            Self::And(v) | Self::Or(v) => {
                let joiner = if matches!(self, Self::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                sql.push("(");
                for (i, part) in v.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    part.render(c, sql);
                }
                sql.push(")");
            }
            Self::Not(inner) => {
                sql.push("NOT (");
                inner.render(c, sql);
                sql.push(")");
            }
        }
    }
}

/// The columns every record has, then one per stored field, in schema order.
fn select_columns(c: &Collection, sql: &mut Sql) {
    sql.push("SELECT \"id\", \"owner_id\", \"created\", \"updated\"");
    for f in c.stored_fields() {
        sql.push(", ");
        sql.ident(&f.column());
    }
    sql.push(" FROM ");
    sql.ident(&c.table());
}

/// `SELECT ... WHERE id = ? AND (cond)`.
pub fn select_one(d: Dialect, c: &Collection, id: &str, cond: &Cond) -> Sql {
    let mut sql = Sql::new(d);
    select_columns(c, &mut sql);
    sql.push(" WHERE \"id\" = ");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(" AND ");
    cond.render(c, &mut sql);
    sql
}

/// `SELECT ... WHERE cond ORDER BY keys, id LIMIT ? OFFSET ?`.
pub fn select_page(
    d: Dialect,
    c: &Collection,
    cond: &Cond,
    sort: &[SortKey],
    limit: i64,
    offset: i64,
) -> Sql {
    let mut sql = Sql::new(d);
    select_columns(c, &mut sql);
    sql.push(" WHERE ");
    cond.render(c, &mut sql);
    sql.push(" ORDER BY ");
    for k in sort {
        sql.ident(&k.target.column(c));
        sql.push(match (sql.dialect, k.descending) {
            (Dialect::Sqlite, true) => " DESC, ",
            (Dialect::Sqlite, false) => " ASC, ",
            (Dialect::Postgres, true) => " DESC NULLS LAST, ",
            (Dialect::Postgres, false) => " ASC NULLS FIRST, ",
        });
    }
    // The id breaks ties, so pages never overlap.
    sql.push("\"id\" ASC LIMIT ");
    sql.bind(SqlValue::Int(limit));
    sql.push(" OFFSET ");
    sql.bind(SqlValue::Int(offset));
    sql
}

/// `SELECT COUNT(*) ... WHERE cond`.
pub fn count(d: Dialect, c: &Collection, cond: &Cond) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT COUNT(*) FROM ");
    sql.ident(&c.table());
    sql.push(" WHERE ");
    cond.render(c, &mut sql);
    sql
}

/// One row whatever the record's state: the record's columns when it exists and `cond` holds
/// for it (NULLs otherwise), then whether it exists but `cond` fails. A record the caller may
/// not read and an id that does not exist run the very same statement and both come back as a
/// row of NULLs, so neither the work done nor the time taken tells them apart.
///
/// ```sql
/// SELECT t.id, t.owner_id, t.created, t.updated, t.f_..., d.denied
/// FROM (SELECT EXISTS (SELECT 1 FROM c_x WHERE id = ? AND NOT (cond)) AS denied) AS d
/// LEFT JOIN c_x AS t ON t.id = ? AND (cond)
/// ```
pub fn select_one_checked(d: Dialect, c: &Collection, id: &str, cond: &Cond) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT \"t\".\"id\", \"t\".\"owner_id\", \"t\".\"created\", \"t\".\"updated\"");
    for f in c.stored_fields() {
        sql.push(", \"t\".");
        sql.ident(&f.column());
    }
    sql.push(", \"d\".\"denied\" FROM (SELECT EXISTS (SELECT 1 FROM ");
    sql.ident(&c.table());
    sql.push(" WHERE \"id\" = ");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(" AND NOT (");
    cond.render(c, &mut sql);
    sql.push(")) AS \"denied\") AS \"d\" LEFT JOIN ");
    sql.ident(&c.table());
    sql.push(" AS \"t\" ON \"t\".\"id\" = ");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(" AND (");
    cond.render(c, &mut sql);
    sql.push(")");
    sql
}

/// The file columns of one collection table, as the database knows them: every installed
/// collection counts, whether or not the configuration in use still declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileColumns {
    table: String,
    columns: Vec<String>,
}

impl FileColumns {
    /// The file columns of the collection `collection` with these file fields, as remembered in
    /// `collection_fields`; `None` when a name is not one a collection or field can have (the
    /// stored list was edited by hand), so nothing unchecked reaches the SQL text.
    pub fn stored(collection: &str, fields: &[String]) -> Option<Self> {
        let ok = |n: &str| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !ok(collection) || !fields.iter().all(|f| ok(f)) || fields.is_empty() {
            return None;
        }
        Some(Self {
            table: format!("c_{collection}"),
            columns: fields.iter().map(|f| format!("f_{f}")).collect(),
        })
    }
}

/// `SELECT COALESCE(SUM(size), 0)` of the files these columns hold that `uploader` uploaded
/// (metadata `by`; files stored before uploaders were recorded count for the record's owner).
pub fn file_bytes_of_uploader(d: Dialect, files: &FileColumns, uploader: i64) -> Sql {
    let mut sql = Sql::new(d);
    // SUM of BIGINT is NUMERIC on PostgreSQL: cast back, the total of file sizes fits.
    sql.push(match d {
        Dialect::Sqlite => "SELECT COALESCE(SUM(\"n\"), 0) FROM (",
        Dialect::Postgres => "SELECT COALESCE(SUM(\"n\"), 0)::bigint FROM (",
    });
    for (i, col) in files.columns.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT COALESCE(");
        json_int(&mut sql, col, "size");
        sql.push(", 0) AS \"n\" FROM ");
        sql.ident(&files.table);
        sql.push(" WHERE ");
        sql.ident(col);
        sql.push(" IS NOT NULL AND COALESCE(");
        json_int(&mut sql, col, "by");
        sql.push(", \"owner_id\") = ");
        sql.bind(SqlValue::Int(uploader));
    }
    sql.push(") AS \"files\"");
    sql
}

/// The blob names the file columns of one table refer to.
/// The integer member `key` (a fixed word of this file) of the JSON text in `col`.
fn json_int(sql: &mut Sql, col: &str, key: &str) {
    match sql.dialect {
        Dialect::Sqlite => {
            sql.push("json_extract(");
            sql.ident(col);
            sql.push(&format!(", '$.{key}')"));
        }
        Dialect::Postgres => {
            sql.push("((");
            sql.ident(col);
            sql.push(&format!(")::jsonb ->> '{key}')::bigint"));
        }
    }
}

/// The text member `key` (a fixed word of this file) of the JSON text in `col`.
fn json_text(sql: &mut Sql, col: &str, key: &str) {
    match sql.dialect {
        Dialect::Sqlite => {
            sql.push("json_extract(");
            sql.ident(col);
            sql.push(&format!(", '$.{key}')"));
        }
        Dialect::Postgres => {
            sql.push("((");
            sql.ident(col);
            sql.push(&format!(")::jsonb ->> '{key}')"));
        }
    }
}

pub fn file_blobs(d: Dialect, files: &FileColumns) -> Sql {
    let mut sql = Sql::new(d);
    for (i, col) in files.columns.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT ");
        json_text(&mut sql, col, "blob");
        sql.push(" FROM ");
        sql.ident(&files.table);
        sql.push(" WHERE ");
        sql.ident(col);
        sql.push(" IS NOT NULL");
    }
    sql
}

/// `INSERT INTO t (id, owner_id, created, updated, cols...) VALUES (?, ...)`; `values` are the
/// stored fields' columns with their values (names from the schema).
pub fn insert(
    d: Dialect,

    c: &Collection,
    id: &str,
    owner: i64,
    now: i64,
    values: Vec<(String, SqlValue)>,
) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("INSERT INTO ");
    sql.ident(&c.table());
    sql.push(" (\"id\", \"owner_id\", \"created\", \"updated\"");
    for (col, _) in &values {
        sql.push(", ");
        sql.ident(col);
    }
    sql.push(") VALUES (");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(", ");
    sql.bind(SqlValue::Int(owner));
    sql.push(", ");
    sql.bind(SqlValue::Int(now));
    sql.push(", ");
    sql.bind(SqlValue::Int(now));
    for (_, v) in values {
        sql.push(", ");
        sql.bind(v);
    }
    sql.push(")");
    sql
}

/// `UPDATE t SET cols..., updated = ? WHERE id = ? AND (cond)`.
pub fn update(
    d: Dialect,

    c: &Collection,
    id: &str,
    now: i64,
    values: Vec<(String, SqlValue)>,
    cond: &Cond,
) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("UPDATE ");
    sql.ident(&c.table());
    sql.push(" SET ");
    for (col, v) in values {
        sql.ident(&col);
        sql.push(" = ");
        sql.bind(v);
        sql.push(", ");
    }
    sql.push("\"updated\" = ");
    sql.bind(SqlValue::Int(now));
    sql.push(" WHERE \"id\" = ");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(" AND ");
    cond.render(c, &mut sql);
    sql
}

/// `DELETE FROM t WHERE id = ? AND (cond)`.
pub fn delete(d: Dialect, c: &Collection, id: &str, cond: &Cond) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("DELETE FROM ");
    sql.ident(&c.table());
    sql.push(" WHERE \"id\" = ");
    sql.bind(SqlValue::Text(id.to_owned()));
    sql.push(" AND ");
    cond.render(c, &mut sql);
    sql
}

/// `CREATE TABLE IF NOT EXISTS` for a collection (fields are added one by one after).
pub fn create_table(d: Dialect, c: &Collection) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("CREATE TABLE IF NOT EXISTS ");
    sql.ident(&c.table());
    sql.push(&format!(
        " (\"id\" TEXT PRIMARY KEY NOT NULL, \
             \"owner_id\" {int} REFERENCES users (id) ON DELETE SET NULL, \
             \"created\" {int} NOT NULL, \"updated\" {int} NOT NULL)",
        int = sql.dialect.integer()
    ));
    sql
}

/// `CREATE INDEX IF NOT EXISTS` on the owner and creation time (rules and default sort).
pub fn create_indexes(d: Dialect, c: &Collection) -> Vec<Sql> {
    ["owner_id", "created"]
        .iter()
        .map(|col| {
            let mut sql = Sql::new(d);
            sql.push("CREATE INDEX IF NOT EXISTS ");
            sql.ident(&format!("{}_{col}", c.table()));
            sql.push(" ON ");
            sql.ident(&c.table());
            sql.push(" (");
            sql.ident(col);
            sql.push(")");
            sql
        })
        .collect()
}

/// `ALTER TABLE t ADD COLUMN col TYPE`.
pub fn add_column(d: Dialect, c: &Collection, column: &str, sql_type: &str) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("ALTER TABLE ");
    sql.ident(&c.table());
    sql.push(" ADD COLUMN ");
    sql.ident(column);
    sql.push(" ");
    let d = sql.dialect;
    sql.push(match sql_type {
        "INTEGER" => d.integer(),
        "REAL" => d.real(),
        "BLOB" => d.blob(),
        _ => "TEXT",
    });
    sql
}

/// `ALTER TABLE t DROP COLUMN col` (only with `allow_changes`).
pub fn drop_column(d: Dialect, c: &Collection, column: &str) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("ALTER TABLE ");
    sql.ident(&c.table());
    sql.push(" DROP COLUMN ");
    sql.ident(column);
    sql
}

/// The unique index of a `unique` field (an index, so adding and dropping work on SQLite).
pub fn unique_index(d: Dialect, c: &Collection, column: &str, create: bool) -> Sql {
    let mut sql = Sql::new(d);
    let name = format!("{}_{column}_unique", c.table());
    if create {
        sql.push("CREATE UNIQUE INDEX IF NOT EXISTS ");
        sql.ident(&name);
        sql.push(" ON ");
        sql.ident(&c.table());
        sql.push(" (");
        sql.ident(column);
        sql.push(")");
    } else {
        sql.push("DROP INDEX IF EXISTS ");
        sql.ident(&name);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::filter::parse_filter;
    use crate::data::schema::Collections;

    fn coll() -> Collection {
        Collections::from_config_text(
            "[collections.orders]\nfields = { item = \"string\", qty = \"int\", owner = \"owner\" }",
        )
        .unwrap()
        .get("orders")
        .unwrap()
        .clone()
    }

    #[test]
    fn request_text_only_ever_becomes_parameters() {
        let c = coll();
        let evil = r#"item = "x\" OR 1=1; DROP TABLE users; --" or qty >= 3"#;
        let f = parse_filter(&c, evil, &|_| true).unwrap();
        let sql = select_page(Dialect::Sqlite, &c, &Cond::from_filter(&f), &[], 20, 40);
        assert_eq!(
            sql.text,
            "SELECT \"id\", \"owner_id\", \"created\", \"updated\", \"f_item\", \"f_qty\" \
             FROM \"c_orders\" WHERE (coalesce(\"f_item\" = $1, FALSE) OR \
             coalesce(\"f_qty\" >= $2, FALSE)) ORDER BY \"id\" ASC LIMIT $3 OFFSET $4"
        );
        assert_eq!(
            sql.params,
            vec![
                SqlValue::Text("x\" OR 1=1; DROP TABLE users; --".into()),
                SqlValue::Int(3),
                SqlValue::Int(20),
                SqlValue::Int(40)
            ]
        );
    }

    #[test]
    fn constants_fold() {
        let c = Cond::And(vec![
            Cond::Const(true),
            Cond::Or(vec![Cond::Const(false), Cond::Const(false)]),
        ]);
        assert_eq!(c.simplify(), Cond::Const(false));
        assert_eq!(
            Cond::Not(Box::new(Cond::Const(false))).simplify(),
            Cond::Const(true)
        );
    }
}
