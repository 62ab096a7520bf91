//! One probe run: log in the identities, read the routes, run the checks in a fixed order, and
//! collect the findings into a [`Report`]. Budgets end the run early with what was found so far
//! (and a warning naming the checks that did not run).

use std::collections::HashSet;
use std::time::Instant;

use miniguard_report::i18n::Lang;
use miniguard_report::{Finding, Location, Msg, Position, Report, Stats, Text, Warning, msg};
use url::Url;

use crate::checks;
use crate::client::{Client, ClientOptions, Exchange, GateStats, Request, SendError};
use crate::evidence::Masker;
use crate::identity::{IdentityError, IdentitySpec, Session};
use crate::openapi::{self, OpenApiError, Operation};
use crate::rules::{self, ProbeRule};
use crate::scope::Scope;

/// The most exchanges kept for the passive checks.
const MAX_LOG: usize = 5000;

/// Where the routes come from.
#[derive(Debug)]
pub enum OpenApiSource {
    /// The text of a document read by the caller.
    Text(String),
    /// A URL inside the scope.
    Url(Url),
}

/// What to probe and how.
#[derive(Debug)]
pub struct ProbeConfig {
    pub target: Url,
    pub scope: Scope,
    pub client: ClientOptions,
    /// Without one, `/openapi.json` of the target is read if it exists.
    pub openapi: Option<OpenApiSource>,
    pub identities: Vec<IdentitySpec>,
    /// Values for path parameters the document gives no example for (`name` = `orders`).
    pub path_values: Vec<(String, String)>,
    /// Rule codes whose checks send nothing and report nothing (`--skip`).
    pub skip: Vec<String>,
}

/// A run that could not start or had to stop for a reason other than a budget.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    #[error("the target {url} is outside the scope: {reason}")]
    TargetOutOfScope { url: String, reason: String },
    #[error(transparent)]
    Client(SendError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("--openapi: {0}")]
    OpenApi(#[from] OpenApiError),
    #[error("--openapi {url}: {message}")]
    OpenApiFetch { url: String, message: String },
    #[error("two identities are named {0}")]
    DuplicateIdentity(String),
    #[error("--skip {0}: no such check (the codes are in docs/probe.md)")]
    UnknownRule(String),
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub gate: GateStats,
    /// Set when a budget ended the run before every check ran.
    pub stopped: Option<String>,
}

/// What the checks share: the gate, the routes, the sessions, the evidence masker, every
/// exchange seen (for the passive checks) and the findings so far.
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub base: Url,
    pub ops: Vec<Operation>,
    pub sessions: Vec<Session>,
    pub masker: Masker,
    pub log: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// Values for path parameters (from `--path-param`).
    pub path_values: Vec<(String, String)>,
    /// The first identity that logs in, for the checks that need a session of their own to end.
    pub fresh_login: Option<IdentitySpec>,
    skip: HashSet<String>,
    reported: HashSet<(&'static str, String)>,
}

/// Budgets end a check early; `?` carries them to [`run`].
pub type CheckResult = Result<(), SendError>;

impl Ctx<'_> {
    /// The path of `op` with `values` first, then `--path-param` values, then examples, then `1`.
    pub fn fill(&self, op: &Operation, values: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = values.to_vec();
        all.extend(
            self.path_values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        op.fill_path(&all)
    }

    /// Sends through the gate as `who` (an index into `sessions`, or anonymous). A budget error
    /// is returned; any other failure is noted and gives `None`.
    pub async fn send(
        &mut self,
        request: Request,
        who: Option<usize>,
    ) -> Result<Option<Exchange>, SendError> {
        let request = match who.and_then(|i| self.sessions.get(i)) {
            Some(s) => s.apply(request)?,
            None => request,
        };
        match self.client.send(&request).await {
            Ok(ex) => {
                if self.log.len() < MAX_LOG {
                    self.log.push(ex.clone());
                }
                Ok(Some(ex))
            }
            Err(e) if e.is_budget() => Err(e),
            Err(e) => {
                if self.notes.len() < 50 {
                    self.notes.push(self.masker.mask(&e.to_string()));
                }
                Ok(None)
            }
        }
    }

    /// A URL of the target for a path (and optional query pairs).
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Option<Url> {
        let mut url = self.base.join(path).ok()?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Some(url)
    }

    /// Whether a check runs (it was not named by `--skip`).
    pub fn enabled(&self, rule: &ProbeRule) -> bool {
        !self.skip.contains(rule.code)
    }

    /// `message` with every secret the run knows masked, in each of its arguments: English as
    /// before, and in the reader's language. Should masking the arguments one by one ever
    /// differ from masking the English sentence, only the masked English is kept.
    fn masked(&self, message: Msg) -> Text {
        let english = self.masker.mask(&message.render(Lang::En));
        let text = Text::from(message.map_code(&|code| self.masker.mask(code)));
        if text.as_str() == english {
            text
        } else {
            Text::plain(english)
        }
    }

    /// Records a finding once per (rule, key).
    pub fn report(
        &mut self,
        rule: &'static ProbeRule,
        key: &str,
        route: &str,
        message: Msg,
        evidence: &[&Exchange],
        headers: &[&str],
    ) {
        if !self.enabled(rule) || !self.reported.insert((rule.code, key.to_owned())) {
            return;
        }
        let snippet = evidence
            .iter()
            .map(|e| self.masker.excerpt(e, headers))
            .collect::<Vec<_>>()
            .join("\n");
        let lines = snippet.lines().count().max(1) as u32;
        self.findings.push(Finding {
            rule: rule.code.into(),
            name: rule.name.into(),
            category: rule.category,
            severity: rule.severity,
            confidence: rule.confidence,
            message: self.masked(message),
            location: Location {
                path: route.to_owned(),
                start: Position { line: 1, column: 1 },
                end: Position {
                    line: lines,
                    column: 1,
                },
                snippet,
                snippet_column: 0,
                context_before: String::new(),
                context_after: String::new(),
            },
            help: Some((rule.fix_msg)().into()),
            trace: Vec::new(),
            fingerprint: String::new(),
            dependency: None,
            related: Vec::new(),
            runtime: None,
            confidence_reason: None,
            severity_reason: None,
        });
    }
}

