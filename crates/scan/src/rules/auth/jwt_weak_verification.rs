use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// JSON Web Token handling that accepts tokens it should reject:
    ///
    /// - the `none` algorithm allowed or used: `jwt.verify(t, key, { algorithms: ['none'] })`,
    ///   `jwt.sign(payload, key, { algorithm: 'none' })`;
    /// - `ignoreExpiration: true` in verify options: stolen or logged-out tokens stay valid
    ///   forever;
    /// - `jwt.verify(token, '')`: an empty secret.
    ///
    /// `algorithms: ['HS256']`, `ignoreExpiration: false` and verify calls without options are
    /// not reported. Only files that use a JWT library are looked at.
    ///
    /// ## Why it matters
    /// A token signed with `none` has no signature: anyone can write one with any user id or
    /// role. An empty key is as good as none for HMAC. Ignoring expiry turns a token leaked in
    /// a log, a screenshot or a shared device into a permanent login.
    ///
    /// ## Example
    /// ```js
    /// const user = jwt.verify(token, SECRET, { algorithms: ['HS256', 'none'], ignoreExpiration: true })
    /// ```
    ///
    /// ## Fix
    /// Pin the algorithm you sign with (`algorithms: ['HS256']` or `['RS256']`), keep the
    /// expiry check, and load a long random secret from configuration.
    ///
    /// ## References
    /// - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    /// - CWE-347: Improper Verification of Cryptographic Signature
    /// - OWASP JSON Web Token Cheat Sheet
    pub struct JwtWeakVerification {
        code: "A006",
        name: "jwt-weak-verification",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [327, 347],
        summary: "JWT verification accepts unsigned, expired or empty-key tokens",
    }
}

impl Rule for JwtWeakVerification {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        match event {
            Event::Literal(lit)
                if lit.text.eq_ignore_ascii_case("none")
                    && matches!(lit.name_hint, Some("algorithms" | "algorithm" | "alg"))
                    && uses_jwt(cx.source) =>
            {
                let message = if lit.name_hint == Some("algorithms") {
                    msg!("A006.algorithms-none")
                } else {
                    msg!("A006.algorithm-none")
                };
                cx.report(&Self::META, lit.span, message)
                    .help(msg!("A006.help"));
            }
            Event::Property(p)
                if p.key == "ignoreExpiration"
                    && p.value.text_origin.is_none()
                    && p.value.taint.is_empty()
                    && p.value.exact_text() == Some("true")
                    && uses_jwt(cx.source) =>
            {
                cx.report(&Self::META, p.value_span, msg!("A006.ignore-expiration"))
                    .help(msg!("A006.help"));
            }
            Event::Call(call)
                if call.path == Some("jsonwebtoken.verify")
                    && call.arg(1).and_then(|k| k.exact_text()) == Some("")
                    && call.arg(1).is_some_and(|k| k.taint.is_empty()) =>
            {
                cx.report(&Self::META, call.arg_span(1), msg!("A006.empty-secret"))
                    .help(msg!("A006.help"));
            }
            _ => {}
        }
    }
}

/// Whether the module uses a JWT library (the option names are common words elsewhere).
fn uses_jwt(source: &str) -> bool {
    ["jsonwebtoken", "jwt", "Jwt", "jose"]
        .iter()
        .any(|n| source.contains(n))
}
