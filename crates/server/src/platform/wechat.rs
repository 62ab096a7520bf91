//! WeChat `code2session`: `GET {base}/sns/jscode2session?appid&secret&js_code&grant_type=
//! authorization_code`, answered with HTTP 200 and either `{openid, session_key, unionid?}` or
//! `{errcode, errmsg}`.
//!
//! The request URL carries the AppSecret, so neither the URL nor a transport error that quotes it
//! is ever logged; the `session_key` of the answer is moved straight into a secret wrapper.
//!
//! Phone numbers (`getPhoneNumber` button, the new flow): `POST {base}/wxa/business/
//! getuserphonenumber?access_token=…` with `{"code"}`. The access token comes from the stable
//! token API (`POST {base}/cgi-bin/stable_token`, `force_refresh: false`) and is cached for every
//! request: one token per client, fetched under an async lock so concurrent requests wait for one
//! fetch instead of stampeding, renewed 5 minutes before it expires, and, when WeChat answers
//! 40001 (invalid) or 42001 (expired), dropped and fetched again once before the call is
//! retried once.

use std::time::{Duration, Instant};

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::instrument;

use super::{
    BoxFuture, LoginCode, PhoneInfo, PlatformClient, PlatformError, PlatformSession, endpoint,
    fetch, http_client, plausible_id,
};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";

/// A cached token is renewed this long before WeChat says it expires.
const TOKEN_MARGIN: Duration = Duration::from_mins(5);

/// A configuration problem of a platform client (WeChat, Douyin, Alipay).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeChatConfigError {
    #[error("platform base URL is not a valid URL: {0}")]
    BadUrl(String),
    #[error("platform base URL must use https (plain http only for a loopback address): {0}")]
    InsecureUrl(String),
    #[error("appid must be 1 to 64 characters of [A-Za-z0-9_-]")]
    BadAppId,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("key: {0}")]
    BadKey(String),
}

/// The WeChat mini-program login API.
pub struct WeChatClient {
    http: reqwest::Client,
    endpoint: Url,
    token_endpoint: Url,
    phone_endpoint: Url,
    appid: String,
    secret: SecretString,
    token: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    token: SecretString,
    renew_at: Instant,
}

impl std::fmt::Debug for WeChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

impl WeChatClient {
    /// A client for the API at `base_url` (e.g. [`DEFAULT_BASE_URL`], or the fake's URL).
    pub fn new(
        base_url: &str,
        appid: &str,
        secret: SecretString,
        timeout: Duration,
    ) -> Result<Self, WeChatConfigError> {
        let (http, base) = http_client(base_url, timeout)?;
        if !(1..=64).contains(&appid.len()) || !plausible_id(appid) {
            return Err(WeChatConfigError::BadAppId);
        }
        let endpoint = endpoint(&base, "/sns/jscode2session")?;
        let token_endpoint = super::endpoint(&base, "/cgi-bin/stable_token")?;
        let phone_endpoint = super::endpoint(&base, "/wxa/business/getuserphonenumber")?;
        Ok(Self {
            http,
            endpoint,
            token_endpoint,
            phone_endpoint,
            appid: appid.to_owned(),
            secret,
            token: Mutex::new(None),
        })
    }

