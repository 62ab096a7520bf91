//! The platform tables: which globals and modules are which APIs, which members are untrusted
//! sources, which calls sanitize. Data, not code spread over rules: a new platform API is a line
//! here.
//!
//! Every API is named by a canonical dotted path. The mini-program namespaces of all platforms
//! (`wx`, `uni`, `Taro`, `my`, `tt`, `swan`, `qq`, `jd`, `ks`) are one namespace, `mp`, since
//! their APIs share names and shapes. A call result appends `()` (`mysql.createPool()`), so
//! methods of returned objects have paths such as `mysql.createPool().query`.

use crate::value::{Sanitized, SourceKind};

/// The canonical API path of a global identifier that is not declared in the module.
pub fn global(name: &str) -> Option<&'static str> {
    Some(match name {
        "wx" | "uni" | "Taro" | "my" | "tt" | "swan" | "qq" | "jd" | "ks" | "dd" | "has" => "mp",
        // uniCloud's server API mirrors WeChat cloud development (`database()`, `callFunction`).
        "uniCloud" => "wxcloud",
        "Page" => "Page",
        "Component" => "Component",
        "App" => "App",
        "Behavior" => "Behavior",
        "getApp" => "getApp",
        "console" => "console",
        "process" => "process",
        "require" => "require",
        "eval" => "eval",
        "Function" => "Function",
        "setTimeout" => "setTimeout",
        "setInterval" => "setInterval",
        "JSON" => "JSON",
        "Math" => "Math",
        "Date" => "Date",
        "performance" => "performance",
        "Number" => "Number",
        "String" => "String",
        "Boolean" => "Boolean",
        "parseInt" => "parseInt",
        "parseFloat" => "parseFloat",
        "encodeURIComponent" => "encodeURIComponent",
        "encodeURI" => "encodeURI",
        "decodeURIComponent" => "decodeURIComponent",
        "escape" => "escape",
        "Promise" => "Promise",
        "Object" => "Object",
        "Array" => "Array",
        "Buffer" => "Buffer",
        "document" => "document",
        "window" => "window",
        "location" => "location",
        "fetch" => "fetch",
        "CryptoJS" => "crypto-js",
        "module" => "module",
        "exports" => "exports",
        _ => return None,
    })
}

/// The canonical API path of a bare module specifier (`require('mysql2/promise')`).
pub fn module(spec: &str) -> String {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    match spec {
        "@tarojs/taro" | "@tarojs/taro-h5" | "@dcloudio/uni-app" | "remax/wechat" | "remax/ali" => {
            "mp".to_owned()
        }
        "wx-server-sdk" | "@cloudbase/node-sdk" | "tcb-admin-node" | "@cloudbase/js-sdk" => {
            "wxcloud".to_owned()
        }
        "mysql2/promise" => "mysql2".to_owned(),
        "fs/promises" => "fs.promises".to_owned(),
        "child_process" | "shelljs" | "execa" | "cross-spawn" => spec.replace('-', "_"),
        "jwt-decode" => "jwt-decode".to_owned(),
        "crypto-js" => "crypto-js".to_owned(),
        _ => {
            if let Some(sub) = spec.strip_prefix("crypto-js/") {
                return format!("crypto-js/{sub}");
            }
            spec.to_owned()
        }
    }
}

/// A relative import of a well-known library copied into the tree (`./utils/md5.js`,
/// `../lib/crypto-js.js`) is treated as that library rather than analysed.
pub fn vendored(spec: &str) -> Option<&'static str> {
    let base = spec.rsplit('/').next()?;
    let stem = base.split('.').next()?.to_ascii_lowercase();
    Some(match stem.as_str() {
        "crypto-js" | "cryptojs" | "crypto" if spec.contains("crypto") => "crypto-js",
        "md5" | "md5-min" => "md5",
        "sha1" => "sha1",
        "jsencrypt" => "jsencrypt",
        "wxbizdatacrypt" => "WXBizDataCrypt",
        "wxparse" => "wxParse",
        "base64" => "base64",
        _ => return None,
    })
}

/// Methods of mini-program APIs that send a request to a URL given as `url` of the first
/// argument.
pub const MP_REQUESTS: &[&str] = &[
    "request",
    "httpRequest",
    "uploadFile",
    "downloadFile",
    "connectSocket",
];

