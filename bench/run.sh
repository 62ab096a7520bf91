#!/bin/sh
# Benchmark miniguard against semgrep: see bench/run.py --help and docs/benchmarks.md.
exec python3 "$(dirname "$0")/run.py" "$@"
