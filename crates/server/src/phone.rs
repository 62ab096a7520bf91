//! Phone-number binding and `rawData` checks for WeChat users (issue 5, item 3). Every route here
//! needs a signed session of a user who logged in with WeChat (declared in [`routes`]).
//!
//! Binding a number is a factor change (SMS codes go to it): when the user already has a factor
//! (a confirmed TOTP or a bound phone), the login must have verified one within 5 minutes
//! ([`crate::access::Access::FactorChange`]); a bind ends the user's other logins and is audited
//! with how many it ended.
//!
//! * `POST /v1/auth/wechat/phone {"code"}`: the new flow. The server exchanges the code from the
//!   `getPhoneNumber` button with WeChat (`getuserphonenumber`, with the centrally cached access
//!   token of [`crate::platform::wechat::WeChatClient`]) and checks the watermark's appid.
//! * `POST /v1/auth/wechat/phone {"encrypted_data", "iv"}`: the old flow. The server decrypts with
//!   the user's stored `session_key` and checks the watermark: this app's appid, and a timestamp
//!   within [`crate::AppOptions::open_data_max_age`] (10 minutes by default) of now, so a captured
//!   blob cannot be replayed later.
//! * `POST /v1/auth/wechat/verify-userinfo {"raw_data", "signature"}`: checks
//!   `signature = SHA-1(rawData + session_key)` in constant time and answers the parsed user info.
//!
//! The number is stored as an envelope bound to `user_phones.envelope` and the user id, answered
//! and audited (`phone.bind`) only masked (`138****8000`), and never logged. Failures are audited
//! (`phone.bind_failure`, `userinfo.verify_failure`) with a reason and no data.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use miniguard_crypto::{AssociatedData, WechatError, WechatSessionKey};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::access::{Access, Routes};
use crate::db::UserId;
use crate::error::ApiError;
use crate::http::AppState;
use crate::platform::{LoginCode, PhoneInfo, PlatformClient};
use crate::routes::{body_error, session_key_aad};
use crate::sessions::Authenticated;

/// The routes, when WeChat is configured. Both call WeChat, so the stricter auth rate applies
/// first, as on login. Binding a phone is a factor change (the number SMS codes go to).
pub(crate) fn routes(state: &AppState) -> Routes {
    if state.platforms().get("wechat").is_none() {
        return Routes::new();
    }
    Routes::new()
        .add(Access::FactorChange.with_auth_rate(), routes!(bind_phone))
        .add(Access::Session.with_auth_rate(), routes!(verify_userinfo))
}

/// Binds a phone number to a user's row.
pub(crate) fn phone_aad(user: UserId) -> AssociatedData {
    AssociatedData::field("user_phones", "envelope", &user.0.to_string())
}

/// Either `code` (new flow) or `encrypted_data` with `iv` (old flow).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PhoneRequest {
    code: Option<String>,
    encrypted_data: Option<String>,
    iv: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserInfoRequest {
    raw_data: String,
    signature: String,
}

async fn audit_failure(
    state: &AppState,
    user: UserId,
    action: &str,
    reason: &str,
) -> Result<(), ApiError> {
    state
        .db()
        .append_audit(
            &format!("user:{}", user.0),
            action,
            &json!({ "platform": "wechat", "user_id": user.0, "reason": reason }),
        )
        .await?;
    Ok(())
}

/// The WeChat client and a check that the caller is a WeChat user.
async fn wechat_user(
    state: &AppState,
    user: UserId,
    action: &str,
) -> Result<std::sync::Arc<dyn PlatformClient>, ApiError> {
    let wechat = state
        .platforms()
        .get("wechat")
        .cloned()
        .ok_or(ApiError::Internal("WeChat route without WeChat".into()))?;
    if state.db().user_platform(user).await?.as_deref() != Some("wechat") {
        audit_failure(state, user, action, "not_a_wechat_user").await?;
        return Err(ApiError::BadRequest("not a WeChat user".into()));
    }
    Ok(wechat)
}

/// The user's session key from the last login, opened.
async fn session_key(state: &AppState, user: UserId) -> Result<WechatSessionKey, ApiError> {
    let sealed = state
        .db()
        .session_key_envelope(user)
        .await?
        .ok_or(ApiError::OpenData("no session key stored for this user"))?;
    let text = state
        .keyring()
        .decrypt(&sealed, &session_key_aad(user))
        .map_err(|e| ApiError::Internal(format!("opening a session key: {e}").into()))?;
    let text = std::str::from_utf8(&text)
        .map_err(|_| ApiError::Internal("stored session key is not UTF-8".into()))?;
    WechatSessionKey::from_base64(text)
        .map_err(|_| ApiError::Internal("stored session key is malformed".into()))
}

fn wechat_reason(e: &WechatError) -> &'static str {
    match e {
        WechatError::AppIdMismatch => "watermark_appid_mismatch",
        WechatError::MissingWatermark => "missing_watermark",
        WechatError::Undecryptable => "undecryptable",
        WechatError::BadSignature => "bad_signature",
        WechatError::MalformedSignature => "malformed_signature",
        WechatError::InvalidIv | WechatError::MalformedData => "malformed_data",
        _ => "invalid_open_data",
    }
}

