#!/usr/bin/env bash
# `miniguard probe` and sqlmap on the same SQL injection points of examples/vulnerable-backend
# (see docs/benchmarks.md): GET /api/goods?keyword= (errors shown) and GET /api/goods/count?name=
# (blind: errors swallowed, constant answer). Prints, per tool, whether each point was found,
# the requests sent and the seconds taken. A second probe run covers the points sqlmap has no
# payloads for (NoSQL operators, a shell command, a template, an uncapped page size) and their
# safe look-alikes (bench/probe/openapi-inject.json).
#
# Usage: bench/probe/run.sh            (MINIGUARD_TEST_MYSQL=1 for MariaDB instead of SQLite)
# The binary is $MINIGUARD_BIN, else $CARGO_TARGET_DIR/release/miniguard; sqlmap from PATH
# (`pip install sqlmap`).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${MINIGUARD_BIN:-${CARGO_TARGET_DIR:-target}/release/miniguard}
HAVE_SQLMAP=1
command -v sqlmap >/dev/null || { echo "bench: sqlmap is not installed (pip install sqlmap): its half is skipped"; HAVE_SQLMAP=0; }
examples/vulnerable-backend/setup.sh
WORK=$(mktemp -d)
NODE_PID=""
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
node examples/vulnerable-backend/server.js --port 0 >"$WORK/node.out" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 100); do
    grep -q 'vulnerable backend on' "$WORK/node.out" 2>/dev/null && break
    sleep 0.1
done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/node.out" | head -1)
HOSTPORT=${URL#http://}
echo "bench: $(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $("$BIN" --version), $( [ "$HAVE_SQLMAP" = 1 ] && sqlmap --version 2>/dev/null | tail -1 | sed 's/^/sqlmap /'), backend $(head -1 "$WORK/node.out")"

cat >"$WORK/scope.toml" <<SCOPE
[scope]
hosts = ["$HOSTPORT"]
paths = ["/"]
rate_per_second = 1000
max_requests = 5000
max_seconds = 600
SCOPE

now() { date +%s.%N; }
start=$(now)
# C105 (slow requests) and C107 (idle connections) hold connections for 20 s and 95 s by design;
# they are not injection checks.
"$BIN" probe "$URL" --scope "$WORK/scope.toml" --openapi bench/probe/openapi-sqli.json --skip C105,C107 \
    --format json --output "$WORK/probe.json" --fail-on never --no-progress 2>"$WORK/probe.err"
end=$(now)
requests=$(grep -o '^probe: [0-9]* requests sent' "$WORK/probe.err" | grep -o '[0-9]*')
for point in "/api/goods keyword" "/api/goods/count name"; do
    route=${point% *}
    found=$(python3 -c "import json,sys; r=json.load(open('$WORK/probe.json')); print('found' if any(f['rule']=='I101' and f['location']['path']=='$route' for f in r['findings']) else 'MISSED')")
    echo "probe   $point: $found"
done
printf 'probe   total: %s requests, %.1f s (all checks of the run, injection and the rest)\n' "$requests" "$(echo "$end - $start" | bc)"

# The injection points sqlmap has no payloads for: NoSQL operators (query and JSON body), a
# shell command (its output shown, and blind), a template, an uncapped page size; and their safe look-alikes, which must stay
# silent.
start=$(now)
"$BIN" probe "$URL" --scope "$WORK/scope.toml" --openapi bench/probe/openapi-inject.json --skip C105,C107 \
    --format json --output "$WORK/probe2.json" --fail-on never --no-progress 2>"$WORK/probe2.err"
end=$(now)
requests=$(grep -o '^probe: [0-9]* requests sent' "$WORK/probe2.err" | grep -o '[0-9]*')
for point in "I102 /api/coupons" "I102 /api/coupons/check" "I105 /api/shipping/track" "I105 /api/invoices/email" "I106 /api/greeting" "C106 /api/reviews" \
    "- /api/parcels" "- /api/greeting/plain" "- /api/coupons/strict" "- /api/reviews/top"; do
    rule=${point% *}
    route=${point#* }
    got=$(python3 -c "import json; r=json.load(open('$WORK/probe2.json')); print(','.join(sorted({f['rule'] for f in r['findings'] if f['location']['path']=='$route' and f['rule'][0] in 'IC' and f['rule'] not in ('C101','C102','C103')})) or 'nothing')")
    if [ "$rule" = "-" ]; then want=nothing; else want=$rule; fi
    [ "$got" = "$want" ] && verdict=ok || verdict=WRONG
    echo "probe   $route: $got (expected $want) $verdict"
done
printf 'probe   total (second run): %s requests, %.1f s\n' "$requests" "$(echo "$end - $start" | bc)"

[ "$HAVE_SQLMAP" = 1 ] || exit 0
total_req=0
start=$(now)
for point in "/api/goods keyword" "/api/goods/count name"; do
    route=${point% *}
    param=${point#* }
    # sqlmap's defaults first; a point they miss is tried again at --level 5 --risk 3.
    for opts in "" "--level 5 --risk 3"; do
        out="$WORK/sqlmap-${param}.out"
        t0=$(now)
        # shellcheck disable=SC2086
        sqlmap -u "$URL$route?$param=tea" -p "$param" --batch --flush-session $opts \
            --output-dir "$WORK/sqlmap" >"$out" 2>&1 || true
        t1=$(now)
        n=$(grep -o "with a total of [0-9]* HTTP(s) requests" "$out" | grep -o "[0-9]*" | head -1 || true)
        label=${opts:-defaults}
        if [ -n "$n" ]; then
            types=$(grep -o "Type: .*" "$out" | sed 's/Type: //' | paste -sd, - || true)
            printf 'sqlmap  %s (%s): found (%s) with %s requests, %.1f s\n' "$point" "$label" "$types" "$n" "$(echo "$t1 - $t0" | bc)"
            total_req=$((total_req + n))
            break
        fi
        printf 'sqlmap  %s (%s): MISSED, %.1f s (sqlmap gives no request count when it finds nothing)\n' "$point" "$label" "$(echo "$t1 - $t0" | bc)"
    done
done
end=$(now)
printf 'sqlmap  total: %s requests of the successful runs, %.1f s in all\n' "$total_req" "$(echo "$end - $start" | bc)"
