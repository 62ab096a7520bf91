//! The advisory database end to end: loading (directory, zip, embedded snapshot), matching with
//! tricky OSV ranges, and `db update` from a file and over HTTP (127.0.0.1 only), including the
//! failures that must leave the previous cache usable.

use std::io::{Cursor, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use miniguard_deps::db::{self, AdvisoryDb, DbError, DbSource, Limits};
use miniguard_deps::semver::Version;
use miniguard_report::Severity;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv")
}

/// A zip of `(name, contents)` entries, deflated as in the OSV export.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The fixture directory as an `all.zip`.
fn fixture_zip() -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    zip_of(&refs)
}

fn ids(db: &AdvisoryDb, name: &str, version: &str) -> Vec<String> {
    db.matches(name, version)
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

/// (package, version, expected advisory ids).
const MATCHES: &[(&str, &str, &[&str])] = &[
    // Prerelease bounds: introduced 2.0.0-alpha.1, fixed 2.0.0-beta.3.
    ("pre-pkg", "2.0.0-alpha.0", &[]),
    ("pre-pkg", "2.0.0-alpha.1", &["TEST-PRE-1"]),
    ("pre-pkg", "2.0.0-beta.2", &["TEST-PRE-1"]),
    ("pre-pkg", "2.0.0-beta.3", &[]),
    ("pre-pkg", "2.0.0", &[]),
    ("pre-pkg", "1.9.9", &[]),
    // last_affected inclusive, events given out of order; a second range with two intervals.
    ("last-pkg", "0.9.0", &[]),
    ("last-pkg", "1.0.0", &["TEST-LAST-1"]),
    ("last-pkg", "1.4.2", &["TEST-LAST-1"]),
    ("last-pkg", "1.4.3-rc.1", &[]),
    ("last-pkg", "1.4.3", &[]),
    ("last-pkg", "3.0.5", &["TEST-LAST-1"]),
    ("last-pkg", "3.1.0", &[]),
    ("last-pkg", "3.1.9", &[]),
    ("last-pkg", "3.2.4", &["TEST-LAST-1"]),
    ("last-pkg", "3.2.5", &[]),
    // Explicit versions list only; loose spelling of an installed version.
    ("listed-pkg", "0.8.0", &["TEST-VERSIONS-1"]),
    ("listed-pkg", "v0.8.0", &["TEST-VERSIONS-1"]),
    ("listed-pkg", "0.8.1", &[]),
    // introduced 0 without an end: every version, prereleases included.
    ("@scope/other", "0.0.1-dev", &["TEST-VERSIONS-1"]),
    ("@scope/other", "99.0.0", &["TEST-VERSIONS-1"]),
    // Unknown packages and unparsable versions match nothing.
    ("unknown-pkg", "1.0.0", &[]),
    ("last-pkg", "not-a-version", &[]),
];

fn check_matches(db: &AdvisoryDb) {
    for &(name, version, want) in MATCHES {
        assert_eq!(ids(db, name, version), want, "{name}@{version}");
    }
}

fn assert_fixture_db(db: &AdvisoryDb) {
    // The PyPI record is dropped; the withdrawn record is loaded but never matches.
    assert_eq!(db.records().len(), 4);
    check_matches(db);
    let now = UNIX_EPOCH + Duration::from_hours(19_906 * 24); // 2024-07-01 (day 19905) + 1 day
    let info = db.info_at(now);
    assert_eq!(info.records, 4);
    assert_eq!(info.packages, 4);
    assert_eq!(
        info.newest_modified.as_deref(),
        Some("2024-07-01T00:00:00Z")
    );
    assert_eq!(info.age_days, Some(1));
}

#[test]
fn loads_an_osv_directory() {
    let db = AdvisoryDb::load(&fixtures()).unwrap();
    assert_eq!(db.source(), &DbSource::Path(fixtures()));
    assert_fixture_db(&db);
}

#[test]
fn loads_an_osv_zip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    std::fs::write(&path, fixture_zip()).unwrap();
    assert_fixture_db(&AdvisoryDb::load(&path).unwrap());
}

