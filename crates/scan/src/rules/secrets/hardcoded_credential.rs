use miniguard_report::msg;
use std::sync::LazyLock;

use miniguard_report::Severity;
use regex::Regex;

use crate::events::{CallEvent, Cx, Event};
use crate::names::{labels_for_name, words};
use crate::rules::secrets::hardcoded_appsecret::is_app_secret_literal;
use crate::rules::secrets::private_key::private_key_kind;
use crate::rules::{Rule, RuleMeta};
use crate::value::Labels;

crate::declare_rule! {
    /// ## What it finds
    /// Passwords and secrets written in the code:
    ///
    /// - a string literal bound to a credential name — `password`, `pwd`, `pass`, `dbPassword`,
    ///   `secret`, `jwtSecret`, `secretKey`, `apiKey`, `clientSecret`, `accessKeySecret`, WeChat
    ///   Pay `mchKey` / `partnerKey` / `apiV3Key`, signing keys (`signKey`, `signatureKey`) — as a
    ///   variable, an object property (database, Redis, SMTP connection options; `koa-jwt` /
    ///   `express-jwt` options) or an assignment;
    /// - credentials in connection URLs: `mysql://user:pass@host`, `mongodb://`, `postgres://`,
    ///   `redis://:pass@host`, `amqp://`;
    /// - constant secrets passed to `jwt.sign` / `jwt.verify`, `crypto.createHmac(alg, key)` and
    ///   `CryptoJS.HmacSHA256(msg, key)`, and a constant key hashed into a signature with the
    ///   data (`md5(time + path + KEY)`: a run of 16 or more letters and digits, both kinds,
    ///   inside an `md5`/`sha1`/`sha256` input that also has run-time parts);
    /// - the same in configuration and deployment files: YAML (Spring `application*.yml`,
    ///   docker-compose `environment:` maps and `KEY=value` lists, Kubernetes `env:` name/value
    ///   pairs and `Secret` manifests), `.env` files, Java `.properties`, INI-style `.ini`,
    ///   `.conf`, `.cnf`, `.cfg`. There a value named like a password is one however short
    ///   (`MYSQL_ROOT_PASSWORD: 1234`); `${VAR}` references and empty values are not.
    ///
    /// One value is one finding: a strong secret wherever it repeats, a short one (under 12
    /// characters) under the same name; the other places are related locations.
    ///
    /// Not reported: empty and very short strings, text with spaces or non-ASCII characters
    /// (labels such as `'请输入密码'`), placeholders (`xxx`, `***`, `your-…`, `<…>`, `${…}`,
    /// `{{…}}`, `example`; but `changeme` is reported: it is a real, guessable password),
    /// values that are names themselves
    /// (`'password'`, `'user_password'`, `'DB_PASSWORD'`, i18n keys like `'login.password'`),
    /// form field names (`name: 'password'`, `type: 'password'`), settings about passwords
    /// (`passwordEncoder`, `password-policy`, `passwordLength`), paths, AppSecret values and
    /// private keys (their own rules).
    ///
    /// ## Severity
    /// `high`. `info` in files only a developer's machine or a test run loads, which cannot
    /// hurt a released build: egg's `config.local.*` and `config.unittest.*`,
    /// `*.dev.*`/`*-test.*`-style variants (`application-dev.yml`, `.env.development`,
    /// `app_test.conf`), and anything under `test/`, `tests/`, `__tests__/`, `mock/`, `e2e/`,
    /// `fixtures/`. `low` in templates meant to be copied and filled in (`.env.example`,
    /// `config.sample.js`, `*.template`, `*.dist`): a placeholder kept as it is becomes a weak
    /// production default. `low` too in a docker-compose file whose services are all stock database, cache and queue images
    /// (`mysql`, `postgres`, `redis`, `mongo`, `rabbitmq`…) with nothing built from the project:
    /// such a file runs none of the project's code, it starts the databases a developer's
    /// checkout connects to. A compose file that also builds or pulls the project's own services
    /// is a deployment and stays `high`.
    ///
    /// ## Why it matters
    /// A credential in the code is shared with everyone who has the code: the whole team, every
    /// CI system and backup, every phone the mini-program is installed on. A database password
    /// or a JWT secret in a repository gives direct access to all users' data or lets anyone mint
    /// a token for any user. It cannot be rotated without a release.
    ///
    /// ## Example
    /// ```js
    /// const pool = mysql.createPool({ host: 'db.internal', user: 'shop', password: 'Shop@2023!' })
    /// const token = jwt.sign({ uid }, 'my-jwt-secret-2023')
    /// ```
    ///
    /// ## Fix
    /// Rotate the credential, then read it from the environment or a secrets manager
    /// (`process.env.DB_PASSWORD`, cloud function environment variables, KMS). Never put server
    /// credentials in mini-program code at all.
    ///
    /// ## References
    /// - CWE-798: Use of Hard-coded Credentials
    /// - CWE-259: Use of Hard-coded Password
    /// - OWASP Secrets Management Cheat Sheet
    pub struct HardcodedCredential {
        code: "K004",
        name: "hardcoded-credential",
        category: Secrets,
        severity: High,
        confidence: Medium,
        cwe: [798, 259],
        summary: "Password or secret hardcoded in the code",
    }
}

