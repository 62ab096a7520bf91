//! Injection into query parameters (SQL by error, boolean difference and time, NoSQL operators
//! and `$where` conditions,
//! OS commands by echo and by time, server-side templates, path traversal, reflected XSS, open
//! redirect, SSRF against a canary listener of the probe's own on loopback, uncapped page sizes),
//! NoSQL operators in JSON bodies, and CORS origin reflection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use miniguard_report::msg;

use crate::checks::passive::sql_error;
use crate::client::{Exchange, Request};
use crate::openapi::{Operation, Param};
use crate::rules;
use crate::run::{CheckResult, Ctx};

const FOREIGN_ORIGIN: &str = "https://mg-probe.invalid";
const REDIRECT_TARGET: &str = "https://mg-probe.invalid/redirected";
const XSS_MARKER: &str = "<mgprobe7>";
const TRAVERSAL: &str = "../../../../../../../../../../../../etc/passwd";

/// C102: a foreign Origin echoed with credentials allowed.
pub async fn cors(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::CORS_REFLECTION) {
        return Ok(());
    }
    let mut targets = vec![(ctx.base.clone(), None)];
    let who = (!ctx.sessions.is_empty()).then_some(0);
    if let Some(op) = ctx
        .ops
        .iter()
        .find(|o| o.method == Method::GET && o.secured && !o.has_path_params())
        && let Some(u) = ctx.url(&op.path, &[])
    {
        targets.push((u, who));
    }
    for (url, who) in targets {
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let req = Request::get(url.clone()).header("origin", FOREIGN_ORIGIN);
        let Some(ex) = ctx.send(req, who).await? else {
            continue;
        };
        let reflected = ex.header("access-control-allow-origin") == Some(FOREIGN_ORIGIN);
        let credentials = ex
            .header("access-control-allow-credentials")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if reflected && credentials {
            ctx.report(
                &rules::CORS_REFLECTION,
                "cors",
                url.path(),
                msg!("probe.cors", path = url.path(), origin = FOREIGN_ORIGIN),
                &[&ex],
                &[
                    "access-control-allow-origin",
                    "access-control-allow-credentials",
                ],
            );
            break;
        }
    }
    Ok(())
}

/// The probe's own SSRF canary: a loopback listener that records the paths it is asked for.
struct Canary {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Canary {
    async fn start() -> Option<Canary> {
        let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
        let port = listener.local_addr().ok()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]);
                    if let Some(path) = head.lines().next().and_then(|l| l.split(' ').nth(1)) {
                        // The list is bounded; a poisoned lock still holds valid strings.
                        let mut seen = record
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if seen.len() < 1000 {
                            seen.push(path.to_owned());
                        }
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        Some(Canary { port, seen, task })
    }

    async fn was_hit(&self, token: &str) -> bool {
        for _ in 0..10 {
            if self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .any(|p| p.contains(token))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every query parameter of every GET operation, with each injection.
pub async fn run(ctx: &mut Ctx<'_>) -> CheckResult {
    let canary = Canary::start().await;
    if canary.is_none() {
        ctx.notes
            .push("the SSRF canary could not listen on 127.0.0.1; SSRF was not checked".into());
    }
    let ops: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| o.method == Method::GET)
        .cloned()
        .collect();
    for op in ops {
        let who = (op.secured && !ctx.sessions.is_empty()).then_some(0);
        for param in op.query_params().cloned().collect::<Vec<_>>() {
            let point = Point {
                op: &op,
                param: &param,
                who,
            };
            sql(ctx, &point).await?;
            simple(ctx, &point).await?;
            if let Some(c) = &canary {
                ssrf(ctx, &point, c).await?;
            }
            nosql_query(ctx, &point).await?;
            nosql_where(ctx, &point).await?;
            page_size(ctx, &point).await?;
            command(ctx, &point).await?;
            template(ctx, &point).await?;
        }
    }
    nosql_bodies(ctx).await?;
    Ok(())
}

/// A number that differs between runs (not secret: it only makes markers unique).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

/// Two factors from 1000 to 9999 and a value that matches nothing, fresh per call.
pub(crate) fn fresh_numbers() -> (u64, u64, String) {
    let r = random_u64();
    (
        1000 + r % 9000,
        1000 + (r >> 20) % 9000,
        format!("mgprobe-none-{:x}", r >> 40),
    )
}

/// One injection point: a query parameter of an operation, sent as an identity.
struct Point<'a> {
    op: &'a Operation,
    param: &'a Param,
    who: Option<usize>,
}

impl Point<'_> {
    fn base_value(&self) -> String {
        self.param.example.clone().unwrap_or_else(|| {
            if self.param.integer {
                "1".into()
            } else {
                "mgprobe".into()
            }
        })
    }

