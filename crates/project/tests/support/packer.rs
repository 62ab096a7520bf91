//! A `.wxapkg` packer for tests: compiles a mini-program source folder the way the platform's
//! compiler lays out a package, writes the package format, and applies the PC client's
//! encryption. Shared by the project crate's tests and the CLI's (`#[path]` include).
//!
//! What it produces, per source file:
//! - every `.js` module, wrapped as `define("path", function(require, module, exports, ...) {`
//!   newline, the module's code, newline, `});`, concatenated into `app-service.js` with the
//!   compiler's `__wxRoute` markers and `require(...)` of each page;
//! - `app.json` and the pages' `.json` merged into `app-config.json` (`page` →
//!   `{"pages/a/a.html": {"window": {...}}}`, `entryPagePath`);
//! - `.wxml` templates stored as they are (the real compiler turns them into `$gwx` render
//!   functions, which the reader does not decompile; see `wxapkg::restore`);
//! - everything else (`.wxss`, images) stored as it is.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncryptMut as _, KeyIvInit as _};

/// The wrapper parameters the compiler gives every module.
const WRAP_PARAMS: &str = "require, module, exports, window, document, frames, self, location, \
     navigator, localStorage, history, Caches, screen, alert, confirm, prompt, XMLHttpRequest, \
     WebSocket, Reporter, webkit, WeixinJSCore";

/// Source files of a folder, by `/`-separated relative path (sorted).
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read source folder")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("below root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read source file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The files of the package the compiler would make from a mini-program's sources, with the
/// package's leading `/` on every name.
pub fn compile(sources: &BTreeMap<String, Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    let app_json = String::from_utf8(sources.get("app.json").expect("app.json").clone())
        .expect("utf-8 app.json");
    let app: serde_json::Value = serde_json::from_str(&app_json).expect("valid app.json");
    let mut pages: Vec<String> = app["pages"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for sub in app["subPackages"]
        .as_array()
        .or_else(|| app["subpackages"].as_array())
        .into_iter()
        .flatten()
    {
        let root = sub["root"].as_str().unwrap_or("").trim_end_matches('/');
        for p in sub["pages"].as_array().into_iter().flatten() {
            if let Some(p) = p.as_str() {
                pages.push(format!("{root}/{p}"));
            }
        }
    }

    let mut files = Vec::new();
    let mut service = String::new();
    for (rel, bytes) in sources {
        if !rel.ends_with(".js") {
            continue;
        }
        let code = String::from_utf8_lossy(bytes);
        let page = rel.trim_end_matches(".js");
        let is_page = pages.iter().any(|p| p == page);
        if is_page {
            let _ = writeln!(
                service,
                "__wxRoute = \"{page}\";__wxRouteBegin = true;__wxAppCurrentFile__ = \"{rel}\";"
            );
        }
        let _ = writeln!(service, "define(\"{rel}\", function({WRAP_PARAMS}){{");
        service.push_str(&code);
        service.push_str("\n});\n");
        if is_page || rel == "app.js" {
            let _ = writeln!(service, "require(\"{rel}\");");
        }
    }
    files.push(("/app-service.js".to_owned(), service.into_bytes()));

    // app-config.json: app.json's members, then each page's configuration, then the entry page.
    let mut page_configs = Vec::new();
    for p in &pages {
        let config = sources.get(&format!("{p}.json")).map_or_else(
            || "{}".to_owned(),
            |b| String::from_utf8_lossy(b).into_owned(),
        );
        page_configs.push(format!("\"{p}.html\":{{\"window\":{}}}", config.trim()));
    }
    let body = app_json.trim().trim_end_matches('}').trim_end();
    let entry = pages.first().cloned().unwrap_or_default();
    let config = format!(
        "{body},\"page\":{{{}}},\"entryPagePath\":\"{entry}.html\"}}",
        page_configs.join(",")
    );
    files.push(("/app-config.json".to_owned(), config.into_bytes()));

    for (rel, bytes) in sources {
        let is_page_json =
            rel.ends_with(".json") && pages.iter().any(|p| format!("{p}.json") == *rel);
        if rel.ends_with(".js") || rel == "app.json" || is_page_json {
            continue;
        }
        files.push((format!("/{rel}"), bytes.clone()));
    }
    files
}

/// The bytes of a package holding `files` (names as stored, e.g. `/app.js`).
pub fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let index_len: usize = 4 + files.iter().map(|(n, _)| 12 + n.len()).sum::<usize>();
    let body_len: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(14 + index_len + body_len);
    out.push(0xBE);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&u32::try_from(index_len).expect("small").to_be_bytes());
    out.extend_from_slice(&u32::try_from(body_len).expect("small").to_be_bytes());
    out.push(0xED);
    out.extend_from_slice(&u32::try_from(files.len()).expect("small").to_be_bytes());
    let mut offset = 14 + index_len;
    for (name, bytes) in files {
        out.extend_from_slice(&u32::try_from(name.len()).expect("small").to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&u32::try_from(offset).expect("small").to_be_bytes());
        out.extend_from_slice(&u32::try_from(bytes.len()).expect("small").to_be_bytes());
        offset += bytes.len();
    }
    for (_, bytes) in files {
        out.extend_from_slice(bytes);
    }
    out
}

/// A package with a hand-written index: `(name, offset, size)` rows, then `body` bytes. The
/// header's lengths are computed from what is written.
pub fn pack_index(index: &[(&[u8], u32, u32)], body: &[u8]) -> Vec<u8> {
    let index_len: usize = 4 + index.iter().map(|(n, _, _)| 12 + n.len()).sum::<usize>();
    let mut out = vec![0xBE];
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&u32::try_from(index_len).expect("small").to_be_bytes());
    out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
    out.push(0xED);
    out.extend_from_slice(&u32::try_from(index.len()).expect("small").to_be_bytes());
    for (name, offset, size) in index {
        out.extend_from_slice(&u32::try_from(name.len()).expect("small").to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&size.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// Where the body of a [`pack_index`] package starts.
pub fn body_start(index: &[(&[u8], u32, u32)]) -> u32 {
    u32::try_from(18 + index.iter().map(|(n, _, _)| 12 + n.len()).sum::<usize>()).expect("small")
}

/// The PC client's encryption of a package (the inverse of `wxapkg::decrypt_pc`): `V1MMWX`,
/// AES-256-CBC of the first 1,023 bytes plus one filler byte, the rest combined by XOR.
pub fn encrypt_pc(plain: &[u8], appid: &str) -> Vec<u8> {
    assert!(
        plain.len() >= 1023,
        "the PC format needs at least 1023 bytes"
    );
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(appid.as_bytes(), b"saltiest", 1000, &mut key);
    let mut head = plain[..1023].to_vec();
    head.push(0);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&key.into(), b"the iv: 16 bytes".into())
        .encrypt_padded_mut::<NoPadding>(&mut head, 1024)
        .expect("1024 bytes are whole blocks")
        .to_vec();
    let b = appid.as_bytes();
    let x = if b.len() < 2 { 0x66 } else { b[b.len() - 2] };
    let mut out = b"V1MMWX".to_vec();
    out.extend_from_slice(&enc);
    out.extend(plain[1023..].iter().map(|c| c ^ x));
    out
}
