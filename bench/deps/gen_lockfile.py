#!/usr/bin/env python3
"""Generate an npm project with a lockfile v3 of N packages for the `miniguard deps` benchmark.

    python3 bench/deps/gen_lockfile.py OUT_DIR                 # 3,000 packages, seed 20240601
    python3 bench/deps/gen_lockfile.py OUT_DIR --packages 10000 --seed 7

Writes OUT_DIR/package.json and OUT_DIR/package-lock.json (lockfileVersion 3, the format of
npm 7+ without the v1 `dependencies` tree), and returns (and prints) a manifest: package count,
hoisted and nested entries, dev/optional counts and the planted vulnerable packages.

What the lockfile looks like:
- Names: about 230 real, popular npm names (scoped and unscoped) and synthetic ones to make up
  the count (`@scope/word-word` about a quarter of them, `word-word[-word]` otherwise).
- A dependency graph without cycles: the root has ~45 prod and ~25 dev dependencies; every other
  package is required by at least one package before it, plus extra edges (power-law fan-out).
  `dev: true` marks packages only reachable from devDependencies, `devOptional` and `optional`
  appear as npm writes them (optional dependencies of a few packages, with `os`/`cpu`).
- About 9% of the entries are nested (`node_modules/a/node_modules/b`, a few two levels deep):
  a second version of a hoisted name, required by its parent with a range the hoisted version
  does not satisfy.
- Planted packages at versions with known advisories: lodash 4.17.11 (hoisted, prod),
  minimist 0.0.8 (nested under mkdirp 0.5.1, as npm did for years), axios 0.21.0 (direct, prod),
  jsonwebtoken 8.5.1 (direct, prod), qs 6.7.0 (nested under body-parser, reached from express).
- `resolved` URLs point only at the placeholder host `registry.example`; `integrity` values are
  sha512 digests of the name and version (well-formed, not real).

Deterministic: the same seed and size give byte-identical files. No network.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import sys

DEFAULT_PACKAGES = 3000
DEFAULT_SEED = 20240601
REGISTRY = "https://registry.example"

# Real, popular npm names with a plausible version (not necessarily the newest). Only the
# planted ones below are deliberately old.
REAL = """
@babel/code-frame 7.24.2; @babel/core 7.24.4; @babel/generator 7.24.4; @babel/helper-plugin-utils 7.24.0
@babel/parser 7.24.4; @babel/runtime 7.24.4; @babel/template 7.24.0; @babel/traverse 7.24.1
@babel/types 7.24.0; @babel/preset-env 7.24.4; @babel/helper-module-imports 7.24.3
@colors/colors 1.6.0; @eslint/js 8.57.0; @eslint/eslintrc 2.1.4; @humanwhocodes/config-array 0.11.14
@jest/core 29.7.0; @jest/types 29.6.3; @jest/transform 29.7.0; @jridgewell/trace-mapping 0.3.25
@jridgewell/sourcemap-codec 1.4.15; @jridgewell/gen-mapping 0.3.5; @nodelib/fs.scandir 2.1.5
@nodelib/fs.stat 2.0.5; @nodelib/fs.walk 1.2.8; @sinclair/typebox 0.27.8; @types/node 20.12.7
@types/estree 1.0.5; @types/json-schema 7.0.15; @types/istanbul-lib-coverage 2.0.6
@typescript-eslint/parser 7.7.0; @typescript-eslint/types 7.7.0; @ungap/structured-clone 1.2.0
@vant/weapp 1.11.5; @vue/shared 3.4.21; @vue/reactivity 3.4.21; @vue/runtime-core 3.4.21
@rollup/pluginutils 5.1.0; @sindresorhus/is 4.6.0; @szmarczak/http-timer 4.0.6
@tootallnate/once 2.0.0; @isaacs/cliui 8.0.2; @pkgjs/parseargs 0.11.0
accepts 1.3.8; acorn 8.11.3; acorn-jsx 5.3.2; agent-base 7.1.1; ajv 8.12.0; ansi-regex 5.0.1
ansi-styles 4.3.0; anymatch 3.1.3; argparse 2.0.1; array-flatten 1.1.1; asynckit 0.4.0
async 3.2.5; balanced-match 1.0.2; base64-js 1.5.1; bignumber.js 9.1.2; binary-extensions 2.3.0
bluebird 3.7.2; bn.js 5.2.1; body-parser 1.20.2; brace-expansion 2.0.1; braces 3.0.2
browserslist 4.23.0; buffer 6.0.3; buffer-from 1.1.2; bytes 3.1.2; call-bind 1.0.7
callsites 3.1.0; camelcase 6.3.0; caniuse-lite 1.0.30001612; chalk 4.1.2; chokidar 3.6.0
ci-info 3.9.0; cliui 8.0.1; color-convert 2.0.1; color-name 1.1.4; colorette 2.0.20
combined-stream 1.0.8; commander 12.0.0; concat-map 0.0.1; content-disposition 0.5.4
content-type 1.0.5; convert-source-map 2.0.0; cookie 0.6.0; cookie-signature 1.0.6
core-util-is 1.0.3; cors 2.8.5; cross-spawn 7.0.3; crypto-js 4.2.0; dayjs 1.11.10; debug 4.3.4
decamelize 1.2.0; deep-is 0.1.4; deepmerge 4.3.1; define-properties 1.2.1; delayed-stream 1.0.0
depd 2.0.0; destroy 1.2.0; diff 5.2.0; dotenv 16.4.5; ee-first 1.1.1; electron-to-chromium 1.4.745
emoji-regex 8.0.0; encodeurl 1.0.2; entities 4.5.0; es-errors 1.3.0; escalade 3.1.2
escape-html 1.0.3; escape-string-regexp 4.0.0; eslint 8.57.0; eslint-scope 7.2.2; esprima 4.0.1
estraverse 5.3.0; esutils 2.0.3; etag 1.8.1; eventemitter3 5.0.1; events 3.3.0; execa 5.1.1
express 4.19.2; fast-deep-equal 3.1.3; fast-glob 3.3.2; fast-json-stable-stringify 2.1.0
fastq 1.17.1; fill-range 7.0.1; finalhandler 1.2.0; find-up 5.0.0; flatted 3.3.1
follow-redirects 1.15.6; form-data 4.0.0; forwarded 0.2.0; fresh 0.5.2; fs-extra 11.2.0
fs.realpath 1.0.0; function-bind 1.1.2; gensync 1.0.0-beta.2; get-caller-file 2.0.5
get-intrinsic 1.2.4; get-stream 6.0.1; glob 10.3.12; glob-parent 6.0.2; globals 13.24.0
graceful-fs 4.2.11; has-flag 4.0.0; has-symbols 1.0.3; hasown 2.0.2; http-errors 2.0.0
https-proxy-agent 7.0.4; human-signals 2.1.0; iconv-lite 0.6.3; ieee754 1.2.1; ignore 5.3.1
import-fresh 3.3.0; imurmurhash 0.1.4; inflight 1.0.6; inherits 2.0.4; ipaddr.js 1.9.1
is-binary-path 2.1.0; is-core-module 2.13.1; is-extglob 2.1.1; is-fullwidth-code-point 3.0.0
is-glob 4.0.3; is-number 7.0.0; is-stream 2.0.1; isarray 2.0.5; isexe 2.0.0; js-tokens 4.0.0
js-yaml 4.1.0; jsesc 2.5.2; json-schema-traverse 1.0.0; json5 2.2.3; jsonfile 6.1.0
kind-of 6.0.3; levn 0.4.1; lines-and-columns 1.2.4; locate-path 6.0.0; lodash.merge 4.6.2
lru-cache 10.2.0; make-dir 4.0.0; media-typer 0.3.0; merge-descriptors 1.0.1; merge2 1.4.1
methods 1.1.2; micromatch 4.0.5; mime 1.6.0; mime-db 1.52.0; mime-types 2.1.35
mimic-fn 2.1.0; minimatch 9.0.4; moment 2.30.1; ms 2.1.3; mysql2 3.9.7; nanoid 3.3.7
natural-compare 1.4.0; negotiator 0.6.3; node-releases 2.0.14; normalize-path 3.0.0
npm-run-path 4.0.1; object-assign 4.1.1; object-inspect 1.13.1; on-finished 2.4.1; once 1.4.0
onetime 5.1.2; optionator 0.9.3; p-limit 3.1.0; p-locate 5.0.0; parent-module 1.0.1
parseurl 1.3.3; path-exists 4.0.0; path-is-absolute 1.0.1; path-key 3.1.1
path-to-regexp 0.1.7; picocolors 1.0.0; picomatch 2.3.1; postcss 8.4.38; prelude-ls 1.2.1
prettier 3.2.5; process-nextick-args 2.0.1; proxy-addr 2.0.7; proxy-from-env 1.1.0
punycode 2.3.1; queue-microtask 1.2.3; range-parser 1.2.1; raw-body 2.5.2
readable-stream 3.6.2; readdirp 3.6.0; regenerator-runtime 0.14.1; require-directory 2.1.1
resolve 1.22.8; resolve-from 4.0.0; reusify 1.0.4; rimraf 5.0.5; run-parallel 1.2.0
safe-buffer 5.2.1; safer-buffer 2.1.2; semver 7.6.0; send 0.18.0; serve-static 1.15.0
set-function-length 1.2.2; setprototypeof 1.2.0; shebang-command 2.0.0; shebang-regex 3.0.0
side-channel 1.0.6; signal-exit 4.1.0; slash 3.0.0; source-map 0.6.1; source-map-js 1.2.0
source-map-support 0.5.21; sprintf-js 1.0.3; statuses 2.0.1; string-width 4.2.3
string_decoder 1.3.0; strip-ansi 6.0.1; strip-final-newline 2.0.0; strip-json-comments 3.1.1
supports-color 7.2.0; supports-preserve-symlinks-flag 1.0.0; text-table 0.2.0
to-regex-range 5.0.1; toidentifier 1.0.1; tslib 2.6.2; type-check 0.4.0; type-fest 0.20.2
type-is 1.6.18; typescript 5.4.5; universalify 2.0.1; unpipe 1.0.0; update-browserslist-db 1.0.13
uri-js 4.4.1; util-deprecate 1.0.2; utils-merge 1.0.1; uuid 9.0.1; vary 1.1.2; vue 3.4.21
which 2.0.2; word-wrap 1.2.5; wrap-ansi 7.0.0; wrappy 1.0.2; wx-server-sdk 3.0.1; ws 8.16.0
y18n 5.0.8; yallist 4.0.0; yargs 17.7.2; yargs-parser 21.1.1; yocto-queue 0.1.0
"""

# (name, version, how it is placed). The advisories these versions are affected by are the
# reason they are here: the benchmark checks that each is reported.
PLANTED = [
    ("lodash", "4.17.11", "hoisted"),
    ("axios", "0.21.0", "direct"),
    ("jsonwebtoken", "8.5.1", "direct"),
    ("mkdirp", "0.5.1", "hoisted"),
    ("minimist", "0.0.8", "nested:mkdirp"),
    ("qs", "6.7.0", "nested:body-parser"),
]
# Hoisted versions of the nested planted names (not affected by the planted advisories).
PLANTED_HOISTED = {"minimist": "1.2.8", "qs": "6.12.1"}

WORDS = """
array async auth base bind block buffer cache canvas card chart chunk class clip cloud codec color
config core cron crypto css data date debug deep diff dom emit encode entity env event fetch field
file filter flat form format frame glob graph grid hash head hook html http icon image input intl
json key lazy layout link list load locale log map mark match media merge mini mock modal mount
node number object observe page parse path picker pipe plugin pool popup post promise proxy query
queue range react record reduce regex render request resolve route rpc runtime safe scheme schema
scroll select sheet shim signal sort source split state store stream string style swipe sync tab
table task text theme tick time token touch trace tree type ui upload uri url util uuid validate
value view virtual watch weapp worker wrap xml yaml zone
""".split()
SCOPES = ["@acme", "@mp-kit", "@wx-ui", "@cloudbase", "@tarojs-ext", "@dcloud-ext", "@team-core",
          "@internal", "@fe", "@bench", "@lib", "@tools"]
LICENSES = ["MIT"] * 14 + ["ISC"] * 4 + ["Apache-2.0"] * 2 + ["BSD-3-Clause", "BSD-2-Clause"]


def parse_real():
    out = []
    for line in REAL.strip().splitlines():
        for item in line.split(";"):
            item = item.strip()
            if item:
                name, version = item.split()
                out.append((name, version))
    return out


def tarball(name, version):
    base = name.split("/")[-1]
    return f"{REGISTRY}/{name}/-/{base}-{version}.tgz"


def integrity(name, version):
    return "sha512-" + base64.b64encode(hashlib.sha512(f"{name}@{version}".encode()).digest()).decode()


def rand_version(rng, old=False):
    major = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 6, 7]) if not old else rng.choice([0, 1, 2])
    minor = rng.randint(0, 24)
    patch = rng.randint(0, 15)
    v = f"{major}.{minor}.{patch}"
    if rng.random() < 0.01:
        v += rng.choice(["-beta.1", "-rc.2", "-alpha.0"])
    return v


def caret(version):
    return "^" + version


def generate(out_dir, packages=DEFAULT_PACKAGES, seed=DEFAULT_SEED):
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)

    # ---- names and versions for the hoisted entries
    n_nested_target = max(len(PLANTED), int(packages * 0.09))
    n_hoisted = packages - n_nested_target
    chosen = []  # (name, version)
    used = set()
    for name, version, how in PLANTED:
        if how in ("hoisted", "direct"):
            chosen.append((name, version))
            used.add(name)
    for name, version in PLANTED_HOISTED.items():
        chosen.append((name, version))
        used.add(name)
    for name, version in parse_real():
        if name not in used and len(chosen) < n_hoisted:
            chosen.append((name, version))
            used.add(name)
    while len(chosen) < n_hoisted:
        k = rng.choice([2, 2, 2, 3])
        base = "-".join(rng.choice(WORDS) for _ in range(k))
        name = f"{rng.choice(SCOPES)}/{base}" if rng.random() < 0.25 else base
        if name in used:
            continue
        used.add(name)
        chosen.append((name, rand_version(rng)))
    # Keep the well-known ones (direct dependencies and their usual parents) at the front.
    front = {"express", "axios", "jsonwebtoken", "lodash", "dayjs", "crypto-js", "mysql2",
             "wx-server-sdk", "@vant/weapp", "vue", "moment", "uuid", "cors", "dotenv", "mkdirp",
             "body-parser"}
    chosen.sort(key=lambda nv: (0 if nv[0] in front else 1))
    head, tail = chosen[:len(front)], chosen[len(front):]
    rng.shuffle(tail)
    chosen = head + tail
    index = {name: i for i, (name, _) in enumerate(chosen)}
    version_of = dict(chosen)

    # ---- root dependencies: direct prod and dev
    dev_names = {"eslint", "prettier", "typescript", "@babel/core", "@babel/preset-env",
                 "@jest/core", "@types/node", "rimraf", "chokidar", "@typescript-eslint/parser"}
    direct_prod = [n for n, _ in head]
    pool = [n for n, _ in tail]
    extra = [n for n in pool if n not in dev_names]
    direct_prod += extra[:45 - len(direct_prod)]
    direct_dev = [n for n in pool if n in dev_names] + \
        [n for n in extra[45 - len(head):] if n not in direct_prod][:25 - len(dev_names)]
    direct_dev = [n for n in direct_dev if n in index][:25]

    # ---- graph over hoisted packages: every package is required by one earlier package of
    # its region. About 40% of the transitive packages are reached only from devDependencies
    # (the dev region); dev packages may also require prod packages (those stay prod).
    deps = {name: {} for name, _ in chosen}
    rest = [n for n, _ in chosen if n not in direct_prod and n not in direct_dev]
    region = {n: "prod" for n in direct_prod}
    region.update({n: "dev" for n in direct_dev})
    for n in rest:
        region[n] = "dev" if rng.random() < 0.4 else "prod"
    order = direct_prod + direct_dev + rest
    roots = len(direct_prod) + len(direct_dev)
    by_region = {"prod": [], "dev": []}
    for i, n in enumerate(order):
        by_region[region[n]].append(i)
    for reg, idxs in by_region.items():
        first = sum(1 for i in idxs if i < roots)
        for k in range(first, len(idxs)):
            child = order[idxs[k]]
            # prefer a recent parent: dependency trees are deep rather than flat
            lo = max(0, k - rng.choice([30, 200, 800, k]))
            parent = order[idxs[rng.randrange(lo, k)]]
            deps[parent][child] = caret(version_of[child])
    for i, name in enumerate(order):
        fan = min(int(rng.paretovariate(1.6)) - 1, 12)
        for _ in range(fan):
            if i + 1 >= len(order):
                break
            child = order[rng.randrange(i + 1, len(order))]
            if region[name] == "prod" and region[child] == "dev":
                continue
            deps[name].setdefault(child, caret(version_of[child]))
    # the classic chains
    deps["express"]["body-parser"] = "1.20.2"
    deps["mkdirp"]["minimist"] = "0.0.8"
    deps["body-parser"]["qs"] = "6.7.0"
    for n in ("axios", "jsonwebtoken", "mkdirp"):  # direct (or only under express) as planted
        for p in deps:
            deps[p].pop(n, None)
    deps["express"]["mkdirp"] = "~0.5.1"
    deps["jsonwebtoken"].update({"ms": "^2.1.1", "semver": "^7.3.8", "lodash.merge": "^4.6.2"})
    deps["axios"]["follow-redirects"] = "^1.10.0"

    # ---- nested entries: a second version under a parent that requires it
    nested = []  # (path, name, version, parent_path)
    nested.append(("node_modules/mkdirp/node_modules/minimist", "minimist", "0.0.8",
                   "node_modules/mkdirp"))
    nested.append(("node_modules/body-parser/node_modules/qs", "qs", "6.7.0",
                   "node_modules/body-parser"))
    names_only = [n for n, _ in chosen]
    seen_paths = {p for p, _, _, _ in nested}
    while len(nested) < n_nested_target:
        parent = rng.choice(names_only)
        child = rng.choice(names_only)
        if child == parent or parent in ("mkdirp", "body-parser"):
            continue
        hv = version_of[child]
        major = int(hv.split(".")[0])
        other = f"{max(0, major - rng.choice([1, 1, 2]))}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        if other.split(".")[0] == hv.split(".")[0]:
            other = f"{major + 1}.0.{rng.randint(0, 9)}"
        ppath = f"node_modules/{parent}"
        # a few two levels deep: under an existing nested entry
        if nested and rng.random() < 0.08:
            ppath, parent_name = rng.choice([(p, n) for p, n, _, _ in nested])
        else:
            parent_name = parent
        path = f"{ppath}/node_modules/{child}"
        if path in seen_paths or child == parent_name:
            continue
        seen_paths.add(path)
        nested.append((path, child, other, ppath))

    # ---- entries
    entries = {}
    for name, version in chosen:
        entries[f"node_modules/{name}"] = {"name": name, "version": version,
                                           "deps": dict(deps[name])}
    for path, name, version, ppath in nested:
        entries[path] = {"name": name, "version": version, "deps": dict(deps.get(name, {}))
                         if rng.random() < 0.3 else {}}
        parent_entry = entries[ppath]
        parent_entry["deps"][name] = caret(version) if name not in ("minimist", "qs") else version
    # nested entries' own deps must resolve: keep only those whose names are hoisted
    for path, _, _, _ in nested:
        entries[path]["deps"] = {k: v for k, v in entries[path]["deps"].items() if k in index}

    # ---- dev / optional flags by reachability (through the hoisted graph, simplified)
    def reach(starts):
        seen, stack = set(), list(starts)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(k for k in deps.get(n, {}) if k in index)
        return seen
    prod_reach = reach(direct_prod)
    optional_names = set(rng.sample([n for n in rest if n not in prod_reach], 6)
                         + rng.sample([n for n in rest if n in prod_reach], 6))
    for path, e in entries.items():
        top = path.split("node_modules/")[1].rstrip("/")
        top = top if not top.startswith("@") else "/".join(path.split("node_modules/")[1]
                                                              .split("/")[:2])
        if top not in prod_reach:
            e["dev"] = True
        if e["name"] in optional_names and path.count("node_modules/") == 1:
            if e.get("dev"):
                e.pop("dev")
                e["devOptional"] = True
            else:
                e["optional"] = True

    # ---- write
    root_name = "bench-miniprogram-backend"
    pkg_json = {
        "name": root_name,
        "version": "1.0.0",
        "private": True,
        "description": "Generated by bench/deps/gen_lockfile.py for the miniguard deps benchmark",
        "scripts": {"start": "node server/app.js", "test": "jest"},
        "dependencies": {n: caret(version_of[n]) if n not in ("axios", "jsonwebtoken", "lodash")
                         else version_of[n] for n in sorted(direct_prod)},
        "devDependencies": {n: caret(version_of[n]) for n in sorted(direct_dev)},
        "license": "UNLICENSED",
    }
    packages_obj = {"": {"name": root_name, "version": "1.0.0", "license": "UNLICENSED",
                         "dependencies": pkg_json["dependencies"],
                         "devDependencies": pkg_json["devDependencies"]}}
    for path in sorted(entries):
        e = entries[path]
        name, version = e["name"], e["version"]
        rec = {"version": version, "resolved": tarball(name, version),
               "integrity": integrity(name, version)}
        for flag in ("dev", "optional", "devOptional"):
            if e.get(flag):
                rec[flag] = True
        h = int(hashlib.md5(path.encode()).hexdigest()[:8], 16)
        if e["deps"]:
            rec["dependencies"] = dict(sorted(e["deps"].items()))
        if e["name"] in optional_names and e.get("optional"):
            rec["os"] = ["darwin"]
            rec["cpu"] = ["arm64"]
        if h % 7 == 0:
            rec["bin"] = {name.split("/")[-1]: "bin/cli.js"}
        if h % 5 == 0:
            rec["engines"] = {"node": rng.choice([">=12", ">= 0.8", ">=14.17", "^14.18.0 || >=16.0.0"])}
        if h % 11 == 0:
            rec["funding"] = {"url": f"https://funding.example/{name.split('/')[-1]}"}
        rec["license"] = LICENSES[h % len(LICENSES)]
        packages_obj[path] = rec
    lock = {"name": root_name, "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": packages_obj}
    with open(os.path.join(out_dir, "package.json"), "w", newline="\n") as fh:
        json.dump(pkg_json, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(out_dir, "package-lock.json"), "w", newline="\n") as fh:
        json.dump(lock, fh, indent=2)
        fh.write("\n")

    entries_n = len(packages_obj) - 1
    manifest = {
        "seed": seed,
        "requested_packages": packages,
        "packages": entries_n,
        "hoisted": len(chosen),
        "nested": len(nested),
        "nested_two_levels": sum(1 for p, _, _, _ in nested if p.count("node_modules/") >= 3),
        "distinct_name_versions": len({(e["name"], e["version"]) for e in entries.values()}),
        "scoped": sum(1 for e in entries.values() if e["name"].startswith("@")),
        "dev": sum(1 for r in list(packages_obj.values())[1:] if r.get("dev")),
        "optional": sum(1 for r in list(packages_obj.values())[1:] if r.get("optional")),
        "dev_optional": sum(1 for r in list(packages_obj.values())[1:] if r.get("devOptional")),
        "direct_prod": len(direct_prod),
        "direct_dev": len(direct_dev),
        "lockfile_bytes": os.path.getsize(os.path.join(out_dir, "package-lock.json")),
        "lockfile_lines": sum(1 for _ in open(os.path.join(out_dir, "package-lock.json"))),
        "planted": [{"name": n, "version": v,
                     "path": next(p for p, e in entries.items()
                                  if e["name"] == n and e["version"] == v)}
                    for n, v, _ in PLANTED if n != "mkdirp"],
    }
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--packages", type=int, default=DEFAULT_PACKAGES)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    m = generate(args.out_dir, args.packages, args.seed)
    json.dump(m, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
