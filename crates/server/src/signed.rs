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
//!
//! With several instances (`redis_url`) the nonces are Redis's, and the request's shared count
//! against the general limit, put off by the limit layer (`crate::http::Deferred`), is taken
//! in the same script: one round trip for a signed request whose session is cached. A session
//! read from the database is counted before that read, and a refusal before it answers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
use crate::http::{AppState, Deferred};
use crate::replay;
use crate::session_cache::{CachedSession, MAX_AGE_MS};
use crate::sessions::{self, Authenticated};
use crate::shared::Admission;

/// The nonces of signed requests of one instance as `miniguard-crypto`'s nonce store: in
/// memory, under the stored lease, and written to the `nonces` table only when signed ahead of
/// our clock (see [`crate::replay`]). Several instances keep them in Redis instead (see
/// [`record_nonce`]). A nonce is kept per access token.
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

/// Why a signed request is refused.
enum Refused {
    Signature(SignatureError),
    /// Over the general limit (counted with the nonce, in the shared store).
    Limited(Duration),
}

impl From<SignatureError> for Refused {
    fn from(e: SignatureError) -> Self {
        Self::Signature(e)
    }
}

/// Records the nonce of a request whose signature and timestamp verified: a replay is refused.
/// With a shared store, one script also counts the request's general limit when that count was
/// put off ([`Deferred`]); otherwise the instance's own store (see [`Nonces`]).
async fn record_nonce(
    state: &AppState,
    deferred: Option<&Deferred>,
    scope: &str,
    nonce: &str,
    (timestamp, expires_at): (u64, u64),
) -> Result<(), Refused> {
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let Some(shared) = state.db().shared() else {
        return match Nonces(state.db())
            .insert_if_new(scope, nonce, expires_at, now)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(SignatureError::Replay.into()),
            Err(e) => Err(SignatureError::NonceStore(e).into()),
        };
    };
    // Several instances: Redis is the one truth (see crate::shared).
    let fp = replay::fingerprint(scope, nonce);
    let ttl = Duration::from_secs(expires_at.saturating_sub(now));
    let admitted = match deferred.filter(|d| d.take()) {
        Some(d) => {
            let (key, rate) = d.bucket(state);
            shared
                .admit(&key, rate.per_minute, rate.burst, fp, timestamp, ttl)
                .await
        }
        None => shared
            .nonce_is_new(fp, timestamp, ttl)
            .await
            .map(|new| if new { Admission::New } else { Admission::Seen }),
    }
    .map_err(|e| SignatureError::NonceStore(backend(e.into())))?;
    match admitted {
        Admission::New => Ok(()),
        Admission::Seen => Err(SignatureError::Replay.into()),
        Admission::Limited(wait) => Err(Refused::Limited(wait)),
    }
}

/// The verified token of a bearer hash: from the cache, else from the database (then cached).
/// A request whose shared count was put off is counted before the database is read.
async fn session(
    state: &AppState,
    hash: &TokenHash,
    deferred: Option<&Deferred>,
) -> Result<Arc<CachedSession>, ApiError> {
    let cache = state.db().session_cache();
    let now = now_ms();
    if let Some(cached) = cache.get(hash.as_bytes(), now) {
        return Ok(cached);
    }
    if let Some(d) = deferred {
        d.settle(state).await?;
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
    let deferred = req.extensions().get::<Deferred>().cloned();
    let verified = verify_counted(state, req, deferred.as_ref()).await;
    if verified.is_err()
        && let Some(d) = &deferred
    {
        // A refusal counts against the limit too (and is a 429 when over it).
        d.settle(state).await?;
    }
    verified
}

async fn verify_counted(
    state: &AppState,
    req: Request,
    deferred: Option<&Deferred>,
) -> Result<(Request, Authenticated, bool), ApiError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let hash = sessions::bearer_hash(authorization)?;
    let session = session(state, &hash, deferred).await?;
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
    let verified = match Verifier::new().check_stateless(&session.key, &signed) {
        Ok(window) => record_nonce(state, deferred, &scope, &nonce, window).await,
        Err(e) => Err(e.into()),
    };
    let e = match verified {
        Ok(()) => None,
        Err(Refused::Limited(retry_after)) => return Err(ApiError::RateLimited { retry_after }),
        Err(Refused::Signature(e)) => Some(e),
    };
    if let Some(e) = e {
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
            // Counted before the audit write (a replay was, with its nonce).
            if let Some(d) = deferred {
                d.settle(state).await?;
            }
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
