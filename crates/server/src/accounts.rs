//! Staff accounts (admin, operator): username + Argon2id password + mandatory TOTP.
//!
//! A staff account is a `users` row with platform `local` and openid = username, plus a
//! `local_accounts` row (the password hash) and `user_roles` rows. Reusing `users` means
//! sessions, signed requests, factors, step-up, audit and future ownership rules all key on one
//! `users.id`, while the password hash stays out of the table the platform login writes.
//!
//! `POST /v1/admin/login {username, password[, totp]}`:
//! - wrong username or password: 401 `invalid-credentials` (unknown usernames cost the same
//!   Argon2id time), counted by the progressive lockout of [`crate::lockout`];
//! - right password, no TOTP enrolled yet: a session limited to `POST /v1/mfa/totp/enroll` and
//!   `/confirm` (and logout); confirming lifts the limit (`"mfa_enrolment_required": true`);
//! - right password, TOTP enrolled, no `totp`: 403 `mfa-required`; send the same body with
//!   `totp` (the password is checked again, nothing is kept between the two requests);
//! - right password and TOTP: a full session whose login counts as MFA-verified now.
//!
//! Passwords follow [`check_new_password`]: 12 to 128 characters, not a common password, not
//! containing the username, not mostly keyboard rows or sequences, not one short chunk repeated.

use std::net::IpAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use miniguard_crypto::password::{needs_rehash, verify_dummy};
use miniguard_crypto::{PolicyViolation, check_password_policy, hash_password, verify_password};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::access::{Access, Routes};
use crate::db::{Db, DbError, UserId};
use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::lockout::{self, Attempt, Scope};
use crate::mfa::{self, body_error};
use crate::sessions::{self, Authenticated, Issued};

/// Longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The roles a staff account can have.
pub const ROLES: [&str; 2] = ["admin", "operator"];

/// A username: 3 to 64 of `[a-z0-9._-]` after lower-casing and trimming.
pub fn normalize_username(input: &str) -> Option<String> {
    let name = input.trim().to_ascii_lowercase();
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    ok.then_some(name)
}

/// Keyboard rows and sequences; a password made mostly of runs of 4+ of these is refused.
const SEQUENCES: [&str; 8] = [
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "!@#$%^&*()",
];

/// How many characters are left after removing runs of 4+ sequence characters.
fn outside_sequences(password: &str) -> usize {
    let chars: Vec<char> = password.chars().collect();
    let is_seq = |run: &[char]| {
        let s: String = run.iter().collect();
        let rev: String = run.iter().rev().collect();
        SEQUENCES.iter().any(|q| q.contains(&s) || q.contains(&rev))
    };
    let mut left = 0;
    let mut i = 0;
    while i < chars.len() {
        let mut len = 0;
        let mut j = i + 4;
        while j <= chars.len() && is_seq(&chars[i..j]) {
            len = j - i;
            j += 1;
        }
        if len >= 4 {
            i += len;
        } else {
            left += 1;
            i += 1;
        }
    }
    left
}

/// Whether the password is one chunk of 1 to 4 characters repeated.
fn repeated_chunk(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    (1..=4).any(|n| {
        chars.len() >= 2 * n
            && chars.len().is_multiple_of(n)
            && chars.chunks(n).all(|c| c == &chars[..n])
    })
}

/// The policy for staff passwords; `Err` carries a fixed, client-safe explanation.
pub fn check_new_password(password: &str, username: &str) -> Result<(), &'static str> {
    check_password_policy(password, username).map_err(|v| match v {
        PolicyViolation::TooShort => "The password must be at least 12 characters long.",
        PolicyViolation::TooLong => "The password must be at most 128 characters long.",
        PolicyViolation::Common => "The password is one of the most common passwords.",
        PolicyViolation::SameAsUsername => "The password must not contain the username.",
        PolicyViolation::Repetitive => "The password must not repeat a pattern.",
        _ => "The password does not meet the policy.",
    })?;
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err("The password must be at most 128 characters long.");
    }
    let lower = password.to_lowercase();
    let name = username.trim().to_lowercase();
    if name.chars().count() >= 3 && lower.contains(&name) {
        return Err("The password must not contain the username.");
    }
    if repeated_chunk(&lower) {
        return Err("The password must not repeat a pattern.");
    }
    if outside_sequences(&lower) < 6 {
        return Err("The password must not be keyboard rows or sequences.");
    }
    Ok(())
}

