//! Authentication and authorization: secured routes answering without credentials, identities
//! taken from the client, one user's objects served to another, privileged fields accepted in
//! writes, and password logins without throttling.

use reqwest::Method;
use serde_json::{Value, json};

use miniguard_report::msg;

use crate::client::{Exchange, Request};
use crate::openapi::Operation;
use crate::rules;
use crate::run::{CheckResult, Ctx};

/// The most ids of one collection replayed across users.
const MAX_IDS: usize = 3;
/// Wrong passwords sent to one login before deciding it does not throttle.
const BRUTE_FORCE_ATTEMPTS: usize = 15;

fn get_ops(ctx: &Ctx<'_>) -> Vec<Operation> {
    ctx.ops
        .iter()
        .filter(|o| o.method == Method::GET)
        .cloned()
        .collect()
}

fn query_examples(op: &Operation) -> Vec<(String, String)> {
    op.query_params()
        .filter_map(|p| p.example.clone().map(|e| (p.name.clone(), e)))
        .collect()
}

fn op_url(ctx: &Ctx<'_>, op: &Operation, path_values: &[(&str, &str)]) -> Option<url::Url> {
    let q = query_examples(op);
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ctx.url(&ctx.fill(op, path_values), &pairs)
}

/// A101: secured GET routes (without path parameters, or with their examples) answering 2xx to
/// a request without credentials.
pub async fn routes_without_credentials(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::ROUTE_WITHOUT_AUTH) {
        return Ok(());
    }
    for op in get_ops(ctx).into_iter().filter(|o| o.secured) {
        let Some(url) = op_url(ctx, &op, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        if let Some(ex) = ctx.send(Request::get(url), None).await?
            && ex.is_success()
        {
            ctx.report(
                &rules::ROUTE_WITHOUT_AUTH,
                &op.path,
                &op.path,
                msg!(
                    "probe.route-without-auth",
                    path = &op.path,
                    status = ex.status
                ),
                &[&ex],
                &[],
            );
        }
    }
    Ok(())
}

/// Values that name a user, learned from the identities' login answers and `/me`-like answers.
fn user_names(ctx: &Ctx<'_>, who: usize) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let Some(answer) = ctx.sessions.get(who).and_then(|s| s.login_answer.as_ref()) else {
        return out;
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for (field, names) in [
        ("openid", &["openid", "openId"][..]),
        ("user_id", &["user_id", "userId", "uid"][..]),
    ] {
        let v = answer
            .get(field)
            .or_else(|| {
                answer
                    .get("user")
                    .and_then(|u| u.get("id"))
                    .filter(|_| field == "user_id")
            })
            .and_then(scalar);
        if let Some(v) = v {
            for n in names {
                out.push((*n, v.clone()));
            }
        }
    }
    out
}

/// A104: a secured route refuses an anonymous request but serves one that names a user in its
/// query (`openid`, `userId`).
pub async fn client_sent_identity(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::CLIENT_IDENTITY) {
        return Ok(());
    }
    let names = user_names(ctx, 0);
    if names.is_empty() {
        return Ok(());
    }
    for op in get_ops(ctx)
        .into_iter()
        .filter(|o| o.secured && !o.has_path_params())
    {
        let Some(url) = op_url(ctx, &op, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let Some(plain) = ctx.send(Request::get(url.clone()), None).await? else {
            continue;
        };
        if plain.is_success() {
            continue; // already A101
        }
        for (param, value) in &names {
            let mut u = url.clone();
            u.query_pairs_mut().append_pair(param, value);
            let Some(ex) = ctx.send(Request::get(u), None).await? else {
                continue;
            };
            if ex.is_success() && ex.body.contains(value.as_str()) {
                ctx.report(
                    &rules::CLIENT_IDENTITY,
                    &op.path,
                    &op.path,
                    msg!(
                        "probe.client-identity",
                        path = &op.path,
                        status = plain.status,
                        param = param
                    ),
                    &[&plain, &ex],
                    &[],
                );
                break;
            }
        }
    }
    Ok(())
}

/// Ids of the objects in a list answer: `id` fields of objects in any array, bounded.
fn ids(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 6 || out.len() >= 50 {
        return;
    }
    match v {
        Value::Array(a) => {
            for item in a.iter().take(50) {
                if let Some(id) = item.get("id") {
                    match id {
                        Value::Number(n) => out.push(n.to_string()),
                        Value::String(s) if !s.is_empty() && s.len() < 100 => out.push(s.clone()),
                        _ => {}
                    }
                }
                ids(item, out, depth + 1);
            }
        }
        Value::Object(o) => o.values().for_each(|x| ids(x, out, depth + 1)),
        _ => {}
    }
}

