//! The data layer of second factors, staff accounts and the lockout counters (migration 0005):
//! every SQL statement of those features, as more methods of [`Db`]. Bound parameters only.

use miniguard_crypto::{EnvelopeError, Keyring};
use sqlx::Row;

use crate::db::{Db, DbError, UserId, now_ms, on_pool};

/// The TOTP factor of a user.
#[derive(Clone, Debug)]
pub struct TotpRow {
    /// The secret's envelope.
    pub secret: Vec<u8>,
    pub confirmed_at_ms: Option<i64>,
    pub last_step: Option<i64>,
}

/// A one-time challenge of the SMS or SOTER factor.
#[derive(Clone, Debug)]
pub struct ChallengeRow {
    pub kind: String,
    pub user_id: UserId,
    pub family_id: String,
    pub secret_hash: Option<Vec<u8>>,
    pub challenge: Option<String>,
    pub expires_at_ms: i64,
    pub attempts: i64,
    pub used_at_ms: Option<i64>,
}

/// A challenge to store.
#[derive(Clone, Copy, Debug)]
pub struct NewChallenge<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub user: UserId,
    pub family_id: &'a str,
    pub secret_hash: Option<&'a [u8]>,
    pub challenge: Option<&'a str>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A stored phone number that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("phone envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("the stored phone number is malformed")]
    NotText,
}

impl From<PhoneError> for crate::error::ApiError {
    fn from(e: PhoneError) -> Self {
        match e {
            PhoneError::Db(db) => Self::Database(db),
            other => Self::Internal(other.to_string().into()),
        }
    }
}

impl Db {
    // ---- phone numbers (the seam phone binding fills) ----

    /// The phone number bound through the platform (`crate::phone`), as `+<country><digits>`,
    /// if the user bound one. Only a number the platform vouched for is ever stored.
    pub async fn verified_phone(
        &self,
        keyring: &Keyring,
        user: UserId,
    ) -> Result<Option<String>, PhoneError> {
        let Some(envelope) = self.phone_envelope(user).await? else {
            return Ok(None);
        };
        let plain = keyring.decrypt(&envelope, &crate::phone::phone_aad(user))?;
        let stored: serde_json::Value =
            serde_json::from_slice(&plain).map_err(|_| PhoneError::NotText)?;
        match (
            stored["country_code"].as_str(),
            stored["pure_phone_number"].as_str(),
        ) {
            (Some(cc), Some(number)) => Ok(Some(format!("+{cc}{number}"))),
            _ => Err(PhoneError::NotText),
        }
    }

    // ---- TOTP ----

    /// The user's TOTP factor, pending or confirmed.
    pub async fn totp(&self, user: UserId) -> Result<Option<TotpRow>, DbError> {
        on_pool!(self.pool(), p => {
            let row =
                sqlx::query("SELECT secret, confirmed_at, last_step FROM mfa_totp WHERE user_id = $1")
                    .bind(user.0)
                    .fetch_optional(p)
                    .await?;
            row.map(|r| {
                Ok(TotpRow {
                    secret: r.try_get(0)?,
                    confirmed_at_ms: r.try_get(1)?,
                    last_step: r.try_get(2)?,
                })
            })
            .transpose()
        })
    }