    async fn send(
        &self,
        ctx: &mut Ctx<'_>,
        value: &str,
    ) -> Result<Option<Exchange>, crate::SendError> {
        self.send_named(ctx, &self.param.name, value).await
    }

    /// Sends `name=value` in place of the parameter (e.g. `code[$ne]=x` for `code`).
    async fn send_named(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        value: &str,
    ) -> Result<Option<Exchange>, crate::SendError> {
        let mut pairs: Vec<(String, String)> = self
            .op
            .query_params()
            .filter(|p| p.name != self.param.name)
            .filter_map(|p| p.example.clone().map(|e| (p.name.clone(), e)))
            .collect();
        pairs.push((name.to_owned(), value.to_owned()));
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let Some(url) = ctx.url(&ctx.fill(self.op, &[]), &refs) else {
            return Ok(None);
        };
        if !ctx.client.in_scope(&url) {
            return Ok(None);
        }
        ctx.send(Request::get(url), self.who).await
    }

    fn key(&self) -> String {
        format!("{} {}", self.op.path, self.param.name)
    }
}

/// I101: error-based (a quote yields a database error the plain value does not) and
/// boolean-based (a true condition answers like the plain value, a false one differently).
async fn sql(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::SQL_INJECTION) {
        return Ok(());
    }
    let v = p.base_value();
    let Some(baseline) = p.send(ctx, &v).await? else {
        return Ok(());
    };
    if let Some(ex) = p.send(ctx, &format!("{v}'")).await?
        && sql_error(&ex.body)
        && !sql_error(&baseline.body)
    {
        ctx.report(
            &rules::SQL_INJECTION,
            &p.key(),
            &p.op.path,
            msg!("probe.sql-error", param = &p.param.name, path = &p.op.path),
            &[&baseline, &ex],
            &[],
        );
        return Ok(());
    }
    if !baseline.is_success() {
        return time_based(ctx, p, &baseline).await;
    }
    for (t, f) in [
        (format!("{v}' AND 1=1-- -"), format!("{v}' AND 1=2-- -")),
        (format!("{v} AND 1=1"), format!("{v} AND 1=2")),
    ] {
        let Some(yes) = p.send(ctx, &t).await? else {
            continue;
        };
        if !yes.is_success() || yes.body != baseline.body {
            continue;
        }
        let Some(no) = p.send(ctx, &f).await? else {
            continue;
        };
        if no.body == yes.body {
            continue;
        }
        // Once more, so that an answer that changes by itself is not taken for a difference.
        let Some(again) = p.send(ctx, &t).await? else {
            continue;
        };
        if again.body == yes.body {
            ctx.report(
                &rules::SQL_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.sql-boolean",
                    param = &p.param.name,
                    path = &p.op.path
                ),
                &[&yes, &no],
                &[],
            );
            return Ok(());
        }
    }
    time_based(ctx, p, &baseline).await
}

/// Payloads that make the database work (`heavy(n)`) or not (`heavy(0)`), per engine: `MySQL` and
/// `MariaDB` sleep `n` seconds; SQLite, which cannot sleep, counts a recursive sequence of
/// `n` million rows. The work grows with `n` so that a fast database still shows the delay.
fn time_payload(engine: usize, v: &str, n: u32) -> String {
    if engine == 0 {
        format!("{v}' OR SLEEP({n})-- -")
    } else {
        let rows = if n == 0 { 1 } else { u64::from(n) * 1_000_000 };
        format!(
            "{v}' OR 1=(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT {rows}) SELECT count(*)>0 FROM c)-- -"
        )
    }
}

