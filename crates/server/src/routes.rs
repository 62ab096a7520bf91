//! Routes. Each handler states its auth requirement at the top; none of these need a session.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use miniguard_crypto::AssociatedData;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use crate::db::UserId;
use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::platform::LoginCode;
use crate::sessions::{self, Authenticated, Issued, Refreshed};

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let auth = Router::new()
        .route("/v1/auth/wechat/login", post(wechat_login))
        .route("/v1/auth/refresh", post(refresh))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth_limit));
    // Every route here needs a live access token and a signed request.
    let session = Router::new()
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/logout-all", post(logout_all))
        .route("/v1/me", get(me))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::signed::require_session,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(auth)
        .merge(session)
        .merge(crate::data::router(state))
}

/// The auth routes' stricter per-client limit (on top of the general one).
async fn auth_limit(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    crate::http::limit(state.auth_limit(), &req)?;
    Ok(next.run(req).await)
}

/// Auth: none. The process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Auth: none. The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|e| ApiError::NotReady(format!("database: {e}").into()))?;
    Ok(Json(json!({ "status": "ready" })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    code: String,
}

/// Maps a JSON body rejection to the error the client sees (the reason goes to the log).
fn body_error(rejection: &JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType(rejection.body_text().into())
        }
        _ => ApiError::BadRequest(rejection.body_text().into()),
    }
}

/// Auth: none (this is where a session starts). The platform verifies the code; the server
/// keeps the `session_key` and never returns it.
#[instrument(skip_all, fields(platform = "wechat"))]
async fn wechat_login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let ip = client.0.map(|ip| ip.to_string());
    let platform = state.platform();
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
    let aad = AssociatedData::field("platform_session_keys", "envelope", &user.0.to_string());
    let envelope = state
        .keyring()
        .encrypt(session.session_key.expose_secret().as_bytes(), &aad)
        .map_err(|e| ApiError::Internal(format!("encrypting the session key: {e}").into()))?;
    drop(session);
    state.db().store_session_key(user, &envelope).await?;
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

/// The body every token-issuing route answers with. The tokens appear here and nowhere else.
fn token_response(issued: &Issued, user: Option<(UserId, bool)>) -> serde_json::Value {
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": issued.access.expose_secret(),
        "expires_in": issued.expires_in,
        "refresh_token": issued.refresh.expose_secret(),
        "refresh_expires_in": issued.refresh_expires_in,
        "signing_key": issued.signing_key.expose_secret(),
    });
    if let (Some((user, created)), Some(obj)) = (user, body.as_object_mut()) {
        obj.insert("user".into(), json!({ "id": user.0, "new": created }));
    }
    body
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// Auth: the refresh token in the body (no access token: it may have expired). Spends it and
/// answers a new pair; a spent token presented again revokes its whole login.
#[instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<Json<RefreshRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
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

/// Auth: signed session. Who the caller is.
async fn me(auth: Authenticated) -> Json<serde_json::Value> {
    Json(json!({ "user_id": auth.user.0 }))
}
