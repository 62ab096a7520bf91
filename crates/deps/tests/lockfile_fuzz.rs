//! Stable-Rust smoke fuzzing of the npm, yarn and pnpm lockfile parsers, with the invariants of
//! the libFuzzer targets `lockfile_npm`, `lockfile_yarn` and `lockfile_pnpm` (which need
//! nightly): no input panics, and every dependency returned points at a line of the input, names
//! the file it came from, and ends its chain with itself.
//!
//! The inputs are deterministic pseudo-random mutations of the lockfiles and manifests written
//! by the real tools (`tests/fixtures/lockfiles`). By default a fixed number of cases runs (fast
//! in debug builds); `MINIGUARD_FUZZ_SECS=N` runs for N seconds instead and
//! `MINIGUARD_FUZZ_SEED` changes the seed. `fuzz/run-short.sh` does that when `cargo fuzz` is
//! unavailable.

use std::time::{Duration, Instant};

use miniguard_deps::lockfile::{LockfileKind, parse_with_manifest};

const CASES: u64 = 1500;
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lockfiles");

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\n",
    "\r\n",
    "  ",
    "- ",
    "'",
    "@",
    "/",
    "^",
    "~",
    "npm:",
    "file:",
    "link:",
    "workspace:",
    "git+https://x/y.git#",
    "\"version\": ",
    "resolved ",
    "dependencies:",
    "packages:",
    "&a ",
    "*a",
    "!!",
    "\\u0000",
    "\0",
    "é",
    "中",
];

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

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    match rng.below(7) {
        0 => input.truncate(rng.below(len + 1)),
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        2 | 3 => {
            let at = rng.below(len + 1);
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            input.splice(at..at, token.iter().copied());
        }
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(64)).min(len);
            input.drain(a..b);
        }
        5 if len > 0 => {
            // Duplicate a chunk: repeated keys, deeper nesting.
            let a = rng.below(len);
            let b = (a + rng.below(200)).min(len);
            let chunk: Vec<u8> = input[a..b].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, chunk);
        }
        _ => {
            let at = rng.below(len + 1);
            input.insert(at, u8::try_from(rng.below(256)).unwrap_or(0));
        }
    }
}

fn check(kind: LockfileKind, lock: &str, manifest: Option<&str>) {
    let Ok(deps) = parse_with_manifest(kind, "lock", lock, manifest) else {
        return;
    };
    // YAML also breaks lines at a lone CR: count both, an upper bound either way.
    let lines = lock.bytes().filter(|&b| b == b'\n' || b == b'\r').count() + 1;
    for d in &deps {
        assert!(
            d.line >= 1 && d.line as usize <= lines,
            "{kind:?} line {} of {lines}: {d:?}",
            d.line
        );
        assert_eq!(d.file, "lock");
        assert_eq!(d.chain.last(), Some(&d.name), "{d:?}");
    }
}

#[test]
fn lockfile_parsers_survive_mutated_lockfiles() {
    let seed = std::env::var("MINIGUARD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x10c4_f11e_5eed_u64);
    let budget = std::env::var("MINIGUARD_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let read = |rel: &str| std::fs::read(format!("{FIX}/{rel}")).expect("fixture");
    let seeds: Vec<(LockfileKind, Vec<u8>, Vec<u8>)> = [
        (LockfileKind::Npm, "npm-11.19.1-v1", "package-lock.json"),
        (LockfileKind::Npm, "npm-11.19.1-v3", "package-lock.json"),
        (LockfileKind::Yarn, "yarn-1.22.22", "yarn.lock"),
        (LockfileKind::Yarn, "yarn-4.5.3", "yarn.lock"),
        (LockfileKind::Pnpm, "pnpm-7.33.7", "pnpm-lock.yaml"),
        (LockfileKind::Pnpm, "pnpm-9.15.9", "pnpm-lock.yaml"),
    ]
    .into_iter()
    .map(|(kind, dir, file)| {
        (
            kind,
            read(&format!("{dir}/{file}")),
            read(&format!("{dir}/package.json")),
        )
    })
    .collect();
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        match budget {
            Some(b) if started.elapsed() >= b => break,
            None if cases >= CASES => break,
            _ => {}
        }
        let (kind, lock, manifest) = &seeds[rng.below(seeds.len())];
        let (mut lock, mut manifest) = (lock.clone(), manifest.clone());
        for _ in 0..=rng.below(6) {
            if rng.below(4) == 0 {
                mutate(&mut rng, &mut manifest);
            } else {
                mutate(&mut rng, &mut lock);
            }
        }
        let lock = String::from_utf8_lossy(&lock);
        let manifest = String::from_utf8_lossy(&manifest);
        check(*kind, &lock, Some(&manifest));
        check(*kind, &lock, None);
        cases += 1;
    }
    eprintln!(
        "lockfile fuzz: {cases} cases in {:?} (seed {seed})",
        started.elapsed()
    );
    if budget.is_none() {
        assert!(started.elapsed() < Duration::from_mins(1));
    }
}