/// Engines `time_payload` knows.
const TIME_ENGINES: usize = 2;
/// The first amount of work asked for (seconds of sleep, millions of rows); doubled while the
/// answer is slower than the plain value but not yet by the margin.
const TIME_FIRST_WORK: u32 = 1;
/// The most work asked for: 16 seconds of sleep or 16 million rows, still under the request
/// timeout on a small machine.
const TIME_MOST_WORK: u32 = 16;
/// Tries at confirming a delay (no-work payload fast, work payload slow again): a second one
/// keeps a busy moment of the server from hiding a real delay.
const TIME_CONFIRMATIONS: usize = 2;
/// The extra time a heavy payload must take over both the plain value and the same payload
/// doing no work, twice, to count as a delay the parameter caused.
const TIME_MARGIN: Duration = Duration::from_millis(900);
/// A heavy answer this much slower than the floor shows that the work is being done, so more
/// work is asked for; below it, the engine is taken not to run the payload.
const TIME_HINT: Duration = Duration::from_millis(150);

/// I101 (time-based): a payload that makes the database work is slower than the plain value and
/// than the same payload doing no work, by a margin, twice in a row, and the no-work payload is
/// fast again in between. The work doubles while the delay shows but is under the margin, so a
/// fast machine is not a miss. Run only when error and boolean didn't answer.
async fn time_based(ctx: &mut Ctx<'_>, p: &Point<'_>, baseline: &Exchange) -> CheckResult {
    let v = p.base_value();
    for engine in 0..TIME_ENGINES {
        let Some(fast) = p.send(ctx, &time_payload(engine, &v, 0)).await? else {
            continue;
        };
        let floor = baseline.elapsed.max(fast.elapsed);
        let mut work = TIME_FIRST_WORK;
        let slow = loop {
            let Some(slow) = p.send(ctx, &time_payload(engine, &v, work)).await? else {
                break None;
            };
            if slow.elapsed >= floor + TIME_MARGIN {
                break Some(slow);
            }
            if slow.elapsed < floor + TIME_HINT || work >= TIME_MOST_WORK {
                break None;
            }
            work *= 2;
        };
        let Some(slow) = slow else {
            continue;
        };
        // The same payload without work is fast again, and with work slow again: the delay
        // follows the parameter, not a busy moment of the server. A busy moment can also spoil
        // the confirmation itself, so it gets a second try (never more).
        for _ in 0..TIME_CONFIRMATIONS {
            let Some(fast_again) = p.send(ctx, &time_payload(engine, &v, 0)).await? else {
                break;
            };
            if fast_again.elapsed >= floor + TIME_MARGIN {
                continue;
            }
            let Some(again) = p.send(ctx, &time_payload(engine, &v, work)).await? else {
                break;
            };
            if again.elapsed < fast_again.elapsed.max(floor) + TIME_MARGIN {
                continue;
            }
            let ms = |d: Duration| d.as_millis();
            ctx.report(
                &rules::SQL_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.sql-time",
                    param = &p.param.name,
                    path = &p.op.path,
                    slow = ms(slow.elapsed),
                    again = ms(again.elapsed),
                    plain = ms(baseline.elapsed),
                    fast = ms(fast.elapsed),
                    fast_again = ms(fast_again.elapsed)
                ),
                &[&slow, &fast],
                &[],
            );
            return Ok(());
        }
    }
    Ok(())
}

/// I103, X101, C104: one request each.
async fn simple(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if ctx.enabled(&rules::PATH_TRAVERSAL)
        && let Some(ex) = p.send(ctx, TRAVERSAL).await?
        && (ex.body.contains("root:x:0:0:") || ex.body.contains("root:*:0:0:"))
    {
        ctx.report(
            &rules::PATH_TRAVERSAL,
            &p.key(),
            &p.op.path,
            msg!(
                "probe.path-traversal",
                param = &p.param.name,
                path = &p.op.path
            ),
            &[&ex],
            &[],
        );
    }
    let value = format!("mgx{XSS_MARKER}");
    if ctx.enabled(&rules::REFLECTED_XSS)
        && let Some(ex) = p.send(ctx, &value).await?
        && ex
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"))
        && ex.body.contains(XSS_MARKER)
    {
        ctx.report(
            &rules::REFLECTED_XSS,
            &p.key(),
            &p.op.path,
            msg!(
                "probe.reflected-xss",
                param = &p.param.name,
                path = &p.op.path
            ),
            &[&ex],
            &["content-type"],
        );
    }
    if ctx.enabled(&rules::OPEN_REDIRECT)
        && let Some(ex) = p.send(ctx, REDIRECT_TARGET).await?
        && (300..400).contains(&ex.status)
        && ex.header("location").is_some_and(|l| {
            l.starts_with("https://mg-probe.invalid") || l.starts_with("//mg-probe.invalid")
        })
    {
        ctx.report(
            &rules::OPEN_REDIRECT,
            &p.key(),
            &p.op.path,
            msg!(
                "probe.open-redirect",
                param = &p.param.name,
                path = &p.op.path
            ),
            &[&ex],
            &["location"],
        );
    }
    Ok(())
}

