use crate::events::{Cx, Event};
use crate::js::apis;
use crate::rules::{Rule, RuleMeta};
use crate::value::Value;
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A plain `http://` or `ws://` URL that reaches a mini-program network API
    /// (`wx.request`, `uploadFile`, `downloadFile`, `connectSocket`, and the same APIs of
    /// `uni`, `Taro`, `my`, `tt`, `swan`, `qq`), directly or through a base-URL constant kept
    /// in another module, a request wrapper or a template literal.
    ///
    /// ## Why it matters
    /// Unencrypted traffic can be read and changed by anyone on the path: a café Wi-Fi, a
    /// compromised router, an operator. Tokens, phone numbers and orders travel in the clear and
    /// responses can be replaced. The platforms only allow `https://`/`wss://` domains in
    /// production; a plain URL that still ships is either broken or reached with `urlCheck`
    /// turned off.
    ///
    /// Loopback and private-network addresses (`localhost`, `127.0.0.1`, `192.168.x.x`,
    /// `10.x.x.x`) are development setups and are not reported. Every URL of one host is one
    /// finding, at the first place it appears, with the others as related locations.
    ///
    /// ## Severity
    /// `high` where the traffic can really go out in the clear: uni-app and Taro code that is
    /// also built for H5 or App (unless it sits in an `#ifdef MP-…` block), H5 and App builds.
    /// `low` in a native WeChat, Alipay, Douyin, Baidu or QQ mini-program, whose release build
    /// only reaches request domains configured in its console, which must be HTTPS: there the
    /// URL is a bug that breaks the release, not an interception risk (see
    /// `docs/severity.md`).
    ///
    /// ## Example
    /// ```js
    /// const BASE_URL = 'http://api.example.com'
    /// wx.request({ url: BASE_URL + '/orders', success: (res) => {} })
    /// ```
    ///
    /// ## Fix
    /// Serve the API over HTTPS (TLS 1.2 or later) and use `https://` / `wss://` URLs.
    ///
    /// ## References
    /// - CWE-319: Cleartext Transmission of Sensitive Information
    /// - WeChat: network request domain configuration (`request` legal domains must be HTTPS)
    pub struct InsecureHttpEndpoint {
        code: "T001",
        name: "insecure-http-endpoint",
        category: Transport,
        severity: High,
        confidence: High,
        cwe: [319],
        summary: "Plain http:// or ws:// URL used for a mini-program network request",
    }
}

impl Rule for InsecureHttpEndpoint {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(api) = call.path.and_then(|p| p.strip_prefix("mp.")) else {
            return;
        };
        if !apis::is_mp_request(api) {
            return;
        }
        let Some(url) = call.arg(0).and_then(|a| a.field("url")) else {
            return;
        };
        let Some(scheme) = insecure_scheme(url) else {
            return;
        };
        let shown = shown_url(url);
        let sink = cx.origin(call.span, api);
        let r = match &url.text_origin {
            Some(origin) => cx
                .report_at(
                    &Self::META,
                    origin,
                    msg!("T001.plain-via", url = &shown, scheme = scheme, api = api),
                )
                .step(Some(sink), msg!("T001.step-used", api = api)),
            None => cx.report(
                &Self::META,
                call.arg_span(0),
                msg!("T001.plain", url = &shown, scheme = scheme),
            ),
        };
        // Every URL of one plain-HTTP host is one flaw: the host needs TLS.
        r.group(origin_of(url)).help(msg!(
            "T001.help",
            scheme = if scheme == "ws" { "wss" } else { "https" }
        ));
    }
}

/// `Some("http")` or `Some("ws")` when the value's known text starts with a plain scheme and a
/// host that is not a development address.
pub(crate) fn insecure_scheme(url: &Value<'_>) -> Option<&'static str> {
    let prefix = url.prefix();
    let lower = prefix.to_ascii_lowercase();
    let (scheme, rest) = if let Some(r) = lower.strip_prefix("http://") {
        ("http", r)
    } else if let Some(r) = lower.strip_prefix("ws://") {
        ("ws", r)
    } else {
        return None;
    };
    let host_end = rest.find(['/', ':', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    // The scheme decides; the host only matters when it is a development address, which a
    // partly known host (`'http://192.168.' + n`) can already show.
    let partial = host_end == rest.len() && url.exact_text().is_none();
    if is_development_host(host)
        || (partial
            && ["localhost", "127.", "10.", "192.168.", "0.0.0.0"]
                .iter()
                .any(|p| host.starts_with(p)))
    {
        return None;
    }
    Some(scheme)
}

/// `http://host` (scheme and host, lower-cased) of a URL value, as far as it is known.
fn origin_of(url: &Value<'_>) -> String {
    let lower = url.prefix().to_ascii_lowercase();
    let after_scheme = lower.find("://").map_or(0, |i| i + 3);
    let end = lower[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(lower.len(), |i| after_scheme + i);
    lower[..end].to_owned()
}

fn is_development_host(host: &str) -> bool {
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".test")
    {
        return true;
    }
    let octets: Vec<u8> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    if octets.len() == 4 && host.split('.').count() == 4 {
        return matches!(octets[..], [127 | 10, ..] | [192, 168, ..] | [0, 0, 0, 0])
            || (octets[0] == 172 && (16..=31).contains(&octets[1]));
    }
    false
}

fn shown_url(url: &Value<'_>) -> String {
    let t = url.text.as_deref().unwrap_or("");
    let t: String = t.replace(crate::value::HOLE, "…");
    if t.chars().count() > 80 {
        t.chars().take(80).collect::<String>() + "…"
    } else {
        t
    }
}