/// Runs every check. `progress` is told the stage and the gate's counters as the run goes.
pub async fn run(
    config: ProbeConfig,
    progress: &(dyn Fn(&str, GateStats) + Sync),
) -> Result<Outcome, ProbeError> {
    let started = Instant::now();
    config
        .scope
        .allows(&config.target)
        .map_err(|r| ProbeError::TargetOutOfScope {
            url: config.target.to_string(),
            reason: r.to_string(),
        })?;
    let client = Client::new(config.scope, &config.client).map_err(ProbeError::Client)?;
    let mut skip = HashSet::new();
    for code in &config.skip {
        let code = code.trim().to_ascii_uppercase();
        if !rules::ALL.iter().any(|r| r.code == code) {
            return Err(ProbeError::UnknownRule(code));
        }
        skip.insert(code);
    }
    let mut names = HashSet::new();
    for i in &config.identities {
        if !names.insert(i.name.clone()) {
            return Err(ProbeError::DuplicateIdentity(i.name.clone()));
        }
    }
    let mut ctx = Ctx {
        client: &client,
        base: config.target.clone(),
        ops: Vec::new(),
        sessions: Vec::new(),
        masker: Masker::default(),
        log: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        path_values: config.path_values,
        fresh_login: config.identities.iter().find(|i| i.is_login()).cloned(),
        skip,
        reported: HashSet::new(),
    };

    let stopped = match stages(&mut ctx, config.openapi, config.identities, progress).await {
        Ok(()) => None,
        Err(StageError::Budget(e)) => Some(e.to_string()),
        Err(StageError::Fatal(e)) => return Err(e),
    };
    progress("passive checks", client.stats());
    checks::passive::run(&mut ctx);

    let gate = client.stats();
    let mut warnings: Vec<Warning> = ctx
        .notes
        .iter()
        .map(|n| Warning {
            path: String::new(),
            position: None,
            message: n.clone().into(),
        })
        .collect();
    if let Some(s) = &stopped {
        warnings.push(Warning {
            path: String::new(),
            position: None,
            message: msg!("probe.stopped-early", reason = s).into(),
        });
    }
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        command: "probe".to_owned(),
        root: config.target.to_string(),
        findings: std::mem::take(&mut ctx.findings),
        warnings,
        rules: rules::ALL.iter().map(|r| r.info()).collect(),
        stats: Stats {
            files_scanned: gate.sent,
            files_skipped: gate.refused_out_of_scope + gate.refused_budget,
            bytes_scanned: ctx.log.iter().map(|e| e.body.len() as u64).sum(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            suppressed: 0,
            hidden: 0,
            min_severity: None,
            platform: None,
        },
    };
    report.sort();
    miniguard_report::assign_fingerprints(&mut report.findings);
    Ok(Outcome {
        report,
        gate,
        stopped,
    })
}

enum StageError {
    Budget(SendError),
    Fatal(ProbeError),
}

impl From<SendError> for StageError {
    fn from(e: SendError) -> Self {
        if e.is_budget() {
            StageError::Budget(e)
        } else {
            StageError::Fatal(ProbeError::Client(e))
        }
    }
}