    #[instrument(skip_all, fields(platform = "wechat"))]
    async fn exchange(&self, code: &LoginCode) -> Result<PlatformSession, PlatformError> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("appid", &self.appid)
            .append_pair("secret", self.secret.expose_secret())
            .append_pair("js_code", code.as_str())
            .append_pair("grant_type", "authorization_code");
        let body = fetch(self.http.get(url)).await?;
        parse_code2session(&body)
    }

    /// The cached access token, fetched when there is none or it is due for renewal. The lock is
    /// held across the fetch: concurrent callers wait for this one fetch (single flight).
    async fn access_token(&self) -> Result<SecretString, PlatformError> {
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let fetched = self.fetch_token().await?;
        let token = fetched.token.clone();
        *cached = Some(fetched);
        Ok(token)
    }

    /// Drops the cached token if it is still `failed` (another request may have renewed it).
    async fn forget_token(&self, failed: &SecretString) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == failed.expose_secret())
        {
            *cached = None;
        }
    }

    #[instrument(skip_all, fields(platform = "wechat"))]
    async fn fetch_token(&self) -> Result<CachedToken, PlatformError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret.expose_secret(),
            "force_refresh": false,
        });
        let raw = fetch(self.http.post(self.token_endpoint.clone()).json(&body)).await?;
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: Option<SecretString>,
            expires_in: Option<u64>,
            #[serde(default)]
            errcode: i64,
            errmsg: Option<String>,
        }
        let r: TokenResponse = serde_json::from_slice(&raw)
            .map_err(|e| PlatformError::BadResponse(format!("not the expected JSON: {e}")))?;
        if r.errcode != 0 {
            return Err(PlatformError::from_wechat(r.errcode, r.errmsg.as_deref()));
        }
        let (Some(token), Some(expires_in)) = (r.access_token, r.expires_in) else {
            return Err(PlatformError::BadResponse(
                "access_token or expires_in missing".into(),
            ));
        };
        if token.expose_secret().is_empty() {
            return Err(PlatformError::BadResponse("empty access_token".into()));
        }
        tracing::info!(expires_in, "fetched a WeChat access token");
        Ok(CachedToken {
            token,
            renew_at: Instant::now() + renew_after(expires_in),
        })
    }

    #[instrument(skip_all, fields(platform = "wechat"))]
    async fn get_phone(&self, code: &LoginCode) -> Result<PhoneInfo, PlatformError> {
        let mut retried = false;
        loop {
            let token = self.access_token().await?;
            let mut url = self.phone_endpoint.clone();
            url.query_pairs_mut()
                .append_pair("access_token", token.expose_secret());
            let body = serde_json::json!({ "code": code.as_str() });
            let raw = fetch(self.http.post(url).json(&body)).await?;
            match parse_phone_response(&raw, &self.appid) {
                Err(PlatformError::Api { errcode, .. })
                    if matches!(errcode, 40001 | 42001) && !retried =>
                {
                    tracing::info!(errcode, "WeChat refused the access token; renewing it");
                    self.forget_token(&token).await;
                    retried = true;
                }
                other => return other,
            }
        }
    }
}

/// How long a token WeChat says lives `expires_in` seconds is used: until 5 minutes before it
/// expires, or for half its life when it lives less than twice that margin.
fn renew_after(expires_in: u64) -> Duration {
    let life = Duration::from_secs(expires_in);
    match life.checked_sub(TOKEN_MARGIN) {
        Some(usable) if life > TOKEN_MARGIN * 2 => usable,
        _ => life / 2,
    }
}

/// Parses a `getuserphonenumber` answer and checks its watermark names `appid`.
pub fn parse_phone_response(body: &[u8], appid: &str) -> Result<PhoneInfo, PlatformError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| PlatformError::BadResponse(format!("not JSON: {e}")))?;
    let errcode = v["errcode"].as_i64().unwrap_or(0);
    if errcode != 0 {
        return Err(PlatformError::from_wechat(errcode, v["errmsg"].as_str()));
    }
    let info = &v["phone_info"];
    if info["watermark"]["appid"].as_str() != Some(appid) {
        return Err(PlatformError::BadResponse(
            "phone_info watermark names another app".into(),
        ));
    }
    PhoneInfo::from_wechat_json(info)
        .ok_or_else(|| PlatformError::BadResponse("phone_info is malformed".into()))
}

#[derive(Deserialize)]
struct Code2SessionResponse {
    openid: Option<String>,
    session_key: Option<SecretString>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    errmsg: Option<String>,
}

