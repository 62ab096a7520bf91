//! `.wxapkg` packages (issue 13): reading, PC decryption, restoring the source shape, writing
//! into a folder, and refusing hostile packages with a clear error.

#[path = "support/packer.rs"]
mod packer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miniguard_project::wxapkg::{self, Limits, WxapkgError};

const APPID: &str = "wx0123456789abcdef";

fn mini_program() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app/miniprogram")
}

fn sources() -> BTreeMap<String, Vec<u8>> {
    packer::read_tree(&mini_program())
}

fn open(bytes: Vec<u8>) -> Result<wxapkg::Package, WxapkgError> {
    wxapkg::open(bytes, None, &Limits::default())
}

fn err(bytes: Vec<u8>) -> WxapkgError {
    match open(bytes) {
        Ok(p) => panic!("accepted a hostile package: {:?}", p.entries()),
        Err(e) => e,
    }
}

/// Every source file comes back byte for byte: modules from `app-service.js`, `app.json` from
/// `app-config.json`, templates as stored.
fn assert_restores_sources(pkg: &wxapkg::Package) {
    let restored = wxapkg::restore(pkg);
    let src = sources();
    for (rel, bytes) in &src {
        let got = restored
            .files
            .get(rel)
            .unwrap_or_else(|| panic!("{rel} not restored; have {:?}", restored.files.keys()));
        assert_eq!(
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(bytes),
            "{rel} differs"
        );
    }
    assert!(
        !restored.files.contains_key("app-service.js"),
        "the split bundle is not kept"
    );
    assert!(
        !restored.files.contains_key("app-config.json"),
        "the split app-config.json is not kept"
    );
    // Pages without a .json of their own get the (empty) configuration the compiler recorded.
    assert_eq!(
        restored
            .files
            .get("pages/index/index.json")
            .map(Vec::as_slice),
        Some(b"{}\n".as_slice())
    );
    assert!(restored.notes.is_empty(), "{:?}", restored.notes);
}

#[test]
fn plain_package_restores_the_vulnerable_app_sources() {
    let bytes = packer::pack(&packer::compile(&sources()));
    let pkg = open(bytes).expect("plain package");
    assert!(pkg.file("app-service.js").is_some());
    assert_restores_sources(&pkg);
}

#[test]
fn pc_encrypted_package_decrypts_with_its_appid() {
    let plain = packer::pack(&packer::compile(&sources()));
    let enc = packer::encrypt_pc(&plain, APPID);
    assert!(wxapkg::is_pc_encrypted(&enc));
    assert_eq!(wxapkg::decrypt_pc(&enc, APPID).expect("decrypts"), plain);
    let pkg = wxapkg::open(enc.clone(), Some(APPID), &Limits::default()).expect("opens");
    assert_restores_sources(&pkg);

    assert!(matches!(
        wxapkg::open(enc.clone(), None, &Limits::default()),
        Err(WxapkgError::NeedAppid)
    ));
    let wrong = wxapkg::open(enc, Some("wxffffffffffffffff"), &Limits::default());
    assert!(
        matches!(wrong, Err(WxapkgError::Decrypt(ref m)) if m.contains("right appid")),
        "{wrong:?}"
    );
}

#[test]
fn pc_xor_byte_is_the_second_to_last_appid_character_or_0x66() {
    assert_eq!(wxapkg::crypto::pc_xor_byte(APPID), b'e');
    assert_eq!(wxapkg::crypto::pc_xor_byte("x"), 0x66);
    assert_eq!(wxapkg::crypto::pc_xor_byte(""), 0x66);
    // A short appid still round-trips through the scheme.
    let plain = packer::pack(&packer::compile(&sources()));
    let enc = packer::encrypt_pc(&plain, "x");
    assert_eq!(wxapkg::decrypt_pc(&enc, "x").expect("decrypts"), plain);
}

#[test]
fn encrypted_package_shorter_than_its_head_is_truncated() {
    let mut enc = b"V1MMWX".to_vec();
    enc.extend_from_slice(&[0u8; 100]);
    assert!(matches!(
        wxapkg::decrypt_pc(&enc, APPID),
        Err(WxapkgError::Truncated(_))
    ));
}

#[test]
fn appid_comes_from_the_nearest_appid_folder() {
    let p = Path::new("/cache/wxaaaaaaaaaaaaaaaa/wx0123456789abcdef/12/__APP__.wxapkg");
    assert_eq!(wxapkg::appid_from_path(p).as_deref(), Some(APPID));
    assert_eq!(
        wxapkg::appid_from_path(Path::new("/x/wx01/__APP__.wxapkg")),
        None
    );
    assert_eq!(
        wxapkg::appid_from_path(Path::new("/x/wx0123456789abcdeg/a.wxapkg")),
        None
    );
}

