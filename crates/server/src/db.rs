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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
use tokio::sync::Mutex;

use crate::audit::{self, AuditRow, ChainReport};

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
];

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
    /// Serializes audit appends within this process (the chain needs the previous hash).
    audit_lock: Arc<Mutex<()>>,
}

impl Db {
    /// Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
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
            .connect_with(options)
            .await?;
        let db = Self {
            pool,
            audit_lock: Arc::new(Mutex::new(())),
        };
        db.migrate().await?;
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
            pool,
            audit_lock: Arc::new(Mutex::new(())),
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

    /// Revokes every token of a family; returns how many were live.
    pub async fn revoke_family(&self, family_id: &str) -> Result<u64, DbError> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(family_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Revokes every token of a user ("log out everywhere"); returns how many were live.
    pub async fn revoke_user(&self, user: UserId) -> Result<u64, DbError> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(user.0)
        .execute(&self.pool)
        .await?
        .rows_affected())
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

    /// Appends an entry to the hash-chained audit log and returns the stored row.
    pub async fn append_audit(
        &self,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
    ) -> Result<AuditRow, DbError> {
        let detail = serde_json::to_string(detail)?;
        let _guard = self.audit_lock.lock().await;
        // IMMEDIATE takes the write lock now, so another process cannot interleave an append.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = append_audit_in(&mut tx, actor, action, detail).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every audit row in id order.
    pub async fn audit_rows(&self) -> Result<Vec<AuditRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, detail, prev_hash, hash FROM audit_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
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
                })
            })
            .collect()
    }

    /// Walks the audit chain (see [`audit::verify`]).
    pub async fn verify_audit(&self) -> Result<ChainReport, DbError> {
        let rows = self.audit_rows().await?;
        let issued = audit_issued(&self.pool).await?;
        Ok(audit::verify(rows, issued))
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
    actor: &str,
    action: &str,
    detail: String,
) -> Result<AuditRow, DbError> {
    let last = sqlx::query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let prev_hash: String = match last {
        Some(r) => r.try_get(0)?,
        None => audit::GENESIS.to_owned(),
    };
    // The next id after the highest ever issued, so a cut-off tail stays visible as a gap.
    let issued: Option<i64> =
        sqlx::query("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    let id = issued.unwrap_or(0) + 1;
    let at_ms = now_ms();
    let hash = audit::entry_hash(id, at_ms, actor, action, &detail, &prev_hash);
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(at_ms)
    .bind(actor)
    .bind(action)
    .bind(&detail)
    .bind(&prev_hash)
    .bind(&hash)
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
