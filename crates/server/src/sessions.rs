//! Sessions: opaque tokens from `miniguard-crypto`, stored only as SHA-256 hashes.
//!
//! A login issues a short-lived access token and a refresh token of a new family. Refreshing
//! spends the refresh token (it is marked replaced, never deleted) and issues a new pair in the
//! same family, with the family's absolute expiry kept: a refresh never extends a login beyond
//! its first `refresh_ttl`, and a refresh token left unused for `idle_ttl` ends the login (idle
//! timeout). Presenting a spent refresh token again means it was copied: the whole
//! family is revoked, the thief's and the owner's tokens alike (RFC 6819 5.2.2.3). Logout revokes
//! the family; "log out everywhere" revokes every token of the user.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use miniguard_crypto::{AssociatedData, FamilyId, SigningKey, Token, TokenHash};
use secrecy::{ExposeSecret as _, SecretString};

use crate::db::{NewToken, TokenKind, TokenRow, UserId, now_ms};
use crate::error::ApiError;
use crate::http::AppState;

/// How long tokens live.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Life of an access token.
    pub access_ttl: Duration,
    /// Absolute life of a login (its refresh family), however often it is refreshed.
    pub refresh_ttl: Duration,
    /// Idle timeout: a refresh token not used within this long ends its login.
    pub idle_ttl: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_mins(15),
            refresh_ttl: Duration::from_hours(24 * 30),
            idle_ttl: Duration::from_hours(24 * 7),
        }
    }
}

/// A freshly issued token pair; the tokens are shown to the client once.
#[derive(Debug)]
pub struct Issued {
    pub access: Token,
    pub refresh: Token,
    /// The access token's request-signing key, base64url (see [`crate::signed`]).
    pub signing_key: SecretString,
    pub family: FamilyId,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token (the login) expires.
    pub refresh_expires_in: u64,
}

/// Binds a sealed signing key to the access token it belongs to.
pub(crate) fn signing_key_aad(access_hash: &TokenHash) -> AssociatedData {
    AssociatedData::field("sessions", "signing_key", &access_hash.to_hex())
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn random_failure(e: &impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("OS random number generator: {e}").into())
}

/// Issues an access and a refresh token in `family`; the refresh token expires at
/// `refresh_expires_at_ms` (the family's absolute end).
pub async fn issue(
    state: &AppState,
    user: UserId,
    family: FamilyId,
    refresh_expires_at_ms: i64,
) -> Result<Issued, ApiError> {
    let policy = state.session_policy();
    let now = now_ms();
    let access = Token::generate().map_err(|e| random_failure(&e))?;
    let refresh = Token::generate().map_err(|e| random_failure(&e))?;
    // An access token never outlives its login.
    let access_expires_at = (now.saturating_add(ms(policy.access_ttl))).min(refresh_expires_at_ms);
    let (access_hash, refresh_hash) = (access.hash(), refresh.hash());
    let signing_key = SigningKey::generate()
        .map_err(|e| random_failure(&e))?
        .to_base64url();
    let sealed_key = state
        .keyring()
        .encrypt(
            signing_key.expose_secret().as_bytes(),
            &signing_key_aad(&access_hash),
        )
        .map_err(|e| ApiError::Internal(format!("encrypting a signing key: {e}").into()))?;
    state
        .db()
        .insert_tokens(&[
            NewToken {
                user,
                kind: TokenKind::Access,
                hash: access_hash.as_bytes(),
                family_id: family.as_str(),
                expires_at_ms: access_expires_at,
                signing_key: Some(&sealed_key),
            },
            NewToken {
                user,
                kind: TokenKind::Refresh,
                hash: refresh_hash.as_bytes(),
                family_id: family.as_str(),
                expires_at_ms: refresh_expires_at_ms,
                signing_key: None,
            },
        ])
        .await?;
    let secs = |until: i64| u64::try_from((until - now) / 1000).unwrap_or(0);
    Ok(Issued {
        access,
        refresh,
        signing_key,
        family,
        expires_in: secs(access_expires_at),
        refresh_expires_in: secs(refresh_expires_at_ms),
    })
}