#[test]
fn severity_cwe_and_fixes() {
    let db = AdvisoryDb::load(&fixtures()).unwrap();
    let find = |id: &str| db.records().iter().find(|r| r.id == id).unwrap();
    let last = find("TEST-LAST-1");
    assert_eq!(last.severity_level(), Some(Severity::Critical)); // CVSS 9.8 from the vector
    assert_eq!(
        last.fixed_versions("last-pkg"),
        [Version::new(3, 1, 0), Version::new(3, 2, 5)]
    );
    assert_eq!(
        last.smallest_fixed_above("last-pkg", &Version::parse("3.2.1").unwrap()),
        Some(Version::new(3, 2, 5))
    );
    assert_eq!(
        last.smallest_fixed_above("last-pkg", &Version::parse("3.2.5").unwrap()),
        None
    );
    let pre = find("TEST-PRE-1");
    assert_eq!(pre.severity_level(), Some(Severity::Medium));
    assert_eq!(pre.cwe_ids(), ["CWE-79"]);
    assert_eq!(
        find("TEST-VERSIONS-1").severity_level(),
        Some(Severity::Critical)
    );
    assert_eq!(find("TEST-WITHDRAWN-1").severity_level(), None);
}

// ---------------------------------------------------------------------------------------------
// Updates

/// A cache holding a valid database, as a previous update would have left it.
fn old_cache(dir: &Path) -> (PathBuf, Vec<u8>) {
    let only = std::fs::read(fixtures().join("TEST-PRE-1.json")).unwrap();
    let bytes = zip_of(&[("TEST-PRE-1.json", &only)]);
    let cache = dir.join("cache/miniguard/advisories.zip");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, &bytes).unwrap();
    (cache, bytes)
}

/// The old cache is byte for byte unchanged, loads, and no temporary file was left beside it.
fn assert_intact(cache: &Path, bytes: &[u8]) {
    assert_eq!(std::fs::read(cache).unwrap(), bytes);
    let db = AdvisoryDb::open(Some(cache)).unwrap();
    assert_eq!(db.records().len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(cache.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "advisories.zip")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn update_from_a_local_zip_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _) = old_cache(dir.path());
    let from = dir.path().join("all.zip");
    std::fs::write(&from, fixture_zip()).unwrap();
    let info = db::update(from.to_str().unwrap(), &cache).unwrap();
    assert_eq!(info.records, 4);
    assert_eq!(info.source, DbSource::Path(cache.clone()));
    let db = AdvisoryDb::open(Some(&cache)).unwrap();
    check_matches(&db);
    // A fresh cache directory is created on first update.
    let fresh = dir.path().join("new/dir/advisories.zip");
    db::update(from.to_str().unwrap(), &fresh).unwrap();
    assert!(fresh.is_file());
}

#[test]
fn open_falls_back_to_the_embedded_snapshot_without_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let db = AdvisoryDb::open(Some(&dir.path().join("absent.zip"))).unwrap();
    assert_eq!(db.source(), &DbSource::Embedded);
}

