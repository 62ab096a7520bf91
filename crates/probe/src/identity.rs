//! Who the probe is when it sends a request: `--as NAME=TOKEN` (a bearer token) or
//! `--as NAME=@FILE`, a TOML file with fixed headers and cookies or a login recipe:
//!
//! ```toml
//! # fixed credentials
//! [headers]
//! Authorization = "Bearer eyJ..."
//! [cookies]
//! sid = "s%3A..."
//!
//! # or: a WeChat-style code login (POST {"code": ...}, the token read from the answer)
//! [login]
//! kind = "code"
//! path = "/api/login"
//! code = "test:alice"
//! token_field = "token"        # top-level field of the JSON answer
//!
//! # or: miniguard's own signed protocol (docs/protocol.md): every request is signed
//! [login]
//! kind = "miniguard"
//! platform = "wechat"
//! code = "dev:alice"            # a suffix `:<n>` is added so that each run logs in afresh
//! ```
//!
//! Logins go through the request gate like every other request.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use miniguard_crypto::signing::{self, RequestParts, SigningKey};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::client::{Client, Request, SendError};

/// A bad `--as` argument, identity file or login.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("--as {0}: expected NAME=TOKEN or NAME=@FILE")]
    Syntax(String),
    #[error("identity {name}: cannot read {path}: {message}")]
    Read {
        name: String,
        path: String,
        message: String,
    },
    #[error("identity {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("identity {name}: login failed: {message}")]
    Login { name: String, message: String },
    #[error("identity {name}: login not sent: {source}")]
    Send {
        name: String,
        #[source]
        source: SendError,
    },
}

/// An identity as given on the command line, before any login.
#[derive(Clone, Debug)]
pub struct IdentitySpec {
    pub name: String,
    pub kind: SpecKind,
}

