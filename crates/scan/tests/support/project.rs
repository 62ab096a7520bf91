//! A project written to a fresh folder and scanned with every rule, for tests that assert on
//! the findings of a few files.

use std::path::Path;

use miniguard_project::{DiscoverOptions, discover};
use miniguard_report::Finding;

/// A project made of `files` (path, content) in a fresh directory.
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }
    dir
}

/// The findings of every rule on the project in `dir`, one job.
pub fn scan(dir: &Path) -> Vec<Finding> {
    let project = discover(dir, &DiscoverOptions::default()).expect("discovers");
    let out = miniguard_scan::scan(&project, miniguard_scan::rules::all(), Some(1), &|_| {})
        .expect("scan");
    out.findings
}
