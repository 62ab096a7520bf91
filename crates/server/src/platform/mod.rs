//! Platform login on the server side: the mini-program sends only its one-time login `code`; the
//! server exchanges it for the user's identity and `session_key` with the platform.
//!
//! [`PlatformClient`] is the seam: [`wechat::WeChatClient`] speaks WeChat's `jscode2session`
//! (and the phone-number API) over HTTPS, [`douyin::DouyinClient`] Douyin's `jscode2session`,
//! [`alipay::AlipayClient`] Alipay's `alipay.system.oauth.token` with RSA2 signatures; [`fake`],
//! [`fake_douyin`] and [`fake_alipay`] are local servers speaking the same protocols and error
//! codes for tests and `serve --dev`. [`Platforms`] holds the configured clients by name.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

pub mod alipay;
pub mod douyin;
pub mod fake;
pub mod fake_alipay;
pub mod fake_douyin;
pub mod wechat;

/// A boxed future, so the trait stays object-safe (`Arc<dyn PlatformClient>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A login code as the mini-program sent it, checked at the edge: 1 to 128 characters of
/// `[A-Za-z0-9._:-]`. Codes are single-use credentials, so `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(String);

impl LoginCode {
    /// Parses untrusted input; `None` when it cannot be a code.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginCode(<redacted>)")
    }
}

/// What `code2session` returns. The `session_key` stays on the server, wrapped so it never shows
/// in `Debug` output and is wiped when dropped.
///
/// WeChat and Douyin return a `session_key` (kept, encrypted, to open the user's open data later);
/// Alipay has none (its `access_token` is for calling Alipay's user APIs, which this server does
/// not do, so nothing is kept and the field is `None`).
#[derive(Debug)]
pub struct PlatformSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Option<SecretString>,
}

/// A phone number the platform vouched for. Personal data: `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneInfo {
    /// Country calling code, digits only (`86`).
    pub country_code: String,
    /// The number without the country code, digits only.
    pub pure_phone_number: String,
    /// When the platform produced it (the watermark, unix seconds).
    pub timestamp: u64,
}

impl PhoneInfo {
    /// Parses the phone object WeChat returns (`phone_info` of `getuserphonenumber`, or the
    /// decrypted open data of the old flow): `phoneNumber`, `purePhoneNumber`, `countryCode`,
    /// `watermark.timestamp`. The appid of the watermark is checked by the caller.
    pub fn from_wechat_json(v: &serde_json::Value) -> Option<Self> {
        let digits = |s: &str, max: usize| {
            (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        let pure = v["purePhoneNumber"].as_str().filter(|s| digits(s, 20))?;
        let cc = v["countryCode"].as_str().filter(|s| digits(s, 4))?;
        let timestamp = v["watermark"]["timestamp"].as_u64()?;
        Some(Self {
            country_code: cc.to_owned(),
            pure_phone_number: pure.to_owned(),
            timestamp,
        })
    }

    /// The number with most digits hidden, for answers and the audit log: `138****8000`.
    pub fn masked(&self) -> String {
        mask_phone(&self.pure_phone_number)
    }
}

impl fmt::Debug for PhoneInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneInfo")
            .field("country_code", &self.country_code)
            .field("number", &self.masked())
            .finish_non_exhaustive()
    }
}

/// Masks a phone number: the first 3 and last 4 digits of numbers of 9 digits or more, only the
/// last 2 of shorter ones, `*` for the rest.
pub fn mask_phone(digits: &str) -> String {
    let n = digits.chars().count();
    let (head, tail) = if n >= 9 { (3, 4) } else { (0, n.min(2)) };
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { c } else { '*' })
        .collect()
}

