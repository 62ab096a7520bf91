//! Fuzzes the `.wxapkg` reader and restorer: no input may panic, every accepted entry lies in
//! the package, and every restored name is relative and free of `.`/`..`/empty components.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_project::wxapkg::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_files: 4096,
        max_bytes: 1 << 22,
        max_name_len: 512,
    };
    // With the appid, inputs starting with `V1MMWX` go through the PC decryption as well.
    let Ok(pkg) = wxapkg::open(data.to_vec(), Some("wx0123456789abcdef"), &limits) else {
        return;
    };
    for e in pkg.entries() {
        assert_eq!(pkg.contents(e).len(), e.size as usize, "{}", e.name);
    }
    let restored = wxapkg::restore(&pkg);
    for name in restored.files.keys() {
        assert!(
            !name.starts_with('/')
                && !name.contains('\\')
                && name.split('/').all(|p| !p.is_empty() && p != "." && p != ".."),
            "unsafe restored name {name:?}"
        );
    }
});
