#!/usr/bin/env python3
"""Benchmark `miniguard deps`: a 3,000-package lockfile, and copied library files against retire.js.

    python3 bench/deps/run.py                    # 15 timed runs for the lockfile, 5 for the trees
    python3 bench/deps/run.py --runs 30 --tree-runs 10
    python3 bench/deps/run.py --skip-retire      # miniguard only
    python3 bench/deps/run.py --no-build         # measure target/release/miniguard as it is

Part (a), the lockfile: bench/deps/gen_lockfile.py writes a project with a package-lock.json v3
of --packages (3,000) entries into bench/deps/work/; the script times

    miniguard deps DIR --db embedded --format json --fail-on never

on it, on an empty folder (what is left is process start and loading the embedded advisory
database: no lockfile, no JS file) and `miniguard --version` (process start alone), alternating
the three, after a warm-up. Wall time is taken from just before the process is spawned to its
exit (os.wait4, which also gives its CPU time without a wrapper process; peak RSS comes from
one extra run under /usr/bin/time). The issue's target is under 100 ms for 3,000 packages on
this machine.

Part (b), copied library files: the same folder is given to `miniguard deps` and to retire.js
(`retire --path DIR --jsrepo FILE --outputformat json --exitwith 0 -v`): the fixture tree
crates/deps/tests/fixtures/vendored/tree, an empty folder (each tool's fixed cost), and a larger tree made by bench/deps/gen_vendored.py
(the fixture tree, --copies copies of its .js files under neutral names, and --clean generated
JS files with no library in them). retire.js is installed from npm into bench/deps/node_modules
(`npm install --prefix bench/deps retire`) if it is not there. It runs offline: --jsrepo points at a
local file, so it downloads nothing. That file is made from
../shared/advisories/retirejs/jsrepository-master.json (beside the repository): retire 5.x
rejects the master format (it wants one `below`/`atOrAbove` per vulnerability, not `ranges`), so
the script writes the same data in retire's own format to bench/deps/out/jsrepository-retire.json
(each range becomes one vulnerability entry; `summary` moves into `identifiers`, as in the
files retire downloads). miniguard's copied-file signatures are converted from the same master
file, so both tools work from the same signatures and retire.js advisories (miniguard adds its
embedded OSV/GHSA data and signatures of its own).

Prints the figures and the detections where the tools disagree; raw outputs go to
bench/deps/out/ (gitignored), a summary to bench/deps/out/results.json.
"""

import argparse
import collections
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "out")
WORK = os.path.join(HERE, "work")
FIXTURE = os.path.join(ROOT, "crates", "deps", "tests", "fixtures", "vendored", "tree")
RETIRE_MASTER = os.path.join(os.path.dirname(ROOT), "shared", "advisories", "retirejs",
                             "jsrepository-master.json")
RETIRE_BIN = os.path.join(HERE, "node_modules", ".bin", "retire")
TARGET_MS = 100.0
GNU_TIME = "/usr/bin/time"

sys.path.insert(0, HERE)
import gen_lockfile  # noqa: E402
import gen_vendored  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))
from benchlib import build_miniguard, git_state, log, sh  # noqa: E402


def ensure_lockfile(packages, seed, regen):
    path = os.path.join(WORK, f"lockfile-{packages}")
    mpath = path + ".manifest.json"
    if not regen and os.path.exists(mpath) and os.path.exists(os.path.join(path, "package-lock.json")):
        with open(mpath) as fh:
            m = json.load(fh)
        if m.get("requested_packages") == packages and m.get("seed") == seed:
            return path, m
    log(f"generating a lockfile of {packages} packages (seed {seed}) into {path} ...")
    if os.path.exists(path):
        shutil.rmtree(path)
    m = gen_lockfile.generate(path, packages, seed)
    with open(mpath, "w") as fh:
        json.dump(m, fh, indent=2)
        fh.write("\n")
    return path, m


