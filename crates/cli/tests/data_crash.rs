//! Crash safety of the data API: `miniguard serve --dev` on a data directory takes signed writes
//! from several clients at once, is killed with SIGKILL while requests are in flight, is started
//! again on the same directory, and every record whose write was answered 2xx is there, intact.
//! The text field is encrypted: `--dev --data-dir` keeps its data key in the directory (0600),
//! so the second run opens what the first wrote, and the first run's login still signs.
//!
//! With `MINIGUARD_TEST_POSTGRES_URL` set (`postgres://postgres@127.0.0.1:5432/postgres`), the
//! server runs on a PostgreSQL database created for the test (`--database-url`), dropped at the
//! end; otherwise on the SQLite file of the data directory.

#![cfg(unix)]

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

#[allow(dead_code)]
#[path = "support/serve.rs"]
mod serve;
use serve::{PgDatabase, client, login, signed, start};

const CONFIG: &str = r#"
[collections.notes]
fields = { n = "int", text = "string(1..200) encrypted", owner = "owner" }
read = "true"
write = "owner"
delete = "owner"
"#;

/// Writers running at once, and how many acknowledged writes to wait for before the kill.
const WRITERS: usize = 4;
const ACKED_BEFORE_KILL: usize = 40;

#[test]
fn acknowledged_writes_survive_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("miniguard.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let postgres = PgDatabase::from_env(&rt, "crash");
    let database_url = postgres.as_ref().map(|p| p.url.as_str());
    let (mut child, url) = start(&data, &config, database_url);
    let client = client(&data);
    let session = rt.block_on(login(&client, &url));
    assert_eq!(
        data.join("miniguard.db").exists(),
        postgres.is_none(),
        "the database is where the test put it"
    );

    // Writers loop until the connection dies; each acknowledged write is reported.
    let (acked_tx, acked_rx) = mpsc::channel::<(i64, String, String)>();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, url, session, acked_tx) = (
            client.clone(),
            url.clone(),
            session.clone(),
            acked_tx.clone(),
        );
        writers.push(rt.spawn(async move {
            let mut n = 0_i64;
            loop {
                let number = i64::try_from(w).unwrap() * 1_000_000 + n;
                let text = format!("note {number} from writer {w}");
                let body = json!({ "n": number, "text": text });
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
                        if acked_tx.send((number, text, id)).is_err() {
                            return;
                        }
                    }
                    // A refusal while the server lives is a bug.
                    Ok((status, body)) => panic!("write answered {status}: {body}"),
                    // The server died mid-request: stop.
                    Err(_) => return,
                }
                n += 1;
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
    // SIGKILL while the writers keep going: no shutdown, no checkpoint.
    child.kill().expect("SIGKILL our own child");
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");
    for w in writers {
        rt.block_on(w).expect("writers end without panicking");
    }
    // Writes answered between the count and the kill count too.
    acked.extend(acked_rx.try_iter());
    assert!(acked.len() >= ACKED_BEFORE_KILL);

    // The same data directory again: every acknowledged record is there, intact.
    let (mut child, url) = start(&data, &config, database_url);
    let client = self::client(&data);
    rt.block_on(async {
        // The data key was kept in the directory: the first run's login still signs.
        let key_file = data.join("dev-data-keys");
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for (number, text, id) in &acked {
            let (status, body) = signed(
                &client,
                &url,
                &session,
                "GET",
                &format!("/v1/collections/notes/records/{id}"),
                None,
            )
            .await
            .unwrap();
            assert_eq!(status, 200, "record {id} ({number}) lost: {body}");
            assert_eq!(body["n"], *number);
            assert_eq!(body["text"], text.as_str());
        }
        // And the server still takes writes.
        let (status, body) = signed(
            &client,
            &url,
            &session,
            "POST",
            "/v1/collections/notes/records",
            Some(&json!({ "n": -1, "text": "after the crash" })),
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `keys rotate` stopped part way (`--limit`, as a crash would leave it) and resumed: the
/// command-line flow of key rotation on a configured server's database.
#[test]
fn keys_rotate_resumes_and_retire_waits_until_a_key_is_unused() {
    use miniguard_crypto::{AssociatedData, Keyring};
    use miniguard_server::db::Db;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("miniguard.toml");
    std::fs::write(
        &config,
        r#"
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

[collections.notes]
fields = { text = "string encrypted", owner = "owner" }
read = "owner"
write = "owner"
"#,
    )
    .unwrap();
    let keys = dir.path().join("keys.txt");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
            .env("LC_ALL", "C")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let keys_arg = keys.display().to_string();
    let config_arg = config.display().to_string();
    let (code, _, err) = run(&["keys", "generate", "--out", &keys_arg]);
    assert_eq!(code, 0, "{err}");

    // Ten users' platform session keys under key 1.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let db_path = dir.path().join("data/mg.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ring = Keyring::from_text(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let aad = |id: i64| AssociatedData::field("platform_session_keys", "envelope", &id.to_string());
    let users = rt.block_on(async {
        let db = Db::open(&db_path).await.unwrap();
        let mut users = Vec::new();
        for n in 0..10 {
            let (user, _) = db
                .upsert_user("wechat", &format!("openid-{n}"), None)
                .await
                .unwrap();
            let env = ring
                .encrypt(format!("session-key-{n}").as_bytes(), &aad(user.0))
                .unwrap();
            db.store_session_key(user, &env).await.unwrap();
            users.push(user);
        }
        db.close().await;
        users
    });

    // Interrupted: a new key, then only 3 of 10 re-encrypted.
    let (code, _, err) = run(&[
        "keys",
        "rotate",
        "--config",
        &config_arg,
        "--batch",
        "2",
        "--limit",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Added data key 2"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let (code, out, err) = run(&["keys", "status", "--config", &config_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("platform_session_keys.envelope\tkey 1: 7, key 2: 3"),
        "{out}"
    );
    // Key 1 is in use: retiring it fails and keeps the file.
    let before = std::fs::read_to_string(&keys).unwrap();
    let (code, _, err) = run(&["keys", "retire", "--config", &config_arg, "--id", "1"]);
    assert_ne!(code, 0);
    assert!(err.contains("still used by 7"), "{err}");
    assert_eq!(std::fs::read_to_string(&keys).unwrap(), before);

    // Resumed: no third key, every envelope under key 2.
    let (code, _, err) = run(&["keys", "rotate", "--config", &config_arg, "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Re-encrypted 7"), "{err}");
    let (_, out, _) = run(&["keys", "status", "--config", &config_arg]);
    assert!(
        out.contains("platform_session_keys.envelope\tkey 2: 10"),
        "{out}"
    );
    let (code, _, err) = run(&["keys", "retire", "--config", &config_arg, "--id", "1"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(
        text.starts_with("2:") && text.lines().count() == 1,
        "key 2 only"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The values open with the new keyring alone.
    let ring = Keyring::from_text(&text).unwrap();
    rt.block_on(async {
        let db = Db::open(&db_path).await.unwrap();
        for (n, user) in users.iter().enumerate() {
            let env = db.session_key_envelope(*user).await.unwrap().unwrap();
            let plain = ring.decrypt(&env, &aad(user.0)).unwrap();
            assert_eq!(plain.as_slice(), format!("session-key-{n}").as_bytes());
        }
        db.close().await;
    });
}