/// Server HTTP client libraries (canonical module paths) whose call or methods send a request.
pub const HTTP_CLIENTS: &[&str] = &[
    "axios",
    "got",
    "node-fetch",
    "fetch",
    "request",
    "request-promise",
    "request-promise-native",
    "superagent",
    "needle",
    "urllib",
    "undici",
    "phin",
    "centra",
    "bent",
    "ky",
    "cross-fetch",
    "isomorphic-fetch",
];

/// Methods of those libraries (and of their instances) that send a request.
pub const HTTP_VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "del", "head", "options", "request", "curl", "fetch",
    "stream", "json",
];

/// Request helpers of server frameworks, by call path (egg's `ctx.curl`, its `httpclient`).
const FRAMEWORK_REQUESTS: &[&str] = &[
    "@ctx.curl",
    "@ctx.app.curl",
    "@controller.app.curl",
    "@ctx.httpclient.request",
    "@ctx.httpclient.curl",
    "@ctx.app.httpclient.request",
    "@ctx.app.httpclient.curl",
    "@controller.app.httpclient.request",
    "@controller.app.httpclient.curl",
    "@controller.httpclient.request",
    "@controller.httpclient.curl",
    "http.get",
    "https.get",
    "http.request",
    "https.request",
];

/// Whether a call path sends a server-side HTTP request: a client library called directly or by
/// a verb (`axios(url)`, `got.post(url)`), a verb of one of its instances
/// (`axios.create().get(url)`), or a framework's request helper (`ctx.curl(url)`).
pub fn is_http_request(path: &str, method: Option<&str>) -> bool {
    let base = path.split('.').next().unwrap_or(path);
    if HTTP_CLIENTS.contains(&base) {
        if !path.contains("().") {
            let rest = path[base.len()..].trim_start_matches('.');
            return rest.is_empty() || HTTP_VERBS.contains(&rest) || rest == "default";
        }
        return method
            .is_some_and(|m| HTTP_VERBS.contains(&m) && path.ends_with(&format!("().{m}")));
    }
    FRAMEWORK_REQUESTS.contains(&path)
}

/// Mini-program APIs that read what the user typed or picked, by success-callback result.
pub const MP_USER_INPUT: &[&str] = &["showModal", "getClipboardData", "chooseMessageFile"];

/// Location APIs that `app.json` must declare in `requiredPrivateInfos`.
pub const MP_PRIVATE_INFOS: &[&str] = &[
    "getLocation",
    "getFuzzyLocation",
    "onLocationChange",
    "startLocationUpdate",
    "startLocationUpdateBackground",
    "chooseLocation",
    "choosePoi",
    "chooseAddress",
];

/// The taint a member read `object.prop` gets when `object` is a request-like API object.
///
/// `@req` is an Express/Nest request, `@ctx` a Koa/Egg context, `@koareq` a Koa request.
pub fn member_source(object_path: &str, prop: &str) -> Option<SourceKind> {
    match object_path {
        "@req" | "@koareq" => match prop {
            "body" | "query" | "params" | "headers" | "cookies" | "signedCookies" | "url"
            | "originalUrl" | "path" | "hostname" | "files" | "file" | "rawBody" | "search"
            | "querystring" | "href" => Some(SourceKind::HTTP_REQUEST),
            _ => None,
        },
        "@ctx" => match prop {
            "query" | "params" | "headers" | "header" | "cookies" | "url" | "originalUrl"
            | "path" | "querystring" | "href" | "search" | "host" | "hostname" => {
                Some(SourceKind::HTTP_REQUEST)
            }
            _ => None,
        },
        "@event" => None,
        // H5 pages (uni-app/Taro H5 builds): the page URL is whatever the link said.
        "location" | "window.location" | "document.location" => match prop {
            "search" | "hash" | "href" => Some(SourceKind::PAGE_OPTIONS),
            _ => None,
        },
        "document" => {
            matches!(prop, "URL" | "documentURI" | "referrer").then_some(SourceKind::PAGE_OPTIONS)
        }
        "window" => (prop == "name").then_some(SourceKind::PAGE_OPTIONS),
        // Taro's `Current.router.params` (`import { Current } from '@tarojs/taro'`).
        "mp.Current.router" => (prop == "params").then_some(SourceKind::PAGE_OPTIONS),
        _ => None,
    }
}

