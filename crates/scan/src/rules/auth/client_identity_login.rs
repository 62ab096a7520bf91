use crate::events::{Cx, Event};
use crate::js::handlers::HandlerKind;
use crate::rules::{Rule, RuleMeta};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A cloud function or backend handler that logs in to another service as a user the
    /// client names: an outgoing request to a login or token endpoint (`/api/account/login`,
    /// `loginMethod: 'unionid'`, `/oauth/token`) whose body or query carries an identity
    /// (`unionid`, `openid`, `userId`, `uid`) taken from the event or request, with nothing
    /// that proves it (no password, no one-time or platform login code) and no comparison of
    /// it with the caller's verified identity.
    ///
    /// A login with the identity the platform vouches for (`cloud.getWXContext().OPENID`,
    /// `UNIONID`, the session user) or with the user's own password is not reported.
    ///
    /// ## Why it matters
    /// A cloud function can be called by any user of the mini-program with any event, and a
    /// request body says whatever its sender wants. The function then holds the named user's
    /// token at the other service and acts with it: any caller reads and changes any user's
    /// data there, or pays with their account, by sending their id (ids such as `unionid`
    /// appear in shared links, logs and other apps of the same company).
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   const { unionid, data } = event
    ///   const login = await got(`${BASE}/api/account/login`, {
    ///     method: 'POST',
    ///     body: JSON.stringify({ loginMethod: 'unionid', unionid }),
    ///   })
    ///   // ... acts with JSON.parse(login.body).AccessToken
    /// }
    /// ```
    ///
    /// ## Fix
    /// Take the identity from the platform (`const { UNIONID, OPENID } =
    /// cloud.getWXContext()`) or from the verified session, never from the event or body. If
    /// the other service trusts such logins, keep its endpoint reachable by your server only.
    ///
    /// ## References
    /// - CWE-639: Authorization Bypass Through User-Controlled Key
    /// - CWE-290: Authentication Bypass by Spoofing
    /// - WeChat cloud development: `cloud.getWXContext()` ("the `OPENID` and `UNIONID` are
    ///   filled in by the platform and cannot be forged")
    pub struct ClientIdentityLogin {
        code: "A011",
        name: "client-identity-login",
        category: Auth,
        severity: High,
        confidence: Medium,
        cwe: [639, 290],
        summary: "Another service logged in to as a user identity the client sends",
    }
}

impl Rule for ClientIdentityLogin {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Handler(h) = event else { return };
        // Handlers are server code; a cloud function's shape says so even where the
        // discovery took its folder for client code.
        if cx.is_client() && h.kind != HandlerKind::CloudFunction {
            return;
        }
        // The handler compared the id with the caller's verified identity.
        if h.owner_checked {
            return;
        }
        for s in &h.identity_logins {
            cx.report(&Self::META, s.span, msg!("A011.login", id = &s.what))
                .help(msg!("A011.help"));
        }
    }
}
