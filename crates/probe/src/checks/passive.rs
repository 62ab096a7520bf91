//! Checks over every answer already seen, sending nothing: security headers, HSTS, stack
//! traces and SQL errors, tokens in URLs.

use std::sync::LazyLock;

use regex::Regex;

use miniguard_report::msg;

use crate::client::Exchange;
use crate::rules;
use crate::run::Ctx;

static STACK_OR_SQL: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern: it cannot fail to compile.
    Regex::new(concat!(
        r"(?i)(\bat [\w$.<>]+ \((?:/|[a-z]:\\|node:)[^)]*:\d+:\d+\))",
        r"|(Traceback \(most recent call last\))",
        r"|(\bat [\w.$]+\([\w]+\.java:\d+\))",
        r"|(you have an error in your sql syntax|ER_PARSE_ERROR|ER_BAD_FIELD_ERROR|SQLITE_ERROR",
        r"|unrecognized token: |near \S+: syntax error|unterminated quoted string",
        r"|syntax error at or near|pg_query\(\)|ORA-\d{5}|SQLSTATE\[)",
    ))
    .unwrap_or_else(|_| unreachable!("constant pattern"))
});

static TOKEN_IN_URL: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern: it cannot fail to compile.
    Regex::new(r"(?i)[?&](access_token|token|session_?id|sid|session|ticket|auth)=([A-Za-z0-9._~%+/-]{16,})")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// Whether a body shows a stack trace or a database error.
pub fn leaks_error(body: &str) -> bool {
    STACK_OR_SQL.is_match(body)
}

/// Whether an answer shows an SQL error in particular.
pub fn sql_error(body: &str) -> bool {
    STACK_OR_SQL
        .captures(body)
        .is_some_and(|c| c.get(4).is_some())
}

pub fn run(ctx: &mut Ctx<'_>) {
    let log = std::mem::take(&mut ctx.log);
    let route = |e: &Exchange| e.request.url.path().to_owned();
    // Security headers: the first answer without nosniff.
    if let Some(ex) = log.iter().find(|e| {
        !e.headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("nosniff"))
    }) {
        ctx.report(
            &rules::MISSING_SECURITY_HEADERS,
            "nosniff",
            &route(ex),
            msg!(
                "probe.nosniff",
                method = ex.request.method.as_str(),
                path = ex.request.url.path()
            ),
            &[ex],
            &["content-type"],
        );
    }
    if let Some(ex) = log.iter().find(|e| {
        e.request.url.scheme() == "https" && e.header("strict-transport-security").is_none()
    }) {
        ctx.report(
            &rules::MISSING_HSTS,
            "hsts",
            &route(ex),
            msg!(
                "probe.hsts",
                method = ex.request.method.as_str(),
                path = ex.request.url.path()
            ),
            &[ex],
            &[],
        );
    }
    // Error details: one finding (the flaw is the error handler), naming every route seen.
    let leaking: Vec<&Exchange> = log.iter().filter(|e| leaks_error(&e.body)).collect();
    // The evidence prefers a database error: it says the most about the flaw.
    if let Some(ex) = leaking
        .iter()
        .find(|e| sql_error(&e.body))
        .or_else(|| leaking.first())
    {
        let mut routes: Vec<&str> = leaking.iter().map(|e| e.request.url.path()).collect();
        routes.sort_unstable();
        routes.dedup();
        ctx.report(
            &rules::ERROR_DETAILS,
            "errors",
            &route(ex),
            msg!(
                "probe.error-details",
                method = ex.request.method.as_str(),
                path = ex.request.url.path(),
                status = ex.status,
                routes = routes.join(", ")
            ),
            &[ex],
            &[],
        );
    }
    for ex in &log {
        let mut places: Vec<String> = ex
            .header("location")
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(json) = ex.json() {
            strings(&json, &mut places, 0);
        }
        if let Some(place) = places.iter().find(|p| TOKEN_IN_URL.is_match(p)) {
            let param = TOKEN_IN_URL
                .captures(place)
                .and_then(|c| c.get(1))
                .map_or("token", |m| m.as_str());
            ctx.report(
                &rules::TOKEN_IN_URL,
                ex.request.url.path(),
                &route(ex),
                msg!(
                    "probe.token-in-url",
                    method = ex.request.method.as_str(),
                    path = ex.request.url.path(),
                    param = param
                ),
                &[ex],
                &["location"],
            );
        }
    }
    ctx.log = log;
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
    if depth > 16 || out.len() > 1000 {
        return;
    }
    match v {
        serde_json::Value::String(s) if s.contains('?') => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out, depth + 1)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_patterns() {
        assert!(super::sql_error(r#"{"error":"unrecognized token: \"'\""}"#));
        assert!(super::sql_error(
            "You have an error in your SQL syntax; check the manual"
        ));
        assert!(super::leaks_error(
            "Error: x\n    at e.exec (/srv/node_modules/a.js:87:501)"
        ));
        assert!(!super::leaks_error(
            r#"{"type":"about:blank","title":"Bad Request"}"#
        ));
    }
}
