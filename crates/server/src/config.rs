//! `miniguard.toml`, section `[server]`. Secrets never live in the file: the platform secret is
//! read from an environment variable or a file that the configuration names.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8443"
//! database = "/var/lib/miniguard/miniguard.db"   # SQLite; or, for several instances on one
//! # database_url = "postgres://miniguard@db.internal:5432/miniguard"   # PostgreSQL (wins over
//! #                                          # database; --database-url and MINIGUARD_DATABASE_URL
//! #                                          # override it)
//! # uploads_dir = "/var/lib/miniguard/uploads"  # uploads with PostgreSQL [default: uploads
//! #                                          # beside this file]; with SQLite they go beside it
//! # redis_url = "redis://cache.internal:6379/0"  # several instances: nonces, limits and logouts
//! #                                          # shared in Redis (rediss:// for TLS);
//! #                                          # --redis-url and MINIGUARD_REDIS_URL override it
//!
//! data_keys_env = "MINIGUARD_DATA_KEYS"      # "1:BASE64KEY,2:..."; or: data_keys_file = "..."
//! #                                          # make one: miniguard keys generate
//! audit_key_file = "/run/secrets/audit-key"  # the audit chain's HMAC key; or: audit_key_env
//! #                                          # make one: miniguard audit-log keygen
//! rich_text_image_hosts = ["img.example.com"] # hosts rich-text <img> may load from (https:);
//! #                                          # without it no remote image is kept
//! # metrics_from = ["10.0.0.5"]              # besides loopback, who may read /metrics
//!
//! [server.tls]
//! cert = "/etc/miniguard/cert.pem"
//! key = "/etc/miniguard/key.pem"
//!
//! [server.wechat]
//! appid = "wx0123456789abcdef"
//! secret_env = "MINIGUARD_WECHAT_SECRET"     # or: secret_file = "/run/secrets/wechat"
//! # base_url = "https://api.weixin.qq.com"
//! # open_data_max_age_secs = 600               # how old an old-flow encryptedData may be
//!
//! [server.platforms.douyin]                   # optional: /v1/auth/douyin/login
//! appid = "tt0123456789abcdef"
//! secret_env = "MINIGUARD_DOUYIN_SECRET"     # or: secret_file
//! # base_url = "https://developer.toutiao.com"
//!
//! [server.platforms.alipay]                   # optional: /v1/auth/alipay/login
//! app_id = "2021000000000000"
//! private_key_file = "/run/secrets/alipay-app-key.pem"   # PKCS#8 PEM; or: private_key_env
//! alipay_public_key_file = "/etc/miniguard/alipay-public.pem"  # SPKI PEM; or: alipay_public_key_env
//! # gateway = "https://openapi.alipay.com/gateway.do"
//! ```
//!
//! Optional sections, shown with their defaults:
//!
//! ```toml
//! [server.sessions]
//! access_ttl = "15m"       # life of an access token
//! login_ttl = "30d"        # absolute life of a login, however often it is refreshed
//! idle_ttl = "7d"          # a login whose refresh token is not used this long ends
//!
//! [server.limits]          # per client address (IPv6 by /64), GCRA
//! per_minute = 600         # every route
//! burst = 100
//! auth_per_minute = 30     # login and refresh, in addition
//! auth_burst = 10
//! query_timeout = "5s"     # one data API query; stopped at it (503, Retry-After): SQLite
//!                          # interrupted, PostgreSQL by statement_timeout
//! filter_budget = 100      # cost of one ?filter= (a ~ on long text costs up to 32)
//! upload_quota_bytes = 104857600   # files one user may have uploaded, in any record (100 MiB)
//!
//! [server.connections]
//! max = 1024               # open at once (lowered at start to fit the open-file limit)
//! per_address = 64         # open at once from one address (IPv6 by /64); at it, the
//!                          # longest-idle one closes for a new one (not for trusted_proxies,
//!                          # which carry many clients: only `max` holds them)
//! idle_timeout = "60s"     # no request in flight this long: closed
//! ```
//!
//! Durations are a whole number and a unit: `s`, `m`, `h` or `d`.
//!
//! Instead of `[server.tls]`, `insecure_http_behind_proxy = true` serves plain HTTP for a reverse
//! proxy that terminates TLS; `trusted_proxies = ["10.0.0.2"]` names the proxies whose
//! `X-Forwarded-For` is believed, and is required with it (the server refuses to start without
//! it: every client would otherwise look like the proxy, sharing one rate limit and lockout key).
//!
//! `[collections.NAME]` tables (beside `[server]`) declare the data API's collections; they
//! are parsed by `crate::data::schema` into [`ServerSettings::collections`].

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use miniguard_crypto::Keyring;
use secrecy::SecretString;
use serde::Deserialize;

