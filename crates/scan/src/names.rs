//! What names say about data. Code names what it holds (`token`, `userPwd`, `phone_number`,
//! `idCard`); these names are how the storage and logging rules know a value is sensitive, and
//! how the secrets rules know a string literal is a credential.
//!
//! Names are split into lower-case words (`accessToken` -> `access`, `token`; `ID_CARD_NO` ->
//! `id`, `card`, `no`). A name that also carries a word about presentation or metadata
//! (`showPassword`, `tokenExpire`, `phoneCode`) is not the data itself and gets no label.

use crate::value::Labels;

/// Split an identifier or key into lower-case words at `_`, `-`, `.`, spaces and case changes.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Words that make a name about the data rather than the data itself.
const MODIFIERS: &[&str] = &[
    "show",
    "visible",
    "hidden",
    "hide",
    "placeholder",
    "tip",
    "tips",
    "hint",
    "error",
    "err",
    "msg",
    "message",
    "strength",
    "len",
    "length",
    "rule",
    "rules",
    "label",
    "focus",
    "type",
    "flag",
    "is",
    "has",
    "enable",
    "enabled",
    "disabled",
    "url",
    "uri",
    "expire",
    "expires",
    "expired",
    "expiry",
    "expiration",
    "time",
    "timeout",
    "ttl",
    "at",
    "name",
    "key",
    "keys",
    "field",
    "status",
    "state",
    "valid",
    "invalid",
    "check",
    "need",
    "required",
    "input",
    "btn",
    "button",
    "modal",
    "dialog",
    "code",
    "verify",
    "icon",
    "img",
    "image",
    "pattern",
    "regex",
    "reg",
    "format",
    "mask",
    "masked",
    "count",
    "num2",
    "refresh2",
    "header",
    "prefix",
    "suffix",
    "min",
    "max",
    "limit",
    "reset",
    "forget",
    "forgot",
    "change",
    "update",
    "set",
    "get",
    "remember",
    "save",
    "saved",
    "policy",
    "path",
    "api",
    "router",
    "route",
    "page",
    "view",
    "tab",
    "title",
    "text",
    "desc",
    "width",
    "height",
    "style",
    "class",
    "color",
    "area",
    "country",
    "region",
    "prefix",
    "list",
    "index",
    "idx",
    "id2",
    "bind",
    "binded",
    "bound",
    "verified",
    "cache",
    "storage",
    "result",
    "res",
    "resp",
    "response",
    "callback",
    // A transformed value is no longer the data itself (`passwordHash`, `pwdMd5`, `phoneEnc`).
    "hash",
    "hashed",
    "salt",
    "digest",
    "md5",
    "sha1",
    "sha256",
    "encrypted",
    "encrypt",
    "enc",
    "crypted",
    "cipher",
    "ciphertext",
    // Device facts: `phoneModel`, `mobileBrand`, `phoneSystem`.
    "model",
    "brand",
    "system",
    "platform",
    "version",
];

/// Name endings that make a name a secret key even though `key` is otherwise a modifier
/// (`APP_SECRET_KEY`, `merchantPrivateKey`, `wxPayApiV3Key`).
const SECRET_SUFFIXES: &[&str] = &[
    "secretkey",
    "apikey",
    "privatekey",
    "accesskeysecret",
    "appsecret",
    "mchkey",
    "partnerkey",
    "paykey",
    "apisecret",
    "clientsecret",
    "jwtsecret",
    "apiv3key",
    "signkey",
    "signaturekey",
    "prikey",
];

fn has_modifier(words: &[String]) -> bool {
    words.iter().any(|w| MODIFIERS.contains(&w.as_str()))
}

/// The sensitive-data labels a name gives to the value it holds.
pub fn labels_for_name(name: &str) -> Labels {
    // The evaluator asks about the same few hundred names over and over; classifying a name
    // is pure, so remember the answers (per thread, bounded).
    thread_local! {
        static CACHE: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Labels>> =
            std::cell::RefCell::new(rustc_hash::FxHashMap::default());
    }
    if name.len() > 64 {
        return classify(name);
    }
    if let Some(l) = CACHE.with(|c| c.borrow().get(name).copied()) {
        return l;
    }
    let l = classify(name);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 50_000 {
            c.clear();
        }
        c.insert(Box::from(name), l);
    });
    l
}

