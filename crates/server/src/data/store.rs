//! The data layer of collections: runs what [`super::query`] builds, creates and migrates one
//! table per collection at startup, and decodes rows. The only SQL text here is the fixed
//! bookkeeping of `collection_fields` (migration 0006); everything about a collection's table
//! comes from the query builder.

use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::query::Query;
use sqlx::{Database, Postgres, Row, Sqlite};

use super::query::{self, Cond, Sql, SqlValue};
use super::records::StoredRow;
use super::schema::{Collection, Collections, FieldType};
use crate::db::{Db, DbError, on_conn, on_pool};

/// Why the collections could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error(
        "collections.{collection}.fields.{field}: {what}; the stored data would be lost or \
         misread. Use a new field name, or set allow_changes = true on the collection to drop \
         the old column"
    )]
    Refused {
        collection: String,
        field: String,
        what: &'static str,
    },
    #[error("collections.{collection}: {message}")]
    Invalid { collection: String, message: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// A driver that can bind every [`SqlValue`].
trait BindValue: Database {
    fn bind_value<'q>(
        q: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        v: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>>;
}

impl BindValue for Sqlite {
    fn bind_value<'q>(
        q: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        v: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
        match v {
            SqlValue::Null => q.bind(None::<i64>),
            SqlValue::Int(n) => q.bind(*n),
            SqlValue::Float(x) => q.bind(*x),
            SqlValue::Text(s) => q.bind(s.as_str()),
            SqlValue::Blob(b) => q.bind(b.as_slice()),
        }
    }
}

/// A NULL of no declared type: PostgreSQL takes the type from where it goes (a NULL declared
/// BIGINT could not be stored in a TEXT column). SQLite columns take any NULL.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        // OID 0: "unspecified", inferred by the server.
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

impl BindValue for Postgres {
    fn bind_value<'q>(
        q: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        v: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
        match v {
            SqlValue::Null => q.bind(UntypedNull),
            SqlValue::Int(n) => q.bind(*n),
            SqlValue::Float(x) => q.bind(*x),
            SqlValue::Text(s) => q.bind(s.as_str()),
            SqlValue::Blob(b) => q.bind(b.as_slice()),
        }
    }
}

/// The query of `sql` with its parameters bound, for the driver that runs it.
fn bind<DB: BindValue>(sql: &Sql) -> Query<'_, DB, <DB as Database>::Arguments<'_>> {
    sql.params
        .iter()
        .fold(sqlx::query(&sql.text), |q, v| DB::bind_value(q, v))
}

/// The stored type of a field, as remembered in `collection_fields`.
fn storage_spec(f: &super::schema::Field) -> String {
    if f.encrypted {
        format!("{} encrypted", f.ty.spec())
    } else {
        f.ty.spec()
    }
}

fn column_type(f: &super::schema::Field) -> &'static str {
    if f.encrypted { "BLOB" } else { f.ty.sql_type() }
}

/// Installs one collection on the connection `$conn` (in a transaction); returns early with
/// the error.
macro_rules! install_one {
    ($conn:expr, $c:expr, $d:expr) => {{
    let conn = $conn;
    let c: &Collection = $c;
    let d: crate::db::Dialect = $d;
    bind(&query::create_table(d, c)).execute(&mut *conn).await?;
    for idx in query::create_indexes(d, c) {
        bind(&idx).execute(&mut *conn).await?;
    }
    let stored: Vec<(String, String)> =
        sqlx::query("SELECT field, spec FROM collection_fields WHERE collection = $1")
            .bind(&c.name)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    for (name, _) in &stored {
        if c.field(name).is_none_or(|f| f.ty == FieldType::Owner) {
            if !c.allow_changes {
                return Err(StoreError::Refused {
                    collection: c.name.clone(),
                    field: name.clone(),
                    what: "removed from the schema",
                });
            }
            let column = format!("f_{name}");
            bind(&query::unique_index(d, c, &column, false))
                .execute(&mut *conn)
                .await?;
            bind(&query::drop_column(d, c, &column))
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM collection_fields WHERE collection = $1 AND field = $2")
                .bind(&c.name)
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
    }
    for f in c.stored_fields() {
        let spec = storage_spec(f);
        let column = f.column();
        match stored.iter().find(|(n, _)| *n == f.name) {
            Some((_, old)) if *old == spec => {}
            Some(_) => {
                if !c.allow_changes {
                    return Err(StoreError::Refused {
                        collection: c.name.clone(),
                        field: f.name.clone(),
                        what: "its type or encryption changed",
                    });
                }
                bind(&query::unique_index(d, c, &column, false))
                    .execute(&mut *conn)
                    .await?;
                bind(&query::drop_column(d, c, &column))
                    .execute(&mut *conn)
                    .await?;
                bind(&query::add_column(d, c, &column, column_type(f)))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "UPDATE collection_fields SET spec = $1 WHERE collection = $2 AND field = $3",
                )
                .bind(&spec)
                .bind(&c.name)
                .bind(&f.name)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                bind(&query::add_column(d, c, &column, column_type(f)))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "INSERT INTO collection_fields (collection, field, spec) VALUES ($1, $2, $3)",
                )
                .bind(&c.name)
                .bind(&f.name)
                .bind(&spec)
                .execute(&mut *conn)
                .await?;
            }
        }
        bind(&query::unique_index(d, c, &column, f.unique))
            .execute(&mut *conn)
            .await
            .map_err(|e| StoreError::Invalid {
                collection: c.name.clone(),
                message: format!("unique index on {}: {e}", f.name),
            })?;
    }
    }};
}

