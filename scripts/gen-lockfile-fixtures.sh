#!/usr/bin/env bash
# Regenerate the lockfile fixtures of crates/deps/tests/fixtures/lockfiles/ with the real tools.
#
# Why real tools: hand-written lockfiles only test what we believe the formats look like. This
# script builds one small mini-program-like project (old vulnerable registry packages, a dev
# dependency tree with a nested `node_modules` conflict, an optional dependency, an `npm:` alias,
# a workspace package and a `file:` local package) and lets npm, yarn v1, yarn berry and pnpm
# 7/8/9 write their lockfiles for it, without installing anything (`--package-lock-only`,
# `--lockfile-only`, `--mode update-lockfile`).
#
# Needs: node + npm reaching the npm registry through npm's normal configuration. yarn v1 and
# pnpm come through `npx`, yarn berry through corepack (told to download from the npm registry).
# Git dependencies are left out: they need a git host, which this machine cannot reach; the
# hand-written fixtures under `hand/` cover them.
#
# Every `resolved`/`tarball` URL host is rewritten to `registry.example`; the script fails if a
# real registry host is left in any fixture.
#
# Usage: scripts/gen-lockfile-fixtures.sh   (from anywhere; takes a minute or two)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/crates/deps/tests/fixtures/lockfiles"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The registry npm is configured with; yarn and pnpm are pointed at the same one. Its host is
# never written into the fixtures (nor named in this script).
REGISTRY="$(npm config get registry 2>/dev/null | grep -E '^https?://' | tail -n1)"
[ -n "$REGISTRY" ] || { echo "error: npm has no registry configured" >&2; exit 1; }
REGISTRY_HOST="$(printf '%s' "$REGISTRY" | sed -E 's#^https?://([^/]+).*#\1#')"
export COREPACK_NPM_REGISTRY="${REGISTRY%/}"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
export YARN_NPM_REGISTRY_SERVER="${REGISTRY%/}"
export YARN_ENABLE_TELEMETRY=0
export YARN_ENABLE_GLOBAL_CACHE=0

YARN1=1.22.22
YARN4=4.5.3
# pnpm 6 cannot talk to the registry on Node 20 (ERR_INVALID_THIS); pnpm 7 writes lockfile 5.4.
PNPM7=7.33.7
PNPM8=8.15.9
PNPM9=9.15.9

# $1 = directory, $2 = version spec of the workspace package ("*" or "workspace:*").
make_project() {
  local dir="$1" ws_spec="$2"
  mkdir -p "$dir/packages/shared-ui" "$dir/local-utils"
  cat >"$dir/package.json" <<EOF
{
  "name": "mini-program-demo",
  "version": "1.0.0",
  "private": true,
  "workspaces": ["packages/*"],
  "dependencies": {
    "@miniguard-demo/shared-ui": "$ws_spec",
    "axios": "0.21.0",
    "jsonwebtoken": "8.5.1",
    "local-utils": "file:./local-utils",
    "lodash": "4.17.11",
    "minimist": "0.0.8",
    "my-lodash": "npm:lodash@4.17.15"
  },
  "devDependencies": {
    "chalk": "2.4.2",
    "debug": "2.6.9"
  },
  "optionalDependencies": {
    "is-number": "7.0.0"
  }
}
EOF
  cat >"$dir/packages/shared-ui/package.json" <<'EOF'
{
  "name": "@miniguard-demo/shared-ui",
  "version": "1.0.0",
  "dependencies": {
    "lodash": "4.17.21"
  }
}
EOF
  cat >"$dir/local-utils/package.json" <<'EOF'
{
  "name": "local-utils",
  "version": "0.1.0",
  "dependencies": {
    "ms": "2.1.3"
  }
}
EOF
  printf 'packages:\n  - "packages/*"\n' >"$dir/pnpm-workspace.yaml"
}

# Copy a lockfile (and the package.json beside it, for yarn v1's direct/dev flags) to OUT/$2.
keep() {
  local src="$1" name="$2" file
  mkdir -p "$OUT/$name"
  file="$(basename "$src")"
  # Every tarball URL (npm `"resolved": "..."`, yarn v1 `resolved "..."`, pnpm `tarball: ...`)
  # gets the placeholder host, whatever registry wrote it; git URLs are left alone.
  sed -E \
    -e '/codeload\.github\.com/!s#("resolved": "|resolved "|tarball: )https?://[^/" ]+/#\1https://registry.example/#g' \
    -e "s#https?://${REGISTRY_HOST//./\\.}/#https://registry.example/#g" \
    "$src" >"$OUT/$name/$file"
  cp "$(dirname "$src")/package.json" "$OUT/$name/package.json"
  echo "wrote $OUT/$name/$file"
}

# ONLY="npm yarn1 yarn4 pnpm" limits which tools run (default: all).
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

run() { echo "+ $*" >&2; "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; return 1; }; }

# npm: lockfile v3 (default), v2 and v1.
NPM_VERSION="$(npm --version)"
want npm && for v in 3 2 1; do
  d="$WORK/npm$v"
  make_project "$d" "*"
  (cd "$d" && run npm install --package-lock-only --ignore-scripts --no-audit --no-fund --lockfile-version "$v")
  keep "$d/package-lock.json" "npm-$NPM_VERSION-v$v"
done

# yarn v1: no workspace protocol; workspaces are not in the lockfile at all.
if want yarn1; then
d="$WORK/yarn1"
make_project "$d" "1.0.0"
(cd "$d" && run npx -y "yarn@$YARN1" install --ignore-scripts --non-interactive --no-progress \
  --registry "$REGISTRY")
keep "$d/yarn.lock" "yarn-$YARN1"
fi

# yarn berry (through corepack, which downloads it from the npm registry).
if want yarn4; then
d="$WORK/yarn4"
make_project "$d" "workspace:*"
printf 'nodeLinker: node-modules\nenableGlobalCache: false\n' >"$d/.yarnrc.yml"
(cd "$d" && touch yarn.lock && run corepack "yarn@$YARN4" install --mode update-lockfile)
keep "$d/yarn.lock" "yarn-$YARN4"
fi

# pnpm 7 (lockfile 5.4), 8 (6.0), 9 (9.0).
want pnpm && for p in "$PNPM7" "$PNPM8" "$PNPM9"; do
  d="$WORK/pnpm-$p"
  make_project "$d" "workspace:*"
  (cd "$d" && run npx -y "pnpm@$p" install --lockfile-only --ignore-scripts --registry "$REGISTRY")
  keep "$d/pnpm-lock.yaml" "pnpm-$p"
done

# yarn v1 writes its own default registry host even when told another: catch any `registry.*`
# host but the placeholder, and the configured one.
if grep -rEn -e "$REGISTRY_HOST" -e 'https?://registry\.' "$OUT" | grep -v 'https://registry\.example/'; then
  echo "error: a real registry host is left in the fixtures" >&2
  exit 1
fi
echo "done: fixtures in $OUT"
