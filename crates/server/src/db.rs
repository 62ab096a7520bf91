//! The data layer: every SQL statement of the server lives in this module and the feature
//! repositories beside it (`crate::mfa::store`, `crate::data::store`, `crate::rotation`,
//! `crate::roles_admin`), over one of two dialects: SQLite (the embedded default) or PostgreSQL
//! (`database_url = "postgres://..."`, for several instances on one database).
//!
//! One SQL text serves both wherever the two agree: `$N` placeholders (SQLite binds `$N` by
//! number), `ON CONFLICT ... DO UPDATE`, `RETURNING`, `TRUE`/`FALSE`. Where they differ the
//! [`Dialect`] says how (column types, JSON access, substring search, transaction start). The
//! pool is an enum over the two typed pools, and [`on_pool!`] writes a body once and compiles it
//! once per driver, so every statement is checked against both drivers' types at build time.
//!
//! SQLite runs in WAL mode with foreign keys on and a busy timeout. Migrations are embedded, one
//! SQL file per version and dialect, and versioned in a `schema_migrations` table; each runs in
//! its own transaction (on PostgreSQL under an advisory lock, so instances starting together
//! migrate once). Queries use `sqlx::query` with bound parameters only (no compile-time macros,
//! so no database at build time, and no string-built SQL).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Mutex;

use crate::audit::{self, AuditKey, AuditRow, ChainReport};
use crate::replay::{self, MemoryNonces};
use crate::session_cache::{Invalidation, SessionCache};

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("audit detail is not serializable: {0}")]
    Detail(#[from] serde_json::Error),
    #[error("database schema version {found} is newer than this build knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error(
        "the audit log is keyed: open the database with its audit key (audit_key_env or \
         audit_key_file) to append to it"
    )]
    AuditKeyNeeded,
    /// The database contradicts itself (a bookkeeping table edited by hand, say).
    #[error("database integrity: {0}")]
    Integrity(String),
    #[error("{path}: {source}")]
    Files {
        path: String,
        source: std::io::Error,
    },
    /// A `database_url` this build cannot use.
    #[error("database_url {url}: {message}")]
    Url { url: String, message: String },
    /// The PostgreSQL server did not answer or refused the connection.
    #[error("cannot connect to the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    /// The store shared by the instances (Redis) did not answer.
    #[error("the shared store: {0}")]
    Shared(#[from] crate::shared::SharedError),
    /// What this dialect does not do here (a file copy of a PostgreSQL database, say).
    #[error("{0}")]
    Unsupported(&'static str),
}

impl DbError {
    /// Whether this is overload rather than a fault: no connection free in time, a query
    /// interrupted at its time limit, or the database locked for longer than the busy timeout.
    /// Clients should retry later (503 with `Retry-After`), and nothing is wrong with the data.
    pub fn is_overload(&self) -> bool {
        match self {
            Self::Sqlx(sqlx::Error::PoolTimedOut) => true,
            Self::Sqlx(sqlx::Error::Database(e)) => {
                let code = e.code();
                if e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some()
                {
                    // query_canceled (statement_timeout), lock_not_available,
                    // serialization_failure, deadlock_detected, too_many_connections.
                    code.is_some_and(|c| {
                        matches!(&*c, "57014" | "55P03" | "40001" | "40P01" | "53300")
                    })
                } else {
                    // SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_INTERRUPT (9), and their
                    // extended codes.
                    code.and_then(|c| c.parse::<i64>().ok())
                        .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 9))
                }
            }
            // Unreachable or refusing (out of memory): retry later, nothing was let through.
            Self::Shared(_) => true,
            _ => false,
        }
    }
}

/// The SQL dialect of a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The column type of a 64-bit integer.
    pub fn integer(self) -> &'static str {
        match self {
            Self::Sqlite => "INTEGER",
            Self::Postgres => "BIGINT",
        }
    }

    /// The column type of a double.
    pub fn real(self) -> &'static str {
        match self {
            Self::Sqlite => "REAL",
            Self::Postgres => "DOUBLE PRECISION",
        }
    }

    /// The column type of bytes.
    pub fn blob(self) -> &'static str {
        match self {
            Self::Sqlite => "BLOB",
            Self::Postgres => "BYTEA",
        }
    }
}

/// Where the database is: a SQLite file, or a PostgreSQL server (whose uploads, which are
/// files, go to `files`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres { url: String, files: PathBuf },
}

impl Location {
    /// A `database_url`: `postgres://` or `postgresql://` (PostgreSQL, uploads under
    /// `files`), or `sqlite:PATH` / `sqlite://PATH` (a SQLite file). Anything else is an error.
    pub fn from_url(url: &str, files: &Path) -> Result<Self, DbError> {
        let bad = |message: &str| DbError::Url {
            url: redact(url),
            message: message.to_owned(),
        };
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| bad("no scheme: use postgres://USER@HOST:PORT/DATABASE"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => {
                PgConnectOptions::from_str(url).map_err(|e| bad(&e.to_string()))?;
                Ok(Self::Postgres {
                    url: url.to_owned(),
                    files: files.to_path_buf(),
                })
            }
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" {
                    return Err(bad("a SQLite database_url names a file"));
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            other => Err(bad(&format!(
                "unknown scheme {other:?}: this build speaks postgres:// and sqlite:"
            ))),
        }
    }

    /// The dialect spoken there.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(_) => Dialect::Sqlite,
            Self::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// For messages and logs: the file, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres { url, .. } => redact(url),
        }
    }
}

/// A URL with its password (if any) replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// A pool of either driver. Code that runs SQL matches on it with [`on_pool!`].
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the typed pool (or pooled connection) of whichever driver
/// `$pool` holds: the body is written once and compiled once per driver.
#[macro_export]
#[doc(hidden)]
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}
pub use crate::on_pool;

/// Like [`on_pool!`], over a connection of the data pool ([`DataConn::conn`]).
#[macro_export]
#[doc(hidden)]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::PoolConn::Sqlite($c) => {
                let $c = &mut **$c;
                $body
            }
            $crate::db::PoolConn::Postgres($c) => {
                let $c = &mut **$c;
                $body
            }
        }
    };
}
pub use crate::on_conn;

/// A pooled connection of either driver.
pub enum PoolConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// How many connections serve the data API's queries. They are a pool of their own, so
/// expensive list queries wait for each other and never for the connections that sessions,
/// logins and the audit log use.
const DATA_CONNECTIONS: u32 = 3;
/// How long a data query waits for a connection before the request is answered 503.
const DATA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Virtual-machine steps between two checks of a data query's deadline and cancellation.
const PROGRESS_STEPS: i32 = 1000;
/// Connections of the main pool.
const MAIN_CONNECTIONS: u32 = 8;
/// SQLite connections for reads of one record by id (see [`Db::point_conn`]).
const POINT_CONNECTIONS: u32 = 4;
/// A PostgreSQL connection idle this long is pinged before it is lent again, so one the server
/// closed meanwhile (a restart, an idle timeout) is replaced instead of failing a request. A
/// connection in steady use is lent without that extra round trip. SQLite's connections are in
/// this process and are never pinged.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);
/// The advisory lock key under which PostgreSQL migrations run ("mgmigrat" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d67_6d69_6772_6174;

