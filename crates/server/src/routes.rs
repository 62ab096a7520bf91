//! Routes: the core ones here, and the one list of every route with its declared access
//! ([`router`]).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use miniguard_crypto::AssociatedData;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Access, Routes};
use crate::db::UserId;
use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::platform::LoginCode;
use crate::sessions::{self, Authenticated, Issued, Refreshed};

/// Every route with its OpenAPI entry (see [`crate::openapi`]) and its declared access (see
/// [`crate::access`]): the one place a route's access is stated.
pub(crate) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    Routes::with_router(OpenApiRouter::with_openapi(crate::openapi::base()))
        .add(Access::Public, routes!(healthz))
        .add(Access::Public, routes!(readyz))
        .add(Access::Public, routes!(crate::openapi::openapi_json))
        .add(
            Access::MonitoringAddress,
            routes!(crate::metrics::serve_metrics),
        )
        .add(Access::Public.with_auth_rate(), routes!(platform_login))
        .add(Access::Public.with_auth_rate(), routes!(refresh))
        .add(Access::Session.while_enrolling(), routes!(logout))
        .add(Access::Session, routes!(logout_all))
        .add(Access::Session, routes!(me))
        .add(Access::Session, routes!(storage_key))
        .merge(crate::phone::routes(state))
        .merge(crate::mfa::routes())
        .merge(crate::accounts::routes())
        .merge(crate::data::routes())
        .into_router(state)
}

#[derive(Serialize, ToSchema)]
struct Status {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    status: &'static str,
}

/// Auth: none. The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Status)))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// How long `/readyz` waits for the shared store's answer.
const READY_REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Auth: none. The process can serve: the database answers, and so does the shared store
/// (Redis) when one is configured (without it no signed request can be checked).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "The database answers, and Redis when configured", body = Status),
        (status = 503, description = "The database or the configured Redis does not answer",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|e| ApiError::NotReady(format!("database: {e}").into()))?;
    if let Some(shared) = state.db().shared() {
        match tokio::time::timeout(READY_REDIS_TIMEOUT, shared.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ApiError::NotReady(format!("redis: {e}").into())),
            Err(_) => {
                return Err(ApiError::NotReady(
                    format!("redis: no answer within {READY_REDIS_TIMEOUT:?}").into(),
                ));
            }
        }
    }
    Ok(Json(Status { status: "ready" }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    /// The one-time code from the platform's login call (`wx.login` and its kin).
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    code: String,
}

/// Maps a JSON body rejection to the error the client sees (the reason goes to the log).
pub(crate) fn body_error(rejection: &JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType(rejection.body_text().into())
        }
        _ => ApiError::BadRequest(rejection.body_text().into()),
    }
}

/// Auth: none (this is where a session starts). The platform verifies the code; the server
/// keeps the `session_key` (WeChat, Douyin) and never returns it. `platform` is one of the
/// configured platforms; any other answers 404.
#[utoipa::path(post, path = "/v1/auth/{platform}/login", tag = "auth", request_body = LoginRequest,
    params(("platform" = String, Path, description = "wechat, douyin or alipay (as configured)")),
    responses(
        (status = 200, description = "Logged in: a new token pair and signing key", body = TokenResponse),
        (status = 404, description = "No such platform configured", body = crate::openapi::ProblemBody,
            content_type = "application/problem+json"),
        (status = 502, description = "The platform failed", body = crate::openapi::ProblemBody,
            content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(platform = %name))]
async fn platform_login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    Path(name): Path<String>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let ip = client.0.map(|ip| ip.to_string());
    let platforms = state.platforms().clone();
    let Some(platform) = platforms.get(&name) else {
        return Err(ApiError::NotFound("no such platform configured"));
    };
    let platform = platform.as_ref();
    let Some(code) = LoginCode::parse(&req.code) else {
        state
            .db()
            .append_audit(
                "anonymous",
                "login.failure",
                &json!({ "platform": platform.platform(), "reason": "malformed_code", "ip": ip }),
            )
            .await?;
        return Err(ApiError::BadRequest("login code is malformed".into()));
    };
    let session = match platform.code2session(&code).await {
        Ok(s) => s,
        Err(e) => {
            state
                .db()
                .append_audit(
                    "anonymous",
                    "login.failure",
                    &json!({ "platform": platform.platform(), "reason": e.reason(), "ip": ip }),
                )
                .await?;
            return Err(e.into());
        }
    };
    let (user, created) = state
        .db()
        .upsert_user(
            platform.platform(),
            &session.openid,
            session.unionid.as_deref(),
        )
        .await?;
    // The session_key is kept server side only, encrypted and bound to this user's row.
    if let Some(key) = &session.session_key {
        let aad = session_key_aad(user);
        let envelope = state
            .keyring()
            .encrypt(key.expose_secret().as_bytes(), &aad)
            .map_err(|e| ApiError::Internal(format!("encrypting the session key: {e}").into()))?;
        state.db().store_session_key(user, &envelope).await?;
    }
    drop(session);
    let issued = sessions::start(&state, user).await?;
    state
        .db()
        .append_audit(
            &format!("user:{}", user.0),
            "login.success",
            &json!({
                "platform": platform.platform(),
                "user_id": user.0,
                "new_user": created,
                "family": issued.family.as_str(),
                "ip": ip,
            }),
        )
        .await?;
    tracing::info!(user_id = user.0, new_user = created, "login");
    Ok(Json(token_response(&issued, Some((user, created)))))
}