/// A102: for each secured `GET /x/{id}` with a list route `GET /x`, ids in alice's list that are
/// not in bob's are read with bob's identity.
pub async fn bola(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::BOLA) {
        return Ok(());
    }
    if ctx.sessions.len() < 2 {
        if !ctx.ops.is_empty() {
            ctx.notes.push(
                "object-level authorization (BOLA) needs two identities (--as alice=... --as bob=...)"
                    .into(),
            );
        }
        return Ok(());
    }
    let ops = get_ops(ctx);
    for item in ops.iter().filter(|o| o.secured) {
        let path_params: Vec<_> = item
            .params
            .iter()
            .filter(|p| p.location == crate::openapi::ParamIn::Path)
            .collect();
        // The last path parameter is the object's id; the others come from examples or
        // `--path-param` (e.g. the collection's name).
        let Some(param) = path_params.last() else {
            continue;
        };
        let suffix = format!("/{{{}}}", param.name);
        let Some(list_path) = item.path.strip_suffix(&suffix) else {
            continue;
        };
        let Some(list) = ops
            .iter()
            .find(|o| o.path == list_path || o.path == format!("{list_path}/"))
        else {
            continue;
        };
        let Some(list_url) = op_url(ctx, list, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&list_url) {
            continue;
        }
        let mut alice_ids = Vec::new();
        let mut bob_ids = Vec::new();
        if let Some(ex) = ctx.send(Request::get(list_url.clone()), Some(0)).await?
            && let Some(v) = ex.json().filter(|_| ex.is_success())
        {
            ids(&v, &mut alice_ids, 0);
        }
        if let Some(ex) = ctx.send(Request::get(list_url), Some(1)).await?
            && let Some(v) = ex.json().filter(|_| ex.is_success())
        {
            ids(&v, &mut bob_ids, 0);
        }
        for id in alice_ids
            .iter()
            .filter(|i| !bob_ids.contains(i))
            .take(MAX_IDS)
            .cloned()
            .collect::<Vec<_>>()
        {
            let Some(url) = op_url(ctx, item, &[(param.name.as_str(), id.as_str())]) else {
                continue;
            };
            let Some(own) = ctx.send(Request::get(url.clone()), Some(0)).await? else {
                continue;
            };
            if !own.is_success() {
                continue;
            }
            let Some(other) = ctx.send(Request::get(url), Some(1)).await? else {
                continue;
            };
            if other.is_success() && same_object(&own, &other) {
                let (a, b) = (ctx.sessions[0].name.clone(), ctx.sessions[1].name.clone());
                ctx.report(
                    &rules::BOLA,
                    &item.path,
                    &item.path,
                    msg!(
                        "probe.bola",
                        path = &item.path,
                        owner = a,
                        id = id,
                        other = b
                    ),
                    &[&own, &other],
                    &[],
                );
                break;
            }
        }
    }
    Ok(())
}

fn same_object(a: &Exchange, b: &Exchange) -> bool {
    match (a.json(), b.json()) {
        (Some(x), Some(y)) => x == y,
        _ => a.body == b.body,
    }
}

/// Privileged fields and the values planted in them.
const PRIVILEGED: &[(&str, &str)] = &[
    ("role", "admin"),
    ("is_admin", "true"),
    ("isAdmin", "true"),
    ("price", "1"),
    ("price_cents", "1"),
];

/// A103: a secured PATCH/PUT with a documented JSON body, sent with the documented fields plus
/// undocumented privileged ones; the answer shows a privileged value stored.
pub async fn mass_assignment(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::MASS_ASSIGNMENT) {
        return Ok(());
    }
    if ctx.sessions.is_empty() {
        return Ok(());
    }
    let ops: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| {
            o.secured
                && matches!(o.method, Method::PATCH | Method::PUT)
                && !o.body_props.is_empty()
                && !o.has_path_params()
        })
        .cloned()
        .collect();
    for op in ops {
        let Some(url) = ctx.url(&op.path, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let mut body = serde_json::Map::new();
        for p in &op.body_props {
            body.insert(p.clone(), json!("mgprobe"));
        }
        let planted: Vec<&(&str, &str)> = PRIVILEGED
            .iter()
            .filter(|(k, _)| !op.body_props.iter().any(|p| p == k))
            .collect();
        for (k, v) in &planted {
            let value = match *v {
                "true" => json!(true),
                "1" => json!(1),
                other => json!(other),
            };
            body.insert((*k).to_owned(), value);
        }
        let req = Request::new(op.method.clone(), url).json(&Value::Object(body));
        let Some(ex) = ctx.send(req, Some(0)).await? else {
            continue;
        };
        let Some(answer) = ex.json().filter(|_| ex.is_success()) else {
            continue;
        };
        let stored = planted.iter().find(|(k, v)| {
            answer.get(*k).is_some_and(|a| match a {
                Value::String(s) => s == v,
                Value::Bool(b) => b.to_string() == *v,
                Value::Number(n) => n.to_string() == *v,
                _ => false,
            })
        });
        if let Some((k, _)) = stored {
            ctx.report(
                &rules::MASS_ASSIGNMENT,
                &op.path,
                &op.path,
                msg!(
                    "probe.mass-assignment",
                    method = op.method.as_str(),
                    path = &op.path,
                    field = k
                ),
                &[&ex],
                &[],
            );
        }
    }
    Ok(())
}

