use std::rc::Rc;

use crate::config::ProjectFacts;
use crate::events::{Cx, Event};
use crate::js::authz_spec::{self as spec, Op};
use crate::js::handlers::{self, HandlerKind};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Origin};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Privileged operations a server-side handler performs for any caller:
    /// - a cloud function that writes the operator's collections (staff and admin accounts,
    ///   goods and prices, categories, settings, coupons, shops) with no check of the
    ///   caller's role: the admin check, when there is one, is only in the mini-program's
    ///   pages, and any user can call the function;
    /// - a password changed for an account the client chooses
    ///   (`where({ account: event.account }).update({ data: { password } })`);
    /// - a refund any user can trigger: `cloud.cloudPay.refund(...)`, or `refund(...)` of a
    ///   payment SDK the module imports (`tenpay`, `wechatpay-node-v3`, `alipay-sdk`...);
    /// - mail or SMS sent to a recipient and with content both taken from the event
    ///   (`transporter.sendMail({ to: event.to, html: event.html })`, `sendSms` with the
    ///   phone numbers and template parameters of the event): anyone can send what they want,
    ///   to whom they want, in the app's name. A verification code sent to the number the user
    ///   typed is not reported (the content is the server's);
    /// - a role or privilege flag of the request used as the authorization
    ///   (`if (event.isAdmin)`, `req.body.role === 'admin'`);
    /// - a login done in the mini-program as a query of the cloud database
    ///   (`wx.cloud.database().collection('adminAccount').where({ account, password }).get()`):
    ///   the accounts, passwords included, must be readable by every user for it to work,
    ///   and "logged in" is a flag the client sets for itself, which the cloud functions
    ///   behind the back-office pages cannot see;
    /// - a back office (code under an `admin/`, `manage/`, `dashboard/` or `cms/` folder) that
    ///   verifies JSON Web Tokens with the same key the user-facing code signs users' tokens
    ///   with, and reads no role from them (`.role`, `.isAdmin`, `.permissions` appear nowhere
    ///   in the verifying file): a user's login token is a valid admin token. The keys are
    ///   compared by value when the code gives it (a literal, a constant) and by the
    ///   expression otherwise (`app.config.jwt.secret`).
    ///
    /// A role check is: an allow-list test of the identity (`ADMINS.includes(OPENID)`), a
    /// comparison of the identity with a constant, a record's role field in a condition
    /// (`user.role === 'admin'`), an admin table looked up by the identity, a call named like
    /// `checkAdmin`/`hasPermission`, a role middleware on the route. An owner check of a
    /// loaded record counts too. In Node backends only the request's role flags and password
    /// changes are reported: route tables and middleware chains defined elsewhere may hold the
    /// check.
    ///
    /// ## Why it matters
    /// Cloud functions and routes are callable by every user of the mini-program, whatever
    /// its pages show. Without a server-side role check any user edits prices, deletes staff
    /// accounts, resets an administrator's password and logs in as them, or refunds orders.
    ///
    /// ## Example
    /// ```js
    /// // cloudfunctions/updateGoods/index.js: the page shows the button to admins only
    /// exports.main = async (event) => db.collection('goods').doc(event.id).update({ data: event.goods })
    /// ```
    ///
    /// ## Fix
    /// Check the caller on the server: look the caller's `OPENID` (or session user) up in the
    /// administrators' table and refuse others, before the operation. Sign administrators'
    /// tokens with their own key (or put a role claim in them and check it).
    ///
    /// ## References
    /// - CWE-862: Missing Authorization
    /// - CWE-863: Incorrect Authorization
    /// - CWE-602: Client-Side Enforcement of Server-Side Security
    /// - OWASP API Security Top 10 2023, API5: Broken Function Level Authorization
    pub struct MissingRoleCheck {
        code: "A009",
        name: "missing-role-check",
        category: Auth,
        severity: High,
        confidence: Medium,
        cwe: [862, 863, 602],
        summary: "Privileged operation with no server-side role check, or authorized by a flag from the client",
    }
}

