//! `miniguard.toml`, section `[server]`. Secrets never live in the file: the platform secret is
//! read from an environment variable or a file that the configuration names.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8443"
//! database = "/var/lib/miniguard/miniguard.db"
//!
//! data_keys_env = "MINIGUARD_DATA_KEYS"      # "1:BASE64KEY,2:..."; or: data_keys_file = "..."
//! #                                          # make one: miniguard keys generate
//!
//! [server.tls]
//! cert = "/etc/miniguard/cert.pem"
//! key = "/etc/miniguard/key.pem"
//!
//! [server.wechat]
//! appid = "wx0123456789abcdef"
//! secret_env = "MINIGUARD_WECHAT_SECRET"     # or: secret_file = "/run/secrets/wechat"
//! # base_url = "https://api.weixin.qq.com"
//! ```
//!
//! Instead of `[server.tls]`, `insecure_http_behind_proxy = true` serves plain HTTP for a reverse
//! proxy that terminates TLS; `trusted_proxies = ["10.0.0.2"]` names the proxies whose
//! `X-Forwarded-For` is believed.
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
    /// SQLite database file.
    pub database: PathBuf,
    pub tls: Option<TlsSettings>,
    #[serde(default)]
    pub insecure_http_behind_proxy: bool,
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// Environment variable holding the data keys (`ID:BASE64` entries; the highest id encrypts).
    pub data_keys_env: Option<String>,
    /// File holding the data keys, same format.
    pub data_keys_file: Option<PathBuf>,
    pub wechat: WeChatSettings,
    /// The file's `[collections.*]` (not part of `[server]`).
    #[serde(skip)]
    pub collections: crate::data::Collections,
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
        s.database = base.join(&s.database);
        if let Some(tls) = &mut s.tls {
            tls.cert = base.join(&tls.cert);
            tls.key = base.join(&tls.key);
        }
        if let Some(f) = &mut s.wechat.secret_file {
            *f = base.join(&*f);
        }
        if let Some(f) = &mut s.data_keys_file {
            *f = base.join(&*f);
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

    /// Checks the settings as a whole (after command-line overrides, too).
    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.tls, self.insecure_http_behind_proxy) {
            (Some(_), true) => Err(ConfigError::Invalid(
                "[server] has both tls and insecure_http_behind_proxy; choose one".into(),
            )),
            (None, false) => Err(ConfigError::Invalid(
                "[server] needs [server.tls] (cert, key); plain HTTP only with \
                 insecure_http_behind_proxy = true behind a TLS-terminating proxy"
                    .into(),
            )),
            _ => Ok(()),
        }?;
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
        match (&self.wechat.secret_env, &self.wechat.secret_file) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(ConfigError::Invalid(
                "[server.wechat] needs exactly one of secret_env or secret_file".into(),
            )),
        }
    }

    /// The HTTP layer's options.
    pub fn app_options(&self) -> AppOptions {
        AppOptions {
            body_limit: self.body_limit_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            trusted_proxies: self.trusted_proxies.clone(),
            ..AppOptions::default()
        }
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
        let secret = if let Some(var) = &self.wechat.secret_env {
            std::env::var(var).map_err(|_| {
                ConfigError::Invalid(format!(
                    "environment variable {var} (server.wechat.secret_env) is not set"
                ))
            })?
        } else if let Some(path) = &self.wechat.secret_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        } else {
            return Err(ConfigError::Invalid("no WeChat secret configured".into()));
        };
        if secret.is_empty() {
            return Err(ConfigError::Invalid("the WeChat secret is empty".into()));
        }
        Ok(SecretString::from(secret))
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
    fn a_good_file_parses_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miniguard.toml");
        std::fs::write(&path, GOOD).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "abc\n").unwrap();
        let s = ServerSettings::from_file(&path).unwrap();
        assert_eq!(s.database, dir.path().join("data/mg.db"));
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
        assert!(ServerSettings::from_toml(&proxied).is_ok());
        let both = GOOD.replace("secret_file", "secret_env = \"X\"\nsecret_file");
        assert!(ServerSettings::from_toml(&both).is_err());
        let no_keys = GOOD.replace("data_keys_file = \"keys.txt\"\n", "");
        assert!(ServerSettings::from_toml(&no_keys).is_err());
        let unknown = GOOD.replace("[server.tls]", "secret = \"inline\"\n[server.tls]");
        assert!(ServerSettings::from_toml(&unknown).is_err());
    }
}
