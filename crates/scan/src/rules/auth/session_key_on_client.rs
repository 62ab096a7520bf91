use crate::events::{Cx, Event};
use crate::names::labels_for_name;
use crate::rules::{Rule, RuleMeta};
use crate::value::Labels;
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Mini-program code (running on the user's phone) that holds the platform `session_key`:
    ///
    /// - reading a `session_key` / `sessionKey` field (`res.data.session_key`,
    ///   `getApp().globalData.sessionKey`);
    /// - keeping it in local storage (`wx.setStorageSync('session_key', ...)`,
    ///   `getStorageSync('sessionKey')`);
    /// - decrypting `encryptedData` on the client: `new WXBizDataCrypt(appId, sessionKey)` (the
    ///   official sample, also when copied into the project), or `decrypt` /
    ///   `CryptoJS.AES.decrypt` with the session key.
    ///
    /// Clients that only send `code`, `encryptedData` and `iv` to their server, and server code
    /// that reads the `session_key`, are not reported.
    ///
    /// ## Why it matters
    /// The `session_key` is the key the platform uses to encrypt and sign user data for the
    /// developer's server: phone numbers (`getPhoneNumber`), user info, run data, share
    /// tickets. Whoever has it can decrypt that data and, worse, encrypt their own: a user who
    /// gets their `session_key` on the client can forge a "platform-verified" phone number or
    /// identity and have the server accept it. The platforms require that it never leave the
    /// developer's server. Decrypting on the client also means the server trusts whatever the
    /// client says the decrypted data was.
    ///
    /// ## Example
    /// ```js
    /// const res = await request('/api/login', { code })
    /// const pc = new WXBizDataCrypt(APP_ID, res.data.session_key)
    /// const { phoneNumber } = pc.decryptData(e.detail.encryptedData, e.detail.iv)
    /// ```
    ///
    /// ## Fix
    /// Keep the `session_key` on the server (in the user's server-side session), send
    /// `encryptedData` and `iv` (or the new `getPhoneNumber` `code`) to the server, decrypt
    /// there and return only what the client needs. Return your own session token to the
    /// client instead of the `session_key`.
    ///
    /// ## References
    /// - CWE-522: Insufficiently Protected Credentials
    /// - WeChat: "the `session_key` must not be sent to the mini-program or exposed" (`code2Session`)
    pub struct SessionKeyOnClient {
        code: "A002",
        name: "session-key-on-client",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [522],
        summary: "Platform session_key handled in mini-program client code",
    }
}

/// Storage APIs whose first argument (or `key`) names the entry.
const STORAGE: &[&str] = &[
    "mp.setStorageSync",
    "mp.getStorageSync",
    "mp.setStorage",
    "mp.getStorage",
    "mp.removeStorageSync",
];

impl Rule for SessionKeyOnClient {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        // A copy of a known library (`utils/WXBizDataCrypt.js`) is reported where it is used,
        // not inside.
        if !cx.is_client() || crate::js::apis::vendored(&cx.file).is_some() {
            return;
        }
        match event {
            // A constant is the name of something (`config.sessionKey = 'APP_SESSION'`), not the key.
            Event::Member(m)
                if is_session_key_name(m.property)
                    && !m
                        .object
                        .field(m.property)
                        .is_some_and(crate::value::Value::is_constant) =>
            {
                let obj = object_text(cx.text(m.span), m.property);
                cx.report(
                    &Self::META,
                    m.span,
                    msg!("A002.read", object = obj, property = m.property),
                )
                .help(msg!("A002.help"));
            }
            Event::Call(call) => {
                let path = call.path.unwrap_or("");
                if STORAGE.contains(&path) {
                    let key = call.arg(0).and_then(|a| {
                        a.exact_text()
                            .or_else(|| a.field("key").and_then(|k| k.exact_text()))
                    });
                    if let Some(key) = key
                        && labels_for_name(key).contains(Labels::SESSION_KEY)
                    {
                        let api = path.trim_start_matches("mp.");
                        cx.report(
                            &Self::META,
                            call.span,
                            msg!("A002.stored", api = api, key = key),
                        )
                        .help(msg!("A002.help"));
                    }
                    return;
                }
                let ctor = call
                    .method
                    .is_some_and(|m| m.eq_ignore_ascii_case("WXBizDataCrypt"))
                    || path.eq_ignore_ascii_case("WXBizDataCrypt")
                    || path.eq_ignore_ascii_case("wxbizdatacrypt.default");
                if ctor {
                    cx.report(&Self::META, call.span, msg!("A002.wxbizdatacrypt"))
                        .help(msg!("A002.help"));
                    return;
                }
                let decrypt = call.method.is_some_and(|m| {
                    let m = m.to_ascii_lowercase();
                    m == "decrypt" || m == "decryptdata" || m == "aesdecrypt" || m == "decryptaes"
                });
                if decrypt
                    && !path.to_ascii_lowercase().starts_with("wxbizdatacrypt")
                    && call
                        .args
                        .iter()
                        .any(|a| a.deep_labels().contains(Labels::SESSION_KEY))
                {
                    cx.report(&Self::META, call.span, msg!("A002.decrypted"))
                        .help(msg!("A002.help"));
                }
            }
            _ => {}
        }
    }
}

fn is_session_key_name(name: &str) -> bool {
    matches!(
        name,
        "session_key" | "sessionKey" | "sessionkey" | "SESSION_KEY" | "session_Key"
    )
}

/// The object part of a member expression's text, shortened (`res.data` of `res.data.session_key`).
fn object_text<'t>(text: &'t str, prop: &str) -> &'t str {
    let obj = text
        .strip_suffix(prop)
        .unwrap_or(text)
        .trim_end_matches(['.', '[', '\'', '"', '?']);
    if obj.is_empty() || obj.len() > 40 || obj.contains('\n') {
        "…"
    } else {
        obj
    }
}