/// Why a staff account could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error("username must be 3 to 64 of a-z, 0-9, '.', '_', '-'")]
    InvalidUsername,
    #[error("role must be admin or operator")]
    InvalidRole,
    #[error("weak password: {0}")]
    WeakPassword(&'static str),
    #[error("an account with this username exists")]
    Taken,
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("database: {0}")]
    Db(#[from] DbError),
}

/// Creates a staff account (for `miniguard accounts create`). The password must pass
/// [`check_new_password`]; the account must enrol TOTP at its first login.
pub async fn create_account(
    db: &Db,
    username: &str,
    password: &SecretString,
    role: &str,
) -> Result<UserId, AccountError> {
    let username = normalize_username(username).ok_or(AccountError::InvalidUsername)?;
    if !ROLES.contains(&role) {
        return Err(AccountError::InvalidRole);
    }
    check_new_password(password.expose_secret(), &username).map_err(AccountError::WeakPassword)?;
    let hash =
        hash_password(password.expose_secret()).map_err(|e| AccountError::Hash(e.to_string()))?;
    let user = db
        .create_local_account(&username, &hash, role)
        .await?
        .ok_or(AccountError::Taken)?;
    db.append_audit(
        "cli",
        "account.created",
        &serde_json::json!({ "user_id": user.0, "username": username, "role": role }),
    )
    .await?;
    Ok(user)
}

/// The staff routes with their declared access. A password change is a factor change of a staff
/// account: staff with a factor verified within 5 minutes.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .add(Access::Public.with_auth_rate(), routes!(admin_login))
        .add(Access::Staff, routes!(admin_me))
        .add(Access::StaffRecentFactor, routes!(change_password))
}

