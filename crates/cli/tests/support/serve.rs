//! Driving `miniguard serve --dev` children over HTTPS: a PostgreSQL database of a test's own,
//! starting a server and reading its address, a client trusting its development certificate,
//! the development login, and signed requests (docs/protocol.md).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{RequestParts, SigningKey};
use serde_json::{Value, json};

/// A PostgreSQL database of this test's own on the server of `MINIGUARD_TEST_POSTGRES_URL`,
/// dropped (with the connections a killed server left) when this value is.
pub struct PgDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// `None` when `MINIGUARD_TEST_POSTGRES_URL` is not set. `tag` tells the tests of one
    /// process apart.
    pub fn from_env(rt: &tokio::runtime::Runtime, tag: &str) -> Option<Self> {
        use sqlx::Connection as _;
        let admin = std::env::var("MINIGUARD_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("mg_test_{tag}_{}", std::process::id());
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            // One statement each: several in one query would run as one transaction, which
            // neither may.
            for sql in [
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                format!("CREATE DATABASE \"{name}\""),
            ] {
                sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
            }
            conn.close().await.unwrap();
        });
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::Connection as _;
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
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
    }
}

/// Starts the server and answers it with its URL once it listens.
pub fn start(dir: &Path, config: &Path, database_url: Option<&str>) -> (Child, String) {
    start_with(dir, config, database_url, None)
}

/// [`start`], sharing state through the Redis at `redis_url` when given.
pub fn start_with(
    dir: &Path,
    config: &Path,
    database_url: Option<&str>,
    redis_url: Option<&str>,
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    command
        .env("LC_ALL", "C")
        .env_remove("MINIGUARD_DATABASE_URL")
        .env_remove("MINIGUARD_REDIS_URL")
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--config")
        .arg(config);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    if let Some(url) = redis_url {
        command.args(["--redis-url", url]);
    }
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start miniguard serve --dev");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("serve --dev prints its address");
        if let Some(rest) = line.trim().strip_prefix("listening") {
            break rest.trim().to_owned();
        }
    };
    // Keep draining the output so the server never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, url)
}

/// A client trusting exactly this run's development certificate.
pub fn client(dir: &Path) -> reqwest::Client {
    let pem = std::fs::read(dir.join("dev-cert.pem")).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Logs `dev:alice` in.
pub async fn login(client: &reqwest::Client, url: &str) -> Value {
    login_as(client, url, "alice").await
}

/// Logs `dev:<name>` in (the fake platform of `--dev`).
pub async fn login_as(client: &reqwest::Client, url: &str, name: &str) -> Value {
    let res = client
        .post(format!("{url}/v1/auth/wechat/login"))
        .json(&json!({ "code": format!("dev:{name}") }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

/// A signed request, ready to be sent (again) to any instance.
pub struct Signed {
    method: String,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

/// Signs a request with the session's key, a fresh nonce and the current time.
pub fn sign(session: &Value, method: &str, path: &str, body: Option<&Value>) -> Signed {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let key = SigningKey::from_base64url(session["signing_key"].as_str().unwrap()).unwrap();
    let nonce = generate_nonce().unwrap();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let parts = RequestParts {
        method,
        path,
        query: "",
        timestamp,
        nonce: &nonce,
        body: &bytes,
    };
    let signature = miniguard_crypto::sign(&key, &parts).unwrap();
    Signed {
        method: method.to_owned(),
        path: path.to_owned(),
        headers: vec![
            (
                "authorization",
                format!("Bearer {}", session["access_token"].as_str().unwrap()),
            ),
            ("x-mg-timestamp", timestamp.to_string()),
            ("x-mg-nonce", nonce),
            ("x-mg-signature", signature),
        ],
        body: body.map(|_| bytes),
    }
}

impl Signed {
    /// Sends it to the server at `url`: its status and JSON body (`Null` when not JSON), or the
    /// transport error.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = client.request(self.method.parse().unwrap(), format!("{url}{}", self.path));
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        if let Some(body) = &self.body {
            req = req
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// A signed request (docs/protocol.md); a transport error is answered as `Err`.
pub async fn signed(
    client: &reqwest::Client,
    url: &str,
    session: &Value,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), reqwest::Error> {
    sign(session, method, path, body).send(client, url).await
}
