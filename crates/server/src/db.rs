//! The data layer: every SQL statement of the server lives in this module, so a PostgreSQL
//! backend can follow without touching handlers.
//!
//! SQLite runs in WAL mode with foreign keys on and a busy timeout. Migrations are embedded and
//! versioned in a `schema_migrations` table; each runs in its own transaction. Queries use
//! `sqlx::query` with bound parameters only (no compile-time macros, so no database at build
//! time, and no string-built SQL).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
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
}

impl DbError {
    /// Whether this is overload rather than a fault: no connection free in time, a query
    /// interrupted at its time limit, or the database locked for longer than the busy timeout.
    /// Clients should retry later (503 with `Retry-After`), and nothing is wrong with the data.
    pub fn is_overload(&self) -> bool {
        match self {
            Self::Sqlx(sqlx::Error::PoolTimedOut) => true,
            Self::Sqlx(sqlx::Error::Database(e)) => {
                // SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_INTERRUPT (9), and their extended codes.
                e.code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 9))
            }
            _ => false,
        }
    }
}

/// How many connections serve the data API's queries. They are a pool of their own, so
/// expensive list queries wait for each other and never for the connections that sessions,
/// logins and the audit log use.
const DATA_CONNECTIONS: u32 = 3;
/// How long a data query waits for a connection before the request is answered 503.
const DATA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Virtual-machine steps between two checks of a data query's deadline and cancellation.
const PROGRESS_STEPS: i32 = 1000;

/// A connection of the data pool, lent to one request for its queries. The queries run under
/// a SQLite progress handler that interrupts them at the deadline, or as soon as this value is
/// dropped (the request ended: finished, timed out or the client went away), so no query keeps
/// running for a client that is no longer there.
pub struct DataConn {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    cancelled: Arc<AtomicBool>,
}

impl DataConn {
    /// The connection, to run queries on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl Drop for DataConn {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Release);
    }
}

/// An embedded migration: a version, a name and SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "tokens",
        sql: include_str!("../migrations/0002_tokens.sql"),
    },
    Migration {
        version: 3,
        name: "signing_keys",
        sql: include_str!("../migrations/0003_signing_keys.sql"),
    },
    Migration {
        version: 4,
        name: "user_phones",
        sql: include_str!("../migrations/0004_user_phones.sql"),
    },
    Migration {
        version: 5,
        name: "mfa",
        sql: include_str!("../migrations/0005_mfa.sql"),
    },
    Migration {
        version: 6,
        name: "data_api",
        sql: include_str!("../migrations/0006_data_api.sql"),
    },
    Migration {
        version: 7,
        name: "storage_keys",
        sql: include_str!("../migrations/0007_storage_keys.sql"),
    },
    Migration {
        version: 10,
        name: "audit_keyed",
        sql: include_str!("../migrations/0010_audit_keyed.sql"),
    },
];

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