/// Access: factor change (declared in [`routes`]), of a WeChat user. Binds the phone number
/// WeChat vouches for; the user's other logins end.
#[utoipa::path(post, path = "/v1/auth/wechat/phone", tag = "auth", request_body = PhoneRequest,
    responses((status = 200, description = "Bound; the number comes back masked", body = Object),
        (status = 502, description = "WeChat failed", body = crate::openapi::ProblemBody,
            content_type = "application/problem+json")))]
#[instrument(skip_all, fields(platform = "wechat"))]
async fn bind_phone(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    body: Result<Json<PhoneRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let user = auth.user;
    let wechat = wechat_user(&state, user, "phone.bind_failure").await?;
    let fail = |reason: &'static str| {
        let state = state.clone();
        async move { audit_failure(&state, user, "phone.bind_failure", reason).await }
    };
    let (phone, source) = match (req.code, req.encrypted_data, req.iv) {
        (Some(code), None, None) => {
            let Some(code) = LoginCode::parse(&code) else {
                fail("malformed_code").await?;
                return Err(ApiError::BadRequest("phone code is malformed".into()));
            };
            match wechat.phone_number(&code).await {
                Ok(p) => (p, "code"),
                Err(e) => {
                    fail(e.reason()).await?;
                    return Err(e.into());
                }
            }
        }
        (None, Some(data), Some(iv)) => {
            let key = session_key(&state, user).await?;
            let opened = match miniguard_crypto::decrypt_open_data(&key, &data, &iv, wechat.appid())
            {
                Ok(o) => o,
                Err(e) => {
                    fail(wechat_reason(&e)).await?;
                    return Err(ApiError::OpenData(wechat_reason(&e)));
                }
            };
            let now = crate::platform::unix_now();
            let max_age = state.options().open_data_max_age.as_secs();
            if !opened.watermark.is_fresh(now, max_age) {
                fail("stale_watermark").await?;
                return Err(ApiError::OpenData("stale_watermark"));
            }
            let Some(p) = PhoneInfo::from_wechat_json(&opened.json) else {
                fail("not_a_phone_number").await?;
                return Err(ApiError::OpenData("not_a_phone_number"));
            };
            (p, "encrypted_data")
        }
        _ => {
            return Err(ApiError::BadRequest(
                "send either code, or encrypted_data and iv".into(),
            ));
        }
    };
    let plain = json!({
        "country_code": phone.country_code,
        "pure_phone_number": phone.pure_phone_number,
    })
    .to_string();
    let envelope = state
        .keyring()
        .encrypt(plain.as_bytes(), &phone_aad(user))
        .map_err(|e| ApiError::Internal(format!("encrypting a phone number: {e}").into()))?;
    drop(plain);
    state.db().store_phone(user, &envelope, source).await?;
    // Where SMS codes go changed: a factor change ends every other login of the user.
    let revoked = state.db().revoke_user_except(user, &auth.family_id).await?;
    let masked = phone.masked();
    state
        .db()
        .append_audit(
            &format!("user:{}", user.0),
            "phone.bind",
            &json!({ "platform": "wechat", "user_id": user.0, "source": source,
                     "phone": masked, "country_code": phone.country_code,
                     "family": auth.family_id, "other_sessions_revoked": revoked }),
        )
        .await?;
    tracing::info!(user_id = user.0, source, "phone number bound");
    Ok(Json(json!({
        "phone": masked,
        "country_code": phone.country_code,
        "source": source,
    })))
}

/// Access: session (declared in [`routes`]), of a WeChat user. Checks `rawData` against its signature with the
/// server-side session key and answers the parsed user info.
#[utoipa::path(post, path = "/v1/auth/wechat/verify-userinfo", tag = "auth",
    request_body = UserInfoRequest,
    responses((status = 200, description = "The signature holds: the user info", body = Object)))]
#[instrument(skip_all, fields(platform = "wechat"))]
async fn verify_userinfo(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    body: Result<Json<UserInfoRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(req) = body.map_err(|r| body_error(&r))?;
    let user = auth.user;
    wechat_user(&state, user, "userinfo.verify_failure").await?;
    let key = session_key(&state, user).await?;
    if let Err(e) = miniguard_crypto::verify_raw_data(&req.raw_data, &key, &req.signature) {
        audit_failure(&state, user, "userinfo.verify_failure", wechat_reason(&e)).await?;
        return Err(match e {
            WechatError::MalformedSignature => {
                ApiError::BadRequest("signature is not 40 hex digits".into())
            }
            _ => ApiError::OpenData("bad_signature"),
        });
    }
    let info: serde_json::Value = serde_json::from_str(&req.raw_data)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or(ApiError::BadRequest("rawData is not a JSON object".into()))?;
    Ok(Json(json!({ "user_info": info })))
}