/// I104: the parameter is a URL the backend fetches, shown by the canary receiving the request.
async fn ssrf(ctx: &mut Ctx<'_>, p: &Point<'_>, canary: &Canary) -> CheckResult {
    if !ctx.enabled(&rules::SSRF) {
        return Ok(());
    }
    let token = format!(
        "mg-ssrf-{}",
        miniguard_crypto::signing::generate_nonce()
            .unwrap_or_else(|_| "fixed".into())
            .replace(['-', '_'], "")
    );
    let value = format!("http://127.0.0.1:{}/{token}", canary.port);
    let Some(ex) = p.send(ctx, &value).await? else {
        return Ok(());
    };
    if canary.was_hit(&token).await {
        ctx.report(
            &rules::SSRF,
            &p.key(),
            &p.op.path,
            msg!("probe.ssrf", param = &p.param.name, path = &p.op.path),
            &[&ex],
            &[],
        );
    }
    Ok(())
}

/// I102 (query): `name[$eq]=v` answers exactly like `name=v` (so the bracket is read as an
/// operator, not ignored), and `name[$ne]=v` or `name[$gt]=` answers successfully with something
/// else, while the plain value answers the same again.
async fn nosql_query(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::NOSQL_INJECTION) {
        return Ok(());
    }
    let (_, _, none) = fresh_numbers();
    let name = &p.param.name;
    let Some(plain) = p.send(ctx, &none).await? else {
        return Ok(());
    };
    let Some(eq) = p.send_named(ctx, &format!("{name}[$eq]"), &none).await? else {
        return Ok(());
    };
    if eq.status != plain.status || eq.body != plain.body {
        return Ok(());
    }
    for (op, value) in [("$ne", none.as_str()), ("$gt", "")] {
        let Some(ex) = p.send_named(ctx, &format!("{name}[{op}]"), value).await? else {
            continue;
        };
        if !ex.is_success() || ex.body == plain.body {
            continue;
        }
        let Some(again) = p.send(ctx, &none).await? else {
            return Ok(());
        };
        if again.body == plain.body {
            ctx.report(
                &rules::NOSQL_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.nosql-operators",
                    name = name,
                    path = &p.op.path,
                    op = op
                ),
                &[&plain, &ex],
                &[],
            );
            return Ok(());
        }
    }
    Ok(())
}

/// `$where` conditions as a true and a false twin: a JavaScript expression (how `MongoDB` and
/// filter libraries such as `sift` read a string) and a function body (how a filter built with
/// `new Function(body)` reads it). Both only compare constants: nothing is changed or slowed.
const WHERE_TWINS: &[(&str, &str)] = &[("true", "false"), ("return true", "return false")];

/// Where a `$where` condition goes in a query string: top level in place of the parameter (a
/// whole parsed query used as the filter) or on the parameter itself.
fn where_forms(name: &str) -> [String; 2] {
    ["$where".to_owned(), format!("{name}[$where]")]
}

