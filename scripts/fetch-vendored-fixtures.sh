#!/usr/bin/env bash
# Fetch real copies of old library versions for the vendored-code detector's tests
# (crates/deps/tests/fixtures/vendored/), and print miniguard's own crypto-js hash table.
#
# Why real files: the detector recognises copied libraries by their version banners and file
# hashes (as retire.js does); only byte-exact copies of published releases test that honestly.
# Every file comes from `npm pack NAME@VERSION` (the tarball npm itself would install), then is
# copied, or cut down to its banner where detection relies only on the banner (keeps the
# repository small). Files whose detection relies on the whole content (file hashes, or a version
# string near the end of a minified file) are kept whole.
#
# The fixture tree looks like a mini-program: copied libraries under `miniprogram/` (some renamed,
# as people do) and a `miniprogram/miniprogram_npm/` folder as the WeChat npm build leaves it.
# Hand-written parts (our own clean code, the package.json of a fake `@vant/weapp`) are written
# here too, so one run recreates the whole tree.
#
# Usage:
#   scripts/fetch-vendored-fixtures.sh                    # (re)write the fixture tree
#   scripts/fetch-vendored-fixtures.sh --crypto-js-hashes # print the sha1 table for
#                                                         # crates/deps/src/vendored/extra.rs
# Needs: node + npm reaching the npm registry through npm's normal configuration, sha1sum.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/crates/deps/tests/fixtures/vendored"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Unpack NAME@VERSION into $WORK/NAME@VERSION/package and print that folder.
unpack() {
  local spec="$1" dir="$WORK/$1"
  if [[ ! -d "$dir/package" ]]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$spec" >/dev/null 2>&1 && tar xzf ./*.tgz)
  fi
  printf '%s\n' "$dir/package"
}

# The crypto-js releases whose files we hash. crypto-js ships no version string in its files,
# so a hash is the only way to tell the release from a copy. Some releases ship byte-identical
# files (3.3.0 reverted 4.0.0 back to the 3.1.9-1 code): such a hash is printed once, with the
# highest of those releases, since identical code has the same flaws whatever its label, and
# the highest label avoids reporting advisories fixed in between; the comment lists them all.
CRYPTO_JS_VERSIONS=(3.1.2 3.1.8 3.1.9-1 3.2.0 3.2.1 3.3.0 4.0.0 4.1.1 4.2.0)
CRYPTO_JS_FILES=(crypto-js.js core.js aes.js pbkdf2.js)

if [[ "${1:-}" == "--crypto-js-hashes" ]]; then
  for v in "${CRYPTO_JS_VERSIONS[@]}"; do
    pkg="$(unpack "crypto-js@$v")"
    for f in "${CRYPTO_JS_FILES[@]}"; do
      [[ -f "$pkg/$f" ]] || continue
      # retire.js hashes content with CRLF/CR turned into LF; npm files are LF already.
      printf '%s %s %s\n' "$(sha1sum <"$pkg/$f" | cut -d' ' -f1)" "$f" "$v"
    done
  done | sort -k1,1 -k3,3V | awk '
    $1 != h { if (h != "") out(); h = $1; f = $2; vs = $3; top = $3; next }
    { vs = vs " " $3; top = $3 }
    END { if (h != "") out() }
    function out() { printf "    (\"%s\", \"%s\"), // %s %s\n", h, top, f, vs }
  ' | sort -t'"' -k6,6 -k4,4V
  exit 0
fi

rm -rf "$OUT/tree"
T="$OUT/tree/miniprogram"
mkdir -p "$T/lib" "$T/libs" "$T/utils" "$T/static" "$T/pages/index" \
  "$T/miniprogram_npm/@vant/weapp/button" "$T/miniprogram_npm/lodash" "$T/miniprogram_npm/mp-html"

# First N lines of a file (N=0: the whole file).
head_lines() { if [[ "$2" == 0 ]]; then cat "$1"; else head -n "$2" "$1"; fi; }
# First N bytes (a minified file is one or two long lines: cut inside them).
head_bytes() { head -c "$2" "$1"; }

# jQuery 1.8.0 is not on npm; 1.8.3 is the closest 1.8 release. Its npm tarball has the browser
# build in tmp/jquery.js (banner on line 2). Cut to the banner and the first 200 lines.
pkg="$(unpack jquery@1.8.3)";      head_lines "$pkg/tmp/jquery.js" 200 >"$T/lib/jquery.js"
pkg="$(unpack jquery@3.3.1)";      head_bytes "$pkg/dist/jquery.min.js" 4096 >"$T/libs/jquery.min.js"
# lodash.min.js has no version in its banner: the version is near the end (`An.VERSION="..."`),
# so the whole file is kept.
pkg="$(unpack lodash@4.17.11)";    cp "$pkg/lodash.min.js" "$T/libs/lodash.min.js"
# The WeChat npm build copies a package's main file to miniprogram_npm/NAME/index.js, without
# its package.json. lodash.js states its version in the header.
head_lines "$pkg/lodash.js" 60 >"$T/miniprogram_npm/lodash/index.js"
pkg="$(unpack moment@2.18.0)";     head_bytes "$pkg/min/moment.min.js" 4096 >"$T/utils/moment.min.js"
# crypto-js: no version string anywhere, recognised by file hash only: kept whole.
pkg="$(unpack crypto-js@3.1.9-1)"; cp "$pkg/crypto-js.js" "$T/utils/crypto-js.js"
cp "$pkg/aes.js" "$T/utils/aes.js"
pkg="$(unpack axios@0.18.0)";      cp "$pkg/dist/axios.min.js" "$T/libs/axios.min.js"
pkg="$(unpack handlebars@4.0.11)"; head_bytes "$pkg/dist/handlebars.min.js" 4096 >"$T/static/handlebars.min.js"

# Hand-written: a component library whose build kept its package.json...
cat >"$T/miniprogram_npm/@vant/weapp/package.json" <<'EOF'
{
  "name": "@vant/weapp",
  "version": "1.3.3",
  "description": "fixture: a package.json as a miniprogram_npm folder may keep it",
  "main": "index.js"
}
EOF
cat >"$T/miniprogram_npm/@vant/weapp/button/index.js" <<'EOF'
// fixture: stands in for a component of the library; no version inside.
Component({ properties: { type: String } });
EOF
# ...and a package with neither package.json nor a recognisable main file: version unknown.
cat >"$T/miniprogram_npm/mp-html/index.js" <<'EOF'
// fixture: a package main file that names no version.
module.exports = function parse(html) { return String(html).length; };
EOF
# Our own code: mentions library names and versions, but is no library.
cat >"$T/pages/index/index.js" <<'EOF'
// Page code that only talks about libraries: none of this is a copy of one.
const jquery = require('../../libs/jquery.min.js'); // the jQuery v3 build
const _ = require('../../libs/lodash.min.js');
const notes = 'we moved off jQuery 1.8.0 and moment.js; lodash v4.17.21 next';
const config = { version: "1.0.0", lodash: true, moment: 'moment.js version : none' };
Page({ data: { notes, config }, onLoad() { this.setData({ n: _.size(jquery) }); } });
EOF

echo "wrote $(find "$OUT/tree" -type f | wc -l) files under ${OUT#"$ROOT"/}/tree"