static CONNECTION_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(mysql2?|mariadb|postgres(?:ql)?|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|smtps?|ftp)://([^:/@\s]*):([^@\s/]+)@",
    )
    .expect("valid regex")
});

/// Values that are words of a form, a validator or a type, never a password.
const NOT_SECRETS: &[&str] = &[
    "required",
    "string",
    "number",
    "boolean",
    "text",
    "hidden",
    "none",
    "null",
    "undefined",
    "true",
    "false",
    "default",
    "include",
    "omit",
    "same-origin",
    "object",
    "function",
];

impl Rule for HardcodedCredential {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        match event {
            Event::Literal(lit) => {
                if let Some(c) = CONNECTION_URL.captures(lit.text) {
                    let pass = c.get(3).map_or("", |m| m.as_str());
                    if !is_placeholder(pass) && !pass.starts_with('$') {
                        let scheme = c.get(1).map_or("", |m| m.as_str());
                        // Development files and templates hold a local database's
                        // password or a placeholder, as for named credentials below.
                        let severity = match not_released(&cx.file) {
                            Some(NotReleased::DevOrTest) => Severity::Info,
                            Some(NotReleased::Template) => Severity::Low,
                            None if local_services_only(&cx.file, cx.source) => Severity::Low,
                            None => Self::META.severity,
                        };
                        cx.report(
                            &Self::META,
                            lit.span,
                            msg!("K004.connection-url", scheme = scheme),
                        )
                        .severity(severity)
                        .help(msg!("K004.connection-url-help"));
                        return;
                    }
                }
                let Some(name) = lit.name_hint else { return };
                let labels = labels_for_name(name);
                if !labels.intersects(Labels::PASSWORD | Labels::SECRET)
                    || !(cx.settings || whole_literal(cx, lit.span))
                {
                    return;
                }
                if is_app_secret_literal(lit.text, lit.name_hint)
                    || private_key_kind(lit.text, lit.name_hint).is_some()
                {
                    return;
                }
                // A settings entry named like a password holds one, however short (a
                // compose file's `MYSQL_ROOT_PASSWORD: 1234`); in code a short string bound to
                // such a name is more often a label or a field name.
                let min_len = if cx.settings { 3 } else { 6 };
                if !looks_like_secret_value(lit.text, name, min_len) {
                    return;
                }
                let what = if labels.contains(Labels::PASSWORD) {
                    msg!("K004.password")
                } else {
                    msg!("K004.secret")
                };
                // One value, one finding: a strong secret wherever it repeats (one JWT secret in
                // two token services), a short, common one under the same name (one MySQL
                // `password` in every service's config; `123456` as a database password and as
                // an admin's default password are two flaws). Development files apart, since
                // their severity differs.
                let unreleased = not_released(&cx.file);
                let dev = unreleased.is_some();
                // A compose file that starts only stock database images is the local
                // environment a developer runs the project against.
                let local = !dev && local_services_only(&cx.file, cx.source);
                let place = if lit.text.len() < 12 {
                    name.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_ascii_lowercase()
                } else {
                    String::new()
                };
                cx.report(
                    &Self::META,
                    lit.span,
                    if unreleased == Some(NotReleased::Template) {
                        msg!("K004.hardcoded-template", what = what, name = name)
                    } else if dev {
                        msg!("K004.hardcoded-dev", what = what, name = name)
                    } else if local {
                        msg!("K004.hardcoded-local-services", what = what, name = name)
                    } else {
                        msg!("K004.hardcoded", what = what, name = name)
                    },
                )
                .severity(match unreleased {
                    Some(NotReleased::DevOrTest) => Severity::Info,
                    Some(NotReleased::Template) => Severity::Low,
                    None if local => Severity::Low,
                    None => Self::META.severity,
                })
                .group(format!(
                    "{}:{place}:{}",
                    if dev || local { "dev" } else { "release" },
                    lit.text
                ))
                .help(msg!("K004.help"));
            }
            Event::Call(call) => check_call(cx, call),
            _ => {}
        }
    }
}

