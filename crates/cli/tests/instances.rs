//! Three instances of `miniguard serve` on one PostgreSQL database and one Redis, on loopback,
//! with requests spread over them, as behind a load balancer (issue: serve at scale):
//! - a signed request accepted by one instance is refused as a replay by the others;
//! - the per-address limit counts a client's requests wherever they land;
//! - a logout on one instance ends the session on the others at once (they cached it);
//! - killing one with SIGKILL loses no write it or the others acknowledged;
//! - `miniguard accounts end-sessions` ends every session on the instances still running.
//!
//! It needs `MINIGUARD_TEST_POSTGRES_URL` and `MINIGUARD_TEST_REDIS_URL` (`.ci/run` sets both);
//! without them it says so and checks nothing. Each run has a database of its own, hence a
//! deployment of its own in Redis (the database's identity names its keys).
//!
//! The instances are `--dev` ones, each with a data directory of its own (its certificate) and
//! the same data key and audit key, copied from the first, as a deployment hands every instance
//! the same keys.

#![cfg(unix)]

use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

#[allow(dead_code)]
#[path = "support/serve.rs"]
mod serve;
use serve::{PgDatabase, client, login_as, sign, signed, start_with};

/// Logins are the auth-rated requests here: five in a burst, then one a minute per address.
/// Every request of the test comes from 127.0.0.1, and the instances share the per-address
/// limit of every other route too: it is raised far above what the writers and the final reads
/// send, or the count of acknowledged writes (which varies with the machine) would decide
/// whether the reads are refused.
const CONFIG: &str = r#"
[server.limits]
per_minute = 1000000
burst = 100000
auth_per_minute = 1
auth_burst = 5

[collections.notes]
fields = { n = "int", owner = "owner" }
read = "owner"
write = "owner"
"#;

const WRITERS: usize = 6;
const ACKED_BEFORE_KILL: usize = 30;

