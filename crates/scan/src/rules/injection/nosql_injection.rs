use crate::events::{CallEvent, Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
use crate::value::{Kind, Sanitized, SourceKind, Taint, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Database queries whose structure, not just a value, comes from the client:
    ///
    /// - Cloud database (`cloud.database().collection(..).where(..)`, also `wx.cloud.database()`
    ///   on the client and `aggregate().match(..)`): the whole query object is client data,
    ///   as in `.where(event.query)`, `.where(event)` or `.where({ ...event.filter })`. The
    ///   client then chooses which fields are compared and how, and reads other users' records.
    ///   A single field value (`.where({ name: event.name })`) is not this rule. In a cloud
    ///   function the collection name is query structure too: `db.collection(event.dbName)`
    ///   lets the caller read or change any collection with the function's admin rights.
    /// - MongoDB / Mongoose on a server (`find`, `findOne`, `findOneAndUpdate`, `updateOne`,
    ///   `updateMany`, `deleteOne`, `deleteMany`, `countDocuments`, `aggregate`, ...): a filter
    ///   that is request data as a whole (`User.find(req.body)`), a filter field whose value is
    ///   raw request data that may be an object (`{ username: req.body.username }`: a JSON body
    ///   or a `qs`-parsed query can send `{"$ne": null}`), and `$where` with untrusted text.
    ///
    /// Values coerced to a string (`String(x)`, a template literal), numbers, values cleaned by
    /// `mongo-sanitize`, Sequelize/TypeORM `{ where: … }` options (their operators are
    /// symbols, not JSON keys) and `Array.prototype.find(fn)` are not reported; nor are ids
    /// converted to a BSON `ObjectId` (`new ObjectId(id)`, `mongoose.Types.ObjectId(id)`:
    /// never an operator object), an entry of a table the code wrote picked by the input
    /// (`conditions[options.role]`: the input only chooses among the code's own conditions),
    /// and methods of injected services (`this.catsService.findOne(id)`: the project's own
    /// code, followed to the driver call it makes).
    ///
    /// ## Why it matters
    /// Query operators travel as data. `{"password": {"$ne": null}}` logs in without a password,
    /// `{"$where": "sleep(5000)"}` runs JavaScript in the database, `{"_openid": {"$exists":
    /// true}}` in place of the caller's own filter dumps every user's records.
    ///
    /// ## Example
    /// ```js
    /// router.post('/login', async (req, res) => {
    ///   const user = await User.findOne({ username: req.body.username, password: req.body.password })
    /// })
    /// exports.main = async (event) => db.collection('orders').where(event.query).get()
    /// ```
    ///
    /// ## Fix
    /// Build the filter on the server from checked values: `String(req.body.username)`, a
    /// schema validator (Joi, zod) that requires strings, `mongoose.set('sanitizeFilter', true)`
    /// or `mongo-sanitize`; for cloud databases, pick the allowed fields one by one and always
    /// add the caller's `OPENID` from `cloud.getWXContext()`.
    ///
    /// ## References
    /// - CWE-943: Improper Neutralization of Special Elements in Data Query Logic
    /// - OWASP Testing for NoSQL Injection
    pub struct NosqlInjection {
        code: "I002",
        name: "nosql-injection",
        category: Injection,
        severity: High,
        confidence: Medium,
        cwe: [943],
        summary: "Database query structure taken from untrusted input",
    }
}

impl Rule for NosqlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(method) = call.method else { return };
        if call.path.is_some_and(is_cloud_db) {
            check_cloud(cx, call, method);
            return;
        }
        if !cx.is_server() {
            return;
        }
        // A known library must be a MongoDB one; an unknown receiver (a model from elsewhere,
        // egg `ctx.model.User`) may be. `fs.exists(p)`, `_.find(list, fn)` are not queries.
        let mongo = call.path.is_some_and(is_mongo_path);
        if call.path.is_some() && !mongo {
            return;
        }
        // An injected service (nest `this.catsService.findOne(id)`, `userService.find(q)`) is
        // the project's own code, analysed where it reaches a driver; not a collection.
        if call.path.is_none() && is_service_receiver(cx.text(call.callee_span)) {
            return;
        }
        // The filter and its argument: the specification's filter methods, an aggregation's
        // `$match` stage, `distinct(field, filter)`.
        let at = match method {
            "aggregate" => Some(0),
            "distinct" if mongo => Some(1),
            "update" | "remove" | "count" | "exists" if !mongo => None,
            m => spec()
                .sink_by_method(SinkKind::NosqlFilter, m)
                .map(crate::spec::Sink::first),
        };
        let Some(at) = at else { return };
        let filter = if method == "aggregate" {
            call.arg(at).and_then(match_stage)
        } else {
            call.arg(at)
        };
        let Some(filter) = filter else {
            return;
        };
        if matches!(filter.kind, Kind::Func(_)) {
            return;
        }
        let sink = call.arg_span(at);
        if method == "$where" {
            if let Some(t) = filter.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty()) {
                cx.report_flow(&Self::META, sink, &t, msg!("I002.where"))
                    .help(msg!("I002.where-help"));
            }
            return;
        }
        // The whole filter is request data.
        if let Some(t) = own_taint(filter).filter(|t| filter.text.is_none() && !is_string_source(t))
        {
            cx.report_flow(&Self::META, sink, &t, msg!("I002.filter"))
                .help(msg!("I002.help"));
            return;
        }
        let Some(obj) = filter.obj() else { return };
        // ORM options (`{ where: {...} }`): Sequelize and TypeORM operators are symbols.
        if obj.get("where").is_some() {
            return;
        }
        if let Some(code) = obj.get("$where")
            && let Some(t) = code.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty())
        {
            cx.report_flow(&Self::META, sink, &t, msg!("I002.where"))
                .help(msg!("I002.where-help"));
            return;
        }
        for (key, v) in &obj.fields {
            if let Some(t) = operator_capable(v) {
                let what = msg!("I002.filter-field", field = key);
                cx.report_flow(&Self::META, sink, &t, what)
                    .help(msg!("I002.help"));
                return;
            }
            // `$or: [{ a: x }, { b: y }]`, `$and: [...]`.
            if key.starts_with('$')
                && let Kind::Array(e) = &v.kind
                && let Some(inner) = e.obj()
                && let Some((k, t)) = inner
                    .fields
                    .iter()
                    .find_map(|(k, v)| operator_capable(v).map(|t| (k, t)))
            {
                let what = msg!("I002.filter-field", field = k);
                cx.report_flow(&Self::META, sink, &t, what)
                    .help(msg!("I002.help"));
                return;
            }
        }
    }
}

