//! `miniguard accounts create`: the password from standard input, the policy enforced, the
//! account usable by the server's data layer with its role.

use std::io::Write as _;
use std::process::{Command, Stdio};

use miniguard_server::db::Db;

fn create(
    db: &std::path::Path,
    username: &str,
    role: &str,
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(["accounts", "create", "--db"])
        .arg(db)
        .args(["--username", username, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn creates_staff_accounts_and_refuses_weak_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/miniguard.db");

    let weak = create(&db, "ops.chief", "admin", "qwertyuiop12");
    assert_eq!(weak.status.code(), Some(2), "{weak:?}");
    let stderr = String::from_utf8(weak.stderr).unwrap();
    assert!(
        stderr.contains("keyboard") || stderr.contains("common"),
        "{stderr}"
    );

    let ok = create(&db, "Ops.Chief", "admin", "violet-harbor-lantern-42");
    assert!(ok.status.success(), "{ok:?}");
    let stdout = String::from_utf8(ok.stdout).unwrap();
    assert!(
        stdout.contains("created admin account ops.chief"),
        "{stdout}"
    );
    assert!(!stdout.contains("violet"), "the password is never printed");

    let taken = create(&db, "ops.chief", "operator", "another-fine-passphrase-9");
    assert_eq!(taken.status.code(), Some(2));
    let op = create(&db, "night.shift", "operator", "another-fine-passphrase-9");
    assert!(op.status.success(), "{op:?}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let handle = Db::open(&db).await.unwrap();
        let (admin, hash) = handle.local_account("ops.chief").await.unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(handle.user_roles(admin).await.unwrap(), vec!["admin"]);
        let (oper, _) = handle.local_account("night.shift").await.unwrap().unwrap();
        assert_eq!(handle.user_roles(oper).await.unwrap(), vec!["operator"]);
        // Creating an account is an admin action: audited, the password nowhere.
        let created: Vec<_> = handle
            .audit_rows()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "account.created")
            .collect();
        assert_eq!(
            created.len(),
            2,
            "two accounts created, the taken name refused"
        );
        assert!(created[0].detail.contains("ops.chief") && created[0].detail.contains("admin"));
        assert!(
            created
                .iter()
                .all(|r| !r.detail.contains("passphrase") && !r.detail.contains("violet"))
        );
        handle.close().await;
    });
}
