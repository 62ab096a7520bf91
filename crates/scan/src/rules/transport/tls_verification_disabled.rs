use miniguard_project::JsonKind;
use miniguard_report::{Msg, msg};
use oxc_ast::ast::{ArrowFunctionBody, Expression, Statement};

use crate::config::{JsonFile, node_span};
use crate::events::{Cx, Event, Span};
use crate::rules::{Rule, RuleMeta};
use crate::value::{FuncNode, Kind, Value};

crate::declare_rule! {
    /// ## What it finds
    /// Code that turns off TLS certificate verification for outgoing HTTPS connections:
    ///
    /// - `rejectUnauthorized: false` in the options of `https.Agent`, `https.request`,
    ///   `tls.connect`, an axios `httpsAgent`, got's `https: { rejectUnauthorized: false }`,
    ///   urllib, or assigned later (`agent.options.rejectUnauthorized = false`);
    /// - `process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'` (every connection of the process),
    ///   also in `package.json` scripts (`NODE_TLS_REJECT_UNAUTHORIZED=0 node app.js`) and in
    ///   environment objects (`env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' }`);
    /// - `strictSSL: false` (request / request-promise);
    /// - uni-app `uni.request({ sslVerify: false })`;
    /// - a `checkServerIdentity` callback that accepts every host (`() => undefined`);
    /// - superagent's `.disableTLSCerts()`.
    ///
    /// Only constant `false` / `0` values are reported: `rejectUnauthorized: true` and values
    /// computed at run time (`rejectUnauthorized: process.env.NODE_ENV === 'production'`) are
    /// not, and neither is reading `NODE_TLS_REJECT_UNAUTHORIZED`. The string `'false'` is
    /// truthy and keeps verification on, so it is not reported either. Build-tool configuration
    /// files (`vue.config.js`, `vite.config.ts`, `webpack.config.js`...) only proxy a local
    /// development server and are skipped.
    ///
    /// ## Why it matters
    /// Without certificate verification, HTTPS still encrypts but no longer authenticates the
    /// server: anyone on the network path (a cloud VPC neighbour, a compromised proxy, a
    /// malicious Wi-Fi) can present their own certificate, read the traffic and change it. For
    /// a backend that calls payment, login or storage APIs this leaks the AppSecret, access
    /// tokens and users' data, and lets responses be forged.
    ///
    /// ## Example
    /// ```js
    /// const agent = new https.Agent({ rejectUnauthorized: false })
    /// const res = await axios.get('https://pay.example.com/notify', { httpsAgent: agent })
    /// ```
    ///
    /// ## Fix
    /// Remove the option (verification is on by default). For a private CA, pass its
    /// certificate with `ca: fs.readFileSync('ca.pem')` instead of disabling the check.
    ///
    /// ## References
    /// - CWE-295: Improper Certificate Validation
    /// - Node.js documentation: `tls.connect` options and `NODE_TLS_REJECT_UNAUTHORIZED`
    pub struct TlsVerificationDisabled {
        code: "T003",
        name: "tls-verification-disabled",
        category: Transport,
        severity: High,
        confidence: High,
        cwe: [295],
        summary: "TLS certificate verification turned off for outgoing connections",
    }
}

const ENV_VAR: &str = "NODE_TLS_REJECT_UNAUTHORIZED";