use crate::http::AppOptions;
use crate::ratelimit::Rate;
use crate::sessions::SessionPolicy;

/// A configuration problem. Never quotes a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The whole file; only `[server]` is ours, other sections belong to other commands.
#[derive(Deserialize)]
struct File {
    server: Option<ServerSettings>,
    /// `[collections.NAME]`: the data API's schemas (see `crate::data::schema`).
    collections: Option<toml::Value>,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// SQLite database file (used when `database_url` is not set).
    pub database: Option<PathBuf>,
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` (or `sqlite:FILE`); wins over `database`.
    pub database_url: Option<String>,
    /// Where uploaded files go when the database is PostgreSQL (with SQLite: `uploads` beside
    /// the database file).
    pub uploads_dir: Option<PathBuf>,
    /// `redis://HOST:PORT/DB` or `rediss://...`: the store several instances share (see
    /// [`crate::shared`]); without it, one instance keeps that state in memory.
    pub redis_url: Option<String>,
    pub tls: Option<TlsSettings>,
    #[serde(default)]
    pub insecure_http_behind_proxy: bool,
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Addresses besides loopback that may read `/metrics` (a Prometheus server).
    #[serde(default)]
    pub metrics_from: Vec<IpAddr>,
    /// Hosts rich-text images may come from (`https:` only); empty: no remote image is kept.
    #[serde(default)]
    pub rich_text_image_hosts: Vec<String>,
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// Environment variable holding the data keys (`ID:BASE64` entries; the highest id encrypts).
    pub data_keys_env: Option<String>,
    /// File holding the data keys, same format.
    pub data_keys_file: Option<PathBuf>,
    /// Environment variable holding the audit key (base64 of 32 bytes; `miniguard audit-log
    /// keygen`): the key of the audit chain's HMAC, separate from the data keys.
    pub audit_key_env: Option<String>,
    /// File holding the audit key, same format.
    pub audit_key_file: Option<PathBuf>,
    pub wechat: WeChatSettings,
    #[serde(default)]
    pub sessions: SessionSettings,
    #[serde(default)]
    pub limits: LimitSettings,
    /// `[server.connections]`: caps and timeouts of connections.
    #[serde(default)]
    pub connections: ConnectionSettings,
    /// `[server.platforms.*]`: the other platforms.
    #[serde(default)]
    pub platforms: PlatformSettings,
    /// `[server.sms]`: the SMS gateway for one-time codes; without it `/v1/mfa/sms/*` answer 501.
    pub sms: Option<SmsSettings>,
    /// The file's `[collections.*]` (not part of `[server]`).
    #[serde(skip)]
    pub collections: crate::data::Collections,
}

/// `[server.sms]`: an HTTP SMS gateway (`crate::mfa::sms::HttpSms`): JSON sent by POST to `url` with
/// a bearer token read from `token_env` or `token_file`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub url: String,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
}

/// `[server.sessions]`: token lifetimes (see [`SessionPolicy`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    pub access_ttl: ConfigDuration,
    pub login_ttl: ConfigDuration,
    pub idle_ttl: ConfigDuration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        let p = SessionPolicy::default();
        Self {
            access_ttl: ConfigDuration(p.access_ttl),
            login_ttl: ConfigDuration(p.refresh_ttl),
            idle_ttl: ConfigDuration(p.idle_ttl),
        }
    }
}

/// `[server.limits]`: per-client-address rates (see [`Rate`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    pub per_minute: u32,
    pub burst: u32,
    pub auth_per_minute: u32,
    pub auth_burst: u32,
    /// The time limit of one data API query; SQLite is interrupted at it.
    pub query_timeout: ConfigDuration,
    /// The cost budget of one `?filter=` (see `crate::data::filter::cost`).
    pub filter_budget: u32,
    /// Bytes of uploads the records of one owner may hold.
    pub upload_quota_bytes: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let o = AppOptions::default();
        Self {
            per_minute: o.general_rate.per_minute,
            burst: o.general_rate.burst,
            auth_per_minute: o.auth_rate.per_minute,
            auth_burst: o.auth_rate.burst,
            query_timeout: ConfigDuration(o.data_query_timeout),
            filter_budget: o.filter_budget,
            upload_quota_bytes: o.upload_quota_bytes,
        }
    }
}

