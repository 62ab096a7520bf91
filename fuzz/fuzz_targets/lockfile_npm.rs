//! Fuzzes the npm lockfile parser: no input may panic, and every dependency it returns must point
//! at a line that exists in the input. A NUL byte splits the input into lockfile and sibling
//! `package.json`, so one corpus also exercises the manifest-assisted path.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_deps::lockfile::{LockfileKind, parse_with_manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (lock, manifest) = match src.split_once('\0') {
        Some((l, m)) => (l, Some(m)),
        None => (src, None),
    };
    let Ok(deps) = parse_with_manifest(LockfileKind::Npm, "lock", lock, manifest) else {
        return;
    };
    // YAML also breaks lines at a lone CR: count both, an upper bound either way.
    let lines = lock.bytes().filter(|&b| b == b'\n' || b == b'\r').count() + 1;
    for d in &deps {
        assert!(
            d.line >= 1 && d.line as usize <= lines,
            "line {} of {lines}: {d:?}",
            d.line
        );
        assert_eq!(d.file, "lock");
        assert_eq!(d.chain.last(), Some(&d.name), "{d:?}");
    }
});