// --- hostile packages -------------------------------------------------------------------

fn one_file(name: &[u8]) -> Vec<u8> {
    let index: &[(&[u8], u32, u32)] = &[(name, 0, 0)];
    let start = packer::body_start(index);
    packer::pack_index(&[(name, start, 2)], b"hi")
}

#[test]
fn traversal_absolute_and_odd_names_are_refused() {
    for name in [
        &b"/../evil.js"[..],
        b"/pages/../../evil.js",
        b"/a/./b.js",
        b"//etc/passwd",
        b"/a//b.js",
        b"/",
        b"",
        b"/a\\..\\b.js",
        b"/C:/x.js",
        b"/a/b.js:stream",
        b"/a\0b.js",
        b"/a\nb.js",
        b"/\xff\xfe.js",
        b"..",
    ] {
        let e = err(one_file(name));
        assert!(
            matches!(e, WxapkgError::UnsafeName { .. }),
            "{:?}: {e}",
            String::from_utf8_lossy(name)
        );
        assert!(e.to_string().contains("unsafe name"), "{e}");
    }
    // Names without the leading slash are fine.
    assert!(open(one_file(b"app.js")).is_ok());
}

#[test]
fn duplicate_names_are_refused_also_by_case() {
    for (a, b) in [
        (&b"/app.js"[..], &b"/app.js"[..]),
        (b"/App.js", b"/app.js"),
        (b"/app.js", b"app.js"),
    ] {
        let index: &[(&[u8], u32, u32)] = &[(a, 0, 0), (b, 0, 0)];
        let s = packer::body_start(index);
        let bytes = packer::pack_index(&[(a, s, 1), (b, s + 1, 1)], b"ab");
        assert!(
            matches!(err(bytes), WxapkgError::DuplicateName(_)),
            "{a:?} {b:?}"
        );
    }
}

#[test]
fn a_name_that_is_file_and_folder_is_refused() {
    let index: &[(&[u8], u32, u32)] = &[(b"/utils", 0, 0), (b"/utils/a.js", 0, 0)];
    let s = packer::body_start(index);
    let bytes = packer::pack_index(&[(b"/utils", s, 1), (b"/utils/a.js", s + 1, 1)], b"ab");
    assert!(matches!(err(bytes), WxapkgError::FileAndFolder(_)));
}

#[test]
fn offsets_outside_the_body_are_refused() {
    let name: &[u8] = b"/a.js";
    let s = packer::body_start(&[(name, 0, 0)]);
    for (offset, size) in [
        (s, 3),               // one past the end
        (s + 5, 1),           // starts past the end
        (0, 2),               // inside the header
        (s - 4, 2),           // inside the index
        (u32::MAX, 2),        // overflows
        (s, u32::MAX),        // overflows
        (u32::MAX, u32::MAX), // both
    ] {
        let e = err(packer::pack_index(&[(name, offset, size)], b"hi"));
        assert!(
            matches!(e, WxapkgError::OutOfBounds { .. }),
            "{offset} {size}: {e}"
        );
    }
}

#[test]
fn overlapping_entries_are_refused() {
    let index: &[(&[u8], u32, u32)] = &[(b"/a.js", 0, 0), (b"/b.js", 0, 0)];
    let s = packer::body_start(index);
    for (a, b) in [((s, 4), (s + 3, 2)), ((s, 2), (s, 2)), ((s + 1, 1), (s, 5))] {
        let bytes = packer::pack_index(&[(b"/a.js", a.0, a.1), (b"/b.js", b.0, b.1)], b"hello");
        assert!(
            matches!(err(bytes), WxapkgError::Overlap { .. }),
            "{a:?} {b:?}"
        );
    }
    // Adjacent entries and empty files do not overlap.
    let ok = packer::pack_index(&[(b"/a.js", s, 2), (b"/b.js", s + 2, 3)], b"hello");
    assert!(open(ok).is_ok());
    let empty = packer::pack_index(&[(b"/a.js", s, 0), (b"/b.js", s, 5)], b"hello");
    assert!(open(empty).is_ok());
}

