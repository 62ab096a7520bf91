//! `miniguard backup` and the restore of docs/operations.md, end to end: `serve --dev
//! --data-dir` takes signed writes from several clients while `miniguard backup` copies its
//! SQLite database; the server is stopped, the backup put in place of the database (the old
//! `-wal` and `-shm` files removed), `audit-log verify` checks it, and the server started on it
//! has every record whose write was acknowledged before the backup began.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

#[allow(dead_code)]
#[path = "support/serve.rs"]
mod serve;
use serve::{client, login, signed, start};

const CONFIG: &str = r#"
[collections.notes]
fields = { n = "int", text = "string(1..200) encrypted", owner = "owner" }
read = "true"
write = "owner"
delete = "owner"
"#;

const WRITERS: usize = 3;
const ACKED_BEFORE_BACKUP: usize = 30;

fn miniguard(args: &[&str]) -> (i32, String, String) {
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
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn backup_taken_under_write_load_restores_every_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("miniguard.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let db = data.join("miniguard.db");
    let backup = dir.path().join("backup.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut child, url) = start(&data, &config, None);
    let client = client(&data);
    let session = rt.block_on(login(&client, &url));

    // Writers loop until the server goes away; each acknowledged write is reported.
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
                    // The per-account write limit: back off, as a client would.
                    Ok((429, _)) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Ok((status, body)) => panic!("write answered {status}: {body}"),
                    Err(_) => return,
                }
                n += 1;
            }
        }));
    }
    drop(acked_tx);

    let mut before = Vec::new();
    while before.len() < ACKED_BEFORE_BACKUP {
        before.push(
            acked_rx
                .recv_timeout(Duration::from_mins(2))
                .expect("writes are acknowledged"),
        );
    }
    // Everything acknowledged up to now must be in the backup; the writers keep going.
    before.extend(acked_rx.try_iter());
    let (code, _, err) = miniguard(&["backup", "--db", &arg(&db), "--out", &arg(&backup)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("backed up"), "{err}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup is private");
    }
    // Writes acknowledged while the backup ran, so the copy really was taken under load.
    let during = acked_rx.try_iter().count();

    // A second backup to the same name is refused and leaves the first alone.
    let first = std::fs::read(&backup).unwrap();
    let (code, _, err) = miniguard(&["backup", "--db", &arg(&db), "--out", &arg(&backup)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&backup).unwrap(), first);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Stop the server (SIGTERM, its clean shutdown), then the writers see it gone.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
    for w in writers {
        rt.block_on(w).expect("writers end without panicking");
    }
    let after = acked_rx.try_iter().count();

    // Restore as docs/operations.md says: the old WAL and shared-memory files go, the backup
    // takes the database's place.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("miniguard.db{suffix}")));
    }
    std::fs::copy(&backup, &db).unwrap();
    let (code, out, err) = miniguard(&[
        "audit-log",
        "verify",
        "--db",
        &arg(&db),
        "--key-file",
        &arg(&data.join("dev-audit-key")),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit log intact"), "{out}");

    let (mut child, url) = start(&data, &config, None);
    let client = self::client(&data);
    rt.block_on(async {
        for (number, text, id) in &before {
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
            assert_eq!(
                status, 200,
                "record {id} ({number}) acknowledged before the backup is missing: {body} \
                 ({during} writes during the backup, {after} after)"
            );
            assert_eq!(body["n"], *number);
            assert_eq!(body["text"], text.as_str());
        }
        // The restored server takes writes.
        let (status, body) = signed(
            &client,
            &url,
            &session,
            "POST",
            "/v1/collections/notes/records",
            Some(&json!({ "n": -1, "text": "after the restore" })),
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn backup_refuses_postgres_and_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("miniguard.toml");
    std::fs::write(
        &config,
        r#"
[server]
listen = "127.0.0.1:8443"
database_url = "postgres://mg:hunter2@db.internal:5432/mg"
data_keys_file = "keys.txt"
[server.tls]
cert = "cert.pem"
key = "key.pem"
[server.wechat]
appid = "wx0123"
secret_file = "secret.txt"
"#,
    )
    .unwrap();
    let out = dir.path().join("b.db");
    let (code, _, err) = miniguard(&["backup", "--config", &arg(&config), "--out", &arg(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!err.contains("hunter2"), "the password is not shown: {err}");
    assert!(!out.exists());

    let (code, _, err) = miniguard(&[
        "backup",
        "--db",
        &arg(&dir.path().join("none.db")),
        "--out",
        &arg(&out),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no SQLite database"), "{err}");
    assert!(!out.exists());
}

/// docs/operations.md names only commands and flags this build has (each `miniguard ...` in code
/// spans and blocks is checked against its `--help`), and its `[server]` example parses with
/// the server's own settings type, which refuses unknown keys.
#[test]
fn operations_doc_names_existing_commands_flags_and_settings() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md"),
    )
    .unwrap();
    let mut helps = std::collections::HashMap::<Vec<String>, String>::new();
    let mut checked = 0;
    // Odd pieces between backticks are code (inline spans and fenced blocks alike).
    for code in doc.split('`').skip(1).step_by(2) {
        for (at, _) in code.match_indices("miniguard ") {
            if code[..at].ends_with(['/', '-', '_', '.']) {
                continue;
            }
            let words: Vec<&str> = code[at + "miniguard ".len()..]
                .split(['\n', '|', ';'])
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            let path: Vec<String> = words
                .iter()
                .take_while(|w| {
                    !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .take(2)
                .map(|w| (*w).to_owned())
                .collect();
            if path.is_empty() || words.first().is_some_and(|w| w.starts_with('<')) {
                continue;
            }
            let help = helps.entry(path.clone()).or_insert_with(|| {
                let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
                args.push("--help");
                let (code, out, err) = miniguard(&args);
                assert_eq!(
                    code,
                    0,
                    "`miniguard {}` in docs/operations.md: {err}",
                    path.join(" ")
                );
                out
            });
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                let flag = flag
                    .split('=')
                    .next()
                    .unwrap()
                    .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                assert!(
                    help.contains(flag),
                    "docs/operations.md: `miniguard {}` has no {flag}",
                    path.join(" ")
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 15,
        "only {checked} flags found: is the parsing still right?"
    );

    let example = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml example");
    let settings = format!("{example}\n[server.wechat]\nappid = \"wx0\"\nsecret_env = \"X\"\n");
    miniguard_server::config::ServerSettings::from_toml(&settings)
        .unwrap_or_else(|e| panic!("the [server] example of docs/operations.md: {e}"));
}
