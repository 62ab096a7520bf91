use crate::events::{Cx, Event};
use crate::js::authz_spec::{self as spec, Op};
use crate::js::handlers::HandlerKind;
use crate::rules::{Rule, RuleMeta};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Money and value the server takes from the client instead of computing it:
    /// - a payment created for an amount from the request: `cloud.cloudPay.unifiedOrder({
    ///   totalFee: event.payPrice })`, WeChat Pay `transactions_jsapi({ amount: { total:
    ///   req.body.total } })`, an order stored with a price from the request
    ///   (`db.collection('orders').add({ data: { totalPrice: event.totalPrice } })`);
    /// - a balance, credit, point, stock or score changed by a delta the client chose:
    ///   `db.command.inc(event.value)`, `{ $inc: { balance: req.body.amount } }`,
    ///   `increment('credit', { by: ... })` (not reported when the handler checks the caller's
    ///   role: an operator's adjustment);
    /// - a user's stored value (balance, credit, coins, points, score) written from the
    ///   request: `update({ balance: req.body.balance })`, or a new record of a collection of
    ///   users' values (scores, rankings, wallets, accounts) `add({ data: { score: event.score }
    ///   })` (not when the role is checked; not in the operator's collections, see A009);
    /// - an order's state written from the request (`update({ data: { status: event.status }
    ///   })` on orders, payments, bills, trades: `status`, `payStatus`, `isPaid`...), or an
    ///   order stored with every field the request holds (`add({ data: { ...event.data,
    ///   _openid } })`, unless a state the server sets follows the spread): the client
    ///   marks its own order paid instead of the payment notification (not when the handler
    ///   checks the caller's role, nor under an admin folder);
    /// - a cloud function that handles a payment notification (named like `payCallback` /
    ///   `payNotify`, or reading `outTradeNo`, `transactionId`, `resultCode` from its event)
    ///   and marks records paid without verifying the notification (`cloudPay.queryOrder`, a
    ///   signature check), in its database or by a write request to the backend that keeps
    ///   the orders (`got(base + '/order/save', { method: 'POST', ... })`). A cloud function
    ///   can be called by any client with any event. A route that reads the notification's
    ///   fields from its body (`req.body.out_trade_no`, `result_code`) and marks records paid
    ///   is reported the same way when nothing verifies the notification in it and no
    ///   middleware runs before it: the notification URL is public.
    ///
    /// Where an amount comes from is told by the same analysis of handlers as A007; the payment
    /// APIs, amount fields and value fields it knows are listed in its specification tables.
    ///
    /// ## Why it matters
    /// The client is the attacker's: a buyer who edits the request pays one cent for any
    /// order, credits their own (or anyone's) balance with any amount, or calls the
    /// notification function directly and gets an unpaid order marked paid.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   return cloud.cloudPay.unifiedOrder({ outTradeNo: event.orderNo, totalFee: event.payPrice, ... })
    /// }
    /// ```
    ///
    /// ## Fix
    /// Compute amounts on the server from the server's own records (the order's goods and
    /// prices read from the database). Change balances only by amounts the server derives,
    /// within bounds. In a payment notification, confirm the payment with the payment
    /// platform (`cloudPay.queryOrder`, the signature of the notification) before acting.
    ///
    /// ## References
    /// - CWE-602: Client-Side Enforcement of Server-Side Security
    /// - CWE-345: Insufficient Verification of Data Authenticity
    /// - CWE-840: Business Logic Errors
    /// - WeChat Pay: "the merchant must verify the notification's signature and the amount"
    pub struct ClientControlledAmount {
        code: "A008",
        name: "client-controlled-amount",
        category: Auth,
        severity: High,
        confidence: Medium,
        cwe: [602, 345, 840],
        summary: "Payment amount, balance change or payment state taken from the client",
    }
}

