//! Alipay mini-program login: `alipay.system.oauth.token` with `grant_type=authorization_code`
//! and `code=<authCode>` (from `my.getAuthCode`).
//!
//! The request is a form POST to the gateway with the common parameters (`app_id`, `method`,
//! `charset=utf-8`, `sign_type=RSA2`, `timestamp` as `yyyy-MM-dd HH:mm:ss` in UTC+8,
//! `version=1.0`) and `sign`: RSA2, i.e. `SHA256withRSA` (PKCS#1 v1.5) with the app's private key
//! over every non-empty parameter except `sign`, sorted by name, joined as `k=v&k=v` with raw
//! (not URL-encoded) values ([`sign_content`]).
//!
//! The answer is `{"alipay_system_oauth_token_response":{user_id/open_id, access_token, ...},
//! "sign":"..."}` or `{"error_response":{code, msg, sub_code, sub_msg},"sign":"..."}`. Alipay
//! signs the exact text of the response object, so the signature is verified with Alipay's
//! public key over the raw slice of the body ([`extract_response`]), never over a
//! re-serialization. A success must be signed; an error answer is checked when it is signed (the
//! gateway does not sign every error), and is a failure either way.
//!
//! Alipay has no `session_key`: the login keeps nothing ([`PlatformSession::session_key`] is
//! `None`); its `access_token` would only serve Alipay's user APIs, which this server does not
//! call, so it is dropped.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;
use tracing::instrument;

use super::wechat::WeChatConfigError;
use super::{
    BoxFuture, LoginCode, PlatformClient, PlatformError, PlatformSession, fetch, http_client,
    plausible_id,
};

/// The production gateway.
pub const DEFAULT_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// The method this client calls.
pub const METHOD: &str = "alipay.system.oauth.token";
/// The key of its response object.
pub const RESPONSE_KEY: &str = "alipay_system_oauth_token_response";

/// The RSA2 signing string: non-empty parameters except `sign`, sorted by name, `k=v&...`.
pub fn sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .collect();
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `SHA256withRSA` (PKCS#1 v1.5), base64.
pub fn rsa2_sign(key: &RsaPrivateKey, content: &str) -> Result<String, PlatformError> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer
        .try_sign(content.as_bytes())
        .map_err(|e| PlatformError::Transport(format!("signing failed: {e}")))?;
    Ok(STANDARD.encode(sig.to_bytes()))
}

