//! A concurrent HTTPS load generator for a running `miniguard serve --dev`, used by
//! `bench/serve/run.sh`. It logs in once through the dev fake platform, then runs each scenario
//! for a fixed time with N concurrent requests and prints requests per second, latency
//! percentiles and the ratios between scenarios. Every signed request is signed afresh, with a
//! new nonce and the current timestamp, exactly as a client does (docs/protocol.md).
//!
//! ```text
//! loadgen --url https://127.0.0.1:8443 --ca DATA_DIR/dev-cert.pem [--url URL2 --ca CA2 ...] \
//!         [--code dev:bench] [--concurrency 16] [--duration 10] [--warmup 2] [--rounds 3] \
//!         [--plain bench_plain --secure bench_secure] [--scenarios healthz,me,write,read]
//!         [--pocketbase-url http://127.0.0.1:8090 --pocketbase-token JWT \
//!          --pocketbase-user USER_ID --pocketbase-collection bench_owner]
//! ```
//!
//! Scenarios: `healthz` (GET /healthz, unsigned), `me` (signed GET /v1/me), `write` (signed POST
//! of a record into the plain and the secure collection), `read` (signed GET of those records by
//! id), and `pocketbase`, the peer measured in the same run: a `PocketBase` server set up by
//! `bench/serve/pocketbase.py` with a collection whose view rule is the owner, written to
//! (POST with the user's JWT, plain HTTP) and read back by id. Only 2xx answers count; any other answer is reported and makes the exit status 1.
//!
//! Several `--url`s (each with its `--ca`, or one `--ca` for all) are instances of one
//! deployment behind a load balancer: the login goes to the first, and requests are spread over
//! all of them in turn.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{RequestParts, SigningKey};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    urls: Vec<String>,
    cas: Vec<PathBuf>,
    code: String,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    plain: String,
    secure: String,
    scenarios: Vec<String>,
    /// A `PocketBase` server to measure beside serve (`pocketbase` scenario): its URL, a user's
    /// auth token, the user's id and the collection whose view rule is the owner.
    pocketbase: Option<PocketBase>,
}

#[derive(Clone)]
struct PocketBase {
    url: String,
    token: String,
    user: String,
    collection: String,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        urls: Vec::new(),
        cas: Vec::new(),
        code: "dev:bench".into(),
        concurrency: 16,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        rounds: 3,
        plain: "bench_plain".into(),
        secure: "bench_secure".into(),
        scenarios: vec!["healthz".into(), "me".into(), "write".into(), "read".into()],
        pocketbase: None,
    };
    let mut pb_url = String::new();
    let mut pb_token = String::new();
    let mut pb_user = String::new();
    let mut pb_collection = "bench_owner".to_owned();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.urls.push(value.trim_end_matches('/').to_owned()),
            "--ca" => args.cas.push(PathBuf::from(value)),
            "--code" => args.code = value,
            "--concurrency" => args.concurrency = value.parse()?,
            "--duration" => args.duration = Duration::from_secs_f64(value.parse()?),
            "--warmup" => args.warmup = Duration::from_secs_f64(value.parse()?),
            "--rounds" => args.rounds = value.parse()?,
            "--plain" => args.plain = value,
            "--secure" => args.secure = value,
            "--scenarios" => args.scenarios = value.split(',').map(str::to_owned).collect(),
            "--pocketbase-url" => value.trim_end_matches('/').clone_into(&mut pb_url),
            "--pocketbase-token" => pb_token = value,
            "--pocketbase-user" => pb_user = value,
            "--pocketbase-collection" => pb_collection = value,
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    if args.urls.is_empty() || args.cas.is_empty() {
        return Err("--url and --ca are required".into());
    }
    if args.cas.len() != 1 && args.cas.len() != args.urls.len() {
        return Err("give one --ca for all --urls, or one per --url".into());
    }
    if !pb_url.is_empty() {
        if pb_token.is_empty() || pb_user.is_empty() {
            return Err("--pocketbase-url needs --pocketbase-token and --pocketbase-user".into());
        }
        args.pocketbase = Some(PocketBase {
            url: pb_url,
            token: pb_token,
            user: pb_user,
            collection: pb_collection,
        });
    }
    if args.concurrency == 0 || args.rounds == 0 {
        return Err("--concurrency and --rounds must be positive".into());
    }
    Ok(args)
}

/// One logged-in client: the access token and the signing key bound to it.
struct Session {
    token: String,
    key: SigningKey,
}