    /// Stores a pending secret, replacing a pending one; `false` when a confirmed one exists.
    pub async fn put_pending_totp(&self, user: UserId, secret: &[u8]) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(sqlx::query(
                "INSERT INTO mfa_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                 created_at = excluded.created_at, last_step = NULL
             WHERE mfa_totp.confirmed_at IS NULL",
            )
            .bind(user.0)
            .bind(secret)
            .bind(now_ms())
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Confirms the pending factor with its first accepted step.
    pub async fn confirm_totp(&self, user: UserId, step: i64) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(sqlx::query(
                "UPDATE mfa_totp SET confirmed_at = $1, last_step = $2
                 WHERE user_id = $3 AND confirmed_at IS NULL",
            )
            .bind(now_ms())
            .bind(step)
            .bind(user.0)
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Records an accepted step, only if it is newer than the last one (atomic: two requests
    /// with the same code cannot both pass).
    pub async fn accept_totp_step(&self, user: UserId, step: i64) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(sqlx::query(
                "UPDATE mfa_totp SET last_step = $1
             WHERE user_id = $2 AND confirmed_at IS NOT NULL
               AND (last_step IS NULL OR last_step < $3)",
            )
            .bind(step)
            .bind(user.0)
            .bind(step)
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Removes the TOTP factor and the recovery codes; `true` when a factor existed.
    pub async fn delete_totp(&self, user: UserId) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    // ---- recovery codes ----

    /// Replaces the user's recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[[u8; 32]],
    ) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
            let now = now_ms();
            for h in hashes {
                sqlx::query(
                    "INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
                )
                .bind(user.0)
                .bind(&h[..])
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The user's unused recovery codes: (row id, hash).
    pub async fn unused_recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<(i64, [u8; 32])>, DbError> {
        on_pool!(self.pool(), p => {
            let rows = sqlx::query(
                "SELECT id, code_hash FROM mfa_recovery_codes
                 WHERE user_id = $1 AND used_at IS NULL ORDER BY id",
            )
            .bind(user.0)
            .fetch_all(p)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let hash: Vec<u8> = r.try_get(1)?;
                if let Ok(h) = <[u8; 32]>::try_from(hash.as_slice()) {
                    out.push((r.try_get(0)?, h));
                }
            }
            Ok(out)
        })
    }

    /// Spends a recovery code; `false` when it was spent meanwhile.
    pub async fn spend_recovery_code(&self, id: i64) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(sqlx::query(
                "UPDATE mfa_recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
            )
            .bind(now_ms())
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    // ---- SMS and SOTER challenges ----

    pub async fn insert_challenge(&self, c: &NewChallenge<'_>) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            sqlx::query(
                "INSERT INTO mfa_challenges
               (id, kind, user_id, family_id, secret_hash, challenge, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(c.id)
            .bind(c.kind)
            .bind(c.user.0)
            .bind(c.family_id)
            .bind(c.secret_hash)
            .bind(c.challenge)
            .bind(c.created_at_ms)
            .bind(c.expires_at_ms)
            .execute(p)
            .await?;
            Ok(())
        })
    }

    pub async fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>, DbError> {
        on_pool!(self.pool(), p => {
            let row = sqlx::query(
                "SELECT kind, user_id, family_id, secret_hash, challenge, expires_at, attempts, used_at
                 FROM mfa_challenges WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.map(|r| {
                Ok(ChallengeRow {
                    kind: r.try_get(0)?,
                    user_id: UserId(r.try_get(1)?),
                    family_id: r.try_get(2)?,
                    secret_hash: r.try_get(3)?,
                    challenge: r.try_get(4)?,
                    expires_at_ms: r.try_get(5)?,
                    attempts: r.try_get(6)?,
                    used_at_ms: r.try_get(7)?,
                })
            })
            .transpose()
        })
    }

    /// Counts an attempt on a live challenge, only while below `max`; `false` when the attempts
    /// are exhausted or the challenge is used.
    pub async fn count_challenge_attempt(&self, id: &str, max: i64) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(sqlx::query(
                "UPDATE mfa_challenges SET attempts = attempts + 1
                 WHERE id = $1 AND used_at IS NULL AND attempts < $2",
            )
            .bind(id)
            .bind(max)
            .execute(p)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Marks a challenge used; `false` when it was used meanwhile.
    pub async fn use_challenge(&self, id: &str) -> Result<bool, DbError> {
        on_pool!(self.pool(), p => {
            Ok(
                sqlx::query("UPDATE mfa_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now_ms())
                    .bind(id)
                    .execute(p)
                    .await?
                    .rows_affected()
                    == 1,
            )
        })
    }

    /// Deletes challenges that expired before `before_ms`.
    pub async fn sweep_challenges(&self, before_ms: i64) -> Result<u64, DbError> {
        on_pool!(self.pool(), p => {
            Ok(
                sqlx::query("DELETE FROM mfa_challenges WHERE expires_at < $1")
                    .bind(before_ms)
                    .execute(p)
                    .await?
                    .rows_affected(),
            )
        })
    }

    // ---- step-up state of logins ----

    /// A login's second-factor state changed: its cached tokens go (they carry that state).
    async fn family_changed(&self, family_id: &str) -> Result<(), DbError> {
        self.invalidate_sessions(crate::session_cache::Invalidation::Family(
            family_id.to_owned(),
        ))
        .await
    }

    /// When the login last verified a second factor, and whether it is limited to enrolment.
    pub async fn family_mfa(&self, family_id: &str) -> Result<(Option<i64>, bool), DbError> {
        on_pool!(self.pool(), p => {
            let row = sqlx::query("SELECT mfa_at, limited FROM session_mfa WHERE family_id = $1")
                .bind(family_id)
                .fetch_optional(p)
                .await?;
            match row {
                Some(r) => Ok((r.try_get(0)?, r.try_get::<bool, _>(1)?)),
                None => Ok((None, false)),
            }
        })
    }

    /// Records a verified factor for the login (and lifts an enrolment limit when `unlimit`).
    pub async fn record_family_mfa(
        &self,
        family_id: &str,
        user: UserId,
        at_ms: i64,
        method: &str,
        unlimit: bool,
    ) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            let done = sqlx::query(
                "INSERT INTO session_mfa (family_id, user_id, mfa_at, method, limited)
             VALUES ($1, $2, $3, $4, FALSE)
             ON CONFLICT (family_id) DO UPDATE SET mfa_at = excluded.mfa_at,
                 method = excluded.method,
                 limited = CASE WHEN $5 THEN FALSE ELSE session_mfa.limited END",
            )
            .bind(family_id)
            .bind(user.0)
            .bind(at_ms)
            .bind(method)
            .bind(unlimit)
            .execute(p)
            .await;
            let told = self.family_changed(family_id).await;
            done?;
            told
        })
    }

    /// Lifts a login's enrolment limit without recording a verification (enrolling a factor is
    /// never itself a step-up).
    pub async fn unlimit_family(&self, family_id: &str) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            let done = sqlx::query("UPDATE session_mfa SET limited = FALSE WHERE family_id = $1")
                .bind(family_id)
                .execute(p)
                .await;
            let told = self.family_changed(family_id).await;
            done?;
            told
        })
    }