/// A105: a public POST with a `password` field answers many wrong guesses without 429/423 or
/// `Retry-After`.
pub async fn brute_force(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::NO_THROTTLING) {
        return Ok(());
    }
    let ops: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| o.method == Method::POST && o.body_props.iter().any(|p| p == "password"))
        .cloned()
        .collect();
    for op in ops {
        let Some(url) = ctx.url(&op.path, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) || ctx.client.requests_left() < BRUTE_FORCE_ATTEMPTS as u64 {
            continue;
        }
        let mut last = None;
        let mut first = None;
        let mut throttled = false;
        for i in 0..BRUTE_FORCE_ATTEMPTS {
            let mut body = serde_json::Map::new();
            for p in &op.body_props {
                let v = match p.as_str() {
                    "password" => format!("mgprobe-wrong-{i}"),
                    "username" | "user" | "login" | "email" => "admin".into(),
                    _ => "mgprobe".into(),
                };
                body.insert(p.clone(), json!(v));
            }
            let req = Request::new(Method::POST, url.clone()).json(&Value::Object(body));
            let Some(ex) = ctx.send(req, None).await? else {
                break;
            };
            if matches!(ex.status, 429 | 423 | 503) || ex.header("retry-after").is_some() {
                throttled = true;
                break;
            }
            if first.is_none() {
                first = Some(ex.clone());
            }
            last = Some(ex);
        }
        if !throttled && let (Some(first), Some(last)) = (first, last) {
            ctx.report(
                &rules::NO_THROTTLING,
                &op.path,
                &op.path,
                msg!(
                    "probe.no-throttling",
                    path = &op.path,
                    attempts = BRUTE_FORCE_ATTEMPTS,
                    status = last.status
                ),
                &[&first, &last],
                &["retry-after"],
            );
        }
    }
    Ok(())
}

/// A secured GET without path parameters that answers 2xx to session `who` and not to a request
/// without credentials: the route that shows whether a token still works.
async fn session_probe_route(
    ctx: &mut Ctx<'_>,
    who: usize,
) -> Result<Option<url::Url>, crate::SendError> {
    let candidates: Vec<Operation> = get_ops(ctx)
        .into_iter()
        .filter(|o| o.secured && !o.has_path_params())
        .take(6)
        .collect();
    for op in candidates {
        let Some(url) = op_url(ctx, &op, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let Some(own) = ctx.send(Request::get(url.clone()), Some(who)).await? else {
            continue;
        };
        if !own.is_success() {
            continue;
        }
        let Some(anon) = ctx.send(Request::get(url.clone()), None).await? else {
            continue;
        };
        if !anon.is_success() {
            return Ok(Some(url));
        }
    }
    Ok(None)
}

/// Logs the first login identity in again, for a session the check may end. Its index in
/// `ctx.sessions`; `None` (with a note) when there is no login identity or the login fails.
async fn fresh_session(ctx: &mut Ctx<'_>, why: &str) -> Result<Option<usize>, crate::SendError> {
    let Some(spec) = ctx.fresh_login.clone() else {
        ctx.notes.push(format!(
            "{why} needs an identity that logs in (--as NAME=@FILE with [login]); not checked"
        ));
        return Ok(None);
    };
    match spec.establish(ctx.client, &ctx.base).await {
        Ok((session, login)) => {
            for s in session.secrets() {
                ctx.masker.add(s);
            }
            ctx.log.extend(login);
            ctx.sessions.push(session);
            Ok(Some(ctx.sessions.len() - 1))
        }
        Err(crate::IdentityError::Send { source, .. }) if source.is_budget() => Err(source),
        Err(e) => {
            let note = ctx
                .masker
                .mask(&format!("{why}: a fresh login failed: {e}"));
            ctx.notes.push(note);
            Ok(None)
        }
    }
}

/// The last path segment of an operation, lower-cased.
fn last_segment(op: &Operation) -> String {
    op.path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A107: with fresh sessions of their own, (1) a refresh token spent at a `…/refresh` route is
/// presented again and must be refused; (2) after a `…/logout` answered 2xx, the access token
/// must no longer open a route it opened before.
pub async fn revocation(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::LOGOUT_NOT_REVOKED) {
        return Ok(());
    }
    let posts: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| o.method == Method::POST && !o.has_path_params())
        .cloned()
        .collect();
    let refresh_op = posts
        .iter()
        .find(|o| last_segment(o).contains("refresh") && !o.body_props.is_empty());
    let logout_op = posts
        .iter()
        .find(|o| o.secured && last_segment(o) == "logout");
    let kept = ctx.sessions.len();
    let result = async {
        if let Some(op) = refresh_op {
            refresh_reuse(ctx, op).await?;
        }
        ctx.sessions.truncate(kept);
        if let Some(op) = logout_op {
            logout_keeps_token(ctx, op).await?;
        }
        Ok(())
    }
    .await;
    ctx.sessions.truncate(kept);
    result
}