impl LimitSettings {
    fn check(&self) -> Result<(), ConfigError> {
        if self.per_minute == 0
            || self.burst == 0
            || self.auth_per_minute == 0
            || self.auth_burst == 0
            || self.query_timeout.0.is_zero()
            || self.filter_budget == 0
        {
            return Err(ConfigError::Invalid(
                "[server.limits] rates, bursts, query_timeout and filter_budget must be positive"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The rates of the HTTP layer: (every route, auth routes).
    pub fn rates(&self) -> (Rate, Rate) {
        (
            Rate::new(self.per_minute, self.burst),
            Rate::new(self.auth_per_minute, self.auth_burst),
        )
    }
}

/// What `serve --dev --config FILE` reads of `[server]` (the rest is not needed in development).
#[derive(Deserialize)]
struct DevServer {
    limits: Option<LimitSettings>,
    #[serde(default)]
    rich_text_image_hosts: Vec<String>,
}

fn dev_server_section(path: &Path) -> Result<Option<DevServer>, ConfigError> {
    #[derive(Deserialize)]
    struct DevFile {
        server: Option<DevServer>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let file: DevFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        source: Box::new(e),
    })?;
    Ok(file.server)
}

/// `rich_text_image_hosts` names hosts, not URLs or patterns: `img.example.com`.
fn check_image_hosts(hosts: &[String]) -> Result<(), ConfigError> {
    for h in hosts {
        let plain = !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !h.starts_with('.')
            && !h.ends_with('.');
        if !plain {
            return Err(ConfigError::Invalid(format!(
                "rich_text_image_hosts: {h:?} is not a host name (write img.example.com, \
                 without scheme, port, path or wildcard)"
            )));
        }
    }
    Ok(())
}

/// `[server.connections]` (see [`crate::serve::ConnectionLimits`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionSettings {
    /// Connections open at once (lowered at start to fit the open-file limit).
    pub max: usize,
    /// Connections open at once from one address (IPv6 by /64).
    pub per_address: usize,
    /// A connection with no request in flight this long is closed.
    pub idle_timeout: ConfigDuration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        let l = crate::serve::ConnectionLimits::default();
        Self {
            max: l.max_connections,
            per_address: l.max_per_address,
            idle_timeout: ConfigDuration(l.idle_timeout),
        }
    }
}

impl ConnectionSettings {
    fn check(&self) -> Result<(), ConfigError> {
        if self.max == 0 || self.per_address == 0 || self.idle_timeout.0.is_zero() {
            return Err(ConfigError::Invalid(
                "[server.connections] max, per_address and idle_timeout must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The limits of the accept loop.
    pub fn limits(&self) -> crate::serve::ConnectionLimits {
        crate::serve::ConnectionLimits {
            max_connections: self.max,
            max_per_address: self.per_address,
            idle_timeout: self.idle_timeout.0,
            ..crate::serve::ConnectionLimits::default()
        }
    }
}

/// A duration written as a whole number and a unit: `90s`, `15m`, `12h`, `30d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().ok()?;
        let seconds = match unit {
            "s" => n,
            "m" => n.checked_mul(60)?,
            "h" => n.checked_mul(3600)?,
            "d" => n.checked_mul(86_400)?,
            _ => return None,
        };
        Some(Self(Duration::from_secs(seconds)))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration: write a whole number and a unit (s, m, h, d), e.g. \"15m\""
            ))
        })
    }
}

/// `[server.platforms]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSettings {
    pub douyin: Option<DouyinSettings>,
    pub alipay: Option<AlipaySettings>,
}

/// `[server.platforms.douyin]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DouyinSettings {
    pub appid: String,
    #[serde(default = "default_douyin_url")]
    pub base_url: String,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
}

/// `[server.platforms.alipay]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipaySettings {
    pub app_id: String,
    #[serde(default = "default_alipay_gateway")]
    pub gateway: String,
    /// The app's RSA private key (PKCS#8 PEM), from an environment variable or a file.
    pub private_key_env: Option<String>,
    pub private_key_file: Option<PathBuf>,
    /// Alipay's public key (SPKI PEM), from an environment variable or a file.
    pub alipay_public_key_env: Option<String>,
    pub alipay_public_key_file: Option<PathBuf>,
}

fn default_douyin_url() -> String {
    crate::platform::douyin::DEFAULT_BASE_URL.to_owned()
}

fn default_alipay_gateway() -> String {
    crate::platform::alipay::DEFAULT_GATEWAY.to_owned()
}