#[derive(Clone, Debug)]
pub enum SpecKind {
    Bearer(SecretString),
    Headers(Vec<(String, SecretString)>),
    CodeLogin {
        path: String,
        code: SecretString,
        token_field: String,
    },
    Miniguard {
        platform: String,
        code: SecretString,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    cookies: std::collections::BTreeMap<String, String>,
    login: Option<LoginSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginSpec {
    kind: String,
    path: Option<String>,
    code: String,
    token_field: Option<String>,
    platform: Option<String>,
}

impl IdentitySpec {
    /// Parses `NAME=TOKEN` or `NAME=@FILE` (reading the file).
    pub fn parse(arg: &str) -> Result<IdentitySpec, IdentityError> {
        let (name, value) = arg
            .split_once('=')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            .ok_or_else(|| IdentityError::Syntax(arg.split('=').next().unwrap_or("").into()))?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(IdentityError::Syntax(name.into()));
        }
        let name = name.to_owned();
        let Some(file) = value.strip_prefix('@') else {
            return Ok(IdentitySpec {
                name,
                kind: SpecKind::Bearer(SecretString::from(value.to_owned())),
            });
        };
        let text = read_small(Path::new(file)).map_err(|message| IdentityError::Read {
            name: name.clone(),
            path: file.to_owned(),
            message,
        })?;
        let spec: FileSpec = toml::from_str(&text).map_err(|e| IdentityError::Invalid {
            name: name.clone(),
            message: format!("{file}: {}", e.message()),
        })?;
        let invalid = |message: String| IdentityError::Invalid {
            name: name.clone(),
            message,
        };
        if let Some(login) = spec.login {
            if !spec.headers.is_empty() || !spec.cookies.is_empty() {
                return Err(invalid(
                    "give either [login] or [headers]/[cookies], not both".into(),
                ));
            }
            let kind = match login.kind.as_str() {
                "code" => SpecKind::CodeLogin {
                    path: login.path.unwrap_or_else(|| "/api/login".into()),
                    code: SecretString::from(login.code),
                    token_field: login.token_field.unwrap_or_else(|| "token".into()),
                },
                "miniguard" => {
                    let platform = login.platform.unwrap_or_else(|| "wechat".into());
                    if !["wechat", "douyin", "alipay"].contains(&platform.as_str()) {
                        return Err(invalid(format!(
                            "platform `{platform}` (expected wechat, douyin or alipay)"
                        )));
                    }
                    SpecKind::Miniguard {
                        platform,
                        code: SecretString::from(login.code),
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "login kind `{other}` (expected `code` or `miniguard`)"
                    )));
                }
            };
            return Ok(IdentitySpec { name, kind });
        }
        let mut headers: Vec<(String, SecretString)> = spec
            .headers
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect();
        if !spec.cookies.is_empty() {
            let cookie = spec
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.push(("cookie".into(), SecretString::from(cookie)));
        }
        if headers.is_empty() {
            return Err(invalid(format!(
                "{file} has no [headers], [cookies] or [login]"
            )));
        }
        Ok(IdentitySpec {
            name,
            kind: SpecKind::Headers(headers),
        })
    }

    /// Whether the identity logs in (so that the probe can make a fresh session of it).
    pub fn is_login(&self) -> bool {
        matches!(
            self.kind,
            SpecKind::CodeLogin { .. } | SpecKind::Miniguard { .. }
        )
    }

    /// Turns the spec into a session, logging in through the gate when it is a recipe.
    pub async fn establish(
        self,
        client: &Client,
        base: &Url,
    ) -> Result<(Session, Option<crate::client::Exchange>), IdentityError> {
        let name = self.name;
        let login_err = |message: String| IdentityError::Login {
            name: name.clone(),
            message,
        };
        match self.kind {
            SpecKind::Bearer(token) => Ok((
                Session {
                    headers: vec![(
                        "authorization".into(),
                        SecretString::from(format!("Bearer {}", token.expose_secret())),
                    )],
                    secrets: vec![token],
                    name,
                    signing: None,
                    login_answer: None,
                },
                None,
            )),
            SpecKind::Headers(headers) => Ok((
                Session {
                    secrets: headers.iter().map(|(_, v)| v.clone()).collect(),
                    headers,
                    name,
                    signing: None,
                    login_answer: None,
                },
                None,
            )),
            SpecKind::CodeLogin {
                path,
                code,
                token_field,
            } => {
                let url = base
                    .join(&path)
                    .map_err(|e| login_err(format!("path {path}: {e}")))?;
                let req = Request::new(reqwest::Method::POST, url)
                    .json(&json!({"code": code.expose_secret()}));
                let ex = client
                    .send(&req)
                    .await
                    .map_err(|source| IdentityError::Send {
                        name: name.clone(),
                        source,
                    })?;
                let answer = ex.json().filter(|_| ex.is_success()).ok_or_else(|| {
                    login_err(format!("{path} answered {} without JSON", ex.status))
                })?;
                let token = answer
                    .get(&token_field)
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| login_err(format!("no `{token_field}` in the answer")))?
                    .to_owned();
                let token = SecretString::from(token);
                Ok((
                    Session {
                        headers: vec![(
                            "authorization".into(),
                            SecretString::from(format!("Bearer {}", token.expose_secret())),
                        )],
                        secrets: vec![token, code],
                        name,
                        signing: None,
                        login_answer: Some(answer),
                    },
                    Some(ex),
                ))
            }
            SpecKind::Miniguard { platform, code } => {
                let path = format!("/v1/auth/{platform}/login");
                let url = base
                    .join(&path)
                    .map_err(|e| login_err(format!("path {path}: {e}")))?;
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
                let fresh = format!("{}:{nanos}", code.expose_secret());
                let req = Request::new(reqwest::Method::POST, url).json(&json!({"code": fresh}));
                let ex = client
                    .send(&req)
                    .await
                    .map_err(|source| IdentityError::Send {
                        name: name.clone(),
                        source,
                    })?;
                let answer = ex.json().filter(|_| ex.is_success()).ok_or_else(|| {
                    login_err(format!("{path} answered {} without JSON", ex.status))
                })?;
                let field = |f: &str| {
                    answer
                        .get(f)
                        .and_then(|t| t.as_str())
                        .map(|s| SecretString::from(s.to_owned()))
                        .ok_or_else(|| login_err(format!("no `{f}` in the answer")))
                };
                let token = field("access_token")?;
                let key_text = field("signing_key")?;
                let refresh = field("refresh_token")?;
                let key = SigningKey::from_base64url(key_text.expose_secret())
                    .map_err(|e| login_err(format!("signing_key: {e}")))?;
                Ok((
                    Session {
                        headers: vec![(
                            "authorization".into(),
                            SecretString::from(format!("Bearer {}", token.expose_secret())),
                        )],
                        secrets: vec![token, key_text, refresh, code],
                        name,
                        signing: Some(key),
                        login_answer: Some(answer),
                    },
                    Some(ex),
                ))
            }
        }
    }
}