#[test]
fn every_truncation_is_a_clear_error() {
    let full = packer::pack(&packer::compile(&sources()));
    assert!(open(full.clone()).is_ok());
    // Every cut in the header and index, and a spread of cuts in the body.
    let index_end = 200.min(full.len());
    let cuts = (0..index_end).chain((index_end..full.len()).step_by(997));
    for cut in cuts {
        let e = err(full[..cut].to_vec());
        assert!(
            matches!(
                e,
                WxapkgError::Truncated(_)
                    | WxapkgError::NotAPackage(_)
                    | WxapkgError::OutOfBounds { .. }
            ),
            "cut at {cut}: {e}"
        );
    }
    let enc = packer::encrypt_pc(&full, APPID);
    for cut in [0, 5, 6, 100, 1029, 1030, 2000, enc.len() - 1] {
        let r = wxapkg::open(enc[..cut].to_vec(), Some(APPID), &Limits::default());
        assert!(r.is_err(), "encrypted cut at {cut}");
    }
}

#[test]
fn huge_counts_are_refused_before_allocating() {
    // The count field says 4 billion files; the package is 18 bytes.
    let mut bytes = packer::pack_index(&[], b"");
    bytes[14..18].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(err(bytes), WxapkgError::TooManyFiles { .. }));
    // Within the limit, but more than the bytes can hold.
    let mut bytes = packer::pack_index(&[], b"");
    bytes[14..18].copy_from_slice(&10_000u32.to_be_bytes());
    assert!(matches!(err(bytes), WxapkgError::Truncated(_)));
    // A name length of 4 GiB.
    let mut bytes = one_file(b"/a.js");
    bytes[18..22].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(err(bytes), WxapkgError::UnsafeName { .. }));
    // Header lengths beyond the file.
    let mut bytes = one_file(b"/a.js");
    bytes[9..13].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(err(bytes), WxapkgError::Truncated(_)));
}

#[test]
fn configured_limits_on_files_and_bytes_hold() {
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("/f{i}.js"), vec![b'x'; 100]))
        .collect();
    let bytes = packer::pack(&files);
    let few = Limits {
        max_files: 10,
        ..Limits::default()
    };
    assert!(matches!(
        wxapkg::open(bytes.clone(), None, &few),
        Err(WxapkgError::TooManyFiles { count: 20, max: 10 })
    ));
    let small = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        wxapkg::open(bytes.clone(), None, &small),
        Err(WxapkgError::TooLarge { .. })
    ));
    let short_names = Limits {
        max_name_len: 3,
        ..Limits::default()
    };
    assert!(wxapkg::open(bytes.clone(), None, &short_names).is_err());
    assert!(wxapkg::open(bytes, None, &Limits::default()).is_ok());
}

#[test]
fn not_a_package_is_said_so() {
    for bytes in [
        Vec::new(),
        b"PK\x03\x04 a zip file, not a package".to_vec(),
        vec![0; 64],
    ] {
        let e = err(bytes);
        assert!(matches!(e, WxapkgError::NotAPackage(_)), "{e}");
    }
}

// --- restoring ----------------------------------------------------------------------------

#[test]
fn plugin_and_subpackage_modules_go_to_their_folders_and_unsafe_modules_are_left_out() {
    let service = "\
define(\"plugin-private://wx1111111111111111/api/index.js\", function(require, module, exports){\n\
module.exports = 1\n\
});\n\
(function(){ define(\"sub/pages/a/a.js\", function(require){\nPage({})\n}); })();\n\
define(\"../../escape.js\", function(){\nevil()\n});\n\
define(\"/abs.js\", function(){\nok()\n});\n";
    let bytes = packer::pack(&[
        (
            "/sub/app-service.js".to_owned(),
            service.as_bytes().to_vec(),
        ),
        ("/sub/pages/a/a.wxml".to_owned(), b"<view/>".to_vec()),
    ]);
    let restored = wxapkg::restore(&open(bytes).expect("opens"));
    let names: Vec<&str> = restored.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "__plugin__/wx1111111111111111/api/index.js",
            "abs.js",
            "sub/pages/a/a.js",
            "sub/pages/a/a.wxml"
        ]
    );
    assert_eq!(restored.files["sub/pages/a/a.js"], b"Page({})");
    assert!(
        restored.notes.iter().any(|n| n.contains("escape.js")),
        "{:?}",
        restored.notes
    );
}

#[test]
fn page_configs_assigned_in_the_bundle_become_page_files() {
    let service = "\
__wxAppCode__['pages/a/a.json'] = {\"usingComponents\":{\"x\":\"/c/x\"},\"navigationBarTitleText\":\"A\"};\n\
__wxAppCode__['pages/a/a.wxml'] = $gwx('./pages/a/a.wxml');\n\
__wxAppCode__['../../up.json'] = {};\n\
define(\"pages/a/a.js\", function(require){\nPage({})\n});\n";
    let bytes = packer::pack(&[("/app-service.js".to_owned(), service.as_bytes().to_vec())]);
    let restored = wxapkg::restore(&open(bytes).expect("opens"));
    assert_eq!(
        String::from_utf8_lossy(&restored.files["pages/a/a.json"]),
        "{\n  \"usingComponents\": {\n    \"x\": \"/c/x\"\n  },\n  \"navigationBarTitleText\": \"A\"\n}\n"
    );
    assert!(restored.files.contains_key("pages/a/a.js"));
    assert!(!restored.files.keys().any(|k| k.contains("up.json")));
    assert!(
        restored.notes.iter().any(|n| n.contains("up.json")),
        "{:?}",
        restored.notes
    );
}

