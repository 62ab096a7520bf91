#!/usr/bin/env bash
# Fuzz the template parser, the Vue block splitter, the JSON config reader, the .wxapkg reader
# and the npm, yarn and pnpm lockfile parsers for a short while: `fuzz/run-short.sh [SECONDS]`
# (default 30).
#
# With cargo-fuzz and a nightly toolchain this runs the libFuzzer target `wxml`. Without them
# (the usual case here: only stable Rust), it runs the stable smoke fuzz test
# crates/scan/tests/template_fuzz.rs in release mode for the same time, which mutates real
# template snippets with a seeded PRNG and checks the same invariants, and the same for the
# lockfile parsers (crates/deps/tests/lockfile_fuzz.rs).
set -euo pipefail

secs="${1:-30}"
case "$secs" in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if cargo fuzz --version >/dev/null 2>&1 && cargo +nightly --version >/dev/null 2>&1; then
  echo "running libFuzzer target wxml for ${secs}s" >&2
  mkdir -p fuzz/corpus/wxml fuzz/corpus/vue_blocks fuzz/corpus/json_config fuzz/corpus/wxapkg \
    fuzz/corpus/lockfile_npm fuzz/corpus/lockfile_yarn fuzz/corpus/lockfile_pnpm
  cargo +nightly fuzz run wxapkg fuzz/corpus/wxapkg -- -max_total_time="$secs"
  cargo +nightly fuzz run wxml fuzz/corpus/wxml -- \
    -max_total_time="$secs" -dict=fuzz/wxml.dict
  # The Vue block splitter (with the nesting pre-scan) and the JSON config reader, briefly.
  # The lockfile parsers too.
  for target in vue_blocks json_config lockfile_npm lockfile_yarn lockfile_pnpm; do
    echo "running libFuzzer target $target for $(( (secs + 2) / 3 ))s" >&2
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$(( (secs + 2) / 3 ))"
  done
  exit 0
fi

echo "cargo fuzz or nightly not available; running the stable smoke fuzz for ${secs}s" >&2
MINIGUARD_FUZZ_SECS="$secs" MINIGUARD_FUZZ_SEED="${MINIGUARD_FUZZ_SEED:-$RANDOM$RANDOM}" cargo test --release -p miniguard-project --test wxapkg_fuzz -- --nocapture
MINIGUARD_FUZZ_SECS="$secs" MINIGUARD_FUZZ_SEED="${MINIGUARD_FUZZ_SEED:-$RANDOM$RANDOM}" \
  cargo test --release -p miniguard-scan --test template_fuzz -- --nocapture
# The lockfile parsers, for a third of the time.
MINIGUARD_FUZZ_SECS="$(( (secs + 2) / 3 ))" MINIGUARD_FUZZ_SEED="${MINIGUARD_FUZZ_SEED:-$RANDOM$RANDOM}" \
  cargo test --release -p miniguard-deps --test lockfile_fuzz -- --nocapture
# The Vue splitter, the nesting pre-scan and the JSON reader: the same mutations, briefly.
MINIGUARD_FUZZ_SEED="${MINIGUARD_FUZZ_SEED:-$RANDOM$RANDOM}" \
  exec cargo test --release -p miniguard-scan --test hostile smoke -- --nocapture
