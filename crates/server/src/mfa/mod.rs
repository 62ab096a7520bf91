//! Multi-factor authentication for mini-program users and staff: TOTP, SMS one-time codes,
//! WeChat SOTER biometrics and recovery codes, and step-up checks on sensitive routes.
//!
//! Every factor is verified inside a signed session (a login, i.e. a token family). A success
//! records `mfa_at` for that login (`session_mfa`), which the session layer exposes as
//! [`Authenticated::mfa_at_ms`]; a route declared with a recent factor ([`crate::access`])
//! answers 403 `urn:miniguard:problem:mfa-required` otherwise (through [`require_recent_mfa`]).
//!
//! **Factor changes** (TOTP enrol, confirm and disable, recovery regenerate, a phone bind, a
//! staff password change) need a factor that existed before the change, verified by this login
//! within [`STEP_UP_WINDOW`], whenever the user has one (only a user with no factor at all enrols
//! the first one freely). Enrolling never counts as a verification. Every change ends the user's
//! other logins and is audited.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/mfa/totp/enroll` | a new secret (pending, stored encrypted): `{secret, otpauth_uri}` |
//! | `POST /v1/mfa/totp/confirm {code}` | activates it; answers the recovery codes, once |
//! | `POST /v1/mfa/totp/verify {code}` | a TOTP code; a used time step never works again |
//! | `POST /v1/mfa/totp/disable` | a factor change: needs a factor within 5 minutes |
//! | `POST /v1/mfa/recovery {code}` | spends one recovery code |
//! | `POST /v1/mfa/recovery/regenerate` | new codes (a factor change: needs a factor within 5 minutes) |
//! | `POST /v1/mfa/sms/send` | a 6-digit code to the verified phone: `{challenge_id, expires_in}` |
//! | `POST /v1/mfa/sms/verify {challenge_id, code}` | 5 attempts, 5 minutes, once, same login |
//! | `POST /v1/mfa/soter/challenge` | `{challenge_id, challenge, expires_in}` for `wx.startSoterAuthentication` |
//! | `POST /v1/mfa/soter/verify {challenge_id, result_json, result_json_signature}` | checked through WeChat |
//!
//! Codes and challenges are bound to the login that asked for them; SMS codes are stored as
//! keyed hashes (HMAC under a key derived from the data key, so the database alone does not give
//! the six digits away), TOTP secrets as envelopes, recovery codes as hashes. A factor change (TOTP confirmed
//! or disabled, recovery codes regenerated) revokes the user's other logins. Every attempt passes
//! the per-account rate and progressive lockout of [`crate::lockout`] first. Every event is
//! audited without secrets or codes.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use miniguard_crypto::{
    AssociatedData, Token, TokenHash, Totp, TotpError, TotpSecret, find_recovery_code,
    generate_recovery_codes,
};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::access::{Access, Routes};
use crate::db::{UserId, now_ms};
use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::lockout::{self, Attempt, LockoutPolicy, Scope};
use crate::sessions::Authenticated;

pub mod sms;
pub mod soter;
pub mod store;

use sms::SmsProvider;
use soter::{SoterClient, SoterResult};
use store::NewChallenge;

/// How recent a factor must be for [`POST /v1/mfa/totp/disable`] and other factor changes.
pub const STEP_UP_WINDOW: Duration = Duration::from_mins(5);

/// The clock of MFA lifetimes, step-up windows and lockouts: the system clock, or one that tests
/// move forward (so a five-minute expiry is tested without waiting five minutes).
#[derive(Clone, Debug, Default)]
pub struct MfaClock(Option<Arc<AtomicI64>>);

impl MfaClock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// The system clock plus an offset that [`MfaClock::advance`] moves (tests).
    pub fn adjustable() -> Self {
        Self(Some(Arc::new(AtomicI64::new(0))))
    }

    /// Moves an adjustable clock forward; does nothing to the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.0 {
            offset.fetch_add(ms(by), Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let offset = self.0.as_ref().map_or(0, |o| o.load(Ordering::SeqCst));
        now_ms().saturating_add(offset)
    }
}