async fn refresh_reuse(ctx: &mut Ctx<'_>, op: &Operation) -> CheckResult {
    let Some(url) = ctx.url(&op.path, &[]) else {
        return Ok(());
    };
    if !ctx.client.in_scope(&url) {
        return Ok(());
    }
    let Some(who) = fresh_session(ctx, "refresh-token reuse").await? else {
        return Ok(());
    };
    let field = op
        .body_props
        .iter()
        .find(|p| p.to_ascii_lowercase().contains("refresh"))
        .or_else(|| op.body_props.first())
        .cloned()
        .unwrap_or_default();
    let token = ctx.sessions[who].login_answer.as_ref().and_then(|a| {
        [field.as_str(), "refresh_token", "refreshToken"]
            .iter()
            .find_map(|f| a.get(*f).and_then(Value::as_str))
            .map(str::to_owned)
    });
    let Some(token) = token else {
        ctx.notes.push(format!(
            "POST {}: the login answer has no refresh token; reuse not checked",
            op.path
        ));
        return Ok(());
    };
    let body = json!({ field.as_str(): token });
    let Some(first) = ctx
        .send(Request::new(Method::POST, url.clone()).json(&body), None)
        .await?
    else {
        return Ok(());
    };
    if !first.is_success() {
        ctx.notes.push(format!(
            "POST {} answered {} to a fresh refresh token; reuse not checked",
            op.path, first.status
        ));
        return Ok(());
    }
    if let Some(again) = ctx
        .send(Request::new(Method::POST, url).json(&body), None)
        .await?
        && again.is_success()
    {
        ctx.report(
            &rules::LOGOUT_NOT_REVOKED,
            &op.path,
            &op.path,
            msg!(
                "probe.refresh-reused",
                path = &op.path,
                first = first.status,
                again = again.status
            ),
            &[&first, &again],
            &[],
        );
    }
    Ok(())
}

async fn logout_keeps_token(ctx: &mut Ctx<'_>, op: &Operation) -> CheckResult {
    let Some(url) = ctx.url(&op.path, &[]) else {
        return Ok(());
    };
    if !ctx.client.in_scope(&url) {
        return Ok(());
    }
    let Some(who) = fresh_session(ctx, "logout revocation").await? else {
        return Ok(());
    };
    let Some(probe) = session_probe_route(ctx, who).await? else {
        ctx.notes.push(format!(
            "POST {}: no secured GET route answers a session and refuses no session; logout not checked",
            op.path
        ));
        return Ok(());
    };
    let Some(out) = ctx.send(Request::new(Method::POST, url), Some(who)).await? else {
        return Ok(());
    };
    if !out.is_success() {
        ctx.notes.push(format!(
            "POST {} answered {} to a fresh session; logout not checked",
            op.path, out.status
        ));
        return Ok(());
    }
    if let Some(after) = ctx.send(Request::get(probe.clone()), Some(who)).await?
        && after.is_success()
    {
        ctx.report(
            &rules::LOGOUT_NOT_REVOKED,
            &op.path,
            &op.path,
            msg!(
                "probe.logout-not-revoked",
                path = &op.path,
                status = out.status,
                probe = probe.path(),
                after = after.status
            ),
            &[&out, &after],
            &[],
        );
    }
    Ok(())
}