/// Creates each collection's table, adds columns for new fields, keeps unique indexes in step,
/// and refuses removed or retyped fields unless the collection allows changes.
pub async fn install(db: &Db, collections: &Collections) -> Result<(), StoreError> {
    let d = db.dialect();
    on_pool!(db.pool(), p => {
        for c in collections.by_name.values() {
            let mut tx = p.begin().await?;
            install_one!(&mut *tx, c, d);
            tx.commit().await?;
        }
        Ok(())
    })
}

fn decode<R: Row>(c: &Collection, r: &R) -> Result<StoredRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut values = Vec::new();
    for (i, f) in c.stored_fields().enumerate() {
        let i = i + 4;
        let v = if f.encrypted {
            r.try_get::<Option<Vec<u8>>, _>(i)?.map(SqlValue::Blob)
        } else {
            match f.ty.sql_type() {
                "INTEGER" => r.try_get::<Option<i64>, _>(i)?.map(SqlValue::Int),
                "REAL" => r.try_get::<Option<f64>, _>(i)?.map(SqlValue::Float),
                _ => r.try_get::<Option<String>, _>(i)?.map(SqlValue::Text),
            }
        };
        values.push(v.unwrap_or(SqlValue::Null));
    }
    Ok(StoredRow {
        id: r.try_get(0)?,
        owner: r.try_get(1)?,
        created: r.try_get(2)?,
        updated: r.try_get(3)?,
        values,
    })
}

/// The record with this id if `cond` holds for it.
pub async fn find(
    db: &Db,
    c: &Collection,
    id: &str,
    cond: &Cond,
) -> Result<Option<StoredRow>, DbError> {
    let sql = query::select_one(db.dialect(), c, id, cond);
    let mut conn = db.point_conn().await?;
    on_conn!(&mut conn, x => {
        let row = bind(&sql).fetch_optional(x).await?;
        Ok(row.map(|r| decode(c, &r)).transpose()?)
    })
}

/// What a by-id lookup found (see [`query::select_one_checked`]).
pub enum Access {
    /// The record, which the condition allows.
    Allowed(StoredRow),
    /// A record exists and the condition refuses it.
    Denied,
    /// No record has this id.
    Missing,
}

/// The record with this id, checked against `cond` in one statement that costs the same for a
/// refused record and a missing one.
pub async fn find_checked(
    db: &Db,
    c: &Collection,
    id: &str,
    cond: &Cond,
) -> Result<Access, DbError> {
    let sql = query::select_one_checked(db.dialect(), c, id, cond);
    let mut conn = db.point_conn().await?;
    on_conn!(&mut conn, x => {
        let row = bind(&sql).fetch_one(x).await?;
        let denied_at = 4 + c.stored_fields().count();
        let denied: bool = row.try_get(denied_at)?;
        let found: Option<String> = row.try_get(0)?;
        Ok(match (found, denied) {
            (Some(_), _) => Access::Allowed(decode(c, &row)?),
            (None, true) => Access::Denied,
            (None, false) => Access::Missing,
        })
    })
}

/// The file columns of every collection installed in this database, from the stored field
/// list (`collection_fields`), not from the configuration in use: a collection left out of the
/// configuration keeps its table, and the files its records refer to are still real files.
/// A stored name that is not a valid identifier is an error (the list was edited by hand), so
/// a caller never works from a partial list.
fn file_columns_of(rows: Vec<(String, String)>) -> Result<Vec<query::FileColumns>, DbError> {
    let mut by_collection: Vec<(String, Vec<String>)> = Vec::new();
    for (collection, field) in rows {
        match by_collection.last_mut() {
            Some((c, fields)) if *c == collection => fields.push(field),
            _ => by_collection.push((collection, vec![field])),
        }
    }
    by_collection
        .iter()
        .map(|(c, fields)| {
            query::FileColumns::stored(c, fields).ok_or_else(|| {
                DbError::Integrity(format!(
                    "collection_fields names a file field that cannot exist: {c}.{fields:?}"
                ))
            })
        })
        .collect()
}