/// I102 (`$where`): a `$where` condition sent in place of the parameter, top level
/// (`$where=true`) or on the field (`name[$where]=true`): the true twin answers 2xx and differently
/// from the false twin, and each answers the same again, so the server ran the condition.
async fn nosql_where(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::NOSQL_INJECTION) {
        return Ok(());
    }
    for (form, key) in where_forms(&p.param.name)
        .into_iter()
        .zip([format!("{} $where", p.op.path), p.key()])
    {
        for (t, f) in WHERE_TWINS {
            let Some(yes) = p.send_named(ctx, &form, t).await? else {
                return Ok(());
            };
            if !yes.is_success() {
                continue;
            }
            let Some(no) = p.send_named(ctx, &form, f).await? else {
                return Ok(());
            };
            if no.status == yes.status && no.body == yes.body {
                continue;
            }
            // Once more each, so that an answer that changes by itself is not taken for one.
            let Some(yes_again) = p.send_named(ctx, &form, t).await? else {
                return Ok(());
            };
            let Some(no_again) = p.send_named(ctx, &form, f).await? else {
                return Ok(());
            };
            if yes_again.body != yes.body || no_again.body != no.body {
                continue;
            }
            ctx.report(
                &rules::NOSQL_INJECTION,
                &key,
                &p.op.path,
                msg!(
                    "probe.nosql-where",
                    path = &p.op.path,
                    form = form,
                    yes = t,
                    yes_status = yes.status,
                    no = f,
                    no_status = no.status
                ),
                &[&yes, &no],
                &[],
            );
            return Ok(());
        }
    }
    Ok(())
}

/// The most body fields of one operation tried with operators.
const MAX_BODY_FIELDS: usize = 5;

/// I102 (JSON bodies): for POST/PUT/PATCH operations with a documented JSON body, each field
/// (the others set to a value that matches nothing) as `{"$eq": v}` answers exactly like `v`,
/// and `{"$ne": v}` or `{"$gt": ""}` successfully with something else.
async fn nosql_bodies(ctx: &mut Ctx<'_>) -> CheckResult {
    if !ctx.enabled(&rules::NOSQL_INJECTION) {
        return Ok(());
    }
    let ops: Vec<Operation> = ctx
        .ops
        .iter()
        .filter(|o| {
            matches!(o.method, Method::POST | Method::PUT | Method::PATCH)
                && !o.body_props.is_empty()
        })
        .cloned()
        .collect();
    for op in ops {
        let who = (op.secured && !ctx.sessions.is_empty()).then_some(0);
        if op.secured && who.is_none() {
            continue;
        }
        let Some(url) = ctx.url(&ctx.fill(&op, &[]), &[]) else {
            continue;
        };
        if !ctx.client.in_scope(&url) {
            continue;
        }
        let (_, _, none) = fresh_numbers();
        let body = |field: &str, value: serde_json::Value| {
            let mut map = serde_json::Map::new();
            for p in &op.body_props {
                map.insert(p.clone(), serde_json::Value::String(none.clone()));
            }
            map.insert(field.to_owned(), value);
            serde_json::Value::Object(map)
        };
        let send =
            |value: serde_json::Value| Request::new(op.method.clone(), url.clone()).json(&value);
        'fields: for field in op.body_props.iter().take(MAX_BODY_FIELDS) {
            let plain_body = body(field, serde_json::json!(none));
            let Some(plain) = ctx.send(send(plain_body.clone()), who).await? else {
                continue;
            };
            let Some(eq) = ctx
                .send(send(body(field, serde_json::json!({"$eq": none}))), who)
                .await?
            else {
                continue;
            };
            if eq.status != plain.status || eq.body != plain.body {
                continue;
            }
            for (op_name, value) in [
                ("$ne", serde_json::json!({"$ne": none})),
                ("$gt", serde_json::json!({"$gt": ""})),
            ] {
                let Some(ex) = ctx.send(send(body(field, value)), who).await? else {
                    continue;
                };
                if !ex.is_success() || ex.body == plain.body {
                    continue;
                }
                let Some(again) = ctx.send(send(plain_body.clone()), who).await? else {
                    continue 'fields;
                };
                if again.status == plain.status && again.body == plain.body {
                    ctx.report(
                        &rules::NOSQL_INJECTION,
                        &format!("{} {field}", op.path),
                        &op.path,
                        msg!(
                            "probe.nosql-body",
                            field = field,
                            method = op.method.as_str(),
                            path = &op.path,
                            op = op_name
                        ),
                        &[&plain, &ex],
                        &[],
                    );
                    break 'fields;
                }
            }
        }
    }
    Ok(())
}

