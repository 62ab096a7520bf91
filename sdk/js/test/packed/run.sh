#!/usr/bin/env bash
# The packed-build test: the SDK as a mini-program team gets it.
#   1. npm pack the SDK; the tarball holds the built file, the types, no sources;
#   2. copy examples/secure-app/miniprogram (the auditor must find nothing in it: the two halves
#      agree) and install the tarball into the copy;
#   3. run WeChat's own npm build (packNpm of miniprogram-ci, offline);
#   4. drive.js: load that mini-program and the packed SDK with a simulated `wx` and drive a real
#      `miniguard serve --dev` through it (login, pages, signed CRUD, refresh, replay refused);
#   5. bundlers.mjs: Vite and webpack (under uni-app and Taro) bundle the installed package.
# Usage: bash test/packed/run.sh   (MINIGUARD_BIN=path/to/miniguard to skip the cargo build)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SDK=$(cd "$HERE/../.." && pwd)
REPO=$(cd "$SDK/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -n "${MINIGUARD_BIN:-}" ]; then
    BIN=$MINIGUARD_BIN
else
    # A no-op when the workspace tests already built it; never a stale binary.
    (cd "$REPO" && cargo build --quiet --locked -p miniguard)
    BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/miniguard"
fi
[ -x "$BIN" ] || { echo "packed: no miniguard binary at $BIN"; exit 1; }

echo "packed: npm pack"
(cd "$SDK" && npm pack --silent --pack-destination "$WORK" >/dev/null)
TARBALL=$(ls "$WORK"/miniguard-sdk-*.tgz)
tar tzf "$TARBALL" | sort >"$WORK/contents"
for f in package/package.json package/miniprogram/index.js package/index.mjs package/index.d.ts package/index.d.mts; do
    grep -qx "$f" "$WORK/contents" || { echo "packed: $f is missing from the package"; cat "$WORK/contents"; exit 1; }
done
if grep -q '^package/src/\|^package/test/\|^package/node_modules/' "$WORK/contents"; then
    echo "packed: the package ships sources or tests"; cat "$WORK/contents"; exit 1
fi

echo "packed: install into examples/secure-app/miniprogram (a copy)"
mkdir "$WORK/app"
tar -C "$REPO/examples/secure-app/miniprogram" --exclude=node_modules --exclude=miniprogram_npm -cf - . | tar -C "$WORK/app" -xf -
echo "packed: miniguard scan of the example mini-program finds nothing, not even info"
"$BIN" scan "$WORK/app" --no-progress --fail-on info
node -e '
const fs = require("fs");
const file = process.argv[1] + "/package.json";
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
pkg.dependencies["miniguard-sdk"] = "file:" + process.argv[2];
fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
' "$WORK/app" "$TARBALL"
(cd "$WORK/app" && npm install --silent --no-audit --no-fund)

echo "packed: WeChat's npm build (miniprogram-ci packNpm)"
(cd "$HERE" && npm install --silent --no-audit --no-fund)
(cd "$HERE" && timeout 300 node packnpm.js "$WORK/app")
find "$WORK/app/miniprogram_npm" -type f | sed "s|$WORK/app/||" | sort

echo "packed: the mini-program and the packed SDK against miniguard serve --dev"
timeout 300 node "$HERE/drive.js" --app "$WORK/app" --bin "$BIN" \
    --config "$REPO/examples/secure-app/miniguard.toml" --work "$WORK"

echo "packed: the bundlers under uni-app and Taro (Vite, webpack) on the installed package"
timeout 300 node "$HERE/bundlers.mjs" "$WORK/app" "$WORK/bundles"