/// Tunables of MFA (part of [`crate::AppOptions`]).
#[derive(Clone, Debug)]
pub struct MfaPolicy {
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    /// Life of an SMS code.
    pub sms_ttl: Duration,
    /// Attempts per SMS challenge.
    pub sms_max_attempts: u32,
    /// Life of a SOTER challenge.
    pub soter_ttl: Duration,
    /// Attempts per SOTER challenge.
    pub soter_max_attempts: u32,
    pub clock: MfaClock,
    pub lockout: LockoutPolicy,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            issuer: "miniguard".to_owned(),
            sms_ttl: Duration::from_mins(5),
            sms_max_attempts: 5,
            soter_ttl: Duration::from_mins(2),
            soter_max_attempts: 3,
            clock: MfaClock::system(),
            lockout: LockoutPolicy::default(),
        }
    }
}

/// The outside services of MFA; a factor whose service is `None` answers 501.
#[derive(Clone, Default)]
pub struct MfaServices {
    pub sms: Option<Arc<dyn SmsProvider>>,
    pub soter: Option<Arc<SoterClient>>,
}

impl std::fmt::Debug for MfaServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaServices")
            .field("sms", &self.sms.as_ref().map(|s| s.name()))
            .field("soter", &self.soter.is_some())
            .finish()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whether the login verified a factor within `within` of `now_ms` (pure; see
/// [`require_recent_mfa`] for the audited check routes use).
pub fn check_recent_mfa(
    auth: &Authenticated,
    now_ms: i64,
    within: Duration,
) -> Result<(), ApiError> {
    match auth.mfa_at_ms {
        Some(at) if now_ms.saturating_sub(at) <= ms(within) && at <= now_ms + 60_000 => Ok(()),
        _ => Err(ApiError::MfaRequired),
    }
}

/// Step-up: refuses with 403 `mfa-required` (and audits `mfa.step_up_denied`) unless the
/// caller's login verified a second factor within `within`.
pub async fn require_recent_mfa(
    state: &AppState,
    auth: &Authenticated,
    within: Duration,
    route: &str,
) -> Result<(), ApiError> {
    let now = state.options().mfa.clock.now_ms();
    let checked = check_recent_mfa(auth, now, within);
    if checked.is_err() {
        audit(
            state,
            auth.user,
            "mfa.step_up_denied",
            &json!({ "route": route, "family": auth.family_id, "had_mfa": auth.mfa_at_ms.is_some() }),
        )
        .await?;
    }
    checked
}

/// The MFA routes with their declared access. Enrolling, disabling and regenerating are factor
/// changes; verifying a factor needs only the session it is verified for.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .add(Access::FactorChange.while_enrolling(), routes!(totp_enroll))
        .add(
            Access::FactorChange.while_enrolling(),
            routes!(totp_confirm),
        )
        .add(Access::Session, routes!(totp_verify))
        .add(Access::FactorChange, routes!(totp_disable))
        .add(Access::Session, routes!(recovery_use))
        .add(Access::FactorChange, routes!(recovery_regenerate))
        .add(Access::Session, routes!(sms_send))
        .add(Access::Session, routes!(sms_verify))
        .add(Access::Session, routes!(soter_challenge))
        .add(Access::Session, routes!(soter_verify))
}

pub(crate) use crate::routes::body_error;

pub(crate) async fn audit(
    state: &AppState,
    user: UserId,
    action: &str,
    detail: &serde_json::Value,
) -> Result<(), ApiError> {
    state
        .db()
        .append_audit(&format!("user:{}", user.0), action, detail)
        .await?;
    Ok(())
}

/// The lockout and rate key of a user's second factors.
pub(crate) fn otp_account(user: UserId) -> String {
    format!("user:{}", user.0)
}

/// Before every factor attempt: the per-account rate, then the lockout.
pub(crate) async fn gate(
    state: &AppState,
    user: UserId,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let account = otp_account(user);
    state.account_rate(Attempt::Otp, &account).await?;
    lockout::check(state, Scope::Otp, &account, ip).await
}

/// A factor verified: the login's `mfa_at`, the lockout counters cleared, the audit row.
pub(crate) async fn succeeded(
    state: &AppState,
    user: UserId,
    family_id: &str,
    method: &'static str,
    ip: Option<IpAddr>,
    unlimit: bool,
) -> Result<i64, ApiError> {
    let now = state.options().mfa.clock.now_ms();
    state
        .db()
        .record_family_mfa(family_id, user, now, method, unlimit)
        .await?;
    lockout::reset(state, Scope::Otp, &otp_account(user), ip).await?;
    audit(
        state,
        user,
        "mfa.verify.success",
        &json!({ "method": method, "family": family_id, "ip": ip.map(|i| i.to_string()) }),
    )
    .await?;
    Ok(now)
}

