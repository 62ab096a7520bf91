#!/usr/bin/env bash
# Validate SARIF files with Microsoft's SARIF multitool, the reference validator of SARIF 2.1.0.
#
#   .ci/validate-sarif.sh FILE...
#
# Fails (exit 1) if any file has a validation result of level error or warning, including the
# GitHub code-scanning ingestion rules (`--rule-kind Sarif;Gh`). Notes (suggestions such as
# "provide a help URI" or "provide versionControlProvenance") are not failures and are not shown.
# Exit 2 means the validator could not be installed or run.
#
# The multitool is installed with npm on first use into a cache directory:
#   SARIF_MULTITOOL_CACHE    default: ${XDG_CACHE_HOME:-~/.cache}/miniguard/sarif-multitool-<version>
#   SARIF_MULTITOOL_VERSION  default: 5.7.0
# Needs node and npm (the multitool itself is a self-contained .NET binary for linux or macOS).
#
# The native binary is called directly rather than through `npx sarif-multitool`: the npm wrapper
# runs it through a shell, which splits the `;`-separated option values the multitool expects.
# The multitool exits 0 even when it reports errors, so the results are read from its SARIF log.

set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 FILE..." >&2
    exit 2
fi

version="${SARIF_MULTITOOL_VERSION:-5.7.0}"
cache="${SARIF_MULTITOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/miniguard/sarif-multitool-$version}"

case "$(uname -s)" in
    Linux) platform=linux ;;
    Darwin) platform=darwin ;;
    *)
        echo "error: unsupported platform $(uname -s) (the multitool ships for linux and darwin here)" >&2
        exit 2
        ;;
esac

bin="$cache/node_modules/@microsoft/sarif-multitool-$platform/Sarif.Multitool"
if [[ ! -f "$bin" ]]; then
    echo "installing @microsoft/sarif-multitool@$version into $cache" >&2
    mkdir -p "$cache"
    if ! npm install --no-save --no-audit --no-fund --loglevel=error \
        --prefix "$cache" "@microsoft/sarif-multitool@$version" >&2; then
        echo "error: npm install of the SARIF multitool failed" >&2
        exit 2
    fi
fi
if [[ ! -f "$bin" ]]; then
    echo "error: $bin missing after install" >&2
    exit 2
fi
# The package's postinstall (which npm may skip) only does this.
chmod u+x "$bin"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=0
for file in "$@"; do
    if [[ ! -f "$file" ]]; then
        echo "error: $file: no such file" >&2
        failed=1
        continue
    fi
    out="$work/result.sarif"
    rm -f "$out"
    echo "validating $file" >&2
    # The file goes first: list-valued options would swallow a positional argument after them.
    if ! "$bin" validate "$file" --output "$out" --rule-kind "Sarif;Gh" --level "Error;Warning" \
        >"$work/console.txt" 2>&1; then
        cat "$work/console.txt" >&2
        echo "error: the validator failed on $file" >&2
        failed=1
        continue
    fi
    # Show what the validator said about the file, without its banner lines.
    grep -v -E '^(Analyzing\.\.\.|THREADS: [0-9]+|Done\. .*|Analysis completed successfully\.|)$' \
        "$work/console.txt" >&2 || true
    if [[ ! -f "$out" ]]; then
        echo "error: the validator wrote no result log for $file" >&2
        failed=1
        continue
    fi
    # Count error and warning results, and failed or erroring invocations (unparsable input).
    problems="$(node -e '
        const log = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        let n = 0;
        for (const run of log.runs || []) {
            for (const r of run.results || []) {
                const level = r.level || "warning";
                if (level === "error" || level === "warning") n++;
            }
            for (const inv of run.invocations || []) {
                if (inv.executionSuccessful === false) n++;
                for (const note of [...(inv.toolExecutionNotifications || []),
                                    ...(inv.toolConfigurationNotifications || [])]) {
                    if ((note.level || "warning") === "error") n++;
                }
            }
        }
        console.log(n);
    ' "$out")"
    if [[ "$problems" != "0" ]]; then
        echo "$file: $problems error(s) or warning(s)" >&2
        failed=1
    else
        echo "$file: valid, no errors or warnings" >&2
    fi
done
exit "$failed"
