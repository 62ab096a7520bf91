//! Lockfile parsers against lockfiles written by the real tools (see
//! `scripts/gen-lockfile-fixtures.sh`) and hand-written edge cases (`fixtures/lockfiles/hand/`).
//!
//! Line numbers are never hard-coded: each assertion finds the entry's line in the fixture text,
//! so regenerating the fixtures with newer tools keeps the tests meaningful.

use miniguard_deps::lockfile::{self, LockfileError, LockfileKind};
use miniguard_deps::{DepOrigin, DepSource, Dependency};
use std::time::Instant;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lockfiles");

const NPM: &str = "npm-11.19.1";
const YARN1: &str = "yarn-1.22.22";
const YARN4: &str = "yarn-4.5.3";
const PNPM7: &str = "pnpm-7.33.7";
const PNPM8: &str = "pnpm-8.15.9";
const PNPM9: &str = "pnpm-9.15.9";

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{FIX}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses `dir/file` with the `package.json` beside it.
fn load(kind: LockfileKind, dir: &str, file: &str) -> (String, Vec<Dependency>) {
    let text = read(&format!("{dir}/{file}"));
    let manifest = read(&format!("{dir}/package.json"));
    let deps =
        lockfile::parse_with_manifest(kind, &format!("{dir}/{file}"), &text, Some(&manifest))
            .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
    (text, deps)
}

fn load_hand(kind: LockfileKind, file: &str) -> (String, Vec<Dependency>) {
    let text = read(&format!("hand/{file}"));
    let deps = lockfile::parse(kind, file, &text).unwrap_or_else(|e| panic!("{file}: {e}"));
    (text, deps)
}

/// 1-based line of the first line equal to `exact` once trailing whitespace is dropped.
fn line_of(text: &str, exact: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.trim_end() == exact)
        .unwrap_or_else(|| panic!("no line `{exact}`"));
    u32::try_from(i + 1).unwrap()
}

fn find<'a>(deps: &'a [Dependency], name: &str, version: &str) -> &'a Dependency {
    let found: Vec<_> = deps
        .iter()
        .filter(|d| d.name == name && d.version == version)
        .collect();
    assert!(
        !found.is_empty(),
        "{name}@{version} missing from {:?}",
        deps.iter()
            .map(|d| format!("{}@{}", d.name, d.version))
            .collect::<Vec<_>>()
    );
    found[0]
}

fn chain(d: &Dependency) -> Vec<&str> {
    d.chain.iter().map(String::as_str).collect()
}

/// What every fixture of the demo project must say, whatever the tool.
fn common_demo_checks(deps: &[Dependency]) {
    for (name, version) in [
        ("lodash", "4.17.11"),
        ("minimist", "0.0.8"),
        ("axios", "0.21.0"),
        ("jsonwebtoken", "8.5.1"),
    ] {
        let d = find(deps, name, version);
        assert!(d.direct && !d.dev && !d.optional, "{name}: {d:?}");
        assert_eq!(d.source, DepSource::Registry);
        assert_eq!(chain(d), [name]);
        assert_eq!(d.origin, DepOrigin::Lockfile);
    }
    // The alias resolves to the real package.
    let alias = find(deps, "lodash", "4.17.15");
    assert!(alias.direct && !alias.dev, "{alias:?}");
    assert!(!deps.iter().any(|d| d.name == "my-lodash"));
    // Dev tree.
    let chalk = find(deps, "chalk", "2.4.2");
    assert!(chalk.direct && chalk.dev);
    let ansi = find(deps, "ansi-styles", "3.2.1");
    assert!(!ansi.direct && ansi.dev);
    assert_eq!(chain(ansi), ["chalk", "ansi-styles"]);
    let color_name = find(deps, "color-name", "1.1.3");
    assert_eq!(
        chain(color_name),
        ["chalk", "ansi-styles", "color-convert", "color-name"]
    );
    // Transitive production packages.
    let jwa = find(deps, "jwa", "1.4.2");
    assert!(!jwa.direct && !jwa.dev);
    assert_eq!(chain(jwa), ["jsonwebtoken", "jws", "jwa"]);
    let ms = deps
        .iter()
        .find(|d| {
            d.name == "ms"
                && d.version == "2.1.3"
                && d.chain.first().map(String::as_str) == Some("jsonwebtoken")
        })
        .expect("ms via jsonwebtoken");
    assert!(!ms.direct && !ms.dev);
    // Optional.
    let is_number = find(deps, "is-number", "7.0.0");
    assert!(is_number.direct && is_number.optional && !is_number.dev);
    // Local and the root project itself.
    let local = deps
        .iter()
        .find(|d| d.name == "local-utils")
        .expect("local-utils");
    assert!(
        matches!(&local.source, DepSource::Local(s) if s.starts_with("file:")),
        "{local:?}"
    );
    assert!(local.direct);
    assert!(!deps.iter().any(|d| d.name == "mini-program-demo"));
    // Everything points somewhere in the file.
    assert!(deps.iter().all(|d| d.line >= 1));
}