/// Binds a stored platform session key to its user's row.
pub(crate) fn session_key_aad(user: UserId) -> AssociatedData {
    AssociatedData::field("platform_session_keys", "envelope", &user.0.to_string())
}

/// The body every token-issuing route answers with. The tokens appear here and nowhere else.
#[derive(Serialize, ToSchema)]
struct TokenResponse {
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
    /// At login only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    user: Option<UserSummary>,
}

#[derive(Serialize, ToSchema)]
struct UserSummary {
    id: i64,
    /// Whether this login created the user.
    new: bool,
}

fn token_response(issued: &Issued, user: Option<(UserId, bool)>) -> TokenResponse {
    TokenResponse {
        token_type: "Bearer",
        access_token: issued.access.expose_secret().to_owned(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh.expose_secret().to_owned(),
        refresh_expires_in: issued.refresh_expires_in,
        signing_key: issued.signing_key.expose_secret().to_owned(),
        user: user.map(|(user, created)| UserSummary {
            id: user.0,
            new: created,
        }),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    refresh_token: String,
}

/// Auth: the refresh token in the body (no access token: it may have expired). Spends it and
/// answers a new pair; a spent token presented again revokes its whole login.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair in the same login", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token",
            body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<Json<RefreshRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let ip = client.0.map(|ip| ip.to_string());
    match sessions::refresh(&state, &req.refresh_token).await? {
        Refreshed::Rotated { user, issued } => {
            state
                .db()
                .append_audit(
                    &format!("user:{}", user.0),
                    "session.refresh",
                    &json!({ "family": issued.family.as_str(), "ip": ip }),
                )
                .await?;
            Ok(Json(token_response(&issued, None)))
        }
        Refreshed::Reused { user, family_id } => {
            state
                .db()
                .append_audit(
                    &format!("user:{}", user.0),
                    "session.refresh_reuse",
                    &json!({ "family": family_id, "revoked": "family", "ip": ip }),
                )
                .await?;
            tracing::warn!(user_id = user.0, "refresh token reused: login revoked");
            Err(ApiError::Unauthorized("reused refresh token"))
        }
        Refreshed::Refused(reason) => Err(ApiError::Unauthorized(reason)),
    }
}

/// Auth: signed session. Ends this login (its whole token family).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "This login is over")))]
#[instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    let revoked = state.db().revoke_family(&auth.family_id).await?;
    state
        .db()
        .append_audit(
            &format!("user:{}", auth.user.0),
            "session.logout",
            &json!({ "family": auth.family_id, "tokens_revoked": revoked }),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Auth: signed session. Ends every login of the user.
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth",
    responses((status = 204, description = "Every login of the user is over")))]
#[instrument(skip_all)]
async fn logout_all(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    let revoked = state.db().revoke_user(auth.user).await?;
    state
        .db()
        .append_audit(
            &format!("user:{}", auth.user.0),
            "session.logout_all",
            &json!({ "tokens_revoked": revoked }),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct Me {
    user_id: i64,
}

/// Auth: signed session. Who the caller is.
#[utoipa::path(get, path = "/v1/me", tag = "account",
    responses((status = 200, description = "The caller", body = Me)))]
async fn me(auth: Authenticated) -> Json<Me> {
    Json(Me {
        user_id: auth.user.0,
    })
}

#[derive(Serialize, ToSchema)]
struct StorageKey {
    /// base64url of 32 random bytes.
    key: String,
    /// Which of the user's storage keys this is.
    key_id: i64,
}

/// Auth: signed session. The key the client SDK seals its local storage with: 32 random bytes
/// per user, made on first request and kept encrypted at rest, so a value stored on one device
/// opens again after the next login. The client keeps it in memory only.
#[utoipa::path(get, path = "/v1/me/storage-key", tag = "account",
    responses((status = 200, description = "The caller's storage key", body = StorageKey)))]
#[instrument(skip_all)]
async fn storage_key(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<StorageKey>, ApiError> {
    let aad = AssociatedData::field("storage_keys", "envelope", &auth.user.0.to_string());
    let (key_id, envelope) = if let Some(stored) = state.db().storage_key(auth.user).await? {
        stored
    } else {
        let key = miniguard_crypto::Token::generate()
            .map_err(|e| ApiError::Internal(format!("OS random number generator: {e}").into()))?;
        let envelope = state
            .keyring()
            .encrypt(key.expose_secret().as_bytes(), &aad)
            .map_err(|e| ApiError::Internal(format!("encrypting a storage key: {e}").into()))?;
        state.db().insert_storage_key(auth.user, &envelope).await?
    };
    let key = state
        .keyring()
        .decrypt(&envelope, &aad)
        .map_err(|e| ApiError::Internal(format!("opening a storage key: {e}").into()))?;
    let key = std::str::from_utf8(&key)
        .map_err(|_| ApiError::Internal("a storage key is not text".into()))?;
    Ok(Json(StorageKey {
        key: key.to_owned(),
        key_id,
    }))
}
