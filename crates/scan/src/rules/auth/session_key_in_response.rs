use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Labels, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A login endpoint or cloud function that sends the platform `session_key` back to the
    /// client: a cloud function's return value, `res.json(...)` / `res.send(...)` or
    /// `ctx.body = ...` holding a `session_key` / `sessionKey` field, a variable named like
    /// it, or the whole answer of the code-to-session exchange (`jscode2session`) passed
    /// through (`res.json(wxRes.data)`).
    ///
    /// Responses with only the `openid`, a custom session token (`{ token }`) or an encrypted
    /// value are not reported.
    ///
    /// ## Why it matters
    /// The `session_key` is the key the platform uses to encrypt and sign user data for the
    /// developer's server (phone numbers, user info, share tickets). Once the client has it, a
    /// user can decrypt that data and encrypt forged data of their own, such as someone else's
    /// phone number, which the server then accepts as verified by the platform. The platforms
    /// forbid sending it to the mini-program.
    ///
    /// ## Example
    /// ```js
    /// const { data } = await axios.get(`https://api.weixin.qq.com/sns/jscode2session?appid=${APPID}&secret=${SECRET}&js_code=${code}&grant_type=authorization_code`)
    /// res.json({ openid: data.openid, session_key: data.session_key })
    /// ```
    ///
    /// ## Fix
    /// Store the `session_key` server-side (keyed by your own session id or the `openid`) and
    /// return your own session token. Decrypt `encryptedData` on the server.
    ///
    /// ## References
    /// - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    /// - WeChat: `code2Session` ("the `session_key` must not be sent to the mini-program")
    pub struct SessionKeyInResponse {
        code: "A004",
        name: "session-key-in-response",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [200],
        summary: "Platform session_key returned to the client",
    }
}

impl Rule for SessionKeyInResponse {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if cx.is_client() {
            return;
        }
        let Event::Respond(r) = event else { return };
        if !r.value.deep_labels().contains(Labels::SESSION_KEY) {
            return;
        }
        let what = field_path(r.value, 0).map_or_else(
            || msg!("label.session-key"),
            |path| msg!("A004.field", path = path),
        );
        cx.report(
            &Self::META,
            r.span,
            msg!("A004.returned", what = what, via = r.via_said()),
        )
        .help(msg!("A004.help"));
    }
}

/// Where in an object the session key sits (`session_key`, `data.sessionKey`).
fn field_path(v: &Value<'_>, depth: u32) -> Option<String> {
    if depth > 4 {
        return None;
    }
    let Kind::Object(o) = &v.kind else {
        return None;
    };
    for (k, f) in &o.fields {
        let named =
            crate::names::labels_for_name(k).contains(Labels::SESSION_KEY) && !f.is_constant();
        if named || f.effective_labels().contains(Labels::SESSION_KEY) {
            return Some(k.to_string());
        }
        if let Some(inner) = field_path(f, depth + 1) {
            return Some(format!("{k}.{inner}"));
        }
    }
    None
}