    /// Whether the user has bound a phone number (SMS codes are then one of their factors).
    pub async fn has_phone(&self, user: UserId) -> Result<bool, DbError> {
        Ok(self.phone_envelope(user).await?.is_some())
    }

    /// Marks a login as limited to TOTP enrolment.
    pub async fn limit_family(&self, family_id: &str, user: UserId) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            let done = sqlx::query(
                "INSERT INTO session_mfa (family_id, user_id, limited) VALUES ($1, $2, TRUE)
                 ON CONFLICT (family_id) DO UPDATE SET limited = TRUE",
            )
            .bind(family_id)
            .bind(user.0)
            .execute(p)
            .await;
            let told = self.family_changed(family_id).await;
            done?;
            told
        })
    }

    /// Revokes every token of the user except those of one login; returns how many were live.
    pub async fn revoke_user_except(
        &self,
        user: UserId,
        keep_family: &str,
    ) -> Result<u64, DbError> {
        on_pool!(self.pool(), p => {
            let revoked = sqlx::query(
                "UPDATE sessions SET revoked_at = $1
                 WHERE user_id = $2 AND family_id <> $3 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(user.0)
            .bind(keep_family)
            .execute(p)
            .await;
            // Cached tokens of the other logins go before this returns (see crate::session_cache).
            let told = self
                .invalidate_sessions(crate::session_cache::Invalidation::UserExcept {
                    user,
                    keep_family: keep_family.to_owned(),
                })
                .await;
            let n = revoked?.rows_affected();
            told?;
            Ok(n)
        })
    }

    /// The user's platform and openid.
    pub async fn user_identity(&self, user: UserId) -> Result<Option<(String, String)>, DbError> {
        on_pool!(self.pool(), p => {
            let row = sqlx::query("SELECT platform, openid FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(p)
                .await?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })
    }

    // ---- staff accounts and roles ----

    /// Creates a staff account (a `users` row of platform `local`, its password hash and role).
    /// `None` when the username is taken.
    pub async fn create_local_account(
        &self,
        username: &str,
        password_hash: &str,
        role: &str,
    ) -> Result<Option<UserId>, DbError> {
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let now = now_ms();
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO users (platform, openid, created_at) VALUES ('local', $1, $2)
                 ON CONFLICT (platform, openid) DO NOTHING RETURNING id",
            )
            .bind(username)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO local_accounts
               (user_id, username, password_hash, created_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(role)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(UserId(id)))
        })
    }

    /// The staff account with this username: its user id and password hash.
    pub async fn local_account(&self, username: &str) -> Result<Option<(UserId, String)>, DbError> {
        on_pool!(self.pool(), p => {
            let row =
                sqlx::query("SELECT user_id, password_hash FROM local_accounts WHERE username = $1")
                    .bind(username)
                    .fetch_optional(p)
                    .await?;
            row.map(|r| Ok((UserId(r.try_get(0)?), r.try_get(1)?)))
                .transpose()
        })
    }

    /// The username of a staff account.
    pub async fn local_username(&self, user: UserId) -> Result<Option<String>, DbError> {
        on_pool!(self.pool(), p => {
            let row = sqlx::query("SELECT username FROM local_accounts WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(p)
                .await?;
            row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
        })
    }

    /// Replaces a staff account's password hash.
    pub async fn set_password_hash(&self, user: UserId, hash: &str) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            sqlx::query(
                "UPDATE local_accounts SET password_hash = $1, password_changed_at = $2 WHERE user_id = $3",
            )
            .bind(hash)
            .bind(now_ms())
            .bind(user.0)
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// The user's roles (`admin`, `operator`), sorted; empty for mini-program users.
    pub async fn user_roles(&self, user: UserId) -> Result<Vec<String>, DbError> {
        on_pool!(self.pool(), p => {
            let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(user.0)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| r.try_get(0).map_err(Into::into))
                .collect()
        })
    }

    // ---- lockout counters ----

    /// `(failures, locked_until)` of a lockout key.
    pub async fn failure_state(&self, key: &str) -> Result<Option<(u32, i64)>, DbError> {
        on_pool!(self.pool(), p => {
            let row = sqlx::query("SELECT failures, locked_until FROM auth_failures WHERE key = $1")
                .bind(key)
                .fetch_optional(p)
                .await?;
            row.map(|r| {
                let failures: i64 = r.try_get(0)?;
                Ok((u32::try_from(failures).unwrap_or(u32::MAX), r.try_get(1)?))
            })
            .transpose()
        })
    }

    /// Counts a failure at `now_ms` (starting over when the last one is before
    /// `forget_before_ms`); returns the new count.
    pub async fn count_failure(
        &self,
        key: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<u32, DbError> {
        on_pool!(self.pool(), p => {
            let failures: i64 = sqlx::query(
                "INSERT INTO auth_failures (key, failures, last_failure_at, locked_until)
             VALUES ($1, 1, $2, 0)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN auth_failures.last_failure_at < $3 THEN 1
                                 ELSE auth_failures.failures + 1 END,
                 last_failure_at = excluded.last_failure_at
             RETURNING failures",
            )
            .bind(key)
            .bind(now_ms)
            .bind(forget_before_ms)
            .fetch_one(p)
            .await?
            .try_get(0)?;
            Ok(u32::try_from(failures).unwrap_or(u32::MAX))
        })
    }

    pub async fn set_locked_until(&self, key: &str, until_ms: i64) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            sqlx::query("UPDATE auth_failures SET locked_until = $1 WHERE key = $2")
                .bind(until_ms)
                .bind(key)
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// Deletes lockout counters whose last failure is before `before_ms` and whose lock is
    /// over; returns how many.
    pub async fn sweep_failures(&self, before_ms: i64) -> Result<u64, DbError> {
        on_pool!(self.pool(), p => {
            Ok(
                sqlx::query("DELETE FROM auth_failures WHERE last_failure_at < $1 AND locked_until < $2")
                    .bind(before_ms)
                    .bind(now_ms())
                    .execute(p)
                    .await?
                    .rows_affected(),
            )
        })
    }

    pub async fn clear_failures(&self, keys: &[&str]) -> Result<(), DbError> {
        on_pool!(self.pool(), p => {
            for key in keys {
                sqlx::query("DELETE FROM auth_failures WHERE key = $1")
                    .bind(key)
                    .execute(p)
                    .await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn totp_steps_are_accepted_once_and_only_forward() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        let (u, _) = db.upsert_user("wechat", "o1", None).await.unwrap();
        assert!(db.put_pending_totp(u, b"sealed").await.unwrap());
        assert!(
            !db.accept_totp_step(u, 5).await.unwrap(),
            "pending is not usable"
        );
        assert!(db.confirm_totp(u, 5).await.unwrap());
        assert!(!db.put_pending_totp(u, b"other").await.unwrap());
        assert!(!db.accept_totp_step(u, 5).await.unwrap());
        assert!(db.accept_totp_step(u, 6).await.unwrap());
        assert!(!db.accept_totp_step(u, 4).await.unwrap());
        assert!(db.delete_totp(u).await.unwrap());
        assert!(db.totp(u).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn failures_count_and_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        assert_eq!(db.count_failure("k", 1000, 0).await.unwrap(), 1);
        assert_eq!(db.count_failure("k", 2000, 0).await.unwrap(), 2);
        assert_eq!(db.count_failure("k", 9000, 5000).await.unwrap(), 1);
        db.clear_failures(&["k"]).await.unwrap();
        assert!(db.failure_state("k").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn staff_accounts_have_roles_and_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).await.unwrap();
        let u = db
            .create_local_account("root", "$argon2id$x", "admin")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(db.user_roles(u).await.unwrap(), vec!["admin".to_owned()]);
        assert!(
            db.create_local_account("root", "$argon2id$y", "operator")
                .await
                .unwrap()
                .is_none()
        );
        let (mini, _) = db.upsert_user("wechat", "root", None).await.unwrap();
        assert!(db.user_roles(mini).await.unwrap().is_empty());
        assert_eq!(db.local_account("root").await.unwrap().unwrap().0, u);
    }
}
