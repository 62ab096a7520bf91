//! The declared scope of a probe run: which hosts and path prefixes may be sent a request, how
//! fast, how many requests and for how long.
//!
//! A probe refuses to start without one: pen-testing a host nobody agreed to have tested is an
//! attack, so the scope is not a default but a file the user writes. [`Scope::allows`] is the one
//! predicate the request gate ([`crate::client::Client`]) asks before every request, including
//! each redirect hop and every link the crawler finds.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// The largest scope file read (a scope is a handful of lines).
const MAX_SCOPE_FILE: u64 = 64 * 1024;
/// Upper bounds that keep a typo from turning a probe into a flood.
const MAX_RATE: f64 = 1000.0;
const MAX_REQUESTS: u64 = 1_000_000;
const MAX_SECONDS: u64 = 24 * 3600;

/// A scope file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    #[error("cannot read scope file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scope file {path} is larger than {MAX_SCOPE_FILE} bytes")]
    TooLarge { path: String },
    #[error("scope file {path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error(
        "scope file {path} has no [scope] table (it needs hosts, paths, rate_per_second, max_requests, max_seconds)"
    )]
    NoTable { path: String },
    #[error("scope file {path}: [scope] is missing {missing}")]
    Missing { path: String, missing: String },
    #[error("scope file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// One allowed host: a name or address, with a port or (when none is given) the default ports
/// 80 and 443 only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRule {
    /// Lower-case host name, IPv4 address, or IPv6 address without brackets.
    pub host: String,
    pub port: Option<u16>,
}

impl HostRule {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.contains(['/', '@', '?', '#', '*', ' ']) {
            return Err(format!(
                "host `{text}` must be a host or host:port (no scheme, path or wildcard)"
            ));
        }
        // Reuse the URL parser so that names and addresses are normalised exactly as request
        // URLs are (IDNA, IPv4 forms such as `127.1`, IPv6 brackets).
        let url = Url::parse(&format!("http://{text}/"))
            .map_err(|e| format!("host `{text}` is not a host or host:port: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("host `{text}` has no host name"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        // `Url` drops the default port of the scheme, so `h:80` must be read back from the text.
        let port = url.port().or_else(|| {
            text.rsplit_once(':')
                .filter(|(h, _)| !h.ends_with(':'))
                .and_then(|(_, p)| p.parse().ok())
                .filter(|_| !text.ends_with(']'))
        });
        Ok(HostRule { host, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host
            && match self.port {
                Some(p) => p == port,
                None => port == 80 || port == 443,
            }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => f.write_str(&host),
        }
    }
}

/// Where and how hard a probe may send requests.
#[derive(Clone, Debug)]
pub struct Scope {
    pub hosts: Vec<HostRule>,
    /// Path prefixes, each starting with `/`.
    pub paths: Vec<String>,
    pub rate_per_second: f64,
    pub max_requests: u64,
    pub max_duration: Duration,
}

#[derive(Deserialize)]
struct File {
    scope: Option<RawScope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    hosts: Option<Vec<String>>,
    paths: Option<Vec<String>>,
    rate_per_second: Option<f64>,
    max_requests: Option<u64>,
    max_seconds: Option<u64>,
}

/// Why a URL is outside the scope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutOfScope {
    #[error("scheme `{0}` (only http and https are probed)")]
    Scheme(String),
    #[error("host {0} is not in the scope's hosts")]
    Host(String),
    #[error("path {0} is not under any of the scope's paths")]
    Path(String),
    #[error("path {0} has dot segments or encoded separators that could leave the scope")]
    AmbiguousPath(String),
}

impl Scope {
    /// Reads and checks a scope file.
    pub fn from_file(path: &Path) -> Result<Scope, ScopeError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| ScopeError::Read {
            path: shown.clone(),
            source,
        })?;
        if meta.len() > MAX_SCOPE_FILE {
            return Err(ScopeError::TooLarge { path: shown });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ScopeError::Read {
            path: shown.clone(),
            source,
        })?;
        Scope::from_toml(&text, &shown)
    }

    /// Parses the text of a scope file; `path` names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<Scope, ScopeError> {
        let file: File = toml::from_str(text).map_err(|e| ScopeError::Toml {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })?;
        let raw = file.scope.ok_or_else(|| ScopeError::NoTable {
            path: path.to_owned(),
        })?;
        let mut missing = Vec::new();
        if raw.hosts.is_none() {
            missing.push("`hosts` (e.g. hosts = [\"api.example.com\", \"127.0.0.1:8080\"])");
        }
        if raw.paths.is_none() {
            missing.push("`paths` (e.g. paths = [\"/api/\"])");
        }
        if raw.rate_per_second.is_none() {
            missing.push("`rate_per_second` (e.g. rate_per_second = 20)");
        }
        if raw.max_requests.is_none() {
            missing.push("`max_requests` (e.g. max_requests = 5000)");
        }
        if raw.max_seconds.is_none() {
            missing.push("`max_seconds` (e.g. max_seconds = 300)");
        }
        let invalid = |message: String| ScopeError::Invalid {
            path: path.to_owned(),
            message,
        };
        match (
            raw.hosts,
            raw.paths,
            raw.rate_per_second,
            raw.max_requests,
            raw.max_seconds,
        ) {
            (Some(hosts), Some(paths), Some(rate), Some(max_requests), Some(max_seconds)) => {
                if hosts.is_empty() {
                    return Err(invalid("`hosts` is empty: name at least one host".into()));
                }
                if paths.is_empty() {
                    return Err(invalid(
                        "`paths` is empty: name at least one prefix (\"/\" for all)".into(),
                    ));
                }
                let hosts = hosts
                    .iter()
                    .map(|h| HostRule::parse(h))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                for p in &paths {
                    if !p.starts_with('/') || p.contains(['?', '#']) || has_dot_segment(p) {
                        return Err(invalid(format!(
                            "path `{p}` must start with / and have no query, fragment or dot segments"
                        )));
                    }
                }
                if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
                    return Err(invalid(format!(
                        "rate_per_second must be above 0 and at most {MAX_RATE}"
                    )));
                }
                if max_requests == 0 || max_requests > MAX_REQUESTS {
                    return Err(invalid(format!("max_requests must be 1 to {MAX_REQUESTS}")));
                }
                if max_seconds == 0 || max_seconds > MAX_SECONDS {
                    return Err(invalid(format!("max_seconds must be 1 to {MAX_SECONDS}")));
                }
                Ok(Scope {
                    hosts,
                    paths,
                    rate_per_second: rate,
                    max_requests,
                    max_duration: Duration::from_secs(max_seconds),
                })
            }
            _ => Err(ScopeError::Missing {
                path: path.to_owned(),
                missing: missing.join(", "),
            }),
        }
    }

    /// Whether a request to `url` is allowed. The path must be unambiguous: no `.`/`..`
    /// segments and no percent-encoded `/`, `\` or `.`, which a server could decode into a path
    /// outside the declared prefixes.
    pub fn allows(&self, url: &Url) -> Result<(), OutOfScope> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(OutOfScope::Scheme(scheme.to_owned()));
        }
        let host = url
            .host_str()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.hosts.iter().any(|h| h.matches(host, port)) {
            return Err(OutOfScope::Host(format!("{host}:{port}")));
        }
        let path = url.path();
        let lower = path.to_ascii_lowercase();
        if has_dot_segment(path)
            || lower.contains("%2f")
            || lower.contains("%5c")
            || lower.contains("%2e")
            || path.contains('\\')
        {
            return Err(OutOfScope::AmbiguousPath(path.to_owned()));
        }
        if !self.paths.iter().any(|p| path_under(path, p)) {
            return Err(OutOfScope::Path(path.to_owned()));
        }
        Ok(())
    }
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|s| s == "." || s == "..")
}

