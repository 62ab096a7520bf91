//! Signed requests on every authenticated route (the protocol is `miniguard-crypto::signing`'s:
//! HMAC-SHA256 with the access token's own `signing_key` over method, path, canonical query,
//! timestamp, nonce and body hash, in `X-MG-Timestamp`, `X-MG-Nonce`, `X-MG-Signature`).
//!
//! [`verify`] is called by the access layer ([`crate::access`]) for every route that needs a
//! session: it finds the live access token, opens its signing key, reads the body (within the
//! body limit), and lets the request through only with a valid signature, a timestamp within
//! 300 s and a nonce not seen before for this token. After a token's first request its row, key
//! and second-factor state come from memory ([`crate::session_cache`], dropped synchronously by
//! every revocation), and nonces are remembered in memory ([`crate::replay`]), so a signed
//! request neither reads nor writes the database; replay protection still holds across restarts
//! (the stored lease, docs/protocol.md "Replay"). Every refusal is the same 401; the reason goes
//! to the log, and a bad signature under a valid token (someone holding a stolen token) to the
//! audit log.

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use miniguard_crypto::signing::{NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use miniguard_crypto::{
    NonceStore, NonceStoreError, SignatureError, SignedRequest, SigningKey, TokenHash, Verifier,
};
use serde_json::json;

use crate::db::{Db, now_ms};
use crate::error::ApiError;
use crate::http::AppState;
use crate::replay;
use crate::session_cache::{CachedSession, MAX_AGE_MS};
use crate::sessions::{self, Authenticated};

/// The nonces of signed requests as `miniguard-crypto`'s nonce store: in memory, under the
/// stored lease, and written to the `nonces` table only when signed ahead of our clock (see
/// [`crate::replay`]); or, when the instances share a store, in Redis (see [`crate::shared`]).
/// A nonce is kept per access token.
struct Nonces<'a>(&'a Db);

fn backend(e: crate::db::DbError) -> NonceStoreError {
    NonceStoreError::Backend(Box::new(e))
}

impl NonceStore for Nonces<'_> {
    fn insert_if_new(
        &self,
        scope: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<bool, NonceStoreError>> + Send {
        let db = self.0;
        let fp = replay::fingerprint(scope, nonce);
        // The verifier keeps a nonce until its timestamp plus the window plus one.
        let timestamp = expires_at.saturating_sub(replay::LIFE_SECS);
        let ahead = (timestamp > now).then(|| format!("{scope}:{nonce}"));
        async move {
            if let Some(shared) = db.shared() {
                // Several instances: Redis is the one truth (see crate::shared).
                let ttl = std::time::Duration::from_secs(expires_at.saturating_sub(now));
                return shared
                    .nonce_is_new(fp, timestamp, ttl)
                    .await
                    .map_err(|e| backend(e.into()));
            }
            let memory = db.nonce_memory();
            if timestamp <= memory.horizon() {
                // A previous process may have accepted it from memory.
                return Ok(false);
            }
            if !memory.remember(fp, expires_at, now)? {
                return Ok(false);
            }
            if let Some(key) = ahead {
                // Beyond the lease: the nonce itself must survive a restart.
                let expires_at_ms =
                    i64::try_from(expires_at.saturating_mul(1000)).unwrap_or(i64::MAX);
                return db
                    .remember_nonce(&key, expires_at_ms)
                    .await
                    .map_err(backend);
            }
            // The lease covers this second before the answer goes out.
            db.extend_nonce_lease(now).await.map_err(backend)?;
            Ok(true)
        }
    }
}

/// The verified token of a bearer hash: from the cache, else from the database (then cached).
async fn session(state: &AppState, hash: &TokenHash) -> Result<Arc<CachedSession>, ApiError> {
    let cache = state.db().session_cache();
    let now = now_ms();
    if let Some(cached) = cache.get(hash.as_bytes(), now) {
        return Ok(cached);
    }
    // Read before the database: a revocation in between refuses the fill.
    let epoch = cache.epoch();
    let row = sessions::access_token(state, hash).await?;
    let sealed = row.signing_key.as_deref().ok_or(ApiError::Internal(
        "access token without a signing key".into(),
    ))?;
    let key_text = state
        .keyring()
        .decrypt(sealed, &sessions::signing_key_aad(hash))
        .map_err(|e| ApiError::Internal(format!("opening a signing key: {e}").into()))?;
    let key = std::str::from_utf8(&key_text)
        .ok()
        .and_then(|t| SigningKey::from_base64url(t).ok())
        .ok_or(ApiError::Internal("stored signing key is malformed".into()))?;
    // A staff login without a second factor may only enrol one (see crate::accounts); the
    // access layer applies the limit.
    let (mfa_at_ms, limited) = state.db().family_mfa(&row.family_id).await?;
    let session = Arc::new(CachedSession {
        token_id: row.id,
        user: row.user_id,
        family_id: row.family_id,
        expires_at_ms: row.expires_at_ms,
        key,
        mfa_at_ms,
        limited,
        valid_until_ms: now.saturating_add(MAX_AGE_MS),
    });
    cache.insert(epoch, *hash.as_bytes(), Arc::clone(&session), now);
    Ok(session)
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
    let hash = sessions::bearer_hash(authorization)?;
    let session = session(state, &hash).await?;
    let (timestamp, nonce, signature) = (
        header(&req, TIMESTAMP_HEADER)?.to_owned(),
        header(&req, NONCE_HEADER)?.to_owned(),
        header(&req, SIGNATURE_HEADER)?.to_owned(),
    );

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
    let scope = session.token_id.to_string();
    let verified = Verifier::new()
        .verify(&session.key, &scope, &signed, &Nonces(state.db()))
        .await;
    if let Err(e) = verified {
        let reason = match &e {
            SignatureError::BadSignature => "bad_signature",
            SignatureError::Replay => "replay",
            SignatureError::Expired { .. } => "timestamp_outside_window",
            SignatureError::NonceStore(NonceStoreError::Full) => {
                return Err(ApiError::Overloaded("the nonce store is full"));
            }
            SignatureError::NonceStore(NonceStoreError::Backend(b))
                if b.downcast_ref::<crate::db::DbError>()
                    .is_some_and(crate::db::DbError::is_overload) =>
            {
                return Err(ApiError::Overloaded("the nonce store is not answering"));
            }
            SignatureError::NonceStore(_) => {
                return Err(ApiError::Internal(format!("nonce store: {e}").into()));
            }
            _ => "malformed_signature_headers",
        };
        if matches!(reason, "bad_signature" | "replay") {
            state
                .db()
                .append_audit(
                    &format!("user:{}", session.user.0),
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
    let auth = Authenticated {
        user: session.user,
        family_id: session.family_id.clone(),
        token_id: session.token_id,
        mfa_at_ms: session.mfa_at_ms,
    };
    Ok((
        Request::from_parts(parts, Body::from(body)),
        auth,
        session.limited,
    ))
}