/// Whether the callee `a.b.fooService.find` is a method of a service object.
fn is_service_receiver(callee: &str) -> bool {
    let mut parts = callee.rsplit('.');
    parts.next();
    parts.next().is_some_and(|r| {
        let r = r.trim().to_ascii_lowercase();
        r.ends_with("service") || r.ends_with("services")
    })
}

/// Paths of MongoDB drivers, ODMs and egg model registries.
fn is_mongo_path(path: &str) -> bool {
    [
        "mongoose",
        "mongodb",
        "mongojs",
        "monk",
        "@ctx.model",
        "@controller.app.model",
        "@ctx.app.model",
        "nedb",
    ]
    .iter()
    .any(|m| path.starts_with(m))
}

fn is_cloud_db(path: &str) -> bool {
    (path.starts_with("wxcloud.") || path.starts_with("mp.cloud.") || path.starts_with("mp."))
        && path.contains("database()")
}

/// `.where(event.query)` / `.aggregate().match(event.match)` on a cloud database.
fn check_cloud(cx: &mut Cx<'_>, call: &CallEvent<'_, '_>, method: &str) {
    // Server side, the client picks the collection: the function's admin rights reach every
    // collection (users, orders, config), past the database's security rules.
    if method == "collection" {
        if let Some(name) = call.arg(0)
            && !cx.is_client()
            && !name.is_constant()
            && let Some(t) = name.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty())
            && !cx.is_guarded(&t)
        {
            cx.report_flow(
                &NosqlInjection::META,
                call.arg_span(0),
                &t,
                msg!("I002.collection"),
            )
            .help(msg!("I002.collection-help"));
        }
        return;
    }
    if !matches!(method, "where" | "match") {
        return;
    }
    let Some(q) = call.arg(0) else { return };
    let kinds = if cx.is_client() {
        SourceKind::CLIENT_INPUT
    } else {
        SourceKind::SERVER_INPUT
    };
    if q.sanitized.contains(Sanitized::PRIMITIVE) || matches!(q.kind, Kind::Func(_)) {
        return;
    }
    if q.taint.kinds.intersects(kinds) {
        cx.report_flow(
            &NosqlInjection::META,
            call.arg_span(0),
            &q.taint,
            msg!("I002.condition"),
        )
        .help(msg!("I002.condition-help"));
    }
}

/// The filter of an aggregation pipeline: its `$match` stage.
fn match_stage<'v, 'a>(pipeline: &'v Value<'a>) -> Option<&'v Value<'a>> {
    match &pipeline.kind {
        Kind::Array(e) => e.field("$match"),
        _ => None,
    }
}

/// Taint of the value itself (not only of its fields): request data used as the whole filter.
fn own_taint(v: &Value<'_>) -> Option<Taint> {
    if v.sanitized.contains(Sanitized::PRIMITIVE)
        || v.taint.is_empty()
        || !v.taint.kinds.intersects(SourceKind::SERVER_INPUT)
    {
        return None;
    }
    Some(v.taint.clone())
}

/// Raw request data as a filter value: it may arrive as an operator object.
fn operator_capable(v: &Value<'_>) -> Option<Taint> {
    if v.sanitized.contains(Sanitized::PRIMITIVE)
        || v.text.is_some()
        || !matches!(v.kind, Kind::Unknown)
    {
        return None;
    }
    own_taint(v).filter(|t| !is_string_source(t))
}

/// Route parameters and headers are always strings.
fn is_string_source(t: &Taint) -> bool {
    let what = t.origin.as_ref().map_or("", |o| &*o.what);
    what.contains(".params") || what.contains("header")
}