/// Members of a request-like object that are themselves request-like objects.
pub fn member_object(object_path: &str, prop: &str) -> Option<&'static str> {
    match (object_path, prop) {
        ("@ctx", "request") => Some("@koareq"),
        ("@ctx", "req") => Some("@req"),
        ("@ctx", "response" | "res") => Some("@res"),
        ("@controller", "ctx") => Some("@ctx"),
        ("@req", "res") => Some("@res"),
        _ => None,
    }
}

/// Methods of request objects that return request data (`req.get('x')`, `req.param('id')`).
pub fn method_source(object_path: &str, method: &str) -> Option<SourceKind> {
    match (object_path, method) {
        ("@req", "get" | "header" | "param" | "cookies")
        | ("@ctx", "get" | "cookies")
        | ("@ctx.cookies", "get") => Some(SourceKind::HTTP_REQUEST),
        _ => None,
    }
}

/// What a call of a known function does to its argument's taint.
pub enum Sanitizer {
    /// A number or boolean comes out: nothing of the input's text survives.
    Clean,
    /// The output is safe for some sinks.
    Flags(Sanitized),
    /// A clock reading comes out: a time, never a credential or personal data.
    Clock,
}

/// Sanitizers by call path or, for helpers users write themselves, by function name.
pub fn sanitizer(path: Option<&str>, name: Option<&str>) -> Option<Sanitizer> {
    if let Some(p) = path {
        let s = match p {
            "Date.now" | "Date().getTime" | "Date().valueOf" | "performance.now" => {
                Sanitizer::Clock
            }
            "parseInt" | "parseFloat" | "Number" | "Boolean" | "Number.parseInt"
            | "Number.parseFloat" | "Math.floor" | "Math.round" | "Math.ceil" | "Math.abs"
            | "Math.max" | "Math.min" | "Number.isInteger" | "isNaN" | "Array.isArray" => {
                Sanitizer::Clean
            }
            "encodeURIComponent"
            | "escape"
            | "querystring.escape"
            | "qs.stringify"
            | "querystring.stringify" => Sanitizer::Flags(
                Sanitized::URL
                    | Sanitized::HTML
                    | Sanitized::SHELL
                    | Sanitized::PATH
                    | Sanitized::PRIMITIVE,
            ),
            "mysql.escape" | "mysql2.escape" | "sqlstring.escape" | "mysql.escapeId"
            | "mysql2.escapeId" | "sqlstring.escapeId" | "pg-format" | "pg.escapeLiteral"
            | "pg-escape" => Sanitizer::Flags(Sanitized::SQL | Sanitized::PRIMITIVE),
            // Placeholders are filled escaped: only the template's own taint remains.
            "mysql.format" | "mysql2.format" | "sqlstring.format" => {
                Sanitizer::Flags(Sanitized::PRIMITIVE)
            }
            // Strips `$`-keys: no query operators survive.
            "mongo-sanitize" | "express-mongo-sanitize.sanitize" => {
                Sanitizer::Flags(Sanitized::PRIMITIVE)
            }
            "path.basename" => Sanitizer::Flags(Sanitized::PATH | Sanitized::PRIMITIVE),
            "shell-quote.quote" | "shell_escape" | "shescape.quote" => {
                Sanitizer::Flags(Sanitized::SHELL | Sanitized::PRIMITIVE)
            }
            "xss" | "dompurify.sanitize" | "DOMPurify.sanitize" | "sanitize-html"
            | "escape-html" | "he.encode" | "he.escape" | "lodash.escape" | "_.escape"
            | "validator.escape" | "xss.filterXSS" => {
                Sanitizer::Flags(Sanitized::HTML | Sanitized::PRIMITIVE)
            }
            "String" => Sanitizer::Flags(Sanitized::PRIMITIVE),
            // A BSON ObjectId is a value, never an operator object (it throws on anything but
            // 24 hex digits or 12 bytes). The id itself is still the caller's choice.
            _ if ["mongodb.", "mongoose.", "bson.", "mongojs.", "monk."]
                .iter()
                .any(|m| p.starts_with(m))
                && p.rsplit('.')
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case("objectid")) =>
            {
                Sanitizer::Flags(Sanitized::PRIMITIVE)
            }
            // A helper by name: the name at the call, else the name it was exported under
            // (`var t = require("./crypto").encryptLocal; t(x)`, as minifiers write it).
            _ => {
                return name.and_then(|n| sanitizer(None, Some(n))).or_else(|| {
                    p.trim_end_matches("()")
                        .rsplit('.')
                        .next()
                        .filter(|last| Some(*last) != name && *last != p)
                        .and_then(|last| sanitizer(None, Some(last)))
                });
            }
        };
        return Some(s);
    }
    let n = name?.to_ascii_lowercase();
    if matches!(
        n.as_str(),
        "escapehtml" | "htmlescape" | "encodehtml" | "sanitizehtml" | "filterxss" | "escapexss"
    ) {
        return Some(Sanitizer::Flags(Sanitized::HTML | Sanitized::PRIMITIVE));
    }
    // A method named `escape` is a SQL driver's (`pool.escape`, egg `app.mysql.escape`) or an
    // HTML helper's (egg `ctx.helper.escape`): the developer escaped for the sink at hand.
    if n == "escape" {
        return Some(Sanitizer::Flags(
            Sanitized::SQL | Sanitized::HTML | Sanitized::PRIMITIVE,
        ));
    }
    // `pool.escapeId(x)`, pg `escapeLiteral` / `escapeIdentifier`.
    if matches!(
        n.as_str(),
        "escapesql" | "sqlescape" | "escapeid" | "escapeliteral" | "escapeidentifier"
    ) {
        return Some(Sanitizer::Flags(Sanitized::SQL | Sanitized::PRIMITIVE));
    }
    if n.starts_with("encrypt") || n.ends_with("encrypt") || n == "aesencrypt" || n == "rsaencrypt"
    {
        return Some(Sanitizer::Flags(Sanitized::ENCRYPTED));
    }
    // Display masking helpers: `maskPhone(p)`, `desensitize(id)`, `hideMobile(m)`.
    if n.starts_with("mask")
        || n.ends_with("mask")
        || n.starts_with("desensiti")
        || n.starts_with("tuomin")
        || n.starts_with("hide")
            && ["phone", "mobile", "tel", "card", "idno", "name", "number"]
                .iter()
                .any(|w| n.contains(w))
    {
        return Some(Sanitizer::Flags(Sanitized::MASKED));
    }
    None
}