#[test]
fn rejected_updates_leave_the_old_cache_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, old) = old_cache(dir.path());
    let good = fixture_zip();
    let pypi = std::fs::read(fixtures().join("PYSEC-TEST-1.json")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"this is not a zip".to_vec()),
        ("truncated zip", good[..good.len() / 2].to_vec()),
        ("empty zip", zip_of(&[])),
        (
            "entry that is not OSV",
            zip_of(&[("x.json", br#"{"name": "not a record"}"#)]),
        ),
        ("no npm record", zip_of(&[("PYSEC-TEST-1.json", &pypi)])),
    ];
    for (what, bytes) in cases {
        let from = dir.path().join(format!("{what}.zip"));
        std::fs::write(&from, &bytes).unwrap();
        let err = db::update(from.to_str().unwrap(), &cache).unwrap_err();
        eprintln!("{what}: {err}");
        assert_intact(&cache, &old);
    }
    let missing = db::update(dir.path().join("nope.zip").to_str().unwrap(), &cache);
    assert!(matches!(missing, Err(DbError::Read { .. })));
    assert_intact(&cache, &old);
}

#[test]
fn archive_limits_stop_bombs() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, old) = old_cache(dir.path());
    // 8 MiB of spaces after a valid record: compresses to a few KiB.
    let mut padded = std::fs::read(fixtures().join("TEST-PRE-1.json")).unwrap();
    padded.resize(8 << 20, b' ');
    let bomb = zip_of(&[("TEST-PRE-1.json", &padded)]);
    assert!(bomb.len() < 64 << 10);
    let from = dir.path().join("bomb.zip");
    std::fs::write(&from, &bomb).unwrap();
    let small = Limits {
        max_entry_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = db::update_with(from.to_str().unwrap(), &cache, &small).unwrap_err();
    assert!(matches!(err, DbError::TooLarge { .. }), "{err}");
    let total = Limits {
        max_uncompressed_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = db::update_with(from.to_str().unwrap(), &cache, &total).unwrap_err();
    assert!(matches!(err, DbError::TooLarge { .. }), "{err}");
    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    std::fs::write(&from, fixture_zip()).unwrap();
    let err = db::update_with(from.to_str().unwrap(), &cache, &few).unwrap_err();
    assert!(matches!(err, DbError::TooManyEntries { max: 2 }), "{err}");
    let tiny = Limits {
        max_archive_bytes: 100,
        ..Limits::default()
    };
    let err = db::update_with(from.to_str().unwrap(), &cache, &tiny).unwrap_err();
    assert!(matches!(err, DbError::TooLarge { .. }), "{err}");
    assert_intact(&cache, &old);
}

/// Serves one HTTP response on 127.0.0.1 and returns the URL to fetch.
fn serve_once(head: String, body: Vec<u8>) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
        let _ = stream.flush();
    });
    (format!("http://{addr}/npm/all.zip"), handle)
}

fn ok_head(len: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn update_over_http_from_a_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _) = old_cache(dir.path());
    let body = fixture_zip();
    let (url, server) = serve_once(ok_head(body.len()), body);
    let info = db::update(&url, &cache).unwrap();
    server.join().unwrap();
    assert_eq!(info.records, 4);
    check_matches(&AdvisoryDb::open(Some(&cache)).unwrap());
}

#[test]
fn a_truncated_download_leaves_the_old_cache_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, old) = old_cache(dir.path());
    let body = fixture_zip();
    // The server promises the whole archive and hangs up halfway.
    let (url, server) = serve_once(ok_head(body.len()), body[..body.len() / 2].to_vec());
    let err = db::update(&url, &cache).unwrap_err();
    server.join().unwrap();
    eprintln!("truncated: {err}");
    assert_intact(&cache, &old);

    let (url, server) = serve_once(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        Vec::new(),
    );
    let err = db::update(&url, &cache).unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, DbError::Download { .. }), "{err}");
    assert_intact(&cache, &old);

    // Plain http anywhere but loopback is refused before any connection.
    let err = db::update("http://example.invalid/all.zip", &cache).unwrap_err();
    assert!(matches!(err, DbError::InsecureUrl(_)), "{err}");
    assert_intact(&cache, &old);
}

// ---------------------------------------------------------------------------------------------
// The embedded snapshot