fn read_small(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > 64 * 1024 {
        return Err("larger than 64 KiB".into());
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// A logged-in identity.
pub struct Session {
    pub name: String,
    headers: Vec<(String, SecretString)>,
    /// Values masked in every piece of evidence.
    secrets: Vec<SecretString>,
    signing: Option<SigningKey>,
    /// The JSON answer of the login, if there was one (user ids and openids are read from it).
    pub login_answer: Option<serde_json::Value>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.name)
            .field("signed", &self.signing.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The secrets to mask in evidence.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.secrets
            .iter()
            .chain(self.headers.iter().map(|(_, v)| v))
            .map(secrecy::ExposeSecret::expose_secret)
    }

    /// Whether requests are signed (miniguard's protocol).
    pub fn is_signed(&self) -> bool {
        self.signing.is_some()
    }

    /// Adds the credentials (and, for the signed protocol, a fresh signature) to a request.
    pub fn apply(&self, mut request: Request) -> Result<Request, SendError> {
        for (k, v) in &self.headers {
            request
                .headers
                .push((k.clone(), v.expose_secret().to_owned()));
        }
        if let Some(key) = &self.signing {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let nonce =
                signing::generate_nonce().map_err(|e| SendError::Invalid(format!("nonce: {e}")))?;
            let body = request.body.clone().unwrap_or_default();
            let parts = RequestParts {
                method: request.method.as_str(),
                path: request.url.path(),
                query: request.url.query().unwrap_or(""),
                timestamp,
                nonce: &nonce,
                body: &body,
            };
            let signature = signing::sign(key, &parts)
                .map_err(|e| SendError::Invalid(format!("signing: {e}")))?;
            request
                .headers
                .push((signing::TIMESTAMP_HEADER.into(), timestamp.to_string()));
            request.headers.push((signing::NONCE_HEADER.into(), nonce));
            request
                .headers
                .push((signing::SIGNATURE_HEADER.into(), signature));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_files_parse() {
        let s = IdentitySpec::parse("alice=abc").unwrap();
        assert!(matches!(s.kind, SpecKind::Bearer(_)));
        assert!(IdentitySpec::parse("alice").is_err());
        assert!(IdentitySpec::parse("=x").is_err());
        assert!(IdentitySpec::parse("a b=x").is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bob.toml");
        std::fs::write(&p, "[headers]\nX-Token = \"t\"\n[cookies]\nsid = \"s\"\n").unwrap();
        let s = IdentitySpec::parse(&format!("bob=@{}", p.display())).unwrap();
        let SpecKind::Headers(h) = s.kind else {
            panic!("headers expected")
        };
        assert_eq!(h.len(), 2);
        std::fs::write(&p, "[login]\nkind = \"password\"\ncode = \"x\"\n").unwrap();
        let err = IdentitySpec::parse(&format!("bob=@{}", p.display())).unwrap_err();
        assert!(err.to_string().contains("login kind `password`"), "{err}");
        let err = IdentitySpec::parse("bob=@/nonexistent/file").unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