/// A connection of the data pool, lent to one request for its queries. On SQLite the queries
/// run under a progress handler that interrupts them at the deadline, or as soon as this value
/// is dropped (the request ended: finished, timed out or the client went away), so no query
/// keeps running for a client that is no longer there. On PostgreSQL each statement runs under
/// the connection's `statement_timeout`, the data query limit, set when the connection opened;
/// a statement of a request that went away runs on until that limit at most.
pub struct DataConn {
    conn: PoolConn,
    cancelled: Arc<AtomicBool>,
}

impl DataConn {
    /// The connection, to run queries on (see [`on_conn!`]).
    pub fn conn(&mut self) -> &mut PoolConn {
        &mut self.conn
    }
}

impl Drop for DataConn {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Release);
    }
}

/// An embedded migration: a version, a name and its SQL in each dialect.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:expr, $file:expr) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "init", "0001_init.sql"),
    migration!(2, "tokens", "0002_tokens.sql"),
    migration!(3, "signing_keys", "0003_signing_keys.sql"),
    migration!(4, "user_phones", "0004_user_phones.sql"),
    migration!(5, "mfa", "0005_mfa.sql"),
    migration!(6, "data_api", "0006_data_api.sql"),
    migration!(7, "storage_keys", "0007_storage_keys.sql"),
    migration!(10, "audit_keyed", "0010_audit_keyed.sql"),
    migration!(11, "audit_head", "0011_audit_head.sql"),
    migration!(12, "deployment", "0012_deployment.sql"),
    migration!(13, "sessions_ended", "0013_sessions_ended.sql"),
];

/// Applies the pending migrations on one connection, with the dialect's SQL (`$field`) and
/// `schema_migrations` table (`$create`).
macro_rules! migrate_on {
    ($conn:expr, $field:ident, $create:expr) => {{
        let conn = $conn;
        sqlx::query($create).execute(&mut *conn).await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?;
        let current = applied.iter().copied().max().unwrap_or(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > known {
            return Err(DbError::SchemaTooNew {
                found: current,
                known,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::raw_sql(m.$field).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
        }
        Ok(())
    }};
}

/// Appends an audit row inside the open write transaction `$tx` (a `&mut Transaction` of
/// either driver) and evaluates to the stored [`AuditRow`]; returns early with the error.
macro_rules! append_audit_in {
    ($tx:expr, $key:expr, $actor:expr, $action:expr, $detail:expr) => {{
        let tx = $tx;
        let key: Option<&AuditKey> = $key;
        let actor: &str = $actor;
        let action: &str = $action;
        let detail: String = $detail;
        // The next id after the highest ever issued, so a cut-off tail stays visible as a gap.
        // The update also holds the head row until commit: appends of other processes wait.
        let id: i64 =
            sqlx::query_scalar("UPDATE audit_head SET issued = issued + 1 RETURNING issued")
                .fetch_one(&mut **tx)
                .await?;
        let last = sqlx::query("SELECT hash, scheme FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
        let prev_hash: String = match &last {
            Some(r) => r.try_get(0)?,
            None => audit::GENESIS.to_owned(),
        };
        // An unkeyed row after keyed ones would read as a rewrite: refuse instead.
        if key.is_none()
            && let Some(r) = &last
            && r.try_get::<i64, _>(1)? == audit::SCHEME_HMAC
        {
            return Err(DbError::AuditKeyNeeded);
        }
        let at_ms = now_ms();
        let (hash, scheme) = match key {
            Some(key) => (
                audit::keyed_entry_hash(key, id, at_ms, actor, action, &detail, &prev_hash),
                audit::SCHEME_HMAC,
            ),
            None => (
                audit::entry_hash(id, at_ms, actor, action, &detail, &prev_hash),
                audit::SCHEME_SHA256,
            ),
        };
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, detail, prev_hash, hash, scheme)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(at_ms)
        .bind(actor)
        .bind(action)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash)
        .bind(scheme)
        .execute(&mut **tx)
        .await?;
        AuditRow {
            id,
            at_ms,
            actor: actor.to_owned(),
            action: action.to_owned(),
            detail,
            prev_hash,
            hash,
            scheme,
        }
    }};
}

/// The database file (and the folder it needs) private to this user: folder 0700 when created
/// here, file 0600, and the WAL and shared-memory files 0600 when they already exist. A folder
/// that already exists and lets others in is logged, not changed (it may hold other things).
fn private_files(path: &Path) -> Result<(), DbError> {
    let err = |p: &Path| {
        let path = p.display().to_string();
        move |source| DbError::Files { path, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                b.mode(0o700);
            }
            b.create(dir).map_err(err(dir))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if let Ok(m) = std::fs::metadata(dir)
                && m.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    folder = %dir.display(),
                    "the database folder is open to other users; make it 0700"
                );
            }
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    drop(options.open(path).map_err(err(path))?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for f in files {
            match std::fs::metadata(&f) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                        .map_err(err(&f))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The default time limit of one data query.
const DEFAULT_DATA_QUERY_MS: u64 = 5_000;

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A user row's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// Which of a login's two tokens a `sessions` row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// A stored token (by hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: UserId,
    pub family_id: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub replaced_at_ms: Option<i64>,
    /// The encrypted request-signing key (access tokens only).
    pub signing_key: Option<Vec<u8>>,
}

/// A token to store.
#[derive(Clone, Copy, Debug)]
pub struct NewToken<'a> {
    pub user: UserId,
    pub kind: TokenKind,
    pub hash: &'a [u8; 32],
    pub family_id: &'a str,
    pub expires_at_ms: i64,
    /// The encrypted request-signing key (access tokens only).
    pub signing_key: Option<&'a [u8]>,
}

/// The time limit of one data query, and when it last changed.
#[derive(Debug)]
struct QueryLimit {
    ms: AtomicU64,
    changed: std::sync::Mutex<Instant>,
}

impl Default for QueryLimit {
    fn default() -> Self {
        Self {
            ms: AtomicU64::new(DEFAULT_DATA_QUERY_MS),
            changed: std::sync::Mutex::new(Instant::now()),
        }
    }
}

impl QueryLimit {
    fn millis(&self) -> u64 {
        self.ms.load(Ordering::Acquire)
    }

    fn set(&self, limit: Duration) {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut changed = self
            .changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.ms.store(ms, Ordering::Release);
        *changed = Instant::now();
    }

    /// Whether a connection of this age opened after the limit last changed (and so carries
    /// it). One whose opening time cannot be told is treated as older. A connection opening
    /// at the very moment the limit changes may keep the earlier limit until it closes; the
    /// server sets the limit once, before it serves, when no data connection is open yet.
    fn current(&self, meta: &sqlx::pool::PoolConnectionMetadata) -> bool {
        let changed = *self
            .changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Instant::now()
            .checked_sub(meta.age)
            .is_some_and(|opened| opened > changed)
    }
}

/// Whether a PostgreSQL connection may be lent: yes when it was in use within
/// [`PING_AFTER_IDLE`], else only if it answers a ping.
async fn ping_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: &sqlx::pool::PoolConnectionMetadata,
) -> bool {
    use sqlx::Connection as _;
    meta.idle_for < PING_AFTER_IDLE || conn.ping().await.is_ok()
}

/// The database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The data API's own connections (see [`DataConn`]).
    data_pool: Pool,
    /// Where reads of one record by id run (see [`Db::point_conn`]).
    point_pool: Pool,
    /// Where uploaded files go (`<database folder>/uploads` for SQLite).
    uploads: PathBuf,
    /// The time limit of one data query.
    data_query_limit: Arc<QueryLimit>,
    /// Serializes audit appends within this process (the chain needs the previous hash;
    /// between processes the `audit_head` row does).
    audit_lock: Arc<Mutex<()>>,
    /// The key of the audit chain; rows are written unkeyed (scheme 1) until it is set.
    audit_key: Arc<std::sync::OnceLock<AuditKey>>,
    /// Rows of noisy actions per actor.
    audit_budget: Arc<audit::AuditBudget>,
    /// Verified access tokens; every write that revokes a token invalidates them here.
    sessions: Arc<SessionCache>,
    /// Nonces of signed requests, and the lease stored for them (see [`crate::replay`]).
    nonces: Arc<MemoryNonces>,
    /// The store shared by several instances (Redis), when configured: nonces, limits and
    /// invalidations go there (see [`crate::shared`]).
    shared: Arc<std::sync::OnceLock<crate::shared::Shared>>,
}

