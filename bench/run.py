#!/usr/bin/env python3
"""Benchmark miniguard against semgrep on the generated corpus, in one run.

    python3 bench/run.py                   # 2,000 JS files, 3 runs each, -j 2
    python3 bench/run.py --files 10000 --runs 5 --jobs 2
    python3 bench/run.py --skip-semgrep    # miniguard only

Steps: build miniguard in release mode; generate bench/corpus with bench/gen_corpus.py unless a
corpus of the requested size and seed is already there; install semgrep into bench/.venv from
PyPI if it is missing; run one warm-up and then --runs timed runs of each tool, alternating,
with the same thread count (-j) for both; print a table with the median wall time, files per
second, findings, planted flaws found, peak RSS (when /usr/bin/time -v works) and the ratio
semgrep time / miniguard time. Raw outputs go to bench/out/ (gitignored), a summary to
bench/out/results.json.

semgrep runs offline: --metrics=off, --disable-version-check, SEMGREP_ENABLE_VERSION_CHECK=0,
SEMGREP_SEND_METRICS=off, only the local rules in bench/semgrep-rules.yml, and
--no-git-ignore (the corpus is gitignored, and semgrep would otherwise skip every file).
If semgrep cannot be installed or run, the script says so and still reports miniguard.
"""

import argparse
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
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
VENV = os.path.join(HERE, ".venv")
RULES = os.path.join(HERE, "semgrep-rules.yml")
GNU_TIME = "/usr/bin/time"

sys.path.insert(0, HERE)
import gen_corpus  # noqa: E402

# Planted flaw kind -> rule name (miniguard) / rule id (semgrep) that should report it.
KIND_MINIGUARD = {
    "http_url": "insecure-http-endpoint",
    "sql_event": "sql-injection",
    "exec_query": "command-injection",
    "token_storage": "sensitive-storage",
    "reject_unauth": "tls-verification-disabled",
    "appsecret": "hardcoded-appsecret",
    "eval_body": "code-injection",
    "redirect_query": "open-redirect",
    "openid_event": "trusted-client-identity",
}
KIND_SEMGREP = {k: "mg-" + v for k, v in KIND_MINIGUARD.items()}


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import build_miniguard, git_state, log, sh  # noqa: E402


def ensure_corpus(path, files, seed, regen):
    manifest = os.path.join(path, "MANIFEST.json")
    if not regen and os.path.exists(manifest):
        with open(manifest) as fh:
            m = json.load(fh)
        if m.get("requested_js_files") == files and m.get("seed") == seed:
            return m
    log(f"generating corpus ({files} JS files, seed {seed}) into {path} ...")
    return gen_corpus.generate(path, files, seed, gen_corpus.DEFAULT_FLAW_RATE)


def semgrep_env():
    env = dict(os.environ)
    env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    env["SEMGREP_SEND_METRICS"] = "off"
    return env