/// Why a login code could not be exchanged. Display text is for logs only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// WeChat 40029: the code is invalid or expired.
    #[error("invalid code (errcode 40029)")]
    InvalidCode,
    /// WeChat 40163: the code was already used.
    #[error("code already used (errcode 40163)")]
    CodeUsed,
    /// WeChat 45011: too many calls.
    #[error("rate limited by the platform (errcode 45011)")]
    RateLimited,
    /// WeChat -1: the platform is busy.
    #[error("platform busy (errcode -1)")]
    Busy,
    /// Any other platform error (bad appid or secret, ...).
    #[error("platform error {errcode}: {errmsg:?}")]
    Api { errcode: i64, errmsg: String },
    /// The platform could not be reached or did not answer in time. Never carries the URL (which
    /// holds the secret).
    #[error("transport: {0}")]
    Transport(String),
    /// The platform answered something that is not a valid response (or one whose signature
    /// does not verify).
    #[error("unexpected response: {0}")]
    BadResponse(String),
    /// This platform has no such API (e.g. phone numbers outside WeChat).
    #[error("not supported by this platform")]
    Unsupported,
}

impl PlatformError {
    /// Maps a WeChat `errcode` (non-zero) to an error.
    pub fn from_wechat(errcode: i64, errmsg: Option<&str>) -> Self {
        match errcode {
            40029 => Self::InvalidCode,
            40163 => Self::CodeUsed,
            45011 => Self::RateLimited,
            -1 => Self::Busy,
            _ => Self::Api {
                errcode,
                errmsg: errmsg.unwrap_or_default().chars().take(200).collect(),
            },
        }
    }

    /// A short, stable reason for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidCode => "invalid_code",
            Self::CodeUsed => "code_used",
            Self::RateLimited => "rate_limited",
            Self::Busy => "platform_busy",
            Self::Api { .. } => "platform_error",
            Self::Transport(_) => "platform_unreachable",
            Self::BadResponse(_) => "platform_bad_response",
            Self::Unsupported => "unsupported",
        }
    }
}

/// Exchanges a login code with a platform.
pub trait PlatformClient: Send + Sync + 'static {
    /// The platform's name as stored with users: `wechat`, `alipay`, `douyin`.
    fn platform(&self) -> &'static str;

    /// Exchanges a one-time login code for the user's identity and session key.
    fn code2session<'a>(
        &'a self,
        code: &'a LoginCode,
    ) -> BoxFuture<'a, Result<PlatformSession, PlatformError>>;

    /// The app's id at the platform (what WeChat's open-data watermarks must name).
    fn appid(&self) -> &str;

    /// Exchanges a phone-number code (WeChat's `getPhoneNumber` button) for the number. Only
    /// WeChat has this; the default answers [`PlatformError::Unsupported`].
    fn phone_number<'a>(
        &'a self,
        code: &'a LoginCode,
    ) -> BoxFuture<'a, Result<PhoneInfo, PlatformError>> {
        let _ = code;
        Box::pin(async { Err(PlatformError::Unsupported) })
    }
}

/// The configured platforms by name (`wechat`, `douyin`, `alipay`). The first one added is the
/// primary ([`Platforms::primary`]).
#[derive(Clone)]
pub struct Platforms {
    by_name: BTreeMap<&'static str, Arc<dyn PlatformClient>>,
    primary: Arc<dyn PlatformClient>,
}

impl Platforms {
    /// Starts with one platform, the primary.
    pub fn new(primary: Arc<dyn PlatformClient>) -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert(primary.platform(), Arc::clone(&primary));
        Self { by_name, primary }
    }

    /// Adds (or replaces) a platform under its own name.
    #[must_use]
    pub fn with(mut self, client: Arc<dyn PlatformClient>) -> Self {
        self.by_name.insert(client.platform(), client);
        self
    }

    /// The platform of this name, if configured.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn PlatformClient>> {
        self.by_name.get(name)
    }

    /// The first platform configured.
    pub fn primary(&self) -> &Arc<dyn PlatformClient> {
        &self.primary
    }

    /// The configured platforms' names.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }
}