/// I105: a shell command appended to the value runs: its output (a sum the payload only spells
/// out, so an echo of the payload is not taken for it) comes back.
async fn command(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::COMMAND_INJECTION) {
        return Ok(());
    }
    let (a, b, _) = fresh_numbers();
    let v = p.base_value();
    let cmd = format!("echo mgc$(({a}+{b}))x");
    let expected = format!("mgc{}x", a + b);
    for payload in [
        format!("{v};{cmd}"),
        format!("{v}$({cmd})"),
        format!("{v}`{cmd}`"),
        format!("{v}';{cmd};'"),
        format!("{v}\n{cmd}"),
    ] {
        let Some(ex) = p.send(ctx, &payload).await? else {
            continue;
        };
        if ex.body.contains(&expected) {
            ctx.report(
                &rules::COMMAND_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.command-output",
                    param = &p.param.name,
                    path = &p.op.path,
                    payload = payload.replace('\n', "\\n"),
                    expected = &expected
                ),
                &[&ex],
                &[],
            );
            return Ok(());
        }
    }
    command_time(ctx, p).await
}

/// The seconds a blind command payload sleeps.
const COMMAND_SLEEP: u32 = 3;
/// The extra time a sleeping payload must take over the plain value and over the same payload
/// sleeping 0 s.
const COMMAND_MARGIN: Duration = Duration::from_secs(2);

/// I105 (blind): `;sleep 3` (or `$(sleep 3)`) makes the answer slower than the plain value and
/// than `;sleep 0` by 2 s, twice, with `;sleep 0` fast in between.
async fn command_time(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    let v = p.base_value();
    let Some(baseline) = p.send(ctx, &v).await? else {
        return Ok(());
    };
    let payloads = |n: u32| [format!("{v};sleep {n}"), format!("{v}$(sleep {n})")];
    for (slow_payload, fast_payload) in payloads(COMMAND_SLEEP).into_iter().zip(payloads(0)) {
        let Some(slow) = p.send(ctx, &slow_payload).await? else {
            continue;
        };
        if slow.elapsed < baseline.elapsed + COMMAND_MARGIN {
            continue;
        }
        let Some(fast) = p.send(ctx, &fast_payload).await? else {
            continue;
        };
        if fast.elapsed >= baseline.elapsed + COMMAND_MARGIN {
            continue;
        }
        let Some(again) = p.send(ctx, &slow_payload).await? else {
            continue;
        };
        if again.elapsed >= fast.elapsed.max(baseline.elapsed) + COMMAND_MARGIN {
            let ms = |d: Duration| d.as_millis();
            ctx.report(
                &rules::COMMAND_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.command-time",
                    param = &p.param.name,
                    path = &p.op.path,
                    slow_payload = slow_payload,
                    slow = ms(slow.elapsed),
                    again = ms(again.elapsed),
                    plain = ms(baseline.elapsed),
                    fast_payload = fast_payload,
                    fast = ms(fast.elapsed)
                ),
                &[&slow, &fast],
                &[],
            );
            return Ok(());
        }
    }
    Ok(())
}

/// I106: a template expression in the value is evaluated: the product of two random numbers
/// comes back where the payload only spelled out the multiplication.
async fn template(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::TEMPLATE_INJECTION) {
        return Ok(());
    }
    let (a, b, _) = fresh_numbers();
    let expected = format!("mgt{}x", a * b);
    for payload in [
        format!("mgt{{{{{a}*{b}}}}}x"),
        format!("mgt${{{a}*{b}}}x"),
        format!("mgt<%= {a}*{b} %>x"),
        format!("mgt#{{{a}*{b}}}x"),
    ] {
        let Some(ex) = p.send(ctx, &payload).await? else {
            continue;
        };
        if ex.body.contains(&expected) {
            ctx.report(
                &rules::TEMPLATE_INJECTION,
                &p.key(),
                &p.op.path,
                msg!(
                    "probe.template",
                    param = &p.param.name,
                    path = &p.op.path,
                    payload = payload,
                    expected = &expected
                ),
                &[&ex],
                &[],
            );
            return Ok(());
        }
    }
    Ok(())
}

/// The page size asked for by C106.
const HUGE_PAGE: u64 = 100_000;
/// More items than this in one answer show that no sane cap was applied.
const MOST_ITEMS: usize = 1000;

/// Whether a parameter name is a page size (`limit`, `pageSize`, `per_page`, ...).
fn is_page_size(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        n.as_str(),
        "limit"
            | "pagesize"
            | "perpage"
            | "size"
            | "pagelimit"
            | "take"
            | "top"
            | "first"
            | "count"
            | "maxresults"
            | "rows"
            | "num"
    )
}