/// Whether a call (by path or method name) takes a key to decrypt, verify or decode its data
/// (`jwt.verify(token, secret)`, `decryptUserInfo(sessionKey, data, iv)`), so that its result
/// is not the key. (Signing is not: a signed token carries its payload readably.)
pub fn uses_key(path: Option<&str>, method: Option<&str>) -> bool {
    let last = path
        .map(|p| p.trim_end_matches("()"))
        .and_then(|p| p.rsplit('.').next())
        .or(method);
    let Some(last) = last else { return false };
    let n = last.to_ascii_lowercase();
    n.contains("decrypt")
        || n.contains("decipher")
        || n.starts_with("verify")
        || n.ends_with("verify")
        || n.starts_with("decode")
}

/// The argument of a signing call that is its key, which is an input of the signature but not
/// part of the result: `jwt.sign(payload, secret)` and egg's `app.jwt.sign(payload, secret)`
/// (the token carries the payload, never the secret), `crypto.createHmac(alg, key)`, and
/// `crypto.createSign(alg).sign(privateKey)`.
pub fn key_argument(path: Option<&str>, method: Option<&str>, nargs: usize) -> Option<usize> {
    let p = path.map(|p| p.trim_end_matches("()"));
    if p.is_some_and(|p| p.starts_with("crypto.createSign") && p.ends_with(".sign")) {
        return (nargs >= 1).then_some(0);
    }
    if p == Some("crypto.createHmac") {
        return (nargs >= 2).then_some(1);
    }
    let last = p.and_then(|p| p.rsplit('.').next()).or(method)?;
    (last == "sign" && nargs >= 2).then_some(1)
}

/// Whether a call path is an encryption or hashing operation whose output no longer reveals the
/// sensitive input.
pub fn is_encrypting(path: &str) -> bool {
    let p = path.trim_end_matches("()");
    p.starts_with("crypto-js.")
        && (p.ends_with(".encrypt")
            || p.contains(".MD5")
            || p.contains(".SHA")
            || p.contains("Hmac"))
        || p.starts_with("crypto.createHash")
        || p.starts_with("crypto.createHmac")
        || p.starts_with("crypto.createCipher")
        || p == "md5"
        || p == "sha1"
        || p.starts_with("bcrypt")
        || p.starts_with("argon2")
        || p.starts_with("jsencrypt")
        || p.ends_with("encrypt")
}
