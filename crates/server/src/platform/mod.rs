//! Platform login on the server side: the mini-program sends only its one-time login `code`; the
//! server exchanges it for the user's identity and `session_key` with the platform.
//!
//! [`PlatformClient`] is the seam: [`wechat::WeChatClient`] speaks WeChat's `jscode2session`
//! over HTTPS; [`fake`] is a local server speaking the same protocol and error codes for tests
//! and `serve --dev`. Alipay and Douyin follow behind the same trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use secrecy::SecretString;

pub mod fake;
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
#[derive(Debug)]
pub struct PlatformSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: SecretString,
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
    /// The platform answered something that is not a valid response.
    #[error("unexpected response: {0}")]
    BadResponse(String),
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
            session_key: SecretString::from("c2Vzc2lvbmtleQ=="),
        };
        assert!(!format!("{s:?}").contains("c2Vzc2lvbmtleQ"));
    }
}