fn classify(name: &str) -> Labels {
    let ws = words(name);
    if ws.is_empty() || ws.len() > 5 {
        return Labels::empty();
    }
    let has = |w: &str| ws.iter().any(|x| x == w);
    let joined: String = ws.concat();
    let mut labels = Labels::empty();

    // session_key / sessionKey: the platform session key ("key" is a modifier elsewhere).
    if joined == "sessionkey" || (has("session") && has("key") && ws.len() <= 3) {
        return Labels::SESSION_KEY;
    }
    // Tencent Cloud `SecretId` is the public half of a key pair, like an access key id.
    if joined.ends_with("secretid") {
        return Labels::empty();
    }
    if let Some(suffix) = SECRET_SUFFIXES.iter().find(|s| joined.ends_with(*s)) {
        // Words of the suffix itself (`api`, `key`) are not modifiers here.
        let rest: Vec<String> = ws
            .iter()
            .filter(|w| !suffix.contains(w.as_str()))
            .cloned()
            .collect();
        return if has_modifier(&rest) {
            Labels::empty()
        } else {
            Labels::SECRET
        };
    }
    if has_modifier(&ws) {
        // `accessTokenKey` names the storage key, not the token.
        return Labels::empty();
    }
    if has("password")
        || has("passwd")
        || has("pwd")
        || has("passcode")
        || has("passphrase")
        || has("pass") && ws.len() <= 3
    {
        labels |= Labels::PASSWORD;
    }
    if has("token") || joined == "jwt" || joined == "authorization" || has("ticket") && has("auth")
    {
        labels |= Labels::TOKEN;
    }
    // Session cookies and session ids are bearer credentials too (`3rd_session` is the
    // custom login state of WeChat's documented login flow).
    if has("cookie")
        || has("cookies")
        || matches!(
            joined.as_str(),
            "sessionid" | "jsessionid" | "phpsessid" | "thirdsession" | "3rdsession"
        )
    {
        labels |= Labels::TOKEN;
    }
    if has("secret") {
        labels |= Labels::SECRET;
    }
    if has("phone") || has("mobile") || joined == "tel" || joined == "telephone" || has("cellphone")
    {
        labels |= Labels::PHONE;
    }
    if joined.contains("idcard")
        || joined == "idno"
        || joined == "idnumber"
        || joined.contains("identitycard")
        || joined.contains("identityno")
        || joined.contains("identitynumber")
        || joined == "sfz"
        || joined.contains("sfzh")
        || joined == "certno"
        || joined == "certificateno"
    {
        labels |= Labels::ID_NUMBER;
    }
    if joined.contains("bankcard") || joined.contains("cardno") && has("bank") {
        labels |= Labels::BANK_CARD;
    }
    labels
}

/// Whether a name says its value is a one-time random or a salt, not a credential: a value
/// kept as `pwd` and then sent as `nonce_str` is the request's nonce, whatever the variable
/// that built it was called. The more specific name, the one the value is used under, wins
/// (names only ever add confidence; this one takes back what an earlier name claimed).
pub fn names_one_time_value(name: &str) -> bool {
    let ws = words(name);
    !ws.is_empty()
        && ws.len() <= 3
        && ws
            .iter()
            .any(|w| matches!(w.as_str(), "nonce" | "noncestr" | "salt" | "iv"))
        && classify(name).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("accessToken"), ["access", "token"]);
        assert_eq!(words("ID_CARD_NO"), ["id", "card", "no"]);
        assert_eq!(words("session_key"), ["session", "key"]);
        assert_eq!(words("userPhone2"), ["user", "phone2"]);
    }

    #[test]
    fn one_time_values() {
        assert!(names_one_time_value("nonce_str"));
        assert!(names_one_time_value("nonceStr"));
        assert!(names_one_time_value("salt"));
        assert!(!names_one_time_value("password"));
        assert!(
            !names_one_time_value("nonceToken"),
            "a name that also says token"
        );
        assert!(!names_one_time_value("ivory"));
    }

    #[test]
    fn sensitive_names() {
        assert_eq!(labels_for_name("token"), Labels::TOKEN);
        assert_eq!(labels_for_name("access_token"), Labels::TOKEN);
        assert_eq!(labels_for_name("userPwd"), Labels::PASSWORD);
        assert_eq!(labels_for_name("password"), Labels::PASSWORD);
        assert_eq!(labels_for_name("sessionKey"), Labels::SESSION_KEY);
        assert_eq!(labels_for_name("session_key"), Labels::SESSION_KEY);
        assert_eq!(labels_for_name("phoneNumber"), Labels::PHONE);
        assert_eq!(labels_for_name("mobile"), Labels::PHONE);
        assert_eq!(labels_for_name("idCard"), Labels::ID_NUMBER);
        assert_eq!(labels_for_name("appSecret"), Labels::SECRET);
        assert_eq!(labels_for_name("secretKey"), Labels::SECRET);
        assert_eq!(labels_for_name("authToken"), Labels::TOKEN);
        assert_eq!(labels_for_name("APP_SECRET_KEY"), Labels::SECRET);
        assert_eq!(labels_for_name("merchantPrivateKey"), Labels::SECRET);
        assert_eq!(labels_for_name("wxPayApiV3Key"), Labels::SECRET);
        assert_eq!(labels_for_name("tunnelSignatureKey"), Labels::SECRET);
        assert_eq!(labels_for_name("SIGNATURE_KEY"), Labels::SECRET);
        assert_eq!(labels_for_name("APPSECRET"), Labels::SECRET);
        assert_eq!(labels_for_name("app_secret"), Labels::SECRET);
        assert_eq!(labels_for_name("DB_PASS"), Labels::PASSWORD);
        assert_eq!(labels_for_name("dbPassword"), Labels::PASSWORD);
        assert_eq!(labels_for_name("3rd_session"), Labels::TOKEN);
        assert_eq!(labels_for_name("cookie"), Labels::TOKEN);
        assert_eq!(labels_for_name("sessionId"), Labels::TOKEN);
    }

    #[test]
    fn names_about_the_data_are_not_the_data() {
        for name in [
            "showPassword",
            "passwordVisible",
            "tokenExpire",
            "token_expires_at",
            "phoneCode",
            "TOKEN_KEY",
            "passwordError",
            "phoneAuthBtn",
            "openid",
            "userInfo",
            "nickName",
            "passwordKey",
            "passwordHash",
            "pwdMd5",
            "SecretId",
            "secretKeyName",
            "publicKey",
            "isPass",
            "phoneModel",
            "mobileBrand",
        ] {
            assert_eq!(labels_for_name(name), Labels::empty(), "{name}");
        }
    }
}
