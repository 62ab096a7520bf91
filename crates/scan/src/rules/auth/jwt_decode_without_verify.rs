use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
use crate::value::{Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Server code (a Node backend or a cloud function) that decodes a JSON Web Token taken
    /// from the request without verifying its signature: `jwt.decode(token)` of
    /// `jsonwebtoken`, `jwtDecode(token)` of `jwt-decode`, `jose.decodeJwt(token)`, where the
    /// token comes from `req.headers.authorization`, a cookie, the body, `ctx.header` or a
    /// cloud function's `event`.
    ///
    /// Not reported: `jwt.verify(token, secret)`; decoding a token the server just created (a
    /// constant or its own `jwt.sign` output); a module that also verifies the token with
    /// `jwt.verify` (decoding first to pick the key by `kid` is a normal pattern); client code,
    /// where `jwt-decode` only reads the expiry of the app's own token.
    ///
    /// ## Why it matters
    /// `decode` only base64-decodes the payload: anyone can write a token with
    /// `{"userId": 1, "role": "admin"}` and any signature, or none. A server that takes the
    /// user id or role from a decoded token accepts whatever identity the caller typed in.
    ///
    /// ## Example
    /// ```js
    /// const token = req.headers.authorization.replace('Bearer ', '')
    /// const { userId } = jwt.decode(token)
    /// ```
    ///
    /// ## Fix
    /// Use `jwt.verify(token, secret, { algorithms: ['HS256'] })` (or `jose.jwtVerify`) and
    /// use only the payload it returns.
    ///
    /// ## References
    /// - CWE-347: Improper Verification of Cryptographic Signature
    /// - OWASP JSON Web Token Cheat Sheet
    pub struct JwtDecodeWithoutVerify {
        code: "A005",
        name: "jwt-decode-without-verify",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [347],
        summary: "JWT from the request decoded without verifying its signature",
    }
}

impl Rule for JwtDecodeWithoutVerify {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if cx.is_client() {
            return;
        }
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        let Some(sink) = spec().sink_by_call(SinkKind::JwtDecode, path) else {
            return;
        };
        // jwt-simple's `decode(token, secret)` verifies unless told not to (third argument).
        if path == "jwt-simple.decode" && call.arg(2).is_none_or(|a| a.exact_text() != Some("true"))
        {
            return;
        }
        let Some(token) = call.arg(sink.first()) else {
            return;
        };
        let Some(taint) = token.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty()) else {
            return;
        };
        if also_verifies(cx.source, cx.text(call.callee_span)) {
            return;
        }
        let callee = cx.text(call.callee_span);
        let callee = if callee.is_empty() || callee.len() > 40 {
            path
        } else {
            callee
        };
        let from = taint.kinds.describe();
        let source = match taint
            .origin
            .as_ref()
            .map(|o| o.what.split_whitespace().collect::<Vec<_>>().join(" "))
        {
            Some(s) if !s.is_empty() && s.len() <= 60 => {
                msg!("A005.named-source", source = s, from = from.clone())
            }
            _ => from.clone(),
        };
        let sink = cx.origin(call.span, "decode");
        cx.report(
            &Self::META,
            call.span,
            msg!("A005.decoded", callee = callee, source = source),
        )
        .step(taint.origin.clone(), msg!("flow.source", from = from))
        .step(Some(sink), msg!("A005.step-decoded"))
        .help(msg!("A005.help"));
    }
}

/// Whether the module also verifies tokens with the same library (`jwt.verify(`, `jwtVerify(`).
fn also_verifies(source: &str, callee: &str) -> bool {
    let receiver = callee.rsplit_once('.').map_or("", |(r, _)| r.trim());
    if !receiver.is_empty() && source.contains(&format!("{receiver}.verify(")) {
        return true;
    }
    source.contains("jwtVerify(")
        || source.match_indices("verify(").any(|(i, _)| {
            i == 0
                || source[..i]
                    .ends_with(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))
        })
}
