//! What every end-to-end test file shares: a server on 127.0.0.1 port 0 with a fresh
//! development certificate and the fake WeChat API, a client that trusts exactly that
//! certificate, signed requests, and the checks of headers and problems.
//!
//! The database is a SQLite file in the test's temporary folder, or, when
//! `MINIGUARD_TEST_POSTGRES_URL` is set (`postgres://postgres@127.0.0.1:5432/postgres`), a
//! PostgreSQL database of the test's own, created from that URL and dropped when the test ends
//! (see [`TestDb`]), so tests stay parallel on either.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{Keyring, RequestParts, SigningKey};
use miniguard_server::db::{Db, Location};
use miniguard_server::platform::fake::FakeWeChat;
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::serve::{Transport, serve};
use miniguard_server::tls::DevCertificate;
use miniguard_server::{AppOptions, AppState, app};
use reqwest::StatusCode;
use rustls::SupportedProtocolVersion;
use rustls_pki_types::CertificateDer;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const APPID: &str = "wxtest0000000001";
pub const SECRET: &str = "test-app-secret-do-not-leak";

/// A fixed data key, so tests can open what the server encrypted.
pub const TEST_KEYS: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

pub fn test_keyring() -> Keyring {
    Keyring::from_text(TEST_KEYS).unwrap()
}

pub fn test_options() -> AppOptions {
    AppOptions {
        body_limit: 16 * 1024,
        ..AppOptions::default()
    }
}

/// The variable naming the PostgreSQL server of the tests (a database to connect to first,
/// whose user may create databases); unset or empty: the tests run on SQLite.
pub const POSTGRES_ENV: &str = "MINIGUARD_TEST_POSTGRES_URL";

/// The database of one test (see the module documentation); dereferences to its location.
pub struct TestDb {
    location: Location,
    postgres: Option<PgDatabase>,
}

/// The databases in use, by folder: a server started again on a folder finds the database of
/// the one before, as long as the test holds it.
static LIVE: std::sync::Mutex<Vec<(std::path::PathBuf, std::sync::Weak<TestDb>)>> =
    std::sync::Mutex::new(Vec::new());

impl TestDb {
    /// The database of `dir`: a SQLite file `dir/miniguard.db`, or a PostgreSQL database of its
    /// own whose uploads go to `dir/uploads`. While a handle lives, the same folder answers the
    /// same database (a test that restarts a server holds one across the restart).
    pub async fn new(dir: &Path) -> Arc<Self> {
        if let Some(live) = LIVE
            .lock()
            .unwrap()
            .iter()
            .find(|(d, _)| d == dir)
            .and_then(|(_, db)| db.upgrade())
        {
            return live;
        }
        let db = Arc::new(Self::create(dir).await);
        let mut live = LIVE.lock().unwrap();
        live.retain(|(_, db)| db.strong_count() > 0);
        live.push((dir.to_path_buf(), Arc::downgrade(&db)));
        db
    }