/// Constant keys of JWT and HMAC calls, and keys hashed into a signature.
fn check_call(cx: &mut Cx<'_>, call: &CallEvent<'_, '_>) {
    check_hashed_key(cx, call);
    let Some(path) = call.path else { return };
    let api = match path {
        "jsonwebtoken.sign" | "jsonwebtoken.verify" | "jwt.sign" | "jwt.verify" => {
            format!("jwt.{}", path.rsplit('.').next().unwrap_or("sign"))
        }
        "crypto.createHmac" => "crypto.createHmac".to_owned(),
        _ => match path
            .strip_prefix("crypto-js.")
            .or_else(|| path.strip_prefix("crypto-js/"))
        {
            Some(h) if h.to_ascii_lowercase().starts_with("hmac") && !h.contains('.') => {
                format!("CryptoJS.{h}")
            }
            _ => return,
        },
    };
    let Some(key) = call.arg(1) else { return };
    if !key.is_constant() {
        return;
    }
    let Some(text) = key.exact_text() else { return };
    if text.is_empty() || text.contains("-----BEGIN") || is_placeholder(text) {
        return;
    }
    let message = msg!("K004.signing-key", api = &api);
    let help = msg!("K004.signing-key-help");
    match &key.text_origin {
        Some(origin) => {
            let sink = cx.origin(call.span, "used here");
            cx.report_at(&HardcodedCredential::META, origin, message)
                .step(Some(sink), msg!("K004.step-signing-key"))
                .help(help);
        }
        None => {
            cx.report(&HardcodedCredential::META, call.arg_span(1), message)
                .help(help);
        }
    }
}

/// A file no released build loads, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotReleased {
    /// Only a developer's machine or a test run loads it: egg's `config.local` and
    /// `config.unittest`, `config.dev`/`config.test`-style variants, Spring
    /// `application-dev.yml`, `.env.development`/`.env.test`, and anything under a test or mock
    /// folder or named `*.test.*` / `*.spec.*`. A credential there is a local database's or a
    /// test run's; it cannot hurt a released build.
    DevOrTest,
    /// A template to copy and fill in (`.env.example`, `config.sample.js`, `app.conf.dist`): a
    /// placeholder, which becomes a weak production default where it is kept as it is.
    Template,
}

/// Whether a file is one no released build loads (see [`NotReleased`]).
pub(crate) fn not_released(path: &str) -> Option<NotReleased> {
    let path = path.replace('\\', "/").to_ascii_lowercase();
    let mut parts = path.split('/');
    let file = parts.next_back().unwrap_or("");
    if parts.any(|d| {
        matches!(
            d,
            "test" | "tests" | "__tests__" | "__mocks__" | "mock" | "mocks" | "e2e" | "fixtures"
        )
    }) {
        return Some(NotReleased::DevOrTest);
    }
    // The words of the file name between its stem and its extension: `config.local.ts` ->
    // `local`, `application-dev.yml` -> `dev`, `.env.test` -> `test`.
    let words: Vec<&str> = file
        .split(['.', '-', '_'])
        .filter(|w| !w.is_empty())
        .collect();
    let rest = words.get(1..).unwrap_or(&[]);
    if rest.iter().any(|w| {
        matches!(
            *w,
            "local" | "unittest" | "test" | "tests" | "spec" | "dev" | "development" | "mock"
        )
    }) {
        return Some(NotReleased::DevOrTest);
    }
    rest.iter()
        .any(|w| matches!(*w, "example" | "sample" | "template" | "dist" | "tpl"))
        .then_some(NotReleased::Template)
}

/// Stock images of the services a project runs against (databases, caches, queues, search,
/// object stores, mail catchers and their admin consoles), by repository name.
const BACKING_SERVICE_IMAGES: &[&str] = &[
    "mysql",
    "mariadb",
    "percona",
    "postgres",
    "postgresql",
    "postgis",
    "redis",
    "valkey",
    "mongo",
    "mongodb",
    "memcached",
    "rabbitmq",
    "nats",
    "kafka",
    "zookeeper",
    "elasticsearch",
    "opensearch",
    "kibana",
    "minio",
    "adminer",
    "phpmyadmin",
    "mongo-express",
    "redis-commander",
    "mailhog",
    "mailpit",
];

