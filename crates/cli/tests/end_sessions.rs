//! `miniguard accounts end-sessions` against a running `serve --dev` on SQLite, without Redis:
//! the command runs in another process, the server had the sessions cached, and still refuses
//! them within a second (it reads the database's count of ends), refresh tokens included; a
//! login after the end is untouched; the end is audited; English and Chinese output. The same
//! command with PostgreSQL and Redis, three instances: `tests/instances.rs`.

#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "support/serve.rs"]
mod serve;
use serve::{client, login_as, signed, start};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn end_sessions(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .env_remove("MINIGUARD_DATABASE_URL")
        .env_remove("MINIGUARD_REDIS_URL")
        .args(["accounts", "end-sessions"])
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits (at most 5 s) until the session is refused; the server had it cached.
async fn refused_soon(client: &reqwest::Client, url: &str, session: &Value) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = signed(client, url, session, "GET", "/v1/me", None)
            .await
            .unwrap();
        if status == 401 {
            return started.elapsed();
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server still serves a session ended in its database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn refresh(client: &reqwest::Client, url: &str, session: &Value) -> u16 {
    client
        .post(format!("{url}/v1/auth/refresh"))
        .json(&json!({ "refresh_token": session["refresh_token"] }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn every_session_ends_at_once_and_the_running_server_honours_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("miniguard.toml");
    std::fs::write(&config, "").unwrap();
    let (child, url) = start(&data, &config, None);
    let _server = Server(child);
    let http = client(&data);
    let db = data.join("miniguard.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // No database named: a clear error, nothing done.
    let none = end_sessions(&[]);
    assert_eq!(none.status.code(), Some(2), "{none:?}");
    assert!(
        text(&none.stderr).contains("name the server's database"),
        "{}",
        text(&none.stderr)
    );
    // A mistyped path does not create an empty database.
    let typo = tmp.path().join("nope/miniguard.db");
    let missing = end_sessions(&["--db".as_ref(), typo.as_os_str()]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(!typo.exists());

    let (alice, bob) = rt.block_on(async {
        let alice = login_as(&http, &url, "alice").await;
        let bob = login_as(&http, &url, "bob").await;
        for s in [&alice, &bob] {
            let (status, _) = signed(&http, &url, s, "GET", "/v1/me", None).await.unwrap();
            assert_eq!(status, 200);
        }
        (alice, bob)
    });

    let ended = end_sessions(&["--db".as_ref(), db.as_os_str()]);
    assert!(ended.status.success(), "{ended:?}");
    let out = text(&ended.stdout);
    // Two logins: an access and a refresh token each.
    assert!(
        out.contains("ended every session: 4 live tokens revoked"),
        "{out}"
    );
    assert!(out.contains("within a second"), "{out}");

    let carol = rt.block_on(async {
        for s in [&alice, &bob] {
            let took = refused_soon(&http, &url, s).await;
            eprintln!("an ended session refused after {took:?}");
            assert_eq!(
                refresh(&http, &url, s).await,
                401,
                "a refresh token lived on"
            );
        }
        // A login after the end is a session like any other.
        let carol = login_as(&http, &url, "carol").await;
        let (status, _) = signed(&http, &url, &carol, "GET", "/v1/me", None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        carol
    });

    // In Chinese, and the new session goes too.
    let zh = end_sessions(&[
        "--lang".as_ref(),
        "zh-CN".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]);
    assert!(zh.status.success(), "{zh:?}");
    let out = text(&zh.stdout);
    assert!(out.contains("已结束所有会话：撤销了 2 个有效令牌"), "{out}");
    assert!(out.contains("一秒内"), "{out}");
    rt.block_on(refused_soon(&http, &url, &carol));

    // Both ends are in the audit log, by the command line.
    let ends = rt.block_on(audited_ends(&db));
    assert_eq!(ends, [json!({ "tokens": 4 }), json!({ "tokens": 2 })]);
}

async fn audited_ends(db: &Path) -> Vec<Value> {
    let handle = miniguard_server::db::Db::open_read_only(db).await.unwrap();
    let rows = handle.audit_rows().await.unwrap();
    handle.close().await;
    rows.into_iter()
        .filter(|r| r.action == "sessions.ended_all")
        .map(|r| {
            assert_eq!(r.actor, "cli");
            serde_json::from_str(&r.detail).unwrap()
        })
        .collect()
}