/// The platform HTTP client all three share: timeouts, no redirects, https only unless the
/// base URL is a loopback address (the fakes). Returns the client and the parsed base URL.
pub(crate) fn http_client(
    base_url: &str,
    timeout: std::time::Duration,
) -> Result<(reqwest::Client, reqwest::Url), wechat::WeChatConfigError> {
    use wechat::WeChatConfigError;
    let base =
        reqwest::Url::parse(base_url).map_err(|e| WeChatConfigError::BadUrl(format!("{e}")))?;
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
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(base.scheme() == "https")
        .build()
        .map_err(|e| WeChatConfigError::Client(format!("{}", e.without_url())))?;
    Ok((http, base))
}

/// `base` + `path` (the base's own path kept, without a trailing slash).
pub(crate) fn endpoint(
    base: &reqwest::Url,
    path: &str,
) -> Result<reqwest::Url, wechat::WeChatConfigError> {
    reqwest::Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/')))
        .map_err(|e| wechat::WeChatConfigError::BadUrl(format!("{e}")))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Largest answer read from a platform.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Sends a request and reads a 2xx answer of at most 64 KiB. Transport errors never carry the
/// URL (which may hold a secret or an access token).
pub(crate) async fn fetch(req: reqwest::RequestBuilder) -> Result<Vec<u8>, PlatformError> {
    let mut res = req
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
    Ok(body)
}

/// Whether an identifier the platform sent (openid, unionid) looks like one: 1 to 128 characters
/// of `[A-Za-z0-9_-]`. Anything else is refused before it reaches the database or a log.
pub(crate) fn plausible_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_codes_are_checked_and_never_debug_printed() {
        assert!(LoginCode::parse("dev:alice").is_some());
        assert!(LoginCode::parse("081aBcD2e3FgH").is_some());
        assert!(LoginCode::parse("").is_none());
        assert!(LoginCode::parse("a b").is_none());
        assert!(LoginCode::parse("a\nb").is_none());
        assert!(LoginCode::parse(&"x".repeat(129)).is_none());
        let c = LoginCode::parse("secretcode").unwrap();
        assert!(!format!("{c:?}").contains("secretcode"));
    }

    #[test]
    fn wechat_error_codes_map() {
        assert!(matches!(
            PlatformError::from_wechat(40029, None),
            PlatformError::InvalidCode
        ));
        assert!(matches!(
            PlatformError::from_wechat(40163, None),
            PlatformError::CodeUsed
        ));
        assert!(matches!(
            PlatformError::from_wechat(45011, None),
            PlatformError::RateLimited
        ));
        assert!(matches!(
            PlatformError::from_wechat(-1, None),
            PlatformError::Busy
        ));
        assert!(matches!(
            PlatformError::from_wechat(40013, Some("invalid appid")),
            PlatformError::Api { errcode: 40013, .. }
        ));
    }

    #[test]
    fn session_keys_do_not_show_in_debug() {
        let s = PlatformSession {
            openid: "o1".into(),
            unionid: None,
            session_key: Some(SecretString::from("c2Vzc2lvbmtleQ==")),
        };
        assert!(!format!("{s:?}").contains("c2Vzc2lvbmtleQ"));
    }

    #[test]
    fn phones_are_masked_and_parsed_strictly() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_phone("5551234"), "*****34");
        assert_eq!(mask_phone("1"), "1");
        assert_eq!(mask_phone(""), "");
        let v = serde_json::json!({"phoneNumber":"13800138000","purePhoneNumber":"13800138000",
            "countryCode":"86","watermark":{"timestamp":1,"appid":"wx1"}});
        let p = PhoneInfo::from_wechat_json(&v).unwrap();
        assert_eq!(p.masked(), "138****8000");
        assert!(!format!("{p:?}").contains("13800138000"));
        let bad = serde_json::json!({"purePhoneNumber":"138 0013","countryCode":"86",
            "watermark":{"timestamp":1}});
        assert!(PhoneInfo::from_wechat_json(&bad).is_none());
    }
}
