//! `miniguard serve --dev` and `miniguard audit-log verify` as a user runs them: the server
//! starts on a loopback port, says where it is, and stops cleanly on SIGTERM; the verifier exits
//! 0 on an intact log and 1 on a file edited behind the server's back.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use miniguard_server::db::Db;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    // The tests read English output, whatever the machine's locale.
    c.env("LC_ALL", "C");
    c
}

fn verify(db: &Path) -> (i32, String) {
    let out = bin()
        .args(["audit-log", "verify", "--db"])
        .arg(db)
        .output()
        .expect("run miniguard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn audit_log_verify_exits_1_after_the_file_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("miniguard.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Db::open(&path).await.unwrap();
        for who in ["alice", "bob", "carol"] {
            db.append_audit("system", "test.entry", &serde_json::json!({ "who": who }))
                .await
                .unwrap();
        }
        // Closing checkpoints the WAL into the main file.
        db.close().await;
    });
    let (code, out) = verify(&path);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 3 entries"), "{out}");

    // Edit the file in place, as someone with disk access would: "bob" becomes "eve".
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(11)
        .position(|w| w == br#"{"who":"bob"#)
        .expect("the detail is in the file");
    bytes[at + 8..at + 11].copy_from_slice(b"eve");
    std::fs::write(&path, bytes).unwrap();
    let (code, out) = verify(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("row 2"), "{out}");

    let (code, _) = verify(&dir.path().join("missing.db"));
    assert_eq!(code, 2);
}

#[cfg(unix)]
#[test]
fn serve_dev_reports_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
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
    let mut printed = Vec::new();
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("serve --dev prints its address");
        if let Some(rest) = line.trim().strip_prefix("listening") {
            break rest.trim().to_owned();
        }
        printed.push(line);
    };
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let addr = url.trim_start_matches("https://");
    std::net::TcpStream::connect(addr).expect("the server accepts connections");
    let rest: Vec<String> = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(5)).ok())
        .take_while(|l| !l.starts_with("Stop with"))
        .collect();
    let text = rest.join("\n");
    assert!(text.contains("SHA-256"), "{text}");
    assert!(
        text.contains("fake WeChat API   http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains(r#"-d '{"code":"dev:alice"}'"#), "{text}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM to our own child");
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    assert!(
        dir.path().join("miniguard.db").exists(),
        "--data-dir is kept"
    );
}

/// Regression (round 2, item 6): deleting the tail and lowering `sqlite_sequence` passed
/// `audit-log verify`. With the key and an anchor exported before, it fails; the anchor of an
/// intact chain verifies.
#[test]
fn audit_log_anchor_then_verify_finds_a_cut_off_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("miniguard.db");
    let key_file = dir.path().join("audit-key");
    let out = bin()
        .args(["audit-log", "keygen", "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = miniguard_server::audit::AuditKey::from_file(&key_file).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Db::open(&path).await.unwrap();
        db.use_audit_key(key).await.unwrap();
        for i in 0..5 {
            db.append_audit("system", "test.entry", &serde_json::json!({ "i": i }))
                .await
                .unwrap();
        }
        db.close().await;
    });
    let run = |args: &[&str]| {
        let out = bin()
            .args(args)
            .arg("--db")
            .arg(&path)
            .arg("--key-file")
            .arg(&key_file)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let anchor = dir.path().join("head.json");
    let anchor_arg = anchor.to_str().unwrap();
    let (code, out, err) = run(&["audit-log", "anchor", "-o", anchor_arg]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&["audit-log", "verify", "--anchor", anchor_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("matches the anchor at entry 5"), "{out}");
    // Without the key, keyed entries cannot be checked: an error, not "intact".
    let (code, _) = verify(&path);
    assert_eq!(code, 2);

    rt.block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(
            "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_no_rewind;
             DELETE FROM audit_log WHERE id > 3;
             UPDATE audit_head SET issued = 3;",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
    let (code, out, err) = run(&["audit-log", "verify", "--anchor", anchor_arg]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("cut off"), "{out}");
}

/// `serve --database-url` with a scheme this build does not speak, or a PostgreSQL server that
/// is not there: a clear error and exit 2 (an error, as everywhere in the CLI) before listening,
/// the password never printed.
#[test]
fn serve_refuses_an_unknown_database_url_and_names_an_unreachable_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |url: &str| {
        let out = bin()
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--database-url", url])
            .env_remove("MINIGUARD_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("run miniguard");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run("mysql://mg:hunter2@127.0.0.1/mg");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("unknown scheme \"mysql\""), "{err}");
    assert!(err.contains("postgres://"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!out.contains("listening"), "{out}");

    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let (code, out, err) = run("postgres://mg:hunter2@127.0.0.1:1/mg");
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("cannot connect to the database at postgres://mg:***@127.0.0.1:1/mg"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!out.contains("listening"), "{out}");

    // The variable does the same as the flag.
    let out = bin()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("MINIGUARD_DATABASE_URL", "redis://127.0.0.1/0")
        .stdin(Stdio::null())
        .output()
        .expect("run miniguard");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown scheme \"redis\""), "{err}");
}