struct Instance {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until each instance answers the session's signed `GET /v1/me` with 401 (it may
/// answer 200 until then), failing if one still serves it 5 s after `since`.
async fn refused_within_5s(
    instances: &[&Instance],
    session: &serde_json::Value,
    since: Instant,
    what: &str,
) {
    for i in instances {
        loop {
            let (status, _) = signed(&i.client, &i.url, session, "GET", "/v1/me", None)
                .await
                .unwrap();
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "{} still serves {what}",
                i.url
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn instance(dir: &Path, config: &Path, database: &str, redis: &str) -> Instance {
    let (child, url) = start_with(dir, config, Some(database), Some(redis));
    Instance {
        child,
        url,
        client: client(dir),
    }
}

#[test]
fn three_instances_share_nonces_limits_logouts_and_lose_no_acknowledged_write() {
    let Some(redis) = std::env::var("MINIGUARD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("MINIGUARD_TEST_REDIS_URL is not set: skipping the three-instance test");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(postgres) = PgDatabase::from_env(&rt, "instances") else {
        eprintln!("MINIGUARD_TEST_POSTGRES_URL is not set: skipping the three-instance test");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("miniguard.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("i{i}"))).collect();

    // The first instance migrates the database and makes the keys; the others get the same keys.
    let a = instance(&dirs[0], &config, &postgres.url, &redis);
    for dir in &dirs[1..] {
        std::fs::create_dir_all(dir).unwrap();
        for file in ["dev-data-keys", "dev-audit-key"] {
            std::fs::copy(dirs[0].join(file), dir.join(file)).unwrap();
        }
    }
    let b = instance(&dirs[1], &config, &postgres.url, &redis);
    let c = instance(&dirs[2], &config, &postgres.url, &redis);
    let mut logins = 0;

    let alice = rt.block_on(async {
        // A login on one instance signs on every other (one database, one data key).
        let alice = login_as(&a.client, &a.url, "alice").await;
        logins += 1;
        for i in [&a, &b, &c] {
            let (status, body) = signed(&i.client, &i.url, &alice, "GET", "/v1/me", None)
                .await
                .unwrap();
            assert_eq!(status, 200, "{}: {body}", i.url);
        }

        // One signed request, sent to each instance: the first takes it, the others refuse it.
        let once = sign(&alice, "GET", "/v1/me", None);
        let (status, _) = once.send(&b.client, &b.url).await.unwrap();
        assert_eq!(status, 200);
        for i in [&a, &c, &b] {
            let (status, body) = once.send(&i.client, &i.url).await.unwrap();
            assert_eq!(status, 401, "a replay on {} was taken: {body}", i.url);
        }

        // A logout on one instance ends the session on the others, which had it cached.
        let bob = login_as(&c.client, &c.url, "bob").await;
        logins += 1;
        for i in [&b, &c] {
            let (status, _) = signed(&i.client, &i.url, &bob, "GET", "/v1/me", None)
                .await
                .unwrap();
            assert_eq!(status, 200);
        }
        let (status, body) = signed(&a.client, &a.url, &bob, "POST", "/v1/auth/logout", None)
            .await
            .unwrap();
        assert!((200..300).contains(&status), "logout: {status} {body}");
        // Without the shared invalidations the cached session would serve on for up to 30 s
        // (the cache's bound); heard over Redis it ends within milliseconds.
        let logged_out = Instant::now();
        refused_within_5s(
            &[&b, &c],
            &bob,
            logged_out,
            "a session logged out on another instance",
        )
        .await;
        eprintln!(
            "logout honoured by the other instances after {:?}",
            logged_out.elapsed()
        );

        // The per-address login limit counts logins wherever they land: five in a burst in
        // all, spread over the three, and the next is refused by whichever instance gets it.
        let rest = [&a, &b, &c];
        while logins < 5 {
            let i = rest[logins % 3];
            let res = i
                .client
                .post(format!("{}/v1/auth/wechat/login", i.url))
                .json(&json!({ "code": format!("dev:user{logins}") }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 200, "login {logins} on {}", i.url);
            logins += 1;
        }
        for i in [&b, &a] {
            let res = i
                .client
                .post(format!("{}/v1/auth/wechat/login", i.url))
                .json(&json!({ "code": "dev:mallory" }))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status().as_u16(),
                429,
                "{} let a login over the shared burst through",
                i.url
            );
        }
        alice
    });

    // Writers spread over the three instances; one instance is killed while they write.
    let (acked_tx, acked_rx) = mpsc::channel::<(i64, String, usize)>();
    let mut writers = Vec::new();
    let instances = [&a, &b, &c];
    for w in 0..WRITERS {
        let target = instances[w % 3];
        let (client, url, session, acked_tx) = (
            target.client.clone(),
            target.url.clone(),
            alice.clone(),
            acked_tx.clone(),
        );
        writers.push(rt.spawn(async move {
            for n in 0_i64.. {
                let number = i64::try_from(w).unwrap() * 1_000_000 + n;
                let body = json!({ "n": number });
                match signed(
                    &client,
                    &url,
                    &session,
                    "POST",
                    "/v1/collections/notes/records",
                    Some(&body),
                )
                .await
                {
                    Ok((status, body)) if (200..300).contains(&status) => {
                        let id = body["id"].as_str().unwrap().to_owned();
                        if acked_tx.send((number, id, w)).is_err() {
                            return;
                        }
                    }
                    Ok((status, body)) => panic!("write answered {status}: {body}"),
                    // The instance died mid-request (or the test is over): stop.
                    Err(_) => return,
                }
            }
        }));
    }
    drop(acked_tx);
    let mut acked = Vec::new();
    while acked.len() < ACKED_BEFORE_KILL {
        acked.push(
            acked_rx
                .recv_timeout(Duration::from_mins(2))
                .expect("writes are acknowledged"),
        );
    }
    let mut b = b;
    b.child.kill().expect("SIGKILL our own child");
    b.child.wait().unwrap();
    // The survivors keep taking writes.
    let after_kill = acked.len();
    while acked.len() < after_kill + 10 {
        acked.push(
            acked_rx
                .recv_timeout(Duration::from_mins(2))
                .expect("the other instances keep acknowledging writes"),
        );
    }
    // Stop the writers of the surviving instances.
    let (a, c) = (a, c);
    for w in &writers {
        w.abort();
    }
    for w in writers {
        let _ = rt.block_on(w);
    }
    acked.extend(acked_rx.try_iter());
    assert!(
        acked.iter().any(|(_, _, w)| w % 3 == 1),
        "the killed instance had acknowledged writes"
    );
    rt.block_on(async {
        for (number, id, _) in &acked {
            let path = format!("/v1/collections/notes/records/{id}");
            let (status, body) = signed(&c.client, &c.url, &alice, "GET", &path, None)
                .await
                .unwrap();
            assert_eq!(status, 200, "record {id} ({number}) lost: {body}");
            assert_eq!(body["n"], *number);
        }
    });

    // Every session ends at once, from the command line: the instances that had alice's
    // session cached are told through Redis (and read the database's count of ends anyway).
    let ended = std::process::Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .env_remove("MINIGUARD_DATABASE_URL")
        .env_remove("MINIGUARD_REDIS_URL")
        .args(["accounts", "end-sessions", "--database-url"])
        .arg(&postgres.url)
        .args(["--redis-url", &redis, "--key-file"])
        .arg(dirs[0].join("dev-audit-key"))
        .output()
        .unwrap();
    assert!(ended.status.success(), "{ended:?}");
    let out = String::from_utf8_lossy(&ended.stdout);
    assert!(out.contains("ended every session"), "{out}");
    assert!(out.contains("told at once"), "{out}");
    rt.block_on(async {
        let ended_at = Instant::now();
        refused_within_5s(
            &[&a, &c],
            &alice,
            ended_at,
            "a session every session's end covered",
        )
        .await;
        eprintln!(
            "the end of every session honoured after {:?}",
            ended_at.elapsed()
        );
    });
    drop((a, c));
}