impl Rule for TlsVerificationDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if is_build_config(&cx.file) {
            return;
        }
        match event {
            Event::Property(p) => {
                let what = match p.key {
                    "rejectUnauthorized" | "strictSSL" | "sslVerify"
                        if is_false(p.value) && is_plain(cx.text(p.value_span)) =>
                    {
                        msg!("T003.option-false", option = p.key)
                    }
                    ENV_VAR if is_zero(p.value) => msg!("T003.env-option-zero", variable = ENV_VAR),
                    "checkServerIdentity" if accepts_everything(p.value) => {
                        cx.report(
                            &TlsVerificationDisabled::META,
                            p.value_span,
                            msg!("T003.check-server-identity"),
                        )
                        .help(msg!("T003.check-server-identity-help"));
                        return;
                    }
                    _ => return,
                };
                report(cx, p.value_span, what);
            }
            Event::Assign(a) => {
                if a.path == Some("process.env.NODE_TLS_REJECT_UNAUTHORIZED") && is_zero(a.value) {
                    cx.report(
                        &TlsVerificationDisabled::META,
                        a.span,
                        msg!("T003.env-assigned"),
                    )
                    .help(msg!("T003.env-assigned-help"));
                } else if matches!(a.property, "rejectUnauthorized" | "strictSSL")
                    && is_false(a.value)
                {
                    report(
                        cx,
                        a.span,
                        msg!("T003.assigned-false", property = a.property),
                    );
                }
            }
            Event::Call(call) if call.method == Some("disableTLSCerts") => {
                report(cx, call.callee_span, msg!("T003.disable-tls-certs"));
            }
            _ => {}
        }
    }

    fn check_json(&self, cx: &mut Cx<'_>, file: &JsonFile<'_>) {
        if file.kind != JsonKind::PackageJson {
            return;
        }
        let Some(scripts) = file.root.get("scripts") else {
            return;
        };
        for m in scripts.entries() {
            let Some(cmd) = m.value.as_str() else {
                continue;
            };
            let compact: String = cmd.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.contains("NODE_TLS_REJECT_UNAUTHORIZED=0")
                || compact.contains("NODE_TLS_REJECT_UNAUTHORIZED='0'")
                || compact.contains("NODE_TLS_REJECT_UNAUTHORIZED=\\\"0\\\"")
                || compact.contains("NODE_TLS_REJECT_UNAUTHORIZED=\"0\"")
            {
                cx.report(
                    &TlsVerificationDisabled::META,
                    node_span(&m.value),
                    msg!("T003.script", script = &m.key.name),
                )
                .help(msg!("T003.script-help"));
            }
        }
    }
}

fn report(cx: &mut Cx<'_>, span: Span, what: Msg) {
    cx.report(
        &TlsVerificationDisabled::META,
        span,
        msg!("T003.off", what = what),
    )
    .help(msg!("T003.off-help"));
}

/// A constant falsy value written as `false` or `0` (not the truthy string `'false'`).
fn is_false(v: &Value<'_>) -> bool {
    v.taint.is_empty() && v.text_origin.is_none() && matches!(v.exact_text(), Some("false" | "0"))
}

/// The option is written as a literal or a name, not computed (`cfg.verify || false` may well
/// be true at run time).
fn is_plain(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

/// `'0'` or `0`: the value that turns verification off for the whole process.
fn is_zero(v: &Value<'_>) -> bool {
    v.taint.is_empty() && v.exact_text() == Some("0")
}

/// `() => undefined`, `() => {}`, `function () { return null }`: a host check that accepts all.
fn accepts_everything(v: &Value<'_>) -> bool {
    let Kind::Func(f) = &v.kind else { return false };
    match f.node {
        FuncNode::Arrow(a) => match &a.body {
            ArrowFunctionBody::FunctionBody(b) => returns_nothing(&b.statements),
            other => other.as_expression().is_some_and(is_nothing),
        },
        FuncNode::Function(func) => func
            .body
            .as_ref()
            .is_some_and(|b| returns_nothing(&b.statements)),
        FuncNode::Class(_) => false,
    }
}

fn returns_nothing(stmts: &[Statement<'_>]) -> bool {
    stmts.iter().all(|s| match s {
        Statement::ReturnStatement(r) => r.argument.as_ref().is_none_or(is_nothing),
        Statement::EmptyStatement(_) => true,
        _ => false,
    })
}

fn is_nothing(e: &Expression<'_>) -> bool {
    match e.get_inner_expression() {
        Expression::Identifier(id) => id.name == "undefined",
        Expression::NullLiteral(_) => true,
        Expression::UnaryExpression(u) => u.operator == oxc_syntax::operator::UnaryOperator::Void,
        _ => false,
    }
}

/// Build-tool configuration: dev-server proxies, not application code.
fn is_build_config(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name.split('.').next().unwrap_or(name);
    let is_config = name.contains(".config.") || name.ends_with(".conf.js");
    is_config
        && matches!(
            stem,
            "vue"
                | "vite"
                | "webpack"
                | "rollup"
                | "next"
                | "nuxt"
                | "jest"
                | "vitest"
                | "karma"
                | "babel"
                | "svelte"
                | "astro"
                | "postcss"
                | "tailwind"
                | "rspack"
                | "umi"
                | "uno"
                | "windi"
        )
}
