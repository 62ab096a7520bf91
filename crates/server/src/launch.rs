//! Assembling a server from its settings: `serve --dev` (self-signed certificate, throwaway
//! data, the fake platform on a loopback port) or `serve --config` (certificate files, the real
//! platform). The binary only prints what [`Running`] reports and waits for a signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use miniguard_crypto::{Key, KeyId, Keyring};
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::config::{ConfigError, ServerSettings};
use crate::db::{Db, DbError, Location};
use crate::http::{AppOptions, AppState, app};
use crate::platform::Platforms;
use crate::platform::alipay::AlipayClient;
use crate::platform::douyin::DouyinClient;
use crate::platform::fake::FakeWeChat;
use crate::platform::fake_alipay::FakeAlipay;
use crate::platform::fake_douyin::FakeDouyin;
use crate::platform::wechat::{WeChatClient, WeChatConfigError};
use crate::serve::{ConnectionLimits, Transport, serve_with};
use crate::tls::{DevCertificate, TlsError, fingerprint, load_pem_files, server_config};

/// The appid the development fake answers to.
pub const DEV_APPID: &str = "wxdev0000000000fake";
/// The Douyin appid of the development fake.
pub const DEV_DOUYIN_APPID: &str = "ttdev0000000000fake";
/// The Alipay `app_id` of the development fake.
pub const DEV_ALIPAY_APP_ID: &str = "2021000000000000";

/// Timeout of calls to the platform.
const PLATFORM_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("platform: {0}")]
    Platform(#[from] WeChatConfigError),
    #[error("data keys: {0}")]
    Keys(String),
    #[error("{0}")]
    Collections(#[from] crate::data::store::StoreError),
    #[error("redis_url: {0}")]
    Shared(#[from] crate::shared::SharedError),
    #[error(
        "--dev listens on loopback addresses only (it logs anyone in with dev:<name>), not on {0}"
    )]
    DevNotLoopback(SocketAddr),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

/// `serve --dev` settings.
#[derive(Clone, Debug)]
pub struct DevOptions {
    pub listen: SocketAddr,
    /// Where the database and the certificate go; a temporary directory (removed when the server
    /// stops) when `None`.
    pub data_dir: Option<PathBuf>,
    /// A database URL (`--database-url`): PostgreSQL instead of a SQLite file in the data
    /// directory (uploads stay in the data directory).
    pub database_url: Option<String>,
    /// A Redis URL (`--redis-url`): nonces, limits and session invalidations shared with the
    /// other instances on the same database.
    pub redis_url: Option<String>,
    /// Per-address rate limits; the defaults when `None`.
    pub limits: Option<crate::config::LimitSettings>,
    /// Hosts rich-text images may come from (`[server] rich_text_image_hosts` of the file given
    /// with `--config`); empty: no remote image is kept.
    pub rich_text_image_hosts: Vec<String>,
}

/// A bound, ready server: what it listens on and how, before it accepts anything.
pub struct Running {
    /// The bound address (the real port when 0 was asked for).
    pub local_addr: SocketAddr,
    /// `https://…` or, behind a proxy, `http://…`.
    pub url: String,
    /// SHA-256 fingerprint of the served certificate (TLS only).
    pub cert_fingerprint: Option<String>,
    /// Where `--dev` wrote its certificate as PEM, for `curl --cacert`.
    pub cert_pem_path: Option<PathBuf>,
    /// The database.
    pub database: Location,
    /// The data directory of `--dev` (its keys, certificate and, with SQLite, the database).
    pub data_dir: Option<PathBuf>,
    /// Whether the data directory is removed at exit.
    pub data_is_temporary: bool,
    /// The fake platform's base URL (`--dev` only).
    pub fake_platform_url: Option<String>,
    listener: TcpListener,
    router: axum::Router,
    transport: Transport,
    limits: ConnectionLimits,
    db: Db,
    /// The invalidations the other instances publish (with `redis_url`).
    invalidations: Option<crate::shared::Subscription>,
    fake: Option<FakeWeChat>,
    other_fakes: Option<(FakeDouyin, FakeAlipay)>,
    temp_dir: Option<tempfile::TempDir>,
}

impl Running {
    /// Serves until `shutdown` completes, then drains connections and closes the database (and,
    /// in `--dev`, stops the fake and removes the temporary data).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(self.db.clone()));
        // Read before the first request, so an end after it is seen as one.
        let ended = self.db.sessions_ended().await.ok();
        let watcher = tokio::spawn(watch_sessions_ended(self.db.clone(), ended));
        let listener = self
            .invalidations
            .map(|sub| tokio::spawn(hear_invalidations(self.db.clone(), sub)));
        let served = serve_with(
            self.listener,
            self.router,
            self.transport,
            self.limits,
            shutdown,
        )
        .await;
        sweeper.abort();
        watcher.abort();
        if let Some(listener) = listener {
            listener.abort();
        }
        self.db.close().await;
        if let Some(fake) = self.fake {
            fake.stop().await;
        }
        if let Some((douyin, alipay)) = self.other_fakes {
            douyin.stop().await;
            alipay.stop().await;
        }
        drop(self.temp_dir);
        served
    }
}