impl Db {
    /// Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
    /// The file is created with mode 0600 (SQLite gives its WAL and shared-memory files the
    /// database file's mode), a looser existing one is tightened, and a folder created for it is
    /// 0700.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
        Self::open_with_nonce_capacity(path, replay::DEFAULT_CAPACITY).await
    }

    /// [`Db::open`], remembering at most `capacity` live nonces of signed requests (see
    /// [`crate::replay`]).
    pub async fn open_with_nonce_capacity(path: &Path, capacity: usize) -> Result<Self, DbError> {
        Self::connect(&Location::Sqlite(path.to_path_buf()), capacity).await
    }

    /// Opens the database at `location` (see [`Db::open`] for a SQLite file; a PostgreSQL
    /// database must exist) and applies pending migrations.
    pub async fn open_at(location: &Location) -> Result<Self, DbError> {
        Self::connect(location, replay::DEFAULT_CAPACITY).await
    }

    /// [`Db::open_at`], remembering at most `capacity` live nonces of signed requests.
    pub async fn connect(location: &Location, capacity: usize) -> Result<Self, DbError> {
        let data_query_limit = Arc::new(QueryLimit::default());
        let (pool, data_pool, point_pool, uploads) = match location {
            Location::Sqlite(path) => {
                private_files(path)?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(MAIN_CONNECTIONS)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
                    .await?;
                let data_pool = SqlitePoolOptions::new()
                    .max_connections(DATA_CONNECTIONS)
                    .test_before_acquire(false)
                    .min_connections(0)
                    .acquire_timeout(DATA_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options.clone());
                let point_pool = SqlitePoolOptions::new()
                    .max_connections(POINT_CONNECTIONS)
                    .test_before_acquire(false)
                    .min_connections(0)
                    .acquire_timeout(DATA_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                (
                    Pool::Sqlite(pool),
                    Pool::Sqlite(data_pool),
                    Pool::Sqlite(point_pool),
                    uploads_beside(path),
                )
            }
            Location::Postgres { url, files } => {
                let options = pg_options(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(MAIN_CONNECTIONS)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move { Ok(ping_if_idle(conn, &meta).await) })
                    })
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
                    .await
                    .map_err(|source| DbError::Connect {
                        url: redact(url),
                        source,
                    })?;
                // The data query limit is the session's `statement_timeout`, set when a
                // connection opens; a connection opened before the limit last changed is
                // closed instead of lent, so no request pays a `SET` round trip.
                let on_connect = Arc::clone(&data_query_limit);
                let on_lend = Arc::clone(&data_query_limit);
                let data_pool = PgPoolOptions::new()
                    .max_connections(DATA_CONNECTIONS)
                    .min_connections(0)
                    .test_before_acquire(false)
                    .after_connect(move |conn, _| {
                        let ms = on_connect.millis();
                        Box::pin(async move {
                            sqlx::query(&format!("SET statement_timeout = {ms}"))
                                .execute(conn)
                                .await
                                .map(drop)
                        })
                    })
                    .before_acquire(move |conn, meta| {
                        let current = on_lend.current(&meta);
                        Box::pin(async move { Ok(current && ping_if_idle(conn, &meta).await) })
                    })
                    .acquire_timeout(DATA_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                let data_pool = Pool::Postgres(data_pool);
                (
                    Pool::Postgres(pool),
                    data_pool.clone(),
                    data_pool,
                    files.clone(),
                )
            }
        };
        let db = Self {
            pool,
            data_pool,
            point_pool,
            uploads,
            data_query_limit,
            audit_lock: Arc::new(Mutex::new(())),
            audit_key: Arc::new(std::sync::OnceLock::new()),
            audit_budget: Arc::new(audit::AuditBudget::default()),
            sessions: Arc::new(SessionCache::default()),
            nonces: Arc::new(MemoryNonces::with_capacity(capacity)),
            shared: Arc::new(std::sync::OnceLock::new()),
        };
        db.migrate().await?;
        db.restore_nonces().await?;
        Ok(db)
    }

    /// Opens an existing SQLite database read-only, without migrating (for `audit-log verify`).
    pub async fn open_read_only(path: &Path) -> Result<Self, DbError> {
        Self::open_read_only_at(&Location::Sqlite(path.to_path_buf())).await
    }

    /// Opens an existing database read-only, without migrating (for `audit-log verify`): a
    /// SQLite file opened read-only, or PostgreSQL sessions whose transactions are read-only.
    pub async fn open_read_only_at(location: &Location) -> Result<Self, DbError> {
        let (pool, uploads) = match location {
            Location::Sqlite(path) => {
                let options = SqliteConnectOptions::from_str("sqlite:")?
                    .filename(path)
                    .read_only(true)
                    .create_if_missing(false)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?;
                (Pool::Sqlite(pool), uploads_beside(path))
            }
            Location::Postgres { url, files } => {
                let options = pg_options(url)?.options([("default_transaction_read_only", "on")]);
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .map_err(|source| DbError::Connect {
                        url: redact(url),
                        source,
                    })?;
                (Pool::Postgres(pool), files.clone())
            }
        };
        Ok(Self {
            data_pool: pool.clone(),
            point_pool: pool.clone(),
            pool,
            uploads,
            data_query_limit: Arc::new(QueryLimit::default()),
            audit_lock: Arc::new(Mutex::new(())),
            audit_key: Arc::new(std::sync::OnceLock::new()),
            audit_budget: Arc::new(audit::AuditBudget::default()),
            sessions: Arc::new(SessionCache::with_capacity(0)),
            nonces: Arc::new(MemoryNonces::with_capacity(0)),
            shared: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// The dialect of this database.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Where uploaded files go.
    pub fn uploads_dir(&self) -> &Path {
        &self.uploads
    }

    /// Applies every embedded migration the database has not applied yet, in version order (by
    /// set, not by the highest version, so a migration numbered below one already applied is
    /// still run). On PostgreSQL this holds an advisory lock throughout, so instances that
    /// start together migrate one after the other.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                migrate_on!(
                    &mut *conn,
                    sqlite,
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                       version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
                )
            }
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await?;
                let done: Result<(), DbError> = async {
                    migrate_on!(
                        &mut *conn,
                        postgres,
                        "CREATE TABLE IF NOT EXISTS schema_migrations (
                           version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
                    )
                }
                .await;
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await;
                done?;
                unlocked?;
                Ok(())
            }
        }
    }
}

/// `<folder of the database file>/uploads`.
fn uploads_beside(db_file: &Path) -> PathBuf {
    db_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join("uploads")
}