/// The file fields stored in `collection_fields`, by collection (see `file_columns_of`).
const INSTALLED_FILE_FIELDS: &str = "SELECT collection, field FROM collection_fields \
                                     WHERE spec LIKE 'file(%' ORDER BY collection, field";

/// Bytes of the files `uploader` uploaded, over every installed collection (see
/// `file_columns_of`), whoever owns the records that hold them.
pub async fn file_bytes_of_uploader(db: &Db, uploader: i64) -> Result<i64, DbError> {
    let d = db.dialect();
    let mut conn = db.data_conn().await?;
    on_conn!(conn.conn(), x => {
        let fields: Vec<(String, String)> =
            sqlx::query_as(INSTALLED_FILE_FIELDS).fetch_all(&mut *x).await?;
        let mut total: i64 = 0;
        for files in file_columns_of(fields)? {
            let sql = query::file_bytes_of_uploader(d, &files, uploader);
            let n: i64 = bind(&sql).fetch_one(&mut *x).await?.try_get(0)?;
            total = total.saturating_add(n);
        }
        Ok(total)
    })
}

/// Every blob name a record refers to, over every collection installed in the database (see
/// `file_columns_of`), whether or not the configuration in use declares it.
pub async fn referenced_blobs(db: &Db) -> Result<std::collections::HashSet<String>, DbError> {
    let d = db.dialect();
    let mut out = std::collections::HashSet::new();
    // Not a request's query: no time limit, the session pool.
    on_pool!(db.pool(), p => {
        let mut conn = p.acquire().await?;
        let fields: Vec<(String, String)> =
            sqlx::query_as(INSTALLED_FILE_FIELDS).fetch_all(&mut *conn).await?;
        for files in file_columns_of(fields)? {
            for row in bind(&query::file_blobs(d, &files))
                .fetch_all(&mut *conn)
                .await?
            {
                if let Some(name) = row.try_get::<Option<String>, _>(0)? {
                    out.insert(name);
                }
            }
        }
    });
    Ok(out)
}

/// One page of records for which `cond` holds, and how many there are in all.
pub async fn page(
    db: &Db,
    c: &Collection,
    cond: &Cond,
    sort: &[super::filter::SortKey],
    limit: i64,
    offset: i64,
) -> Result<(Vec<StoredRow>, i64), DbError> {
    let d = db.dialect();
    let mut conn = db.data_conn().await?;
    on_conn!(conn.conn(), x => {
        let total: i64 = bind(&query::count(d, c, cond))
            .fetch_one(&mut *x)
            .await?
            .try_get(0)?;
        let rows = bind(&query::select_page(d, c, cond, sort, limit, offset))
            .fetch_all(&mut *x)
            .await?;
        let rows = rows
            .iter()
            .map(|r| decode(c, r))
            .collect::<Result<_, _>>()?;
        Ok((rows, total))
    })
}

/// A write that may hit a unique index: `Err(Some(field))` names the field.
pub enum WriteOutcome {
    Done(u64),
    Duplicate(String),
}

