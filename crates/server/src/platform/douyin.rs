//! Douyin (`ByteDance`) mini-program login: `POST {base}/api/apps/v2/jscode2session` with JSON
//! `{appid, secret, code, anonymous_code}`, answered with
//! `{"err_no":0,"err_tips":"success","data":{session_key, openid, anonymous_openid, unionid}}`
//! or a non-zero `err_no`:
//!
//! | `err_no` | meaning | [`PlatformError`] |
//! |---|---|---|
//! | 40014 | bad parameters | `Api` |
//! | 40015 | appid error | `Api` |
//! | 40017 | secret error | `Api` |
//! | 40018 | code expired or invalid | `InvalidCode` |
//! | 40019 | `anonymous_code` invalid | `InvalidCode` |
//! | -1 | system error | `Busy` |
//!
//! The secret travels in the body (not the URL); the `session_key` goes straight into a secret
//! wrapper and is kept like WeChat's.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::instrument;

use super::wechat::WeChatConfigError;
use super::{
    BoxFuture, LoginCode, PlatformClient, PlatformError, PlatformSession, endpoint, fetch,
    http_client, plausible_id,
};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://developer.toutiao.com";

/// Maps a Douyin `err_no` (non-zero) to an error.
pub fn from_douyin(err_no: i64, err_tips: Option<&str>) -> PlatformError {
    match err_no {
        40018 | 40019 => PlatformError::InvalidCode,
        -1 => PlatformError::Busy,
        _ => PlatformError::Api {
            errcode: err_no,
            errmsg: err_tips.unwrap_or_default().chars().take(200).collect(),
        },
    }
}

/// The Douyin mini-program login API.
pub struct DouyinClient {
    http: reqwest::Client,
    endpoint: Url,
    appid: String,
    secret: SecretString,
}

impl std::fmt::Debug for DouyinClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DouyinClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

impl DouyinClient {
    /// A client for the API at `base_url` ([`DEFAULT_BASE_URL`] or a fake's URL).
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
        Ok(Self {
            http,
            endpoint: endpoint(&base, "/api/apps/v2/jscode2session")?,
            appid: appid.to_owned(),
            secret,
        })
    }

    #[instrument(skip_all, fields(platform = "douyin"))]
    async fn exchange(&self, code: &LoginCode) -> Result<PlatformSession, PlatformError> {
        let body = serde_json::json!({
            "appid": self.appid,
            "secret": self.secret.expose_secret(),
            "code": code.as_str(),
            "anonymous_code": "",
        });
        let raw = fetch(self.http.post(self.endpoint.clone()).json(&body)).await?;
        parse_jscode2session(&raw)
    }
}

#[derive(Deserialize)]
struct Response {
    err_no: Option<i64>,
    err_tips: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    session_key: Option<SecretString>,
    openid: Option<String>,
    unionid: Option<String>,
}

/// Parses a Douyin `jscode2session` answer.
pub fn parse_jscode2session(body: &[u8]) -> Result<PlatformSession, PlatformError> {
    let r: Response = serde_json::from_slice(body)
        .map_err(|e| PlatformError::BadResponse(format!("not the expected JSON: {e}")))?;
    match r.err_no {
        Some(0) => {}
        Some(n) => return Err(from_douyin(n, r.err_tips.as_deref())),
        None => return Err(PlatformError::BadResponse("err_no missing".into())),
    }
    let Some(Data {
        session_key: Some(session_key),
        openid: Some(openid),
        unionid,
    }) = r.data
    else {
        return Err(PlatformError::BadResponse(
            "openid or session_key missing".into(),
        ));
    };
    if !plausible_id(&openid) {
        return Err(PlatformError::BadResponse("implausible openid".into()));
    }
    let unionid = unionid.filter(|u| !u.is_empty());
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

impl PlatformClient for DouyinClient {
    fn platform(&self) -> &'static str {
        "douyin"
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_err_no_values_map() {
        let ok = parse_jscode2session(
            br#"{"err_no":0,"err_tips":"success","data":{"session_key":"a2V5a2V5a2V5a2V5a2V5aw==",
                "openid":"_000abc-1","anonymous_openid":"","unionid":"u-1"}}"#,
        )
        .unwrap();
        assert_eq!(ok.openid, "_000abc-1");
        assert_eq!(ok.unionid.as_deref(), Some("u-1"));
        assert!(ok.session_key.is_some());
        for (n, invalid) in [(40018, true), (40019, true), (40015, false), (40017, false)] {
            let body = format!(r#"{{"err_no":{n},"err_tips":"x","data":null}}"#);
            let e = parse_jscode2session(body.as_bytes()).unwrap_err();
            assert_eq!(matches!(e, PlatformError::InvalidCode), invalid, "{n}");
        }
        assert!(matches!(
            parse_jscode2session(br#"{"err_no":-1,"err_tips":"system error"}"#),
            Err(PlatformError::Busy)
        ));
        assert!(matches!(
            parse_jscode2session(br#"{"err_no":40014,"err_tips":"bad params"}"#),
            Err(PlatformError::Api { errcode: 40014, .. })
        ));
        assert!(matches!(
            parse_jscode2session(br#"{"err_no":0,"data":{"openid":"o 1","session_key":"k"}}"#),
            Err(PlatformError::BadResponse(_))
        ));
    }
}
