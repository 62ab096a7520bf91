//! Granting and revoking roles from the command line (`miniguard roles grant|revoke|list`).
//!
//! The data API's rules (`role:staff`, `role:admin and mfa`) read the `user_roles` rows of a
//! user on every request, so a grant or a revocation takes effect on the next request without a
//! restart and without touching the database by hand. Every change is an administrative action
//! and is appended to the hash-chained audit log (`role.granted`, `role.revoked`, actor `cli`),
//! like `accounts create`; asking for what is already the case changes nothing and is not
//! logged.

use sqlx::Row as _;

use crate::db::{Db, DbError, UserId, now_ms, on_pool};

/// Longest role name accepted.
pub const MAX_ROLE_LEN: usize = 64;

/// Why a role command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    #[error(
        "role name must be 1 to 64 of a-z, A-Z, 0-9, '_', not starting with a digit (what `role:NAME` in a rule accepts)"
    )]
    InvalidRole,
    #[error("no user with id {0} (a user exists after its first login)")]
    NoSuchUser(i64),
    #[error("database: {0}")]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RoleError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// Whether `role` is a name the rule language can refer to (`role:NAME`): an identifier of
/// ASCII letters, digits and `_`, not starting with a digit, at most [`MAX_ROLE_LEN`] long.
pub fn valid_role_name(role: &str) -> bool {
    let b = role.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ROLE_LEN
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// One `user_roles` row with the user's login platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub user: UserId,
    /// `wechat`, `alipay`, ... or `local` for a staff account.
    pub platform: String,
    pub role: String,
    /// When it was granted (ms since the epoch; 0 when unknown).
    pub granted_at_ms: i64,
}

async fn ensure_user(db: &Db, user: UserId) -> Result<(), RoleError> {
    on_pool!(db.pool(), p => {
        let found = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(p)
            .await?;
        if found.is_none() {
            return Err(RoleError::NoSuchUser(user.0));
        }
        Ok(())
    })
}

/// Grants `role` to `user`. `Ok(true)` when it was granted now, `Ok(false)` when the user
/// already held it (nothing changes, nothing is logged).
pub async fn grant(db: &Db, user: UserId, role: &str) -> Result<bool, RoleError> {
    on_pool!(db.pool(), p => {
        if !valid_role_name(role) {
            return Err(RoleError::InvalidRole);
        }
        ensure_user(db, user).await?;
        let added = sqlx::query(
            "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, role) DO NOTHING",
        )
        .bind(user.0)
        .bind(role)
        .bind(now_ms())
        .execute(p)
        .await?
        .rows_affected()
            == 1;
        if added {
            db.append_audit(
                "cli",
                "role.granted",
                &serde_json::json!({ "user_id": user.0, "role": role }),
            )
            .await?;
        }
        Ok(added)
    })
}

/// Revokes `role` from `user`. `Ok(true)` when it was revoked now, `Ok(false)` when the user
/// did not hold it.
pub async fn revoke(db: &Db, user: UserId, role: &str) -> Result<bool, RoleError> {
    on_pool!(db.pool(), p => {
        if !valid_role_name(role) {
            return Err(RoleError::InvalidRole);
        }
        ensure_user(db, user).await?;
        let removed = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
            .bind(user.0)
            .bind(role)
            .execute(p)
            .await?
            .rows_affected()
            == 1;
        if removed {
            db.append_audit(
                "cli",
                "role.revoked",
                &serde_json::json!({ "user_id": user.0, "role": role }),
            )
            .await?;
        }
        Ok(removed)
    })
}

/// Every role held, by user id then role; only `user`'s when given.
pub async fn list(db: &Db, user: Option<UserId>) -> Result<Vec<RoleGrant>, RoleError> {
    on_pool!(db.pool(), p => {
        let rows = sqlx::query(
            "SELECT r.user_id, u.platform, r.role, r.granted_at
         FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE $1 IS NULL OR r.user_id = $1
         ORDER BY r.user_id, r.role",
        )
        .bind(user.map(|u| u.0))
        .fetch_all(p)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoleGrant {
                    user: UserId(r.try_get(0)?),
                    platform: r.try_get(1)?,
                    role: r.try_get(2)?,
                    granted_at_ms: r.try_get(3)?,
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_what_rules_can_name() {
        for ok in ["staff", "admin", "_x", "Shop_Keeper2"] {
            assert!(valid_role_name(ok), "{ok}");
        }
        let long = "a".repeat(MAX_ROLE_LEN + 1);
        for bad in [
            "",
            "2staff",
            "staff-x",
            "role:staff",
            "st aff",
            "é",
            long.as_str(),
        ] {
            assert!(!valid_role_name(bad), "{bad}");
        }
    }
}
