//! Content heuristics and the name tables discovery decides by.

use std::collections::BTreeSet;
use std::path::Path;

use crate::Role;
use crate::json::JsonNode;

/// How much of a file the binary and minified checks look at.
pub(crate) const SNIFF_LEN: u64 = 64 * 1024;
/// A NUL byte in this many leading bytes marks a file as binary (git's rule).
const BINARY_SNIFF_LEN: usize = 8 * 1024;
/// A file is minified when some line is longer than this...
const MINIFIED_MAX_LINE: usize = 1000;
/// ...and the average line is longer than this.
const MINIFIED_AVG_LINE: usize = 300;

/// Folders of installed third-party code, skipped unless `include_vendor`.
pub(crate) const VENDOR_DIRS: &[&str] = &[
    "node_modules",
    "miniprogram_npm",
    "bower_components",
    "jspm_packages",
];

/// Lockfiles: never analysed as source (the dependency auditor reads them), listed in
/// `Project::lockfiles`.
pub(crate) const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
];

/// Dependencies that make a package a cloud function.
pub(crate) const CLOUD_SDKS: &[&str] = &[
    "wx-server-sdk",
    "@cloudbase/node-sdk",
    "tcb-admin-node",
    "tcb-router",
    // Alipay cloud development (`mini.project.json` `cloudbaseRoot`, `cloud/functions/*`).
    "@alipay/faas-server-sdk",
];

/// Dependencies that make a package a Node backend.
pub(crate) const SERVER_FRAMEWORKS: &[&str] = &[
    "express",
    "koa",
    "egg",
    "@nestjs/core",
    "fastify",
    "hapi",
    "@hapi/hapi",
    "@koa/router",
    "koa-router",
    "midway",
    "@midwayjs/core",
    "@midwayjs/koa",
    "thinkjs",
    "restify",
];

/// Folder names that mean "backend code" when no root says otherwise.
pub(crate) const SERVER_DIR_NAMES: &[&str] = &["server", "backend", "api", "serverless"];

/// Reads at most `limit` bytes from the start of a file.
/// Only regular files are opened (a FIFO named like a project file must not block discovery).
pub(crate) fn read_prefix(path: &Path, limit: u64) -> Result<Vec<u8>, crate::read::ReadError> {
    crate::read::read_prefix(path, limit)
}

pub(crate) fn looks_binary(prefix: &[u8]) -> bool {
    prefix.iter().take(BINARY_SNIFF_LEN).any(|&b| b == 0)
}

/// Minified or bundled code: some very long line and long lines on average. One long line
/// among many short ones (an inline data URL, a long string table) is not enough.
pub(crate) fn looks_minified(prefix: &[u8]) -> bool {
    let mut lines = 0usize;
    let mut longest = 0usize;
    let mut total = 0usize;
    for line in prefix.split(|&b| b == b'\n') {
        lines += 1;
        longest = longest.max(line.len());
        total += line.len();
    }
    if prefix.ends_with(b"\n") {
        lines -= 1; // the empty piece after the final newline is not a line
    }
    lines > 0 && longest > MINIFIED_MAX_LINE && total / lines > MINIFIED_AVG_LINE
}

/// `name.min.js`, `name.min.mjs`... (case-insensitive).
pub(crate) fn is_min_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, _)| {
        let tail = stem.len().checked_sub(4).and_then(|i| stem.get(i..));
        tail.is_some_and(|t| t.eq_ignore_ascii_case(".min") || t.eq_ignore_ascii_case("-min"))
    })
}

/// A folder named like `WeChat`'s `cloudfunctions` (`cloudfunction`, `cloud-functions`,
/// `cloud_functions`, `cloudfunctions-prod`...).
pub(crate) fn is_cloudfunctions_dir_name(name: &str) -> bool {
    let squashed: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    squashed.starts_with("cloudfunction")
}

/// Names of the packages a `package.json` depends on (runtime and development).
pub(crate) fn dependency_names(pkg: &JsonNode) -> BTreeSet<String> {
    [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ]
    .iter()
    .filter_map(|section| pkg.get(section))
    .flat_map(JsonNode::entries)
    .map(|m| m.key.name.clone())
    .collect()
}

/// A guess at a lone script's role from what it imports and calls, for single-file scans.
pub(crate) fn content_role(prefix: &[u8]) -> Option<Role> {
    let text = String::from_utf8_lossy(prefix);
    let imports = |name: &str| {
        text.contains(&format!("require('{name}')"))
            || text.contains(&format!("require(\"{name}\")"))
            || text.contains(&format!("from '{name}'"))
            || text.contains(&format!("from \"{name}\""))
    };
    if CLOUD_SDKS.iter().any(|sdk| imports(sdk)) || text.contains("cloud.init(") {
        return Some(Role::CloudFunction);
    }
    if SERVER_FRAMEWORKS.iter().any(|fw| imports(fw)) {
        return Some(Role::Server);
    }
    let client_markers = [
        "Page({",
        "App({",
        "Component({",
        "wx.",
        "my.",
        "tt.",
        "swan.",
        "qq.",
        "uni.",
        "Taro.",
    ];
    if client_markers.iter().any(|m| text.contains(m)) {
        return Some(Role::Client);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minified_heuristic() {
        let long = "a".repeat(5000);
        assert!(looks_minified(long.as_bytes()));
        // One long line among many short ones is not minified.
        let mut mixed = String::new();
        for _ in 0..100 {
            mixed.push_str("const x = 1;\n");
        }
        mixed.push_str(&long);
        assert!(!looks_minified(mixed.as_bytes()));
        assert!(!looks_minified(b""));
        assert!(!looks_minified(b"short\n"));
    }

    #[test]
    fn names() {
        assert!(is_min_name("jquery.min.js"));
        assert!(is_min_name("A.MIN.MJS"));
        assert!(!is_min_name("admin.js"));
        assert!(is_cloudfunctions_dir_name("cloudfunctions"));
        assert!(is_cloudfunctions_dir_name("Cloud-Functions"));
        assert!(!is_cloudfunctions_dir_name("cloud"));
    }

    #[test]
    fn roles_from_content() {
        assert_eq!(
            content_role(b"const cloud = require('wx-server-sdk')"),
            Some(Role::CloudFunction)
        );
        assert_eq!(
            content_role(b"import express from 'express'"),
            Some(Role::Server)
        );
        assert_eq!(content_role(b"Page({ data: {} })"), Some(Role::Client));
        assert_eq!(content_role(b"module.exports = 1"), None);
    }
}