/// Drops the cached sessions the other instances invalidate, for as long as the server runs.
async fn hear_invalidations(db: Db, mut sub: crate::shared::Subscription) {
    loop {
        match sub.next().await {
            crate::shared::Heard::Invalidate(crate::session_cache::Invalidation::All) => {
                tracing::warn!("every session was ended: every cached session goes");
                db.session_cache().clear();
            }
            crate::shared::Heard::Invalidate(what) => db.session_cache().invalidate(&what),
            crate::shared::Heard::Everything => {
                tracing::warn!("the shared store's connection was lost: every cached session goes");
                db.session_cache().clear();
            }
        }
    }
}

/// How often a running server reads whether every session was ended at once.
pub const SESSIONS_ENDED_EVERY: Duration = Duration::from_secs(1);

/// Drops every cached session when the database says every session was ended at once since
/// the last look (`miniguard accounts end-sessions`, run in another process: it cannot reach
/// this one's memory, and without Redis nothing else tells it). `seen`: the count at start.
async fn watch_sessions_ended(db: Db, mut seen: Option<i64>) {
    let mut tick = tokio::time::interval(SESSIONS_ENDED_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match db.sessions_ended().await {
            Ok(now) if seen != Some(now) => {
                if seen.is_some() {
                    tracing::warn!("every session was ended: every cached session goes");
                }
                // Unknown before (the first read failed): drop them too, to be sure.
                db.session_cache().clear();
                seen = Some(now);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading whether every session was ended failed"),
        }
    }
}

/// With a `redis_url`: connects to the shared store under this database's deployment name, uses
/// it for nonces, limits and invalidations, and subscribes to the others' invalidations.
async fn share(
    db: &Db,
    redis_url: Option<&str>,
) -> Result<Option<crate::shared::Subscription>, LaunchError> {
    let Some(url) = redis_url else {
        return Ok(None);
    };
    let deployment = db.deployment_id().await?;
    let shared = crate::shared::Shared::connect(url, &deployment).await?;
    let sub = shared.subscribe().await?;
    db.use_shared(shared);
    Ok(Some(sub))
}

/// How often expired tokens and nonces are deleted.
const SWEEP_EVERY: Duration = Duration::from_mins(10);

async fn sweep_forever(db: Db) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        // The first tick is at once: orphans of a crash go at start.
        tick.tick().await;
        match crate::data::files::sweep_orphans(&db, crate::data::files::ORPHAN_GRACE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "removed orphaned uploads"),
            Err(e) => tracing::warn!(error = %e, "sweeping orphaned uploads failed"),
        }
        // A day of grace keeps just-expired rows for inspection.
        match db.sweep(24 * 3600 * 1000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "swept expired tokens and nonces"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired tokens failed"),
        }
        // Expired MFA challenges, and lockout counters a day old (they start over anyway).
        let day_ago = crate::db::now_ms() - 24 * 3600 * 1000;
        let swept = match db.sweep_challenges(day_ago).await {
            Ok(n) => db.sweep_failures(day_ago).await.map(|m| n + m),
            Err(e) => Err(e),
        };
        if let Err(e) = swept {
            tracing::warn!(error = %e, "sweeping MFA challenges failed");
        }
    }
}