#[test]
fn compiled_templates_are_named_as_not_restored() {
    let bytes = packer::pack(&[
        (
            "/app-service.js".to_owned(),
            b"define(\"app.js\", function(){\nApp({})\n});".to_vec(),
        ),
        (
            "/page-frame.html".to_owned(),
            b"<script>var $gwx=function(){}</script>".to_vec(),
        ),
    ]);
    let restored = wxapkg::restore(&open(bytes).expect("opens"));
    assert!(restored.files.contains_key("app.js"));
    assert!(
        restored
            .notes
            .iter()
            .any(|n| n.contains("not restored to WXML") && n.contains("page-frame.html")),
        "{:?}",
        restored.notes
    );
}

#[test]
fn a_bundle_without_wrappers_is_kept_and_a_deeply_nested_one_is_not_parsed() {
    let deep = "(".repeat(200_000);
    let bytes = packer::pack(&[
        ("/game.js".to_owned(), b"wx.onShow(function(){})".to_vec()),
        ("/app-service.js".to_owned(), deep.into_bytes()),
    ]);
    let restored = wxapkg::restore(&open(bytes).expect("opens"));
    assert!(restored.files.contains_key("game.js"));
    assert!(restored.files.contains_key("app-service.js"));
    assert!(restored.notes.iter().any(|n| n.contains("nest deeper")));
}

#[test]
fn app_config_global_window_becomes_the_app_window() {
    let config = br#"{"pages":["pages/a/a"],"global":{"window":{"title":"x"}},"page":{"pages/a/a.html":{"window":{"navigationStyle":"custom"}},"pages/b/b.html":{"usingComponents":{}}},"entryPagePath":"pages/a/a.html"}"#;
    let bytes = packer::pack(&[("/app-config.json".to_owned(), config.to_vec())]);
    let restored = wxapkg::restore(&open(bytes).expect("opens"));
    assert_eq!(
        String::from_utf8_lossy(&restored.files["app.json"]),
        "{\n  \"pages\": [\n    \"pages/a/a\"\n  ],\n  \"window\": {\n    \"title\": \"x\"\n  }\n}\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&restored.files["pages/a/a.json"]),
        "{\n  \"navigationStyle\": \"custom\"\n}\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&restored.files["pages/b/b.json"]),
        "{\n  \"usingComponents\": {}\n}\n"
    );
}

// --- writing --------------------------------------------------------------------------------

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(n, c)| ((*n).to_owned(), c.as_bytes().to_vec()))
        .collect()
}

#[test]
fn write_tree_writes_below_the_folder_and_replaces_regular_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let files = tree(&[("a/b/c.js", "x"), ("d.json", "{}")]);
    wxapkg::write_tree(&out, &files).expect("writes");
    wxapkg::write_tree(&out, &files).expect("writes again over its own files");
    assert_eq!(
        std::fs::read_to_string(out.join("a/b/c.js")).expect("c.js"),
        "x"
    );
    assert!(matches!(
        wxapkg::write_tree(&out, &tree(&[("../x.js", "x")])),
        Err(WxapkgError::UnsafeName { .. })
    ));
    assert!(!dir.path().join("x.js").exists());
}

#[cfg(unix)]
#[test]
fn write_tree_never_follows_links_in_the_output_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::create_dir_all(&outside).expect("outside");
    std::os::unix::fs::symlink(&outside, out.join("pages")).expect("dir link");
    std::os::unix::fs::symlink(outside.join("t.js"), out.join("app.js")).expect("file link");

    let e = wxapkg::write_tree(&out, &tree(&[("pages/a.js", "x")])).expect_err("dir link");
    assert!(matches!(e, WxapkgError::UnsafeOutput { .. }), "{e}");
    let e = wxapkg::write_tree(&out, &tree(&[("app.js", "x")])).expect_err("file link");
    assert!(matches!(e, WxapkgError::UnsafeOutput { .. }), "{e}");
    assert_eq!(
        std::fs::read_dir(&outside).expect("outside").count(),
        0,
        "nothing written through a link"
    );
}
