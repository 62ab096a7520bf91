use miniguard_report::{Msg, msg};
use std::sync::LazyLock;

use miniguard_report::Severity;
use regex::Regex;

use crate::events::{CallEvent, Cx, Event, LiteralEvent, PropertyEvent, Span};
use crate::names::{labels_for_name, words};
use crate::rules::secrets::hardcoded_appsecret::is_app_secret_literal;
use crate::rules::secrets::private_key::private_key_kind;
use crate::rules::{Rule, RuleMeta};
use crate::value::{Labels, Origin};

crate::declare_rule! {
    /// ## What it finds
    /// Passwords and secrets written in the code:
    ///
    /// - a string literal bound to a credential name — `password`, `pwd`, `pass`, `dbPassword`,
    ///   `secret`, `jwtSecret`, `secretKey`, `apiKey`, `clientSecret`, `accessKeySecret`, WeChat
    ///   Pay `mchKey` / `partnerKey` / `apiV3Key`, signing keys (`signKey`, `signatureKey`) — as a
    ///   variable, an object property (database, Redis, SMTP connection options; `koa-jwt` /
    ///   `express-jwt` options) or an assignment;
    /// - a WeChat Pay API key under the bare name `key` (32 letters and digits) in an object
    ///   that also holds the merchant id (`mch_id`, `mchid`, `mchId`, `sub_mch_id`,
    ///   `merchantId`, `partnerid`), written there or in a variable the object takes
    ///   (`var key = '…'; … { mch_id: mch_id, key: key }`): the key is reported where it is
    ///   written. A `key` elsewhere (`{ title: '编号', key: 'id' }`, a cache entry, a map key)
    ///   is not;
    /// - an app key (`appkey`, `appKey`, `app_key`, `SMS_APP_KEY`) of 16 or more letters and
    ///   digits in server code and server configuration (Tencent SMS, courier APIs sign with
    ///   it). App keys in code that runs on the phone are not reported: SDKs that run there
    ///   (Umeng analytics `uma.init({ appKey })`, maps, push) issue keys meant to ship in the
    ///   app;
    /// - credentials in connection URLs: `mysql://user:pass@host`, `mongodb://`, `postgres://`,
    ///   `redis://:pass@host`, `amqp://`;
    /// - credentials in other URLs: a query parameter named like a token, secret or password
    ///   with a constant, key-like value (16 or more letters and digits) — a `DingTalk` robot's
    ///   `…/robot/send?access_token=…`, a `WeCom` webhook's `?key=…`, a Feishu/Lark bot's
    ///   `…/bot/v2/hook/…`. A value added at run time is the transport rule's (T004);
    /// - a constant token in a request's headers (`headers: { token: '2888…' }`,
    ///   `Authorization: 'Bearer eyJ…'`);
    /// - constant secrets passed to `jwt.sign` / `jwt.verify`, `crypto.createHmac(alg, key)` and
    ///   `CryptoJS.HmacSHA256(msg, key)`, and a constant key hashed into a signature with the
    ///   data (`md5(time + path + KEY)`: a run of 16 or more letters and digits, both kinds,
    ///   or a UUID like Kdniao's `AppKey`, inside an `md5`/`sha1`/`sha256` input that also has
    ///   run-time parts);
    /// - the same in configuration and deployment files: YAML (Spring `application*.yml`,
    ///   docker-compose `environment:` maps and `KEY=value` lists, Kubernetes `env:` name/value
    ///   pairs and `Secret` manifests), `.env` files, Java `.properties`, INI-style `.ini`,
    ///   `.conf`, `.cnf`, `.cfg`, and settings JSON: a Node server's `config.json` /
    ///   `config.*.json` / `config/*.json` (`{ "mysql": { "password": … } }`), `settings.json`,
    ///   `appsettings.json`, `secrets.json`, `cloudbaserc.json`, uni-id's
    ///   `common/uni-id/config.json` (`tokenSecret`, `passwordSecret`), a cloud function's
    ///   `config.json`, uni-app's `manifest.json`. There a value named like a password is one
    ///   however short (`MYSQL_ROOT_PASSWORD: 1234`, a number too), and a phrase of three words
    ///   or more that mentions a credential is the value itself (`newbeeppt-token-secret`,
    ///   uni-id's published default `passwordSecret-demo`); `${VAR}` references and empty
    ///   values are not. Other JSON is data, not settings: `project.config.json`, `app.json`,
    ///   page files, `package.json`, lockfiles, translations (files under `i18n/`,
    ///   `locales/`, `lang/`...), mock data and the run parameters of cloud functions
    ///   (`*.param.json`).
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
    /// `app_test.conf`, `config.dev.json`), and anything under `test/`, `tests/`,
    /// `__tests__/`, `mock/`, `e2e/`, `fixtures/`. `low` in templates meant to be copied and
    /// filled in (`.env.example`, `config.sample.js`, `config.example.json`, `*.template`,
    /// `*.dist`): a placeholder kept as it is becomes a weak production default. `low` too in a
    /// docker-compose file whose services are all stock database, cache and queue images
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
            Event::Literal(lit) => check_literal(cx, lit),
            Event::Property(p) => check_property(cx, p),
            Event::Call(call) => check_call(cx, call),
            _ => {}
        }
    }
}

