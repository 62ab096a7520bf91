use crate::events::{CallEvent, Cx, Event};
use crate::js::apis;
use crate::names::labels_for_name;
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Labels, SourceKind, Value};
use miniguard_report::Severity;
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A credential sent in the query string of a request URL: a parameter named like a token,
    /// password, secret or session key (`?token=` + token, `&password=${pwd}`,
    /// `?session_key=...`, `?appsecret=...`) whose value is computed at run time, in the URL of
    /// a mini-program request (`wx.request`, `uploadFile`, `downloadFile`, `connectSocket` and
    /// the same APIs of `uni`, `Taro`, `my`, `tt`, `swan`, `qq`) or of a server HTTP client
    /// (axios, request, got, fetch, `http.get`, urllib, superagent, needle, undici). Query
    /// objects count too: axios `params`, request `qs`, got `searchParams`, and the `data` of a
    /// mini-program GET request, which the platform appends to the URL.
    ///
    /// The platforms' own server APIs (`api.weixin.qq.com`, `api.q.qq.com`,
    /// `developer.toutiao.com`, `openapi.baidu.com`, `DingTalk`, Baidu AI...) define
    /// `?access_token=` and `?secret=` in the query themselves and are not reported; nor are
    /// signatures (`sign`), one-time login `code`s, page navigation URLs, or constant values
    /// (hard-coded credentials are the secrets rules' business).
    ///
    /// ## Severity
    /// `medium`; `low` for a server or cloud function sending its own key (from its
    /// configuration, not from a request) to another service over HTTPS, where only that
    /// service's own logs see the URL (no browser history, `Referer` or shared proxy).
    ///
    /// ## Why it matters
    /// URLs are written down everywhere: web server and API gateway access logs, CDN and proxy
    /// logs, monitoring and crash reports, analytics, the developer tools' network panel. A
    /// session token or password in the query string ends up in all of them, readable by
    /// anyone with access to a log, and tokens stay valid long after. Headers and request
    /// bodies are not logged by default.
    ///
    /// ## Example
    /// ```js
    /// wx.request({ url: `${BASE_URL}/user/orders?token=${wx.getStorageSync('token')}` })
    /// ```
    ///
    /// ## Fix
    /// Send tokens in a header (`header: { Authorization: 'Bearer ' + token }`) and passwords
    /// in the body of a POST request.
    ///
    /// ## References
    /// - CWE-598: Use of GET Request Method With Sensitive Query Strings
    /// - OWASP: Information exposure through query strings in URL
    pub struct SecretInUrl {
        code: "T004",
        name: "secret-in-url",
        category: Transport,
        severity: Medium,
        confidence: Medium,
        cwe: [598],
        summary: "Token, password or secret sent in a request URL's query string",
    }
}

/// Labels that make a query parameter a credential.
const CREDENTIALS: Labels = Labels::TOKEN
    .union(Labels::PASSWORD)
    .union(Labels::SECRET)
    .union(Labels::SESSION_KEY);

/// Hosts of platform server APIs that take `access_token` / `secret` in the query by design.
const VENDOR_HOSTS: &[&str] = &[
    "api.weixin.qq.com",
    "qyapi.weixin.qq.com",
    "api.q.qq.com",
    "developer.toutiao.com",
    "minigame.zijieapi.com",
    "open.douyin.com",
    "openapi.baidu.com",
    "spapi.baidu.com",
    "aip.baidubce.com",
    "oapi.dingtalk.com",
    "api.dingtalk.com",
    "graph.facebook.com",
    "openapi.alipay.com",
    "openapi.alipaydev.com",
    "api.mch.weixin.qq.com",
];

/// Paths of the `WeChat` server API, for URLs whose host is kept elsewhere.
const VENDOR_PATHS: &[&str] = &[
    "/cgi-bin/",
    "/sns/",
    "/wxa/",
    "/datacube/",
    "/tcb/",
    "/wxaapi/",
];

impl Rule for SecretInUrl {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        if let Some(api) = path.strip_prefix("mp.") {
            if !apis::is_mp_request(api) {
                return;
            }
            let Some(opts) = call.arg(0) else { return };
            let Some(url) = opts.field("url") else { return };
            if let Some(found) = url_secret(url) {
                report(cx, call, &found, url, false);
                return;
            }
            let get = match opts.field("method") {
                None => true,
                Some(m) => m
                    .exact_text()
                    .is_some_and(|m| m.eq_ignore_ascii_case("get")),
            };
            if api == "request"
                && get
                && !is_vendor(url)
                && let Some(found) = opts.field("data").and_then(object_secret)
            {
                report(cx, call, &found, url, true);
            }
            return;
        }
        if !apis::is_http_request(path, call.method) {
            return;
        }
        let Some(url) = request_url(call) else { return };
        if let Some(found) = url_secret(url) {
            report(cx, call, &found, url, false);
            return;
        }
        if is_vendor(url) {
            return;
        }
        for arg in call.args {
            for key in ["params", "qs", "searchParams", "query"] {
                if let Some(found) = arg.field(key).and_then(object_secret) {
                    report(cx, call, &found, url, true);
                    return;
                }
            }
        }
    }
}

