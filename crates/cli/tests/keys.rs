//! `miniguard keys generate`: its line is a keyring `serve --config` accepts, and `--out` makes a
//! private file that it never overwrites by accident.

use std::process::Command;

use miniguard_crypto::{KeyId, Keyring};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    // The tests read English output, whatever the machine's locale.
    c.env("LC_ALL", "C");
    c
}

#[test]
fn prints_a_keyring_line_and_how_to_use_it() {
    let out = bin().args(["keys", "generate"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the line on stdout: {stdout:?}"
    );
    let ring = Keyring::from_text(&stdout).expect("the line parses as a keyring");
    assert_eq!(ring.current_id(), KeyId(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("data_keys_env"), "{stderr}");
    assert!(stderr.contains("data_keys_file"), "{stderr}");
    assert!(stderr.contains("0600"), "{stderr}");

    let again = bin()
        .args(["keys", "generate", "--id", "7"])
        .output()
        .unwrap();
    let again = String::from_utf8(again.stdout).unwrap();
    assert!(again.starts_with("7:"));
    assert_ne!(again[2..], stdout[2..], "every key is fresh");
    // Two lines together are a rotated keyring.
    let rotated = Keyring::from_text(&format!("{},{}", stdout.trim(), again.trim())).unwrap();
    assert_eq!(rotated.current_id(), KeyId(7));
}

#[test]
fn out_writes_a_0600_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data-keys");
    let out = bin()
        .args(["keys", "generate", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "the key is not printed with --out");
    let first = std::fs::read_to_string(&path).unwrap();
    Keyring::from_text(&first).expect("the file parses as a keyring");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let refused = bin()
        .args(["keys", "generate", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "untouched");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let forced = bin()
        .args(["keys", "generate", "--force", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(forced.status.success(), "{forced:?}");
    let second = std::fs::read_to_string(&path).unwrap();
    assert_ne!(second, first);
    Keyring::from_text(&second).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a replaced file is private again");
    }
}
