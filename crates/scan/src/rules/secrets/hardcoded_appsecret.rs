use miniguard_report::msg;
use std::sync::LazyLock;

use regex::Regex;

use crate::events::{Cx, Event};
use crate::names::{labels_for_name, words};
use crate::rules::{Rule, RuleMeta};
use crate::value::Labels;

crate::declare_rule! {
    /// ## What it finds
    /// A mini-program AppSecret (WeChat, QQ, Douyin/Toutiao, Baidu) written in the code: a
    /// 32-character lowercase hexadecimal string bound to a name such as `secret`, `appSecret`,
    /// `app_secret`, `APPSECRET`, `WX_APP_SECRET`, or placed in a URL as `secret=` /
    /// `appsecret=` (a hardcoded `jscode2session` or `access_token` request URL). Settings files
    /// count as code: YAML, `.env`, properties, INI, and settings JSON such as uni-id's
    /// `common/uni-id/config.json` (`"mp-weixin": { "oauth": { "weixin": { "appsecret": … } } }`),
    /// a server's `config.json` or uni-app's `manifest.json` (the App's WeChat login).
    ///
    /// Values read from `process.env` or a config service, placeholders (`'your-app-secret'`,
    /// `'<APPSECRET>'`) and 32-hex strings under other names (`md5`, `hash`, `etag`, `jwtSecret`,
    /// `mchKey` — the latter two are the hardcoded-credential rule's) are not reported, nor are
    /// texts such as uni-id's template value `"weixin appsecret"`.
    ///
    /// ## Why it matters
    /// The AppSecret is the mini-program's master credential: with the `AppID` (which is public)
    /// it exchanges any login `code` for the user's `openid` and `session_key`, obtains the
    /// `access_token` for every server API (sending subscribe messages, reading user data,
    /// generating QR codes), and decrypts user data. In client code it ships to every phone; in
    /// server code it leaks with the repository. It must be reset in the platform console once
    /// exposed.
    ///
    /// ## Example
    /// ```js
    /// const url = 'https://api.weixin.qq.com/sns/jscode2session?appid=wx1234567890abcdef'
    ///   + '&secret=0123456789abcdef0123456789abcdef&grant_type=authorization_code&js_code=' + code
    /// ```
    ///
    /// ## Fix
    /// Reset the AppSecret in the platform console. Keep the new one only on the server (cloud
    /// function environment variable, secrets manager) and call `jscode2session` from there —
    /// or use cloud development's `cloud.getWXContext()` and `cloud.openapi`, which need no
    /// AppSecret at all.
    ///
    /// ## References
    /// - CWE-798: Use of Hard-coded Credentials
    /// - WeChat: `code2Session` must be called from the developer server, never the mini-program
    pub struct HardcodedAppsecret {
        code: "K001",
        name: "hardcoded-appsecret",
        category: Secrets,
        severity: Critical,
        confidence: High,
        cwe: [798],
        summary: "Mini-program AppSecret hardcoded in the code",
    }
}

/// Words that make a `secret` name some other secret than the AppSecret.
const OTHER_SECRETS: &[&str] = &[
    "jwt", "mch", "pay", "api", "partner", "access", "client", "cookie", "session", "hmac", "sign",
    "aes", "des", "encrypt", "crypto", "key", "token", "oss", "cos", "bucket", "sms", "webhook",
    "private", "db", "mysql", "redis", "mongo", "salt", "cipher",
];

/// Whether a name reads as an AppSecret (`secret`, `appSecret`, `WX_APP_SECRET`).
pub(crate) fn is_app_secret_name(name: &str) -> bool {
    if !labels_for_name(name).contains(Labels::SECRET) {
        return false;
    }
    let ws = words(name);
    let joined: String = ws.concat();
    (ws.iter().any(|w| w == "secret") || joined.ends_with("appsecret"))
        && !ws.iter().any(|w| OTHER_SECRETS.contains(&w.as_str()))
}

/// 32 lowercase hexadecimal characters: the AppSecret format.
pub(crate) fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        // Not a run of one character (`000…0`): placeholders.
        && text.bytes().collect::<std::collections::BTreeSet<u8>>().len() > 4
}

static SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[?&](?i:app_?secret|secret)=([0-9a-f]{32})(?:[&#]|$)").expect("valid regex")
});

/// Whether a literal is an AppSecret the rule reports (used by the credential rule to avoid
/// reporting the same literal twice).
pub(crate) fn is_app_secret_literal(text: &str, name_hint: Option<&str>) -> bool {
    name_hint.is_some_and(is_app_secret_name) && is_hex32(text)
        || SECRET_PARAM
            .captures(text)
            .is_some_and(|c| c.get(1).is_some_and(|m| is_hex32(m.as_str())))
}

impl Rule for HardcodedAppsecret {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Literal(lit) = event else { return };
        if !is_app_secret_literal(lit.text, lit.name_hint) {
            return;
        }
        let place = if cx.is_client() {
            msg!("secret.shipped")
        } else {
            msg!("secret.in-source")
        };
        let message = match lit.name_hint.filter(|h| is_app_secret_name(h)) {
            Some(name) if is_hex32(lit.text) => {
                msg!("K001.in-name", name = name, place = place)
            }
            _ => msg!("K001.in-url", place = place),
        };
        // One secret copied into several files is one flaw: one secret to reset.
        cx.report(&Self::META, lit.span, message)
            .group(lit.text)
            .help(msg!("K001.help"));
    }
}