    async fn create(dir: &Path) -> Self {
        match std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) {
            None => Self {
                location: Location::Sqlite(dir.join("miniguard.db")),
                postgres: None,
            },
            Some(admin) => {
                let pg = PgDatabase::create(&admin).await;
                Self {
                    location: Location::Postgres {
                        url: pg.url.clone(),
                        files: dir.join("uploads"),
                    },
                    postgres: Some(pg),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The SQLite file, when the database is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.location {
            Location::Sqlite(p) => Some(p),
            Location::Postgres { .. } => None,
        }
    }

    /// The URL to hand `serve --dev` (`DevOptions::database_url`): the PostgreSQL database, or
    /// `None` for the SQLite file of the data directory.
    pub fn database_url(&self) -> Option<String> {
        self.postgres.as_ref().map(|p| p.url.clone())
    }

    /// Where uploads go.
    pub fn uploads_dir(&self) -> std::path::PathBuf {
        match &self.location {
            Location::Sqlite(p) => p.parent().unwrap().join("uploads"),
            Location::Postgres { files, .. } => files.clone(),
        }
    }
}

impl std::ops::Deref for TestDb {
    type Target = Location;
    fn deref(&self) -> &Location {
        &self.location
    }
}

/// A database created for one test on the server of [`POSTGRES_ENV`], dropped (with any
/// connection still open to it) when this value is.
pub struct PgDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin: &str) -> Self {
        let name = format!("mg_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot connect: {e}"));
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&name);
        Self {
            admin: admin.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: the statement runs on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("dropping test database {}: {e}", self.name);
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub port: u16,
    pub cert: CertificateDer<'static>,
    pub fake: FakeWeChat,
    pub db: Arc<TestDb>,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<std::io::Result<()>>>,
    pub _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(true, Vec::new()).await
    }

    pub async fn start_with_timeout(request_timeout: Duration) -> Self {
        Self::start_full(
            true,
            AppOptions {
                request_timeout,
                ..test_options()
            },
        )
        .await
    }

    /// `tls: false` is the `insecure_http_behind_proxy` mode, with these proxies trusted.
    pub async fn start_with(tls: bool, trusted_proxies: Vec<std::net::IpAddr>) -> Self {
        Self::start_full(
            tls,
            AppOptions {
                trusted_proxies,
                ..test_options()
            },
        )
        .await
    }

    pub async fn start_full(tls: bool, options: AppOptions) -> Self {
        Self::start_serving(tls, options, None).await
    }

    /// An HTTPS server with the data API's `collections` installed.
    #[allow(dead_code)] // reason: each e2e file compiles this module; not all serve collections
    pub async fn start_collections(
        collections: miniguard_server::data::schema::Collections,
        options: AppOptions,
    ) -> Self {
        Self::start_serving(true, options, Some(collections)).await
    }

    /// An HTTPS server on `dir/miniguard.db`; the directory outlives the server (restarts).
    pub async fn start_in(dir: &std::path::Path, options: AppOptions) -> Self {
        Self::start_serving_in(true, options, None, Some(dir), None).await
    }

    /// An HTTPS server remembering at most `capacity` live nonces of signed requests.
    pub async fn start_with_nonce_capacity(capacity: usize) -> Self {
        Self::start_serving_in(true, test_options(), None, None, Some(capacity)).await
    }

    async fn start_serving(
        tls: bool,
        options: AppOptions,
        collections: Option<miniguard_server::data::schema::Collections>,
    ) -> Self {
        Self::start_serving_in(tls, options, collections, None, None).await
    }

    /// One of several instances: an HTTPS server on the database of `dir` (another instance
    /// started on the same `dir` shares it) keeping its nonces, limits and invalidations in
    /// the Redis at `redis_url`.
    pub async fn start_instance(options: AppOptions, dir: &Path, redis_url: &str) -> Self {
        Self::start_serving_shared(true, options, None, Some(dir), None, Some(redis_url)).await
    }

    async fn start_serving_in(
        tls: bool,
        options: AppOptions,
        collections: Option<miniguard_server::data::schema::Collections>,
        data_dir: Option<&std::path::Path>,
        nonce_capacity: Option<usize>,
    ) -> Self {
        // `.ci/run` runs the suite again on PostgreSQL with the state instances share in Redis.
        let redis = std::env::var("MINIGUARD_TEST_SHARED_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty());
        Self::start_serving_shared(
            tls,
            options,
            collections,
            data_dir,
            nonce_capacity,
            redis.as_deref(),
        )
        .await
    }

    async fn start_serving_shared(
        tls: bool,
        options: AppOptions,
        collections: Option<miniguard_server::data::schema::Collections>,
        data_dir: Option<&std::path::Path>,
        nonce_capacity: Option<usize>,
        redis: Option<&str>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = TestDb::new(data_dir.unwrap_or(dir.path())).await;
        let db = match nonce_capacity {
            Some(capacity) => Db::connect(&store, capacity).await,
            None => Db::open_at(&store).await,
        }
        .unwrap();
        if let Some(url) = redis {
            let deployment = db.deployment_id().await.unwrap();
            let shared = miniguard_server::shared::Shared::connect(url, &deployment)
                .await
                .unwrap();
            db.use_shared(shared);
        }
        if let Some(c) = &collections {
            miniguard_server::data::store::install(&db, c)
                .await
                .unwrap();
        }
        let fake = FakeWeChat::start(APPID, SecretString::from(SECRET))
            .await
            .unwrap();
        let platform = WeChatClient::new(
            &fake.base_url(),
            APPID,
            SecretString::from(SECRET),
            Duration::from_secs(5),
        )
        .unwrap();
        let mut state = AppState::new(db, Arc::new(platform), test_keyring(), options);
        if let Some(c) = collections {
            state = state.with_collections(c);
        }
        let cert = DevCertificate::generate().unwrap();
        let transport = if tls {
            Transport::Tls(cert.server_config().unwrap())
        } else {
            Transport::InsecureHttpBehindProxy
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app(state), transport, async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" }),
            port,
            cert: cert.cert.clone(),
            fake,
            db: store,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    pub fn client_with(&self, versions: &[&'static SupportedProtocolVersion]) -> reqwest::Client {
        let config = client_config(&self.cert, versions);
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    pub fn client(&self) -> reqwest::Client {
        self.client_with(&[&rustls::version::TLS13])
    }

    pub async fn login_via_proxy(&self, code: &str, forwarded_for: &str) {
        let res = reqwest::Client::new()
            .post(self.url("/v1/auth/wechat/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, code: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let res = self
            .client()
            .post(self.url("/v1/auth/wechat/login"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.json().await.unwrap();
        (status, headers, body)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("server stops")
                .unwrap()
                .unwrap();
        }
    }
}

/// A rustls client that trusts only `cert` and speaks `versions`.
pub fn client_config(
    cert: &CertificateDer<'static>,
    versions: &[&'static SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub fn assert_security_headers(h: &reqwest::header::HeaderMap) {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(
        get("strict-transport-security").starts_with("max-age="),
        "{h:?}"
    );
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert_eq!(get("x-frame-options"), "DENY");
    assert_eq!(get("referrer-policy"), "no-referrer");
    assert!(get("content-security-policy").contains("default-src 'none'"));
    assert_eq!(get("cache-control"), "no-store");
    assert!(!get("x-request-id").is_empty());
}

pub async fn assert_problem(res: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    assert_security_headers(res.headers());
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["request_id"], id.as_str());
    assert!(body["title"].is_string());
    assert!(body["type"].is_string());
    body
}

pub async fn audit(location: &Location) -> Vec<(String, Value)> {
    let db = Db::open_read_only_at(location).await.unwrap();
    let rows = db.audit_rows().await.unwrap();
    db.close().await;
    rows.into_iter()
        .map(|r| (r.action, serde_json::from_str(&r.detail).unwrap()))
        .collect()
}

pub async fn post_json(server: &TestServer, path: &str, body: &Value) -> (StatusCode, Value) {
    let res = server
        .client()
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Sends a request signed as the protocol says, with the session's token and key.
pub async fn signed_at(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    session: &Value,
    timestamp: u64,
    nonce: &str,
) -> reqwest::Response {
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let parts = RequestParts {
        method,
        path,
        query,
        timestamp,
        nonce,
        body,
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    server
        .client()
        .request(method.parse().unwrap(), server.url(path_and_query))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .header("x-mg-timestamp", timestamp.to_string())
        .header("x-mg-nonce", nonce)
        .header("x-mg-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub async fn signed(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    session: &Value,
) -> StatusCode {
    let nonce = generate_nonce().unwrap();
    signed_at(
        server,
        method,
        path_and_query,
        b"",
        session,
        unix_now(),
        &nonce,
    )
    .await
    .status()
}

pub async fn me(server: &TestServer, session: &Value) -> StatusCode {
    signed(server, "GET", "/v1/me", session).await
}

/// A value bound by [`Raw`].
pub enum RawVal<'a> {
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A plain connection to a test's database, bypassing the server: what someone with the file
/// (SQLite) or the database password (PostgreSQL) can do. SQL uses `$N` placeholders.
pub enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

macro_rules! raw_bind {
    ($sql:expr, $binds:expr) => {{
        let mut q = sqlx::query($sql);
        for b in $binds {
            q = match b {
                RawVal::Int(n) => q.bind(*n),
                RawVal::Text(s) => q.bind(*s),
                RawVal::Blob(b) => q.bind(*b),
            };
        }
        q
    }};
}

impl Raw {
    pub async fn connect(location: &Location) -> Self {
        match location {
            Location::Sqlite(path) => Self::Sqlite(
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap(),
            ),
            Location::Postgres { url, .. } => {
                Self::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// Runs one statement; the rows it changed.
    pub async fn execute(&mut self, sql: &str, binds: &[RawVal<'_>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(c) => raw_bind!(sql, binds).execute(c).await?.rows_affected(),
            Self::Postgres(c) => raw_bind!(sql, binds).execute(c).await?.rows_affected(),
        })
    }

    /// Runs statements without parameters.
    pub async fn script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Self::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
    }

    /// The first column of the one row a query answers, as bytes.
    pub async fn blob(&mut self, sql: &str, binds: &[RawVal<'_>]) -> Vec<u8> {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
            Self::Postgres(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
        }
    }

    /// The first column of the one row a query answers, as text.
    pub async fn text(&mut self, sql: &str, binds: &[RawVal<'_>]) -> String {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
            Self::Postgres(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
        }
    }

    /// The first column of the one row a query answers, as an integer.
    pub async fn int(&mut self, sql: &str, binds: &[RawVal<'_>]) -> i64 {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
            Self::Postgres(c) => raw_bind!(sql, binds).fetch_one(c).await.unwrap().get(0),
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(c) => c.close().await.unwrap(),
            Self::Postgres(c) => c.close().await.unwrap(),
        }
    }
}
