//! The handler analysis follows a handler's calls into services of other modules: two calls
//! deep, each service once per argument shape, and cycles between modules end.

#[path = "support/project.rs"]
mod support;
use support::{project, scan};

const PACKAGE: &str = r#"{"name": "shop", "dependencies": {"koa": "^2.14.2", "knex": "^3.0.1"}}"#;

fn a007(findings: &[miniguard_report::Finding]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == "A007")
        .map(|f| format!("{}:{}", f.location.path, f.location.start.line))
        .collect();
    out.sort();
    out
}

#[test]
fn services_are_followed_two_calls_deep() {
    let dir = project(&[
        ("server/package.json", PACKAGE),
        (
            "server/controllers/address.js",
            "const a = require('../service/a')\n\
             async function removeAction(ctx) {\n\
             \x20 ctx.body = await a.remove(ctx.request.body.id)\n\
             }\n\
             module.exports = { removeAction }\n",
        ),
        (
            "server/service/a.js",
            "const b = require('./b')\n\
             async function remove(id) { return b.remove(id) }\n\
             module.exports = { remove }\n",
        ),
        (
            "server/service/b.js",
            "const { mysql } = require('../qcloud')\n\
             const c = require('./c')\n\
             async function remove(id) {\n\
             \x20 await mysql('user_address').where({ id }).del()\n\
             \x20 return c.remove(id)\n\
             }\n\
             module.exports = { remove }\n",
        ),
        (
            "server/service/c.js",
            "const { mysql } = require('../qcloud')\n\
             async function remove(id) { return mysql('user_cart').where({ id }).del() }\n\
             module.exports = { remove }\n",
        ),
    ]);
    // b.js is two calls from the handler; c.js, three, is not analysed as part of it.
    assert_eq!(a007(&scan(dir.path())), ["server/service/b.js:4"]);
}

#[test]
fn modules_that_call_each_other_end() {
    let dir = project(&[
        ("server/package.json", PACKAGE),
        (
            "server/controllers/cart.js",
            "const svc = require('../service/cart')\n\
             async function clearAction(ctx) {\n\
             \x20 ctx.body = await svc.clear(ctx.query.id)\n\
             }\n\
             module.exports = { clearAction }\n",
        ),
        (
            "server/service/cart.js",
            "const { mysql } = require('../qcloud')\n\
             const self = require('./cart')\n\
             async function clear(id) {\n\
             \x20 await mysql('user_cart').where({ id }).del()\n\
             \x20 return self.clear(id)\n\
             }\n\
             module.exports = { clear }\n",
        ),
    ]);
    assert_eq!(a007(&scan(dir.path())), ["server/service/cart.js:4"]);
}

#[test]
fn the_callers_owner_check_counts_for_the_service() {
    let dir = project(&[
        ("server/package.json", PACKAGE),
        (
            "server/controllers/address.js",
            "const svc = require('../service/address')\n\
             async function removeAction(ctx) {\n\
             \x20 const { id } = ctx.request.body\n\
             \x20 const row = await svc.find(id)\n\
             \x20 if (row.user_id !== ctx.state.user.id) return ctx.throw(403)\n\
             \x20 ctx.body = await svc.remove(id)\n\
             }\n\
             module.exports = { removeAction }\n",
        ),
        (
            "server/service/address.js",
            "const { mysql } = require('../qcloud')\n\
             const find = (id) => mysql('user_address').where({ id }).first()\n\
             const remove = (id) => mysql('user_address').where({ id }).del()\n\
             module.exports = { find, remove }\n",
        ),
    ]);
    assert!(a007(&scan(dir.path())).is_empty());
}