impl Rule for MissingRoleCheck {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, cx: &mut Cx<'_>, facts: &ProjectFacts) {
        let mut done: Vec<(&str, u32)> = Vec::new();
        for v in facts
            .token_keys
            .iter()
            .filter(|k| k.verify && k.admin && !k.role_claim)
        {
            let Some(user) = facts
                .token_keys
                .iter()
                .find(|k| !k.verify && !k.admin && k.key == v.key)
            else {
                continue;
            };
            if done.contains(&(v.file.as_str(), v.span.start)) {
                continue;
            }
            done.push((v.file.as_str(), v.span.start));
            let origin = Origin {
                file: Rc::from(v.file.as_str()),
                start: v.span.start,
                end: v.span.end,
                what: Rc::from("verify"),
            };
            cx.report_at(
                &Self::META,
                &origin,
                msg!("A009.shared-admin-key", file = &*user.file),
            )
            .help(msg!("A009.shared-admin-key-help"));
        }
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if let Event::Call(call) = event {
            client_login_query(cx, call);
            return;
        }
        let Event::Handler(h) = event else { return };
        // Handlers are server code; a cloud function's shape says so even where the
        // discovery took its folder for client code.
        if cx.is_client() && h.kind != HandlerKind::CloudFunction {
            return;
        }
        for f in &h.client_flags {
            cx.report(
                &Self::META,
                f.span,
                msg!("A009.client-flag", flag = &f.what),
            )
            .help(msg!("A009.client-flag-help"));
        }
        if h.guarded() {
            return;
        }
        let cloud = h.kind == HandlerKind::CloudFunction;
        for a in &h.accesses {
            if a.owned || h.collection_owned(a) {
                continue;
            }
            let coll = a.collection.as_deref();
            let password = a.changes_password_by_client_key();
            let privileged_write = cloud
                && handlers::privileged(coll)
                && match a.op {
                    Op::Remove => true,
                    Op::Update | Op::Add => a.writes_client_data(),
                    Op::Read => false,
                };
            if password {
                cx.report(
                    &Self::META,
                    a.span,
                    a.client_key.as_deref().map_or_else(
                        || msg!("A009.password", key = msg!("A009.the-request")),
                        |key| msg!("A009.password", key = key),
                    ),
                )
                .help(msg!("A009.password-help"));
            } else if privileged_write {
                let verb = match a.op {
                    Op::Remove => msg!("A009.deletes"),
                    Op::Add => msg!("A009.adds"),
                    _ => msg!("A009.changes"),
                };
                cx.report(
                    &Self::META,
                    a.span,
                    msg!(
                        "A009.privileged-write",
                        verb = verb,
                        collection = coll.unwrap_or("?")
                    ),
                )
                .help(msg!("A009.privileged-write-help"));
            }
        }
        if cloud {
            for r in &h.refunds {
                cx.report(&Self::META, r.span, msg!("A009.refund", call = &r.what))
                    .help(msg!("A009.refund-help"));
            }
            for r in &h.relays {
                cx.report(&Self::META, r.span, msg!("A009.relay", call = &r.what))
                    .help(msg!("A009.relay-help"));
            }
        }
    }
}

/// A cloud-database query in client code that selects accounts by their password.
fn client_login_query(cx: &mut Cx<'_>, call: &crate::events::CallEvent<'_, '_>) {
    if !cx.is_client() || call.method != Some("where") {
        return;
    }
    if !call.path.is_some_and(|p| p.contains("database()")) {
        return;
    }
    let Some(Kind::Object(o)) = call.arg(0).map(|v| &v.kind) else {
        return;
    };
    let Some((field, _)) = o
        .fields
        .iter()
        .find(|(k, _)| spec::has_word(k, spec::PASSWORD_WORDS))
    else {
        return;
    };
    cx.report(
        &MissingRoleCheck::META,
        call.arg_span(0),
        msg!("A009.client-login", field = &**field),
    )
    .help(msg!("A009.client-login-help"));
}
