//! WeChat `code2session`: `GET {base}/sns/jscode2session?appid&secret&js_code&grant_type=
//! authorization_code`, answered with HTTP 200 and either `{openid, session_key, unionid?}` or
//! `{errcode, errmsg}`.
//!
//! The request URL carries the AppSecret, so neither the URL nor a transport error that quotes it
//! is ever logged; the `session_key` of the answer is moved straight into a secret wrapper.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::instrument;

use super::{BoxFuture, LoginCode, PlatformClient, PlatformError, PlatformSession, plausible_id};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";

/// Largest answer read from the platform.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A configuration problem of the WeChat client.
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
}

/// The WeChat mini-program login API.
pub struct WeChatClient {
    http: reqwest::Client,
    endpoint: Url,
    appid: String,
    secret: SecretString,
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
        let base = Url::parse(base_url).map_err(|e| WeChatConfigError::BadUrl(format!("{e}")))?;
        let loopback = match base.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        match base.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(WeChatConfigError::InsecureUrl(base_url.to_owned())),
        }
        if !(1..=64).contains(&appid.len()) || !plausible_id(appid) {
            return Err(WeChatConfigError::BadAppId);
        }
        let endpoint = Url::parse(&format!(
            "{}/sns/jscode2session",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| WeChatConfigError::BadUrl(format!("{e}")))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(base.scheme() == "https")
            .build()
            .map_err(|e| WeChatConfigError::Client(format!("{}", e.without_url())))?;
        Ok(Self {
            http,
            endpoint,
            appid: appid.to_owned(),
            secret,
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
        let mut res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| PlatformError::Transport(format!("{}", e.without_url())))?;
        if !res.status().is_success() {
            return Err(PlatformError::BadResponse(format!(
                "HTTP status {}",
                res.status().as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| PlatformError::Transport(format!("{}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(PlatformError::BadResponse("response too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        parse_code2session(&body)
    }
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
        session_key,
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
