//! Signed requests on every authenticated route (the protocol is `miniguard-crypto::signing`'s:
//! HMAC-SHA256 with the access token's own `signing_key` over method, path, canonical query,
//! timestamp, nonce and body hash, in `X-MG-Timestamp`, `X-MG-Nonce`, `X-MG-Signature`).
//!
//! [`verify`] is called by the access layer ([`crate::access`]) for every route that needs a
//! session: it finds the live access token, opens its signing key, reads the body (within the
//! body limit), and lets the request through only with a valid signature, a timestamp within 300 s and a nonce not seen before for this
//! token. Nonces live in the database (`nonces`), so a replay is caught across restarts and, on a
//! shared database, across instances. Every refusal is the same 401; the reason goes to the log,
//! and a bad signature under a valid token (someone holding a stolen token) to the audit log.

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use miniguard_crypto::signing::{NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use miniguard_crypto::{
    NonceStore, NonceStoreError, SignatureError, SignedRequest, SigningKey, Verifier,
};
use serde_json::json;

use crate::db::Db;
use crate::error::ApiError;
use crate::http::AppState;
use crate::sessions::{self, Authenticated};

/// The `nonces` table as `miniguard-crypto`'s nonce store; a nonce is kept per access token.
struct DbNonces<'a>(&'a Db);

impl NonceStore for DbNonces<'_> {
    fn insert_if_new(
        &self,
        scope: &str,
        nonce: &str,
        expires_at: u64,
        _now: u64,
    ) -> impl Future<Output = Result<bool, NonceStoreError>> + Send {
        let key = format!("{scope}:{nonce}");
        let expires_at_ms = i64::try_from(expires_at.saturating_mul(1000)).unwrap_or(i64::MAX);
        async move {
            self.0
                .remember_nonce(&key, expires_at_ms)
                .await
                .map_err(|e| NonceStoreError::Backend(Box::new(e)))
        }
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Result<&'a str, ApiError> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("request is not signed"))
}

/// Checks the session and the signature of a request; answers the request (its body read and
/// put back), the caller, and whether the login is limited to TOTP enrolment.
#[tracing::instrument(skip_all)]
pub async fn verify(
    state: &AppState,
    req: Request,
) -> Result<(Request, Authenticated, bool), ApiError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (row, hash) = sessions::access_token(state, authorization).await?;
    let (timestamp, nonce, signature) = (
        header(&req, TIMESTAMP_HEADER)?.to_owned(),
        header(&req, NONCE_HEADER)?.to_owned(),
        header(&req, SIGNATURE_HEADER)?.to_owned(),
    );
    let sealed = row.signing_key.as_deref().ok_or(ApiError::Internal(
        "access token without a signing key".into(),
    ))?;
    let key_text = state
        .keyring()
        .decrypt(sealed, &sessions::signing_key_aad(&hash))
        .map_err(|e| ApiError::Internal(format!("opening a signing key: {e}").into()))?;
    let key = std::str::from_utf8(&key_text)
        .ok()
        .and_then(|t| SigningKey::from_base64url(t).ok())
        .ok_or(ApiError::Internal("stored signing key is malformed".into()))?;

    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, state.options().body_limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        timestamp: &timestamp,
        nonce: &nonce,
        signature: &signature,
        body: &body,
    };
    let scope = row.id.to_string();
    let verified = Verifier::new()
        .verify(&key, &scope, &signed, &DbNonces(state.db()))
        .await;
    if let Err(e) = verified {
        let reason = match &e {
            SignatureError::BadSignature => "bad_signature",
            SignatureError::Replay => "replay",
            SignatureError::Expired { .. } => "timestamp_outside_window",
            SignatureError::NonceStore(_) => {
                return Err(ApiError::Internal(format!("nonce store: {e}").into()));
            }
            _ => "malformed_signature_headers",
        };
        if matches!(reason, "bad_signature" | "replay") {
            state
                .db()
                .append_audit(
                    &format!("user:{}", row.user_id.0),
                    "auth.signature_rejected",
                    &json!({ "reason": reason, "path": parts.uri.path() }),
                )
                .await?;
        }
        return Err(ApiError::Unauthorized(match reason {
            "bad_signature" => "bad request signature",
            "replay" => "replayed nonce",
            "timestamp_outside_window" => "timestamp outside the window",
            _ => "malformed signature headers",
        }));
    }
    // A staff login without a second factor may only enrol one (see crate::accounts); the
    // access layer applies the limit.
    let (mfa_at_ms, limited) = state.db().family_mfa(&row.family_id).await?;
    let auth = Authenticated {
        user: row.user_id,
        family_id: row.family_id,
        token_id: row.id,
        mfa_at_ms,
    };
    Ok((Request::from_parts(parts, Body::from(body)), auth, limited))
}