impl Rule for ClientControlledAmount {
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
        for s in &h.client_amounts {
            cx.report(
                &Self::META,
                s.span,
                msg!("A008.client-amount", amount = &s.what),
            )
            .help(msg!("A008.client-amount-help"));
        }
        for a in &h.accesses {
            let orders = a
                .collection
                .as_deref()
                .is_some_and(|c| spec::has_word(c, spec::ORDER_COLLECTION_WORDS));
            if !orders || !matches!(a.op, Op::Add | Op::Update) {
                continue;
            }
            if a.op == Op::Add
                && let Some(k) = a
                    .client_data_keys
                    .iter()
                    .find(|k| spec::AMOUNT_FIELDS.contains(&k.as_str()))
            {
                cx.report(&Self::META, a.span, msg!("A008.order-amount", field = k))
                    .help(msg!("A008.order-amount-help"));
                continue;
            }
            // The order's state written from the request: the client marks its own order
            // paid. An operator's handler (a role check) may set it; a payment notification is
            // judged below.
            if h.role_checked || h.admin_path || h.is_payment_notification() {
                continue;
            }
            if let Some(k) = a
                .client_data_keys
                .iter()
                .find(|k| spec::ORDER_STATE_FIELDS.contains(&k.as_str()))
            {
                cx.report(&Self::META, a.span, msg!("A008.order-state", field = k))
                    .help(msg!("A008.order-state-help"));
            } else if a.client_spread {
                cx.report(&Self::META, a.span, msg!("A008.order-whole"))
                    .help(msg!("A008.order-state-help"));
            }
        }
        if !h.role_checked {
            for a in &h.accesses {
                // Changes of existing records; new records only in collections of users'
                // values (a new item's own price or reward is the creator's to choose).
                let value_collection = a
                    .collection
                    .as_deref()
                    .is_some_and(|c| spec::has_word(c, spec::VALUE_COLLECTION_WORDS));
                let relevant = match a.op {
                    Op::Update => true,
                    Op::Add => value_collection,
                    _ => false,
                };
                if !relevant || crate::js::handlers::privileged(a.collection.as_deref()) {
                    continue;
                }
                // `credit: _.inc(x)` is reported as an increment below.
                let Some(k) = a.client_data_keys.iter().find(|k| {
                    spec::has_word(k, spec::STORED_VALUE_WORDS)
                        && !h
                            .increments
                            .iter()
                            .any(|i| i.field.as_deref() == Some(k.as_str()))
                }) else {
                    continue;
                };
                cx.report(&Self::META, a.span, msg!("A008.stored-value", field = k))
                    .help(msg!("A008.stored-value-help"));
            }
            for i in &h.increments {
                if i.field
                    .as_deref()
                    .is_some_and(|f| !spec::has_word(f, spec::VALUE_FIELD_WORDS))
                {
                    continue;
                }
                let message = i.field.as_deref().map_or_else(
                    || msg!("A008.increment", delta = &i.delta),
                    |f| msg!("A008.increment-field", field = f, delta = &i.delta),
                );
                cx.report(&Self::META, i.span, message)
                    .help(msg!("A008.increment-help"));
            }
        }
        if h.is_payment_notification() && !h.verified {
            if let Some(a) = h.accesses.iter().find(|a| a.op == Op::Update) {
                let message = if h.kind == HandlerKind::Route {
                    msg!("A008.unverified-notification-route")
                } else {
                    msg!("A008.unverified-notification", function = &h.name)
                };
                cx.report(&Self::META, a.span, message)
                    .help(msg!("A008.unverified-notification-help"));
            } else if let Some(w) = h.outgoing_writes.first() {
                // The order state lives in another backend: the function forwards the
                // notification there (`got(base + '/table/Save', { method: 'POST', ... })`).
                cx.report(
                    &Self::META,
                    w.span,
                    msg!("A008.unverified-notification-forwarded", function = &h.name),
                )
                .help(msg!("A008.unverified-notification-help"));
            }
        }
    }
}
