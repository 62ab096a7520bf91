use miniguard_project::Role;
use miniguard_report::msg;

use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, SourceKind, Taint, Value};

crate::declare_rule! {
    /// ## What it finds
    /// A cloud function that takes the user's identity from its `event` (`event.openid`,
    /// `event._openid`, `event.userId`, `event.uid`, destructured or defaulted:
    /// `event.openid || wxContext.OPENID`) and uses it in a database call: `where`, `doc`,
    /// `add`, `update`, `set`, `remove`, `get`, `count`, `aggregate`/`match` of
    /// `cloud.database()` (`WeChat` cloud development, `CloudBase`, `uniCloud`), or the queries of
    /// mysql, pg, mongodb and mongoose.
    ///
    /// The identity the platform injects is trusted and not reported:
    /// `cloud.getWXContext().OPENID` and `event.userInfo.openId` (set by the platform when the
    /// mini-program calls the function). Other event fields (`event.pageSize`) are not
    /// identities.
    ///
    /// ## Why it matters
    /// Everything in `event` comes from the caller: any user can call the function with
    /// someone else's `openid` (they appear in shared records, rankings, order lists) and read,
    /// change or delete that user's orders, addresses, balance or messages. It is the most
    /// common access-control flaw of cloud-development mini-programs, and it passes every
    /// functional test because the genuine client always sends its own id.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   return db.collection('orders').where({ _openid: event.openid }).get()
    /// }
    /// ```
    ///
    /// ## Fix
    /// Take the identity from the platform: `const { OPENID } = cloud.getWXContext()` and query
    /// with `_openid: OPENID`. For admin functions that act on other users, check that the
    /// caller's `OPENID` is an administrator before using the id from the event.
    ///
    /// ## References
    /// - CWE-639: Authorization Bypass Through User-Controlled Key
    /// - CWE-807: Reliance on Untrusted Inputs in a Security Decision
    /// - WeChat cloud development: `cloud.getWXContext()` ("OPENID cannot be forged")
    pub struct TrustedClientIdentity {
        code: "A003",
        name: "trusted-client-identity",
        category: Auth,
        severity: High,
        confidence: High,
        cwe: [639, 807],
        summary: "Cloud function trusts a user identity sent by the client in a database query",
    }
}

/// Methods of `cloud.database()` collections, documents and aggregates that select or write
/// records.
const CLOUD_DB_METHODS: &[&str] = &[
    "where",
    "doc",
    "add",
    "update",
    "set",
    "remove",
    "get",
    "count",
    "aggregate",
    "match",
    "lookup",
];

/// Database driver modules (first segment of the call path) and their query methods.
const DRIVERS: &[&str] = &[
    "mysql",
    "mysql2",
    "pg",
    "mongodb",
    "mongoose",
    "sequelize",
    "knex",
    "ali-rds",
    "egg-mysql",
];
const DRIVER_METHODS: &[&str] = &[
    "query",
    "execute",
    "find",
    "findOne",
    "findOneAndUpdate",
    "findOneAndDelete",
    "updateOne",
    "updateMany",
    "deleteOne",
    "deleteMany",
    "insertOne",
    "findAll",
    "findByPk",
    "update",
    "destroy",
    "where",
    "countDocuments",
    "aggregate",
    "select",
    "insert",
    "delete",
];

impl Rule for TrustedClientIdentity {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if cx.role != Role::CloudFunction {
            return;
        }
        let Event::Call(call) = event else { return };
        let (Some(path), Some(method)) = (call.path, call.method) else {
            return;
        };
        let root = path.split(['.', '(']).next().unwrap_or(path);
        let is_db = (path.contains("database()") && CLOUD_DB_METHODS.contains(&method))
            || (DRIVERS.contains(&root) && DRIVER_METHODS.contains(&method));
        if !is_db {
            return;
        }
        for (i, arg) in call.args.iter().enumerate() {
            let Some(taint) = identity_taint(arg, 0) else {
                continue;
            };
            let source = taint.origin.as_ref().map_or_else(
                || "the event".to_owned(),
                |o| o.what.split_whitespace().collect::<Vec<_>>().join(" "),
            );
            let source = if source.contains('.') {
                msg!("A003.source", source = source)
            } else {
                msg!("A003.source-in-event", source = source)
            };
            let sink = cx.origin(call.arg_span(i), method);
            // Name the identity the platform of this function verifies.
            let (message, help) = match cloud_platform(cx) {
                CloudPlatform::WeChat => (
                    msg!("A003.trusted", method = method, source = source),
                    msg!("A003.help"),
                ),
                CloudPlatform::UniCloud => (
                    msg!("A003.trusted-unicloud", method = method, source = source),
                    msg!("A003.help-unicloud"),
                ),
                CloudPlatform::Other => (
                    msg!("A003.trusted-other", method = method, source = source),
                    msg!("A003.help-other"),
                ),
            };
            // One identity read from the event is one flaw, however many queries use it: the
            // fix is at that read.
            let group = taint
                .origin
                .as_ref()
                .map(|o| format!("{}:{}:{}", o.file, o.start, o.end));
            let mut reported = cx
                .report(&Self::META, call.arg_span(i), message)
                .step(taint.origin.clone(), msg!("A003.step-source"))
                .step(Some(sink), msg!("A003.step-used", method = method));
            if let Some(g) = group {
                reported = reported.group(g);
            }
            reported.help(help);
            return;
        }
    }
}

/// The cloud platform a function runs on, as far as its file tells.
enum CloudPlatform {
    /// WeChat cloud development (`wx-server-sdk`): `cloud.getWXContext().OPENID`.
    WeChat,
    /// uniCloud: the uid uni-id verifies.
    UniCloud,
    /// Alipay, Douyin or another cloud: the identity its runtime injects, or a session.
    Other,
}

fn cloud_platform(cx: &Cx<'_>) -> CloudPlatform {
    if cx.source.contains("wx-server-sdk") || cx.source.contains("getWXContext") {
        CloudPlatform::WeChat
    } else if cx.source.contains("uniCloud") || cx.file.contains("uniCloud") {
        CloudPlatform::UniCloud
    } else if cx.source.contains("@alipay/")
        || cx.source.contains("@open-dy/")
        || cx.file.contains("alipay")
    {
        CloudPlatform::Other
    } else {
        CloudPlatform::WeChat
    }
}

/// The taint of the first part of the value (itself, a field, an element) that carries a
/// client-supplied identity, so the trace names that field rather than a sibling.
fn identity_taint(v: &Value<'_>, depth: u32) -> Option<Taint> {
    if depth > 6 {
        return None;
    }
    if v.taint.kinds.contains(SourceKind::CLIENT_IDENTITY) {
        return Some(v.taint.clone());
    }
    match &v.kind {
        Kind::Object(o) => o
            .fields
            .iter()
            .find_map(|(_, f)| identity_taint(f, depth + 1)),
        Kind::Array(e) => identity_taint(e, depth + 1),
        _ => None,
    }
}