async fn write(db: &Db, c: &Collection, sql: &Sql) -> Result<WriteOutcome, DbError> {
    let mut conn = db.data_conn().await?;
    let done = on_conn!(conn.conn(), x => bind(sql).execute(x).await.map(|r| r.rows_affected()));
    match done {
        Ok(n) => Ok(WriteOutcome::Done(n)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // SQLite: "UNIQUE constraint failed: c_orders.f_code"; PostgreSQL names the index
            // (`query::unique_index`): "c_orders_f_code_unique". Find the field among the
            // schema's.
            let msg = e.message().to_owned();
            let index = e.constraint().unwrap_or_default().to_owned();
            let field = c
                .stored_fields()
                .find(|f| {
                    let col = f.column();
                    msg.contains(&format!(".{col}"))
                        || index == format!("{}_{col}_unique", c.table())
                })
                .map_or_else(String::new, |f| f.name.clone());
            Ok(WriteOutcome::Duplicate(field))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn insert(
    db: &Db,
    c: &Collection,
    id: &str,
    owner: i64,
    now: i64,
    values: Vec<(String, SqlValue)>,
) -> Result<WriteOutcome, DbError> {
    write(
        db,
        c,
        &query::insert(db.dialect(), c, id, owner, now, values),
    )
    .await
}

pub async fn update(
    db: &Db,
    c: &Collection,
    id: &str,
    now: i64,
    values: Vec<(String, SqlValue)>,
    cond: &Cond,
) -> Result<WriteOutcome, DbError> {
    write(
        db,
        c,
        &query::update(db.dialect(), c, id, now, values, cond),
    )
    .await
}

pub async fn delete(db: &Db, c: &Collection, id: &str, cond: &Cond) -> Result<u64, DbError> {
    let sql = query::delete(db.dialect(), c, id, cond);
    let mut conn = db.data_conn().await?;
    on_conn!(conn.conn(), x => Ok(bind(&sql).execute(x).await?.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        (dir, db)
    }

    fn schema(fields: &str, extra: &str) -> Collections {
        Collections::from_config_text(&format!(
            "[collections.things]\nfields = {{ {fields} }}\n{extra}"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn fields_are_added_and_removals_or_retypes_refused_unless_allowed() {
        let (_d, db) = db().await;
        install(&db, &schema("a = \"int\"", "")).await.unwrap();
        // Idempotent.
        install(&db, &schema("a = \"int\"", "")).await.unwrap();
        // A new field adds a column.
        install(&db, &schema("a = \"int\", b = \"string unique\"", ""))
            .await
            .unwrap();
        let e = install(&db, &schema("b = \"string unique\"", ""))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("collections.things.fields.a"), "{e}");
        let e = install(&db, &schema("a = \"string\", b = \"string unique\"", ""))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("changed"), "{e}");
        let e = install(
            &db,
            &schema("a = \"int encrypted\", b = \"string unique\"", ""),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("changed"), "{e}");
        install(
            &db,
            &schema("b = \"string unique\"", "allow_changes = true"),
        )
        .await
        .unwrap();
        install(&db, &schema("b = \"string unique\"", ""))
            .await
            .unwrap();
    }

    /// The two forms of a rule (in memory, SQL) agree on every record, NULLs included.
    #[tokio::test]
    async fn rules_in_memory_and_in_sql_agree() {
        use crate::data::records;
        use crate::data::rules::{Principal, Rule};
        use crate::db::UserId;

        let (_d, db) = db().await;
        let cs = schema(
            "s = \"string\", n = \"int\", x = \"float\", b = \"bool\", owner = \"owner\"",
            "",
        );
        install(&db, &cs).await.unwrap();
        let c = cs.get("things").unwrap();
        let (u1, _) = db.upsert_user("wechat", "o1", None).await.unwrap();
        let (u2, _) = db.upsert_user("wechat", "o2", None).await.unwrap();
        let samples = [
            (
                u1,
                SqlValue::Text("tea".into()),
                SqlValue::Int(3),
                SqlValue::Float(0.5),
                SqlValue::Int(1),
            ),
            (
                u2,
                SqlValue::Text("Tea 茶".into()),
                SqlValue::Int(-1),
                SqlValue::Null,
                SqlValue::Int(0),
            ),
            (
                u1,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Float(2.0),
                SqlValue::Null,
            ),
            (
                u2,
                SqlValue::Text(String::new()),
                SqlValue::Int(3),
                SqlValue::Float(3.0),
                SqlValue::Int(1),
            ),
        ];
        let mut rows = Vec::new();
        for (owner, sv, nv, xv, bv) in samples {
            let id = records::new_id();
            let values = vec![
                ("b".to_owned(), bv),
                ("n".to_owned(), nv),
                ("s".to_owned(), sv),
                ("x".to_owned(), xv),
            ];
            let sealed = records::seal(c, &test_keys(), &id, values).unwrap();
            insert(&db, c, &id, owner.0, 1, sealed).await.unwrap();
            rows.push(id);
        }
        let rules = [
            "owner",
            "not owner",
            "role:staff or n > 2",
            "s = \"tea\"",
            "not s = \"tea\"",
            "s ~ \"ea\" and not x >= 1",
            "s = null or n != 3",
            "x > 1 or x < 1",
            "b = true and owner",
            "not (n <= 3 and s != null)",
            "n = 3 and x = 3",
            "mfa or s ~ \"\"",
            "x >= 0.5 and not (b = false)",
        ];
        for p in [
            Principal {
                user: u1,
                roles: vec![],
                mfa_at_ms: None,
            },
            Principal {
                user: u2,
                roles: vec!["staff".into()],
                mfa_at_ms: Some(10),
            },
            Principal {
                user: UserId(999),
                roles: vec![],
                mfa_at_ms: None,
            },
        ] {
            for text in rules {
                let rule = Rule::parse(text).unwrap();
                rule.check(c).unwrap();
                let cond = rule.to_cond(c, &p, 20);
                for id in &rows {
                    let row = find(&db, c, id, &Cond::Const(true)).await.unwrap().unwrap();
                    let view = records::open(c, &test_keys(), &row).unwrap();
                    let in_memory = rule.allows(c, &p, &view, 20);
                    let in_sql = find(&db, c, id, &cond).await.unwrap().is_some();
                    assert_eq!(in_memory, in_sql, "{text} for {p:?} on {view:?}");
                }
            }
        }
    }

    fn test_keys() -> miniguard_crypto::Keyring {
        miniguard_crypto::Keyring::from_text("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
            .unwrap()
    }
}