/// The largest array in a JSON answer and whether a number equals `echo`, depth-bounded.
fn scan_json(v: &serde_json::Value, echo: u64, depth: usize) -> (usize, bool) {
    if depth > 8 {
        return (0, false);
    }
    match v {
        serde_json::Value::Array(a) => a.iter().take(10_000).fold((a.len(), false), |acc, x| {
            let (n, e) = scan_json(x, echo, depth + 1);
            (acc.0.max(n), acc.1 || e)
        }),
        serde_json::Value::Object(o) => o.values().fold((0, false), |acc, x| {
            let (n, e) = scan_json(x, echo, depth + 1);
            (acc.0.max(n), acc.1 || e)
        }),
        serde_json::Value::Number(n) => (0, n.as_u64() == Some(echo)),
        _ => (0, false),
    }
}

/// C106: a page-size parameter set to 100000 is answered 2xx with more than 1000 items or with
/// the size echoed back as accepted.
async fn page_size(ctx: &mut Ctx<'_>, p: &Point<'_>) -> CheckResult {
    if !ctx.enabled(&rules::EXPENSIVE_QUERY) {
        return Ok(());
    }
    if !is_page_size(&p.param.name) {
        return Ok(());
    }
    let Some(ex) = p.send(ctx, &HUGE_PAGE.to_string()).await? else {
        return Ok(());
    };
    let Some(json) = ex.json().filter(|_| ex.is_success()) else {
        return Ok(());
    };
    let (items, echoed) = scan_json(&json, HUGE_PAGE, 0);
    if items > MOST_ITEMS || echoed {
        let what = if items > MOST_ITEMS {
            msg!("probe.items-in-answer", items = items)
        } else {
            msg!("probe.page-size-confirmed", size = HUGE_PAGE)
        };
        ctx.report(
            &rules::EXPENSIVE_QUERY,
            &p.key(),
            &p.op.path,
            msg!(
                "probe.expensive-query",
                param = &p.param.name,
                path = &p.op.path,
                size = HUGE_PAGE,
                what = what
            ),
            &[&ex],
            &[],
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_twins_differ_only_in_their_truth() {
        for (t, f) in WHERE_TWINS {
            assert_ne!(t, f);
            assert_eq!(t.replace("true", "false"), *f);
        }
        assert_eq!(where_forms("code"), ["$where", "code[$where]"]);
    }

    #[test]
    fn page_size_names() {
        for n in [
            "limit",
            "pageSize",
            "page_size",
            "per_page",
            "PerPage",
            "size",
            "take",
            "top",
        ] {
            assert!(is_page_size(n), "{n}");
        }
        for n in ["page", "offset", "sizes", "limited", "q", "name", "sort"] {
            assert!(!is_page_size(n), "{n}");
        }
    }

    #[test]
    fn json_scan_finds_big_arrays_and_echoes() {
        let items: Vec<u64> = (0..1500).collect();
        let v = serde_json::json!({"limit": 100_000, "page": {"items": items}});
        assert_eq!(scan_json(&v, HUGE_PAGE, 0), (1500, true));
        let v = serde_json::json!({"limit": 50, "items": [1, 2, 3]});
        assert_eq!(scan_json(&v, HUGE_PAGE, 0), (3, false));
        // Depth-bounded: a deeply nested echo is not searched for ever.
        let mut deep = serde_json::json!(100_000);
        for _ in 0..20 {
            deep = serde_json::json!([deep]);
        }
        assert_eq!(scan_json(&deep, HUGE_PAGE, 0), (1, false));
    }

    #[test]
    fn markers_differ_between_calls_and_from_their_payloads() {
        let (a, b, none) = fresh_numbers();
        assert!((1000..10_000).contains(&a) && (1000..10_000).contains(&b));
        assert!(none.starts_with("mgprobe-none-"));
        // The payload spells the sum out; only its computed value is looked for.
        let payload = format!("echo mgc$(({a}+{b}))x");
        assert!(!payload.contains(&format!("mgc{}x", a + b)));
        let later: Vec<(u64, u64, String)> = (0..4).map(|_| fresh_numbers()).collect();
        assert!(later.iter().any(|(x, y, _)| (*x, *y) != (a, b)));
    }
}
