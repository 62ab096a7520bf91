//! Dependency audit: which third-party packages a mini-program ships, and which known advisories
//! affect them.
//!
//! Mini-programs ship third-party code three ways: npm lockfiles ([`lockfile`]), the
//! `miniprogram_npm` folder the WeChat build produces, and library files copied into the tree
//! ([`vendored`]). Each becomes a [`Dependency`]; [`db::AdvisoryDb`] (OSV records, an embedded
//! snapshot by default, updatable) says which advisories affect it, with npm semver semantics
//! ([`semver`]).
//!
//! This crate never prints and never touches the network except in [`db::update`] when given a
//! URL.

#![forbid(unsafe_code)]

pub mod audit;
pub mod db;
pub mod lockfile;
pub mod osv;
pub mod sbom;
pub mod semver;
pub mod vendored;

use serde::Serialize;

/// Where a dependency's code comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "spec")]
pub enum DepSource {
    /// A registry package with a version: matched against advisories.
    Registry,
    /// `link:` / `file:` / `portal:` local packages: never matched against registry advisories.
    Local(String),
    /// A git dependency (`git+https://...`, `github:user/repo#ref`).
    Git(String),
    /// A workspace package of the project itself.
    Workspace,
}

/// How the dependency was found.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DepOrigin {
    /// An entry of a lockfile.
    Lockfile,
    /// A package folder under `miniprogram_npm/`.
    MiniprogramNpm,
    /// A library file copied into the tree, recognised by content (`how`: a version banner, a
    /// characteristic string, a file hash, the file name).
    Vendored { how: String },
}

/// One installed package, as found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// Package name as the registry knows it (`lodash`, `@vant/weapp`); for an alias
    /// (`"my-lodash": "npm:lodash@4.17.11"`) the real package.
    pub name: String,
    /// The exact installed version (`4.17.11`), empty when unknown.
    pub version: String,
    pub source: DepSource,
    pub origin: DepOrigin,
    /// Listed in the root package's dependencies (not pulled in by another package).
    pub direct: bool,
    /// Only needed for development (`devDependencies`, `dev: true`).
    pub dev: bool,
    pub optional: bool,
    /// The file it was found in, relative to the scan root with `/` separators.
    pub file: String,
    /// 1-based line of its entry in that file (1 for whole files).
    pub line: u32,
    /// The chain of package names that pulls it in, root dependency first, itself last, when
    /// the lockfile says (`["express", "body-parser", "qs"]`).
    pub chain: Vec<String>,
}
