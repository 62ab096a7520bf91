#!/usr/bin/env python3
"""Generate a tree of copied library files for comparing `miniguard deps` with retire.js.

    python3 bench/deps/gen_vendored.py OUT_DIR                  # 40 copies, 1,000 clean files
    python3 bench/deps/gen_vendored.py OUT_DIR --copies 100 --clean 5000

The tree holds:
- `original/`: crates/deps/tests/fixtures/vendored/tree as it is (miniprogram_npm packages,
  copied jquery, lodash, axios, moment, handlebars, crypto-js files, one page);
- `miniprogram/vendor/c<k>/lib<i>.js` for k < --copies: each `.js` file of that fixture tree
  again, under a name that says nothing about the library (so neither tool can use a file-name
  signature: detection is by content only);
- `miniprogram/pages/p<n>/p<n>.js` and `miniprogram/utils/u<n>.js`: --clean generated JS files
  with no library in them (page code, request wrappers, helpers; 40-400 lines).

Deterministic (seed); the fixture files are copied byte for byte. No network.
"""

import argparse
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "crates", "deps", "tests", "fixtures", "vendored", "tree")
DEFAULT_COPIES = 40
DEFAULT_CLEAN = 1000
DEFAULT_SEED = 20240601

IDENT = ("list item order user cart goods price count page size total status token info detail "
         "address phone code share image url title desc time date type id name index loading "
         "form field value result data res err query options config").split()


def ident(rng):
    a, b = rng.choice(IDENT), rng.choice(IDENT)
    return a + b[0].upper() + b[1:]


def clean_js(rng, kind):
    lines = []
    if kind == "page":
        fields = [ident(rng) for _ in range(rng.randint(3, 8))]
        lines.append("const app = getApp();")
        lines.append("const { request } = require('../../utils/request');")
        lines.append("")
        lines.append("Page({")
        lines.append("  data: {")
        for f in fields:
            lines.append(f"    {f}: {rng.choice(['[]', '0', 'false', repr(''), 'null'])},")
        lines.append("  },")
        for _ in range(rng.randint(3, 14)):
            fn = "on" + ident(rng)[0].upper() + ident(rng)[1:]
            lines.append(f"  {fn}(e) {{")
            for _ in range(rng.randint(2, 20)):
                f = rng.choice(fields)
                r = rng.random()
                if r < 0.3:
                    lines.append(f"    const {ident(rng)} = e.currentTarget.dataset.{f};")
                elif r < 0.55:
                    lines.append(f"    this.setData({{ {f}: this.data.{f} }});")
                elif r < 0.75:
                    lines.append(f"    request({{ url: '/api/{f.lower()}', data: {{ page: "
                                 f"{rng.randint(1, 9)} }} }}).then((res) => {{")
                    lines.append(f"      this.setData({{ {f}: res.data }});")
                    lines.append("    });")
                elif r < 0.9:
                    lines.append(f"    if (!this.data.{f}) {{ wx.showToast({{ title: '{f}', "
                                 f"icon: 'none' }}); return; }}")
                else:
                    lines.append(f"    wx.navigateTo({{ url: '/pages/{f.lower()}/{f.lower()}' }});")
            lines.append("  },")
        lines.append("});")
    else:
        lines.append("'use strict';")
        lines.append("")
        for _ in range(rng.randint(3, 16)):
            fn = ident(rng)
            args = ", ".join(ident(rng) for _ in range(rng.randint(0, 3)))
            lines.append(f"function {fn}({args}) {{")
            for _ in range(rng.randint(2, 18)):
                r = rng.random()
                v = ident(rng)
                if r < 0.3:
                    lines.append(f"  const {v} = {rng.randint(0, 999)} + {rng.randint(0, 99)};")
                elif r < 0.6:
                    lines.append(f"  if ({v} > {rng.randint(0, 99)}) {{ return '{v}'; }}")
                elif r < 0.8:
                    lines.append(f"  // {v}: {' '.join(rng.choice(IDENT) for _ in range(6))}")
                else:
                    lines.append(f"  for (let i = 0; i < {rng.randint(2, 50)}; i++) "
                                 f"{{ console.log('{v}', i); }}")
            lines.append("  return null;")
            lines.append("}")
            lines.append("")
        lines.append("module.exports = {};")
    return "\n".join(lines) + "\n"


def generate(out_dir, copies=DEFAULT_COPIES, clean=DEFAULT_CLEAN, seed=DEFAULT_SEED):
    rng = random.Random(seed)
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    shutil.copytree(FIXTURE, os.path.join(out_dir, "original"))
    libs = []
    for dirpath, _, files in os.walk(FIXTURE):
        for f in sorted(files):
            if f.endswith(".js"):
                libs.append(os.path.relpath(os.path.join(dirpath, f), FIXTURE))
    libs.sort()
    copied = []
    for k in range(copies):
        d = os.path.join(out_dir, "miniprogram", "vendor", f"c{k:03d}")
        os.makedirs(d)
        for i, rel in enumerate(libs):
            dest = os.path.join(d, f"lib{i}.js")
            shutil.copyfile(os.path.join(FIXTURE, rel), dest)
            copied.append({"path": os.path.relpath(dest, out_dir), "from": rel})
    for n in range(clean):
        kind = "page" if n % 2 == 0 else "util"
        if kind == "page":
            d = os.path.join(out_dir, "miniprogram", "pages", f"p{n}")
            path = os.path.join(d, f"p{n}.js")
        else:
            d = os.path.join(out_dir, "miniprogram", "utils")
            path = os.path.join(d, f"u{n}.js")
        os.makedirs(d, exist_ok=True)
        with open(path, "w", newline="\n") as fh:
            fh.write(clean_js(rng, kind))
    files = js = size = 0
    for dirpath, _, fs in os.walk(out_dir):
        for f in fs:
            files += 1
            js += f.endswith(".js")
            size += os.path.getsize(os.path.join(dirpath, f))
    manifest = {"seed": seed, "copies": copies, "clean": clean, "files": files, "js_files": js,
                "bytes": size, "library_files_per_copy": libs, "copied": len(copied)}
    with open(out_dir.rstrip("/") + ".manifest.json", "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--copies", type=int, default=DEFAULT_COPIES)
    ap.add_argument("--clean", type=int, default=DEFAULT_CLEAN)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    m = generate(args.out_dir, args.copies, args.clean, args.seed)
    json.dump({k: v for k, v in m.items() if k != "library_files_per_copy"}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