#[test]
fn embedded_snapshot_finds_known_advisories() {
    let started = SystemTime::now();
    let db = AdvisoryDb::embedded().unwrap();
    eprintln!(
        "embedded snapshot: {} records, {} packages, loaded in {:?}",
        db.records().len(),
        db.info().packages,
        started.elapsed().unwrap_or_default()
    );
    assert!(db.records().len() > 500);
    let lodash = db.matches("lodash", "4.17.11");
    assert!(
        lodash.iter().any(|r| r
            .summary
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("prototype pollution"))),
        "lodash 4.17.11: {:?}",
        lodash.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    for (name, version) in [
        ("minimist", "0.0.8"),
        ("axios", "0.21.0"),
        ("jsonwebtoken", "8.5.1"),
        ("jquery", "1.8.0"),
    ] {
        let found = db.matches(name, version);
        assert!(!found.is_empty(), "{name}@{version}: nothing found");
        assert!(
            found.iter().all(|r| r.severity_level().is_some()),
            "{name}@{version}: a record without severity"
        );
    }
    // lodash 4.17.21 fixed every lodash advisory of 2018-2021. The retire.js data also carries
    // a 2025/2026 prototype-pollution advisory (GHSA-f23m-r3pf-42rh, CVE-2025-13465, fixed in
    // 4.18.0), so 4.17.21 is not clean any more; only advisories fixed after it may match, and
    // the release that fixes them matches nothing.
    let installed = Version::new(4, 17, 21);
    for r in db.matches("lodash", "4.17.21") {
        let fix = r.smallest_fixed_above("lodash", &installed);
        assert!(
            fix.as_ref().is_none_or(|f| *f > Version::new(4, 17, 22)),
            "lodash 4.17.21 matched {} (fixed in {fix:?})",
            r.id
        );
        for old in [
            "GHSA-35jh-r3h4-6jhm",
            "GHSA-29mw-wpgm-hmr9",
            "GHSA-p6mc-m468-83gw",
        ] {
            assert_ne!(r.id, old);
        }
    }
    assert_eq!(ids(&db, "lodash", "4.18.0"), Vec::<String>::new());
    let info = db.info();
    assert_eq!(info.source, DbSource::Embedded);
    assert!(info.newest_modified.is_some());
}

/// Issue 12: a small zip of huge records used 4 GB before it was refused, and a slightly
/// smaller one was accepted and then loaded by every scan. The default limits refuse a record
/// over 1 MiB, and what is kept of a loaded record is what the audit reads.
#[test]
fn huge_records_are_refused_by_default_and_kept_small_when_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, bytes) = old_cache(dir.path());
    let mut huge: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("TEST-PRE-1.json")).unwrap())
            .unwrap();
    huge["details"] = serde_json::Value::String("x".repeat(2 << 20));
    let from = dir.path().join("huge.zip");
    std::fs::write(
        &from,
        zip_of(&[("HUGE.json", serde_json::to_vec(&huge).unwrap().as_slice())]),
    )
    .unwrap();
    let err = db::update(from.to_str().unwrap(), &cache).unwrap_err();
    assert!(matches!(err, DbError::TooLarge { .. }), "{err}");
    assert_intact(&cache, &bytes);

    huge["details"] = serde_json::Value::String("x".repeat(512 << 10));
    huge["references"] = serde_json::json!([{"type": "WEB", "url": "https://example.invalid/a"}]);
    std::fs::write(
        &from,
        zip_of(&[("BIG.json", serde_json::to_vec(&huge).unwrap().as_slice())]),
    )
    .unwrap();
    let db = AdvisoryDb::load(&from).unwrap();
    let r = &db.records()[0];
    assert!(r.details.is_none() && r.references.is_empty());
    assert!(r.severity_level().is_some());
}

/// Issue 12: `--db DIR` with folders linking to themselves was walked once per path
/// (4^16 folders); links are not followed.
#[cfg(unix)]
#[test]
fn a_db_folder_with_self_links_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("osv");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(
        fixtures().join("TEST-PRE-1.json"),
        root.join("TEST-PRE-1.json"),
    )
    .unwrap();
    for name in ["a", "b", "c", "d"] {
        std::os::unix::fs::symlink(&root, root.join(name)).unwrap();
    }
    let db = AdvisoryDb::load(&root).unwrap();
    assert_eq!(db.records().len(), 1);
}

/// Issue 12: `db update` interrupted by SIGINT left its temporary file; the handler of the
/// `db` command calls `remove_temp_files`, which removes this process's temporary files and
/// nothing else.
#[test]
fn temporary_files_of_an_interrupted_update_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("advisories.zip");
    let ours = dir
        .path()
        .join(format!(".advisories.zip.{}.123.0.tmp", std::process::id()));
    let other = dir.path().join(".advisories.zip.1.123.0.tmp");
    std::fs::write(&ours, b"partial").unwrap();
    std::fs::write(&other, b"someone else's").unwrap();
    std::fs::write(&cache, b"old").unwrap();
    db::remove_temp_files(&cache);
    assert!(!ours.exists());
    assert!(other.exists());
    assert_eq!(std::fs::read(&cache).unwrap(), b"old");
}
