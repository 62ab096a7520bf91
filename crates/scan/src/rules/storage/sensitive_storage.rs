use miniguard_report::msg;
use std::sync::LazyLock;

use miniguard_report::Severity;
use regex::Regex;

use crate::events::{CallEvent, Cx, Event};
use crate::js::apis::is_encrypting;
use crate::names::labels_for_name;
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Labels, Sanitized, Value};

crate::declare_rule! {
    /// ## What it finds
    /// Sensitive data written to local storage in plain text: `setStorageSync(key, data)` and
    /// `setStorage({ key, data })` of every mini-program platform (`wx`, `uni`, `Taro`, `tt`,
    /// `swan`, `qq`, and Alipay's `my.setStorageSync({ key, data })` object form), including
    /// compiled receivers (`_taro.default.setStorageSync`) and storage wrappers, and
    /// `localStorage` / `sessionStorage.setItem` in H5 builds.
    ///
    /// The data is sensitive when it carries a password, the `session_key`, an ID card or bank
    /// card number, a secret, a phone number or an authentication token — by the names it
    /// travelled under (`res.data.token`, `form.password`, an object with a `phone` field) — or
    /// when the storage key itself names such data (`'token'`, `'userPassword'`, a
    /// `TOKEN_KEY = 'token'` constant) and the value is not a constant.
    ///
    /// The value is followed through Vuex: `commit('SAVE', { key: 'password', value })` runs
    /// the store's `SAVE` mutation with that payload, so a mutation that stores whatever key it
    /// is given is judged by what each commit passes. Pinia stores likewise: `useStore()` gives
    /// the store `defineStore` describes (a setup store's returned object, an options store's
    /// state and actions), so `store.save('phone', res.data.mobile)` runs the action with that
    /// value. Rows read by a cloud database query whose
    /// condition compares a password (a login done on the client) hold that password.
    ///
    /// Encrypted values (`encrypt(token)`, `CryptoJS.AES.encrypt(...)`), masked values, flags
    /// (`hasLogin: true`), constants and removals are not reported.
    ///
    /// ## Why it matters
    /// Mini-program storage is a plain file in the app's sandbox: it is readable on rooted or
    /// jailbroken phones, in device backups, through the developer tools on a shared machine and
    /// by any script of the same mini-program (including third-party plugins and web-view H5
    /// pages using `localStorage`). A stored password or `session_key` outlives the session and
    /// lets whoever reads it log in as the user or decrypt the user's data. Tokens and phone
    /// numbers are less critical but still personal data that should not sit unprotected.
    ///
    /// ## Severity
    /// What is stored decides. A password, the `session_key`, a secret key, an ID or bank card
    /// number: `high` in any storage, since each outlives the session. The user's own phone
    /// number: `low`. A login token: `info` in the platform's per-app storage (`setStorage*`),
    /// which is private to the app and the user and is where every platform's login guide puts
    /// the login state; `low` in a web origin's `localStorage` / `sessionStorage`, which any
    /// script running on the origin can read. See `docs/severity.md`.
    ///
    /// ## Example
    /// ```js
    /// wx.setStorageSync('password', this.data.password)      // remember me
    /// my.setStorageSync({ key: 'token', data: res.data.token })
    /// ```
    ///
    /// ## Fix
    /// Never store passwords or the `session_key` on the device: keep the `session_key` on the
    /// server and store only an opaque, short-lived login state. If something sensitive must be
    /// kept, encrypt it with a key that is not shipped in the package, and clear it on logout.
    ///
    /// ## References
    /// - CWE-922: Insecure Storage of Sensitive Information
    /// - CWE-312: Cleartext Storage of Sensitive Information
    /// - WeChat: data caching (`wx.setStorageSync`) is not encrypted
    pub struct SensitiveStorage {
        code: "S001",
        name: "sensitive-storage",
        category: Storage,
        severity: High,
        confidence: Medium,
        cwe: [922, 312],
        summary: "Sensitive data written to local storage in plain text",
    }
}

/// Labels that make a finding High rather than Medium.
const CRITICAL_LABELS: Labels = Labels::PASSWORD
    .union(Labels::SESSION_KEY)
    .union(Labels::ID_NUMBER)
    .union(Labels::BANK_CARD)
    .union(Labels::SECRET);