/// The connection options of a PostgreSQL URL; the application name shows in
/// `pg_stat_activity`.
fn pg_options(url: &str) -> Result<PgConnectOptions, DbError> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| DbError::Url {
            url: redact(url),
            message: e.to_string(),
        })?
        .application_name("miniguard"))
}

impl Db {
    /// The schema version applied.
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        on_pool!(&self.pool, p => {
            Ok(
                sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                    .fetch_one(p)
                    .await?
                    .try_get(0)?,
            )
        })
    }

    /// A trivial query, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query("SELECT 1").execute(p).await?;
            Ok(())
        })
    }

    /// Finds the user with this platform identity, creating it on first login. Returns the id and
    /// whether the user was created now. A unionid learned later is filled in, never replaced.
    pub async fn upsert_user(
        &self,
        platform: &str,
        openid: &str,
        unionid: Option<&str>,
    ) -> Result<(UserId, bool), DbError> {
        on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO users (platform, openid, unionid, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (platform, openid) DO NOTHING",
            )
            .bind(platform)
            .bind(openid)
            .bind(unionid)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted && unionid.is_some() {
                sqlx::query(
                    "UPDATE users SET unionid = $1 WHERE platform = $2 AND openid = $3 AND unionid IS NULL",
                )
                .bind(unionid)
                .bind(platform)
                .bind(openid)
                .execute(&mut *tx)
                .await?;
            }
            let id: i64 = sqlx::query("SELECT id FROM users WHERE platform = $1 AND openid = $2")
                .bind(platform)
                .bind(openid)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            tx.commit().await?;
            Ok((UserId(id), inserted))
        })
    }

    /// The user with this platform identity, if any.
    pub async fn find_user(&self, platform: &str, openid: &str) -> Result<Option<UserId>, DbError> {
        on_pool!(&self.pool, p => {
            Ok(
                sqlx::query("SELECT id FROM users WHERE platform = $1 AND openid = $2")
                    .bind(platform)
                    .bind(openid)
                    .fetch_optional(p)
                    .await?
                    .map(|r| r.try_get(0).map(UserId))
                    .transpose()?,
            )
        })
    }

    /// Stores (or replaces) the user's encrypted platform session key.
    pub async fn store_session_key(&self, user: UserId, envelope: &[u8]) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO platform_session_keys (user_id, envelope, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET envelope = excluded.envelope,
                                                 updated_at = excluded.updated_at",
            )
            .bind(user.0)
            .bind(envelope)
            .bind(now_ms())
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// The user's encrypted platform session key, if stored.
    pub async fn session_key_envelope(&self, user: UserId) -> Result<Option<Vec<u8>>, DbError> {
        on_pool!(&self.pool, p => {
            Ok(
                sqlx::query("SELECT envelope FROM platform_session_keys WHERE user_id = $1")
                    .bind(user.0)
                    .fetch_optional(p)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            )
        })
    }

    /// The user's client storage key (`key_id`, envelope), if one was issued.
    pub async fn storage_key(&self, user: UserId) -> Result<Option<(i64, Vec<u8>)>, DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query("SELECT key_id, envelope FROM storage_keys WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(p)
                .await?
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .transpose()
        })
    }

    /// Stores the user's first client storage key unless one exists already (two first requests
    /// racing keep one key), and answers the key that is stored.
    pub async fn insert_storage_key(
        &self,
        user: UserId,
        envelope: &[u8],
    ) -> Result<(i64, Vec<u8>), DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO storage_keys (user_id, key_id, envelope, created_at) VALUES ($1, 1, $2, $3)
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.0)
            .bind(envelope)
            .bind(now_ms())
            .execute(p)
            .await?;
            let row = sqlx::query("SELECT key_id, envelope FROM storage_keys WHERE user_id = $1")
                .bind(user.0)
                .fetch_one(p)
                .await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })
    }

    /// Stores tokens (by hash) in one transaction.
    pub async fn insert_tokens(&self, tokens: &[NewToken<'_>]) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let now = now_ms();
            for t in tokens {
                sqlx::query(
                    "INSERT INTO sessions
                   (user_id, kind, token_hash, family_id, created_at, expires_at, signing_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(t.user.0)
                .bind(t.kind.as_str())
                .bind(&t.hash[..])
                .bind(t.family_id)
                .bind(now)
                .bind(t.expires_at_ms)
                .bind(t.signing_key)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The token of this kind with this hash, whatever its state.
    pub async fn find_token(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
    ) -> Result<Option<TokenRow>, DbError> {
        on_pool!(&self.pool, p => {
            let row = sqlx::query(
                "SELECT id, user_id, family_id, created_at, expires_at, revoked_at, replaced_at,
                    signing_key
             FROM sessions WHERE kind = $1 AND token_hash = $2",
            )
            .bind(kind.as_str())
            .bind(&hash[..])
            .fetch_optional(p)
            .await?;
            row.map(|r| {
                Ok(TokenRow {
                    id: r.try_get(0)?,
                    user_id: UserId(r.try_get(1)?),
                    family_id: r.try_get(2)?,
                    created_at_ms: r.try_get(3)?,
                    expires_at_ms: r.try_get(4)?,
                    revoked_at_ms: r.try_get(5)?,
                    replaced_at_ms: r.try_get(6)?,
                    signing_key: r.try_get(7)?,
                })
            })
            .transpose()
        })
    }

    /// Marks a refresh token as used, only if it is still live. `false` when another request got
    /// there first (which the caller treats as reuse).
    pub async fn mark_replaced(&self, id: i64) -> Result<bool, DbError> {
        on_pool!(&self.pool, p => {
            Ok(sqlx::query(
                "UPDATE sessions SET replaced_at = $1
                 WHERE id = $2 AND replaced_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Revokes every token of a family; returns how many were live. Cached tokens of the
    /// family are dropped before this returns.
    pub async fn revoke_family(&self, family_id: &str) -> Result<u64, DbError> {
        on_pool!(&self.pool, p => {
            let revoked = sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(family_id)
            .execute(p)
            .await;
            // Dropped even if the write failed: a cache may only ever know less than the database.
            let told = self
                .invalidate_sessions(Invalidation::Family(family_id.to_owned()))
                .await;
            let n = revoked?.rows_affected();
            told?;
            Ok(n)
        })
    }

    /// Revokes every token of a user ("log out everywhere"); returns how many were live. Cached
    /// tokens of the user are dropped before this returns.
    pub async fn revoke_user(&self, user: UserId) -> Result<u64, DbError> {
        on_pool!(&self.pool, p => {
            let revoked = sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(user.0)
            .execute(p)
            .await;
            let told = self.invalidate_sessions(Invalidation::User(user)).await;
            let n = revoked?.rows_affected();
            told?;
            Ok(n)
        })
    }

    /// Ends every session at once (`miniguard accounts end-sessions`): revokes every live token
    /// of every user, raises the `sessions_ended` counter and appends `sessions.ended_all` (by
    /// `actor`) to the audit log, in one transaction; returns how many tokens were live. This
    /// process's cache is dropped; telling the other instances at once is the caller's
    /// ([`crate::shared::Shared::publish`] of [`Invalidation::All`]), so that a message that
    /// cannot be sent never undoes the end: an instance that was not told drops its cache when
    /// it sees the counter move ([`Db::sessions_ended`], read once a second by a running
    /// server). A token issued after the transaction is not touched.
    pub async fn end_all_sessions(&self, actor: &str) -> Result<u64, DbError> {
        let ended: Result<u64, DbError> = async {
            on_pool!(&self.pool, p => {
                let _guard = self.audit_lock.lock().await;
                let mut tx = p.begin_with(self.write_begin()).await?;
                let now = now_ms();
                let n = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("UPDATE sessions_ended SET generation = generation + 1, at = $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let detail = serde_json::to_string(&serde_json::json!({ "tokens": n }))?;
                append_audit_in!(
                    &mut tx,
                    self.audit_key.get(),
                    actor,
                    "sessions.ended_all",
                    detail
                );
                tx.commit().await?;
                Ok(n)
            })
        }
        .await;
        // Dropped even if the write failed: a cache may only ever know less than the database.
        self.sessions.invalidate(&Invalidation::All);
        ended
    }

    /// How many times every session was ended at once (see [`Db::end_all_sessions`]).
    pub async fn sessions_ended(&self) -> Result<i64, DbError> {
        on_pool!(&self.pool, p => {
            let generation: i64 = sqlx::query_scalar("SELECT generation FROM sessions_ended")
                .fetch_one(p)
                .await?;
            Ok(generation)
        })
    }

    /// Drops the cached tokens `what` covers in this process and, with a shared store, tells
    /// every other instance to drop them too (published before this returns; each instance
    /// drops them as it hears it). Fails only when the others could not be told.
    pub(crate) async fn invalidate_sessions(&self, what: Invalidation) -> Result<(), DbError> {
        self.sessions.invalidate(&what);
        if let Some(shared) = self.shared.get() {
            shared.publish(&what).await?;
        }
        Ok(())
    }

    /// Uses `shared` for nonces, limits and invalidations from now on (once; a second call is
    /// ignored). Call it before serving.
    pub fn use_shared(&self, shared: crate::shared::Shared) {
        let _ = self.shared.set(shared);
    }

    /// The store shared by several instances, when one is configured.
    pub fn shared(&self) -> Option<&crate::shared::Shared> {
        self.shared.get()
    }

    /// This deployment's identity (migration 12): the name of its state in the shared store.
    pub async fn deployment_id(&self) -> Result<String, DbError> {
        on_pool!(&self.pool, p => {
            let id: String = sqlx::query_scalar("SELECT id FROM deployment")
                .fetch_one(p)
                .await?;
            Ok(id)
        })
    }

    /// The verified access tokens of this process (see [`crate::session_cache`]).
    pub fn session_cache(&self) -> &SessionCache {
        &self.sessions
    }

    /// The nonces of this process (see [`crate::replay`]).
    pub fn nonce_memory(&self) -> &MemoryNonces {
        &self.nonces
    }

    /// Raises the stored nonce lease to `until` (unix seconds), one writer at a time; a no-op
    /// when it is there already.
    pub async fn extend_nonce_lease(&self, until: u64) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            if self.nonces.lease() >= until {
                return Ok(());
            }
            let _one = self.nonces.lease_lock.lock().await;
            if self.nonces.lease() >= until {
                return Ok(());
            }
            sqlx::query(
                "INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2)
             ON CONFLICT (nonce) DO UPDATE SET expires_at = CASE
                 WHEN excluded.expires_at > nonces.expires_at THEN excluded.expires_at
                 ELSE nonces.expires_at END",
            )
            .bind(replay::LEASE_KEY)
            .bind(secs_to_ms(until.saturating_add(replay::LIFE_SECS)))
            .execute(p)
            .await?;
            self.nonces.lease_stored(until);
            Ok(())
        })
    }

    /// At open: loads the stored nonces that are still live into memory and sets the horizon to
    /// the stored lease (see [`crate::replay`]); when that lease is the current second, waits
    /// for the next one.
    async fn restore_nonces(&self) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            let now = now_ms();
            let lease: Option<i64> =
                sqlx::query_scalar("SELECT expires_at FROM nonces WHERE nonce = $1 AND expires_at >= $2")
                    .bind(replay::LEASE_KEY)
                    .bind(now)
                    .fetch_optional(p)
                    .await?;
            let timestamp_of = |expires_at_ms: i64| {
                u64::try_from(expires_at_ms / 1000)
                    .unwrap_or(0)
                    .saturating_sub(replay::LIFE_SECS)
            };
            if let Some(expires_at) = lease {
                self.nonces.raise_horizon(timestamp_of(expires_at));
            }
            let capacity = self.nonces.capacity();
            let limit = i64::try_from(capacity).unwrap_or(i64::MAX);
            let rows = sqlx::query(
                "SELECT nonce, expires_at FROM nonces WHERE expires_at >= $1 AND nonce <> $2
                 ORDER BY expires_at DESC LIMIT $3",
            )
            .bind(now)
            .bind(replay::LEASE_KEY)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let now_secs = u64::try_from(now / 1000).unwrap_or(0);
            let mut oldest = None;
            for row in &rows {
                let key: String = row.try_get(0)?;
                let expires_at: i64 = row.try_get(1)?;
                if let Some((scope, nonce)) = key.split_once(':') {
                    let expiry = u64::try_from(expires_at / 1000).unwrap_or(0);
                    let fresh =
                        self.nonces
                            .remember(replay::fingerprint(scope, nonce), expiry, now_secs);
                    if fresh.is_err() {
                        // No room: refuse what could not be loaded.
                        self.nonces.raise_horizon(timestamp_of(expires_at));
                        break;
                    }
                }
                oldest = Some(expires_at);
            }
            if rows.len() >= capacity
                && let Some(expires_at) = oldest
            {
                // Older rows were not read: refuse their timestamps.
                self.nonces.raise_horizon(timestamp_of(expires_at));
            }
            let horizon = self.nonces.horizon();
            if horizon >= now_secs && horizon - now_secs < 3 {
                // The previous process accepted requests signed this very second: a request signed
                // from now on has a later timestamp.
                let next = secs_to_ms(horizon.saturating_add(1));
                let wait = u64::try_from(next.saturating_sub(now_ms())).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Ok(())
        })
    }

    /// Deletes token rows that expired more than `grace_ms` ago and expired nonces; returns the
    /// number of rows removed. Revoked or spent rows stay until they expire, so reuse of a spent
    /// refresh token is still recognised for as long as it could have been valid.
    pub async fn sweep(&self, grace_ms: i64) -> Result<u64, DbError> {
        on_pool!(&self.pool, p => {
            let now = now_ms();
            let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now.saturating_sub(grace_ms))
                .execute(p)
                .await?
                .rows_affected();
            let nonces = sqlx::query("DELETE FROM nonces WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected();
            Ok(sessions + nonces)
        })
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, DbError> {
        on_pool!(&self.pool, p => {
            Ok(sqlx::query("SELECT COUNT(*) FROM users")
                .fetch_one(p)
                .await?
                .try_get(0)?)
        })
    }

    /// Appends an entry to the hash-chained audit log and returns the stored row. The detail is
    /// cleaned first ([`audit::clean_detail`]); an event of a noisy action over its actor's
    /// budget ([`audit::AuditBudget`]) is only counted, and answers `None`.
    pub async fn append_audit(
        &self,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
    ) -> Result<Option<AuditRow>, DbError> {
        on_pool!(&self.pool, p => {
            let mut detail = audit::clean_detail(detail);
            if audit::NOISY_ACTIONS.contains(&action) {
                match self.audit_budget.admit(actor, action, Instant::now()) {
                    audit::Admit::Count => return Ok(None),
                    audit::Admit::Write { suppressed: 0 } => {}
                    audit::Admit::Write { suppressed } => {
                        if let Some(m) = detail.as_object_mut() {
                            m.insert("suppressed".into(), suppressed.into());
                        }
                    }
                }
            }
            let detail = serde_json::to_string(&detail)?;
            let _guard = self.audit_lock.lock().await;
            // On SQLite, IMMEDIATE takes the write lock now; on PostgreSQL the update of the
            // `audit_head` row locks it until commit. Either way another process cannot
            // interleave an append.
            let mut tx = p.begin_with(self.write_begin()).await?;
            let row = append_audit_in!(&mut tx, self.audit_key.get(), actor, action, detail);
            tx.commit().await?;
            Ok(Some(row))
        })
    }

    /// Chains audit rows with `key` from now on (set once; a second call is ignored). Rows
    /// written before without a key are sealed first by an `audit.keyed` row, whose keyed hash
    /// covers the last of them, so they cannot be rewritten unnoticed either.
    pub async fn use_audit_key(&self, key: AuditKey) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            if self.audit_key.set(key).is_err() {
                return Ok(());
            }
            let _guard = self.audit_lock.lock().await;
            let mut tx = p.begin_with(self.write_begin()).await?;
            let last = sqlx::query("SELECT scheme, hash FROM audit_log ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(last) = last {
                let scheme: i64 = last.try_get(0)?;
                if scheme == audit::SCHEME_SHA256 {
                    let legacy: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log")
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                    let head: String = last.try_get(1)?;
                    let detail = serde_json::to_string(&serde_json::json!({
                        "legacy_rows": legacy,
                        "legacy_head": head,
                    }))?;
                    append_audit_in!(
                        &mut tx,
                        self.audit_key.get(),
                        "system",
                        audit::KEYED_ACTION,
                        detail
                    );
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every audit row in id order.
    pub async fn audit_rows(&self) -> Result<Vec<AuditRow>, DbError> {
        on_pool!(&self.pool, p => {
            // A database older than migration 10 (read by `audit-log verify` without migrating)
            // has no scheme column: all its rows are scheme 1.
            let has_scheme: bool = sqlx::query(match self.dialect() {
                Dialect::Sqlite => {
                    "SELECT COUNT(*) > 0 FROM pragma_table_info('audit_log') WHERE name = 'scheme'"
                }
                Dialect::Postgres => {
                    "SELECT COUNT(*) > 0 FROM information_schema.columns WHERE table_schema = \
                     current_schema() AND table_name = 'audit_log' AND column_name = 'scheme'"
                }
            })
            .fetch_one(p)
            .await?
            .try_get(0)?;
            let sql = if has_scheme {
                "SELECT id, at, actor, action, detail, prev_hash, hash, scheme FROM audit_log ORDER BY id"
            } else {
                "SELECT id, at, actor, action, detail, prev_hash, hash, 1 FROM audit_log ORDER BY id"
            };
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRow {
                        id: r.try_get(0)?,
                        at_ms: r.try_get(1)?,
                        actor: r.try_get(2)?,
                        action: r.try_get(3)?,
                        detail: r.try_get(4)?,
                        prev_hash: r.try_get(5)?,
                        hash: r.try_get(6)?,
                        scheme: r.try_get(7)?,
                    })
                })
                .collect()
        })
    }

    /// Walks the audit chain (see [`audit::verify`]) with this database's audit key, if set.
    pub async fn verify_audit(&self) -> Result<ChainReport, DbError> {
        self.verify_audit_with(self.audit_key.get(), None).await
    }

    /// Walks the audit chain with `key` and, when given, against an anchor exported earlier.
    pub async fn verify_audit_with(
        &self,
        key: Option<&AuditKey>,
        anchor: Option<&audit::Anchor>,
    ) -> Result<ChainReport, DbError> {
        let rows = self.audit_rows().await?;
        let issued = self.audit_issued().await?;
        Ok(audit::verify(
            rows,
            audit::VerifyWith {
                issued,
                key,
                anchor,
            },
        ))
    }

    /// Remembers a nonce until `expires_at_ms`. Returns `false` when it was already seen (a
    /// replay). Expired nonces are purged on the way.
    pub async fn remember_nonce(&self, nonce: &str, expires_at_ms: i64) -> Result<bool, DbError> {
        on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM nonces WHERE expires_at < $1")
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            let fresh = sqlx::query(
                "INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
            )
            .bind(nonce)
            .bind(expires_at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            tx.commit().await?;
            Ok(fresh)
        })
    }

    /// The pool, for the feature data layers beside this one (`crate::mfa::store`, and
    /// `crate::data::store`, which runs only SQL that `crate::data::query` builds from validated
    /// schemas).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How a transaction that writes starts: on SQLite with the write lock taken at once
    /// (`BEGIN IMMEDIATE`), so it never fails half-way on a lock upgrade.
    pub(crate) fn write_begin(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// The highest audit id ever issued: the `audit_head` row (migration 11), or on a SQLite
    /// database older than it (read without migrating), `sqlite_sequence`.
    async fn audit_issued(&self) -> Result<Option<i64>, DbError> {
        on_pool!(&self.pool, p => {
            let has_head: bool = sqlx::query_scalar(match self.dialect() {
                Dialect::Sqlite => {
                    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' \
                     AND name = 'audit_head'"
                }
                Dialect::Postgres => "SELECT to_regclass('audit_head') IS NOT NULL",
            })
            .fetch_one(p)
            .await?;
            let sql = match (has_head, self.dialect()) {
                (true, _) => "SELECT issued FROM audit_head",
                (false, Dialect::Sqlite) => {
                    "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'"
                }
                (false, Dialect::Postgres) => return Ok(None),
            };
            Ok(sqlx::query_scalar(sql).fetch_optional(p).await?)
        })
    }

    /// Sets the time limit of one data query (at least a millisecond).
    pub fn set_data_query_timeout(&self, limit: Duration) {
        self.data_query_limit.set(limit);
    }

    /// A connection of the data pool whose queries stop at the data query time limit (counted
    /// from now) or when the returned value is dropped.
    pub async fn data_conn(&self) -> Result<DataConn, DbError> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let limit = Duration::from_millis(self.data_query_limit.millis());
        let conn = match &self.data_pool {
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                let deadline = Instant::now() + limit;
                let flag = Arc::clone(&cancelled);
                // The callback answers whether to go on: false interrupts the statement with
                // SQLITE_INTERRUPT, which `DbError::is_overload` reports as overload.
                conn.lock_handle()
                    .await?
                    .set_progress_handler(PROGRESS_STEPS, move || {
                        !flag.load(Ordering::Acquire) && Instant::now() < deadline
                    });
                PoolConn::Sqlite(conn)
            }
            // The server cancels a statement at the limit (the connection's `statement_timeout`,
            // see `connect`) with query_canceled, which `DbError::is_overload` reports as
            // overload.
            Pool::Postgres(p) => PoolConn::Postgres(p.acquire().await?),
        };
        Ok(DataConn { conn, cancelled })
    }

    /// A connection for a read of one record by its id, whose work is bounded by design (a
    /// primary-key lookup and the rule's condition on that one row). On SQLite it comes from a
    /// pool of its own that runs statements without the data pool's deadline handler, which
    /// costs a hand-off to the connection's thread on every lending, and never waits behind
    /// the data pool's long list queries. On PostgreSQL it is a data connection (its
    /// `statement_timeout` costs nothing per lending).
    pub async fn point_conn(&self) -> Result<PoolConn, DbError> {
        Ok(match &self.point_pool {
            Pool::Sqlite(p) => PoolConn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => PoolConn::Postgres(p.acquire().await?),
        })
    }

    /// Grants a role (idempotent).
    pub async fn grant_role(&self, user: UserId, role: &str) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, role) DO NOTHING",
            )
            .bind(user.0)
            .bind(role)
            .bind(now_ms())
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// Closes the pool (waits for connections to be returned). A writable database is first
    /// checkpointed, so a clean shutdown leaves everything in the main file: SQLite checkpoints
    /// on the last connection's close only when no other connection is closing at that moment.
    pub async fn close(&self) {
        if let Pool::Sqlite(p) = &self.pool
            && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await
        {
            tracing::debug!(error = %e, "checkpoint before close");
        }
        on_pool!(&self.point_pool, p => p.close().await);
        on_pool!(&self.data_pool, p => p.close().await);
        on_pool!(&self.pool, p => p.close().await);
    }
}

/// Phone numbers (migration 4).
impl Db {
    /// The platform a user logged in with.
    pub async fn user_platform(&self, user: UserId) -> Result<Option<String>, DbError> {
        on_pool!(&self.pool, p => {
            Ok(sqlx::query("SELECT platform FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(p)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?)
        })
    }

    /// Stores (or replaces) the user's encrypted phone number; `source` is `code` or
    /// `encrypted_data`.
    pub async fn store_phone(
        &self,
        user: UserId,
        envelope: &[u8],
        source: &str,
    ) -> Result<(), DbError> {
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO user_phones (user_id, envelope, source, bound_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET envelope = excluded.envelope,
                 source = excluded.source, bound_at = excluded.bound_at",
            )
            .bind(user.0)
            .bind(envelope)
            .bind(source)
            .bind(now_ms())
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// The user's encrypted phone number, if bound.
    pub async fn phone_envelope(&self, user: UserId) -> Result<Option<Vec<u8>>, DbError> {
        on_pool!(&self.pool, p => {
            Ok(
                sqlx::query("SELECT envelope FROM user_phones WHERE user_id = $1")
                    .bind(user.0)
                    .fetch_optional(p)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            )
        })
    }
}

/// Online backups of a SQLite database (`miniguard backup`). PostgreSQL is backed up with its
/// own tools (`pg_dump`, base backups), never by this server.
impl Db {
    /// Writes a consistent copy of this SQLite database to `dest` with `VACUUM INTO`: it reads
    /// in one transaction, so the copy is the database as of one moment, while the server's
    /// writers go on (in WAL mode a reader never blocks them). Works on a read-only handle.
    /// `dest` must not exist or must be empty (SQLite refuses anything else), and its path
    /// must be UTF-8 (it is bound as text).
    pub async fn backup_into(&self, dest: &Path) -> Result<(), DbError> {
        let Pool::Sqlite(p) = &self.pool else {
            return Err(DbError::Unsupported(
                "a PostgreSQL database is backed up with pg_dump or a base backup, not copied \
                 by miniguard",
            ));
        };
        let dest = dest
            .to_str()
            .ok_or(DbError::Unsupported("the backup path is not UTF-8"))?;
        sqlx::query("VACUUM INTO $1").bind(dest).execute(p).await?;
        Ok(())
    }

    /// SQLite's `PRAGMA integrity_check` of this database: the problems it reports (empty when
    /// the file is sound). For checking a backup before it is trusted.
    pub async fn integrity_problems(&self) -> Result<Vec<String>, DbError> {
        let Pool::Sqlite(p) = &self.pool else {
            return Err(DbError::Unsupported(
                "integrity_check is a SQLite statement",
            ));
        };
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(p)
            .await?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::SqliteConnection;

    use super::*;

    /// The SQLite pool of a database opened from a file.
    fn sqlite(db: &Db) -> &SqlitePool {
        match &db.pool {
            Pool::Sqlite(p) => p,
            Pool::Postgres(_) => panic!("a file database is SQLite"),
        }
    }

    /// The SQLite connection of a data connection.
    fn data_sqlite(conn: &mut DataConn) -> &mut SqliteConnection {
        match conn.conn() {
            PoolConn::Sqlite(c) => c,
            PoolConn::Postgres(_) => panic!("a file database is SQLite"),
        }
    }

    fn test_audit_key() -> AuditKey {
        AuditKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap()
    }

    /// A keyed log of five rows, closed; answers its path.
    async fn keyed_log(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("t.db");
        let db = Db::open(&path).await.unwrap();
        db.use_audit_key(test_audit_key()).await.unwrap();
        for i in 1..=5 {
            db.append_audit("system", "test", &serde_json::json!({ "i": i }))
                .await
                .unwrap();
        }
        db.close().await;
        path
    }

    /// The attacker: a plain connection to the file, the append-only triggers dropped.
    async fn attacker(path: &Path) -> SqliteConnection {
        use sqlx::Connection as _;
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;
             DROP TRIGGER IF EXISTS audit_head_no_rewind;",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn
    }

    async fn verify_file(
        path: &Path,
        key: Option<&AuditKey>,
        anchor: Option<&audit::Anchor>,
    ) -> ChainReport {
        let db = Db::open_read_only(path).await.unwrap();
        let r = db.verify_audit_with(key, anchor).await.unwrap();
        db.close().await;
        r
    }

    /// Regression (round 2, item 6), first attack: edit a row and re-hash every later row.
    /// Re-hashed with SHA-256 (all an attacker without the key can do), under either scheme, the
    /// chain no longer verifies.
    #[tokio::test]
    async fn an_edit_with_the_later_rows_rehashed_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let path = keyed_log(dir.path()).await;
        let key = test_audit_key();
        assert!(verify_file(&path, Some(&key), None).await.is_intact());
        for scheme in [audit::SCHEME_HMAC, audit::SCHEME_SHA256] {
            let mut conn = attacker(&path).await;
            let rows: Vec<(i64, i64, String, String, String)> =
                sqlx::query_as("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let mut prev: String =
                sqlx::query_scalar("SELECT prev_hash FROM audit_log WHERE id = 2")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            for (id, at, actor, action, detail) in rows.into_iter().skip(1) {
                let detail = if id == 2 {
                    "{\"i\":99}".to_owned()
                } else {
                    detail
                };
                let hash = audit::entry_hash(id, at, &actor, &action, &detail, &prev);
                sqlx::query(
                    "UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3, scheme = $4 WHERE id = $5",
                )
                .bind(&detail)
                .bind(&prev)
                .bind(&hash)
                .bind(scheme)
                .bind(id)
                .execute(&mut conn)
                .await
                .unwrap();
                prev = hash;
            }
            drop(conn);
            let r = verify_file(&path, Some(&key), None).await;
            assert!(!r.is_intact(), "scheme {scheme}: {r:?}");
        }
        // Rewriting every row as legacy SHA-256 rows does not pass either.
        let mut conn = attacker(&path).await;
        let rows: Vec<(i64, i64, String, String, String)> =
            sqlx::query_as("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut prev = audit::GENESIS.to_owned();
        for (id, at, actor, action, detail) in rows {
            let hash = audit::entry_hash(id, at, &actor, &action, &detail, &prev);
            sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2, scheme = 1 WHERE id = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(id)
                .execute(&mut conn)
                .await
                .unwrap();
            prev = hash;
        }
        drop(conn);
        let r = verify_file(&path, Some(&key), None).await;
        assert!(
            r.problems.contains(&audit::ChainProblem::Unkeyed { id: 1 }),
            "{r:?}"
        );
    }

    /// Regression (round 2, item 6), second attack: delete the tail and lower
    /// `audit_head`. The database alone cannot tell; the anchor exported before can.
    #[tokio::test]
    async fn a_cut_off_tail_with_the_sequence_lowered_fails_against_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let path = keyed_log(dir.path()).await;
        let key = test_audit_key();
        let before = verify_file(&path, Some(&key), None).await;
        assert!(before.is_intact());
        let anchor = before.anchor();
        assert_eq!(anchor.id, 5);
        let mut conn = attacker(&path).await;
        sqlx::query("DELETE FROM audit_log WHERE id > 3")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_head SET issued = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        drop(conn);
        let r = verify_file(&path, Some(&key), Some(&anchor)).await;
        assert!(
            r.problems.contains(&audit::ChainProblem::Truncated {
                last_id: 3,
                issued: 5
            }),
            "{r:?}"
        );
        // An anchor of the intact prefix still matches: anchoring is safe to repeat.
        let mut old = anchor.clone();
        old.id = 3;
        old.hash = verify_file(&path, Some(&key), None).await.head;
        assert!(verify_file(&path, Some(&key), Some(&old)).await.is_intact());
    }

    /// Legacy rows written before a key are sealed by the first keyed row, and an anchor that
    /// names a rewritten row is reported.
    #[tokio::test]
    async fn legacy_rows_are_sealed_and_a_rewritten_anchor_row_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).await.unwrap();
        for i in 0..2 {
            db.append_audit("system", "old", &serde_json::json!({ "i": i }))
                .await
                .unwrap();
        }
        db.use_audit_key(test_audit_key()).await.unwrap();
        db.append_audit("system", "new", &serde_json::json!({}))
            .await
            .unwrap();
        let rows = db.audit_rows().await.unwrap();
        assert_eq!(rows[2].action, audit::KEYED_ACTION);
        assert_eq!(rows[3].scheme, audit::SCHEME_HMAC);
        let r = db.verify_audit().await.unwrap();
        assert!(r.is_intact(), "{r:?}");
        assert_eq!(r.legacy_rows, 2);
        let mut anchor = r.anchor();
        anchor.hash = audit::GENESIS.to_owned();
        let r = db
            .verify_audit_with(Some(&test_audit_key()), Some(&anchor))
            .await
            .unwrap();
        assert_eq!(
            r.problems,
            vec![audit::ChainProblem::AnchorMismatch { id: 4 }]
        );
        // Keyed rows cannot be checked without the key.
        let r = db.verify_audit_with(None, None).await.unwrap();
        assert!(matches!(
            r.problems[0],
            audit::ChainProblem::NoKey { id: 3 }
        ));
        db.close().await;
    }

    /// A statement that never ends by itself: only an interrupt stops it.
    const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                           SELECT count(*) FROM n";

    /// Regression (round 2, item 3): a data query ran on past its request; now SQLite is
    /// interrupted at the time limit and the error reads as overload (503), not a fault.
    #[tokio::test]
    async fn a_data_query_is_interrupted_at_its_time_limit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        db.set_data_query_timeout(Duration::from_millis(200));
        let mut conn = db.data_conn().await.unwrap();
        let e = match sqlx::query(ENDLESS).fetch_one(data_sqlite(&mut conn)).await {
            Ok(_) => panic!("an endless query ended"),
            Err(e) => DbError::from(e),
        };
        assert!(e.is_overload(), "{e}");
        drop(conn);
        db.close().await;
    }

    /// Regression (round 2, item 3): the queries of a request that ended (here: its task
    /// aborted, as a timed-out or abandoned request is) kept running; now they stop, and their
    /// connections are free again long before the time limit.
    #[tokio::test]
    async fn data_queries_stop_when_their_request_ends() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        db.set_data_query_timeout(Duration::from_hours(1));
        let mut tasks = Vec::new();
        for _ in 0..DATA_CONNECTIONS {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = db.data_conn().await.unwrap();
                let _ = sqlx::query(ENDLESS).fetch_one(data_sqlite(&mut conn)).await;
            }));
        }
        // Every data connection is busy; the session pool is not affected.
        tokio::time::sleep(Duration::from_millis(300)).await;
        db.ping().await.unwrap();
        for t in &tasks {
            t.abort();
        }
        // Within the acquire timeout (2 s), far below the hour of the time limit.
        let mut conn = db.data_conn().await.unwrap();
        sqlx::query("SELECT 1")
            .execute(data_sqlite(&mut conn))
            .await
            .unwrap();
        drop(conn);
        db.close().await;
    }

    /// The data pool is separate: with all its connections taken, waiting for another is
    /// overload (503), and the session pool still answers.
    #[tokio::test]
    async fn a_full_data_pool_is_overload_and_leaves_sessions_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..DATA_CONNECTIONS {
            held.push(db.data_conn().await.unwrap());
        }
        let e = db.data_conn().await.err().unwrap();
        assert!(e.is_overload(), "{e}");
        db.ping().await.unwrap();
        // Reads by id have connections of their own and do not wait behind list queries.
        let mut point = db.point_conn().await.unwrap();
        crate::db::on_conn!(&mut point, x => {
            sqlx::query("SELECT 1").execute(x).await.unwrap();
        });
        drop(point);
        drop(held);
        db.close().await;
    }

    #[tokio::test]
    async fn migrations_apply_once_and_users_are_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).await.unwrap();
        assert_eq!(
            db.schema_version().await.unwrap(),
            MIGRATIONS.last().unwrap().version
        );
        db.close().await;
        let db = Db::open(&path).await.unwrap();
        let (a, created) = db.upsert_user("wechat", "o1", None).await.unwrap();
        assert!(created);
        let (b, created) = db.upsert_user("wechat", "o1", Some("u1")).await.unwrap();
        assert!(!created);
        assert_eq!(a, b);
        assert_eq!(db.count_users().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn the_audit_table_refuses_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        for i in 0..3 {
            db.append_audit("system", "test", &serde_json::json!({ "i": i }))
                .await
                .unwrap();
        }
        assert!(db.verify_audit().await.unwrap().is_intact());
        let upd = sqlx::query("UPDATE audit_log SET actor = 'x' WHERE id = 2")
            .execute(sqlite(&db))
            .await;
        assert!(upd.is_err());
        let del = sqlx::query("DELETE FROM audit_log WHERE id = 3")
            .execute(sqlite(&db))
            .await;
        assert!(del.is_err());
        assert_eq!(db.audit_rows().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_nonce_is_accepted_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        let later = now_ms() + 60_000;
        assert!(db.remember_nonce("n1", later).await.unwrap());
        assert!(!db.remember_nonce("n1", later).await.unwrap());
        assert!(db.remember_nonce("n2", later).await.unwrap());
        assert!(db.remember_nonce("old", now_ms() - 1).await.unwrap());
        assert_eq!(db.sweep(0).await.unwrap(), 1, "only the expired nonce goes");
    }
}