def ensure_vendored(copies, clean, seed, regen):
    path = os.path.join(WORK, "vendored-large")
    mpath = path + ".manifest.json"
    if not regen and os.path.exists(mpath):
        with open(mpath) as fh:
            m = json.load(fh)
        if (m.get("copies"), m.get("clean"), m.get("seed")) == (copies, clean, seed):
            return path, m
    log(f"generating the large vendored tree ({copies} copies, {clean} clean files) ...")
    return path, gen_vendored.generate(path, copies, clean, seed)


def tree_stats(path):
    files = js = size = 0
    for dirpath, _, fs in os.walk(path):
        for f in fs:
            files += 1
            js += f.endswith(".js")
            size += os.path.getsize(os.path.join(dirpath, f))
    return {"files": files, "js_files": js, "bytes": size}


def convert_retire_repo(master, dest):
    """jsrepository-master.json (`ranges` per vulnerability) -> the format retire 5.x loads."""
    with open(master, encoding="utf-8") as fh:
        data = json.load(fh)
    out = {}
    for lib, entry in data.items():
        entry = dict(entry)
        vulns = []
        for v in entry.get("vulnerabilities", []):
            v = dict(v)
            ranges = v.pop("ranges", None)
            summary = v.pop("summary", None)
            ids = dict(v.get("identifiers", {}))
            if summary and "summary" not in ids:
                ids["summary"] = summary
            v["identifiers"] = ids
            for r in ranges if ranges is not None else [{}]:
                vulns.append({**r, **v})
        entry["vulnerabilities"] = vulns
        out[lib] = entry
    # ensure_ascii=False: retire substitutes the literal `§§version§§` in the file's text.
    with open(dest, "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=1)
    return len(out), sum(len(e["vulnerabilities"]) for e in out.values())


def ensure_retire(explicit):
    """Return (path, version) or (None, reason)."""
    path = explicit or RETIRE_BIN
    if not explicit and not os.path.exists(path):
        if not shutil.which("npm"):
            return None, "npm is not installed, so retire.js cannot be installed"
        log("retire not found in bench/deps/node_modules: installing it from npm "
            "(npm install --prefix bench/deps retire) ...")
        try:
            p = sh(["npm", "install", "--prefix", HERE, "--no-audit", "--no-fund", "retire"],
                   timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"npm install retire failed: {e}"
        if p.returncode != 0:
            return None, "npm install retire failed: " + (p.stderr or p.stdout).strip()[-800:]
    if not os.path.exists(path):
        return None, f"{path} does not exist"
    try:
        p = sh([path, "--version"], timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`retire --version` failed: {e}"
    if p.returncode != 0:
        return None, "`retire --version` failed: " + (p.stderr or p.stdout).strip()[-800:]
    node = sh(["node", "--version"]).stdout.strip() if shutil.which("node") else "?"
    return path, f"retire {p.stdout.strip()} (node {node})"


# ------------------------------------------------------------------------------------ runs

def timed_run(cmd, out_path, timeout):
    """Spawn cmd with stdout to out_path; wall seconds from spawn to exit, and the child's
    CPU time (user + system). Returns (seconds, cpu_seconds, returncode, stderr)."""
    err_path = out_path + ".stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                raise subprocess.TimeoutExpired(cmd, timeout)
            time.sleep(0.0005)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(err_path) as fh:
        stderr = fh.read()
    return secs, ru.ru_utime + ru.ru_stime, p.returncode, stderr


def bench(jobs, runs, warmup, timeout):
    """jobs: list of (key, cmd, parse). Runs them alternating. Returns {key: result}."""
    res = {k: {"times": [], "cpu": [], "result": None} for k, _, _ in jobs}
    failed = {}
    for i in range(warmup + runs):
        label = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        for key, cmd, parse in jobs:
            if key in failed:
                continue
            out_path = os.path.join(OUT, f"{key}-{i}.json")
            try:
                secs, cpu, rc, err = timed_run(cmd, out_path, timeout)
            except subprocess.TimeoutExpired:
                failed[key] = f"timed out after {timeout} s"
                continue
            if rc not in (0, 1):
                failed[key] = f"exit code {rc}: {err.strip()[-800:]}"
                continue
            try:
                result = parse(out_path)
            except (ValueError, KeyError, TypeError) as e:
                failed[key] = f"could not read its JSON output ({e}); stderr: {err.strip()[-500:]}"
                continue
            if result.get("errors"):
                failed[key] = "reported errors: " + "; ".join(result["errors"])[:800]
                continue
            log(f"  {key} {label}: {secs * 1000:.1f} ms (CPU {cpu * 1000:.1f} ms), "
                f"load avg {os.getloadavg()[0]:.2f}")
            if i >= warmup:
                r = res[key]
                r["times"].append(secs)
                r["cpu"].append(cpu)
                r["result"] = result
    for key, r in res.items():
        if key in failed:
            r["error"] = failed[key]
        elif r["times"]:
            r["median"] = statistics.median(r["times"])
            r["min"] = min(r["times"])
            r["median_cpu"] = statistics.median(r["cpu"])
            r["peak_rss_kb"] = peak_rss_kb(next(c for k, c, _ in jobs if k == key), timeout)
    return res


def gnu_time_works():
    try:
        return os.path.exists(GNU_TIME) and sh([GNU_TIME, "-f", "%M", "true"]).returncode == 0
    except OSError:
        return False


def peak_rss_kb(cmd, timeout):
    """Peak RSS of one extra, untimed run under /usr/bin/time (the rusage of a child that Python
    forks also counts Python's own pages from before exec, so it is not used for this)."""
    if not gnu_time_works():
        return None
    tf = os.path.join(OUT, "rss.time")
    try:
        subprocess.run([GNU_TIME, "-f", "%M", "-o", tf] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=ROOT, timeout=timeout)
        with open(tf) as fh:
            return int(fh.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def parse_miniguard(path):
    with open(path) as fh:
        d = json.load(fh)
    return {
        "findings": d["findings"],
        "duration_ms": d["stats"].get("duration_ms"),
        "warnings": [w["message"] for w in d.get("warnings", [])],
    }


def parse_version(path):
    with open(path) as fh:
        return {"text": fh.read().strip()}


def parse_retire(path):
    with open(path) as fh:
        d = json.load(fh)
    return {"data": d["data"], "errors": d.get("errors", []), "time": d.get("time")}


# ------------------------------------------------------------------------------------ detections

def miniguard_sbom(binary, tree):
    """Every library miniguard found (vulnerable or not): [(path, name, version, found_by)]."""
    p = sh([binary, "deps", tree, "--db", "embedded", "--sbom", "cyclonedx", "--fail-on", "never"],
           cwd=ROOT)
    if p.returncode not in (0, 1):
        return None
    d = json.loads(p.stdout)
    out = []
    for c in d.get("components", []):
        props = c.get("properties", [])
        how = next((x["value"] for x in props if x["name"] == "miniguard:found-by"), "")
        for x in props:
            if x["name"] == "miniguard:location":
                path = x["value"].rsplit(":", 1)[0]
                out.append((path, c["name"], c.get("version", ""), how))
    return out


def retire_detections(data, tree):
    """[(path, name, version, detection, vulnerabilities)] from retire's JSON data."""
    out = []
    for f in data:
        rel = os.path.relpath(f["file"], os.path.abspath(tree)) if os.path.isabs(f["file"]) \
            else os.path.relpath(os.path.join(ROOT, f["file"]), os.path.abspath(tree))
        for r in f.get("results", []):
            name = r.get("npmname") or r["component"]
            out.append((rel, name, r.get("version", ""), r.get("detection", ""),
                        r.get("vulnerabilities", [])))
    return out


def miniguard_vulns(findings):
    """{(path, name, version): [finding dependency dicts + message]} for D001 findings."""
    out = collections.defaultdict(list)
    for f in findings:
        if f.get("rule") != "D001":
            continue
        d = f["dependency"]
        out[(f["location"]["path"], d["package"], d["version"])].append(
            {**d, "message": f["message"]})
    return out


def advisory_ids(v):
    ids = v.get("identifiers", {})
    s = set(ids.get("CVE", []))
    if ids.get("githubID"):
        s.add(ids["githubID"])
    return s


def compare_advisories(mg_list, rt_list):
    """Match retire vulnerabilities to miniguard advisories: by a shared GHSA/CVE id first, then
    by an identical summary among those still unmatched. Returns (retire-only, miniguard-only)."""
    mg_ids = [{m["advisory"], *(m.get("aliases") or [])} for m in mg_list]
    mg_summ = [m["message"].split(": ", 1)[-1].strip().lower() for m in mg_list]
    matched_mg, rest = set(), []
    for v in rt_list:
        ids = advisory_ids(v)
        hit = next((i for i, s in enumerate(mg_ids) if ids & s and i not in matched_mg), None)
        if hit is None:
            hit = next((i for i, s in enumerate(mg_ids) if ids & s), None)
        if hit is None:
            rest.append(v)
        else:
            matched_mg.add(hit)
    rt_only = []
    for v in rest:
        ids = advisory_ids(v)
        summ = v.get("identifiers", {}).get("summary", "").strip().lower()
        hit = next((i for i, s in enumerate(mg_summ) if summ and s == summ
                    and i not in matched_mg), None)
        if hit is None:
            rt_only.append(", ".join(sorted(ids)) or summ[:70] or "?")
        else:
            matched_mg.add(hit)
    mg_only = [f"{m['advisory']} ({m['message'].split(': ', 1)[-1][:60].strip()})"
               for i, m in enumerate(mg_list) if i not in matched_mg]
    return rt_only, sorted(set(mg_only))


def copy_key(path, manifest):
    """miniprogram/vendor/c012/lib3.js -> 'copy of miniprogram/libs/axios.min.js'."""
    m = re.match(r"miniprogram/vendor/c\d+/lib(\d+)\.js$", path)
    if m and manifest:
        return "copies of " + manifest["library_files_per_copy"][int(m.group(1))]
    if path.startswith("original/"):
        return path[len("original/"):]
    return path


def disagreements(mg_det, rt_det, manifest=None):
    """Lines describing detections found by one tool only or with another version."""
    mg = collections.defaultdict(set)
    for path, name, version, _ in mg_det:
        mg[(path, name)].add(version)
    rt = collections.defaultdict(set)
    for path, name, version, _, _ in rt_det:
        rt[(path, name)].add(version)
    agg = collections.Counter()
    for key in sorted(set(mg) | set(rt)):
        path, name = key
        a, b = mg.get(key), rt.get(key)
        where = copy_key(path, manifest)
        if a and b and a != b:
            agg[(where, name, f"miniguard {'/'.join(sorted(a)) or '?'} vs retire "
                 f"{'/'.join(sorted(b)) or '?'}")] += 1
        elif a and not b:
            agg[(where, name, f"miniguard only ({'/'.join(sorted(a)) or 'no version'})")] += 1
        elif b and not a:
            agg[(where, name, f"retire only ({'/'.join(sorted(b)) or 'no version'})")] += 1
    return [f"{where}: {name}: {what}" + (f"  [x{n}]" if n > 1 else "")
            for (where, name, what), n in sorted(agg.items())]


def mib(kb):
    return f"{kb / 1024:.0f}" if kb else "n/a"


def print_table(head, rows):
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print("  ".join(str(h).ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


# ------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", type=int, default=gen_lockfile.DEFAULT_PACKAGES)
    ap.add_argument("--seed", type=int, default=gen_lockfile.DEFAULT_SEED)
    ap.add_argument("--runs", type=int, default=15, help="timed runs for the lockfile (15)")
    ap.add_argument("--tree-runs", type=int, default=5, help="timed runs per tool and tree (5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (1)")
    ap.add_argument("--copies", type=int, default=gen_vendored.DEFAULT_COPIES,
                    help="copies of the fixture's .js files in the large tree (40)")
    ap.add_argument("--clean", type=int, default=gen_vendored.DEFAULT_CLEAN,
                    help="clean generated JS files in the large tree (1000)")
    ap.add_argument("--regen", action="store_true", help="regenerate the lockfile and tree")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("--skip-retire", action="store_true")
    ap.add_argument("--retire", help="retire executable to use instead of bench/deps/node_modules")
    ap.add_argument("--retire-master", default=RETIRE_MASTER,
                    help="retire.js jsrepository-master.json (default ../shared/advisories/...)")
    ap.add_argument("--timeout", type=int, default=600, help="per-run timeout in seconds")
    args = ap.parse_args()

    os.makedirs(OUT, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    binary = build_miniguard(args.no_build)
    mg_version = sh([binary, "--version"]).stdout.strip()
    commit = git_state()
    lock_dir, lock_m = ensure_lockfile(args.packages, args.seed, args.regen)
    empty_dir = os.path.join(WORK, "empty")
    os.makedirs(empty_dir, exist_ok=True)
    big_dir, big_m = ensure_vendored(args.copies, args.clean, args.seed, args.regen)

    rt_path, rt_info = (None, "skipped (--skip-retire)") if args.skip_retire \
        else ensure_retire(args.retire)
    repo_file = os.path.join(OUT, "jsrepository-retire.json")
    if rt_path:
        if not os.path.exists(args.retire_master):
            rt_path, rt_info = None, f"{args.retire_master} not found (retire needs a local " \
                "repository to run offline)"
        else:
            libs, vulns = convert_retire_repo(args.retire_master, repo_file)
            log(f"retire repository: {libs} libraries, {vulns} vulnerability ranges, converted "
                f"from {args.retire_master} into {os.path.relpath(repo_file, ROOT)}")
    if rt_path is None and not args.skip_retire:
        log("")
        log("*** retire.js is NOT available, so there is no comparison in this run ***")
        log(f"*** reason: {rt_info}")
        log("")

    machine = {
        "nproc": os.cpu_count(),
        "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name")), platform.processor())
        if os.path.exists("/proc/cpuinfo") else platform.processor(),
        "os": platform.platform(),
    }
    log(f"\nminiguard: {mg_version} at commit {commit}")
    log(f"retire:    {rt_info}")
    log(f"machine:   {machine['nproc']} CPUs, {machine['cpu']}")
    load_before = os.getloadavg()
    log(f"load average before the runs: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f} (other work on the machine skews the figures)\n")

    # ---------------------------------------------------------------- (a) the lockfile
    mg = lambda d: [binary, "deps", d, "--db", "embedded", "--format", "json",  # noqa: E731
                    "--fail-on", "never"]
    log(f"(a) lockfile of {lock_m['packages']} packages, {args.runs} runs (+{args.warmup} warm-up):")
    lock = bench([("lockfile", mg(lock_dir), parse_miniguard),
                  ("empty", mg(empty_dir), parse_miniguard),
                  ("version", [binary, "--version"], parse_version)],
                 args.runs, args.warmup, args.timeout)
    lock_sbom = miniguard_sbom(binary, lock_dir)

    # ---------------------------------------------------------------- (b) copied files
    trees = [("empty", empty_dir, None), ("fixture", FIXTURE, None), ("large", big_dir, big_m)]
    tree_res = {}
    for tname, tdir, _ in trees:
        log(f"\n(b) {tname} tree {os.path.relpath(tdir, ROOT)}, {args.tree_runs} runs "
            f"(+{args.warmup} warm-up) per tool:")
        jobs = [(f"miniguard-{tname}", mg(tdir), parse_miniguard)]
        if rt_path:
            jobs.append((f"retire-{tname}", [rt_path, "--path", tdir, "--jsrepo", repo_file,
                                             "--outputformat", "json", "--exitwith", "0", "-v"],
                         parse_retire))
        tree_res[tname] = bench(jobs, args.tree_runs, args.warmup, args.timeout)

    # ---------------------------------------------------------------- report (a)
    print()
    print(f"== (a) miniguard deps on a package-lock.json v3 of {lock_m['packages']} packages "
          f"({lock_m['hoisted']} hoisted, {lock_m['nested']} nested, {lock_m['dev']} dev; "
          f"{lock_m['lockfile_lines']} lines, {lock_m['lockfile_bytes']} bytes)")
    rows = []
    labels = {"lockfile": f"deps on the {lock_m['packages']}-package project",
              "empty": "deps on an empty folder (start + DB load)",
              "version": "--version (process start only)"}
    for key in ("lockfile", "empty", "version"):
        r = lock[key]
        if "error" in r:
            rows.append([labels[key], "FAILED: " + r["error"][:200], "", "", "", "", ""])
            continue
        inner = [x for x in [r["result"].get("duration_ms")] if x is not None] \
            if key != "version" else []
        rows.append([labels[key], f"{r['median'] * 1000:.1f}", f"{r['min'] * 1000:.1f}",
                     f"{r['median_cpu'] * 1000:.1f}", mib(r["peak_rss_kb"]),
                     f"{inner[0]}" if inner else "",
                     " ".join(f"{t * 1000:.0f}" for t in r["times"])])
    print_table(["what", "median ms", "min ms", "CPU ms", "peak RSS MiB", "own duration_ms (last)",
                 "all runs ms"], rows)
    la, le, lv = lock["lockfile"], lock["empty"], lock["version"]
    summary_a = {}
    if "median" in la:
        med = la["median"] * 1000
        verdict = "MEETS" if med < TARGET_MS else "DOES NOT MEET"
        print(f"\n3,000-package target: median {med:.1f} ms -> {verdict} the < {TARGET_MS:.0f} ms "
              "target" if lock_m["packages"] == 3000 else f"\nmedian {med:.1f} ms")
        summary_a["median_ms"] = med
        summary_a["meets_target"] = med < TARGET_MS
        if "median" in le:
            share = le["median"] / la["median"]
            print(f"start + embedded DB load (empty folder): {le['median'] * 1000:.1f} ms = "
                  f"{share * 100:.0f}% of the lockfile run; the lockfile itself adds "
                  f"{(la['median'] - le['median']) * 1000:.1f} ms")
            summary_a["empty_ms"] = le["median"] * 1000
            summary_a["db_load_share"] = share
        if "median" in lv:
            print(f"process start alone (--version): {lv['median'] * 1000:.1f} ms")
            summary_a["version_ms"] = lv["median"] * 1000
        findings = la["result"]["findings"]
        vulnerable = sorted({(f["dependency"]["package"], f["dependency"]["version"])
                             for f in findings if f["rule"] == "D001"})
        planted = lock_m["planted"]
        found = [p for p in planted if any(f["rule"] == "D001" and f["dependency"]["package"]
                                           == p["name"] and f["dependency"]["version"] ==
                                           p["version"] for f in findings)]
        print(f"findings: {len(findings)} on {len(vulnerable)} package versions; planted found: "
              f"{len(found)}/{len(planted)} "
              f"({', '.join(p['name'] + '@' + p['version'] for p in found)})")
        missing = [p for p in planted if p not in found]
        if missing:
            print("  planted NOT found: " + ", ".join(p["name"] + "@" + p["version"] for p in missing))
        others = [f"{n}@{v}" for n, v in vulnerable
                  if not any(p["name"] == n and p["version"] == v for p in planted)]
        if others:
            print("  also reported: " + ", ".join(others))
        if lock_sbom is not None:
            comps = {(n, v) for _, n, v, _ in lock_sbom}
            print(f"SBOM of the same project: {len(comps)} distinct name@version "
                  f"(the lockfile has {lock_m['distinct_name_versions']})")
            summary_a["sbom_components"] = len(comps)
        summary_a.update({"findings": len(findings), "vulnerable_versions": len(vulnerable),
                          "planted_found": len(found), "planted": len(planted)})

    # ---------------------------------------------------------------- report (b)
    print("\n== (b) copied library files: miniguard deps vs retire.js on the same folders")
    rows = []
    summary_b = {}
    diffs = {}
    for tname, tdir, tman in trees:
        st = tree_stats(tdir)
        res = tree_res[tname]
        mgr, rtr = res.get(f"miniguard-{tname}"), res.get(f"retire-{tname}")
        mg_det = miniguard_sbom(binary, tdir) or []
        line = {"tree": os.path.relpath(tdir, ROOT), **st}
        mg_v = miniguard_vulns(mgr["result"]["findings"]) if mgr and "median" in mgr else {}
        for tool, r in (("miniguard", mgr), ("retire", rtr)):
            if r is None:
                continue
            if "error" in r:
                rows.append([tname, tool, st["js_files"], "-", "-", "-", "-", "-",
                             "FAILED: " + r["error"][:200]])
                continue
            if tool == "miniguard":
                libs = len(mg_det)
                vuln_libs = len(mg_v)
                vulns = sum(len(v) for v in mg_v.values())
            else:
                rd = retire_detections(r["result"]["data"], tdir)
                libs = len(rd)
                vuln_libs = sum(1 for x in rd if x[4])
                vulns = sum(len(x[4]) for x in rd)
            ratio = ""
            if tool == "retire" and mgr and "median" in mgr:
                ratio = f"{r['median'] / mgr['median']:.1f}x"
            rows.append([tname, tool, f"{st['js_files']} ({st['bytes'] / 1e6:.1f} MB)",
                         f"{r['median']:.3f}", f"{r['median_cpu']:.2f}",
                         mib(r["peak_rss_kb"]),
                         f"{libs} / {vuln_libs} / {vulns}", ratio,
                         " ".join(f"{t:.3f}" for t in r["times"])])
            line[tool] = {"median_s": r["median"], "median_cpu_s": r["median_cpu"],
                          "peak_rss_kb": r["peak_rss_kb"], "times": r["times"],
                          "libraries": libs, "vulnerable_libraries": vuln_libs,
                          "vulnerabilities": vulns}
        if rtr and "median" in rtr and mgr and "median" in mgr:
            line["ratio_retire_over_miniguard"] = rtr["median"] / mgr["median"]
            rd = retire_detections(rtr["result"]["data"], tdir)
            diffs[tname] = disagreements(mg_det, rd, tman)
            if tname == "fixture":
                adv = []
                for path, name, version, _, vl in rd:
                    mgl = mg_v.get((path, name, version))
                    if mgl is None:
                        continue
                    rt_only, mg_only = compare_advisories(mgl, vl)
                    adv.append(f"{path} {name}@{version}: retire {len(vl)}, miniguard {len(mgl)}"
                               + (f"; retire only: {'; '.join(rt_only)}" if rt_only else "")
                               + (f"; miniguard only: {', '.join(mg_only)}" if mg_only else ""))
                line["advisories"] = adv
        summary_b[tname] = line
    print_table(["tree", "tool", "JS files (size)", "median s", "CPU s", "peak RSS MiB",
                 "libs / vulnerable libs / vulns", "retire/miniguard", "all runs s"], rows)
    print("\nlibs: detections (file, library, version), vulnerable or not (miniguard: from its "
          "CycloneDX SBOM of the same folder; retire: -v output); vulnerable libs: detections "
          "with at least one advisory; vulns: (detection, advisory) pairs.")
    for tname in ("fixture", "large"):
        if tname in diffs:
            print(f"\ndetections where the tools disagree ({tname} tree):")
            for d in diffs[tname] or ["(none)"]:
                print("  " + d)
    if summary_b.get("fixture", {}).get("advisories"):
        print("\nadvisories per detection found by both (fixture tree; matched by GHSA/CVE id "
              "or identical summary):")
        for a in summary_b["fixture"]["advisories"]:
            print("  " + a)
    if rt_path is None:
        print(f"\nretire.js: not run: {rt_info}")

    summary = {
        "machine": machine, "miniguard_version": mg_version, "miniguard_commit": commit,
        "retire": rt_info, "runs": args.runs, "tree_runs": args.tree_runs, "warmup": args.warmup,
        "lockfile": {k: v for k, v in lock_m.items()},
        "lockfile_results": summary_a,
        "lockfile_runs": {k: {"times": r.get("times"), "error": r.get("error")}
                          for k, r in lock.items()},
        "vendored": summary_b, "disagreements": diffs,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
    }
    with open(os.path.join(OUT, "results.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    log(f"\nload average after the runs: {os.getloadavg()[0]:.2f}; summary written to "
        f"{os.path.relpath(os.path.join(OUT, 'results.json'), ROOT)}")
    if "error" in la:
        sys.exit(1)


if __name__ == "__main__":
    main()
