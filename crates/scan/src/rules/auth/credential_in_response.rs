use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Labels, SourceKind, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A cloud function or backend handler that sends a server credential back to the client:
    /// its return value, `res.json(...)` / `res.send(...)` or `ctx.body = ...` holds
    /// - the platform's app-wide `access_token` (the answer of `cgi-bin/token` or
    ///   `cgi-bin/stable_token`, passed through or picked out);
    /// - a secret by its name: an AppSecret, a cloud `SecretKey`, an API or signing secret;
    /// - a password or password hash (`{ password: user.password }`, a field named like one).
    ///
    /// The caller's own session token (`{ token }`) is not a server credential and is not
    /// reported; the `session_key` is A004's.
    ///
    /// ## Why it matters
    /// The `access_token` lets its holder call every server API of the mini-program (send
    /// messages to all users, read and change its data) until it expires; the client is any
    /// user. A secret or key returned once is in the hands of whoever called. Password hashes
    /// are cracked offline, and a weak scheme (MD5, SHA-1) gives the password in seconds.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async () => {
    ///   const res = await axios.get(`https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=${APPID}&secret=${SECRET}`)
    ///   return res.data
    /// }
    /// ```
    ///
    /// ## Fix
    /// Keep the `access_token` and every secret on the server: call the platform API on the
    /// server and return only its result. Return user rows through an explicit list of public
    /// fields, never the password column.
    ///
    /// ## References
    /// - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    /// - CWE-522: Insufficiently Protected Credentials
    /// - WeChat: `getAccessToken` ("the `access_token` must be kept on the server")
    pub struct CredentialInResponse {
        code: "A010",
        name: "credential-in-response",
        category: Auth,
        severity: High,
        confidence: Medium,
        cwe: [200, 522],
        summary: "Server credential (access_token, secret key, password hash) returned to the client",
    }
}

impl Rule for CredentialInResponse {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if !cx.is_server() {
            return;
        }
        let Event::Respond(r) = event else { return };
        let wanted = Labels::SECRET | Labels::PASSWORD;
        if !r.value.deep_labels().intersects(wanted) {
            return;
        }
        let Some((path, labels)) = field_path(r.value, wanted, 0) else {
            return;
        };
        let what = if labels.contains(Labels::PASSWORD) {
            msg!("A010.password")
        } else {
            msg!("A010.secret")
        };
        cx.report(
            &Self::META,
            r.span,
            msg!(
                "A010.returned",
                what = what,
                path = path,
                via = r.via_said()
            ),
        )
        .help(msg!("A010.help"));
    }
}

/// Where in a response the credential sits, and what it is. A whole value carrying the
/// labels (the credential itself returned) is `value`.
fn field_path(v: &Value<'_>, wanted: Labels, depth: u32) -> Option<(String, Labels)> {
    if depth > 4 {
        return None;
    }
    let Kind::Object(o) = &v.kind else {
        let mut l = v.labels & wanted;
        if !v.deep_taint().kinds.contains(SourceKind::NETWORK) {
            l -= Labels::SECRET;
        }
        return (!l.is_empty() && !v.is_constant()).then(|| ("value".to_owned(), l));
    };
    for (k, f) in &o.fields {
        if f.is_constant() {
            continue;
        }
        let named = crate::names::labels_for_name(k) & wanted;
        // A secret carried under another name counts when it is a platform's answer (the
        // access_token); a token the code signs with its own secret is the user's session.
        let mut carried = f.labels & wanted;
        if !f.deep_taint().kinds.contains(SourceKind::NETWORK) {
            carried -= Labels::SECRET;
        }
        if !(named | carried).is_empty() {
            return Some((k.to_string(), named | carried));
        }
        if let Some((inner, l)) = field_path(f, wanted, depth + 1) {
            return Some((format!("{k}.{inner}"), l));
        }
    }
    None
}