/// Argon2id off the async threads.
async fn check_password(password: SecretString, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(hash) => verify_password(password.expose_secret(), &hash)
            .map_err(|e| ApiError::Internal(format!("stored password hash: {e}").into())),
        None => Ok(verify_dummy(password.expose_secret())),
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check task: {e}").into()))?
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AdminLoginRequest {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
    /// The current TOTP code, once TOTP is enrolled.
    #[schema(required = false)]
    totp: Option<String>,
}

/// The body of a staff login: the token pair of a platform login plus the enrolment flag.
#[derive(Serialize, ToSchema)]
struct StaffTokenResponse {
    /// Always `Bearer`.
    token_type: &'static str,
    /// Opaque access token (base64url of 32 random bytes).
    access_token: String,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Opaque refresh token; spend it once at `/v1/auth/refresh`.
    refresh_token: String,
    /// Seconds until the login ends, however often it is refreshed.
    refresh_expires_in: u64,
    /// This access token's request-signing key (base64url of 32 bytes).
    signing_key: String,
    user: StaffUser,
    /// True when the login is limited to TOTP enrolment (no factor yet).
    mfa_enrolment_required: bool,
}

#[derive(Serialize, ToSchema)]
struct StaffUser {
    id: i64,
}

fn staff_token_response(issued: &Issued, user: UserId, limited: bool) -> StaffTokenResponse {
    StaffTokenResponse {
        token_type: "Bearer",
        access_token: issued.access.expose_secret().to_owned(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh.expose_secret().to_owned(),
        refresh_expires_in: issued.refresh_expires_in,
        signing_key: issued.signing_key.expose_secret().to_owned(),
        user: StaffUser { id: user.0 },
        mfa_enrolment_required: limited,
    }
}

async fn login_failed(
    state: &AppState,
    username: &str,
    reason: &'static str,
    ip: Option<IpAddr>,
) -> ApiError {
    let recorded = async {
        lockout::record_failure(state, Scope::Login, username, ip).await?;
        state
            .db()
            .append_audit(
                &format!("local:{username}"),
                "admin.login.failure",
                &json!({ "username": username, "reason": reason, "ip": ip.map(|i| i.to_string()) }),
            )
            .await?;
        Ok::<(), ApiError>(())
    }
    .await;
    match recorded {
        Ok(()) => ApiError::InvalidCredentials(reason),
        Err(e) => e,
    }
}

/// Access: public, with the auth rate (this is where a staff session starts). Password, then TOTP; see the module docs.
#[utoipa::path(post, path = "/v1/admin/login", tag = "admin", request_body = AdminLoginRequest,
    responses(
        (status = 200, description = "Logged in; without TOTP enrolled, a login limited to enrolment",
            body = StaffTokenResponse),
        (status = 401, description = "Wrong username, password or TOTP code (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "TOTP is enrolled: send the same body with `totp` (mfa-required)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn admin_login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<Json<AdminLoginRequest>, JsonRejection>,
) -> Result<Json<StaffTokenResponse>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let ip = client.0;
    let Some(username) = normalize_username(&req.username) else {
        return Err(ApiError::InvalidCredentials("malformed username"));
    };
    // The account-wide rate and slowdown apply only to addresses that already failed for this
    // account: strangers elsewhere cannot spend the owner's budget (see crate::lockout). A clean
    // address has no lock of its own to check.
    let clean = lockout::address_is_clean(&state, Scope::Login, &username, ip).await?;
    if !clean {
        state.account_rate(Attempt::Login, &username).await?;
        lockout::check(&state, Scope::Login, &username, ip).await?;
    }
    let account = state.db().local_account(&username).await?;
    let stored = account.as_ref().map(|(_, h)| h.clone());
    let ok = check_password(req.password.clone(), stored).await?;
    let Some((user, hash)) = account.filter(|_| ok) else {
        if clean {
            // A failure still counts against the account's rate, for its next failed address.
            let _over = state.account_rate(Attempt::Login, &username).await;
        }
        return Err(login_failed(&state, &username, "bad_credentials", ip).await);
    };
    if state.db().user_roles(user).await?.is_empty() {
        return Err(login_failed(&state, &username, "no_role", ip).await);
    }
    if needs_rehash(&hash)
        && let Ok(new_hash) = hash_password(req.password.expose_secret())
    {
        state.db().set_password_hash(user, &new_hash).await?;
    }
    let enrolled = state
        .db()
        .totp(user)
        .await?
        .is_some_and(|t| t.confirmed_at_ms.is_some());
    let ip_text = ip.map(|i| i.to_string());
    if !enrolled {
        lockout::reset(&state, Scope::Login, &username, ip).await?;
        let issued = sessions::start(&state, user).await?;
        state
            .db()
            .limit_family(issued.family.as_str(), user)
            .await?;
        state
            .db()
            .append_audit(
                &format!("user:{}", user.0),
                "admin.login.limited",
                &json!({ "username": username, "family": issued.family.as_str(), "reason": "no_totp", "ip": ip_text }),
            )
            .await?;
        return Ok(Json(staff_token_response(&issued, user, true)));
    }
    let Some(code) = req.totp.as_deref() else {
        return Err(ApiError::MfaRequired);
    };
    mfa::gate(&state, user, ip).await?;
    if let Err(reason) = mfa::verify_totp_code(&state, user, code).await? {
        return Err(mfa::failed(&state, user, "totp", reason, ip).await);
    }
    lockout::reset(&state, Scope::Login, &username, ip).await?;
    let issued = sessions::start(&state, user).await?;
    mfa::succeeded(&state, user, issued.family.as_str(), "totp", ip, true).await?;
    state
        .db()
        .append_audit(
            &format!("user:{}", user.0),
            "admin.login.success",
            &json!({ "username": username, "family": issued.family.as_str(), "ip": ip_text }),
        )
        .await?;
    Ok(Json(staff_token_response(&issued, user, false)))
}

#[derive(Serialize, ToSchema)]
struct AdminMe {
    user_id: i64,
    username: String,
    /// `admin`, `operator` or both.
    roles: Vec<String>,
    /// When this login last verified a factor (milliseconds since the Unix epoch), or null.
    #[schema(required = true)]
    mfa_at: Option<i64>,
}

/// Access: staff (see [`routes`]). Who the caller is and what they may do.
#[utoipa::path(get, path = "/v1/admin/me", tag = "admin",
    responses(
        (status = 200, description = "The calling staff account", body = AdminMe),
        (status = 403, description = "A role without a staff account (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
async fn admin_me(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<AdminMe>, ApiError> {
    let Some(username) = state.db().local_username(auth.user).await? else {
        return Err(ApiError::Forbidden("not a staff account"));
    };
    let roles = state.db().user_roles(auth.user).await?;
    Ok(Json(AdminMe {
        user_id: auth.user.0,
        username,
        roles,
        mfa_at: auth.mfa_at_ms,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    #[schema(value_type = String)]
    current_password: SecretString,
    /// 12 to 128 characters, not common, not the username, not keyboard rows or repeats.
    #[schema(value_type = String)]
    new_password: SecretString,
}

/// Access: staff with a factor within [`crate::mfa::STEP_UP_WINDOW`] (see [`routes`]). Changes the password
/// (policy checked); other logins end.
#[utoipa::path(post, path = "/v1/admin/password", tag = "admin", request_body = ChangePassword,
    responses(
        (status = 204, description = "The password is changed; other logins ended"),
        (status = 400, description = "The new password breaks the policy (weak-password, with a detail), \
            or a malformed request", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Wrong current password (invalid-credentials)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A role without a staff account (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn change_password(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<ChangePassword>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let Some(username) = state.db().local_username(auth.user).await? else {
        return Err(ApiError::Forbidden("not a staff account"));
    };
    lockout::check(&state, Scope::Login, &username, client.0).await?;
    let stored = state.db().local_account(&username).await?.map(|(_, h)| h);
    if !check_password(req.current_password.clone(), stored).await? {
        return Err(login_failed(&state, &username, "bad_current_password", client.0).await);
    }
    check_new_password(req.new_password.expose_secret(), &username)
        .map_err(|detail| ApiError::WeakPassword { detail })?;
    let new = req.new_password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(new.expose_secret()))
        .await
        .map_err(|e| ApiError::Internal(format!("password hash task: {e}").into()))?
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}").into()))?;
    state.db().set_password_hash(auth.user, &hash).await?;
    let revoked = state
        .db()
        .revoke_user_except(auth.user, &auth.family_id)
        .await?;
    state
        .db()
        .append_audit(
            &format!("user:{}", auth.user.0),
            "admin.password_changed",
            &json!({ "family": auth.family_id, "other_sessions_revoked": revoked }),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalized() {
        assert_eq!(
            normalize_username(" Root.Admin "),
            Some("root.admin".into())
        );
        assert!(normalize_username("ab").is_none());
        assert!(normalize_username("a b c").is_none());
        assert!(normalize_username("名字名字").is_none());
    }

    #[test]
    fn the_password_policy_refuses_weak_ones() {
        let ok = "violet-harbor-lantern-42";
        assert_eq!(check_new_password(ok, "alice"), Ok(()));
        assert!(check_new_password("short", "alice").is_err());
        assert!(
            check_new_password(&"x9".repeat(70), "alice").is_err(),
            "over 128"
        );
        assert!(
            check_new_password("password1234", "alice").is_err(),
            "common"
        );
        assert!(
            check_new_password("alice-is-the-best", "alice").is_err(),
            "username"
        );
        assert!(
            check_new_password("qwertyuiop12", "alice").is_err(),
            "keyboard row"
        );
        assert!(
            check_new_password("abcdefgh12345", "alice").is_err(),
            "sequence"
        );
        assert!(
            check_new_password("1qaz2wsx3edc4rfv", "alice").is_err(),
            "columns"
        );
        assert!(
            check_new_password("abcabcabcabc", "alice").is_err(),
            "repeated chunk"
        );
        assert!(
            check_new_password("zyxwvutsr9876", "alice").is_err(),
            "reversed"
        );
        assert_eq!(check_new_password("Tr0ub4dor&3horse", "alice"), Ok(()));
    }
}