/// Where a credential is written, as far as its severity goes.
struct Place {
    unreleased: Option<NotReleased>,
    /// A compose file that starts only stock database images.
    local: bool,
}

impl Place {
    /// The place of a credential in `file` (the current file's source tells compose files
    /// apart).
    fn of(cx: &Cx<'_>, file: &str) -> Place {
        let unreleased = not_released(file);
        let local =
            unreleased.is_none() && file == &*cx.file && local_services_only(&cx.file, cx.source);
        Place { unreleased, local }
    }

    fn severity(&self) -> Severity {
        match self.unreleased {
            Some(NotReleased::DevOrTest) => Severity::Info,
            Some(NotReleased::Template) => Severity::Low,
            None if self.local => Severity::Low,
            None => HardcodedCredential::META.severity,
        }
    }

    /// Development files and local environments apart from released ones, in groups.
    fn group(&self) -> &'static str {
        if self.unreleased.is_some() || self.local {
            "dev"
        } else {
            "release"
        }
    }

    /// The message for a credential bound to `name`.
    fn message(&self, what: Msg, name: &str) -> Msg {
        match self.unreleased {
            Some(NotReleased::Template) => {
                msg!("K004.hardcoded-template", what = what, name = name)
            }
            Some(NotReleased::DevOrTest) => msg!("K004.hardcoded-dev", what = what, name = name),
            None if self.local => {
                msg!("K004.hardcoded-local-services", what = what, name = name)
            }
            None => msg!("K004.hardcoded", what = what, name = name),
        }
    }
}

fn check_literal(cx: &mut Cx<'_>, lit: &LiteralEvent<'_>) {
    if let Some(c) = CONNECTION_URL.captures(lit.text) {
        let pass = c.get(3).map_or("", |m| m.as_str());
        if !is_placeholder(pass) && !pass.starts_with('$') {
            let scheme = c.get(1).map_or("", |m| m.as_str());
            // Development files and templates hold a local database's
            // password or a placeholder, as for named credentials below.
            let place = Place::of(cx, &cx.file);
            cx.report(
                &HardcodedCredential::META,
                lit.span,
                msg!("K004.connection-url", scheme = scheme),
            )
            .severity(place.severity())
            .help(msg!("K004.connection-url-help"));
            return;
        }
    }
    if let Some(found) = url_credential(lit.text)
        && !is_app_secret_literal(lit.text, lit.name_hint)
    {
        let place = Place::of(cx, &cx.file);
        cx.report(
            &HardcodedCredential::META,
            lit.span,
            msg!("K004.url-credential", name = found.name, host = found.host),
        )
        .severity(place.severity())
        .group(format!("{}:url:{}", place.group(), found.value))
        .help(msg!("K004.url-credential-help"));
        return;
    }
    let Some(name) = lit.name_hint else { return };
    let labels = labels_for_name(name);
    // An app key signs a service's requests (Tencent SMS, courier APIs) where only the server
    // holds it; SDKs that run on the phone (analytics, maps, push) are issued app keys meant
    // to ship in the app.
    let app_key = cx.is_server() && is_app_key_name(name) && looks_like_key(lit.text);
    if !(labels.intersects(Labels::PASSWORD | Labels::SECRET) || app_key)
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
    if !looks_like_secret_value(lit.text, name, min_len, cx.settings) {
        return;
    }
    // `passwordSecret` (uni-id's key for password hashes) is a secret, not a password.
    let what = if labels.contains(Labels::PASSWORD) && !labels.contains(Labels::SECRET) {
        msg!("K004.password")
    } else {
        msg!("K004.secret")
    };
    report_named(cx, None, lit.span, name, lit.text, what);
}