/// A108: a request carrying a nonce is sent twice, identical (same nonce, timestamp and, for
/// signed sessions, signature). Checked on operations that declare a nonce header parameter (a
/// fresh nonce and the current time filled in) and, when the first identity signs its requests,
/// on a secured GET. A second 2xx is a replay accepted.
pub async fn replay(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::REPLAY) {
        return Ok(());
    }
    let ops: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| o.header_param("nonce").is_some() && !o.has_path_params())
        .cloned()
        .collect();
    for op in ops {
        let who = op.secured.then_some(0);
        if who.is_some_and(|i| i >= ctx.sessions.len()) {
            continue;
        }
        let Some(url) = op_url(ctx, &op, &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let nonce = miniguard_crypto::signing::generate_nonce()
            .map_err(|e| crate::SendError::Invalid(format!("nonce: {e}")))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut req = Request::new(op.method.clone(), url);
        if let Some(p) = op.header_param("nonce") {
            req = req.header(&p.name, &nonce);
        }
        if let Some(p) = op
            .header_param("timestamp")
            .or_else(|| op.header_param("time"))
        {
            req = req.header(&p.name, &now.to_string());
        }
        if !op.body_props.is_empty() {
            let body: serde_json::Map<String, Value> = op
                .body_props
                .iter()
                .map(|p| (p.clone(), json!(1)))
                .collect();
            req = req.json(&Value::Object(body));
        }
        replay_twice(ctx, req, who, &op.path).await?;
    }
    if ctx
        .sessions
        .first()
        .is_some_and(crate::identity::Session::is_signed)
    {
        if let Some(url) = session_probe_route(ctx, 0).await? {
            let path = url.path().to_owned();
            replay_twice(ctx, Request::get(url), Some(0), &path).await?;
        } else {
            ctx.notes.push(
                "no secured GET route answers the first identity and refuses no session; replay of a signed request not checked"
                    .into(),
            );
        }
    }
    Ok(())
}

async fn replay_twice(
    ctx: &mut Ctx<'_>,
    request: Request,
    who: Option<usize>,
    route: &str,
) -> CheckResult {
    // Credentials (and a signature) are applied once: the second send is the same bytes.
    let request = match who.and_then(|i| ctx.sessions.get(i)) {
        Some(s) => s.apply(request)?,
        None => request,
    };
    let Some(first) = ctx.send(request.clone(), None).await? else {
        return Ok(());
    };
    if !first.is_success() {
        ctx.notes.push(format!(
            "{} {route} answered {} to a fresh request; replay not checked",
            request.method, first.status
        ));
        return Ok(());
    }
    if let Some(again) = ctx.send(request.clone(), None).await?
        && again.is_success()
    {
        ctx.report(
            &rules::REPLAY,
            route,
            route,
            msg!(
                "probe.replay",
                method = request.method.as_str(),
                route = route,
                first = first.status,
                again = again.status
            ),
            &[&first, &again],
            &["x-mg-nonce"],
        );
    }
    Ok(())
}

/// What a route that changes a second factor does, which orders the attempts: enrolments
/// first, removals last (after one is accepted the account may have no factor left).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FactorChange {
    /// Enrols or replaces a second factor (answers a TOTP secret when it is one).
    Enrol,
    /// Regenerates recovery codes, binds a phone, changes a password.
    Other,
    /// Confirms (activates) an enrolment with a code of the new factor.
    Confirm,
    /// Disables or removes a factor.
    Remove,
}

/// Words of a path that name a second factor.
const FACTOR_WORDS: &[&str] = &[
    "totp",
    "otp",
    "mfa",
    "2fa",
    "authenticator",
    "twofactor",
    "factor",
];
/// Words of a path that name where codes go or a credential a factor change also covers.
const CHANNEL_WORDS: &[&str] = &["phone", "mobile", "password", "passwd"];
/// Last-segment words of routes that change something.
const CHANGE_WORDS: &[&str] = &[
    "enrol",
    "enroll",
    "enrolment",
    "enrollment",
    "setup",
    "register",
    "new",
    "bind",
    "unbind",
    "reset",
    "disable",
    "remove",
    "delete",
    "replace",
    "regenerate",
    "rotate",
    "confirm",
    "activate",
    "change",
    "update",
];
/// Last-segment words of routes that use a factor or a session rather than change them.
const USE_WORDS: &[&str] = &[
    "verify",
    "validate",
    "send",
    "challenge",
    "check",
    "login",
    "logout",
    "status",
];

/// The lower-case words of each segment of a path (split at anything not a letter or digit).
fn path_words(path: &str) -> Vec<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .collect()
}