def ensure_semgrep(explicit):
    """Return (path, version) or (None, reason)."""
    candidates = [explicit] if explicit else [os.path.join(VENV, "bin", "semgrep")]
    path = candidates[0]
    if not explicit and not os.path.exists(path):
        log("semgrep not found in bench/.venv: installing it from PyPI (pip install semgrep) ...")
        try:
            if not os.path.exists(os.path.join(VENV, "bin", "pip")):
                p = sh([sys.executable, "-m", "venv", VENV])
                if p.returncode != 0:
                    return None, "could not create bench/.venv: " + p.stderr.strip()[-500:]
            p = sh([os.path.join(VENV, "bin", "pip"), "install", "--quiet", "semgrep"],
                   timeout=1200)
            if p.returncode != 0:
                return None, "pip install semgrep failed: " + (p.stderr or p.stdout).strip()[-800:]
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"pip install semgrep failed: {e}"
    if not os.path.exists(path):
        return None, f"{path} does not exist"
    try:
        p = sh([path, "--version"], env=semgrep_env(), timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`semgrep --version` failed: {e}"
    if p.returncode != 0:
        return None, "`semgrep --version` failed: " + (p.stderr or p.stdout).strip()[-800:]
    return path, p.stdout.strip().splitlines()[-1]


def gnu_time_works():
    if not os.path.exists(GNU_TIME):
        return False
    try:
        return sh([GNU_TIME, "-v", "true"]).returncode == 0
    except OSError:
        return False


# ------------------------------------------------------------------------------------ runs

def timed_run(cmd, out_path, use_time, env=None, timeout=None):
    """Run cmd with stdout to out_path.

    Return (seconds, peak_rss_kb or None, cpu_seconds or None, returncode, stderr)."""
    time_file = out_path + ".time"
    full = [GNU_TIME, "-v", "-o", time_file] + cmd if use_time else cmd
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.run(full, stdout=out, stderr=subprocess.PIPE, text=True, env=env,
                           timeout=timeout, cwd=ROOT)
        secs = time.perf_counter() - t0
    rss = cpu = None
    if use_time and os.path.exists(time_file):
        with open(time_file) as fh:
            text = fh.read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if m:
            rss = int(m.group(1))
        u = re.search(r"User time \(seconds\): ([\d.]+)", text)
        s = re.search(r"System time \(seconds\): ([\d.]+)", text)
        if u and s:
            cpu = float(u.group(1)) + float(s.group(1))
    return secs, rss, cpu, p.returncode, p.stderr


def parse_miniguard(path):
    with open(path) as fh:
        d = json.load(fh)
    return {
        "findings": [(f["name"], f["location"]["path"]) for f in d["findings"]],
        "files": d["stats"]["files_scanned"],
        "warnings": len(d.get("warnings", [])),
    }


def parse_semgrep(path, corpus):
    with open(path) as fh:
        d = json.load(fh)
    def rel(p):
        return os.path.relpath(os.path.join(ROOT, p), corpus)
    scanned = d.get("paths", {}).get("scanned", [])
    return {
        "findings": [(r["check_id"].split(".")[-1], rel(r["path"])) for r in d["results"]],
        "files": len(scanned) if isinstance(scanned, list) else scanned,
        "warnings": len(d.get("errors", [])),
    }


def planted_found(findings, planted, kind_map):
    have = set(findings)
    return sum(1 for p in planted if (kind_map[p["kind"]], p["path"]) in have)


def bench_tool(name, cmd, parse, runs, warmup, use_time, env=None, timeout=None):
    times, rsss, cpus, result = [], [], [], None
    for i in range(warmup + runs):
        label = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        out_path = os.path.join(OUT, f"{name}-{i}.json")
        log(f"  {name} {label}: {' '.join(cmd)}")
        try:
            secs, rss, cpu, rc, err = timed_run(cmd, out_path, use_time, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        if rc not in (0, 1):
            return {"error": f"exit code {rc}: {err.strip()[-800:]}"}
        try:
            result = parse(out_path)
        except (ValueError, KeyError) as e:
            return {"error": f"could not read its JSON output ({e}); stderr: {err.strip()[-500:]}"}
        log(f"    {secs:.3f} s, {len(result['findings'])} findings, load avg {os.getloadavg()[0]:.2f}"
            + (f", CPU {cpu:.2f} s" if cpu is not None else "")
            + (f", peak RSS {rss / 1024:.0f} MiB" if rss else ""))
        if i >= warmup:
            times.append(secs)
            if rss:
                rsss.append(rss)
            if cpu is not None:
                cpus.append(cpu)
    return {
        "times": times,
        "median": statistics.median(times),
        "peak_rss_kb": max(rsss) if rsss else None,
        "cpu_times": cpus,
        "median_cpu": statistics.median(cpus) if cpus else None,
        **result,
    }


# ------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description="miniguard vs semgrep benchmark")
    ap.add_argument("--files", type=int, default=gen_corpus.DEFAULT_FILES,
                    help="JS files in the corpus (default 2000)")
    ap.add_argument("--seed", type=int, default=gen_corpus.DEFAULT_SEED)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (default 1)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="threads for both tools (default 2)")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--regen", action="store_true", help="regenerate the corpus")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("--skip-semgrep", action="store_true")
    ap.add_argument("--semgrep", help="semgrep executable to use instead of bench/.venv")
    ap.add_argument("--timeout", type=int, default=3600, help="per-run timeout in seconds")
    args = ap.parse_args()

    os.makedirs(OUT, exist_ok=True)
    corpus = os.path.abspath(args.corpus)
    binary = build_miniguard(args.no_build)
    mg_version = sh([binary, "--version"]).stdout.strip()
    manifest = ensure_corpus(corpus, args.files, args.seed, args.regen)
    planted = manifest["planted"]

    sg_path, sg_info = (None, "skipped (--skip-semgrep)") if args.skip_semgrep \
        else ensure_semgrep(args.semgrep)
    if sg_path is None and not args.skip_semgrep:
        log("")
        log("*** semgrep is NOT available, so there is no comparison in this run ***")
        log(f"*** reason: {sg_info}")
        log("")

    use_time = gnu_time_works()
    machine = {
        "nproc": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), platform.processor()) if os.path.exists(
                         "/proc/cpuinfo") else platform.processor(),
        "os": platform.platform(),
    }

    log(f"\nminiguard: {mg_version} at commit {git_state()}")
    log(f"semgrep:   {sg_info}")
    log(f"corpus:    {corpus}: {manifest['js_files']} JS files ({manifest['files']} files), "
        f"{manifest['js_lines']} JS lines, {manifest['js_bytes']} JS bytes, "
        f"{len(planted)} planted flaws")
    log(f"machine:   {machine['nproc']} CPUs, {machine['cpu']}; -j {args.jobs}; "
        f"{args.runs} runs (+{args.warmup} warm-up) each\n")

    mg_cmd = [binary, "scan", corpus, "--format", "json", "--no-progress", "-j", str(args.jobs),
              "--fail-on", "never"]
    sg_cmd = [sg_path, "scan", "--config", RULES, "--disable-version-check", "--metrics=off",
              "--json", "--quiet", "--no-git-ignore", "-j", str(args.jobs), corpus] if sg_path else None

    load_before = os.getloadavg()
    log(f"load average before the runs: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
        " (other work on the machine skews the figures)")
    results = {}
    log("miniguard:")
    results["miniguard"] = bench_tool("miniguard", mg_cmd, parse_miniguard, args.runs,
                                      args.warmup, use_time, timeout=args.timeout)
    if sg_cmd:
        log("semgrep:")
        results["semgrep"] = bench_tool("semgrep", sg_cmd, lambda p: parse_semgrep(p, corpus),
                                        args.runs, args.warmup, use_time, env=semgrep_env(),
                                        timeout=args.timeout)

    # ---- table
    js = manifest["js_files"]
    rows = []
    for tool, kmap in (("miniguard", KIND_MINIGUARD), ("semgrep", KIND_SEMGREP)):
        r = results.get(tool)
        if r is None:
            continue
        if "error" in r:
            rows.append([tool, "-", "-", "-", "-", "-", "-", "-", "-", "FAILED: " + r["error"][:200]])
            continue
        r["planted_found"] = planted_found(r["findings"], planted, kmap)
        r["finding_count"] = len(r["findings"])
        rows.append([
            tool,
            str(r["files"]),
            f"{r['median']:.3f}",
            f"{js / r['median']:.0f}",
            f"{r['median_cpu']:.2f}" if r["median_cpu"] is not None else "n/a",
            str(r["finding_count"]),
            f"{r['planted_found']}/{len(planted)}",
            f"{r['peak_rss_kb'] / 1024:.0f}" if r["peak_rss_kb"] else "n/a",
            " ".join(f"{t:.3f}" for t in r["times"]),
            "",
        ])
    head = ["tool", "files scanned", "median s", "JS files/s", "CPU s", "findings", "planted found",
            "peak RSS MiB", "all runs s", ""]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths[:-1]))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    mg, sg = results.get("miniguard", {}), results.get("semgrep")
    ratio = None
    if sg and "median" in sg and "median" in mg:
        ratio = sg["median"] / mg["median"]
        print(f"ratio: semgrep median / miniguard median = {sg['median']:.3f} / "
              f"{mg['median']:.3f} = {ratio:.1f}x  (target: >= 10x)")
        if sg.get("median_cpu") and mg.get("median_cpu"):
            print(f"       CPU time (user+sys) semgrep / miniguard = {sg['median_cpu']:.2f} / "
                  f"{mg['median_cpu']:.2f} = {sg['median_cpu'] / mg['median_cpu']:.1f}x")
    elif sg is None:
        print(f"ratio: n/a, semgrep not run: {sg_info}")
    else:
        print("ratio: n/a, a tool failed (see above)")
    print(f"corpus: {js} JS files / {manifest['files']} files, {manifest['js_lines']} JS lines, "
          f"{manifest['js_bytes']} JS bytes; -j {args.jobs}; median of {args.runs} runs "
          f"after {args.warmup} warm-up")
    if not use_time:
        print("peak RSS: n/a (/usr/bin/time -v not available)")

    summary = {
        "machine": machine, "jobs": args.jobs, "runs": args.runs, "warmup": args.warmup,
        "miniguard_version": mg_version, "miniguard_commit": git_state(), "semgrep": sg_info,
        "corpus": {k: v for k, v in manifest.items() if k != "planted"},
        "ratio_semgrep_over_miniguard": ratio,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "results": {t: {k: v for k, v in r.items() if k != "findings"}
                    for t, r in results.items()},
    }
    for t, r in results.items():
        if "findings" in r:
            by_rule = {}
            for rule, _ in r["findings"]:
                by_rule[rule] = by_rule.get(rule, 0) + 1
            summary["results"][t]["findings_by_rule"] = dict(sorted(by_rule.items()))
    with open(os.path.join(OUT, "results.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    log(f"\nsummary written to {os.path.relpath(os.path.join(OUT, 'results.json'), ROOT)}")
    if "error" in mg:
        sys.exit(1)


if __name__ == "__main__":
    main()