/// Sets up `serve --dev`.
pub async fn start_dev(options: DevOptions) -> Result<Running, LaunchError> {
    start_dev_with(options, crate::data::Collections::default()).await
}

/// Sets up `serve --dev` serving these collections (`serve --dev --config FILE`).
pub async fn start_dev_with(
    options: DevOptions,
    collections: crate::data::Collections,
) -> Result<Running, LaunchError> {
    if !options.listen.ip().is_loopback() {
        return Err(LaunchError::DevNotLoopback(options.listen));
    }
    let (temp_dir, data_dir) = if let Some(dir) = options.data_dir {
        create_dir(&dir)?;
        (None, dir)
    } else {
        let t = tempfile::Builder::new()
            .prefix("miniguard-dev-")
            .tempdir()
            .map_err(io("creating a temporary data directory"))?;
        let path = t.path().to_path_buf();
        (Some(t), path)
    };
    let database = match &options.database_url {
        Some(url) => Location::from_url(url, &data_dir.join("uploads"))?,
        None => Location::Sqlite(data_dir.join("miniguard.db")),
    };
    let db = Db::open_at(&database).await?;
    db.use_audit_key(dev_audit_key(&data_dir)?).await?;
    let invalidations = share(&db, options.redis_url.as_deref()).await?;
    crate::data::store::install(&db, &collections).await?;

    // A throwaway AppSecret shared only by the fake and our client.
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let fake = FakeWeChat::start(DEV_APPID, SecretString::from(secret.clone()))
        .await
        .map_err(io("starting the fake platform"))?;
    let mfa = dev_mfa_services(&fake.base_url(), &secret);
    let platform = WeChatClient::new(
        &fake.base_url(),
        DEV_APPID,
        SecretString::from(secret),
        PLATFORM_TIMEOUT,
    )?;
    let (platforms, other_fakes) = dev_platforms(platform).await?;

    let cert = DevCertificate::generate()?;
    let cert_pem_path = data_dir.join("dev-cert.pem");
    std::fs::write(&cert_pem_path, &cert.cert_pem)
        .map_err(io(format!("writing {}", cert_pem_path.display())))?;
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(io(format!("listening on {}", options.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    // A throwaway data key, or with --data-dir one kept next to the database (0600).
    let keyring = dev_keyring(temp_dir.is_none().then_some(data_dir.as_path()))?;
    let mut app_options = AppOptions::default();
    if let Some(limits) = &options.limits {
        (app_options.general_rate, app_options.auth_rate) = limits.rates();
        app_options.data_query_timeout = limits.query_timeout.0;
        app_options.filter_budget = limits.filter_budget;
        app_options.upload_quota_bytes = limits.upload_quota_bytes;
    }
    app_options
        .image_hosts
        .clone_from(&options.rich_text_image_hosts);
    let state = AppState::with_services(db.clone(), platforms, keyring, app_options, mfa)
        .with_collections(collections.clone());
    Ok(Running {
        local_addr,
        url: format!("https://{local_addr}"),
        cert_fingerprint: Some(cert.fingerprint()),
        cert_pem_path: Some(cert_pem_path),
        database,
        data_dir: Some(data_dir.clone()),
        data_is_temporary: temp_dir.is_some(),
        fake_platform_url: Some(fake.base_url()),
        listener,
        router: app(state),
        transport: Transport::Tls(cert.server_config()?),
        limits: fit_to_open_file_limit(ConnectionLimits::default()),
        db,
        invalidations,
        fake: Some(fake),
        other_fakes: Some(other_fakes),
        temp_dir,
    })
}

/// `serve --config`'s MFA services: SOTER through the configured WeChat app, SMS through
/// `[server.sms]` when present.
fn configured_mfa_services(
    settings: &ServerSettings,
) -> Result<crate::mfa::MfaServices, LaunchError> {
    let invalid = |e: String| LaunchError::Config(ConfigError::Invalid(e));
    let soter = crate::mfa::soter::SoterClient::new(
        &settings.wechat.base_url,
        &settings.wechat.appid,
        settings.wechat_secret()?,
        PLATFORM_TIMEOUT,
    )
    .map_err(|e| invalid(format!("SOTER: {e}")))?;
    let sms = match &settings.sms {
        Some(s) => {
            let token = crate::mfa::sms::HttpSms::token_from(
                s.token_env.as_deref(),
                s.token_file.as_deref(),
            )
            .map_err(|e| invalid(format!("[server.sms]: {e}")))?;
            let provider = crate::mfa::sms::HttpSms::new(&s.url, token, PLATFORM_TIMEOUT)
                .map_err(|e| invalid(format!("[server.sms]: {e}")))?;
            Some(Arc::new(provider) as Arc<dyn crate::mfa::sms::SmsProvider>)
        }
        None => None,
    };
    Ok(crate::mfa::MfaServices {
        sms,
        soter: Some(Arc::new(soter)),
    })
}

/// Sets up `serve --config`.
pub async fn start_configured(settings: &ServerSettings) -> Result<Running, LaunchError> {
    let transport = match &settings.tls {
        Some(tls) => {
            let (chain, key) = load_pem_files(&tls.cert, &tls.key)?;
            let fp = chain.first().map(fingerprint);
            (Transport::Tls(server_config(chain, key)?), fp)
        }
        None => (Transport::InsecureHttpBehindProxy, None),
    };
    let secret = settings.wechat_secret()?;
    let keyring = settings.keyring()?;
    let platform = WeChatClient::new(
        &settings.wechat.base_url,
        &settings.wechat.appid,
        secret,
        PLATFORM_TIMEOUT,
    )?;
    let location = settings.location()?;
    if let Location::Sqlite(path) = &location
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        create_dir(parent)?;
    }
    let audit_key = settings.audit_key()?;
    let db = Db::open_at(&location).await?;
    db.use_audit_key(audit_key).await?;
    let invalidations = share(&db, settings.redis_url.as_deref()).await?;
    crate::data::store::install(&db, &settings.collections).await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(io(format!("listening on {}", settings.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    let scheme = match transport.0 {
        Transport::Tls(_) => "https",
        Transport::InsecureHttpBehindProxy => "http",
    };
    let mut platforms = Platforms::new(Arc::new(platform));
    if let (Some(d), Some(secret)) = (&settings.platforms.douyin, settings.douyin_secret()?) {
        let client = DouyinClient::new(&d.base_url, &d.appid, secret, PLATFORM_TIMEOUT)?;
        platforms = platforms.with(Arc::new(client));
    }
    if let (Some(a), Some((private, public))) =
        (&settings.platforms.alipay, settings.alipay_keys()?)
    {
        use secrecy::ExposeSecret as _;
        let client = AlipayClient::new(
            &a.gateway,
            &a.app_id,
            &private,
            public.expose_secret(),
            PLATFORM_TIMEOUT,
        )?;
        platforms = platforms.with(Arc::new(client));
    }
    let state = AppState::with_services(
        db.clone(),
        platforms,
        keyring,
        settings.app_options(),
        configured_mfa_services(settings)?,
    )
    .with_collections(settings.collections.clone());
    Ok(Running {
        local_addr,
        url: format!("{scheme}://{local_addr}"),
        cert_fingerprint: transport.1,
        cert_pem_path: None,
        database: location,
        data_dir: None,
        data_is_temporary: false,
        fake_platform_url: None,
        listener,
        router: app(state),
        transport: transport.0,
        limits: fit_to_open_file_limit(ConnectionLimits {
            trusted_proxies: settings.trusted_proxies.clone(),
            ..settings.connections.limits()
        }),
        db,
        invalidations,
        fake: None,
        other_fakes: None,
        temp_dir: None,
    })
}

/// `--dev`: the fakes of Douyin and Alipay next to WeChat's, with throwaway secrets and keys,
/// so `dev:<name>` works on all three login routes.
async fn dev_platforms(
    wechat: WeChatClient,
) -> Result<(Platforms, (FakeDouyin, FakeAlipay)), LaunchError> {
    use secrecy::ExposeSecret as _;
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let douyin_fake = FakeDouyin::start(DEV_DOUYIN_APPID, SecretString::from(secret.clone()))
        .await
        .map_err(io("starting the fake Douyin"))?;
    let douyin = DouyinClient::new(
        &douyin_fake.base_url(),
        DEV_DOUYIN_APPID,
        SecretString::from(secret),
        PLATFORM_TIMEOUT,
    )?;
    // Two throwaway RSA key pairs (the app's and the fake Alipay's), off the async threads.
    let keys = tokio::task::spawn_blocking(|| {
        Ok::<_, WeChatConfigError>((
            crate::platform::fake_alipay::generate_key_pair()?,
            crate::platform::fake_alipay::generate_key_pair()?,
        ))
    })
    .await
    .map_err(|e| LaunchError::Keys(format!("generating RSA keys: {e}")))??;
    let ((app_private, app_public), (alipay_private, alipay_public)) = keys;
    let alipay_fake = FakeAlipay::start(
        DEV_ALIPAY_APP_ID,
        &app_public,
        alipay_private.expose_secret(),
    )
    .await?;
    let alipay = AlipayClient::new(
        &alipay_fake.gateway_url(),
        DEV_ALIPAY_APP_ID,
        &app_private,
        &alipay_public,
        PLATFORM_TIMEOUT,
    )?;
    let platforms = Platforms::new(Arc::new(wechat))
        .with(Arc::new(douyin))
        .with(Arc::new(alipay));
    Ok((platforms, (douyin_fake, alipay_fake)))
}

/// `--dev`'s MFA services: SMS codes go to the log (target `miniguard::dev_sms`), SOTER is
/// checked by the fake platform.
fn dev_mfa_services(fake_base_url: &str, secret: &str) -> crate::mfa::MfaServices {
    let soter = crate::mfa::soter::SoterClient::new(
        fake_base_url,
        DEV_APPID,
        SecretString::from(secret.to_owned()),
        PLATFORM_TIMEOUT,
    )
    .map_err(|e| tracing::warn!(error = %e, "SOTER disabled"))
    .ok()
    .map(Arc::new);
    crate::mfa::MfaServices {
        sms: Some(Arc::new(crate::mfa::sms::ConsoleSms)),
        soter,
    }
}

/// File descriptors kept for everything but client connections (the database and its WAL,
/// uploads, outgoing platform calls, the listener).
const RESERVED_FILES: u64 = 128;

/// Raises the soft open-file limit to the hard one (each connection is a descriptor, and a low
/// soft limit such as 256 or 1024 lets idle connections starve everything else), then lowers
/// the connection cap below what the limit allows, keeping [`RESERVED_FILES`] for the rest.
fn fit_to_open_file_limit(mut limits: ConnectionLimits) -> ConnectionLimits {
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-file limit");
            return limits;
        }
    };
    let room = if soft > 2 * RESERVED_FILES {
        soft - RESERVED_FILES
    } else {
        soft / 2
    };
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if limits.max_connections > room {
        tracing::warn!(
            open_file_limit = soft,
            max_connections = room,
            "connection cap lowered to fit the open-file limit"
        );
        limits.max_connections = room;
    }
    limits
}

/// Creates a data folder (and its missing parents) with mode 0700: it holds the database, its
/// WAL, the uploads and, in `--dev`, keys.
fn create_dir(dir: &Path) -> Result<(), LaunchError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(io(format!("creating {}", dir.display())))
}

/// The file in the `--dev` data directory holding the development audit key (mode 0600).
pub const DEV_AUDIT_KEY_FILE: &str = "dev-audit-key";

/// `--dev`'s audit key: read from [`DEV_AUDIT_KEY_FILE`] in the data directory, or made and
/// written there (0600) on the first run, so `audit-log verify --key-file` can check the log.
fn dev_audit_key(dir: &Path) -> Result<crate::audit::AuditKey, LaunchError> {
    use secrecy::ExposeSecret as _;
    let path = dir.join(DEV_AUDIT_KEY_FILE);
    if path.exists() {
        return crate::audit::AuditKey::from_file(&path)
            .map_err(|e| LaunchError::Keys(format!("{}: {e}", path.display())));
    }
    let (key, text) =
        crate::audit::AuditKey::generate().map_err(|e| LaunchError::Keys(e.to_string()))?;
    write_private(&path, format!("{}\n", text.expose_secret()).as_bytes())?;
    Ok(key)
}

/// Creates `path` with mode 0600 (refusing to overwrite) and writes `bytes` durably.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), LaunchError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(io(format!("creating {}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(format!("writing {}", path.display())))
}

/// The file in a `--dev --data-dir` directory holding the development data key.
pub const DEV_DATA_KEYS_FILE: &str = "dev-data-keys";

/// `--dev`'s keyring: a throwaway key, or with a data directory the key kept in
/// [`DEV_DATA_KEYS_FILE`] there (created with mode 0600 on the first run), so encrypted fields
/// and logins survive a restart on the same directory.
fn dev_keyring(data_dir: Option<&Path>) -> Result<Keyring, LaunchError> {
    let generate = || Key::generate().map_err(|e| LaunchError::Keys(e.to_string()));
    let Some(dir) = data_dir else {
        return Ok(Keyring::new(KeyId(1), generate()?));
    };
    let path = dir.join(DEV_DATA_KEYS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Keyring::from_text(&text)
            .map_err(|e| LaunchError::Keys(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use secrecy::ExposeSecret as _;
            let key = generate()?;
            let line = format!("1:{}\n", key.to_base64().expose_secret());
            write_private(&path, line.as_bytes())?;
            Ok(Keyring::new(KeyId(1), key))
        }
        Err(e) => Err(io(format!("reading {}", path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round 2, item 2: the soft open-file limit is raised to the hard one at start, and the
    /// connection cap stays below it with room for the database and uploads.
    #[cfg(unix)]
    #[test]
    fn the_open_file_limit_is_raised_and_bounds_the_connection_cap() {
        let limits = fit_to_open_file_limit(ConnectionLimits {
            max_connections: usize::MAX,
            ..ConnectionLimits::default()
        });
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(soft, hard);
        assert!(u64::try_from(limits.max_connections).unwrap() < soft);
    }

    #[tokio::test]
    async fn dev_mode_refuses_to_listen_beyond_loopback() {
        let r = start_dev(DevOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            data_dir: None,
            database_url: None,
            redis_url: None,
            limits: None,
            rich_text_image_hosts: Vec::new(),
        })
        .await;
        assert!(matches!(r, Err(LaunchError::DevNotLoopback(_))));
    }

    #[tokio::test]
    async fn dev_mode_starts_and_stops_and_cleans_up() {
        let running = start_dev(DevOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: None,
            database_url: None,
            redis_url: None,
            limits: None,
            rich_text_image_hosts: Vec::new(),
        })
        .await
        .unwrap();
        assert!(running.url.starts_with("https://127.0.0.1:"));
        assert!(running.data_is_temporary);
        let Location::Sqlite(db) = running.database.clone() else {
            panic!("--dev without a URL is SQLite")
        };
        assert!(db.exists());
        running.run_until(async {}).await.unwrap();
        assert!(!db.exists(), "the throwaway data directory is removed");
    }
}
