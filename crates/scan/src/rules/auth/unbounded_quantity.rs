use crate::events::{Cx, Event};
use crate::js::handlers::HandlerKind;
use crate::rules::{Rule, RuleMeta};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A cart, order or stock handler that takes a quantity from the client (`num`,
    /// `number`, `count`, `quantity`, `buyNum` from the event or request) and uses it with
    /// no lower bound:
    /// - multiplied into a price (`goods.retail_price * number`);
    /// - stored in a cart or order record (`add({ number })`, `update({ count })`);
    /// - added to a count (`increment('number', number)`, `number: _.inc(event.num)`).
    ///
    /// A handler that bounds the number from below is not reported: a comparison with 0 or 1
    /// (`if (num < 1) throw`, `if (!(count > 0))`), `Math.max(1, n)`, a validator with a
    /// minimum (joi `.min(1)` / `.positive()`, egg `ctx.validate({ num: { type: 'int', min: 1 }
    /// })`), a DTO with `@Min(1)` / `@IsPositive()` in the controller's module or one it
    /// imports (nest's `add-item.dto.ts`). An upper bound alone
    /// (`stock < number`) does not count: a negative number passes it.
    ///
    /// ## Why it matters
    /// Nothing in JSON stops a number from being negative or fractional. A cart line of -3
    /// items makes the order total smaller (or negative) while the other lines are shipped;
    /// a negative quantity added to a stock or a count moves it the other way; a fractional
    /// one buys a tenth of an item at a tenth of the price.
    ///
    /// ## Example
    /// ```js
    /// async addAction() {
    ///   const number = this.post('number')
    ///   await this.model('cart').add({ goods_id: goodsId, number, user_id: this.getLoginUserId() })
    /// }
    /// ```
    ///
    /// ## Fix
    /// Parse the quantity as an integer and reject anything below 1 (and above a sane
    /// maximum) before using it: `const n = Number.parseInt(num, 10); if (!Number.isInteger(n)
    /// || n < 1 || n > 99) throw ...`, or a schema rule (`@IsInt() @Min(1)`, joi
    /// `.integer().min(1)`). Compute prices from the server's records.
    ///
    /// ## References
    /// - CWE-20: Improper Input Validation
    /// - CWE-840: Business Logic Errors
    /// - CWE-1284: Improper Validation of Specified Quantity in Input
    pub struct UnboundedQuantity {
        code: "A012",
        name: "unbounded-quantity",
        category: Auth,
        severity: Medium,
        confidence: Medium,
        cwe: [1284, 20, 840],
        summary: "Client quantity used in a price, cart or stock with no lower bound",
    }
}

impl Rule for UnboundedQuantity {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Handler(h) = event else { return };
        if cx.is_client() && h.kind != HandlerKind::CloudFunction {
            return;
        }
        if h.quantity_bounded {
            return;
        }
        // One flaw per handler: the quantity's first use (a cart line stored and priced
        // from the same number is one unchecked number).
        let Some(q) = h.quantities.iter().min_by_key(|q| q.span.start) else {
            return;
        };
        cx.report(
            &Self::META,
            q.span,
            msg!("A012.quantity", quantity = &q.what),
        )
        .help(msg!("A012.help"));
    }
}
