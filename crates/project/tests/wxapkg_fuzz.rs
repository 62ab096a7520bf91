//! Stable-Rust smoke fuzzing of the `.wxapkg` reader and restorer (the libFuzzer target is
//! `fuzz/fuzz_targets/wxapkg.rs`, which needs nightly).
//!
//! Seeds are real packages from the test packer (plain and PC-encrypted); mutations flip
//! bytes, overwrite the header's and index's `u32` fields with edge values, cut, splice and
//! insert. Invariants: nothing panics; an accepted package's entries lie inside it; restored
//! names are relative and free of `.`/`..`/empty components; writing a restored package puts
//! files only below the output folder.
//!
//! By default a fixed number of cases runs; `MINIGUARD_FUZZ_SECS=N` runs for N seconds and
//! `MINIGUARD_FUZZ_SEED` changes the seed (`fuzz/run-short.sh` sets both).

#[path = "support/packer.rs"]
mod packer;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use miniguard_project::wxapkg::{self, Limits};

const CASES: u64 = 1_000;
const APPID: &str = "wx0123456789abcdef";

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut src = BTreeMap::new();
    src.insert(
        "app.json".to_owned(),
        br#"{"pages":["pages/a/a"],"subPackages":[{"root":"sub","pages":["b/b"]}]}"#.to_vec(),
    );
    src.insert("app.js".to_owned(), b"App({})".to_vec());
    src.insert(
        "pages/a/a.js".to_owned(),
        b"Page({ onLoad(o) { this.setData({ h: o.h }) } })".to_vec(),
    );
    src.insert(
        "pages/a/a.wxml".to_owned(),
        b"<rich-text nodes=\"{{h}}\"/>".to_vec(),
    );
    src.insert(
        "pages/a/a.json".to_owned(),
        br#"{"navigationBarTitleText":"a"}"#.to_vec(),
    );
    src.insert("sub/b/b.js".to_owned(), vec![b'x'; 1200]);
    let plain = packer::pack(&packer::compile(&src));
    let enc = packer::encrypt_pc(&plain, APPID);
    let odd = packer::pack(&[
        (
            "/app-service.js".to_owned(),
            b"(function(){define(\"plugin-private://wx1111111111111111/i.js\",function(){\nx\n})})()"
                .to_vec(),
        ),
        ("/game.js".to_owned(), b"define(\"../a.js\", function(){})".to_vec()),
        ("/page-frame.html".to_owned(), b"$gwx".to_vec()),
    ]);
    vec![plain, enc, odd]
}

const EDGE: &[u32] = &[
    0,
    1,
    2,
    13,
    14,
    17,
    18,
    255,
    1023,
    1024,
    0x7fff_ffff,
    u32::MAX - 1,
    u32::MAX,
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if data.len() >= 4 => {
                // A u32 field: the header's and index's are early in the package.
                let limit = data.len().min(400) - 3;
                let i = rng.below(limit);
                data[i..i + 4].copy_from_slice(&EDGE[rng.below(EDGE.len())].to_be_bytes());
            }
            2 => data.truncate(rng.below(data.len() + 1)),
            3 if !data.is_empty() => {
                let i = rng.below(data.len());
                let n = rng.below(16);
                let fill = u8::try_from(rng.below(256)).unwrap_or(0);
                data.splice(i..i, std::iter::repeat_n(fill, n));
            }
            4 if !data.is_empty() => {
                let i = rng.below(data.len());
                let piece = [b'.', b'.', b'/', b'\\', b':', 0, b'/'];
                data.splice(i..i, piece[..=rng.below(piece.len() - 1)].iter().copied());
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let i = rng.below(data.len() + 1);
                let j = rng.below(other.len() + 1);
                data.truncate(i);
                data.extend_from_slice(&other[j..]);
            }
        }
    }
    data
}

fn check(data: Vec<u8>, write_into: Option<&Path>) {
    let limits = Limits {
        max_files: 4096,
        max_bytes: 1 << 22,
        max_name_len: 512,
    };
    let Ok(pkg) = wxapkg::open(data, Some(APPID), &limits) else {
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
                && name
                    .split('/')
                    .all(|p| !p.is_empty() && p != "." && p != ".."),
            "unsafe restored name {name:?}"
        );
    }
    if let Some(dir) = write_into {
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        if wxapkg::write_tree(&out, &restored.files).is_ok() {
            for name in restored.files.keys() {
                assert!(out.join(name).is_file(), "{name} written");
            }
        }
        let outside: Vec<_> = std::fs::read_dir(dir)
            .expect("read")
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "out")
            .collect();
        assert!(outside.is_empty(), "wrote outside the output folder");
    }
}

#[test]
fn wxapkg_reader_survives_mutated_packages() {
    let seed = std::env::var("MINIGUARD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64)
        | 1;
    let secs: Option<u64> = std::env::var("MINIGUARD_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let seeds = seeds();
    for s in &seeds {
        assert!(wxapkg::open(s.clone(), Some(APPID), &Limits::default()).is_ok());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(seed);
    let mut cases = 0u64;
    loop {
        let data = mutate(&mut rng, &seeds);
        let write = cases.is_multiple_of(100);
        check(data, write.then_some(dir.path()));
        cases += 1;
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if cases >= CASES => break,
            _ => {}
        }
    }
    eprintln!("wxapkg smoke fuzz: {cases} cases, seed {seed}");
}