/// Report a credential bound to `name`, at `origin` (where a value used elsewhere was
/// written) or else at `span` of the current file.
///
/// One value, one finding: a strong secret wherever it repeats (one JWT secret in two token
/// services), a short, common one under the same name (one MySQL `password` in every
/// service's config; `123456` as a database password and as an admin's default password are
/// two flaws). Development files apart, since their severity differs.
fn report_named(
    cx: &mut Cx<'_>,
    origin: Option<&Origin>,
    span: Span,
    name: &str,
    text: &str,
    what: Msg,
) {
    let place = Place::of(cx, origin.map_or(&*cx.file, |o| &*o.file));
    let key = if text.len() < 12 {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    } else {
        String::new()
    };
    let message = place.message(what, name);
    let reported = match origin {
        Some(o) => cx.report_at(&HardcodedCredential::META, o, message),
        None => cx.report(&HardcodedCredential::META, span, message),
    };
    reported
        .severity(place.severity())
        .group(format!("{}:{key}:{text}", place.group()))
        .help(msg!("K004.help"));
}

/// Credentials an object shows by its shape: a WeChat Pay key named just `key` beside the
/// merchant id, and a constant token in a request's headers.
fn check_property(cx: &mut Cx<'_>, p: &PropertyEvent<'_, '_>) {
    if is_bare_key(p.key) && p.siblings.iter().any(|k| is_merchant_id_name(k)) {
        let Some(text) = p.value.exact_text() else {
            return;
        };
        if p.value.is_constant() && is_merchant_key(text) {
            let origin = p.value.text_origin.clone();
            report_named(
                cx,
                origin.as_deref(),
                p.value_span,
                p.key,
                text,
                msg!("K004.merchant-key"),
            );
        }
        return;
    }
    if !(p.key.eq_ignore_ascii_case("header") || p.key.eq_ignore_ascii_case("headers")) {
        return;
    }
    let Some(headers) = p.value.obj() else { return };
    for (name, value) in &headers.fields {
        let labels = labels_for_name(name);
        // Header names of passwords and secrets are reported as the literals they are.
        if !labels.contains(Labels::TOKEN) || labels.intersects(Labels::PASSWORD | Labels::SECRET) {
            continue;
        }
        let Some(text) = value.exact_text() else {
            continue;
        };
        if !value.is_constant() || !is_header_credential(text) {
            continue;
        }
        let place = Place::of(
            cx,
            value.text_origin.as_ref().map_or(&*cx.file, |o| &*o.file),
        );
        let message = msg!("K004.header", name = &**name);
        let reported = match &value.text_origin {
            Some(o) => cx.report_at(&HardcodedCredential::META, o, message),
            None => cx.report(&HardcodedCredential::META, p.value_span, message),
        };
        reported
            .severity(place.severity())
            .group(format!("{}:header:{text}", place.group()))
            .help(msg!("K004.header-help"));
    }
}

/// `key`, `KEY`, `Key`: the name WeChat Pay's API v2 documentation gives the merchant's API
/// key, and a word too common to be a credential on its own.
fn is_bare_key(name: &str) -> bool {
    name.eq_ignore_ascii_case("key")
}

/// A WeChat Pay merchant id (`mch_id`, `mchid`, `mchId`, `sub_mch_id`, `merchantId`, the App
/// payment's `partnerid`).
fn is_merchant_id_name(name: &str) -> bool {
    matches!(
        words(name).concat().as_str(),
        "mchid" | "submchid" | "merchantid" | "partnerid"
    )
}

/// A WeChat Pay API key: 32 letters and digits (API v2 and v3 keys alike).
fn is_merchant_key(text: &str) -> bool {
    text.len() == 32
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
        && !is_placeholder(text)
        && distinct_bytes(text) > 4
}

/// `appkey`, `appKey`, `app_key`, `SMS_APP_KEY`, `kdniaoAppKey`.
fn is_app_key_name(name: &str) -> bool {
    let ws = words(name);
    ws.len() <= 4 && ws.concat().ends_with("appkey")
}

fn distinct_bytes(text: &str) -> usize {
    text.bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len()
}

/// A machine-made key: 16 to 128 letters, digits, `-` and `_`, with letters and digits, and
/// not a placeholder or a run of one character (a hex key, a UUID, a random token).
fn looks_like_key(text: &str) -> bool {
    (16..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().any(|b| b.is_ascii_alphabetic())
        && distinct_bytes(text) >= 6
        && !is_placeholder(text)
}

/// A constant header value that is a credential: a token (`288826d1…`), or one after an
/// authentication scheme (`Bearer eyJ…`, `Basic dXNlcjpw…`). JWTs and base64 may hold `.`,
/// `/`, `+` and `=`.
fn is_header_credential(text: &str) -> bool {
    let token = ["Bearer ", "Basic ", "Token ", "token ", "bearer ", "basic "]
        .iter()
        .find_map(|s| text.strip_prefix(s))
        .unwrap_or(text)
        .trim();
    (16..=2048).contains(&token.len())
        && token.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'+' | b'=')
        })
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
        && distinct_bytes(token) >= 6
        && !is_placeholder(token)
}