/// Parses a `jscode2session` answer.
pub fn parse_code2session(body: &[u8]) -> Result<PlatformSession, PlatformError> {
    let r: Code2SessionResponse = serde_json::from_slice(body)
        .map_err(|e| PlatformError::BadResponse(format!("not the expected JSON: {e}")))?;
    if r.errcode != 0 {
        return Err(PlatformError::from_wechat(r.errcode, r.errmsg.as_deref()));
    }
    let (Some(openid), Some(session_key)) = (r.openid, r.session_key) else {
        return Err(PlatformError::BadResponse(
            "openid or session_key missing".into(),
        ));
    };
    if !plausible_id(&openid) {
        return Err(PlatformError::BadResponse("implausible openid".into()));
    }
    let unionid = r.unionid.filter(|u| !u.is_empty());
    if unionid.as_deref().is_some_and(|u| !plausible_id(u)) {
        return Err(PlatformError::BadResponse("implausible unionid".into()));
    }
    if session_key.expose_secret().is_empty() {
        return Err(PlatformError::BadResponse("empty session_key".into()));
    }
    Ok(PlatformSession {
        openid,
        unionid,
        session_key: Some(session_key),
    })
}

impl PlatformClient for WeChatClient {
    fn platform(&self) -> &'static str {
        "wechat"
    }

    fn code2session<'a>(
        &'a self,
        code: &'a LoginCode,
    ) -> BoxFuture<'a, Result<PlatformSession, PlatformError>> {
        Box::pin(self.exchange(code))
    }

    fn appid(&self) -> &str {
        &self.appid
    }

    fn phone_number<'a>(
        &'a self,
        code: &'a LoginCode,
    ) -> BoxFuture<'a, Result<PhoneInfo, PlatformError>> {
        Box::pin(self.get_phone(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        let ok = parse_code2session(
            br#"{"openid":"oAbc_1-2","session_key":"a2V5a2V5a2V5a2V5a2V5aw==","unionid":"uX"}"#,
        )
        .unwrap();
        assert_eq!(ok.openid, "oAbc_1-2");
        assert_eq!(ok.unionid.as_deref(), Some("uX"));
        assert!(matches!(
            parse_code2session(br#"{"errcode":40029,"errmsg":"invalid code, rid: 1"}"#),
            Err(PlatformError::InvalidCode)
        ));
        assert!(matches!(
            parse_code2session(br#"{"errcode":-1,"errmsg":"system error"}"#),
            Err(PlatformError::Busy)
        ));
        assert!(matches!(
            parse_code2session(br#"{"openid":"o\n1","session_key":"k"}"#),
            Err(PlatformError::BadResponse(_))
        ));
        assert!(matches!(
            parse_code2session(b"<html>"),
            Err(PlatformError::BadResponse(_))
        ));
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        assert_eq!(renew_after(7200), Duration::from_mins(115));
        assert_eq!(renew_after(601), Duration::from_secs(301));
        assert_eq!(renew_after(600), Duration::from_mins(5));
        assert_eq!(renew_after(300), Duration::from_secs(150));
        assert_eq!(renew_after(1), Duration::from_millis(500));
        assert_eq!(renew_after(0), Duration::ZERO);
    }

    #[test]
    fn phone_answers_parse_and_watermarks_are_checked() {
        let ok = br#"{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000",
            "purePhoneNumber":"13800138000","countryCode":"86",
            "watermark":{"timestamp":1637744274,"appid":"wx1"}}}"#;
        assert_eq!(
            parse_phone_response(ok, "wx1").unwrap().masked(),
            "138****8000"
        );
        assert!(matches!(
            parse_phone_response(ok, "wx2"),
            Err(PlatformError::BadResponse(_))
        ));
        assert!(matches!(
            parse_phone_response(br#"{"errcode":40029,"errmsg":"invalid code"}"#, "wx1"),
            Err(PlatformError::InvalidCode)
        ));
        assert!(matches!(
            parse_phone_response(br#"{"errcode":40001,"errmsg":"invalid credential"}"#, "wx1"),
            Err(PlatformError::Api { errcode: 40001, .. })
        ));
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let s = || SecretString::from("s");
        let t = Duration::from_secs(1);
        assert!(WeChatClient::new("http://api.example.com", "wx1", s(), t).is_err());
        assert!(WeChatClient::new("http://127.0.0.1:9", "wx1", s(), t).is_ok());
        assert!(WeChatClient::new("https://api.weixin.qq.com", "wx1", s(), t).is_ok());
        assert!(WeChatClient::new("https://api.weixin.qq.com", "wx 1", s(), t).is_err());
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let c = WeChatClient::new(
            "https://api.weixin.qq.com",
            "wx1",
            SecretString::from("topsecret"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
