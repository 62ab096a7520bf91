//! Routes. Each handler states its auth requirement at the top; none of these need a session.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::platform::LoginCode;

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let auth = Router::new()
        .route("/v1/auth/wechat/login", post(wechat_login))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(auth)
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
    // The session_key is not stored until miniguard-crypto can encrypt it at rest; it is dropped
    // (and wiped) here, never logged and never returned.
    drop(session.session_key);
    state
        .db()
        .append_audit(
            &format!("user:{}", user.0),
            "login.platform_verified",
            &json!({ "platform": platform.platform(), "user_id": user.0, "new_user": created, "ip": ip }),
        )
        .await?;
    tracing::info!(
        user_id = user.0,
        new_user = created,
        "platform login verified"
    );
    Err(ApiError::NotImplemented {
        detail: "The platform confirmed the login, but this build cannot issue session tokens yet \
                 (they need miniguard-crypto).",
    })
}