/// A credential written into a URL: `?access_token=…` of a `DingTalk` robot,
/// `?key=…` of a `WeCom` webhook, a Feishu/Lark bot hook, any `token=` / `secret=` /
/// `password=` parameter with a key-like constant value.
struct UrlCredential<'t> {
    name: &'t str,
    host: &'t str,
    value: &'t str,
}

static URL_QUERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bhttps?://([a-z0-9.-]+)(?::\d+)?(/[^?#\s'\x22]*)?\?([^#\s'\x22]+)")
        .expect("valid regex")
});

static BOT_HOOK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bhttps?://(open\.feishu\.cn|open\.larksuite\.com)/open-apis/bot/v2/hook/([0-9a-z-]{16,64})",
    )
    .expect("valid regex")
});

fn url_credential(text: &str) -> Option<UrlCredential<'_>> {
    if !text.contains("://") {
        return None;
    }
    for c in URL_QUERY.captures_iter(text) {
        let host = c.get(1).map_or("", |m| m.as_str());
        let path = c.get(2).map_or("", |m| m.as_str());
        let query = c.get(3).map_or("", |m| m.as_str());
        for pair in query.split('&') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let credential = labels_for_name(name)
                .intersects(Labels::TOKEN | Labels::SECRET | Labels::PASSWORD)
                // A webhook's `key` is its credential (WeCom `cgi-bin/webhook/send?key=`).
                || is_bare_key(name) && path.to_ascii_lowercase().contains("webhook");
            if credential && looks_like_key(value) {
                return Some(UrlCredential { name, host, value });
            }
        }
    }
    let c = BOT_HOOK.captures(text)?;
    let value = c.get(2)?.as_str();
    looks_like_key(value).then(|| UrlCredential {
        name: "hook",
        host: c.get(1).map_or("", |m| m.as_str()),
        value,
    })
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

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
        .expect("valid regex")
});

/// The name-space UUIDs of RFC 4122 (DNS, URL, OID, X.500), hashed with a name into a
/// version 3 or 5 UUID: public constants, not keys.
const NAMESPACE_UUIDS: &[&str] = &[
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b812-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
];