/// A factor failed: counted for the lockout and audited; the client sees 401
/// `invalid-credentials` (the reason goes to the log).
pub(crate) async fn failed(
    state: &AppState,
    user: UserId,
    method: &'static str,
    reason: &'static str,
    ip: Option<IpAddr>,
) -> ApiError {
    let recorded = async {
        lockout::record_failure(state, Scope::Otp, &otp_account(user), ip).await?;
        audit(
            state,
            user,
            "mfa.verify.failure",
            &json!({ "method": method, "reason": reason, "ip": ip.map(|i| i.to_string()) }),
        )
        .await
    }
    .await;
    match recorded {
        Ok(()) => ApiError::InvalidCredentials(reason),
        Err(e) => e,
    }
}

fn totp_aad(user: UserId) -> AssociatedData {
    AssociatedData::field("mfa_totp", "secret", &user.0.to_string())
}

fn random_failure(e: &impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("OS random number generator: {e}").into())
}

fn unix_secs(now_ms: i64) -> u64 {
    u64::try_from(now_ms / 1000).unwrap_or(0)
}

/// Opens the user's stored TOTP secret.
pub(crate) fn open_secret(
    state: &AppState,
    user: UserId,
    sealed: &[u8],
) -> Result<TotpSecret, ApiError> {
    let bytes = state
        .keyring()
        .decrypt(sealed, &totp_aad(user))
        .map_err(|e| ApiError::Internal(format!("opening a TOTP secret: {e}").into()))?;
    TotpSecret::from_bytes(bytes.to_vec())
        .map_err(|e| ApiError::Internal(format!("stored TOTP secret: {e}").into()))
}

/// Checks a TOTP code against the user's confirmed factor and records its step (never twice).
/// `Err(reason)` for the audit log when the code does not pass.
pub(crate) async fn verify_totp_code(
    state: &AppState,
    user: UserId,
    code: &str,
) -> Result<Result<(), &'static str>, ApiError> {
    let Some(row) = state.db().totp(user).await? else {
        return Ok(Err("no_factor"));
    };
    if row.confirmed_at_ms.is_none() {
        return Ok(Err("no_factor"));
    }
    let secret = open_secret(state, user, &row.secret)?;
    let now = unix_secs(state.options().mfa.clock.now_ms());
    let last = row.last_step.and_then(|s| u64::try_from(s).ok());
    match Totp::new().verify_after(&secret, code, now, last) {
        Ok(step) => {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            if state.db().accept_totp_step(user, step).await? {
                Ok(Ok(()))
            } else {
                Ok(Err("reused_step"))
            }
        }
        Err(TotpError::Reused) => Ok(Err("reused_step")),
        Err(TotpError::MalformedCode { .. }) => Ok(Err("malformed_code")),
        Err(_) => Ok(Err("wrong_code")),
    }
}

/// New recovery codes for the user (hashes stored, the codes returned to show once).
async fn new_recovery_codes(state: &AppState, user: UserId) -> Result<Vec<String>, ApiError> {
    let codes = generate_recovery_codes().map_err(|e| random_failure(&e))?;
    let hashes: Vec<[u8; 32]> = codes.iter().map(|c| *c.hash().as_bytes()).collect();
    state.db().replace_recovery_codes(user, &hashes).await?;
    Ok(codes.iter().map(|c| c.expose_secret().to_owned()).collect())
}