// ---------------------------------------------------------------------------------------------
// npm

#[test]
fn npm_v3_and_v2() {
    for v in ["v3", "v2"] {
        let dir = format!("{NPM}-{v}");
        let (text, deps) = load(LockfileKind::Npm, &dir, "package-lock.json");
        common_demo_checks(&deps);
        assert_eq!(deps.len(), 34, "{dir}");
        assert!(
            deps.iter()
                .all(|d| d.file == format!("{dir}/package-lock.json"))
        );

        let lodash = find(&deps, "lodash", "4.17.11");
        assert_eq!(
            lodash.line,
            line_of(&text, r#"    "node_modules/lodash": {"#)
        );
        let alias = find(&deps, "lodash", "4.17.15");
        assert_eq!(
            alias.line,
            line_of(&text, r#"    "node_modules/my-lodash": {"#)
        );
        // Nested node_modules path: the nested copy has its own line.
        let nested = deps
            .iter()
            .find(|d| {
                d.line
                    == line_of(
                        &text,
                        r#"    "node_modules/jsonwebtoken/node_modules/ms": {"#,
                    )
            })
            .unwrap();
        assert_eq!(
            (nested.name.as_str(), nested.version.as_str()),
            ("ms", "2.1.3")
        );
        assert_eq!(chain(nested), ["jsonwebtoken", "ms"]);
        // npm's own dev flag.
        let ms_dev = find(&deps, "ms", "2.0.0");
        assert!(ms_dev.dev);
        assert_eq!(chain(ms_dev), ["debug", "ms"]);
        // Workspace link, its nested dependency, and the file: link.
        let ws = find(&deps, "@miniguard-demo/shared-ui", "1.0.0");
        assert_eq!(ws.source, DepSource::Workspace);
        assert_eq!(
            ws.line,
            line_of(&text, r#"    "node_modules/@miniguard-demo/shared-ui": {"#)
        );
        let ws_lodash = find(&deps, "lodash", "4.17.21");
        assert_eq!(
            ws_lodash.line,
            line_of(&text, r#"    "packages/shared-ui/node_modules/lodash": {"#)
        );
        assert!(ws_lodash.direct, "a workspace's own dependency is direct");
        let local = find(&deps, "local-utils", "0.1.0");
        assert_eq!(local.source, DepSource::Local("file:local-utils".into()));
        let local_ms = deps
            .iter()
            .find(|d| d.line == line_of(&text, r#"    "local-utils/node_modules/ms": {"#))
            .unwrap();
        assert_eq!(chain(local_ms), ["local-utils", "ms"]);
    }
}

#[test]
fn npm_v1() {
    let dir = format!("{NPM}-v1");
    let (text, deps) = load(LockfileKind::Npm, &dir, "package-lock.json");
    common_demo_checks(&deps);
    let alias = find(&deps, "lodash", "4.17.15");
    assert_eq!(alias.line, line_of(&text, r#"    "my-lodash": {"#));
    let nested = deps
        .iter()
        .find(|d| d.name == "ms" && d.chain == ["jsonwebtoken", "ms"])
        .unwrap();
    // The first nested `ms` is jsonwebtoken's (local-utils's comes later in the file).
    assert_eq!(nested.line, line_of(&text, r#"        "ms": {"#));
    let ws = deps
        .iter()
        .find(|d| d.name == "@miniguard-demo/shared-ui")
        .unwrap();
    assert_eq!(
        ws.source,
        DepSource::Workspace,
        "the manifest's workspaces say so"
    );
    // Without the manifest: packages nothing requires are direct; file: stays local.
    let bare = lockfile::parse(LockfileKind::Npm, "package-lock.json", &text).unwrap();
    assert!(find(&bare, "lodash", "4.17.11").direct);
    assert!(!find(&bare, "jwa", "1.4.2").direct);
    let ws = bare
        .iter()
        .find(|d| d.name == "@miniguard-demo/shared-ui")
        .unwrap();
    assert!(matches!(ws.source, DepSource::Local(_)));
}

#[test]
fn npm_hand_git_scoped_peers() {
    let (text, deps) = load_hand(LockfileKind::Npm, "npm-v3-git.json");
    let git = find(&deps, "gitdep", "1.0.0");
    assert!(matches!(&git.source, DepSource::Git(s) if s.starts_with("git+ssh://")));
    assert!(git.direct);
    let nested = find(&deps, "@scope/b", "2.0.0");
    assert_eq!(
        nested.line,
        line_of(
            &text,
            r#"    "node_modules/@scope/a/node_modules/@scope/b": {"#
        )
    );
    assert_eq!(chain(nested), ["@scope/a", "@scope/b"]);
    let dev_optional = find(&deps, "@scope/b", "1.0.0");
    assert!(
        dev_optional.optional && !dev_optional.dev,
        "devOptional can ship: optional, not dev"
    );
    assert_eq!(chain(dev_optional), ["tool", "@scope/b"]);
    assert_eq!(
        chain(find(&deps, "react", "18.2.0")),
        ["react-dom", "react"],
        "peers are edges"
    );

    let (text, deps) = load_hand(LockfileKind::Npm, "npm-v1-git.json");
    let git = deps.iter().find(|d| d.name == "gitdep").unwrap();
    assert!(matches!(&git.source, DepSource::Git(s) if s.starts_with("github:")));
    assert_eq!(git.version, "");
    let qs_nested = find(&deps, "qs", "6.5.1");
    assert_eq!(qs_nested.line, line_of(&text, r#"        "qs": {"#));
    assert_eq!(chain(qs_nested), ["express", "qs"]);
    assert!(find(&deps, "qs", "6.0.0").dev);
    let inner = find(&deps, "inner", "1.0.0");
    assert!(inner.optional);
    assert_eq!(chain(inner), ["bundler", "inner"]);
}

// ---------------------------------------------------------------------------------------------
// yarn

#[test]
fn yarn_v1() {
    let (text, deps) = load(LockfileKind::Yarn, YARN1, "yarn.lock");
    common_demo_checks(&deps);
    assert_eq!(
        find(&deps, "lodash", "4.17.11").line,
        line_of(&text, "lodash@4.17.11:")
    );
    assert_eq!(
        find(&deps, "lodash", "4.17.15").line,
        line_of(&text, r#""my-lodash@npm:lodash@4.17.15":"#)
    );
    assert_eq!(
        find(&deps, "local-utils", "0.1.0").source,
        DepSource::Local("file:./local-utils".into())
    );
    // Without package.json: entries nothing depends on are direct, nothing is dev.
    let bare = lockfile::parse(LockfileKind::Yarn, "yarn.lock", &text).unwrap();
    assert!(find(&bare, "chalk", "2.4.2").direct);
    assert!(!find(&bare, "chalk", "2.4.2").dev);
    assert!(!find(&bare, "jwa", "1.4.2").direct);
}

#[test]
fn yarn_v1_hand_git() {
    let (text, deps) = load_hand(LockfileKind::Yarn, "yarn1-git.lock");
    let a = find(&deps, "@scope/a", "1.2.0");
    assert_eq!(
        a.line,
        line_of(&text, r#""@scope/a@^1.0.0", "@scope/a@^1.1.0":"#)
    );
    let gitdep = find(&deps, "gitdep", "1.0.0");
    assert!(
        matches!(&gitdep.source, DepSource::Git(s) if s.ends_with("0123456789abcdef0123456789abcdef01234567"))
    );
    let gh = find(&deps, "gh", "0.3.0");
    assert!(matches!(gh.source, DepSource::Git(_)));
    assert_eq!(chain(gh), ["@scope/a", "gh"]);
    assert!(find(&deps, "opt", "1.0.1").optional);
}

#[test]
fn yarn_berry() {
    let (text, deps) = load(LockfileKind::Yarn, YARN4, "yarn.lock");
    common_demo_checks(&deps);
    assert_eq!(
        find(&deps, "lodash", "4.17.11").line,
        line_of(&text, r#""lodash@npm:4.17.11":"#)
    );
    assert_eq!(
        find(&deps, "lodash", "4.17.15").line,
        line_of(&text, r#""my-lodash@npm:lodash@4.17.15":"#)
    );
    let ws = deps
        .iter()
        .find(|d| d.name == "@miniguard-demo/shared-ui")
        .unwrap();
    assert_eq!(ws.source, DepSource::Workspace);
    assert_eq!(ws.version, "");
    let ws_lodash = find(&deps, "lodash", "4.17.21");
    assert!(
        ws_lodash.direct,
        "direct for the workspace that declares it"
    );
}

#[test]
fn yarn_berry_hand_protocols() {
    let (text, deps) = load_hand(LockfileKind::Yarn, "berry-protocols.lock");
    let git = find(&deps, "gitdep", "1.0.0");
    assert!(matches!(&git.source, DepSource::Git(s) if s.contains("#commit=")));
    assert_eq!(
        git.line,
        line_of(
            &text,
            r#""gitdep@https://github.com/example/gitdep.git#v1.0.0":"#
        )
    );
    let linked = deps.iter().find(|d| d.name == "linked").unwrap();
    assert_eq!(
        linked.source,
        DepSource::Local("link:./vendor/linked".into())
    );
    assert!(linked.direct);
    let portaled = deps.iter().find(|d| d.name == "portaled").unwrap();
    assert_eq!(
        portaled.source,
        DepSource::Local("portal:./vendor/portaled".into())
    );
    // A patched registry package is still that registry package.
    let patched = deps.iter().find(|d| d.line == line_of(&text, r#""lodash@patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash-npm-4.17.21.patch":"#)).unwrap();
    assert_eq!(
        (patched.name.as_str(), patched.version.as_str()),
        ("lodash", "4.17.21")
    );
    assert_eq!(patched.source, DepSource::Registry);
    assert!(patched.direct);
    assert_eq!(
        chain(find_at(&deps, &text, r#""lodash@npm:4.17.21":"#)),
        ["portaled", "lodash"]
    );
    assert!(!deps.iter().any(|d| d.name == "hand-berry"));
}

fn find_at<'a>(deps: &'a [Dependency], text: &str, line: &str) -> &'a Dependency {
    let l = line_of(text, line);
    deps.iter()
        .find(|d| d.line == l)
        .unwrap_or_else(|| panic!("nothing at line {l}"))
}

// ---------------------------------------------------------------------------------------------
// pnpm

#[test]
fn pnpm_5_6_9() {
    for (dir, key) in [
        (PNPM7, "  /lodash/4.17.11:"),
        (PNPM8, "  /lodash@4.17.11:"),
        (PNPM9, "  lodash@4.17.11:"),
    ] {
        let (text, deps) = load(LockfileKind::Pnpm, dir, "pnpm-lock.yaml");
        common_demo_checks(&deps);
        assert_eq!(
            find(&deps, "lodash", "4.17.11").line,
            line_of(&text, key),
            "{dir}"
        );
        let alias_key = key.replace("4.17.11", "4.17.15");
        assert_eq!(
            find(&deps, "lodash", "4.17.15").line,
            line_of(&text, &alias_key),
            "{dir}"
        );
        let ws = deps
            .iter()
            .find(|d| d.name == "@miniguard-demo/shared-ui")
            .unwrap();
        assert_eq!(ws.source, DepSource::Workspace, "{dir}");
        assert!(ws.direct);
        assert!(
            find(&deps, "lodash", "4.17.21").direct,
            "{dir}: direct for the workspace"
        );
        // `debug` is a dev dependency, but axios's follow-redirects takes it as a peer in
        // production: pnpm puts it in the production tree, and so do we.
        assert!(!find(&deps, "debug", "2.6.9").dev, "{dir}");
        assert_eq!(deps.len(), 33, "{dir}");
    }
}

#[test]
fn pnpm_hand_5_single_project() {
    let (text, deps) = load_hand(LockfileKind::Pnpm, "pnpm5-single.yaml");
    let react_dom = find(&deps, "react-dom", "18.2.0");
    assert_eq!(
        react_dom.line,
        line_of(&text, "  /react-dom/18.2.0_react@18.2.0:")
    );
    assert!(react_dom.direct);
    assert_eq!(
        chain(find(&deps, "scheduler", "0.23.0")),
        ["react-dom", "scheduler"]
    );
    let opt = find(&deps, "opt", "1.0.0");
    assert!(opt.dev && opt.optional);
    let git = find(&deps, "gitdep", "1.0.0");
    assert!(
        matches!(&git.source, DepSource::Git(s) if s.starts_with("https://codeload.github.com/"))
    );
    assert!(git.direct);
}

#[test]
fn pnpm_hand_9_peers_aliases_links() {
    let (text, deps) = load_hand(LockfileKind::Pnpm, "pnpm9-peers.yaml");
    // Two peer variants of shared@2.0.0 are one package, at its `packages` line.
    let shared: Vec<_> = deps.iter().filter(|d| d.name == "shared").collect();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].line, line_of(&text, "  shared@2.0.0:"));
    assert!(!shared[0].dev, "reachable from production through ui-a");
    assert!(
        find(&deps, "react", "17.0.2").dev,
        "only the dev dependency ui-b pulls react 17"
    );
    assert_eq!(
        chain(find(&deps, "string-width", "4.2.3")),
        ["ui-a", "string-width"],
        "alias in a snapshot"
    );
    let git = find(&deps, "gitdep", "1.0.0");
    assert!(matches!(git.source, DepSource::Git(_)));
    let vendored = deps.iter().find(|d| d.name == "vendored").unwrap();
    assert_eq!(vendored.source, DepSource::Local("link:../vendored".into()));
    assert_eq!(vendored.line, line_of(&text, "      vendored:"));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn malformed_inputs_are_errors_with_positions() {
    let e = lockfile::parse(
        LockfileKind::Npm,
        "package-lock.json",
        "{\n  \"packages\": {\n    \"x\": [1,,]\n  }\n}",
    )
    .unwrap_err();
    assert!(matches!(e, LockfileError::Syntax { .. }), "{e}");
    assert_eq!((e.line(), e.column()), (Some(3), Some(13)));
    assert_eq!(e.file(), "package-lock.json");
    assert!(e.to_string().starts_with("package-lock.json:3:13:"), "{e}");

    let e = lockfile::parse(LockfileKind::Npm, "p.json", "{\"packages\": []}").unwrap_err();
    assert!(matches!(e, LockfileError::Format { line: 1, .. }), "{e}");
    let e = lockfile::parse(LockfileKind::Npm, "p.json", "[1]").unwrap_err();
    assert!(matches!(e, LockfileError::Format { .. }), "{e}");

    let deep = format!(
        "{{\"dependencies\": {}1{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = lockfile::parse(LockfileKind::Npm, "p.json", &deep).unwrap_err();
    assert!(matches!(e, LockfileError::TooDeep { line: 1, .. }), "{e}");

    let e = lockfile::parse(
        LockfileKind::Yarn,
        "yarn.lock",
        "# yarn lockfile v1\n\na@^1:\n  version \"1.0.0\n",
    )
    .unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(4), Some(11)), "{e}");
    let e = lockfile::parse(
        LockfileKind::Yarn,
        "yarn.lock",
        "a@^1\n  version \"1.0.0\"\n",
    )
    .unwrap_err();
    assert_eq!(e.line(), Some(1), "{e}");
    let e = lockfile::parse(
        LockfileKind::Yarn,
        "yarn.lock",
        "a@^1:\n      version \"1.0.0\"\n",
    )
    .unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(2), Some(7)), "{e}");

    let e = lockfile::parse(
        LockfileKind::Pnpm,
        "pnpm-lock.yaml",
        "lockfileVersion: '9.0'\npackages:\n  a@1: {x: [}\n",
    )
    .unwrap_err();
    assert!(matches!(e, LockfileError::Syntax { line: 3, .. }), "{e}");
    let e = lockfile::parse(LockfileKind::Pnpm, "pnpm-lock.yaml", "packages: {}\n").unwrap_err();
    assert!(matches!(e, LockfileError::Format { .. }), "{e}");
    let deep = format!(
        "lockfileVersion: '9.0'\nx: {}1{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = lockfile::parse(LockfileKind::Pnpm, "pnpm-lock.yaml", &deep).unwrap_err();
    assert!(e.line().is_some(), "{e}");
    let e = lockfile::parse(
        LockfileKind::Yarn,
        "yarn.lock",
        "__metadata:\n  version: 8\n\"a@npm:1\": [\n",
    )
    .unwrap_err();
    assert!(e.line().is_some(), "{e}");

    let e = lockfile::parse_with_manifest(LockfileKind::Yarn, "app/yarn.lock", "", Some("{"))
        .unwrap_err();
    assert_eq!(e.file(), "app/package.json");
}

#[test]
fn kind_of_file_names() {
    assert_eq!(
        lockfile::kind_of("package-lock.json"),
        Some(LockfileKind::Npm)
    );
    assert_eq!(
        lockfile::kind_of("a/npm-shrinkwrap.json"),
        Some(LockfileKind::Npm)
    );
    assert_eq!(lockfile::kind_of("yarn.lock"), Some(LockfileKind::Yarn));
    assert_eq!(
        lockfile::kind_of("x\\pnpm-lock.yaml"),
        Some(LockfileKind::Pnpm)
    );
    assert_eq!(lockfile::kind_of("package.json"), None);
}

// ---------------------------------------------------------------------------------------------
// No panics on mutated input (the stable companion of the fuzz targets)

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"\n",
        b"  ",
        b"\\u",
        b"- ",
        b"&a",
        b"*a",
        b"!!map",
        b"node_modules/",
        b"link:",
        b"file:",
        b"workspace:",
        b"npm:",
        b"@",
        b"/",
        b"(",
        b"_",
        b"#",
        b"\t",
        b"\r",
        b"\xff",
    ];
    let mut v = src.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        let at = rng.below(len + 1);
        match rng.below(5) {
            0 if len > 0 => {
                let end = (at + rng.below(64)).min(len);
                v.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if len > 0 => {
                let i = at.min(len - 1);
                v[i] ^= 1 << rng.below(8);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + rng.below(200)).min(len);
                let chunk = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            _ => v.truncate(at),
        }
    }
    v
}

#[test]
fn mutated_lockfiles_never_panic() {
    let inputs = [
        (LockfileKind::Npm, format!("{NPM}-v3/package-lock.json")),
        (LockfileKind::Npm, format!("{NPM}-v1/package-lock.json")),
        (LockfileKind::Npm, "hand/npm-v3-git.json".to_owned()),
        (LockfileKind::Yarn, format!("{YARN1}/yarn.lock")),
        (LockfileKind::Yarn, format!("{YARN4}/yarn.lock")),
        (LockfileKind::Yarn, "hand/berry-protocols.lock".to_owned()),
        (LockfileKind::Pnpm, format!("{PNPM7}/pnpm-lock.yaml")),
        (LockfileKind::Pnpm, format!("{PNPM8}/pnpm-lock.yaml")),
        (LockfileKind::Pnpm, format!("{PNPM9}/pnpm-lock.yaml")),
        (LockfileKind::Pnpm, "hand/pnpm9-peers.yaml".to_owned()),
    ];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let start = Instant::now();
    let mut runs = 0;
    for (kind, path) in &inputs {
        let src = read(path);
        for _ in 0..300 {
            let bytes = mutate(&mut rng, src.as_bytes());
            let text = String::from_utf8_lossy(&bytes);
            let manifest = (rng.below(2) == 0).then(|| {
                String::from_utf8_lossy(&mutate(
                    &mut rng,
                    br#"{"dependencies":{"a":"1"},"workspaces":["p/*"]}"#,
                ))
                .into_owned()
            });
            // Any result is fine; a panic fails the test. What is returned must be sane.
            if let Ok(deps) = lockfile::parse_with_manifest(*kind, path, &text, manifest.as_deref())
            {
                let lines = text.bytes().filter(|&b| b == b'\n' || b == b'\r').count() + 1;
                for d in &deps {
                    assert!(
                        d.line >= 1 && d.line as usize <= lines,
                        "{path}: line {} of {lines}",
                        d.line
                    );
                    assert_eq!(d.chain.last(), Some(&d.name), "{path}: {d:?}");
                }
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 3000);
    eprintln!("{runs} mutated lockfiles in {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Size

/// An npm v3 lockfile of `n` packages: every package depends on two later ones, every tenth has a
/// nested copy of another, the root depends on the first 50.
fn big_npm_lockfile(n: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "{\n  \"name\": \"big\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n    \"\": {\n      \"name\": \"big\",\n      \"dependencies\": {\n",
    );
    for i in 0..50 {
        let _ = writeln!(
            s,
            "        \"pkg-{i}\": \"^1.0.0\"{}",
            if i < 49 { "," } else { "" }
        );
    }
    s.push_str("      }\n    }");
    for i in 0..n {
        let _ = write!(
            s,
            ",\n    \"node_modules/pkg-{i}\": {{\n      \"version\": \"1.0.{i}\",\n      \"resolved\": \"https://registry.example/pkg-{i}/-/pkg-{i}-1.0.{i}.tgz\",\n      \"integrity\": \"sha512-AAAA\",\n      \"dependencies\": {{"
        );
        let deps: Vec<String> = [i * 7 + 1, i * 13 + 2]
            .iter()
            .filter(|&&d| d < n && d > i)
            .map(|d| format!("\"pkg-{d}\": \"^1.0.0\""))
            .collect();
        let _ = write!(s, "{}}}\n    }}", deps.join(", "));
        if i % 10 == 0 && i + 3 < n {
            let _ = write!(
                s,
                ",\n    \"node_modules/pkg-{i}/node_modules/pkg-{}\": {{\n      \"version\": \"2.0.0\"\n    }}",
                i + 3
            );
        }
    }
    s.push_str("\n  }\n}\n");
    s
}

#[test]
fn three_thousand_packages() {
    let text = big_npm_lockfile(3000);
    let deps = lockfile::parse(LockfileKind::Npm, "package-lock.json", &text).unwrap();
    assert_eq!(deps.len(), 3000 + 300);
    let last = find(&deps, "pkg-2999", "1.0.2999");
    assert_eq!(
        last.line,
        line_of(&text, r#"    "node_modules/pkg-2999": {"#)
    );
}

/// Prints the parse time of a 3,000-package npm v3 lockfile. Run in release:
/// `cargo test --release -p miniguard-deps --test lockfiles -- --ignored --nocapture measure`
#[test]
#[ignore = "measurement, run by hand in release"]
fn measure_three_thousand_packages() {
    let text = big_npm_lockfile(3000);
    let mut best = std::time::Duration::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let deps = lockfile::parse(LockfileKind::Npm, "package-lock.json", &text).unwrap();
        best = best.min(t.elapsed());
        assert_eq!(deps.len(), 3300);
    }
    eprintln!(
        "3,000-package npm v3 lockfile ({} KiB): best of 20 = {best:?}",
        text.len() / 1024
    );
}

/// Issue 12: 100k `peerDependencies` with `peerDependenciesMeta` took 31 s (a linear lookup per
/// peer); the meta map is now read once.
#[test]
fn many_peer_dependencies_parse_in_linear_time() {
    let n = 20_000;
    let peers: Vec<String> = (0..n).map(|i| format!("\"p{i}\": \"^1.0.0\"")).collect();
    let meta: Vec<String> = (0..n)
        .map(|i| format!("\"p{i}\": {{\"optional\": true}}"))
        .collect();
    let text = format!(
        r#"{{"name":"r","version":"1.0.0","lockfileVersion":3,"packages":{{"":{{"name":"r","version":"1.0.0","dependencies":{{"a":"1.0.0"}}}},"node_modules/a":{{"version":"1.0.0","peerDependencies":{{{}}},"peerDependenciesMeta":{{{}}}}}}}}}"#,
        peers.join(","),
        meta.join(",")
    );
    let deps = lockfile::parse_with_manifest(LockfileKind::Npm, "package-lock.json", &text, None)
        .expect("parse");
    assert!(deps.iter().any(|d| d.name == "a"));
}

/// Issue 12: workspace globs are matched against every package folder; a glob of megabytes
/// (or hundreds of thousands of them) is refused with a message naming the manifest, in either
/// place npm keeps them.
#[test]
fn oversized_workspace_globs_are_refused() {
    let started = Instant::now();
    let lock = r#"{"name":"p","lockfileVersion":3,"packages":{"":{"name":"p","workspaces":WS},"node_modules/a":{"version":"1.0.0"}}}"#;
    let long = format!("[\"packages/{}b\"]", "*a".repeat(50_000));
    let many = format!(
        "[{}]",
        (0..5000)
            .map(|i| format!("\"p{i}/*\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (ws, needle) in [(&long, "longer than 4096 bytes"), (&many, "more than 1000")] {
        let err = lockfile::parse(
            LockfileKind::Npm,
            "package-lock.json",
            &lock.replace("WS", ws),
        )
        .expect_err("refused in the lockfile");
        assert!(matches!(err, LockfileError::Format { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        let manifest = format!("{{\"name\":\"p\",\"workspaces\":{{\"packages\":{ws}}}}}");
        let err = lockfile::parse_with_manifest(
            LockfileKind::Yarn,
            "yarn.lock",
            "# yarn lockfile v1\n",
            Some(&manifest),
        )
        .expect_err("refused in package.json");
        assert_eq!(err.file(), "package.json");
        assert!(err.to_string().contains(needle), "{err}");
    }
    // Ordinary globs are matched as before.
    let deps = lockfile::parse(
        LockfileKind::Npm,
        "package-lock.json",
        &lock.replace("WS", r#"["packages/*", "apps/**"]"#),
    )
    .expect("parsed");
    assert_eq!(deps.len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