/// The URL of a server HTTP client call: a string argument, or `url`/`uri`/`href`/`path` of an
/// options object.
fn request_url<'v, 'a>(call: &'v CallEvent<'_, 'a>) -> Option<&'v Value<'a>> {
    let first = call.arg(0)?;
    if first.text.is_some() {
        return Some(first);
    }
    ["url", "uri", "href", "path"]
        .iter()
        .find_map(|k| first.field(k))
        .filter(|v| v.text.is_some())
}

/// A credential found in a request: the parameter name and what it holds.
struct Found {
    name: Option<String>,
    labels: Labels,
    /// The credential comes from a request or the client (a user's token), not from the
    /// server's own configuration.
    from_user: bool,
}

/// A query parameter named like a credential with a run-time value, or a credential-labelled
/// value in the query.
fn url_secret(url: &Value<'_>) -> Option<Found> {
    let text = url.text.as_deref()?;
    let (_, rest) = text.split_once('?')?;
    if is_vendor(url) {
        return None;
    }
    let query = rest.split('#').next().unwrap_or(rest);
    for pair in query.split('&') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if name.is_empty() || name.contains(HOLE) || !value.contains(HOLE) {
            continue;
        }
        let labels = labels_for_name(name) & CREDENTIALS;
        if !labels.is_empty() {
            return Some(Found {
                name: Some(name.to_owned()),
                labels,
                from_user: from_user(url),
            });
        }
    }
    let labels = url.deep_labels() & CREDENTIALS;
    if !labels.is_empty() && query.contains(HOLE) {
        return Some(Found {
            name: None,
            labels,
            from_user: from_user(url),
        });
    }
    None
}

fn from_user(v: &Value<'_>) -> bool {
    v.deep_taint()
        .kinds
        .intersects(SourceKind::ATTACKER | SourceKind::STORAGE)
}

/// A field of a query object named like a credential with a run-time value.
fn object_secret(obj: &Value<'_>) -> Option<Found> {
    let o = obj.obj()?;
    o.fields.iter().find_map(|(k, v)| {
        if v.is_constant() {
            return None;
        }
        let labels = labels_for_name(k) & CREDENTIALS;
        (!labels.is_empty()).then(|| Found {
            name: Some(k.to_string()),
            labels,
            from_user: from_user(v),
        })
    })
}

fn is_vendor(url: &Value<'_>) -> bool {
    let text = url.text.as_deref().unwrap_or("").to_ascii_lowercase();
    let known = text.split(HOLE).collect::<Vec<_>>().join(" ");
    if let Some(rest) = known
        .strip_prefix("https://")
        .or_else(|| known.strip_prefix("http://"))
    {
        let host = rest.split(['/', ':', '?', '#', ' ']).next().unwrap_or("");
        if VENDOR_HOSTS
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")))
        {
            return true;
        }
    }
    let path = known.split('?').next().unwrap_or("");
    // A path relative to a client's base URL (got's `prefixUrl`, axios' `baseURL`):
    // `sns/jscode2session` is the platform's `/sns/jscode2session`.
    VENDOR_PATHS
        .iter()
        .any(|p| path.contains(p) || path.starts_with(&p[1..]))
}

fn report(
    cx: &mut Cx<'_>,
    call: &CallEvent<'_, '_>,
    found: &Found,
    url: &Value<'_>,
    query_object: bool,
) {
    let callee = cx.text(call.callee_span);
    let sink = if callee.is_empty() || callee.len() > 40 || callee.contains('\n') {
        call.path.unwrap_or("request").to_owned()
    } else {
        callee.to_owned()
    };
    let shown = shown_url(url);
    let what = found.labels.describe();
    let message = match (&found.name, query_object) {
        (Some(name), false) => msg!(
            "T004.named",
            url = &shown,
            name = name,
            what = what,
            sink = &sink
        ),
        (Some(name), true) => msg!(
            "T004.query-parameter",
            url = &shown,
            name = name,
            what = what,
            sink = &sink
        ),
        (None, _) => msg!("T004.carries", url = &shown, what = what, sink = &sink),
    };
    let span = if call.arg(0).is_some_and(|a| a.text.is_some()) {
        call.arg_span(0)
    } else {
        call.span
    };
    // A server sending its own key to another service over HTTPS: no browser history, Referer
    // or shared proxy sees the URL, only that service's own logs. A user's token forwarded
    // that way lands in a third party's logs.
    let server_to_service = cx.is_server()
        && !found.from_user
        && url
            .text
            .as_deref()
            .is_some_and(|t| t.trim_start().starts_with("https://"));
    cx.report(&SecretInUrl::META, span, message)
        .severity(if server_to_service {
            Severity::Low
        } else {
            SecretInUrl::META.severity
        })
        .help(msg!("T004.help"));
}

fn shown_url(url: &Value<'_>) -> String {
    let t = url.text.as_deref().unwrap_or("").replace(HOLE, "…");
    if t.chars().count() > 80 {
        t.chars().take(80).collect::<String>() + "…"
    } else {
        t
    }
}
