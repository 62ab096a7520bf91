//! The evaluator's questions to the taint specification ([`crate::spec`], `spec/taint.toml`):
//! which globals and modules are which APIs, which members are untrusted sources, which calls
//! sanitize and send requests. The rows are data in the specification; what is here is how a
//! question is put to them (aliases, `.default`, helpers known by name).
//!
//! Every API is named by a canonical dotted path. The mini-program namespaces of all platforms
//! (`wx`, `uni`, `Taro`, `my`, `tt`, `swan`, `qq`, `jd`, `ks`) are one namespace, `mp`, since
//! their APIs share names and shapes. A call result appends `()` (`mysql.createPool()`), so
//! methods of returned objects have paths such as `mysql.createPool().query`.

pub use crate::spec::Sanitizer;
use crate::spec::spec;
use crate::value::SourceKind;

/// The canonical API path of a global identifier that is not declared in the module.
pub fn global(name: &str) -> Option<&'static str> {
    spec().global(name)
}

/// The canonical API path of a bare module specifier (`require('mysql2/promise')`).
pub fn module(spec: &str) -> String {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    if let Some(alias) = self::spec().module_alias(spec) {
        return alias.to_owned();
    }
    spec.to_owned()
}

/// A relative import of a well-known library copied into the tree (`./utils/md5.js`,
/// `../lib/crypto-js.js`) is treated as that library rather than analysed.
pub fn vendored(spec: &str) -> Option<&'static str> {
    let base = spec.rsplit('/').next()?;
    let stem = base.split('.').next()?.to_ascii_lowercase();
    self::spec().vendored(&stem)
}

/// Whether a mini-program API (by its last name) sends a request to `url` of its first
/// argument.
pub fn is_mp_request(name: &str) -> bool {
    spec().requests.mini_program.iter().any(|r| r == name)
}

/// Whether a call path sends a server-side HTTP request: a client library called directly or by
/// a verb (`axios(url)`, `got.post(url)`), a verb of one of its instances
/// (`axios.create().get(url)`), or a framework's request helper (`ctx.curl(url)`).
pub fn is_http_request(path: &str, method: Option<&str>) -> bool {
    let r = &spec().requests;
    let verb = |v: &str| r.http_verbs.iter().any(|x| x == v);
    let base = path.split('.').next().unwrap_or(path);
    if r.http_clients.iter().any(|c| c == base) {
        if !path.contains("().") {
            let rest = path[base.len()..].trim_start_matches('.');
            return rest.is_empty() || verb(rest) || rest == "default";
        }
        return method.is_some_and(|m| verb(m) && path.ends_with(&format!("().{m}")));
    }
    r.framework.iter().any(|f| f == path)
}

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
    spec().member_source(object_path, prop)
}

/// Members of a request-like object that are themselves request-like objects.
pub fn member_object(object_path: &str, prop: &str) -> Option<&'static str> {
    spec().member_object(object_path, prop)
}

/// Methods of request objects and platform APIs that return untrusted data (`req.get('x')`,
/// `req.param('id')`, `wx.getStorageSync(key)`).
pub fn method_source(object_path: &str, method: &str) -> Option<SourceKind> {
    spec().method_source(object_path, method)
}

/// Sanitizers by call path or, for helpers users write themselves, by function name: the name
/// at the call, else the name it was exported under (`var t = require("./crypto").encryptLocal;
/// t(x)`, as minifiers write it).
pub fn sanitizer(path: Option<&str>, name: Option<&str>) -> Option<Sanitizer> {
    let by_name = |n: &str| spec().sanitizer_name(n);
    let Some(p) = path else {
        return name.and_then(by_name);
    };
    spec().sanitizer_call(p).or_else(|| {
        name.and_then(by_name).or_else(|| {
            p.trim_end_matches("()")
                .rsplit('.')
                .next()
                .filter(|last| Some(*last) != name && *last != p)
                .and_then(by_name)
        })
    })
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
