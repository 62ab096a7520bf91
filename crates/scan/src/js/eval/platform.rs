//! The models of platform and framework APIs that are code rather than rows of
//! [`crate::js::apis`]: mini-program requests and storage, the cloud database, Vue, Pinia, promises.

// Reason: the evaluator is one type split over these files by concern; each file uses most of
// what the parent module defines and imports.
#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Evaluator<'a, '_> {
    pub(super) fn call_api(
        &mut self,
        p: &str,
        receiver: Option<&Value<'a>>,
        args: &[Value<'a>],
        span: oxc_span::Span,
        is_new: bool,
    ) -> Value<'a> {
        let arg0 = args.first().cloned().unwrap_or_default();
        // Vue's reactivity: `ref(x)` is `{ value: x }` (templates read it unwrapped), and
        // `reactive(x)` is `x` itself.
        match p {
            "vue.ref" | "vue.shallowRef" | "@vue/reactivity.ref" => {
                let mut o = Obj::default();
                o.set("value", arg0);
                return Value::object(o);
            }
            "vue.reactive" | "vue.shallowReactive" | "@vue/reactivity.reactive" => return arg0,
            // Pinia: `defineStore(id, setup)`, `defineStore(id, { state, actions })`,
            // `defineStore({ id, state, actions })` give a `useStore` function; calling it gives
            // the store, whose actions run with what the page passes them.
            "pinia.defineStore" => {
                let def = args
                    .iter()
                    .find(|a| matches!(a.kind, Kind::Func(_) | Kind::Object(_)))
                    .cloned();
                if let Some(def) = def
                    && self.pinia.len() < 4096
                {
                    let rel = self.module(self.cur).rel.clone();
                    let key: Rc<str> = Rc::from(format!("@pinia:{rel}:{}", span.start));
                    self.pinia.insert(key.clone(), def);
                    self.impure += 1;
                    return Value {
                        kind: Kind::Api(key),
                        ..Value::default()
                    };
                }
                return Value::unknown();
            }
            _ if p.starts_with("@pinia:") => return self.pinia_store(p),
            _ => {}
        }
        // Mini-program APIs.
        if let Some(name) = p.strip_prefix("mp.") {
            let last = name.rsplit('.').next().unwrap_or(name);
            // Name the call by what it is, not by its (possibly multi-line) source text.
            let namespace = self
                .snippet(span)
                .split('.')
                .next()
                .unwrap_or("wx")
                .trim()
                .to_owned();
            let namespace = if namespace.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !namespace.is_empty()
            {
                namespace
            } else {
                "wx".to_owned()
            };
            let what = format!("{namespace}.{name}()");
            if apis::is_mp_request(last)
                || name == "cloud.callFunction"
                || name == "cloud.callContainer"
            {
                let o = self.origin(span, &format!("response of {what}"));
                let resp = Value::tainted(SourceKind::NETWORK, o);
                self.invoke_callback(arg0.field("success"), std::slice::from_ref(&resp));
                self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&resp));
                self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
                return resp;
            }
            // uni-app composition API: `onLoad((options) => ...)` from '@dcloudio/uni-app'.
            if last == "onLoad"
                && let Kind::Func(f) = arg0.kind
            {
                let options = self.param_origin_value(f, 0, SourceKind::PAGE_OPTIONS, "options");
                self.call_func(f, Value::unknown(), &[options], false);
                return Value::unknown();
            }
            // Storage, the clipboard, what the user typed in a modal, the launch options and the
            // page's link parameters (Taro's `useRouter().params`), by the specification.
            let source = apis::method_source("mp", last);
            // A cloud database query matched on a password (`where({ account, password })`, a
            // login done on the client): the records it reads hold that password.
            if name.contains("database()") {
                if last == "where"
                    && arg0.obj().is_some_and(|o| {
                        // Page data starts as `password: ''` and the form fills it in.
                        o.fields.iter().any(|(k, v)| {
                            !(v.is_constant() && v.text.as_deref().is_some_and(|t| !t.is_empty()))
                                && labels_for_name(k).contains(Labels::PASSWORD)
                        })
                    })
                {
                    let mut q = Value::api(&format!("{p}()"));
                    q.labels |= Labels::PASSWORD;
                    return q;
                }
                if last == "get" && receiver.is_some_and(|r| r.labels.contains(Labels::PASSWORD)) {
                    let resp = password_rows();
                    self.invoke_callback(arg0.field("success"), std::slice::from_ref(&resp));
                    self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&resp));
                    self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
                    return resp;
                }
            }
            let result = match source {
                Some(kind) => {
                    let o = self.origin(span, &what);
                    let mut v = Value::tainted(kind, o);
                    if let Some(key) = arg0.exact_text() {
                        v.labels |= labels_for_name(key);
                    } else if let Some(key) = arg0.field("key").and_then(Value::exact_text) {
                        v.labels |= labels_for_name(key);
                    }
                    v
                }
                None => Value::api(&format!("{p}()")),
            };
            let cb_arg = if source.is_some() {
                result.clone()
            } else {
                Value::unknown()
            };
            self.invoke_callback(arg0.field("success"), std::slice::from_ref(&cb_arg));
            self.invoke_callback(arg0.field("complete"), std::slice::from_ref(&cb_arg));
            self.invoke_callback(arg0.field("fail"), &[Value::unknown()]);
            return result;
        }
        match p {
            "Page" | "Component" | "Behavior" | "App" | "mp.createPage" | "mp.createComponent" => {
                return self.run_page(p, &arg0);
            }
            "getApp" => return self.app_value(),
            "Promise" if is_new => {
                self.resolvers.push(Value::unknown());
                if let Some(Value {
                    kind: Kind::Func(f),
                    ..
                }) = args.first()
                {
                    self.call_func(
                        *f,
                        Value::unknown(),
                        &[Value::api("@resolve"), Value::api("@reject")],
                        false,
                    );
                }
                return self.resolvers.pop().unwrap_or_default();
            }
            "@resolve" => {
                if let Some(r) = self.resolvers.last_mut() {
                    r.join_in(&arg0);
                }
                return Value::unknown();
            }
            "@reject" => return Value::unknown(),
            // The cloud database's query operators (`const _ = db.command`): `_.or([...])`,
            // `_.in(list)`, `_.gt(n)` build the query's structure themselves; the values given
            // to them stay values (in the operator's field), never operators of the client's.
            _ if p.contains("database().command.")
                && p.rsplit('.')
                    .next()
                    .is_some_and(|op| CLOUD_DB_OPERATORS.contains(&op)) =>
            {
                let op = p.rsplit('.').next().unwrap_or("");
                // A logical operator over conditions the client sent whole (`_.or(event.list)`)
                // is the client's query.
                let chosen = matches!(op, "or" | "and" | "nor" | "not")
                    .then(|| arg0.taint.clone())
                    .unwrap_or_default();
                let mut o = Obj::default();
                o.set(&format!("${op}"), arg0);
                let mut v = Value::object(o);
                v.taint = chosen;
                return v;
            }
            "Promise.resolve"
            | "Promise.reject"
            | "util.promisify"
            | "Buffer.from"
            | "Object.freeze"
            | "vue.defineComponent"
            | "@vue/composition-api.defineComponent" => {
                return arg0;
            }
            "Promise.all" | "Promise.allSettled" | "Promise.race" => return arg0,
            "JSON.parse" => return arg0.flattened(),
            "JSON.stringify" => {
                let mut v = arg0.flattened();
                v.text = Some(Rc::from(crate::value::HOLE.to_string()));
                v.sanitized |= Sanitized::PRIMITIVE;
                return v;
            }
            "Object.assign" => {
                let mut out = Value::unknown();
                for a in args {
                    if let (Kind::Object(_), Kind::Object(b)) = (&out.kind, &a.kind) {
                        let mut merged = out.obj().cloned().unwrap_or_default();
                        merged.overlay_unknown(a);
                        for (k, v) in &b.fields {
                            merged.set(k, v.clone());
                        }
                        out.kind = Kind::Object(Rc::new(merged));
                        out.taint.join(&a.taint);
                    } else if matches!(out.kind, Kind::Unknown) {
                        let mut t = out.taint.clone();
                        out = a.clone();
                        out.taint.join(&t);
                        t = out.taint.clone();
                        out.taint = t;
                    } else {
                        // `Object.assign({ qty: 10 }, data)`: what `data` holds may replace
                        // every default.
                        if let Some(o) = out.obj() {
                            let mut merged = o.clone();
                            merged.overlay_unknown(a);
                            out.kind = Kind::Object(Rc::new(merged));
                        }
                        out.taint.join(&a.deep_taint());
                    }
                }
                return out;
            }
            "Object.keys" | "Object.values" | "Object.entries" => {
                return Value {
                    kind: Kind::Array(Rc::new(arg0.flattened())),
                    ..Value::default()
                };
            }
            "@setData" => {
                self.set_data(&arg0);
                for a in args.iter().skip(1) {
                    self.invoke_callback(Some(a), &[]);
                }
                return Value::unknown();
            }
            "@res.send" | "@res.json" | "@res.jsonp" | "@res.end" | "@res.write" => {
                let via = p.trim_start_matches('@').to_owned();
                let ev = RespondEvent {
                    value: &arg0,
                    via: &via,
                    span: span.into(),
                };
                self.emit(&Event::Respond(&ev));
                return Value::api("@res");
            }
            "@res.status" | "@res.set" | "@res.header" | "@res.type" | "@res.cookie" => {
                return Value::api("@res");
            }
            _ => {}
        }
        if (p.starts_with("crypto-js.enc.") || p.starts_with("crypto-js/enc-"))
            && p.ends_with(".parse")
        {
            return arg0;
        }
        if matches!(
            p,
            "crypto.createHash"
                | "crypto.createHmac"
                | "crypto.createCipheriv"
                | "crypto.createDecipheriv"
                | "crypto.createCipher"
        ) {
            let mut v = Value::api(&format!("{p}()"));
            v.text.clone_from(&arg0.text);
            return v;
        }
        if let Some(kind) = receiver.and_then(|r| r.api_path()).and_then(|rp| {
            let method = p.rsplit('.').next().unwrap_or("");
            apis::method_source(rp, method)
        }) {
            let what = self.snippet(span);
            let o = self.origin(span, &what);
            return Value::tainted(kind, o);
        }
        // A method of a crypto object keeps the algorithm (`createHash('md5').update(x)`).
        let mut result = Value::api(&format!("{p}()"));
        if p.starts_with("crypto.create")
            && let Some(r) = receiver
        {
            result.text.clone_from(&r.text);
        }
        // Unknown library calls: taint flows through.
        let mut t = crate::value::Taint::default();
        let mut labels = Labels::empty();
        for a in args {
            if !matches!(a.kind, Kind::Func(_)) {
                t.join(&a.deep_taint());
                labels |= a.deep_labels();
            }
        }
        // A tainted API value is the result of an earlier library call
        // (`decodeURIComponent(x).split('|')`): its taint flows on too.
        if let Some(r) = receiver
            && (!matches!(r.kind, Kind::Api(_)) || !r.taint.is_empty())
        {
            t.join(&r.deep_taint());
        }
        result.taint = t;
        // A cloud SDK call (`cloud.openapi.subscribeMessage.send({..})`, a database write)
        // answers with the platform's result, not with the data it was given.
        if !p.starts_with("wxcloud.") {
            result.labels = labels | getter_key_labels(p.rsplit('.').next(), args);
        }
        // `path.join(dir, path.basename(x))`: path functions keep what every tainted part had.
        if p.starts_with("path.") {
            let mut tainted = args.iter().filter(|a| !a.deep_taint().is_empty());
            if let Some(first) = tainted.next() {
                result.sanitized = tainted.fold(first.sanitized, |acc, a| acc & a.sanitized);
            }
        }
        // The code-to-session exchange answers with the session_key: callers see it in the
        // result. Its `openid` is the platform's verified answer, whatever code the client sent.
        if args.iter().any(is_session_exchange) {
            let resp = session_response(&crate::value::Taint::default());
            for a in args {
                if let Kind::Func(f) = a.kind {
                    let params = [Value::unknown(), resp.clone(), resp.clone()];
                    self.call_func(f, Value::unknown(), &params, true);
                }
            }
            return resp;
        }
        // The platform's credential exchange (`cgi-bin/token`) answers with the access_token.
        if args.iter().any(is_token_exchange) {
            let resp = credential_response(&result.taint, "access_token", Labels::SECRET);
            for a in args {
                if let Kind::Func(f) = a.kind {
                    let params = [Value::unknown(), resp.clone(), resp.clone()];
                    self.call_func(f, Value::unknown(), &params, true);
                }
            }
            return resp;
        }
        // Callbacks passed to library calls still run (e.g. `pool.query(sql, (err, rows) => ..)`).
        let param = Value {
            taint: result.taint.clone(),
            ..Value::default()
        };
        let funcs: Vec<FuncRef<'a>> = args
            .iter()
            .filter_map(|a| {
                if let Kind::Func(f) = a.kind {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        let role = self.role();
        for f in funcs {
            // A route handler (`router.get('/x', (req, res) => ..)`, `app.use(async (ctx) => ..)`)
            // gets the request objects its parameter names say.
            let named = if role == Role::Client {
                Vec::new()
            } else {
                self.default_args(f, role)
            };
            if named.iter().any(|v| v.api_path().is_some()) {
                self.call_func(f, Value::unknown(), &named, true);
            } else {
                self.call_func(f, Value::unknown(), &[param.clone(), param.clone()], true);
            }
        }
        for a in args {
            if let Some(o) = a.obj() {
                for key in ["success", "complete", "callback"] {
                    if let Some(Value {
                        kind: Kind::Func(f),
                        ..
                    }) = o.get(key)
                    {
                        self.call_func(*f, Value::unknown(), &[Value::unknown()], true);
                    }
                }
            }
        }
        result
    }
}

/// Query operators of `db.command` in WeChat cloud development, `CloudBase` and `uniCloud`.
const CLOUD_DB_OPERATORS: &[&str] = &[
    "or",
    "and",
    "nor",
    "not",
    "eq",
    "neq",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "nin",
    "exists",
    "size",
    "all",
    "elemMatch",
    "mod",
    "expr",
];