fn default_open_data_max_age() -> u64 {
    AppOptions::default().open_data_max_age.as_secs()
}

/// Reads a secret from the environment variable or the file named (exactly one must be).
fn read_secret(
    env: Option<&String>,
    file: Option<&PathBuf>,
    what: &str,
) -> Result<SecretString, ConfigError> {
    let secret = match (env, file) {
        (Some(var), None) => std::env::var(var).map_err(|_| {
            ConfigError::Invalid(format!("environment variable {var} ({what}) is not set"))
        })?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        _ => {
            return Err(ConfigError::Invalid(format!(
                "{what}: exactly one of the _env or _file settings"
            )));
        }
    };
    if secret.is_empty() {
        return Err(ConfigError::Invalid(format!("{what} is empty")));
    }
    Ok(SecretString::from(secret))
}

/// `[server.tls]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[server.wechat]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatSettings {
    pub appid: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Name of the environment variable holding the AppSecret.
    pub secret_env: Option<String>,
    /// File holding the AppSecret (a trailing newline is ignored).
    pub secret_file: Option<PathBuf>,
    /// How old (by its watermark) open data of the old phone flow may be; default 600.
    #[serde(default = "default_open_data_max_age")]
    pub open_data_max_age_secs: u64,
}

fn default_body_limit() -> usize {
    AppOptions::default().body_limit
}

fn default_timeout() -> u64 {
    AppOptions::default().request_timeout.as_secs()
}

fn default_base_url() -> String {
    crate::platform::wechat::DEFAULT_BASE_URL.to_owned()
}