/// Whether a secured write without path parameters enrols, replaces, confirms or removes a
/// second factor, regenerates recovery codes, binds a phone or changes a password, judged by
/// its path (`/mfa/totp/enroll`, `/mfa/recovery/regenerate`, `/auth/phone`, `/me/password`);
/// routes that verify or send a code (`…/verify`, `…/sms/send`) are not changes.
fn factor_change(op: &Operation) -> Option<FactorChange> {
    if !op.secured
        || op.has_path_params()
        || !matches!(
            op.method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        )
    {
        return None;
    }
    let words = path_words(&op.path);
    let last = words.last()?;
    let last_has = |set: &[&str]| last.iter().any(|w| set.contains(&w.as_str()));
    let any_has = |set: &[&str]| words.iter().flatten().any(|w| set.contains(&w.as_str()));
    if last_has(USE_WORDS) {
        return None;
    }
    let factor = any_has(FACTOR_WORDS);
    let recovery = any_has(&["recovery", "backup"]);
    if !(factor || recovery || any_has(CHANNEL_WORDS)) {
        return None;
    }
    let changes = last_has(CHANGE_WORDS);
    // The route is the factor itself: a write sets or replaces it, DELETE removes it.
    let names_itself =
        last_has(FACTOR_WORDS) || last_has(CHANNEL_WORDS) || (recovery && last_has(&["codes"]));
    if !changes && !names_itself {
        return None;
    }
    Some(
        if op.method == Method::DELETE || last_has(&["disable", "remove", "delete", "unbind"]) {
            FactorChange::Remove
        } else if last_has(&["confirm", "activate"]) {
            FactorChange::Confirm
        } else if factor
            && !recovery
            && (last_has(&[
                "enrol",
                "enroll",
                "enrolment",
                "enrollment",
                "setup",
                "register",
                "new",
                "replace",
            ]) || last_has(FACTOR_WORDS))
        {
            FactorChange::Enrol
        } else {
            FactorChange::Other
        },
    )
}

/// A TOTP secret an enrolment answered: a `secret` field (top level or one object down) or the
/// `secret` of an `otpauth://` URI, with the URI's algorithm, digits and period when it names
/// them. `None` when the answer holds no usable secret.
fn totp_from_answer(
    answer: &Value,
) -> Option<(
    miniguard_crypto::totp::TotpSecret,
    miniguard_crypto::totp::Totp,
    Vec<String>,
)> {
    use miniguard_crypto::totp::{Totp, TotpAlgorithm, TotpSecret};
    fn collect<'a>(v: &'a Value, strings: &mut Vec<(&'a str, &'a str)>) {
        if let Some(o) = v.as_object() {
            for (k, v) in o.iter().take(100) {
                if let Some(s) = v.as_str() {
                    strings.push((k.as_str(), s));
                }
            }
        }
    }
    let mut strings: Vec<(&str, &str)> = Vec::new();
    collect(answer, &mut strings);
    if let Some(o) = answer.as_object() {
        for v in o.values().take(20) {
            collect(v, &mut strings);
        }
    }
    let uri = strings
        .iter()
        .map(|(_, s)| *s)
        .find(|s| s.starts_with("otpauth://totp/") && s.len() < 2048)
        .and_then(|s| url::Url::parse(s).ok());
    let param = |name: &str| {
        uri.as_ref().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.into_owned())
        })
    };
    let text = strings
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("secret"))
        .map(|(_, s)| (*s).to_owned())
        .or_else(|| param("secret"))?;
    let secret = TotpSecret::from_base32(&text).ok()?;
    let algorithm = match param("algorithm")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "" | "SHA1" => TotpAlgorithm::Sha1,
        "SHA256" => TotpAlgorithm::Sha256,
        "SHA512" => TotpAlgorithm::Sha512,
        _ => return None,
    };
    let digits = param("digits").map_or(Some(6), |d| d.parse().ok())?;
    let period = param("period").map_or(Some(30), |d| d.parse().ok())?;
    let totp = Totp::custom(algorithm, digits, period).ok()?;
    let mut shown = vec![text];
    if let Some(u) = &uri {
        shown.push(u.to_string());
    }
    Some((secret, totp, shown))
}

/// The documented body of `op` with every field set to `value`, or fields named like a code to
/// `code` when given; `None` for an operation without a documented body.
fn factor_body(op: &Operation, value: &str, code: Option<&str>) -> Option<Value> {
    if op.body_props.is_empty() {
        return None;
    }
    let body: serde_json::Map<String, Value> = op
        .body_props
        .iter()
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            let v = match code {
                Some(c) if lower.contains("code") || lower.contains("otp") => c,
                _ => value,
            };
            (p.clone(), json!(v))
        })
        .collect();
    Some(Value::Object(body))
}

fn factor_request(op: &Operation, url: url::Url, body: Option<Value>) -> Request {
    let req = Request::new(op.method.clone(), url);
    match body {
        Some(b) => req.json(&b),
        None => req,
    }
}