/// Starts a login: a new family and its first token pair.
pub async fn start(state: &AppState, user: UserId) -> Result<Issued, ApiError> {
    let family = FamilyId::generate().map_err(|e| random_failure(&e))?;
    let end = now_ms().saturating_add(ms(state.session_policy().refresh_ttl));
    issue(state, user, family, end).await
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refreshed {
    /// A new pair in the same family.
    Rotated { user: UserId, issued: Issued },
    /// The token was already spent: the family is now revoked.
    Reused { user: UserId, family_id: String },
    /// Unknown, malformed, revoked or expired; the reason is for the log.
    Refused(&'static str),
}

/// Spends a refresh token.
pub async fn refresh(state: &AppState, presented: &str) -> Result<Refreshed, ApiError> {
    let Ok(token) = Token::parse(presented) else {
        return Ok(Refreshed::Refused("malformed refresh token"));
    };
    let Some(row) = state
        .db()
        .find_token(TokenKind::Refresh, token.hash().as_bytes())
        .await?
    else {
        return Ok(Refreshed::Refused("unknown refresh token"));
    };
    // Per account, whatever the address (see crate::lockout).
    state
        .account_rate(
            crate::lockout::Attempt::Refresh,
            &crate::mfa::otp_account(row.user_id),
        )
        .await?;
    if row.revoked_at_ms.is_some() {
        return Ok(Refreshed::Refused("revoked refresh token"));
    }
    if row.replaced_at_ms.is_some() || !state.db().mark_replaced(row.id).await? {
        state.db().revoke_family(&row.family_id).await?;
        return Ok(Refreshed::Reused {
            user: row.user_id,
            family_id: row.family_id,
        });
    }
    if row.expires_at_ms <= now_ms() {
        return Ok(Refreshed::Refused("expired refresh token"));
    }
    // Each refresh makes a new row, so a row's age is how long the login has been idle.
    if now_ms().saturating_sub(row.created_at_ms) > ms(state.session_policy().idle_ttl) {
        state.db().revoke_family(&row.family_id).await?;
        return Ok(Refreshed::Refused("idle login timed out"));
    }
    let family = FamilyId::parse(&row.family_id)
        .map_err(|e| ApiError::Internal(format!("stored family id: {e}").into()))?;
    let issued = issue(state, row.user_id, family, row.expires_at_ms).await?;
    Ok(Refreshed::Rotated {
        user: row.user_id,
        issued,
    })
}

/// The caller of a route that needs a session, established by the access layer
/// ([`crate::access`], through [`crate::signed::verify`]: a live access token and a valid request
/// signature). The route's access is declared at its registration; on a public route this
/// extractor refuses every request.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: UserId,
    pub family_id: String,
    /// The access token's row, the scope of its nonces.
    pub token_id: i64,
    /// When this login last verified a second factor (see [`crate::mfa::require_recent_mfa`]).
    pub mfa_at_ms: Option<i64>,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(ApiError::Unauthorized("route lacks the session layer"))
    }
}

/// The hash of the access token in an `Authorization: Bearer` header value.
pub(crate) fn bearer_hash(authorization: Option<&str>) -> Result<TokenHash, ApiError> {
    let presented = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized("no bearer token"))?;
    let token =
        Token::parse(presented.trim()).map_err(|_| ApiError::Unauthorized("malformed token"))?;
    Ok(token.hash())
}

/// Looks up a live access token by its hash in the database.
pub(crate) async fn access_token(state: &AppState, hash: &TokenHash) -> Result<TokenRow, ApiError> {
    let row: TokenRow = state
        .db()
        .find_token(TokenKind::Access, hash.as_bytes())
        .await?
        .ok_or(ApiError::Unauthorized("unknown access token"))?;
    if row.revoked_at_ms.is_some() {
        return Err(ApiError::Unauthorized("revoked access token"));
    }
    if row.expires_at_ms <= now_ms() {
        return Err(ApiError::Unauthorized("expired access token"));
    }
    Ok(row)
}