/// `md5(time + path + KEY)`: a request signature made by hashing the data with a secret the
/// code carries. The secret is a constant run of at least 16 letters and digits (hex or
/// base64-like, with both), or a UUID, inside a hash input that also has parts computed at
/// run time.
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
    let run = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|run| {
            run.len() >= 16
                && run.bytes().any(|b| b.is_ascii_digit())
                && run.bytes().any(|b| b.is_ascii_alphabetic())
                && !is_placeholder(run)
        });
    // A UUID is a key too: the courier API of Kdniao signs `md5(data + AppKey)` with one.
    let Some(key) = run.or_else(|| {
        UUID.find_iter(text)
            .map(|m| m.as_str())
            .find(|u| !is_placeholder(u) && !NAMESPACE_UUIDS.contains(&&*u.to_ascii_lowercase()))
    }) else {
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
/// `settings`: the literal is a value of a settings file, where a phrase of three words or
/// more that mentions a credential (`newbeeppt-token-secret`, uni-id's own default
/// `passwordSecret-demo`) is the secret itself: field names are short and translations are not
/// settings files.
fn looks_like_secret_value(text: &str, name: &str, min_len: usize, settings: bool) -> bool {
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
    let phrase = settings && words(text).len() >= 3;
    if squash(text) == squash(name) || !phrase && !labels_for_name(text).is_empty() {
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
    if !phrase
        && ws
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
    use super::{
        is_app_key_name, is_backing_service_image, is_header_credential, is_merchant_id_name,
        is_merchant_key, local_services_only, looks_like_key, looks_like_secret_value,
        url_credential,
    };

    #[test]
    fn credentials_in_urls() {
        let ding = url_credential(
            "https://oapi.dingtalk.com/robot/send?access_token=bd2aaca8466f6540d0dd5cc00f80bcc9150d77f837da21ebbe857f0979248090",
        )
        .expect("a DingTalk robot token");
        assert_eq!(
            (ding.name, ding.host),
            ("access_token", "oapi.dingtalk.com")
        );
        let wecom = url_credential(
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a3c-4bd5-9c2e-2f1e5b6d7c8a",
        )
        .expect("a WeCom webhook key");
        assert_eq!(wecom.name, "key");
        let lark = url_credential(
            "https://open.feishu.cn/open-apis/bot/v2/hook/0f5e8a7c-1b2d-4e3f-9a8b-7c6d5e4f3a2b",
        )
        .expect("a Feishu bot hook");
        assert_eq!(lark.name, "hook");
        assert!(
            url_credential("http://10.0.0.5:8080/api/list?page=1&token=a1b2c3d4e5f6a7b8c9d0")
                .is_some()
        );

        for text in [
            // The value is added at run time, or is a documentation placeholder.
            "https://oapi.dingtalk.com/robot/send?access_token=",
            "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=APPID&secret=APPSECRET",
            "https://api.example.com/x?access_token=ACCESS_TOKEN_HERE_PLEASE",
            // A `key` outside a webhook, a public map token, a short value.
            "https://restapi.amap.com/v3/geocode?key=bdd2cf43ab816c659bc155cfdbf75547",
            "https://api.mapbox.com/styles/v1?access_token=pk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjazEifQ.abc123def456",
            "https://api.example.com/login?password=123456",
            "not a url token=a1b2c3d4e5f6a7b8c9d0",
        ] {
            assert!(url_credential(text).is_none(), "{text}");
        }
    }

    #[test]
    fn header_credentials() {
        assert!(is_header_credential("288826d1c90d996ceb6d3984c6aaea6c"));
        assert!(is_header_credential(
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjF9.c2lnbmF0dXJlMTIz"
        ));
        assert!(is_header_credential("Basic c2hvcDpTaG9wQDIwMjMhZGI="));
        for text in [
            "application/json",
            "Bearer ",
            "Bearer test",
            "no-cache",
            "your-token-here-0000",
        ] {
            assert!(!is_header_credential(text), "{text}");
        }
    }

    #[test]
    fn merchant_keys_beside_merchant_ids() {
        for name in [
            "mch_id",
            "mchid",
            "mchId",
            "sub_mch_id",
            "merchantId",
            "partnerid",
        ] {
            assert!(is_merchant_id_name(name), "{name}");
        }
        for name in ["id", "mch", "appid", "partner"] {
            assert!(!is_merchant_id_name(name), "{name}");
        }
        assert!(is_merchant_key("ailos850823ailos850823ailos85082"));
        assert!(is_merchant_key("3ybPBpsiqnnKPro9rYc7ghP3Dyti95JB"));
        assert!(!is_merchant_key("your-32-character-merchant-key!!"));
        assert!(!is_merchant_key("00000000000000000000000000000000"));
        assert!(!is_merchant_key("id"));
    }

    #[test]
    fn app_keys() {
        for name in ["appkey", "appKey", "app_key", "SMS_APP_KEY", "kdniaoAppKey"] {
            assert!(is_app_key_name(name), "{name}");
        }
        for name in ["appkey_ios", "appKeyName", "key", "apiKey"] {
            assert!(!is_app_key_name(name), "{name}");
        }
        assert!(looks_like_key("d5307b26bde380361253fc45765adfb5"));
        assert!(looks_like_key("b6b4fba5-b2ab-4d6e-a244-4d3eca36c76e"));
        assert!(!looks_like_key("your-sms-appkey-0001"));
        assert!(!looks_like_key("appkey"));
        assert!(!looks_like_key("abababababababab1"));
    }

    #[test]
    fn phrases_in_settings_are_secrets() {
        // In a settings file a phrase that mentions a credential is the value itself.
        assert!(looks_like_secret_value(
            "newbeeppt-token-secret",
            "tokenSecret",
            3,
            true
        ));
        assert!(looks_like_secret_value(
            "passwordSecret-demo",
            "passwordSecret",
            3,
            true
        ));
        // In code it may be a field or message name; short names are names everywhere.
        assert!(!looks_like_secret_value(
            "newbeeppt-token-secret",
            "tokenSecret",
            6,
            false
        ));
        assert!(!looks_like_secret_value(
            "user_password",
            "password",
            3,
            true
        ));
        assert!(!looks_like_secret_value(
            "tokenSecret",
            "tokenSecret",
            3,
            true
        ));
        assert!(!looks_like_secret_value(
            "DB_PASSWORD_VALUE",
            "password",
            3,
            true
        ));
        assert!(!looks_like_secret_value(
            "login.password.label",
            "password",
            3,
            true
        ));
    }

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