/// A109: the first identity that logs in gets a TOTP factor (enrolled, and confirmed with a code
/// computed from the secret the enrolment answered), then a fresh login of it, which has
/// verified no factor, sends each factor-changing route once. A 2xx is a factor changed with a
/// session alone. This changes the test account's factors; `--skip A109` leaves them alone.
pub async fn factor_change_without_factor(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::FACTOR_CHANGE_WITHOUT_FACTOR) {
        return Ok(());
    }
    let mut ops: Vec<(FactorChange, Operation)> = ctx
        .ops
        .iter()
        .filter_map(|o| factor_change(o).map(|k| (k, o.clone())))
        .filter(|(_, o)| {
            ctx.url(&o.path, &[])
                .is_some_and(|u| ctx.client.in_scope(&u))
        })
        .collect();
    if ops.is_empty() {
        return Ok(());
    }
    ops.sort_by_key(|(k, _)| *k);
    let kept = ctx.sessions.len();
    let result = async {
        if !add_totp(ctx, &ops).await? {
            return Ok(());
        }
        let Some(who) = fresh_session(ctx, "the second-factor check (A109)").await? else {
            return Ok(());
        };
        let (_, _, none) = crate::checks::inject::fresh_numbers();
        for (kind, op) in &ops {
            let Some(url) = ctx.url(&op.path, &[]) else {
                continue;
            };
            let body = factor_body(op, &none, None);
            let Some(ex) = ctx.send(factor_request(op, url, body), Some(who)).await? else {
                continue;
            };
            if ex.is_success() {
                ctx.report(
                    &rules::FACTOR_CHANGE_WITHOUT_FACTOR,
                    &op.path,
                    &op.path,
                    msg!(
                        "probe.factor-change",
                        method = op.method.as_str(),
                        path = &op.path,
                        status = ex.status,
                        change = match kind {
                            FactorChange::Enrol => msg!("probe.factor-enrol"),
                            FactorChange::Confirm => msg!("probe.factor-confirm"),
                            FactorChange::Remove => msg!("probe.factor-remove"),
                            FactorChange::Other => msg!("probe.factor-other"),
                        }
                    ),
                    &[&ex],
                    &[],
                );
                if *kind == FactorChange::Remove {
                    break;
                }
            }
        }
        Ok(())
    }
    .await;
    ctx.sessions.truncate(kept);
    result
}