/// A docker-compose file (`docker-compose*.yml`, `compose*.yaml`) whose every service is a
/// stock backing-service image (`mysql:8`, `redis:7`, `bitnami/postgresql`) and none is built
/// from the project (`build:`) or pulled from a registry host. Such a
/// file runs none of the project's own code: it starts the databases a developer's checkout
/// connects to (`docker compose up -d db`, then `npm run dev`). A deployment of the project
/// has its services in the same file (built, or an image of the project), and stays `high`.
///
/// Read line by line (keys `build:` and `image:` below the top level), so a file that the
/// YAML reader would reject is judged the same way.
pub(crate) fn local_services_only(path: &str, source: &str) -> bool {
    let path = path.replace('\\', "/").to_ascii_lowercase();
    let file = path.rsplit('/').next().unwrap_or("");
    let Some(stem) = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"))
    else {
        return false;
    };
    if !(stem.starts_with("docker-compose") || stem == "compose" || stem.starts_with("compose.")) {
        return false;
    }
    let mut images = 0;
    for line in source.lines() {
        let entry = line.trim_start().trim_start_matches("- ").trim_start();
        if entry.starts_with('#') || entry.len() == line.len() {
            continue;
        }
        if entry.starts_with("build:") || entry.starts_with("extends:") {
            return false;
        }
        if let Some(image) = entry.strip_prefix("image:") {
            let image = image.split(" #").next().unwrap_or("").trim();
            let image = image.trim_matches(|c| c == '"' || c == '\'');
            if !is_backing_service_image(image) {
                return false;
            }
            images += 1;
        }
    }
    images > 0
}

/// `mysql:8.0`, `library/redis`, `postgres@sha256:…`: a stock image of a backing service from
/// the default registry. An image with a registry host (`registry.example.com/db`) or with a
/// variable (`${IMAGE}`) is not known to be one.
fn is_backing_service_image(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or("");
    let mut parts: Vec<&str> = name.split('/').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let repo = last.split(':').next().unwrap_or("");
    let host_or_org_ok = parts.len() <= 1
        && parts
            .first()
            .is_none_or(|org| !org.contains(['.', ':', '$']) && *org != "localhost");
    host_or_org_ok && BACKING_SERVICE_IMAGES.contains(&repo)
}

/// `md5(time + path + KEY)`: a request signature made by hashing the data with a secret the
/// code carries. The secret is a constant run of at least 16 letters and digits (hex or
/// base64-like, with both) inside a hash input that also has parts computed at run time.
fn check_hashed_key(cx: &mut Cx<'_>, call: &CallEvent<'_, '_>) {
    let name = call
        .path
        .and_then(|p| p.rsplit('.').next())
        .or(call.method)
        .unwrap_or("");
    if !matches!(
        name.to_ascii_lowercase().as_str(),
        "md5" | "hex_md5" | "sha1" | "sha256" | "hex_sha1" | "sha512"
    ) {
        return;
    }
    let Some(input) = call.arg(0) else { return };
    let Some(text) = input.text.as_deref() else {
        return;
    };
    if !text.contains(crate::value::HOLE) {
        return;
    }
    let Some(key) = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|run| {
            run.len() >= 16
                && run.bytes().any(|b| b.is_ascii_digit())
                && run.bytes().any(|b| b.is_ascii_alphabetic())
                && !is_placeholder(run)
        })
    else {
        return;
    };
    // A key glued to a constant word (`'getCaptcha' + KEY`) keeps its end: the end names it.
    let tail = &key[key.len() - 16..];
    let shown = &key[key.len() - 6..];
    cx.report(
        &HardcodedCredential::META,
        call.arg_span(0),
        msg!("K004.hashed-key", key = shown, api = name),
    )
    .group(format!("hashed:{tail}"))
    .help(msg!("K004.hashed-key-help"));
}

/// A plain string or backtick literal without substitutions, not a part of a template.
fn whole_literal(cx: &Cx<'_>, span: crate::events::Span) -> bool {
    let text = cx.text(span);
    if text.starts_with(['\'', '"']) {
        return true;
    }
    let src = cx.source.as_bytes();
    let (s, e) = (span.start as usize, span.end as usize);
    s > 0 && src.get(s - 1) == Some(&b'`') && src.get(e) == Some(&b'`')
}

