//! `miniguard roles grant|revoke|list` (issue 14: granting a role needed `sqlite3`): changes the
//! `user_roles` the data API reads, audits each change, refuses a missing database (without
//! creating one), an unknown user and a name no rule could refer to.

use std::path::Path;
use std::process::{Command, Output};

use miniguard_server::db::{Db, UserId};

fn roles(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .arg("roles")
        .arg(args[0])
        .arg("--db")
        .arg(db)
        .args(&args[1..])
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn grants_lists_and_revokes_roles_with_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("miniguard.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // A missing database is an error and is not created.
    let missing = roles(&db_path, &["grant", "--user", "1", "staff"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("no database"), "{}", text(&missing));
    assert!(!db_path.exists());

    // A mini-program user, as its first login creates it.
    let user = rt.block_on(async {
        let db = Db::open(&db_path).await.unwrap();
        let user = db.upsert_user("wechat", "o-sam", None).await.unwrap().0;
        db.close().await;
        user
    });
    let id = user.0.to_string();

    let granted = roles(&db_path, &["grant", "--user", &id, "staff"]);
    assert!(granted.status.success(), "{}", text(&granted));
    assert!(text(&granted).contains(&format!("granted staff to user {id}")));
    let again = roles(&db_path, &["grant", "--user", &id, "staff"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already has staff"),
        "{}",
        text(&again)
    );
    assert!(
        roles(&db_path, &["grant", "--user", &id, "admin"])
            .status
            .success()
    );

    let list = roles(&db_path, &["list"]);
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.lines().next().unwrap().contains("admin"), "{listed}");
    assert!(
        listed.contains("wechat") && listed.contains("staff"),
        "{listed}"
    );

    let revoked = roles(&db_path, &["revoke", "--user", &id, "admin"]);
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(text(&revoked).contains(&format!("revoked admin from user {id}")));
    let not_held = roles(&db_path, &["revoke", "--user", &id, "admin"]);
    assert!(not_held.status.success());
    assert!(text(&not_held).contains("does not have admin"));

    // Refused: an unknown user, a name `role:NAME` could not refer to.
    let unknown = roles(&db_path, &["grant", "--user", "999", "staff"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("no user with id 999"),
        "{}",
        text(&unknown)
    );
    let bad = roles(&db_path, &["grant", "--user", &id, "role:staff"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("role name"), "{}", text(&bad));

    rt.block_on(async {
        let db = Db::open(&db_path).await.unwrap();
        // What the data API reads.
        assert_eq!(db.user_roles(UserId(user.0)).await.unwrap(), vec!["staff"]);
        // Each change once in the audit log, no-ops not at all; the chain is intact.
        let actions: Vec<(String, String)> = db
            .audit_rows()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action.starts_with("role."))
            .map(|r| (r.action, r.actor))
            .collect();
        assert_eq!(
            actions,
            [
                ("role.granted".to_owned(), "cli".to_owned()),
                ("role.granted".to_owned(), "cli".to_owned()),
                ("role.revoked".to_owned(), "cli".to_owned()),
            ]
        );
        assert!(db.verify_audit().await.unwrap().is_intact());
        db.close().await;
    });
}
