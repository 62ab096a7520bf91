//! Issue 12: a database of many large records (each just under the per-record limit) held
//! every record in full until all were parsed, on `db update` and on every load. Each record
//! is now compacted as soon as it is parsed. One test in its own binary, so that the peak
//! memory it reads is its own.

use std::io::{Cursor, Write};
use std::path::Path;

use miniguard_deps::db::{self, AdvisoryDb};

const RECORDS: usize = 200;
/// Just under the default per-record limit of 1 MiB.
const DETAILS: usize = 900 * 1024;

fn record(i: usize) -> String {
    // Text that is not one repeated byte, as real details are not.
    let mut details = String::with_capacity(DETAILS + 64);
    let mut n = i as u64 + 1;
    while details.len() < DETAILS {
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        details.push_str(["step ", "then ", "call ", "the ", "value "][(n >> 60) as usize % 5]);
    }
    serde_json::json!({
        "id": format!("GHSA-test-{i:04}"),
        "modified": "2026-01-01T00:00:00Z",
        "summary": format!("advisory {i}"),
        "details": details,
        "affected": [{
            "package": {"ecosystem": "npm", "name": format!("pkg{i}")},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}],
            "ecosystem_specific": {"notes": "x".repeat(1000)},
        }],
        "references": [{"type": "WEB", "url": format!("https://example.invalid/{i}")}],
    })
    .to_string()
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak to the current size (Linux 4.0 and later); false if it cannot.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The compact size of the loaded records: what they would take written out as JSON.
fn compact_bytes(db: &AdvisoryDb) -> usize {
    db.records()
        .iter()
        .map(|r| serde_json::to_vec(r).expect("json").len())
        .sum()
}

fn check_loaded(db: &AdvisoryDb, what: &str) {
    assert_eq!(db.records().len(), RECORDS, "{what}");
    assert_eq!(db.matches("pkg7", "0.9.0").len(), 1, "{what}");
    let size = compact_bytes(db);
    // About 300 bytes a record, against 900 KiB as written.
    assert!(size < RECORDS * 1024, "{what}: {size} bytes in memory");
}

/// Measures the peak memory growth of `f` in MiB, where the platform tells.
fn peak_growth_mib(f: impl FnOnce()) -> Option<u64> {
    let measured = reset_peak();
    let before = peak_kib();
    f();
    let after = peak_kib();
    let grew = match (measured, before, after) {
        (true, Some(b), Some(a)) => Some(a.saturating_sub(b) / 1024),
        _ => None,
    };
    eprintln!("peak grew by {grew:?} MiB");
    grew
}

#[test]
fn many_large_records_load_one_at_a_time() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let records = dir.path().join("records");
    std::fs::create_dir(&records).expect("mkdir");
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..RECORDS {
        let text = record(i);
        assert!(text.len() < 1024 * 1024);
        std::fs::write(records.join(format!("GHSA-test-{i:04}.json")), &text).expect("write");
        zip.start_file(format!("GHSA-test-{i:04}.json"), options)
            .expect("zip");
        zip.write_all(text.as_bytes()).expect("zip");
    }
    let zip_path = dir.path().join("all.zip");
    std::fs::write(&zip_path, zip.finish().expect("zip").into_inner()).expect("write zip");
    // 180 MB of records as written; every record in full took at least that much at once.
    let limit_mib = 64;

    let mut loaded = None;
    let grew = peak_growth_mib(|| loaded = Some(AdvisoryDb::load(&records).expect("load dir")));
    check_loaded(&loaded.take().expect("db"), "directory");
    if let Some(mib) = grew {
        assert!(
            mib < limit_mib,
            "loading the directory grew the peak by {mib} MiB"
        );
    }

    let grew = peak_growth_mib(|| loaded = Some(AdvisoryDb::load(&zip_path).expect("load zip")));
    check_loaded(&loaded.take().expect("db"), "zip");
    if let Some(mib) = grew {
        assert!(
            mib < limit_mib,
            "loading the zip grew the peak by {mib} MiB"
        );
    }

    let cache = dir.path().join("cache.zip");
    let from = zip_path.to_str().expect("utf-8 path");
    let grew = peak_growth_mib(|| {
        let info = db::update(from, Path::new(&cache)).expect("update");
        assert_eq!(info.records, RECORDS);
    });
    if let Some(mib) = grew {
        assert!(mib < limit_mib, "db update grew the peak by {mib} MiB");
    }
    assert!(started.elapsed() < std::time::Duration::from_mins(1));
}