/// What a request of a scenario looks like.
#[derive(Clone)]
enum Kind {
    Healthz,
    Me,
    Create {
        collection: String,
        body: Vec<u8>,
    },
    Read {
        collection: String,
    },
    /// `PocketBase`: create a record owned by the user (plain HTTP, the user's JWT).
    PbCreate {
        body: Vec<u8>,
    },
    /// `PocketBase`: read one of the records created, through the collection's owner view rule.
    PbRead,
}

struct Ctx {
    /// The plain-HTTP client (`PocketBase`) and the first instance's.
    client: reqwest::Client,
    /// Every instance: its client (trusting its certificate) and its URL.
    servers: Vec<(reqwest::Client, String)>,
    session: Session,
    pocketbase: Option<PocketBase>,
    /// Record ids created per collection, read back by the `read` scenarios.
    ids: Mutex<HashMap<String, Vec<String>>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Ctx {
    /// A request signed afresh: new nonce, current timestamp.
    /// The instance request `n` goes to.
    fn server(&self, n: usize) -> &(reqwest::Client, String) {
        &self.servers[n % self.servers.len()]
    }

    fn signed(
        &self,
        n: usize,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder, Error> {
        let nonce = generate_nonce()?;
        let timestamp = unix_now();
        let parts = RequestParts {
            method: method.as_str(),
            path,
            query: "",
            timestamp,
            nonce: &nonce,
            body,
        };
        let signature = miniguard_crypto::sign(&self.session.key, &parts)?;
        let (client, url) = self.server(n);
        let mut req = client
            .request(method, format!("{url}{path}"))
            .bearer_auth(&self.session.token)
            .header("x-mg-timestamp", timestamp.to_string())
            .header("x-mg-nonce", nonce)
            .header("x-mg-signature", signature);
        if !body.is_empty() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        Ok(req)
    }

    /// Sends one request of `kind`; `Ok(None)` is a success, `Ok(Some(..))` a non-2xx answer.
    /// The next id to read from `list` (records created by the write scenario of the same
    /// store, cycled over).
    fn pick(&self, list: &str, n: usize) -> Result<String, Error> {
        let ids = self.ids.lock().map_err(|_| "poisoned")?;
        let list = ids
            .get(list)
            .filter(|l| !l.is_empty())
            .ok_or("no records to read: run the write scenario first")?;
        Ok(list[n % list.len()].clone())
    }

    fn pocketbase(&self) -> Result<&PocketBase, Error> {
        self.pocketbase
            .as_ref()
            .ok_or_else(|| "the pocketbase scenario needs --pocketbase-url".into())
    }

    async fn once(&self, kind: &Kind, n: usize) -> Result<Option<String>, Error> {
        let req = match kind {
            Kind::PbCreate { body } => {
                let pb = self.pocketbase()?;
                let mut record: Value = serde_json::from_slice(body)?;
                record["owner"] = Value::String(pb.user.clone());
                self.client
                    .post(format!(
                        "{}/api/collections/{}/records",
                        pb.url, pb.collection
                    ))
                    .header("authorization", &pb.token)
                    .json(&record)
            }
            Kind::PbRead => {
                let pb = self.pocketbase()?;
                let id = self.pick(PB_IDS, n)?;
                self.client
                    .get(format!(
                        "{}/api/collections/{}/records/{id}",
                        pb.url, pb.collection
                    ))
                    .header("authorization", &pb.token)
            }
            Kind::Healthz => {
                let (client, url) = self.server(n);
                client.get(format!("{url}/healthz"))
            }
            Kind::Me => self.signed(n, reqwest::Method::GET, "/v1/me", b"")?,
            Kind::Create { collection, body } => self.signed(
                n,
                reqwest::Method::POST,
                &format!("/v1/collections/{collection}/records"),
                body,
            )?,
            Kind::Read { collection } => {
                let id = self.pick(collection, n)?;
                self.signed(
                    n,
                    reqwest::Method::GET,
                    &format!("/v1/collections/{collection}/records/{id}"),
                    b"",
                )?
            }
        };
        let res = req.send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        if !status.is_success() {
            return Ok(Some(format!(
                "{status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )));
        }
        let created = match kind {
            Kind::Create { collection, .. } => Some(collection.as_str()),
            Kind::PbCreate { .. } => Some(PB_IDS),
            _ => None,
        };
        if let Some(collection) = created {
            let value: Value = serde_json::from_slice(&bytes)?;
            let id = value["id"]
                .as_str()
                .ok_or("create answered without an id")?
                .to_owned();
            self.ids
                .lock()
                .map_err(|_| "poisoned")?
                .entry(collection.to_owned())
                .or_default()
                .push(id);
        }
        Ok(None)
    }
}

/// Where the ids of the `PocketBase` records created are kept (not a collection name of serve:
/// those are identifiers, this has a space).
const PB_IDS: &str = "pocketbase records";

/// The outcome of one timed run.
struct RunResult {
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
    elapsed: Duration,
    /// Latencies of the successful requests, in microseconds, sorted.
    latencies: Vec<u32>,
}

impl RunResult {
    fn per_second(&self) -> f64 {
        count_f64(self.ok) / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: usize) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = (self.latencies.len() - 1) * p / 100;
        f64::from(self.latencies[i]) / 1000.0
    }
}

#[allow(
    clippy::cast_precision_loss,
    reason = "request counts stay far below 2^52"
)]
fn count_f64(n: u64) -> f64 {
    n as f64
}

/// Runs `kind` with `concurrency` tasks for `duration`.
async fn run(ctx: &Arc<Ctx>, kind: &Kind, concurrency: usize, duration: Duration) -> RunResult {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let ctx = Arc::clone(ctx);
        let kind = kind.clone();
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            let mut failed = 0u64;
            let mut first_failure = None;
            let mut latencies = Vec::new();
            let mut n = t * 7919;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                match ctx.once(&kind, n).await {
                    Ok(None) => {
                        ok += 1;
                        let micros = sent.elapsed().as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                    Ok(Some(problem)) => {
                        failed += 1;
                        first_failure.get_or_insert(problem);
                    }
                    Err(e) => {
                        failed += 1;
                        first_failure.get_or_insert(e.to_string());
                    }
                }
                n += 1;
            }
            (ok, failed, first_failure, latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut result = RunResult {
        ok: 0,
        failed: 0,
        first_failure: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        match task.await {
            Ok((ok, failed, first, latencies)) => {
                result.ok += ok;
                result.failed += failed;
                if result.first_failure.is_none() {
                    result.first_failure = first;
                }
                result.latencies.extend(latencies);
            }
            Err(e) => {
                result.failed += 1;
                result.first_failure.get_or_insert(e.to_string());
            }
        }
    }
    // Requests in flight when the clock stopped finish and count, so time runs until the last.
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    result
}

fn client(ca: &PathBuf) -> Result<reqwest::Client, Error> {
    let cert = CertificateDer::from_pem_file(ca)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn login(client: &reqwest::Client, url: &str, code: &str) -> Result<Session, Error> {
    let res = client
        .post(format!("{url}/v1/auth/wechat/login"))
        .json(&json!({ "code": code }))
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if !status.is_success() {
        return Err(format!("login answered {status}: {body}").into());
    }
    let token = body["access_token"]
        .as_str()
        .ok_or("login answered without access_token")?
        .to_owned();
    let key = SigningKey::from_base64url(
        body["signing_key"]
            .as_str()
            .ok_or("login answered without signing_key")?,
    )?;
    Ok(Session { token, key })
}

/// The record body: a 200-character rich text (HTML the sanitizer keeps as it is) and a
/// 64-character secret. The plain collection stores the same two values as plain strings.
fn record_body() -> Vec<u8> {
    let mut note = String::from("<p>Order note: <b>ring twice</b>, leave at the door.</p>");
    while note.len() < 200 {
        note.push_str("<p>more</p>");
    }
    let secret = "138-0013-8000 / Room 1204, 88 Example Road, Xuhui District, Sh";
    serde_json::to_vec(&json!({ "title": "bench", "note": note, "secret": secret }))
        .unwrap_or_default()
}

struct Row {
    name: String,
    rounds: Vec<RunResult>,
}

impl Row {
    /// The median round by requests per second.
    fn median(&self) -> &RunResult {
        let mut order: Vec<&RunResult> = self.rounds.iter().collect();
        order.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
        order[order.len() / 2]
    }
}

#[tokio::main]
async fn main() {
    match real_main().await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    }
}

async fn real_main() -> Result<bool, Error> {
    let args = parse_args()?;
    let mut servers = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        let ca = &args.cas[i.min(args.cas.len() - 1)];
        servers.push((client(ca)?, url.clone()));
    }
    let session = login(&servers[0].0, &servers[0].1, &args.code).await?;
    if servers.len() > 1 {
        println!(
            "loadgen: {} instances, requests spread over them in turn",
            servers.len()
        );
    }
    let ctx = Arc::new(Ctx {
        client: servers[0].0.clone(),
        servers,
        session,
        pocketbase: args.pocketbase.clone(),
        ids: Mutex::new(HashMap::new()),
    });
    let body = record_body();
    let mut plan: Vec<(String, Kind)> = Vec::new();
    for s in &args.scenarios {
        match s.as_str() {
            "healthz" => plan.push(("GET /healthz".into(), Kind::Healthz)),
            "me" => plan.push(("GET /v1/me (signed)".into(), Kind::Me)),
            "write" => {
                for c in [&args.plain, &args.secure] {
                    plan.push((
                        format!("POST {c} record (signed)"),
                        Kind::Create {
                            collection: c.clone(),
                            body: body.clone(),
                        },
                    ));
                }
            }
            "read" => {
                for c in [&args.plain, &args.secure] {
                    plan.push((
                        format!("GET {c} record (signed)"),
                        Kind::Read {
                            collection: c.clone(),
                        },
                    ));
                }
            }
            "pocketbase" => {
                if args.pocketbase.is_none() {
                    return Err("the pocketbase scenario needs --pocketbase-url".into());
                }
                plan.push((
                    "POST PocketBase record (JWT)".into(),
                    Kind::PbCreate { body: body.clone() },
                ));
                plan.push(("GET PocketBase record (JWT)".into(), Kind::PbRead));
            }
            other => return Err(format!("unknown scenario {other}").into()),
        }
    }

    println!(
        "loadgen: {} concurrent requests, {} s per run after a {} s warm-up, {} rounds (median shown)",
        args.concurrency,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        args.rounds
    );
    let mut rows: Vec<Row> = plan
        .iter()
        .map(|(name, _)| Row {
            name: name.clone(),
            rounds: Vec::new(),
        })
        .collect();
    let mut all_ok = true;
    // Rounds interleave the scenarios, so slow drift on a shared machine hits them all alike.
    for round in 0..args.rounds {
        for (i, (name, kind)) in plan.iter().enumerate() {
            if round == 0 && !args.warmup.is_zero() {
                let _ = run(&ctx, kind, args.concurrency, args.warmup).await;
            }
            let r = run(&ctx, kind, args.concurrency, args.duration).await;
            println!(
                "  round {} {name:<34} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} failed)",
                round + 1,
                r.per_second(),
                r.percentile_ms(50),
                r.percentile_ms(99),
                r.ok,
                r.failed
            );
            if r.failed > 0 {
                all_ok = false;
                eprintln!(
                    "  first failure: {}",
                    r.first_failure.as_deref().unwrap_or("?")
                );
            }
            rows[i].rounds.push(r);
        }
    }

    println!();
    println!(
        "| {:<34} | {:>9} | {:>8} | {:>8} |",
        "scenario", "req/s", "p50 ms", "p99 ms"
    );
    println!("|{:-<36}|{:->11}|{:->10}|{:->10}|", "", "", "", "");
    for row in &rows {
        let m = row.median();
        println!(
            "| {:<34} | {:>9.0} | {:>8.2} | {:>8.2} |",
            row.name,
            m.per_second(),
            m.percentile_ms(50),
            m.percentile_ms(99)
        );
    }
    println!();
    let rate = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map(|r| r.median().per_second())
    };
    let ratios = [
        (
            "signed GET /v1/me vs GET /healthz".to_owned(),
            "GET /v1/me (signed)".to_owned(),
            "GET /healthz".to_owned(),
        ),
        (
            format!("write: {} vs {}", args.secure, args.plain),
            format!("POST {} record (signed)", args.secure),
            format!("POST {} record (signed)", args.plain),
        ),
        (
            format!("read: {} vs {}", args.secure, args.plain),
            format!("GET {} record (signed)", args.secure),
            format!("GET {} record (signed)", args.plain),
        ),
        (
            format!("owner-rule read: serve {} vs PocketBase", args.plain),
            format!("GET {} record (signed)", args.plain),
            "GET PocketBase record (JWT)".to_owned(),
        ),
        (
            format!("write: serve {} vs PocketBase", args.plain),
            format!("POST {} record (signed)", args.plain),
            "POST PocketBase record (JWT)".to_owned(),
        ),
    ];
    for (label, a, b) in ratios {
        if let (Some(a), Some(b)) = (rate(&a), rate(&b)) {
            println!(
                "ratio {label}: {:.3} (throughput), i.e. {:.2}x the time per request",
                a / b,
                b / a
            );
        }
    }
    Ok(all_ok)
}