impl Rule for SensitiveStorage {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(api) = storage_api(cx, call) else {
            return;
        };
        let Some((key, data, data_span)) = key_and_data(call) else {
            return;
        };
        if is_cleared(cx, call, data, data_span) || is_masked(data) {
            return;
        }
        let data_labels = data.deep_labels();
        let key_text = key
            .and_then(|k| k.text.as_deref())
            .map(|t| t.replace(HOLE, "_"));
        let key_labels = key_text.as_deref().map(labels_for_name).unwrap_or_default();
        // A key naming sensitive data only counts when the stored value is not already
        // protected (encrypted or masked values have cleared labels but keep the flag) and is
        // such data at all (a clock reading stored under `token` is a timestamp).
        let protected = data.sanitized.intersects(Sanitized::NOT_SENSITIVE)
            || data
                .api_path()
                .and_then(|p| p.split("()").next())
                .is_some_and(is_encrypting);
        let labels = if protected {
            data_labels
        } else {
            data_labels | key_labels
        };
        if labels.is_empty() {
            return;
        }
        let what = labels.describe();
        let message = key_text.as_deref().map_or_else(
            || msg!("S001.stored", api = api, what = what.clone()),
            |k| {
                msg!(
                    "S001.stored-under",
                    api = api,
                    what = what.clone(),
                    key = short(k)
                )
            },
        );
        let severity = severity_for(labels, api);
        cx.report(&Self::META, call.span, message)
            .severity(severity)
            .help(
                if labels.intersects(Labels::PASSWORD | Labels::SESSION_KEY | Labels::SECRET) {
                    msg!("S001.credential-help")
                } else {
                    msg!("S001.help")
                },
            );
    }
}

/// How bad a stored value is, by what it is and where it is stored. Secrets that outlive the
/// session (passwords, the `session_key`, keys, ID and bank card numbers) are `high` in any
/// storage. A login token in the platform's per-app, per-user storage is the pattern every
/// platform documents (there is no safer persistent store): `info`. In a web origin's
/// `localStorage`/`sessionStorage`, readable by any script on the origin, it is `low`, as is
/// the user's own phone number anywhere.
fn severity_for(labels: Labels, api: &str) -> Severity {
    if labels.intersects(CRITICAL_LABELS) {
        Severity::High
    } else if labels.contains(Labels::PHONE) || api.contains("Storage.setItem") {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// The storage API a call writes with, for messages.
fn storage_api(cx: &Cx<'_>, call: &CallEvent<'_, '_>) -> Option<&'static str> {
    if let Some(name) = call.path.and_then(|p| p.strip_prefix("mp.")) {
        return match name {
            "setStorageSync" => Some("setStorageSync"),
            "setStorage" => Some("setStorage"),
            _ => None,
        };
    }
    if call.method != Some("setItem") {
        return None;
    }
    let callee = cx.text(call.callee_span);
    let callee = callee.trim_end_matches(|c: char| c.is_whitespace());
    if call
        .path
        .is_some_and(|p| p.ends_with("localStorage.setItem"))
        || callee.ends_with("localStorage.setItem")
    {
        Some("localStorage.setItem")
    } else if call
        .path
        .is_some_and(|p| p.ends_with("sessionStorage.setItem"))
        || callee.ends_with("sessionStorage.setItem")
    {
        Some("sessionStorage.setItem")
    } else {
        None
    }
}

/// The key and the data of a storage write: positional `(key, data)` or the `{ key, data }`
/// object form (asynchronous `setStorage` everywhere, Alipay's `setStorageSync` too).
fn key_and_data<'e, 'a>(
    call: &'e CallEvent<'e, 'a>,
) -> Option<(
    Option<&'e Value<'a>>,
    &'e Value<'a>,
    Option<crate::events::Span>,
)> {
    let first = call.arg(0)?;
    if let Some(data) = first.field("data")
        && (first.field("key").is_some() || call.args.len() == 1)
    {
        return Some((first.field("key"), data, None));
    }
    let data = call.arg(1)?;
    Some((Some(first), data, Some(call.arg_span(1))))
}

/// `data: null` in an object literal.
static EMPTY_DATA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bdata\s*:\s*(null|undefined|void 0|''|""|``)\s*[,}]"#).expect("valid regex")
});

/// Writing nothing: a constant (`''`, `false`), `null`, `undefined`.
fn is_cleared(
    cx: &Cx<'_>,
    call: &CallEvent<'_, '_>,
    data: &Value<'_>,
    span: Option<crate::events::Span>,
) -> bool {
    if data.is_constant() {
        return true;
    }
    let empty = |t: &str| {
        matches!(
            t.trim(),
            "null" | "undefined" | "void 0" | "''" | "\"\"" | "``" | "{}" | "[]"
        )
    };
    if let Some(s) = span {
        return empty(cx.text(s));
    }
    // `{ key: 'token', data: null }`: look at the written property.
    data.taint.is_empty()
        && data.labels.is_empty()
        && data.text.is_none()
        && EMPTY_DATA.is_match(cx.text(call.arg_span(0)))
}

/// A value whose known text shows masking (`phone.slice(0, 3) + '****' + phone.slice(-4)`).
pub(crate) fn is_masked(v: &Value<'_>) -> bool {
    v.text.as_deref().is_some_and(|t| t.contains("**"))
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        s.chars().take(40).collect::<String>() + "…"
    } else {
        s.to_owned()
    }
}
