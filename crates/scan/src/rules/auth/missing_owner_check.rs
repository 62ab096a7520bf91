use crate::events::{Cx, Event};
use crate::js::authz_spec::Op;
use crate::js::handlers::{self, HandlerKind};
use crate::rules::{Rule, RuleMeta};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A server-side handler that reads, changes or deletes a record chosen by the client,
    /// with nothing tying the record to the caller: a cloud function's
    /// `db.collection(c).doc(event.id).update(...)` / `.where({ _id: event.id }).remove()`, a
    /// route's `Order.findByPk(req.params.id)` / `Order.destroy({ where: { id } })`, a thinkjs
    /// controller's `this.model('cart').where({ id: this.post('id') }).update(...)`, egg's
    /// `app.mysql.update('orders', ctx.request.body)`.
    ///
    /// The ownership analysis of handlers follows
    /// each handler's client input (`event`, `req.body`/`query`/`params`, `ctx.request.body`,
    /// `ctx.query`, `this.post()`/`this.get()`) and the caller's verified identity
    /// (`cloud.getWXContext().OPENID`, `event.userInfo.openId`, `req.user`, `ctx.state.user`,
    /// `ctx.session`, `this.getLoginUserId()`, `think.userId`, uni-id's `checkToken`). It is
    /// not reported when:
    /// - the selector also holds the identity (`where({ _id: event.id, _openid: OPENID })`);
    /// - the handler loaded a record of the same collection by the identity first;
    /// - the identity is compared with something (`if (order._openid !== OPENID) throw`,
    ///   `if (req.body.userId !== req.user.id) return`),
    ///   passed to a check function, or a role is checked (an allow-list, `user.role ===
    ///   'admin'`, an admin table looked up by the identity, a role middleware on the route);
    /// - the handler is under an admin/back-office folder (their flaw is a missing role
    ///   check, [A009](A009.md)), or the collection is the operator's (goods, staff, settings:
    ///   reported by A009 too).
    ///
    /// What is reported, for precision: deletions; updates that write client data or touch
    /// personal records; reads only of personal records (collections named like orders,
    /// addresses, users, carts, messages, payments, bookings). Reads of a public catalogue
    /// by id (goods, articles) are not flaws.
    ///
    /// A call into another module of the project with client input (egg's
    /// `ctx.service.order.submit(addressId)`, thinkjs `this.service('order')`, a module bound
    /// by `require`/`import`, a nest service injected into the controller) is followed two
    /// calls deep: the service function is analysed with its parameters carrying what the
    /// arguments were, and the caller's checks count for it. Nest controllers' decorated
    /// parameters (`@Body()`, `@Query('id')`, `@Param('id')`) are client input, and
    /// `@UseGuards(...)` on the method or the controller is middleware (a role check when it
    /// names a role, an admin or a permission).
    ///
    /// Also reported: an owner field the server sets that a later spread of client input
    /// overwrites, `{ user_id: ctx.state.user.id, ...ctx.request.body }`, or a middleware
    /// that writes the session's `openId` into the request body and then merges the query
    /// string over it (`body = { ...body, ...ctx.query }`): the client's value wins.
    ///
    /// ## Why it matters
    /// Ids travel to the client (in lists, links, shares) and are easy to guess when they are
    /// sequential. Any user who changes the id in the request reads another user's order with
    /// its name, phone and address, rewrites it, cancels it or deletes it (IDOR, broken
    /// object-level authorization: the first risk of the OWASP API Top 10).
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   const { OPENID } = cloud.getWXContext()
    ///   return db.collection('orders').doc(event.orderId).remove()
    /// }
    /// ```
    ///
    /// ## Fix
    /// Put the caller's identity in the selector (`where({ _id: event.orderId, _openid:
    /// OPENID })`), or load the record and check its owner before acting
    /// (`if (order._openid !== OPENID) throw new Error('forbidden')`).
    ///
    /// ## References
    /// - CWE-639: Authorization Bypass Through User-Controlled Key
    /// - CWE-284: Improper Access Control
    /// - OWASP API Security Top 10 2023, API1: Broken Object Level Authorization
    pub struct MissingOwnerCheck {
        code: "A007",
        name: "missing-owner-check",
        category: Auth,
        severity: High,
        confidence: Medium,
        cwe: [639, 284],
        summary: "Record read, changed or deleted by a client-chosen id with no check that it belongs to the caller",
    }
}

impl Rule for MissingOwnerCheck {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Handler(h) = event else { return };
        if (cx.is_client() && h.kind != HandlerKind::CloudFunction) || h.admin_path {
            return;
        }
        for o in &h.client_overrides {
            cx.report(
                &Self::META,
                o.span,
                msg!("A007.overridden", field = &*o.field, spread = &*o.spread),
            )
            .help(msg!("A007.overridden-help"));
        }
        // Payment notifications are A008's (and a verified one's ids are the platform's);
        // password changes by a client key are A009's.
        if h.guarded() || h.is_payment_notification() || h.verified {
            return;
        }
        for a in &h.accesses {
            let Some(key) = &a.client_key else { continue };
            if a.owned || h.collection_owned(a) || a.changes_password_by_client_key() {
                continue;
            }
            let coll = a.collection.as_deref();
            if handlers::privileged(coll) {
                continue;
            }
            let personal = handlers::personal(coll);
            let (verb, flagged) = match a.op {
                Op::Remove => (msg!("A007.delete"), true),
                Op::Update => (msg!("A007.change"), a.writes_client_data() || personal),
                Op::Read => (msg!("A007.read"), personal),
                Op::Add => (msg!("A007.write"), false),
            };
            if !flagged {
                continue;
            }
            let what = coll.map_or_else(
                || msg!("A007.records"),
                |c| msg!("A007.collection-records", collection = c),
            );
            let place = match h.kind {
                HandlerKind::CloudFunction => msg!("A007.cloud-function"),
                HandlerKind::Route => msg!("A007.handler"),
            };
            cx.report(
                &Self::META,
                a.span,
                msg!(
                    "A007.unowned",
                    method = &a.method,
                    what = what,
                    key = key,
                    place = place,
                    verb = verb
                ),
            )
            .help(msg!("A007.help"));
        }
    }
}