impl From<ProbeError> for StageError {
    fn from(e: ProbeError) -> Self {
        StageError::Fatal(e)
    }
}

async fn stages(
    ctx: &mut Ctx<'_>,
    openapi: Option<OpenApiSource>,
    identities: Vec<IdentitySpec>,
    progress: &(dyn Fn(&str, GateStats) + Sync),
) -> Result<(), StageError> {
    progress("transport", ctx.client.stats());
    checks::transport::run(ctx).await?;
    // Runs beside the other checks; dropped (closed) if a budget ends the run first.
    let slow = checks::abuse::start(ctx).await?;
    let idle = checks::abuse::start_idle(ctx).await?;

    progress("routes", ctx.client.stats());
    ctx.ops = load_openapi(ctx, openapi).await?;

    progress("logins", ctx.client.stats());
    for spec in identities {
        let session = match spec.establish(ctx.client, &ctx.base).await {
            Ok((s, login)) => {
                ctx.log.extend(login);
                s
            }
            Err(IdentityError::Send { source, .. }) if source.is_budget() => {
                return Err(StageError::Budget(source));
            }
            Err(e) => return Err(StageError::Fatal(e.into())),
        };
        for s in session.secrets() {
            ctx.masker.add(s);
        }
        ctx.sessions.push(session);
    }

    progress("crawl", ctx.client.stats());
    let start = [ctx.base.clone()];
    match crate::crawl::crawl(ctx.client, &start).await {
        Ok(c) => ctx.log.extend(c.exchanges),
        Err(e) => return Err(e.into()),
    }

    progress("authentication", ctx.client.stats());
    checks::auth::routes_without_credentials(ctx).await?;
    checks::auth::client_sent_identity(ctx).await?;
    progress("authorization", ctx.client.stats());
    checks::auth::bola(ctx).await?;
    checks::auth::mass_assignment(ctx).await?;
    // Before the injection and brute-force checks, which may use up a login rate limit that the
    // fresh logins of the revocation check need.
    progress("sessions", ctx.client.stats());
    checks::auth::replay(ctx).await?;
    checks::auth::revocation(ctx).await?;
    progress("cors", ctx.client.stats());
    checks::inject::cors(ctx).await?;
    progress("injection", ctx.client.stats());
    checks::inject::run(ctx).await?;
    // After the checks that use the identities' sessions: a factor change may end the other
    // logins of the account. Before brute force, which may use up a login rate limit that its
    // fresh logins need.
    progress("second factor", ctx.client.stats());
    checks::auth::factor_change_without_factor(ctx).await?;
    progress("brute force", ctx.client.stats());
    checks::auth::brute_force(ctx).await?;
    progress("slow requests", ctx.client.stats());
    checks::abuse::finish(ctx, slow).await?;
    progress("idle connections", ctx.client.stats());
    checks::abuse::finish_idle(ctx, idle).await?;
    Ok(())
}

async fn load_openapi(
    ctx: &mut Ctx<'_>,
    source: Option<OpenApiSource>,
) -> Result<Vec<Operation>, StageError> {
    let (text, required) = match source {
        Some(OpenApiSource::Text(t)) => (Some(t), true),
        Some(OpenApiSource::Url(url)) => {
            let shown = url.to_string();
            let ex = ctx
                .client
                .send(&Request::get(url))
                .await
                .map_err(|e| match e {
                    e if e.is_budget() => StageError::Budget(e),
                    e => StageError::Fatal(ProbeError::OpenApiFetch {
                        url: shown.clone(),
                        message: e.to_string(),
                    }),
                })?;
            if !ex.is_success() {
                return Err(StageError::Fatal(ProbeError::OpenApiFetch {
                    url: shown,
                    message: format!("answered {}", ex.status),
                }));
            }
            (Some(ex.body), true)
        }
        None => {
            let Some(url) = ctx.url("/openapi.json", &[]) else {
                return Ok(Vec::new());
            };
            if !ctx.client.in_scope(&url) {
                ctx.notes.push(
                    "no --openapi and /openapi.json is outside the scope: routes come from the crawl only"
                        .into(),
                );
                return Ok(Vec::new());
            }
            match ctx.send(Request::get(url), None).await? {
                Some(ex) if ex.is_success() => (Some(ex.body), false),
                _ => (None, false),
            }
        }
    };
    let Some(text) = text else {
        ctx.notes
            .push("no OpenAPI document: routes come from the crawl only".into());
        return Ok(Vec::new());
    };
    match openapi::parse(&text) {
        Ok(ops) => Ok(ops),
        Err(e) if required => Err(StageError::Fatal(e.into())),
        Err(e) => {
            ctx.notes.push(format!("/openapi.json: {e}"));
            Ok(Vec::new())
        }
    }
}