/// `/api/` covers `/api/x`; `/api` covers `/api`, `/api/x`, not `/apix`.
fn path_under(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        path.starts_with(prefix) || path == prefix.trim_end_matches('/')
    } else {
        path == prefix || path.starts_with(&format!("{prefix}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[scope]
hosts = ["api.example.com", "127.0.0.1:8080", "[::1]:9000"]
paths = ["/api/", "/openapi.json"]
rate_per_second = 20
max_requests = 5000
max_seconds = 300
"#;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_documented_form_is_accepted() {
        let s = Scope::from_toml(FULL, "scope.toml").unwrap();
        assert_eq!(s.hosts.len(), 3);
        assert_eq!(s.max_requests, 5000);
        assert_eq!(s.max_duration, Duration::from_mins(5));
        assert!(
            s.allows(&url("https://api.example.com/api/orders/1"))
                .is_ok()
        );
        assert!(s.allows(&url("http://api.example.com/api/x?q=1")).is_ok());
        assert!(s.allows(&url("http://127.0.0.1:8080/openapi.json")).is_ok());
        assert!(s.allows(&url("http://[::1]:9000/api/")).is_ok());
    }

    #[test]
    fn everything_else_is_refused() {
        let s = Scope::from_toml(FULL, "scope.toml").unwrap();
        for bad in [
            "https://api.example.com:8443/api/x",
            "http://127.0.0.1:8081/api/x",
            "http://127.0.0.1/api/x",
            "http://evil.example/api/x",
            "https://api.example.com/admin",
            "https://api.example.com/apix",
            "https://api.example.com/api/%2e%2e/admin",
            "https://api.example.com/api/..%2fadmin",
            "ftp://api.example.com/api/",
            "http://api.example.com.evil.example/api/",
        ] {
            assert!(s.allows(&url(bad)).is_err(), "{bad} was allowed");
        }
    }

    #[test]
    fn a_missing_key_is_named() {
        let err = Scope::from_toml("[scope]\nhosts = [\"h\"]\npaths = [\"/\"]\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rate_per_second"), "{err}");
        assert!(err.contains("max_requests"), "{err}");
        assert!(err.contains("max_seconds"), "{err}");
        assert!(!err.contains("`hosts`"), "{err}");
        let err = Scope::from_toml("x = 1\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no [scope] table"), "{err}");
    }

    #[test]
    fn nonsense_values_are_refused() {
        for (key, value) in [
            ("rate_per_second", "0"),
            ("rate_per_second", "nan"),
            ("max_requests", "0"),
            ("max_seconds", "0"),
            ("hosts", "[\"http://x/\"]"),
            ("hosts", "[]"),
            ("paths", "[\"api\"]"),
            ("paths", "[\"/api/../x\"]"),
        ] {
            let text = FULL
                .lines()
                .map(|l| {
                    if l.starts_with(&format!("{key} ")) {
                        format!("{key} = {value}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                Scope::from_toml(&text, "s").is_err(),
                "{key} = {value} accepted"
            );
        }
    }
}
