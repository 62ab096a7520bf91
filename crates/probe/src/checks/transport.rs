//! TLS and plain HTTP: does the certificate verify, will it soon expire, which old protocol
//! versions and weak suites does the server accept, and does the backend answer without TLS?

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use miniguard_report::msg;

use crate::client::{Exchange, Request, SendError};
use crate::rules;
use crate::run::{CheckResult, Ctx};
use crate::tls_hello::{self, Hello};

pub async fn run(ctx: &mut Ctx<'_>) -> CheckResult {
    let base = ctx.base.clone();
    match ctx.client.send(&Request::get(base.clone())).await {
        Ok(ex) => {
            if base.scheme() == "http" {
                ctx.report(
                    &rules::PLAIN_HTTP,
                    "base",
                    "/",
                    msg!("probe.plain-http", url = base.as_str(), status = ex.status),
                    &[&ex],
                    &[],
                );
            }
            expiry(ctx, &ex);
            ctx.log.push(ex);
        }
        Err(e) if e.is_budget() => return Err(e),
        Err(SendError::Transport {
            tls: true, message, ..
        }) => {
            ctx.report(
                &rules::TLS_CERTIFICATE,
                "base",
                "/",
                msg!(
                    "probe.tls-certificate",
                    url = base.as_str(),
                    error = &message
                ),
                &[],
                &[],
            );
        }
        Err(e) => ctx.notes.push(e.to_string()),
    }
    if base.scheme() == "https" && ctx.enabled(&rules::TLS_OLD_VERSION) {
        versions_and_suites(ctx).await?;
    }
    // The same host over plain HTTP, when the scope allows it.
    if base.scheme() == "https" {
        let mut plain = base.clone();
        let port = base.port();
        if plain.set_scheme("http").is_ok() {
            // `https://h/` becomes `http://h/` (port 80); an explicit port is kept.
            let _ = plain.set_port(port);
            if ctx.client.in_scope(&plain)
                && ctx.enabled(&rules::PLAIN_HTTP)
                && let Some(ex) = ctx.send(Request::get(plain.clone()), None).await?
            {
                {
                    let upgrades = (300..400).contains(&ex.status)
                        && ex
                            .header("location")
                            .is_some_and(|l| l.starts_with("https://"));
                    if !upgrades && ex.status < 500 {
                        ctx.report(
                            &rules::PLAIN_HTTP,
                            "plain",
                            "/",
                            msg!(
                                "probe.plain-no-redirect",
                                url = plain.as_str(),
                                status = ex.status
                            ),
                            &[&ex],
                            &["location"],
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// A certificate this close to its end is a finding (T105).
const EXPIRY_WARNING: Duration = Duration::from_hours(30 * 24);

/// T105: the certificate verified (the exchange happened) but ends within 30 days.
fn expiry(ctx: &mut Ctx<'_>, ex: &Exchange) {
    let Some(der) = &ex.peer_certificate else {
        return;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        ctx.notes.push(
            "the server's certificate could not be parsed; its expiry was not checked".into(),
        );
        return;
    };
    let not_after = cert.validity().not_after.timestamp();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let left = not_after.saturating_sub(now);
    let limit = i64::try_from(EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX);
    if (0..limit).contains(&left) {
        let days = left / 86_400;
        ctx.report(
            &rules::TLS_EXPIRING,
            "expiry",
            "/",
            msg!(
                "probe.tls-expiring",
                host = ex.request.url.host_str().unwrap_or(""),
                days = days,
                date = cert.validity().not_after.to_string()
            ),
            &[],
            &[],
        );
    }
}

/// The longest one hello may take.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// T104: hellos of the probe's own, each admitted by the gate as one request: SSL 3.0, TLS 1.0
/// and 1.1 with the suites servers of their time accept, then TLS 1.2 offering only weak suites.
async fn versions_and_suites(ctx: &mut Ctx<'_>) -> CheckResult {
    let base = ctx.base.clone();
    let (Some(host), Some(port)) = (base.host_str(), base.port_or_known_default()) else {
        return Ok(());
    };
    let host = host.to_owned();
    let mut old = Vec::new();
    for version in [tls_hello::SSL3_0, tls_hello::TLS1_0, tls_hello::TLS1_1] {
        let left = match ctx.client.admit(&base).await {
            Ok(left) => left,
            Err(e) if e.is_budget() => return Err(e),
            Err(_) => return Ok(()),
        };
        let hello = tls_hello::try_hello(
            &host,
            port,
            version,
            tls_hello::LEGACY_SUITES,
            left.min(HELLO_TIMEOUT),
        )
        .await;
        match hello {
            Hello::Accepted { version: v, suite } if v <= tls_hello::TLS1_1 => {
                old.push(format!(
                    "{} ({})",
                    tls_hello::version_name(v),
                    tls_hello::suite_name(suite)
                ));
            }
            Hello::Accepted { .. } | Hello::Refused => {}
            Hello::Unclear(why) => ctx.notes.push(format!(
                "{host}:{port}: a {} hello got no clear answer: {why}",
                tls_hello::version_name(version)
            )),
        }
    }
    if !old.is_empty() {
        ctx.report(
            &rules::TLS_OLD_VERSION,
            "version",
            "/",
            msg!(
                "probe.tls-old-version",
                host = &host,
                port = port,
                versions = old.join(", ")
            ),
            &[],
            &[],
        );
    }
    let left = match ctx.client.admit(&base).await {
        Ok(left) => left,
        Err(e) if e.is_budget() => return Err(e),
        Err(_) => return Ok(()),
    };
    let hello = tls_hello::try_hello(
        &host,
        port,
        tls_hello::TLS1_2,
        tls_hello::WEAK_SUITES,
        left.min(HELLO_TIMEOUT),
    )
    .await;
    if let Hello::Accepted { version, suite } = hello {
        ctx.report(
            &rules::TLS_OLD_VERSION,
            "suite",
            "/",
            msg!(
                "probe.tls-weak-suite",
                host = &host,
                port = port,
                suite = tls_hello::suite_name(suite),
                version = tls_hello::version_name(version)
            ),
            &[],
            &[],
        );
    }
    Ok(())
}
