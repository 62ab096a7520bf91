#!/usr/bin/env bash
# Throughput of `miniguard serve --dev` over HTTPS on 127.0.0.1 (see docs/benchmarks.md):
# builds the release binary and crates/server/examples/loadgen.rs, starts the server with a data
# directory in a temporary directory and bench/serve/bench.toml, runs the load generator (which
# logs in with dev:bench and signs every request afresh) and stops the server.
#
# Usage: bench/serve/run.sh [--no-build] [loadgen options...]
#   e.g. bench/serve/run.sh --concurrency 16 --duration 10 --rounds 3
# CARGO_TARGET_DIR is honoured; the binaries are taken from $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
if [ "${1:-}" = "--no-build" ]; then
    shift
else
    cargo build --release -p miniguard -p miniguard-server --bin miniguard --example loadgen
fi
BIN="$TARGET/release/miniguard"
LOADGEN="$TARGET/release/examples/loadgen"
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --dev --listen 127.0.0.1:0 --data-dir "$WORK/dev" --config bench/serve/bench.toml \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    grep -q '^  listening' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.2
done
grep -q '^  listening' "$WORK/serve.out" || { cat "$WORK/serve.err"; echo "bench: the server did not start"; exit 1; }
URL=$(awk '/^  listening/ {print $2}' "$WORK/serve.out")

echo "bench: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "bench: $("$BIN" --version), release build, server at $URL, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$LOADGEN" --url "$URL" --ca "$WORK/dev/dev-cert.pem" --code dev:bench "$@" || status=$?
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg); server log $(wc -c <"$WORK/serve.err") bytes"
exit "$status"