/// The database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
    /// The data API's own connections (see [`DataConn`]).
    data_pool: SqlitePool,
    /// The time limit of one data query, in milliseconds.
    data_query_ms: Arc<AtomicU64>,
    /// Serializes audit appends within this process (the chain needs the previous hash).
    audit_lock: Arc<Mutex<()>>,
    /// The key of the audit chain; rows are written unkeyed (scheme 1) until it is set.
    audit_key: Arc<std::sync::OnceLock<AuditKey>>,
    /// Rows of noisy actions per actor.
    audit_budget: Arc<audit::AuditBudget>,
    /// Verified access tokens; every write that revokes a token invalidates them here.
    sessions: Arc<SessionCache>,
    /// Nonces of signed requests, and the lease stored for them (see [`crate::replay`]).
    nonces: Arc<MemoryNonces>,
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
        private_files(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        let data_pool = SqlitePoolOptions::new()
            .max_connections(DATA_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(DATA_ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let db = Self {
            pool,
            data_pool,
            data_query_ms: Arc::new(AtomicU64::new(DEFAULT_DATA_QUERY_MS)),
            audit_lock: Arc::new(Mutex::new(())),
            audit_key: Arc::new(std::sync::OnceLock::new()),
            audit_budget: Arc::new(audit::AuditBudget::default()),
            sessions: Arc::new(SessionCache::default()),
            nonces: Arc::new(MemoryNonces::with_capacity(capacity)),
        };
        db.migrate().await?;
        db.restore_nonces().await?;
        Ok(db)
    }

    /// Opens an existing database read-only, without migrating (for `audit-log verify`).
    pub async fn open_read_only(path: &Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self {
            data_pool: pool.clone(),
            pool,
            data_query_ms: Arc::new(AtomicU64::new(DEFAULT_DATA_QUERY_MS)),
            audit_lock: Arc::new(Mutex::new(())),
            audit_key: Arc::new(std::sync::OnceLock::new()),
            audit_budget: Arc::new(audit::AuditBudget::default()),
            sessions: Arc::new(SessionCache::with_capacity(0)),
            nonces: Arc::new(MemoryNonces::with_capacity(0)),
        })
    }

    /// Applies every embedded migration the database has not applied yet, in version order (by
    /// set, not by the highest version, so a migration numbered below one already applied is
    /// still run).
    pub async fn migrate(&self) -> Result<(), DbError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let current = applied.iter().copied().max().unwrap_or(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > known {
            return Err(DbError::SchemaTooNew {
                found: current,
                known,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
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
    }

    /// The schema version applied.
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// A trivial query, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Finds the user with this platform identity, creating it on first login. Returns the id and
    /// whether the user was created now. A unionid learned later is filled in, never replaced.
    pub async fn upsert_user(
        &self,
        platform: &str,
        openid: &str,
        unionid: Option<&str>,
    ) -> Result<(UserId, bool), DbError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (platform, openid, unionid, created_at) VALUES (?, ?, ?, ?)
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
                "UPDATE users SET unionid = ? WHERE platform = ? AND openid = ? AND unionid IS NULL",
            )
            .bind(unionid)
            .bind(platform)
            .bind(openid)
            .execute(&mut *tx)
            .await?;
        }
        let id: i64 = sqlx::query("SELECT id FROM users WHERE platform = ? AND openid = ?")
            .bind(platform)
            .bind(openid)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok((UserId(id), inserted))
    }

    /// The user with this platform identity, if any.
    pub async fn find_user(&self, platform: &str, openid: &str) -> Result<Option<UserId>, DbError> {
        Ok(
            sqlx::query("SELECT id FROM users WHERE platform = ? AND openid = ?")
                .bind(platform)
                .bind(openid)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0).map(UserId))
                .transpose()?,
        )
    }

    /// Stores (or replaces) the user's encrypted platform session key.
    pub async fn store_session_key(&self, user: UserId, envelope: &[u8]) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO platform_session_keys (user_id, envelope, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET envelope = excluded.envelope,
                                                 updated_at = excluded.updated_at",
        )
        .bind(user.0)
        .bind(envelope)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user's encrypted platform session key, if stored.
    pub async fn session_key_envelope(&self, user: UserId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(
            sqlx::query("SELECT envelope FROM platform_session_keys WHERE user_id = ?")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// The user's client storage key (`key_id`, envelope), if one was issued.
    pub async fn storage_key(&self, user: UserId) -> Result<Option<(i64, Vec<u8>)>, DbError> {
        sqlx::query("SELECT key_id, envelope FROM storage_keys WHERE user_id = ?")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
    }

    /// Stores the user's first client storage key unless one exists already (two first requests
    /// racing keep one key), and answers the key that is stored.
    pub async fn insert_storage_key(
        &self,
        user: UserId,
        envelope: &[u8],
    ) -> Result<(i64, Vec<u8>), DbError> {
        sqlx::query(
            "INSERT INTO storage_keys (user_id, key_id, envelope, created_at) VALUES (?, 1, ?, ?)
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.0)
        .bind(envelope)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT key_id, envelope FROM storage_keys WHERE user_id = ?")
            .bind(user.0)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Stores tokens (by hash) in one transaction.
    pub async fn insert_tokens(&self, tokens: &[NewToken<'_>]) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        for t in tokens {
            sqlx::query(
                "INSERT INTO sessions
                   (user_id, kind, token_hash, family_id, created_at, expires_at, signing_key)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
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
    }

    /// The token of this kind with this hash, whatever its state.
    pub async fn find_token(
        &self,
        kind: TokenKind,
        hash: &[u8; 32],
    ) -> Result<Option<TokenRow>, DbError> {
        let row = sqlx::query(
            "SELECT id, user_id, family_id, created_at, expires_at, revoked_at, replaced_at,
                    signing_key
             FROM sessions WHERE kind = ? AND token_hash = ?",
        )
        .bind(kind.as_str())
        .bind(&hash[..])
        .fetch_optional(&self.pool)
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
    }

    /// Marks a refresh token as used, only if it is still live. `false` when another request got
    /// there first (which the caller treats as reuse).
    pub async fn mark_replaced(&self, id: i64) -> Result<bool, DbError> {
        Ok(sqlx::query(
            "UPDATE sessions SET replaced_at = ?
             WHERE id = ? AND replaced_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Revokes every token of a family; returns how many were live. Cached tokens of the
    /// family are dropped before this returns.
    pub async fn revoke_family(&self, family_id: &str) -> Result<u64, DbError> {
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(family_id)
        .execute(&self.pool)
        .await;
        // Dropped even if the write failed: a cache may only ever know less than the database.
        self.sessions
            .invalidate(&Invalidation::Family(family_id.to_owned()));
        Ok(revoked?.rows_affected())
    }

    /// Revokes every token of a user ("log out everywhere"); returns how many were live. Cached
    /// tokens of the user are dropped before this returns.
    pub async fn revoke_user(&self, user: UserId) -> Result<u64, DbError> {
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(user.0)
        .execute(&self.pool)
        .await;
        self.sessions.invalidate(&Invalidation::User(user));
        Ok(revoked?.rows_affected())
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
        if self.nonces.lease() >= until {
            return Ok(());
        }
        let _one = self.nonces.lease_lock.lock().await;
        if self.nonces.lease() >= until {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)
             ON CONFLICT (nonce) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)",
        )
        .bind(replay::LEASE_KEY)
        .bind(secs_to_ms(until.saturating_add(replay::LIFE_SECS)))
        .execute(&self.pool)
        .await?;
        self.nonces.lease_stored(until);
        Ok(())
    }

    /// At open: loads the stored nonces that are still live into memory and sets the horizon to
    /// the stored lease (see [`crate::replay`]); when that lease is the current second, waits
    /// for the next one.
    async fn restore_nonces(&self) -> Result<(), DbError> {
        let now = now_ms();
        let lease: Option<i64> =
            sqlx::query_scalar("SELECT expires_at FROM nonces WHERE nonce = ? AND expires_at >= ?")
                .bind(replay::LEASE_KEY)
                .bind(now)
                .fetch_optional(&self.pool)
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
            "SELECT nonce, expires_at FROM nonces WHERE expires_at >= ? AND nonce <> ?
             ORDER BY expires_at DESC LIMIT ?",
        )
        .bind(now)
        .bind(replay::LEASE_KEY)
        .bind(limit)
        .fetch_all(&self.pool)
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
    }

    /// Deletes token rows that expired more than `grace_ms` ago and expired nonces; returns the
    /// number of rows removed. Revoked or spent rows stay until they expire, so reuse of a spent
    /// refresh token is still recognised for as long as it could have been valid.
    pub async fn sweep(&self, grace_ms: i64) -> Result<u64, DbError> {
        let now = now_ms();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(now.saturating_sub(grace_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let nonces = sqlx::query("DELETE FROM nonces WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(sessions + nonces)
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, DbError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
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
        // IMMEDIATE takes the write lock now, so another process cannot interleave an append.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = append_audit_in(&mut tx, self.audit_key.get(), actor, action, detail).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Chains audit rows with `key` from now on (set once; a second call is ignored). Rows
    /// written before without a key are sealed first by an `audit.keyed` row, whose keyed hash
    /// covers the last of them, so they cannot be rewritten unnoticed either.
    pub async fn use_audit_key(&self, key: AuditKey) -> Result<(), DbError> {
        if self.audit_key.set(key).is_err() {
            return Ok(());
        }
        let _guard = self.audit_lock.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
                append_audit_in(
                    &mut tx,
                    self.audit_key.get(),
                    "system",
                    audit::KEYED_ACTION,
                    detail,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every audit row in id order.
    pub async fn audit_rows(&self) -> Result<Vec<AuditRow>, DbError> {
        // A database older than migration 10 (read by `audit-log verify` without migrating)
        // has no scheme column: all its rows are scheme 1.
        let has_scheme: bool = sqlx::query(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('audit_log') WHERE name = 'scheme'",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let sql = if has_scheme {
            "SELECT id, at, actor, action, detail, prev_hash, hash, scheme FROM audit_log ORDER BY id"
        } else {
            "SELECT id, at, actor, action, detail, prev_hash, hash, 1 FROM audit_log ORDER BY id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
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
        let issued = audit_issued(&self.pool).await?;
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM nonces WHERE expires_at < ?")
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let fresh = sqlx::query(
            "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(fresh)
    }

    /// The pool, for the feature data layers beside this one (`crate::mfa::store`, and
    /// `crate::data::store`, which runs only SQL that `crate::data::query` builds from validated
    /// schemas).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Sets the time limit of one data query (at least a millisecond).
    pub fn set_data_query_timeout(&self, limit: Duration) {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
        self.data_query_ms.store(ms, Ordering::Relaxed);
    }

    /// A connection of the data pool whose queries stop at the data query time limit (counted
    /// from now) or when the returned value is dropped.
    pub async fn data_conn(&self) -> Result<DataConn, DbError> {
        let mut conn = self.data_pool.acquire().await?;
        let cancelled = Arc::new(AtomicBool::new(false));
        let limit = Duration::from_millis(self.data_query_ms.load(Ordering::Relaxed));
        let deadline = Instant::now() + limit;
        let flag = Arc::clone(&cancelled);
        // The callback answers whether to go on: false interrupts the statement with
        // SQLITE_INTERRUPT, which `DbError::is_overload` reports as overload.
        conn.lock_handle()
            .await?
            .set_progress_handler(PROGRESS_STEPS, move || {
                !flag.load(Ordering::Acquire) && Instant::now() < deadline
            });
        Ok(DataConn { conn, cancelled })
    }

    /// Grants a role (idempotent).
    pub async fn grant_role(&self, user: UserId, role: &str) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO user_roles (user_id, role, granted_at) VALUES (?, ?, ?)
             ON CONFLICT (user_id, role) DO NOTHING",
        )
        .bind(user.0)
        .bind(role)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the pool (waits for connections to be returned). A writable database is first
    /// checkpointed, so a clean shutdown leaves everything in the main file: SQLite checkpoints
    /// on the last connection's close only when no other connection is closing at that moment.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "checkpoint before close");
        }
        self.data_pool.close().await;
        self.pool.close().await;
    }
}

/// Phone numbers (migration 4).
impl Db {
    /// The platform a user logged in with.
    pub async fn user_platform(&self, user: UserId) -> Result<Option<String>, DbError> {
        Ok(sqlx::query("SELECT platform FROM users WHERE id = ?")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    /// Stores (or replaces) the user's encrypted phone number; `source` is `code` or
    /// `encrypted_data`.
    pub async fn store_phone(
        &self,
        user: UserId,
        envelope: &[u8],
        source: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO user_phones (user_id, envelope, source, bound_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET envelope = excluded.envelope,
                 source = excluded.source, bound_at = excluded.bound_at",
        )
        .bind(user.0)
        .bind(envelope)
        .bind(source)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user's encrypted phone number, if bound.
    pub async fn phone_envelope(&self, user: UserId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(
            sqlx::query("SELECT envelope FROM user_phones WHERE user_id = ?")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }
}

async fn audit_issued(pool: &SqlitePool) -> Result<Option<i64>, DbError> {
    Ok(
        sqlx::query("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'")
            .fetch_optional(pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

async fn append_audit_in(
    conn: &mut SqliteConnection,
    key: Option<&AuditKey>,
    actor: &str,
    action: &str,
    detail: String,
) -> Result<AuditRow, DbError> {
    let last = sqlx::query("SELECT hash, scheme FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
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
    // The next id after the highest ever issued, so a cut-off tail stays visible as a gap.
    let issued: Option<i64> =
        sqlx::query("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    let id = issued.unwrap_or(0) + 1;
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(at_ms)
    .bind(actor)
    .bind(action)
    .bind(&detail)
    .bind(&prev_hash)
    .bind(&hash)
    .bind(scheme)
    .execute(&mut *conn)
    .await?;
    Ok(AuditRow {
        id,
        at_ms,
        actor: actor.to_owned(),
        action: action.to_owned(),
        detail,
        prev_hash,
        hash,
        scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
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
                    "UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ?, scheme = ? WHERE id = ?",
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
            sqlx::query("UPDATE audit_log SET prev_hash = ?, hash = ?, scheme = 1 WHERE id = ?")
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
    /// `sqlite_sequence`. The database alone cannot tell; the anchor exported before can.
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
        sqlx::query("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit_log'")
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
        let e = match sqlx::query(ENDLESS).fetch_one(conn.conn()).await {
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
                let _ = sqlx::query(ENDLESS).fetch_one(conn.conn()).await;
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
        sqlx::query("SELECT 1").execute(conn.conn()).await.unwrap();
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
            .execute(&db.pool)
            .await;
        assert!(upd.is_err());
        let del = sqlx::query("DELETE FROM audit_log WHERE id = 3")
            .execute(&db.pool)
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