/// Whether a literal bound to credential name `name` looks like a real credential.
fn looks_like_secret_value(text: &str, name: &str, min_len: usize) -> bool {
    if text.len() < min_len
        || text.len() > 200
        || !text.is_ascii()
        || text.chars().any(char::is_whitespace)
    {
        return false;
    }
    if is_placeholder(text) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    if NOT_SECRETS.contains(&lower.as_str()) {
        return false;
    }
    // The value names something: the same name, another sensitive name (`'user_password'`),
    // an environment variable name (`'DB_PASSWORD'`), an i18n key (`'login.password'`).
    let squash = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    if squash(text) == squash(name) || !labels_for_name(text).is_empty() {
        return false;
    }
    // A setting about passwords, not one: `passwordEncoder: 'bcrypt'`, `password-policy`.
    if words(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "encoder"
                | "policy"
                | "strength"
                | "pattern"
                | "regex"
                | "rule"
                | "rules"
                | "length"
                | "hint"
                | "label"
                | "placeholder"
                | "field"
                | "type"
                | "mode"
                | "algorithm"
                | "format"
                | "expire"
                | "expires"
                | "file"
                | "path"
        )
    }) {
        return false;
    }
    let ws = words(text);
    if ws
        .iter()
        .any(|w| matches!(w.as_str(), "password" | "passwd" | "pwd" | "secret"))
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '-')
    {
        return false;
    }
    if text.contains('_')
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    if text.contains('.')
        && text.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
    {
        return false;
    }
    // Paths and URLs (`'/pages/password/index'`), CSS values, and regular expressions.
    if text.starts_with(['/', '.', '#', '^']) || lower.starts_with("http") {
        return false;
    }
    true
}

/// Placeholder text that stands for a credential to be filled in.
pub(crate) fn is_placeholder(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.contains("xxx")
        || lower.contains("***")
        || lower.contains("...")
        || lower.contains('…')
    {
        return true;
    }
    if text.starts_with('<') && text.ends_with('>')
        || text.contains("${")
        || text.contains("{{")
        || text.starts_with('%')
    {
        return true;
    }
    [
        "your",
        "example",
        "placeholder",
        "dummy",
        "sample",
        "replace",
        "todo",
        "fixme",
        "请填写",
        "填写",
        "此处",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || !text.is_empty()
            && !text.bytes().all(|b| b.is_ascii_digit())
            && text
                .chars()
                .all(|c| c == text.chars().next().unwrap_or(' '))
}

#[cfg(test)]
mod tests {
    use super::{is_backing_service_image, local_services_only};

    const DATABASES: &str =
        "services:\n  db:\n    image: mysql\n  cache:\n    image: 'bitnami/redis:7'\n";

    #[test]
    fn a_compose_file_of_stock_databases_is_local() {
        assert!(local_services_only("docker-compose.yml", DATABASES));
        assert!(local_services_only("deploy/compose.yaml", DATABASES));
        assert!(local_services_only("docker-compose.dev.yml", DATABASES));
    }

    #[test]
    fn a_compose_file_with_the_projects_services_is_a_deployment() {
        let built = format!("{DATABASES}  api:\n    build: ./api\n");
        assert!(!local_services_only("docker-compose.yml", &built));
        let pulled = format!("{DATABASES}  api:\n    image: registry.example.com/shop/api:1\n");
        assert!(!local_services_only("docker-compose.yml", &pulled));
        let runtime = format!("{DATABASES}  api:\n    image: node:20\n");
        assert!(!local_services_only("docker-compose.yml", &runtime));
        let extended = format!("{DATABASES}  api:\n    extends:\n      file: base.yml\n");
        assert!(!local_services_only("docker-compose.yml", &extended));
    }

    #[test]
    fn only_compose_files_with_images_count() {
        // The same text in another YAML file, and a compose file without images.
        assert!(!local_services_only("config/application.yml", DATABASES));
        assert!(!local_services_only("docker-compose.yml", "services: {}\n"));
        assert!(!local_services_only("docker-compose.yml", ""));
    }

    #[test]
    fn stock_images_come_from_the_default_registry() {
        assert!(is_backing_service_image("mysql:8.0"));
        assert!(is_backing_service_image("library/postgres@sha256:abc"));
        assert!(!is_backing_service_image("localhost/mysql"));
        assert!(!is_backing_service_image("registry.example.com/mysql:8"));
        assert!(!is_backing_service_image("${DB_IMAGE}"));
        assert!(!is_backing_service_image("shop/api"));
        assert!(!is_backing_service_image(""));
    }
}