/// A factor changed: every other login of the user ends.
async fn revoke_others(state: &AppState, auth: &Authenticated) -> Result<u64, ApiError> {
    Ok(state
        .db()
        .revoke_user_except(auth.user, &auth.family_id)
        .await?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    /// A 6-digit TOTP code, or a recovery code at `/v1/mfa/recovery`.
    code: String,
}

#[derive(Serialize, ToSchema)]
struct TotpEnrollment {
    /// The new secret in base32, for typing into an authenticator app.
    secret: String,
    /// The same secret as an `otpauth://totp/...` URI, for a QR code.
    otpauth_uri: String,
}

#[derive(Serialize, ToSchema)]
struct RecoveryCodes {
    /// One-time recovery codes, shown this once.
    recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct Verified {
    /// When this login verified the factor (milliseconds since the Unix epoch).
    mfa_at: i64,
}

#[derive(Serialize, ToSchema)]
struct RecoveryUsed {
    /// When this login verified the factor (milliseconds since the Unix epoch).
    mfa_at: i64,
    /// Recovery codes left unused.
    remaining: u64,
}

#[derive(Serialize, ToSchema)]
struct SmsChallenge {
    /// Send it back with the code to `/v1/mfa/sms/verify`.
    challenge_id: String,
    /// Seconds the code stays valid.
    expires_in: u64,
}

#[derive(Serialize, ToSchema)]
struct SoterChallenge {
    /// Send it back with the result to `/v1/mfa/soter/verify`.
    challenge_id: String,
    /// The `challenge` for `wx.startSoterAuthentication`.
    challenge: String,
    /// Seconds the challenge stays valid.
    expires_in: u64,
}

/// Access: factor change, also in a login limited to enrolment (see [`routes`]). Starts a TOTP
/// enrolment: a fresh secret, stored encrypted and pending until confirmed.
#[utoipa::path(post, path = "/v1/mfa/totp/enroll", tag = "mfa",
    responses(
        (status = 200, description = "A pending TOTP secret", body = TotpEnrollment),
        (status = 403, description = "TOTP is already enrolled (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn totp_enroll(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<TotpEnrollment>, ApiError> {
    if let Some(row) = state.db().totp(auth.user).await?
        && row.confirmed_at_ms.is_some()
    {
        return Err(ApiError::Forbidden(
            "TOTP already enrolled; disable it first",
        ));
    }
    let secret = TotpSecret::generate().map_err(|e| random_failure(&e))?;
    let sealed = state
        .keyring()
        .encrypt(secret.expose_bytes(), &totp_aad(auth.user))
        .map_err(|e| ApiError::Internal(format!("encrypting a TOTP secret: {e}").into()))?;
    if !state.db().put_pending_totp(auth.user, &sealed).await? {
        return Err(ApiError::Forbidden(
            "TOTP already enrolled; disable it first",
        ));
    }
    let account = match state.db().local_username(auth.user).await? {
        Some(name) => name,
        None => format!("user-{}", auth.user.0),
    };
    let uri = Totp::new().otpauth_uri(&secret, &state.options().mfa.issuer, &account);
    audit(
        &state,
        auth.user,
        "mfa.totp.enrol_started",
        &json!({ "family": auth.family_id }),
    )
    .await?;
    Ok(Json(TotpEnrollment {
        secret: secret.to_base32().expose_secret().to_owned(),
        otpauth_uri: uri.expose_secret().to_owned(),
    }))
}

/// Access: factor change, also in a login limited to enrolment (see [`routes`]). Activates the pending
/// TOTP factor with a first code; answers the recovery codes, which are never shown again.
/// Other logins of the user end; a login limited to enrolment becomes a full one.
#[utoipa::path(post, path = "/v1/mfa/totp/confirm", tag = "mfa", request_body = CodeRequest,
    responses(
        (status = 200, description = "TOTP is active; the recovery codes, shown once", body = RecoveryCodes),
        (status = 401, description = "No pending enrolment, or a wrong code (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn totp_confirm(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    gate(&state, auth.user, client.0).await?;
    let Some(row) = state.db().totp(auth.user).await? else {
        return Err(failed(&state, auth.user, "totp", "no_pending_enrolment", client.0).await);
    };
    if row.confirmed_at_ms.is_some() {
        return Err(failed(&state, auth.user, "totp", "already_enrolled", client.0).await);
    }
    let secret = open_secret(&state, auth.user, &row.secret)?;
    let now = unix_secs(state.options().mfa.clock.now_ms());
    let Ok(step) = Totp::new().verify(&secret, &req.code, now) else {
        return Err(failed(&state, auth.user, "totp", "wrong_code", client.0).await);
    };
    if !state
        .db()
        .confirm_totp(auth.user, i64::try_from(step).unwrap_or(i64::MAX))
        .await?
    {
        return Err(failed(&state, auth.user, "totp", "already_enrolled", client.0).await);
    }
    let codes = new_recovery_codes(&state, auth.user).await?;
    let revoked = revoke_others(&state, &auth).await?;
    // Enrolling is never a step-up: the login's `mfa_at` stays as it was (a factor vouches only
    // for changes made after it existed). A login limited to enrolment becomes a full one.
    state.db().unlimit_family(&auth.family_id).await?;
    lockout::reset(&state, Scope::Otp, &otp_account(auth.user), client.0).await?;
    audit(
        &state,
        auth.user,
        "mfa.totp.enrolled",
        &json!({ "family": auth.family_id, "other_sessions_revoked": revoked }),
    )
    .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Access: session. Verifies a TOTP code (step-up); a time step works once.
#[utoipa::path(post, path = "/v1/mfa/totp/verify", tag = "mfa", request_body = CodeRequest,
    responses(
        (status = 200, description = "The factor is verified for this login", body = Verified),
        (status = 401, description = "Wrong, used or expired code or challenge (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn totp_verify(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<Json<Verified>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    gate(&state, auth.user, client.0).await?;
    if let Err(reason) = verify_totp_code(&state, auth.user, &req.code).await? {
        return Err(failed(&state, auth.user, "totp", reason, client.0).await);
    }
    let at = succeeded(&state, auth.user, &auth.family_id, "totp", client.0, false).await?;
    Ok(Json(Verified { mfa_at: at }))
}

/// Access: factor change (a factor within [`STEP_UP_WINDOW`]). Removes the TOTP factor and
/// the recovery codes; other logins end.
#[utoipa::path(post, path = "/v1/mfa/totp/disable", tag = "mfa",
    responses(
        (status = 204, description = "TOTP and the recovery codes are removed; other logins ended"),
        (status = 403, description = "No TOTP factor (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn totp_disable(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    if !state.db().delete_totp(auth.user).await? {
        return Err(ApiError::Forbidden("no TOTP factor to disable"));
    }
    let revoked = revoke_others(&state, &auth).await?;
    audit(
        &state,
        auth.user,
        "mfa.totp.disabled",
        &json!({ "family": auth.family_id, "other_sessions_revoked": revoked }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Access: session. Spends one recovery code as a factor.
#[utoipa::path(post, path = "/v1/mfa/recovery", tag = "mfa", request_body = CodeRequest,
    responses(
        (status = 200, description = "The recovery code is spent; the factor is verified for this login", body = RecoveryUsed),
        (status = 401, description = "Wrong or used recovery code (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn recovery_use(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<Json<RecoveryUsed>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    gate(&state, auth.user, client.0).await?;
    let stored = state.db().unused_recovery_codes(auth.user).await?;
    let hashes: Vec<TokenHash> = stored
        .iter()
        .map(|(_, h)| TokenHash::from_bytes(*h))
        .collect();
    let Some(index) = find_recovery_code(&req.code, &hashes) else {
        return Err(failed(&state, auth.user, "recovery", "wrong_code", client.0).await);
    };
    let Some((id, _)) = stored.get(index) else {
        return Err(ApiError::Internal(
            "recovery code index out of range".into(),
        ));
    };
    if !state.db().spend_recovery_code(*id).await? {
        return Err(failed(&state, auth.user, "recovery", "used_code", client.0).await);
    }
    let remaining = stored.len().saturating_sub(1);
    let at = succeeded(
        &state,
        auth.user,
        &auth.family_id,
        "recovery",
        client.0,
        false,
    )
    .await?;
    audit(
        &state,
        auth.user,
        "mfa.recovery.used",
        &json!({ "family": auth.family_id, "remaining": remaining }),
    )
    .await?;
    Ok(Json(RecoveryUsed {
        mfa_at: at,
        remaining: u64::try_from(remaining).unwrap_or(u64::MAX),
    }))
}

/// Access: factor change (a factor within [`STEP_UP_WINDOW`]). New recovery codes replace the
/// old ones; other logins end.
#[utoipa::path(post, path = "/v1/mfa/recovery/regenerate", tag = "mfa",
    responses(
        (status = 200, description = "New recovery codes, shown once; the old ones no longer work", body = RecoveryCodes),
        (status = 403, description = "No TOTP factor (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn recovery_regenerate(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let enrolled = state
        .db()
        .totp(auth.user)
        .await?
        .is_some_and(|t| t.confirmed_at_ms.is_some());
    if !enrolled {
        return Err(ApiError::Forbidden("recovery codes need a TOTP factor"));
    }
    let codes = new_recovery_codes(&state, auth.user).await?;
    let revoked = revoke_others(&state, &auth).await?;
    audit(
        &state,
        auth.user,
        "mfa.recovery.regenerated",
        &json!({ "family": auth.family_id, "other_sessions_revoked": revoked }),
    )
    .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

fn new_id() -> Result<String, ApiError> {
    Token::generate()
        .map(|t| t.expose_secret().to_owned())
        .map_err(|e| random_failure(&e))
}

/// What an SMS challenge keeps of its code: the id of the data key, then HMAC-SHA256 under a
/// key derived from it ([`miniguard_crypto::Keyring::keyed_hash`]) over the challenge id and the
/// code. A bare hash of six digits falls to a million guesses; this one needs the data key.
const SMS_HASH_PURPOSE: &str = "mfa_challenges.secret_hash";

fn sms_hash(
    keyring: &miniguard_crypto::Keyring,
    key: miniguard_crypto::KeyId,
    challenge_id: &str,
    code: &str,
) -> Option<Vec<u8>> {
    let mac = keyring.keyed_hash(
        key,
        SMS_HASH_PURPOSE,
        format!("sms:{challenge_id}:{code}").as_bytes(),
    )?;
    let mut stored = key.0.to_be_bytes().to_vec();
    stored.extend_from_slice(&mac);
    Some(stored)
}

/// Whether `stored` (see [`sms_hash`]) is the hash of `code`; constant time in the code.
fn sms_hash_matches(
    keyring: &miniguard_crypto::Keyring,
    stored: &[u8],
    challenge_id: &str,
    code: &str,
) -> bool {
    let Some((id, mac)) = stored.split_first_chunk::<4>() else {
        return false;
    };
    let Ok(mac) = <[u8; 32]>::try_from(mac) else {
        return false;
    };
    let key = miniguard_crypto::KeyId(u32::from_be_bytes(*id));
    sms_hash(keyring, key, challenge_id, code)
        .and_then(|h| <[u8; 32]>::try_from(&h[4..]).ok())
        // TokenHash equality is constant time.
        .is_some_and(|presented| TokenHash::from_bytes(presented) == TokenHash::from_bytes(mac))
}

/// Access: session. Sends a 6-digit code to the user's verified phone number; answers the
/// challenge id the code is bound to.
#[utoipa::path(post, path = "/v1/mfa/sms/send", tag = "mfa",
    responses(
        (status = 200, description = "A code was sent to the verified phone number", body = SmsChallenge),
        (status = 403, description = "No verified phone number (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 501, description = "SMS codes are not configured (not-implemented)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn sms_send(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<SmsChallenge>, ApiError> {
    let Some(provider) = state.mfa().sms.clone() else {
        return Err(ApiError::NotImplemented {
            detail: "SMS codes are not configured on this server.",
        });
    };
    // Sending costs money and annoys the owner: the per-account rate applies to sends too.
    state
        .account_rate(Attempt::Otp, &otp_account(auth.user))
        .await?;
    let Some(phone) = state
        .db()
        .verified_phone(state.keyring(), auth.user)
        .await?
    else {
        return Err(ApiError::Forbidden("no verified phone number"));
    };
    let policy = &state.options().mfa;
    let code = sms::generate_code().map_err(|e| random_failure(&e))?;
    let id = new_id()?;
    let now = policy.clock.now_ms();
    let hash = sms_hash(
        state.keyring(),
        state.keyring().current_id(),
        &id,
        code.expose_secret(),
    )
    .ok_or(ApiError::Internal("the newest data key is missing".into()))?;
    state
        .db()
        .insert_challenge(&NewChallenge {
            id: &id,
            kind: "sms",
            user: auth.user,
            family_id: &auth.family_id,
            secret_hash: Some(&hash),
            challenge: None,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ms(policy.sms_ttl)),
        })
        .await?;
    let minutes = policy.sms_ttl.as_secs().div_ceil(60);
    provider
        .send_code(&phone, &code, minutes)
        .await
        .map_err(|e| ApiError::NotReady(format!("SMS provider: {e}").into()))?;
    drop(code);
    audit(
        &state,
        auth.user,
        "mfa.sms.sent",
        &json!({ "family": auth.family_id, "phone": sms::mask_phone(&phone), "provider": provider.name() }),
    )
    .await?;
    Ok(Json(SmsChallenge {
        challenge_id: id,
        expires_in: policy.sms_ttl.as_secs(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SmsVerifyRequest {
    /// From `/v1/mfa/sms/send`.
    challenge_id: String,
    /// The 6 digits received.
    code: String,
}

/// Checks that a challenge may be attempted by this caller; `Err(reason)` otherwise.
async fn usable_challenge(
    state: &AppState,
    auth: &Authenticated,
    id: &str,
    kind: &str,
    max_attempts: u32,
) -> Result<Result<store::ChallengeRow, &'static str>, ApiError> {
    if id.len() > 128 {
        return Ok(Err("unknown_challenge"));
    }
    let Some(row) = state.db().challenge(id).await? else {
        return Ok(Err("unknown_challenge"));
    };
    if row.kind != kind || row.user_id != auth.user {
        return Ok(Err("unknown_challenge"));
    }
    if row.family_id != auth.family_id {
        return Ok(Err("other_login"));
    }
    if row.used_at_ms.is_some() {
        return Ok(Err("used_challenge"));
    }
    if row.expires_at_ms <= state.options().mfa.clock.now_ms() {
        return Ok(Err("expired_challenge"));
    }
    if row.attempts >= i64::from(max_attempts)
        || !state
            .db()
            .count_challenge_attempt(id, i64::from(max_attempts))
            .await?
    {
        return Ok(Err("attempts_exhausted"));
    }
    Ok(Ok(row))
}

/// Access: session. Verifies an SMS code against its challenge (same login, 5 minutes,
/// 5 attempts, once).
#[utoipa::path(post, path = "/v1/mfa/sms/verify", tag = "mfa", request_body = SmsVerifyRequest,
    responses(
        (status = 200, description = "The factor is verified for this login", body = Verified),
        (status = 401, description = "Wrong, used or expired code or challenge (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn sms_verify(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<SmsVerifyRequest>, JsonRejection>,
) -> Result<Json<Verified>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    gate(&state, auth.user, client.0).await?;
    let max = state.options().mfa.sms_max_attempts;
    let row = match usable_challenge(&state, &auth, &req.challenge_id, "sms", max).await? {
        Ok(row) => row,
        Err(reason) => return Err(failed(&state, auth.user, "sms", reason, client.0).await),
    };
    let code = req.code.trim();
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let matches = row
        .secret_hash
        .as_deref()
        .is_some_and(|stored| sms_hash_matches(state.keyring(), stored, &req.challenge_id, code));
    if !well_formed || !matches {
        return Err(failed(&state, auth.user, "sms", "wrong_code", client.0).await);
    }
    if !state.db().use_challenge(&req.challenge_id).await? {
        return Err(failed(&state, auth.user, "sms", "used_challenge", client.0).await);
    }
    let at = succeeded(&state, auth.user, &auth.family_id, "sms", client.0, false).await?;
    Ok(Json(Verified { mfa_at: at }))
}

/// Access: session, of a WeChat user. A one-time challenge for
/// `wx.startSoterAuthentication`, bound to this login.
#[utoipa::path(post, path = "/v1/mfa/soter/challenge", tag = "mfa",
    responses(
        (status = 200, description = "A one-time challenge bound to this login", body = SoterChallenge),
        (status = 403, description = "Not a WeChat user (forbidden)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 501, description = "SOTER is not configured (not-implemented)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn soter_challenge(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<SoterChallenge>, ApiError> {
    if state.mfa().soter.is_none() {
        return Err(ApiError::NotImplemented {
            detail: "SOTER biometrics are not configured on this server.",
        });
    }
    let is_wechat = state
        .db()
        .user_identity(auth.user)
        .await?
        .is_some_and(|(platform, _)| platform == "wechat");
    if !is_wechat {
        return Err(ApiError::Forbidden("SOTER needs a WeChat user"));
    }
    let policy = &state.options().mfa;
    let (id, challenge) = (new_id()?, new_id()?);
    let now = policy.clock.now_ms();
    state
        .db()
        .insert_challenge(&NewChallenge {
            id: &id,
            kind: "soter",
            user: auth.user,
            family_id: &auth.family_id,
            secret_hash: None,
            challenge: Some(&challenge),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ms(policy.soter_ttl)),
        })
        .await?;
    Ok(Json(SoterChallenge {
        challenge_id: id,
        challenge,
        expires_in: policy.soter_ttl.as_secs(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SoterVerifyRequest {
    /// From `/v1/mfa/soter/challenge`.
    challenge_id: String,
    /// `resultJSON` from `wx.startSoterAuthentication`.
    result_json: String,
    /// `resultJSONSignature` from `wx.startSoterAuthentication`.
    result_json_signature: String,
}

/// Access: session, of a WeChat user. Checks that the signed `result_json` carries the
/// issued challenge, then has WeChat verify the device signature.
#[utoipa::path(post, path = "/v1/mfa/soter/verify", tag = "mfa", request_body = SoterVerifyRequest,
    responses(
        (status = 200, description = "The factor is verified for this login", body = Verified),
        (status = 401, description = "Unknown, used or expired challenge, a result for another challenge or a bad signature (invalid-credentials)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 501, description = "SOTER is not configured (not-implemented)",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn soter_verify(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    auth: Authenticated,
    body: Result<Json<SoterVerifyRequest>, JsonRejection>,
) -> Result<Json<Verified>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let Some(soter) = state.mfa().soter.clone() else {
        return Err(ApiError::NotImplemented {
            detail: "SOTER biometrics are not configured on this server.",
        });
    };
    gate(&state, auth.user, client.0).await?;
    let max = state.options().mfa.soter_max_attempts;
    let row = match usable_challenge(&state, &auth, &req.challenge_id, "soter", max).await? {
        Ok(row) => row,
        Err(reason) => return Err(failed(&state, auth.user, "soter", reason, client.0).await),
    };
    let Some(result) = SoterResult::parse(&req.result_json) else {
        return Err(failed(&state, auth.user, "soter", "malformed_result", client.0).await);
    };
    let expected = row.challenge.unwrap_or_default();
    if expected.is_empty() || TokenHash::of(&result.raw) != TokenHash::of(&expected) {
        return Err(failed(&state, auth.user, "soter", "challenge_mismatch", client.0).await);
    }
    let Some((_, openid)) = state.db().user_identity(auth.user).await? else {
        return Err(ApiError::Internal("session user without identity".into()));
    };
    if req.result_json_signature.len() > 2048 {
        return Err(failed(&state, auth.user, "soter", "bad_signature", client.0).await);
    }
    let ok = soter
        .verify_signature(&openid, &req.result_json, &req.result_json_signature)
        .await
        .map_err(|e| ApiError::NotReady(format!("SOTER verification: {e}").into()))?;
    if !ok {
        return Err(failed(&state, auth.user, "soter", "bad_signature", client.0).await);
    }
    if !state.db().use_challenge(&req.challenge_id).await? {
        return Err(failed(&state, auth.user, "soter", "used_challenge", client.0).await);
    }
    let at = succeeded(&state, auth.user, &auth.family_id, "soter", client.0, false).await?;
    Ok(Json(Verified { mfa_at: at }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(mfa_at_ms: Option<i64>) -> Authenticated {
        Authenticated {
            user: UserId(1),
            family_id: "f".into(),
            token_id: 1,
            mfa_at_ms,
        }
    }

    #[test]
    fn step_up_needs_a_recent_factor() {
        let now = 10_000_000;
        let window = Duration::from_mins(5);
        assert!(matches!(
            check_recent_mfa(&auth(None), now, window),
            Err(ApiError::MfaRequired)
        ));
        assert!(check_recent_mfa(&auth(Some(now - 1000)), now, window).is_ok());
        assert!(check_recent_mfa(&auth(Some(now - 300_000)), now, window).is_ok());
        assert!(check_recent_mfa(&auth(Some(now - 300_001)), now, window).is_err());
    }

    #[test]
    fn the_adjustable_clock_moves_only_when_told() {
        let c = MfaClock::adjustable();
        let t0 = c.now_ms();
        c.advance(Duration::from_mins(10));
        assert!(c.now_ms() >= t0 + 600_000);
        let s = MfaClock::system();
        s.advance(Duration::from_mins(10));
        assert!(s.now_ms() < t0 + 600_000);
    }
}
