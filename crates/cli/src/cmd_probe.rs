//! `miniguard probe`: scoped active checks against a live backend (the `miniguard-probe` crate),
//! rendered like `scan`, with progress on standard error.

// Reason: doc comments of the argument struct are `--help` text, where backticks would show as-is.
#![allow(clippy::doc_markdown)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use miniguard_probe::{ClientOptions, IdentitySpec, OpenApiSource, ProbeConfig, Scope};
use miniguard_report::render::{Format, TextOptions};
use miniguard_report::{Severity, msg};

use crate::args::{ColorArg, FormatArg, SeverityArg};
use crate::say;

pub const PROBE_EXAMPLES: &str = "\
Examples:
  miniguard probe https://api.example.com --scope scope.toml \\
      --openapi openapi.json --as alice=TOKEN_A --as bob=TOKEN_B \\
      --format sarif --output probe.sarif
  miniguard probe http://127.0.0.1:8080 --scope scope.toml --as alice=@alice.toml --as bob=@bob.toml

The scope file (required):
  [scope]
  hosts = [\"api.example.com\", \"127.0.0.1:8080\"]   # host (ports 80/443) or host:port
  paths = [\"/api/\"]                                # path prefixes
  rate_per_second = 20
  max_requests = 5000
  max_seconds = 300

An identity file (--as NAME=@FILE) holds [headers] and [cookies], or a [login] recipe:
  [login]
  kind = \"code\"          # WeChat-style: POST {\"code\": ...} to path, token read from token_field
  path = \"/api/login\"
  code = \"test:alice\"
  token_field = \"token\"
or, for a backend run by `miniguard serve` (requests signed per docs/protocol.md):
  [login]
  kind = \"miniguard\"
  code = \"dev:alice\"";

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The base URL of the backend (http:// or https://), inside the scope.
    pub target: String,

    /// The scope file: hosts, path prefixes, rate_per_second, max_requests, max_seconds.
    /// Required: nothing is sent without it.
    #[arg(long, value_name = "FILE")]
    pub scope: Option<PathBuf>,

    /// The OpenAPI document (JSON) of the routes: a file, or a URL inside the scope [default:
    /// /openapi.json of the target, when it exists and is in scope].
    #[arg(long, value_name = "FILE|URL")]
    pub openapi: Option<String>,

    /// An identity: NAME=TOKEN (a bearer token) or NAME=@FILE (headers, cookies or a login
    /// recipe). Give two for the authorization checks; the first is the owner of objects, the
    /// second tries to read them.
    #[arg(long = "as", value_name = "NAME=TOKEN|NAME=@FILE")]
    pub identities: Vec<String>,

    /// A value for a path parameter the OpenAPI document has no example for, e.g.
    /// `--path-param name=orders` for `/v1/collections/{name}/records` (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub path_param: Vec<String>,

    /// Trust this certificate (PEM) in addition to the system's roots, e.g. the certificate
    /// file `serve --dev` prints.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Run without these checks (rule codes, e.g. `--skip A105,C105,C107` on a production
    /// backend whose lockout or connections must not be tested, `--skip A109` on an account
    /// whose second factors must not change); their findings are not reported.
    #[arg(long, value_name = "CODE", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with 1 when a finding has at least this severity [default: high].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// Do not show progress on standard error.
    #[arg(long)]
    pub no_progress: bool,

    /// When to use colours in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

pub fn run(args: &ProbeArgs) -> Result<ExitCode> {
    let Some(scope_path) = &args.scope else {
        bail!(say(msg!("cli.probe.scope-required")));
    };
    let scope = Scope::from_file(scope_path)?;
    let target = url::Url::parse(&args.target)
        .with_context(|| say(msg!("cli.probe.not-a-url", target = &args.target)))?;
    if !matches!(target.scheme(), "http" | "https") {
        bail!(say(msg!("cli.probe.not-http")));
    }
    let openapi = match &args.openapi {
        None => None,
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => Some(
            OpenApiSource::Url(url::Url::parse(s).with_context(|| format!("--openapi {s}"))?),
        ),
        Some(s) => {
            let meta = std::fs::metadata(s).with_context(|| format!("--openapi {s}"))?;
            if meta.len() > 16 * 1024 * 1024 {
                bail!(say(msg!("cli.probe.openapi-too-large", source = s)));
            }
            Some(OpenApiSource::Text(
                std::fs::read_to_string(s).with_context(|| format!("--openapi {s}"))?,
            ))
        }
    };
    let identities = args
        .identities
        .iter()
        .map(|a| IdentitySpec::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut path_values = Vec::new();
    for p in &args.path_param {
        let Some((k, v)) = p
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            bail!(say(msg!("cli.probe.path-param", param = p)));
        };
        path_values.push((k.to_owned(), v.to_owned()));
    }
    let mut client = ClientOptions::default();
    if let Some(ca) = &args.ca_cert {
        client
            .extra_roots_pem
            .push(std::fs::read(ca).with_context(|| format!("--ca-cert {}", ca.display()))?);
    }
    let fail_on = match args.fail_on {
        None => Some(Severity::High),
        Some(SeverityArg::Never) => None,
        Some(SeverityArg::Info) => Some(Severity::Info),
        Some(SeverityArg::Low) => Some(Severity::Low),
        Some(SeverityArg::Medium) => Some(Severity::Medium),
        Some(SeverityArg::High) => Some(Severity::High),
        Some(SeverityArg::Critical) => Some(Severity::Critical),
    };
    let max_requests = scope.max_requests;
    let config = ProbeConfig {
        target,
        scope,
        client,
        openapi,
        identities,
        path_values,
        skip: args.skip.clone(),
    };
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let bar = show.then(|| {
        let bar = indicatif::ProgressBar::new(max_requests);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg:16} {pos}/{len} requests")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.runtime")))?;
    let progress = |stage: &str, stats: miniguard_probe::GateStats| {
        if let Some(b) = &bar {
            b.set_message(stage.to_owned());
            b.set_position(stats.sent);
        } else if !args.no_progress {
            let _ = writeln!(
                anstream::stderr(),
                "probe: {stage} ({} requests sent)",
                stats.sent
            );
        }
    };
    let outcome = runtime.block_on(miniguard_probe::run(config, &progress))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    {
        let mut err = anstream::stderr();
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.probe.summary",
                sent = outcome.gate.sent,
                out_of_scope = outcome.gate.refused_out_of_scope,
                budget = outcome.gate.refused_budget
            ))
        )?;
        if let Some(s) = &outcome.stopped {
            writeln!(err, "{}", say(msg!("cli.probe.stopped", reason = s)))?;
        }
    }

    let report = outcome.report;
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Html => Format::Html,
    };
    if let Some(path) = &args.output {
        let mut buf = Vec::new();
        miniguard_report::render::render(
            &report,
            format,
            TextOptions {
                color: args.color == ColorArg::Always,
            },
            &mut buf,
        )?;
        std::fs::write(path, buf)
            .with_context(|| say(msg!("cli.cannot-write", path = path.display().to_string())))?;
    } else {
        let color = match args.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        miniguard_report::render::render(&report, format, TextOptions { color }, &mut lock)?;
        lock.flush()?;
    }
    let failed = fail_on.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