impl ServerSettings {
    /// Reads `[server]` from a `miniguard.toml`; relative paths are relative to the file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut s = Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                source,
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        s.database = s.database.map(|d| base.join(d));
        s.uploads_dir = Some(base.join(s.uploads_dir.as_deref().unwrap_or(Path::new("uploads"))));
        if let Some(tls) = &mut s.tls {
            tls.cert = base.join(&tls.cert);
            tls.key = base.join(&tls.key);
        }
        if let Some(f) = &mut s.wechat.secret_file {
            *f = base.join(&*f);
        }
        if let Some(f) = s.sms.as_mut().and_then(|sms| sms.token_file.as_mut()) {
            *f = base.join(&*f);
        }
        if let Some(f) = &mut s.data_keys_file {
            *f = base.join(&*f);
        }
        if let Some(f) = &mut s.audit_key_file {
            *f = base.join(&*f);
        }
        if let Some(f) = s
            .platforms
            .douyin
            .as_mut()
            .and_then(|d| d.secret_file.as_mut())
        {
            *f = base.join(&*f);
        }
        if let Some(a) = &mut s.platforms.alipay {
            for f in [&mut a.private_key_file, &mut a.alipay_public_key_file]
                .into_iter()
                .flatten()
            {
                *f = base.join(&*f);
            }
        }
        Ok(s)
    }

    /// Parses and checks a configuration text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "configuration".into(),
            source: Box::new(e),
        })?;
        let mut s = file
            .server
            .ok_or_else(|| ConfigError::Invalid("no [server] section".into()))?;
        s.validate()?;
        s.collections = crate::data::Collections::from_toml(file.collections.as_ref())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(s)
    }

    /// Only the `[collections.*]` of a `miniguard.toml` (what `serve --dev --config FILE` uses).
    pub fn collections_from_file(path: &Path) -> Result<crate::data::Collections, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        crate::data::Collections::from_config_text(&text)
            .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
    }

    /// For `serve --dev --config FILE`: the file's `[server.limits]`, if it has one (the rest of
    /// `[server]` is not needed in development and not read). Lets a team run scanners and load
    /// tests against the dev server with limits of its choosing.
    pub fn dev_limits_from_file(path: &Path) -> Result<Option<LimitSettings>, ConfigError> {
        let limits = dev_server_section(path)?.and_then(|s| s.limits);
        if let Some(l) = &limits {
            l.check()?;
        }
        Ok(limits)
    }

    /// For `serve --dev --config FILE`: the file's `[server] rich_text_image_hosts` (empty
    /// without it), so development keeps the rich-text images the deployment would keep.
    pub fn dev_image_hosts_from_file(path: &Path) -> Result<Vec<String>, ConfigError> {
        let hosts = dev_server_section(path)?
            .map(|s| s.rich_text_image_hosts)
            .unwrap_or_default();
        check_image_hosts(&hosts)?;
        Ok(hosts)
    }

    /// Where the database is: `database_url` when set, else the SQLite file `database`.
    pub fn location(&self) -> Result<crate::db::Location, ConfigError> {
        match (&self.database_url, &self.database) {
            (Some(url), _) => {
                let uploads = self.uploads_dir.as_deref().unwrap_or(Path::new("uploads"));
                crate::db::Location::from_url(url, uploads)
                    .map_err(|e| ConfigError::Invalid(format!("[server] {e}")))
            }
            (None, Some(path)) => Ok(crate::db::Location::Sqlite(path.clone())),
            (None, None) => Err(ConfigError::Invalid(
                "[server] needs database = \"FILE\" (SQLite) or database_url = \
                 \"postgres://USER@HOST:PORT/DATABASE\""
                    .into(),
            )),
        }
    }

    /// Checks the settings as a whole (after command-line overrides, too).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.location()?;
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::Invalid(
                "[server] redis_url must start with redis:// or rediss:// (TLS)".into(),
            ));
        }
        match (&self.tls, self.insecure_http_behind_proxy) {
            (Some(_), true) => Err(ConfigError::Invalid(
                "[server] has both tls and insecure_http_behind_proxy; choose one".into(),
            )),
            (None, false) => Err(ConfigError::Invalid(
                "[server] needs [server.tls] (cert, key); plain HTTP only with \
                 insecure_http_behind_proxy = true behind a TLS-terminating proxy"
                    .into(),
            )),
            // Without them every client would look like the proxy: one rate limit and one
            // lockout key for everybody, and /metrics open to whoever reaches the proxy.
            (None, true) if self.trusted_proxies.is_empty() => Err(ConfigError::Invalid(
                "insecure_http_behind_proxy needs trusted_proxies = [\"<proxy address>\"]: \
                 without them every client looks like the proxy"
                    .into(),
            )),
            _ => Ok(()),
        }?;
        self.connections.check()?;
        check_image_hosts(&self.rich_text_image_hosts)?;
        if self.body_limit_bytes == 0 || self.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "body_limit_bytes and request_timeout_secs must be positive".into(),
            ));
        }
        if self.data_keys_env.is_some() == self.data_keys_file.is_some() {
            return Err(ConfigError::Invalid(
                "[server] needs exactly one of data_keys_env or data_keys_file \
                 (make a key line with `miniguard keys generate`)"
                    .into(),
            ));
        }
        self.check_sessions()?;
        if let Some(sms) = &self.sms
            && sms.token_env.is_some() == sms.token_file.is_some()
        {
            return Err(ConfigError::Invalid(
                "[server.sms] needs exactly one of token_env or token_file".into(),
            ));
        }
        self.limits.check()?;
        let one = |a: bool, b: bool, msg: &str| {
            if a == b {
                Err(ConfigError::Invalid(msg.into()))
            } else {
                Ok(())
            }
        };
        if let Some(d) = &self.platforms.douyin {
            one(
                d.secret_env.is_some(),
                d.secret_file.is_some(),
                "[server.platforms.douyin] needs exactly one of secret_env or secret_file",
            )?;
        }
        if let Some(a) = &self.platforms.alipay {
            one(
                a.private_key_env.is_some(),
                a.private_key_file.is_some(),
                "[server.platforms.alipay] needs exactly one of private_key_env or private_key_file",
            )?;
            one(
                a.alipay_public_key_env.is_some(),
                a.alipay_public_key_file.is_some(),
                "[server.platforms.alipay] needs exactly one of alipay_public_key_env or \
                 alipay_public_key_file",
            )?;
        }
        if self.wechat.open_data_max_age_secs == 0 {
            return Err(ConfigError::Invalid(
                "[server.wechat] open_data_max_age_secs must be positive".into(),
            ));
        }
        match (&self.wechat.secret_env, &self.wechat.secret_file) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(ConfigError::Invalid(
                "[server.wechat] needs exactly one of secret_env or secret_file".into(),
            )),
        }
    }

    /// Token lifetimes must nest: an access token outlives neither an idle login nor a whole
    /// one, and each is at least a minute (a shorter access token cannot be used in time).
    fn check_sessions(&self) -> Result<(), ConfigError> {
        let s = &self.sessions;
        let (access, idle, login) = (s.access_ttl.0, s.idle_ttl.0, s.login_ttl.0);
        if access < Duration::from_mins(1) || access > Duration::from_hours(24) {
            return Err(ConfigError::Invalid(
                "[server.sessions] access_ttl must be between 1m and 24h".into(),
            ));
        }
        if !(access <= idle && idle <= login) {
            return Err(ConfigError::Invalid(
                "[server.sessions] needs access_ttl <= idle_ttl <= login_ttl".into(),
            ));
        }
        if login > Duration::from_hours(24 * 365) {
            return Err(ConfigError::Invalid(
                "[server.sessions] login_ttl must be at most 365d".into(),
            ));
        }
        Ok(())
    }

    /// The Douyin AppSecret, when Douyin is configured.
    pub fn douyin_secret(&self) -> Result<Option<SecretString>, ConfigError> {
        self.platforms
            .douyin
            .as_ref()
            .map(|d| {
                read_secret(
                    d.secret_env.as_ref(),
                    d.secret_file.as_ref(),
                    "server.platforms.douyin secret",
                )
            })
            .transpose()
    }

    /// The Alipay app private key and Alipay public key (PEM), when Alipay is configured.
    pub fn alipay_keys(&self) -> Result<Option<(SecretString, SecretString)>, ConfigError> {
        let Some(a) = &self.platforms.alipay else {
            return Ok(None);
        };
        let private = read_secret(
            a.private_key_env.as_ref(),
            a.private_key_file.as_ref(),
            "server.platforms.alipay private key",
        )?;
        let public = read_secret(
            a.alipay_public_key_env.as_ref(),
            a.alipay_public_key_file.as_ref(),
            "server.platforms.alipay public key",
        )?;
        Ok(Some((private, public)))
    }

    /// The HTTP layer's options.
    pub fn app_options(&self) -> AppOptions {
        AppOptions {
            body_limit: self.body_limit_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            trusted_proxies: self.trusted_proxies.clone(),
            metrics_from: self.metrics_from.clone(),
            general_rate: self.limits.rates().0,
            auth_rate: self.limits.rates().1,
            sessions: SessionPolicy {
                access_ttl: self.sessions.access_ttl.0,
                refresh_ttl: self.sessions.login_ttl.0,
                idle_ttl: self.sessions.idle_ttl.0,
            },
            open_data_max_age: Duration::from_secs(self.wechat.open_data_max_age_secs),
            mfa: crate::mfa::MfaPolicy::default(),
            data_query_timeout: self.limits.query_timeout.0,
            filter_budget: self.limits.filter_budget,
            upload_quota_bytes: self.limits.upload_quota_bytes,
            image_hosts: self.rich_text_image_hosts.clone(),
        }
    }

    /// Reads the audit key from the environment variable or file the configuration names
    /// (exactly one is required to serve).
    pub fn audit_key(&self) -> Result<crate::audit::AuditKey, ConfigError> {
        use crate::audit::AuditKey;
        let key = match (&self.audit_key_env, &self.audit_key_file) {
            (Some(var), None) => AuditKey::from_env(var),
            (None, Some(path)) => AuditKey::from_file(path),
            _ => {
                return Err(ConfigError::Invalid(
                    "[server] needs exactly one of audit_key_env or audit_key_file, the key of \
                     the audit chain (make one with `miniguard audit-log keygen`)"
                        .into(),
                ));
            }
        };
        key.map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// Reads the data-at-rest keyring from the environment variable or file the configuration
    /// names.
    pub fn keyring(&self) -> Result<Keyring, ConfigError> {
        let text = if let Some(var) = &self.data_keys_env {
            std::env::var(var).map_err(|_| {
                ConfigError::Invalid(format!(
                    "environment variable {var} (server.data_keys_env) is not set"
                ))
            })?
        } else if let Some(path) = &self.data_keys_file {
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?
        } else {
            return Err(ConfigError::Invalid("no data keys configured".into()));
        };
        Keyring::from_text(&text).map_err(|e| ConfigError::Invalid(format!("data keys: {e}")))
    }

    /// Reads the WeChat AppSecret from the environment variable or file the configuration names.
    pub fn wechat_secret(&self) -> Result<SecretString, ConfigError> {
        read_secret(
            self.wechat.secret_env.as_ref(),
            self.wechat.secret_file.as_ref(),
            "server.wechat secret",
        )
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:8443"
database = "data/mg.db"
data_keys_file = "keys.txt"
[server.tls]
cert = "cert.pem"
key = "key.pem"
[server.wechat]
appid = "wx0123"
secret_file = "secret.txt"
"#;

    #[test]
    fn database_url_selects_postgres_wins_over_database_and_bad_ones_are_refused() {
        use crate::db::{Dialect, Location};
        let url = |line: &str| GOOD.replace("database = \"data/mg.db\"", line);
        let s =
            ServerSettings::from_toml(&url("database_url = \"postgres://mg@127.0.0.1:5432/mg\""))
                .unwrap();
        assert_eq!(s.location().unwrap().dialect(), Dialect::Postgres);
        let s = ServerSettings::from_toml(&url(
            "database = \"data/mg.db\"\ndatabase_url = \"postgresql://mg@db/mg\"\n\
             uploads_dir = \"/srv/up\"",
        ))
        .unwrap();
        assert_eq!(
            s.location().unwrap(),
            Location::Postgres {
                url: "postgresql://mg@db/mg".into(),
                files: "/srv/up".into()
            }
        );
        let s = ServerSettings::from_toml(&url("database_url = \"sqlite:/var/mg.db\"")).unwrap();
        assert_eq!(s.location().unwrap(), Location::Sqlite("/var/mg.db".into()));
        // Look-alikes: another scheme, no scheme, a bad PostgreSQL URL, neither key.
        for (line, says) in [
            (
                "database_url = \"mysql://mg:hunter2@db/mg\"",
                "unknown scheme",
            ),
            ("database_url = \"db.internal/mg\"", "no scheme"),
            (
                "database_url = \"postgres://mg:hunter2@db/mg?sslmode=sometimes\"",
                "ssl",
            ),
            ("database_url = \"sqlite::memory:\"", "names a file"),
            ("", "database_url"),
        ] {
            let e = ServerSettings::from_toml(&url(line))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{line}: {e}");
            assert!(!e.contains("hunter2"), "{line}: {e}");
        }
    }

    #[test]
    fn a_good_file_parses_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miniguard.toml");
        std::fs::write(&path, GOOD).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "abc\n").unwrap();
        let s = ServerSettings::from_file(&path).unwrap();
        assert_eq!(s.database, Some(dir.path().join("data/mg.db")));
        assert_eq!(
            s.location().unwrap(),
            crate::db::Location::Sqlite(dir.path().join("data/mg.db"))
        );
        assert_eq!(s.wechat.base_url, "https://api.weixin.qq.com");
        assert_eq!(s.wechat_secret().unwrap().expose_secret(), "abc");
    }

    #[test]
    fn plain_http_must_be_asked_for_and_secrets_named_once() {
        let no_tls = GOOD.replace("[server.tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n", "");
        assert!(ServerSettings::from_toml(&no_tls).is_err());
        let proxied = no_tls.replace(
            "[server.wechat]",
            "insecure_http_behind_proxy = true\n[server.wechat]",
        );
        let e = ServerSettings::from_toml(&proxied).unwrap_err().to_string();
        assert!(e.contains("trusted_proxies"), "{e}");
        let proxied = no_tls.replace(
            "[server.wechat]",
            "insecure_http_behind_proxy = true\ntrusted_proxies = [\"10.0.0.2\"]\n[server.wechat]",
        );
        assert!(ServerSettings::from_toml(&proxied).is_ok());
        let both = GOOD.replace("secret_file", "secret_env = \"X\"\nsecret_file");
        assert!(ServerSettings::from_toml(&both).is_err());
        let no_keys = GOOD.replace("data_keys_file = \"keys.txt\"\n", "");
        assert!(ServerSettings::from_toml(&no_keys).is_err());
        let unknown = GOOD.replace("[server.tls]", "secret = \"inline\"\n[server.tls]");
        assert!(ServerSettings::from_toml(&unknown).is_err());
    }

    #[test]
    fn session_lifetimes_and_limits_come_from_the_file_and_must_make_sense() {
        let defaults = ServerSettings::from_toml(GOOD).unwrap().app_options();
        assert_eq!(defaults.sessions.access_ttl, Duration::from_mins(15));
        assert_eq!(defaults.general_rate.per_minute, 600);
        let tuned = format!(
            "{GOOD}[server.sessions]\naccess_ttl = \"5m\"\nidle_ttl = \"12h\"\nlogin_ttl = \"2d\"\n\
             [server.limits]\nauth_per_minute = 5\nauth_burst = 2\n"
        );
        let o = ServerSettings::from_toml(&tuned).unwrap().app_options();
        assert_eq!(o.sessions.access_ttl, Duration::from_mins(5));
        assert_eq!(o.sessions.idle_ttl, Duration::from_hours(12));
        assert_eq!(o.sessions.refresh_ttl, Duration::from_hours(48));
        assert_eq!((o.auth_rate.per_minute, o.auth_rate.burst), (5, 2));
        assert_eq!(
            o.general_rate.per_minute, 600,
            "unset keys keep their default"
        );
        for bad in [
            "[server.sessions]\naccess_ttl = \"30s\"\n",
            "[server.sessions]\naccess_ttl = \"2h\"\nidle_ttl = \"1h\"\n",
            "[server.sessions]\nidle_ttl = \"40d\"\n",
            "[server.sessions]\naccess_ttl = \"15 minutes\"\n",
            "[server.sessions]\nlogin_ttl = \"99999999999999999d\"\n",
            "[server.limits]\nburst = 0\n",
            "[server.limits]\nper_second = 3\n",
        ] {
            assert!(
                ServerSettings::from_toml(&format!("{GOOD}{bad}")).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            ConfigDuration::parse("90s"),
            Some(ConfigDuration(Duration::from_secs(90)))
        );
        assert_eq!(ConfigDuration::parse("m"), None);
        assert_eq!(ConfigDuration::parse("-5m"), None);

        let sms =
            format!("{GOOD}[server.sms]\nurl = \"https://sms.example/send\"\ntoken_file = \"t\"\n");
        assert_eq!(
            ServerSettings::from_toml(&sms).unwrap().sms.unwrap().url,
            "https://sms.example/send"
        );
        assert!(
            ServerSettings::from_toml(&format!("{GOOD}[server.sms]\nurl = \"https://x\"\n"))
                .is_err()
        );

        // `serve --dev --config` reads [server.limits] alone, without the rest of [server].
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev.toml");
        std::fs::write(&path, "[server.limits]\nauth_per_minute = 6000\n").unwrap();
        let dev = ServerSettings::dev_limits_from_file(&path)
            .unwrap()
            .unwrap();
        assert_eq!(dev.rates().1.per_minute, 6000);
        assert_eq!(dev.rates().0.per_minute, 600);
        std::fs::write(&path, "[collections.x]\n").unwrap();
        assert!(
            ServerSettings::dev_limits_from_file(&path)
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, "[server.limits]\nburst = 0\n").unwrap();
        assert!(ServerSettings::dev_limits_from_file(&path).is_err());

        // ... and [server] rich_text_image_hosts, host names only.
        std::fs::write(
            &path,
            "[server]\nrich_text_image_hosts = [\"img.example.com\"]\n",
        )
        .unwrap();
        assert_eq!(
            ServerSettings::dev_image_hosts_from_file(&path).unwrap(),
            ["img.example.com"]
        );
        for bad in [
            "https://img.example.com",
            "*.example.com",
            "img.example.com/x",
            "",
        ] {
            std::fs::write(
                &path,
                format!("[server]\nrich_text_image_hosts = [{bad:?}]\n"),
            )
            .unwrap();
            assert!(
                ServerSettings::dev_image_hosts_from_file(&path).is_err(),
                "{bad}"
            );
        }
        std::fs::write(&path, "[collections.x]\n").unwrap();
        assert!(
            ServerSettings::dev_image_hosts_from_file(&path)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn other_platforms_read_their_secrets_from_files_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miniguard.toml");
        let text = format!(
            "{GOOD}[server.platforms.douyin]\nappid = \"tt1\"\nsecret_file = \"dy.txt\"\n\
             [server.platforms.alipay]\napp_id = \"2021\"\nprivate_key_file = \"app.pem\"\n\
             alipay_public_key_env = \"MINIGUARD_TEST_ALIPAY_PUBLIC_UNSET\"\n"
        );
        std::fs::write(&path, &text).unwrap();
        std::fs::write(dir.path().join("dy.txt"), "dysecret\n").unwrap();
        std::fs::write(dir.path().join("app.pem"), "PEM").unwrap();
        let s = ServerSettings::from_file(&path).unwrap();
        assert_eq!(
            s.douyin_secret().unwrap().unwrap().expose_secret(),
            "dysecret"
        );
        let douyin = s.platforms.douyin.as_ref().unwrap();
        assert_eq!(douyin.base_url, "https://developer.toutiao.com");
        // The public key's variable is not set: a clear error, no panic.
        assert!(s.alipay_keys().is_err());
        let inline = text.replace("secret_file = \"dy.txt\"", "secret = \"inline\"");
        assert!(ServerSettings::from_toml(&inline).is_err());
        let both = text.replace(
            "private_key_file = \"app.pem\"",
            "private_key_file = \"app.pem\"\nprivate_key_env = \"X\"",
        );
        assert!(ServerSettings::from_toml(&both).is_err());
        assert_eq!(s.app_options().open_data_max_age.as_secs(), 600);
    }
}