/// Gives the first login identity a TOTP factor with a fresh login: the first enrolment route
/// that answers a secret, then the first confirmation route (if any) with the current code.
/// Whether the account now has a factor; a note says why not.
async fn add_totp(
    ctx: &mut Ctx<'_>,
    ops: &[(FactorChange, Operation)],
) -> Result<bool, crate::SendError> {
    let Some((_, enrol)) = ops.iter().find(|(k, _)| *k == FactorChange::Enrol) else {
        ctx.notes.push(
            "no route of the document enrols a TOTP factor: second-factor changes not checked"
                .into(),
        );
        return Ok(false);
    };
    let Some(who) = fresh_session(ctx, "the second-factor check (A109)").await? else {
        return Ok(false);
    };
    let (_, _, none) = crate::checks::inject::fresh_numbers();
    let Some(url) = ctx.url(&enrol.path, &[]) else {
        return Ok(false);
    };
    let body = factor_body(enrol, &none, None);
    let Some(ex) = ctx
        .send(factor_request(enrol, url, body), Some(who))
        .await?
    else {
        return Ok(false);
    };
    let Some((secret, totp, shown)) = ex
        .json()
        .filter(|_| ex.is_success())
        .and_then(|a| totp_from_answer(&a))
    else {
        ctx.notes.push(format!(
            "{} {} answered {} without a TOTP secret to a fresh login (the account may have a factor already): second-factor changes not checked",
            enrol.method, enrol.path, ex.status
        ));
        return Ok(false);
    };
    for s in &shown {
        ctx.masker.add(s);
    }
    let Some((_, confirm)) = ops.iter().find(|(k, _)| *k == FactorChange::Confirm) else {
        return Ok(true);
    };
    let Some(url) = ctx.url(&confirm.path, &[]) else {
        return Ok(false);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let code = totp.generate(&secret, now);
    let body = factor_body(confirm, &none, Some(&code)).unwrap_or_else(|| json!({"code": code}));
    let Some(ex) = ctx
        .send(factor_request(confirm, url, Some(body)), Some(who))
        .await?
    else {
        return Ok(false);
    };
    if !ex.is_success() {
        ctx.notes.push(format!(
            "{} {} answered {} to the current code of the TOTP the probe enrolled: second-factor changes not checked",
            confirm.method, confirm.path, ex.status
        ));
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, path: &str, secured: bool) -> Operation {
        Operation {
            method,
            path: path.into(),
            params: Vec::new(),
            secured,
            body_props: Vec::new(),
        }
    }

    #[test]
    fn factor_changes_are_told_from_factor_uses_by_path() {
        use FactorChange::{Confirm, Enrol, Other, Remove};
        for (method, path, want) in [
            // serve's routes (docs/protocol.md, "Changing factors").
            (Method::POST, "/v1/mfa/totp/enroll", Enrol),
            (Method::POST, "/v1/mfa/totp/confirm", Confirm),
            (Method::POST, "/v1/mfa/totp/disable", Remove),
            (Method::POST, "/v1/mfa/recovery/regenerate", Other),
            (Method::POST, "/v1/auth/wechat/phone", Other),
            (Method::POST, "/v1/admin/password", Other),
            // Other shapes.
            (Method::POST, "/api/mfa/totp", Enrol),
            (Method::PUT, "/api/me/2fa", Enrol),
            (Method::DELETE, "/api/me/totp", Remove),
            (Method::POST, "/api/mfa/recovery-codes/regenerate", Other),
            (Method::POST, "/api/account/backup-codes", Other),
            (Method::PATCH, "/api/me/password", Other),
            (Method::POST, "/api/user/mobile/bind", Other),
            (Method::POST, "/api/two-factor/setup", Enrol),
        ] {
            assert_eq!(
                factor_change(&op(method.clone(), path, true)),
                Some(want),
                "{method} {path}"
            );
        }
        for (method, path, secured) in [
            // Routes that use a factor or a session, and the rest.
            (Method::POST, "/v1/mfa/totp/verify", true),
            (Method::POST, "/v1/mfa/recovery", true),
            (Method::POST, "/v1/mfa/sms/send", true),
            (Method::POST, "/v1/mfa/sms/verify", true),
            (Method::POST, "/v1/mfa/soter/challenge", true),
            (Method::POST, "/v1/admin/login", false),
            (Method::POST, "/api/admin/login", true),
            (Method::POST, "/v1/auth/logout", true),
            (Method::PATCH, "/api/me", true),
            (Method::POST, "/api/points/transfer", true),
            (Method::POST, "/api/photos/update", true),
            // A read, and a route not declared as needing a session.
            (Method::GET, "/v1/mfa/totp/enroll", true),
            (Method::POST, "/api/password/reset", false),
        ] {
            assert_eq!(
                factor_change(&op(method.clone(), path, secured)),
                None,
                "{method} {path}"
            );
        }
        let mut with_id = op(Method::DELETE, "/api/users/{id}/totp", true);
        with_id.params.push(crate::openapi::Param {
            name: "id".into(),
            location: crate::openapi::ParamIn::Path,
            example: None,
            integer: true,
        });
        assert_eq!(
            factor_change(&with_id),
            None,
            "only the probe's own account"
        );
        // Enrolments first, removals last.
        assert!(Enrol < Other && Other < Confirm && Confirm < Remove);
    }

    #[test]
    fn a_totp_secret_is_read_from_an_enrolment_answer() {
        use miniguard_crypto::totp::{Totp, TotpSecret};
        let key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let reference = TotpSecret::from_base32(key).unwrap();
        let at = 1_700_000_000;
        // A `secret` field (serve's answer).
        let (secret, totp, shown) = totp_from_answer(
            &json!({"secret": key, "otpauth_uri": format!("otpauth://totp/x?secret={key}")}),
        )
        .unwrap();
        assert_eq!(
            totp.generate(&secret, at),
            Totp::new().generate(&reference, at)
        );
        assert!(shown.iter().any(|s| s == key), "the secret is masked");
        // Only a URI, one object down, with its own parameters.
        let (secret, totp, _) = totp_from_answer(&json!({"data": {"uri": format!(
            "otpauth://totp/Shop:a?secret={key}&digits=8&period=60&algorithm=SHA256"
        )}}))
        .unwrap();
        let custom = Totp::custom(miniguard_crypto::totp::TotpAlgorithm::Sha256, 8, 60).unwrap();
        assert_eq!(totp.generate(&secret, at), custom.generate(&reference, at));
        assert_eq!(totp.generate(&secret, at).len(), 8);
        // Nothing usable.
        for answer in [
            json!({"ok": true}),
            json!({"secret": "not base32!"}),
            json!({"secret": "JBSWY3DP"}),
            json!({"uri": format!("otpauth://totp/x?secret={key}&algorithm=MD5")}),
            json!({"uri": format!("otpauth://totp/x?secret={key}&digits=12")}),
            json!([key]),
        ] {
            assert!(totp_from_answer(&answer).is_none(), "{answer}");
        }
    }

    #[test]
    fn factor_bodies_never_carry_a_valid_code_unless_given_one() {
        let mut confirm = op(Method::POST, "/v1/mfa/totp/confirm", true);
        assert_eq!(factor_body(&confirm, "mgprobe-none-1", None), None);
        confirm.body_props = vec!["code".into(), "label".into()];
        assert_eq!(
            factor_body(&confirm, "mgprobe-none-1", None),
            Some(json!({"code": "mgprobe-none-1", "label": "mgprobe-none-1"}))
        );
        assert_eq!(
            factor_body(&confirm, "mgprobe-none-1", Some("123456")),
            Some(json!({"code": "123456", "label": "mgprobe-none-1"}))
        );
    }
}
