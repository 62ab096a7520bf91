//! Authentication and authorization: secured routes answering without credentials, identities
//! taken from the client, one user's objects served to another, privileged fields accepted in
//! writes, and password logins without throttling.

use reqwest::Method;
use serde_json::{Value, json};

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
                &format!(
                    "GET {} is declared as secured but answered {} to a request without credentials.",
                    op.path, ex.status
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
                    &format!(
                        "GET {} refuses an anonymous request ({}) but serves user data when the query names the user in `{param}`.",
                        op.path, plain.status
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
                    &format!(
                        "GET {} returns {a}'s object {id} to {b}, whose own list does not contain it.",
                        item.path
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
                &format!(
                    "{} {} stores `{k}`, a field its documented body does not have, from the client.",
                    op.method, op.path
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
                &format!(
                    "POST {} answered {BRUTE_FORCE_ATTEMPTS} wrong passwords in a row without throttling or lockout (last: {}).",
                    op.path, last.status
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
            &format!(
                "POST {} accepted a refresh token a second time after it had been spent ({} then {}).",
                op.path, first.status, again.status
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
            &format!(
                "after POST {} answered {}, the same access token still opens GET {} ({}).",
                op.path,
                out.status,
                probe.path(),
                after.status
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
            &format!(
                "{} {route} accepted the same request (same nonce) twice: {} then {}.",
                request.method, first.status, again.status
            ),
            &[&first, &again],
            &["x-mg-nonce"],
        );
    }
    Ok(())
}