/// Checks a base64 `SHA256withRSA` signature.
pub fn rsa2_verify(key: &RsaPublicKey, content: &str, sign_b64: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(sign_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(content.as_bytes(), &sig)
        .is_ok()
}

/// Reads a PKCS#8 PEM private key.
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey, WeChatConfigError> {
    RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .map_err(|e| WeChatConfigError::BadKey(format!("not a PKCS#8 PEM RSA private key: {e}")))
}

/// Reads an SPKI PEM public key.
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, WeChatConfigError> {
    RsaPublicKey::from_public_key_pem(pem.trim())
        .map_err(|e| WeChatConfigError::BadKey(format!("not an SPKI PEM RSA public key: {e}")))
}

/// `yyyy-MM-dd HH:mm:ss` in UTC+8 (Beijing time, what the gateway expects).
#[allow(clippy::many_single_char_names)] // the published algorithm's names
pub fn alipay_timestamp(unix_secs: i64) -> String {
    let t = unix_secs + 8 * 3600;
    let (days, rem) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What a gateway answer holds, borrowed from the raw body.
#[derive(Debug, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// The method's response object, as its exact raw text, and the signature.
    Success { raw: &'a str, sign: Option<String> },
    /// `error_response`, as its exact raw text, and the signature if any.
    Error { raw: &'a str, sign: Option<String> },
}

#[derive(Deserialize)]
struct Outer<'a> {
    #[serde(borrow, rename = "alipay_system_oauth_token_response")]
    response: Option<&'a RawValue>,
    #[serde(borrow)]
    error_response: Option<&'a RawValue>,
    sign: Option<String>,
}

/// Takes the response object and the signature from the raw body, without re-serializing.
pub fn extract_response(body: &str) -> Result<Extracted<'_>, PlatformError> {
    let outer: Outer<'_> = serde_json::from_str(body)
        .map_err(|e| PlatformError::BadResponse(format!("not the expected JSON: {e}")))?;
    match (outer.response, outer.error_response) {
        (Some(r), None) => Ok(Extracted::Success {
            raw: r.get(),
            sign: outer.sign,
        }),
        (None, Some(r)) => Ok(Extracted::Error {
            raw: r.get(),
            sign: outer.sign,
        }),
        _ => Err(PlatformError::BadResponse(
            "neither or both of the response and error_response".into(),
        )),
    }
}

/// Maps an Alipay error object (`code`, `msg`, `sub_code`) to an error.
pub fn from_alipay(err: &serde_json::Value) -> PlatformError {
    let code = err["code"].as_str().unwrap_or_default();
    let sub = err["sub_code"].as_str().unwrap_or_default();
    match (code, sub) {
        (_, "isv.code-invalid" | "isv.code-expired" | "isv.code-used") => {
            PlatformError::InvalidCode
        }
        ("20000", _) => PlatformError::Busy,
        (_, s) if s.ends_with("call-limited") => PlatformError::RateLimited,
        _ => PlatformError::Api {
            errcode: code.parse().unwrap_or(-1),
            errmsg: format!("{} {sub}", err["msg"].as_str().unwrap_or_default())
                .chars()
                .take(200)
                .collect(),
        },
    }
}

/// Checks and parses a gateway answer to `alipay.system.oauth.token`.
pub fn parse_token_response(
    body: &str,
    alipay_key: &RsaPublicKey,
) -> Result<PlatformSession, PlatformError> {
    let (raw, sign, is_error) = match extract_response(body)? {
        Extracted::Success { raw, sign } => (raw, sign, false),
        Extracted::Error { raw, sign } => (raw, sign, true),
    };
    match sign.as_deref() {
        Some(s) if rsa2_verify(alipay_key, raw, s) => {}
        Some(_) => {
            return Err(PlatformError::BadResponse(
                "response signature does not verify".into(),
            ));
        }
        None if is_error => {}
        None => return Err(PlatformError::BadResponse("response is not signed".into())),
    }
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| PlatformError::BadResponse(format!("response object: {e}")))?;
    if is_error || v.get("code").is_some_and(|c| c.as_str() != Some("10000")) {
        return Err(from_alipay(&v));
    }
    // New apps receive open_id, older ones user_id (2088...).
    let id = v["open_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| v["user_id"].as_str().filter(|s| !s.is_empty()))
        .ok_or_else(|| PlatformError::BadResponse("neither open_id nor user_id".into()))?;
    if !plausible_id(id) {
        return Err(PlatformError::BadResponse("implausible user id".into()));
    }
    if v["access_token"].as_str().is_none_or(str::is_empty) {
        return Err(PlatformError::BadResponse("access_token missing".into()));
    }
    Ok(PlatformSession {
        openid: id.to_owned(),
        unionid: v["union_id"]
            .as_str()
            .filter(|u| !u.is_empty() && plausible_id(u))
            .map(str::to_owned),
        session_key: None,
    })
}

/// The Alipay login client.
pub struct AlipayClient {
    http: reqwest::Client,
    gateway: Url,
    app_id: String,
    app_key: RsaPrivateKey,
    alipay_key: RsaPublicKey,
}

impl std::fmt::Debug for AlipayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayClient")
            .field("gateway", &self.gateway.as_str())
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AlipayClient {
    /// A client for the gateway at `gateway_url` ([`DEFAULT_GATEWAY`] or a fake's), signing with
    /// the app's private key (PKCS#8 PEM) and verifying with Alipay's public key (SPKI PEM).
    pub fn new(
        gateway_url: &str,
        app_id: &str,
        app_private_key_pem: &SecretString,
        alipay_public_key_pem: &str,
        timeout: Duration,
    ) -> Result<Self, WeChatConfigError> {
        let (http, gateway) = http_client(gateway_url, timeout)?;
        if !(1..=64).contains(&app_id.len()) || !plausible_id(app_id) {
            return Err(WeChatConfigError::BadAppId);
        }
        Ok(Self {
            http,
            gateway,
            app_id: app_id.to_owned(),
            app_key: private_key_from_pem(app_private_key_pem.expose_secret())?,
            alipay_key: public_key_from_pem(alipay_public_key_pem)?,
        })
    }

    #[instrument(skip_all, fields(platform = "alipay"))]
    async fn exchange(&self, code: &LoginCode) -> Result<PlatformSession, PlatformError> {
        let now = i64::try_from(super::unix_now()).unwrap_or(0);
        let timestamp = alipay_timestamp(now);
        let mut params: Vec<(&str, &str)> = vec![
            ("app_id", &self.app_id),
            ("method", METHOD),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &timestamp),
            ("version", "1.0"),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        let sign = rsa2_sign(&self.app_key, &sign_content(params.iter().copied()))?;
        params.push(("sign", &sign));
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let raw = fetch(
            self.http
                .post(self.gateway.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(form),
        )
        .await?;
        let body = std::str::from_utf8(&raw)
            .map_err(|_| PlatformError::BadResponse("not UTF-8".into()))?;
        parse_token_response(body, &self.alipay_key)
    }
}

impl PlatformClient for AlipayClient {
    fn platform(&self) -> &'static str {
        "alipay"
    }

    fn code2session<'a>(
        &'a self,
        code: &'a LoginCode,
    ) -> BoxFuture<'a, Result<PlatformSession, PlatformError>> {
        Box::pin(self.exchange(code))
    }

    fn appid(&self) -> &str {
        &self.app_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_PRIVATE: &str = include_str!("../../tests/keys/app_private.pem");
    const APP_PUBLIC: &str = include_str!("../../tests/keys/app_public.pem");
    const ALIPAY_PRIVATE: &str = include_str!("../../tests/keys/alipay_private.pem");
    const ALIPAY_PUBLIC: &str = include_str!("../../tests/keys/alipay_public.pem");

    /// `openssl dgst -sha256 -sign tests/keys/app_private.pem` over the signing string below,
    /// base64: an independent implementation of `SHA256withRSA`.
    const OPENSSL_SIGNATURE: &str = "WQ4SP04sHY2xtaX5eIlBAh7PNuJumsb+09LcOazZVKMizP1sfVWWQtyyJznMOmuNEqzbDSct2Q3nrpXP2hJ0tFJ0Xn1X6+Hi8/Uc0jaDH+JKpTOKHEPhcxR28J4cmttChBNgdyVBbhzGuLmJ3Y752bSqV3kawP084QX+/M3AZVXD790YBylW3onv0IJa/d0SrCC5btsvSga5YyRpGd5U/fxh+nbvsSiThTnkcheErTnjAlQP2tVhN1aR547Zg1oc1wn1Zpw1Zfb+fy2ZmI7Ya0ou05WnQa8TucOIz2vgy6VDBNETwKI0DK+OartmhIgyN8BleTykuLXrA+/3m8caEA==";

    #[test]
    fn the_signing_string_is_sorted_skips_sign_and_empty_values_and_matches_openssl() {
        let params = [
            ("timestamp", "2024-01-02 03:04:05"),
            ("method", "alipay.system.oauth.token"),
            ("app_id", "2021000000000001"),
            ("sign", "ignored"),
            ("version", "1.0"),
            ("app_auth_token", ""),
            ("sign_type", "RSA2"),
            ("charset", "utf-8"),
            ("biz_content", r#"{"a":"b"}"#),
        ];
        let content = sign_content(params);
        assert_eq!(
            content,
            r#"app_id=2021000000000001&biz_content={"a":"b"}&charset=utf-8&method=alipay.system.oauth.token&sign_type=RSA2&timestamp=2024-01-02 03:04:05&version=1.0"#
        );
        let key = private_key_from_pem(APP_PRIVATE).unwrap();
        assert_eq!(rsa2_sign(&key, &content).unwrap(), OPENSSL_SIGNATURE);
        let public = public_key_from_pem(APP_PUBLIC).unwrap();
        assert!(rsa2_verify(&public, &content, OPENSSL_SIGNATURE));
        assert!(!rsa2_verify(
            &public,
            &content.replace("1.0", "2.0"),
            OPENSSL_SIGNATURE
        ));
        assert!(!rsa2_verify(&public, &content, "not base64!"));
    }

    #[test]
    fn timestamps_are_beijing_time() {
        assert_eq!(alipay_timestamp(0), "1970-01-01 08:00:00");
        // 2024-02-29T16:30:15Z is 2024-03-01 00:30:15 in UTC+8.
        assert_eq!(alipay_timestamp(1_709_224_215), "2024-03-01 00:30:15");
    }

    #[test]
    fn the_response_is_taken_from_the_raw_body_and_verified() {
        // Spacing and key order a re-serialization would change.
        let inner = r#"{ "user_id":"2088102150477652","open_id":"074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5","access_token": "authusrB7f8d","expires_in":1296000 }"#;
        let alipay_key = private_key_from_pem(ALIPAY_PRIVATE).unwrap();
        let sign = rsa2_sign(&alipay_key, inner).unwrap();
        let body = format!(r#"{{"{RESPONSE_KEY}":{inner},"sign":"{sign}"}}"#);
        assert_eq!(
            extract_response(&body).unwrap(),
            Extracted::Success {
                raw: inner,
                sign: Some(sign.clone())
            }
        );
        let public = public_key_from_pem(ALIPAY_PUBLIC).unwrap();
        let s = parse_token_response(&body, &public).unwrap();
        assert_eq!(s.openid, "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5");
        assert!(s.session_key.is_none());

        // Signed by someone else: refused.
        let wrong = rsa2_sign(&private_key_from_pem(APP_PRIVATE).unwrap(), inner).unwrap();
        let forged = format!(r#"{{"{RESPONSE_KEY}":{inner},"sign":"{wrong}"}}"#);
        assert!(matches!(
            parse_token_response(&forged, &public),
            Err(PlatformError::BadResponse(_))
        ));
        let unsigned = format!(r#"{{"{RESPONSE_KEY}":{inner}}}"#);
        assert!(matches!(
            parse_token_response(&unsigned, &public),
            Err(PlatformError::BadResponse(_))
        ));

        let err = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}}"#;
        assert!(matches!(
            parse_token_response(err, &public),
            Err(PlatformError::InvalidCode)
        ));
        let app = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}"#;
        assert!(matches!(
            parse_token_response(app, &public),
            Err(PlatformError::Api { errcode: 40002, .. })
        ));
        assert!(extract_response("{}").is_err());
        assert!(extract_response("[").is_err());
    }
}
