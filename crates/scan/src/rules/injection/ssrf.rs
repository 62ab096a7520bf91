use crate::events::{CallEvent, Cx, Event};
use crate::js::apis;
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Kind, Sanitized, SourceKind, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A server-side HTTP request (cloud function or Node backend) whose target URL is chosen by
    /// the client: the cloud function `event` or the HTTP request decides the scheme and host of
    /// a call of `axios`, `got`, `node-fetch`/`fetch`, `request`, `superagent`, `needle`,
    /// `urllib`, egg's `ctx.curl` / `app.curl` / `ctx.httpclient.request`, or
    /// `http.get` / `https.request`.
    ///
    /// A URL whose known start already fixes the scheme and host
    /// (`'https://api.example.com/items/' + id`) or is a same-site path (`'/items/' + id`) is
    /// not reported: the client only chooses a path on a fixed server. A URL that starts with an
    /// unknown base read from configuration (`process.env.API + '/x?id=' + id`) is not reported
    /// either, since the base is not the client's.
    ///
    /// ## Why it matters
    /// The server fetches whatever the attacker names, from inside the network: cloud metadata
    /// endpoints (`http://169.254.169.254/`, `http://metadata.tencentyun.com/`) that hand out
    /// temporary credentials, internal admin panels, databases with HTTP interfaces, or other
    /// tenants' services. The response often comes back to the attacker, and the request carries
    /// the server's network position and sometimes its credentials.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   const res = await axios.get(event.imageUrl)   // event.imageUrl = 'http://169.254.169.254/…'
    ///   return res.data
    /// }
    /// ```
    ///
    /// ## Fix
    /// Do not let the client name the host. Keep the host fixed in code and let the client choose
    /// only an identifier; if arbitrary URLs are a feature, resolve the host, reject private,
    /// loopback and link-local addresses, allow only `https:` and a list of expected domains, and
    /// disable redirects (or re-check each hop).
    ///
    /// ## References
    /// - CWE-918: Server-Side Request Forgery (SSRF)
    /// - OWASP Server-Side Request Forgery Prevention Cheat Sheet
    pub struct Ssrf {
        code: "I006",
        name: "ssrf",
        category: Injection,
        severity: High,
        confidence: Medium,
        cwe: [918],
        summary: "Server-side request to a URL chosen by the client",
    }
}

impl Rule for Ssrf {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        if cx.is_client() {
            return;
        }
        let Some((url, idx)) = request_url(call) else {
            return;
        };
        let Some(taint) = url.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty()) else {
            return;
        };
        if cx.is_guarded(&taint) {
            return;
        }
        if !host_controlled(url, cx.text(call.arg_span(idx))) {
            return;
        }
        // One client-chosen host is one flaw, however many requests are sent to it: the fix is
        // to stop taking the host from the client, at its source.
        let group = taint
            .origin
            .as_ref()
            .map(|o| format!("{}:{}:{}", o.file, o.start, o.end));
        let mut reported =
            cx.report_flow(&Self::META, call.arg_span(idx), &taint, msg!("I006.url"));
        if let Some(g) = group {
            reported = reported.group(g);
        }
        reported.help(msg!("I006.help"));
    }
}

/// The URL a request call sends to, with the index of the argument holding it.
fn request_url<'v, 'a>(call: &'v CallEvent<'_, 'a>) -> Option<(&'v Value<'a>, usize)> {
    let path = call.path?;
    if !apis::is_http_request(path, call.method) {
        return None;
    }
    // `needle('get', url)`, `superagent('GET', url)`: the method name comes first.
    let idx = usize::from(
        call.arg(0).and_then(Value::exact_text).is_some_and(|t| {
            matches!(
                t.to_ascii_uppercase().as_str(),
                "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD"
            )
        }) && call.args.len() > 1,
    );
    let arg = call.arg(idx)?;
    match &arg.kind {
        Kind::Object(_) => {
            // Options object: `axios({ url })`, `request({ uri })`, `http.get({ hostname })`.
            for key in ["url", "uri", "baseURL", "prefixUrl", "host", "hostname"] {
                if let Some(v) = arg.field(key)
                    && v.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty())
                        .is_some()
                    && (matches!(key, "host" | "hostname") || host_controlled(v, ""))
                {
                    return Some((v, idx));
                }
            }
            None
        }
        Kind::Func(_) => None,
        _ => Some((arg, idx)),
    }
}

/// Whether the known start of a URL fixes its scheme and host, or makes it a path of the same
/// site: `https://api.example.com/…`, `//cdn.example.com/…`, `/orders/…`, `orders/…`,
/// `?page=…`.
pub(crate) fn host_is_fixed(url: &Value<'_>) -> bool {
    url.exact_text().is_some() || prefix_is_fixed(url.prefix())
}

/// Whether a known URL start fixes the scheme and host or is a same-site path.
pub(crate) fn prefix_is_fixed(p: &str) -> bool {
    let lower = p.to_ascii_lowercase();
    let after_scheme = ["https://", "http://", "wss://", "ws://", "//"]
        .iter()
        .find_map(|s| lower.strip_prefix(s));
    if let Some(rest) = after_scheme {
        // The host must be complete: something, then the start of the path, query or fragment.
        return rest.find(['/', '?', '#', '\\']).is_some_and(|i| i > 0);
    }
    if let Some(rest) = p.strip_prefix('/') {
        // `/x` is same-site; `//x` and `/\x` leave the site.
        return rest.chars().next().is_some_and(|c| c != '/' && c != '\\');
    }
    if p.starts_with('?') || p.starts_with('#') {
        return true;
    }
    // A relative path (`orders/`, `pages/detail/detail?id=`): a `/` before any `:`.
    if p.starts_with("./") || p.starts_with("../") {
        return true;
    }
    match p.find('/') {
        Some(slash) if slash > 0 => p[..slash]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        _ => false,
    }
}

/// Whether the client can choose the scheme and host of a URL value that carries its taint.
///
/// Fixed starts are not; a wholly unknown or wholly client-controlled value is. A value that
/// starts with an unknown part followed by more text (`base + '/items?id=' + id`) is taken to
/// start with a configured base, unless that start is known to be tainted (the string was
/// built from a tainted value at its head, through any number of variables:
/// `u = event.baseUrl || DEFAULT; got(u + '/login')`) or the expression at the sink
/// (`sink_text`) visibly starts with the tainted source itself (`` `${redirect_uri}?code=${code}` ``).
pub(crate) fn host_controlled(url: &Value<'_>, sink_text: &str) -> bool {
    if host_is_fixed(url) {
        return false;
    }
    match url.text.as_deref() {
        None => true,
        Some(t) if t.starts_with(HOLE) && !t.chars().all(|c| c == HOLE) => {
            url.starts_tainted() || starts_with_source(url, sink_text)
        }
        Some(_) => true,
    }
}

/// Whether the sink expression's text begins with the text of the value's taint origin.
fn starts_with_source(url: &Value<'_>, sink_text: &str) -> bool {
    let taint = url.deep_taint();
    let Some(origin) = taint.origin else {
        return false;
    };
    let what = origin.what.trim();
    if what.is_empty()
        || !what
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.'))
    {
        return false;
    }
    let lead = sink_text
        .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | '$' | '{'));
    lead.strip_prefix(what)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}
