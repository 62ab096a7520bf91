use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use miniguard_report::{Msg, msg};

crate::declare_rule! {
    /// ## What it finds
    /// Mini-program code (the part that runs on the user's phone) that calls a platform's
    /// server-only API: the code-to-session exchange (`api.weixin.qq.com/sns/jscode2session`,
    /// `api.q.qq.com/sns/jscode2session`, Douyin `developer.toutiao.com/api/apps/jscode2session`
    /// and `/api/apps/v2/jscode2session`, `minigame.zijieapi.com/mgplatform/api/apps/jscode2session`,
    /// Baidu `getSessionKeyByCode` / `jscode2sessionkey`), the access-token endpoint
    /// (`/cgi-bin/token`), any other `api.weixin.qq.com` / `qyapi.weixin.qq.com` server API, the
    /// WeChat Pay API (`api.mch.weixin.qq.com`) or the Alipay gateway
    /// (`openapi.alipay.com/gateway.do`). Any string in client code naming one of these
    /// endpoints is reported, whether it is requested directly or kept in a config module.
    ///
    /// The same URLs in a cloud function or a Node backend are the intended use and are not
    /// reported, nor is client code calling its own backend (`/api/login`).
    ///
    /// ## Why it matters
    /// These APIs authenticate the caller with the AppSecret, the merchant key or the
    /// application's private key. Calling them from the mini-program means that secret ships
    /// inside the package, where anyone can unpack it and act as the application: mint access
    /// tokens, send messages, read users' data, refund payments. The code-to-session exchange
    /// also hands the `session_key` to the client, which lets a user forge the "encrypted"
    /// phone number or user data the server later decrypts. The platforms also refuse to list
    /// these domains as legal request domains, so the code only works with `urlCheck` off.
    ///
    /// ## Example
    /// ```js
    /// wx.login({ success: ({ code }) => wx.request({
    ///   url: 'https://api.weixin.qq.com/sns/jscode2session',
    ///   data: { appid: APPID, secret: APP_SECRET, js_code: code, grant_type: 'authorization_code' },
    /// }) })
    /// ```
    ///
    /// ## Fix
    /// Send the login `code` to your own server or a cloud function, call the platform API
    /// there with the secret kept in server configuration, and return only your own session
    /// token to the client. In WeChat cloud functions `cloud.getWXContext()` gives the
    /// `OPENID` without any exchange.
    ///
    /// ## References
    /// - CWE-602: Client-Side Enforcement of Server-Side Security
    /// - WeChat: `code2Session` ("must be called from the developer server")
    pub struct ServerApiFromClient {
        code: "A001",
        name: "server-api-from-client",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [602],
        summary: "Server-only platform API called from mini-program client code",
    }
}

/// Server-only endpoints: (pattern in lower case, what it is). First match wins, so specific
/// entries come before the host-wide ones.
/// A phrase of the message tables, made on demand.
type Phrase = fn() -> Msg;

const ENDPOINTS: &[(&str, Phrase)] = &[
    ("/sns/jscode2session", || msg!("A001.wechat-code2session")),
    ("/api/apps/jscode2session", || {
        msg!("A001.douyin-code2session")
    }),
    ("/api/apps/v2/jscode2session", || {
        msg!("A001.douyin-code2session")
    }),
    ("developer.toutiao.com/api/apps/", || {
        msg!("A001.douyin-server-api")
    }),
    ("minigame.zijieapi.com/mgplatform/api/apps/", || {
        msg!("A001.douyin-server-api")
    }),
    ("/nalogin/getsessionkeybycode", || {
        msg!("A001.baidu-code2session")
    }),
    ("/oauth/jscode2sessionkey", || {
        msg!("A001.baidu-code2session")
    }),
    ("/cgi-bin/token", || msg!("A001.access-token")),
    ("/cgi-bin/stable_token", || msg!("A001.access-token")),
    ("openapi.alipay.com/gateway.do", || {
        msg!("A001.alipay-gateway")
    }),
    ("openapi.alipaydev.com/gateway.do", || {
        msg!("A001.alipay-gateway")
    }),
    ("api.mch.weixin.qq.com", || msg!("A001.wechat-pay")),
    ("qyapi.weixin.qq.com", || msg!("A001.wecom")),
    ("api.weixin.qq.com", || msg!("A001.wechat-server-api")),
    ("api.q.qq.com/api/gettoken", || msg!("A001.qq-access-token")),
    ("api.q.qq.com", || msg!("A001.qq-server-api")),
];

impl Rule for ServerApiFromClient {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if !cx.is_client() {
            return;
        }
        let Event::Literal(lit) = event else { return };
        if lit.text.len() > 300 {
            return;
        }
        let lower = lit.text.to_ascii_lowercase();
        let Some((pattern, what)) = ENDPOINTS.iter().find(|(p, _)| matches_endpoint(&lower, p))
        else {
            return;
        };
        let shown: String = lit.text.chars().take(80).collect();
        cx.report(
            &Self::META,
            lit.span,
            if pattern.contains("session") {
                msg!("A001.called-session", url = shown, what = what())
            } else {
                msg!("A001.called", url = shown, what = what())
            },
        )
        .help(msg!("A001.help"));
    }
}

/// The pattern appears as a host (after `//` or at the start) or as a path (starting with `/`).
fn matches_endpoint(text: &str, pattern: &str) -> bool {
    if pattern.starts_with('/') {
        return text.match_indices(pattern).any(|(i, _)| {
            let end = i + pattern.len();
            text[end..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, '?' | '/' | '#' | '&' | ' '))
        });
    }
    text.match_indices(pattern).any(|(i, _)| {
        let before_ok = i == 0 || text[..i].ends_with("//") || text[..i].ends_with('.');
        let end = i + pattern.len();
        let after_ok = pattern.ends_with('/')
            || text[end..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, '/' | '?' | ':' | '#'));
        before_ok && after_ok
    })
}
