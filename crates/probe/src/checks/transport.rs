//! TLS and plain HTTP: does the certificate verify, and does the backend answer without TLS?

use crate::client::{Request, SendError};
use crate::rules;
use crate::run::{CheckResult, Ctx};

pub async fn run(ctx: &mut Ctx<'_>) -> CheckResult {
    let base = ctx.base.clone();
    match ctx.client.send(&Request::get(base.clone())).await {
        Ok(ex) => {
            if base.scheme() == "http" {
                ctx.report(
                    &rules::PLAIN_HTTP,
                    "base",
                    "/",
                    &format!("{} answers over plain HTTP ({}).", base, ex.status),
                    &[&ex],
                    &[],
                );
            }
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
                &format!("the TLS handshake with {base} fails verification: {message}"),
                &[],
                &[],
            );
        }
        Err(e) => ctx.notes.push(e.to_string()),
    }
    // The same host over plain HTTP, when the scope allows it.
    if base.scheme() == "https" {
        let mut plain = base.clone();
        let port = base.port();
        if plain.set_scheme("http").is_ok() {
            // `https://h/` becomes `http://h/` (port 80); an explicit port is kept.
            let _ = plain.set_port(port);
            if ctx.client.in_scope(&plain)
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
                            &format!("{plain} answers over plain HTTP ({}) instead of redirecting to HTTPS.", ex.status),
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
