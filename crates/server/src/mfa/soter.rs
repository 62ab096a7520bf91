//! WeChat SOTER biometric verification, server side.
//!
//! The mini-program calls `wx.startSoterAuthentication` with a `challenge` the server issued; the
//! device's TEE signs a `resultJSON` whose `raw` field is that challenge, with a device key (RSA,
//! registered with WeChat for the user's openid). The server checks `raw` itself and has WeChat
//! check the signature: `POST {base}/cgi-bin/soter/verify_signature?access_token=TOKEN` with
//! `{"openid", "json_string", "json_signature"}`, answered `{"errcode": 0, "errmsg": "ok",
//! "is_ok": true}`.
//!
//! The access token comes from `SoterClient::access_token`, a minimal
//! `POST /cgi-bin/stable_token` fetch cached until shortly before it expires; it is one small
//! function so a shared access-token cache can replace it.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

/// Why SOTER verification could not run (a bad signature is `Ok(false)`, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoterError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("WeChat error {errcode}")]
    Api { errcode: i64 },
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

/// The fields of a SOTER `resultJSON` the server reads. Other fields are kept by the signature
/// over the whole string, not parsed.
#[derive(Debug, Deserialize)]
pub struct SoterResult {
    /// The challenge the device signed.
    pub raw: String,
    pub fid: Option<serde_json::Value>,
    pub counter: Option<serde_json::Value>,
    pub tee_n: Option<serde_json::Value>,
    pub tee_v: Option<serde_json::Value>,
    pub fp_n: Option<serde_json::Value>,
    pub fp_v: Option<serde_json::Value>,
    pub cpu_id: Option<serde_json::Value>,
    pub uid: Option<serde_json::Value>,
}

impl SoterResult {
    /// Parses an untrusted `resultJSON` (at most 4 KiB).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > 4096 {
            return None;
        }
        serde_json::from_str(text).ok()
    }
}

/// Calls WeChat's SOTER signature check.
pub struct SoterClient {
    base_url: String,
    appid: String,
    secret: SecretString,
    http: reqwest::Client,
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for SoterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoterClient")
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
}

#[derive(Deserialize)]
struct VerifyAnswer {
    errcode: Option<i64>,
    is_ok: Option<bool>,
}

impl SoterClient {
    /// `base_url` must be `https://`, or `http://` to a loopback address (the fake).
    pub fn new(
        base_url: &str,
        appid: &str,
        secret: SecretString,
        timeout: Duration,
    ) -> Result<Self, SoterError> {
        let parsed = url::Url::parse(base_url).map_err(|e| SoterError::Config(e.to_string()))?;
        let loopback = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(SoterError::Config(
                "the WeChat base URL must be https (http only to loopback)".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SoterError::Config(e.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            secret,
            http,
            token: Mutex::new(None),
        })
    }

    /// The API access token: `POST /cgi-bin/stable_token`, cached until a minute before expiry.
    async fn access_token(&self, force_refresh: bool) -> Result<SecretString, SoterError> {
        let mut cached = self.token.lock().await;
        if !force_refresh
            && let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let res = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base_url))
            .json(&json!({
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret.expose_secret(),
                "force_refresh": force_refresh,
            }))
            .send()
            .await
            .map_err(|e| SoterError::Transport(e.without_url().to_string()))?;
        let answer: TokenAnswer = res
            .json()
            .await
            .map_err(|e| SoterError::BadResponse(e.without_url().to_string()))?;
        match (answer.access_token, answer.errcode.unwrap_or(0)) {
            (Some(token), 0) if !token.is_empty() => {
                let life = Duration::from_secs(answer.expires_in.unwrap_or(7200).max(120) - 60);
                let token = SecretString::from(token);
                *cached = Some((token.clone(), Instant::now() + life));
                Ok(token)
            }
            (_, errcode) => Err(SoterError::Api { errcode }),
        }
    }

    /// Asks WeChat whether `json_signature` is the device's signature of `json_string` for
    /// `openid`. `Ok(false)` for a wrong signature.
    pub async fn verify_signature(
        &self,
        openid: &str,
        json_string: &str,
        json_signature: &str,
    ) -> Result<bool, SoterError> {
        let mut retried = false;
        loop {
            let token = self.access_token(retried).await?;
            let res = self
                .http
                .post(format!("{}/cgi-bin/soter/verify_signature", self.base_url))
                .query(&[("access_token", token.expose_secret())])
                .json(&json!({
                    "openid": openid,
                    "json_string": json_string,
                    "json_signature": json_signature,
                }))
                .send()
                .await
                .map_err(|e| SoterError::Transport(e.without_url().to_string()))?;
            let answer: VerifyAnswer = res
                .json()
                .await
                .map_err(|e| SoterError::BadResponse(e.without_url().to_string()))?;
            match answer.errcode.unwrap_or(0) {
                0 => return Ok(answer.is_ok == Some(true)),
                // The token expired or was replaced: fetch a fresh one once.
                40001 | 42001 if !retried => retried = true,
                errcode => return Err(SoterError::Api { errcode }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_json_is_parsed_defensively() {
        let r = SoterResult::parse(
            r#"{"raw":"abc","fid":"123","counter":5,"tee_n":"TEE","tee_v":"1","fp_n":"fp","fp_v":"2","cpu_id":"c","uid":"1000"}"#,
        )
        .unwrap();
        assert_eq!(r.raw, "abc");
        assert!(SoterResult::parse("{}").is_none());
        assert!(SoterResult::parse("not json").is_none());
        assert!(SoterResult::parse(&format!(r#"{{"raw":"{}"}}"#, "a".repeat(5000))).is_none());
    }
}
