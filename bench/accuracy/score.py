#!/usr/bin/env python3
"""Score `miniguard scan` on the real-code corpus against the hand verdicts.

    bench/accuracy/score.py [--bin PATH] [--reuse] [--only NAME]... [--json] [--list N]

Scans every project of projects.toml that fetch.sh extracted into corpus/<name>/ (the
`dependency` category left out), matches the findings to verdicts.txt and prints:

- precision per rule and overall, for findings at medium and above and for all findings:
  tp / (tp + fp), with debatable verdicts counted both ways (as fp: "strict", as tp: "lenient");
- findings per 10,000 lines of code scanned;
- verdicts that went stale (no finding matches them any more) and findings without a verdict.

A verdict is one line of verdicts.txt:

    owner/repo@commit path:line RULE tp|fp|debatable reason...

It matches the findings of RULE at path:line in that project. When none is there (the scanner
now reports the flaw a few lines away, e.g. at the sink instead of the source), it matches a
finding of the same rule and path whose snippet holds the text of the verdict's line in the
pinned source, or, failing that, the nearest one within a few lines; such matches are counted as
"moved". Each finding takes the verdict of its own line first.

The binary is --bin, else $MINIGUARD_BIN, else /work/main/target/debug/miniguard, else
`miniguard` on PATH. Reports are kept in corpus/.reports/<name>.json; --reuse reads them instead of
scanning again. Standard library only. Exit code 0 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEVERITIES = ["info", "low", "medium", "high", "critical"]
MEDIUM_UP = {"medium", "high", "critical"}
# What a report lists by default (`--min-severity low`).
LOW_UP = MEDIUM_UP | {"low"}
VERDICTS = {"tp", "fp", "debatable"}
# How far (in lines) a verdict may be from its finding and still match it.
MOVE_WINDOW = 5

# What the scanner reads (crates/project/src/discover.rs), for counting lines of code.
SOURCE_EXT = {
    ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".wxml", ".axml", ".ttml",
    ".swan", ".qml", ".wxs", ".sjs", ".vue", ".nvue", ".json",
}
VENDOR_DIRS = {"node_modules", "miniprogram_npm", "bower_components", "jspm_packages", "unpackage"}
LOCKFILES = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"}
MAX_FILE = 2 * 1024 * 1024


def default_bin() -> str:
    env = os.environ.get("MINIGUARD_BIN")
    if env:
        return env
    main = Path("/work/main/target/debug/miniguard")
    if main.exists():
        return str(main)
    return shutil.which("miniguard") or "miniguard"


def load_projects(path: Path) -> list[dict]:
    with path.open("rb") as f:
        return tomllib.load(f).get("project", [])


def is_minified(data: bytes) -> bool:
    head = data[:65536]
    lines = head.split(b"\n")
    if not lines:
        return False
    longest = max(len(line) for line in lines)
    return longest > 1000 and len(head) / len(lines) > 300


def compiled_dist(parent: Path) -> bool:
    """`dist` is compiler output when its parent holds the sources (discover.rs)."""
    src = parent / "src"
    if (src / "manifest.json").exists() and (src / "pages.json").exists():
        return True
    pkg = parent / "package.json"
    if pkg.exists():
        try:
            text = pkg.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        return "@tarojs/" in text or "@dcloudio/" in text
    return False


def count_loc(root: Path) -> tuple[int, int]:
    """Non-blank lines and files of the source files the scanner reads (an approximation:
    .gitignore files and per-root rules of discover.rs are not replayed)."""
    lines = 0
    files = 0
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in VENDOR_DIRS
            and not (d == "dist" and compiled_dist(here))
        ]
        for name in filenames:
            if name.startswith(".") or name in LOCKFILES or name.endswith(".d.ts"):
                continue
            p = here / name
            if p.suffix.lower() not in SOURCE_EXT or name.endswith(".min.js"):
                continue
            try:
                if p.stat().st_size > MAX_FILE:
                    continue
                data = p.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            if p.suffix.lower() in {".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx"} and is_minified(data):
                continue
            files += 1
            lines += sum(1 for line in data.split(b"\n") if line.strip())
    return lines, files


def scan_supports(binary: str, flag: str) -> bool:
    try:
        out = subprocess.run(
            [binary, "scan", "--help"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in out


def scan(binary: str, root: Path, out: Path, min_info: bool) -> tuple[dict | None, str]:
    cmd = [
        binary, "scan", str(root), "--format", "json", "--output", str(out),
        "--ignore", "dependency", "--no-progress", "--fail-on", "never",
    ]
    if min_info:
        cmd += ["--min-severity", "info"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"could not run the scan: {e}"
    if proc.returncode not in (0, 1):
        return None, f"scan exited with {proc.returncode}: {proc.stderr.strip()[:500]}"
    return read_report(out)


def read_report(path: Path) -> tuple[dict | None, str]:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f), ""
    except (OSError, ValueError) as e:
        return None, f"could not read {path}: {e}"


VERDICT_RE = re.compile(r"^(\S+)@([0-9a-fA-F]{7,40})\s+(.+):(\d+)\s+([A-Z]\d{3})\s+(tp|fp|debatable)\b\s*(.*)$")


def load_verdicts(path: Path) -> tuple[list[dict], list[str]]:
    verdicts, problems = [], []
    if not path.exists():
        return verdicts, problems
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = VERDICT_RE.match(line)
        if not m:
            problems.append(f"{path.name}:{n}: not a verdict line: {line[:100]}")
            continue
        repo, commit, fpath, lno, rule, verdict, reason = m.groups()
        verdicts.append(
            {
                "repo": repo, "commit": commit.lower(), "path": fpath, "line": int(lno),
                "rule": rule, "verdict": verdict, "reason": reason, "src": n,
            }
        )
    return verdicts, problems


def fold(text: str) -> str:
    return " ".join(text.split())


def source_line(root: Path, rel: str, line: int) -> str:
    try:
        with (root / rel).open(encoding="utf-8", errors="replace") as f:
            for i, text in enumerate(f, 1):
                if i == line:
                    return fold(text)
    except OSError:
        pass
    return ""


def ratio(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


class Tally:
    def __init__(self) -> None:
        self.n = 0
        self.tp = 0
        self.fp = 0
        self.deb = 0
        self.unreviewed = 0

    def add(self, verdict: str | None) -> None:
        self.n += 1
        if verdict == "tp":
            self.tp += 1
        elif verdict == "fp":
            self.fp += 1
        elif verdict == "debatable":
            self.deb += 1
        else:
            self.unreviewed += 1

    def reviewed(self) -> int:
        return self.tp + self.fp + self.deb

    def strict(self) -> float | None:
        return ratio(self.tp, self.reviewed())

    def lenient(self) -> float | None:
        return ratio(self.tp + self.deb, self.reviewed())

    def as_dict(self) -> dict:
        return {
            "findings": self.n, "reviewed": self.reviewed(), "tp": self.tp, "fp": self.fp,
            "debatable": self.deb, "unreviewed": self.unreviewed,
            "precision_strict": self.strict(), "precision_lenient": self.lenient(),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=default_bin(), help="the miniguard binary")
    ap.add_argument("--corpus", type=Path, default=HERE / "corpus")
    ap.add_argument("--projects", type=Path, default=HERE / "projects.toml")
    ap.add_argument("--verdicts", type=Path, default=HERE / "verdicts.txt")
    ap.add_argument("--out", type=Path, default=HERE / "corpus" / ".reports", help="where reports are kept")
    ap.add_argument("--reuse", action="store_true", help="read kept reports, do not scan")
    ap.add_argument("--only", action="append", default=[], help="only this project (repeatable)")
    ap.add_argument("--json", action="store_true", help="print a machine summary")
    ap.add_argument("--list", type=int, default=40, help="list at most N unreviewed findings")
    args = ap.parse_args()

    projects = load_projects(args.projects)
    if args.only:
        projects = [p for p in projects if p["name"] in args.only]
    verdicts, problems = load_verdicts(args.verdicts)
    args.out.mkdir(parents=True, exist_ok=True)
    min_info = False if args.reuse else scan_supports(args.bin, "--min-severity")

    by_rule_all: dict[str, Tally] = defaultdict(Tally)
    by_rule_med: dict[str, Tally] = defaultdict(Tally)
    by_rule_low: dict[str, Tally] = defaultdict(Tally)
    total_all, total_med, total_low = Tally(), Tally(), Tally()
    per_project = []
    unreviewed: list[dict] = []
    used: set[int] = set()
    moved = 0
    loc_total = 0
    notes: list[str] = list(problems)

    vindex: dict[tuple, list[dict]] = defaultdict(list)
    for v in verdicts:
        vindex[(v["repo"], v["path"], v["rule"])].append(v)

    for p in projects:
        root = args.corpus / p["name"]
        if not root.is_dir():
            notes.append(f"{p['name']}: not extracted (run fetch.sh)")
            continue
        report_path = args.out / f"{p['name']}.json"
        if args.reuse:
            report, err = read_report(report_path)
        else:
            report, err = scan(args.bin, root, report_path, min_info)
        if report is None:
            notes.append(f"{p['name']}: {err}")
            continue
        loc, nfiles = count_loc(root)
        loc_total += loc
        findings = [f for f in report.get("findings", []) if f.get("category") != "dependency"]
        proj_all, proj_med = Tally(), Tally()
        # First pass: exact matches. Second: moved matches for what is left.
        assigned: dict[int, dict] = {}
        for i, f in enumerate(findings):
            loc_ = f["location"]
            for v in vindex.get((p["repo"], loc_["path"], f["rule"]), []):
                if v["commit"] and not p["commit"].startswith(v["commit"]):
                    continue
                if v["line"] == loc_["start"]["line"]:
                    assigned[i] = v
                    used.add(id(v))
                    break
        for i, f in enumerate(findings):
            if i in assigned:
                continue
            loc_ = f["location"]
            cands = [
                v
                for v in vindex.get((p["repo"], loc_["path"], f["rule"]), [])
                if id(v) not in used and p["commit"].startswith(v["commit"])
            ]
            if not cands:
                continue
            snippet = fold(loc_.get("snippet", ""))
            best = None
            for v in cands:
                text = source_line(root, v["path"], v["line"])
                if text and snippet and text in snippet:
                    best = v
                    break
            if best is None:
                near = [v for v in cands if abs(v["line"] - loc_["start"]["line"]) <= MOVE_WINDOW]
                if near:
                    best = min(near, key=lambda v: abs(v["line"] - loc_["start"]["line"]))
            if best is not None:
                assigned[i] = best
                used.add(id(best))
                moved += 1
        for i, f in enumerate(findings):
            v = assigned.get(i)
            verdict = v["verdict"] if v else None
            sev = f.get("severity", "low")
            by_rule_all[f["rule"]].add(verdict)
            total_all.add(verdict)
            proj_all.add(verdict)
            if sev in LOW_UP:
                by_rule_low[f["rule"]].add(verdict)
                total_low.add(verdict)
            if sev in MEDIUM_UP:
                by_rule_med[f["rule"]].add(verdict)
                total_med.add(verdict)
                proj_med.add(verdict)
            if v is None:
                unreviewed.append(
                    {
                        "project": p["name"], "key": f"{p['repo']}@{p['commit'][:12]} "
                        f"{f['location']['path']}:{f['location']['start']['line']} {f['rule']}",
                        "severity": sev, "message": f.get("message", "")[:160],
                    }
                )
        per_project.append(
            {
                "name": p["name"], "repo": p["repo"], "commit": p["commit"],
                "platform": p.get("platform", ""), "loc": loc, "source_files": nfiles,
                "files_scanned": report.get("stats", {}).get("files_scanned"),
                "all": proj_all.as_dict(), "medium_up": proj_med.as_dict(),
                "per_10k_loc": round(proj_all.n * 10000 / loc, 2) if loc else None,
            }
        )

    # A verdict is stale when no finding of its project matched it (verdicts of projects left
    # out with --only are not judged).
    repos = {p["repo"] for p in projects}
    stale = [v for v in verdicts if id(v) not in used and v["repo"] in repos]
    summary = {
        "binary": args.bin,
        "projects": len(per_project),
        "loc": loc_total,
        "findings": total_all.n,
        "findings_medium_up": total_med.n,
        "per_10k_loc": round(total_all.n * 10000 / loc_total, 2) if loc_total else None,
        "per_10k_loc_medium_up": round(total_med.n * 10000 / loc_total, 2) if loc_total else None,
        "all": total_all.as_dict(),
        "medium_up": total_med.as_dict(),
        "low_up": total_low.as_dict(),
        "rules_all": {r: t.as_dict() for r, t in sorted(by_rule_all.items())},
        "rules_medium_up": {r: t.as_dict() for r, t in sorted(by_rule_med.items())},
        "rules_low_up": {r: t.as_dict() for r, t in sorted(by_rule_low.items())},
        "per_project": per_project,
        "moved_matches": moved,
        "stale_verdicts": [
            f"{v['repo']}@{v['commit'][:12]} {v['path']}:{v['line']} {v['rule']} {v['verdict']}"
            for v in stale
        ],
        "unreviewed": unreviewed,
        "notes": notes,
    }

    if args.json:
        json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0

    w = sys.stdout.write
    w(f"miniguard accuracy on {len(per_project)} projects, {loc_total} lines of code "
      f"({args.bin})\n\n")
    w(f"{'project':<20} {'platform':<8} {'LOC':>7} {'all':>5} {'med+':>5} {'/10k':>6} "
      f"{'rev':>4} {'tp':>4} {'deb':>4} {'fp':>4}\n")
    for pp in per_project:
        a = pp["all"]
        w(f"{pp['name']:<20} {pp['platform']:<8} {pp['loc']:>7} {a['findings']:>5} "
          f"{pp['medium_up']['findings']:>5} {pp['per_10k_loc'] or 0:>6.1f} {a['reviewed']:>4} "
          f"{a['tp']:>4} {a['debatable']:>4} {a['fp']:>4}\n")
    for title, table, tot in (
        ("medium and above", by_rule_med, total_med),
        ("low and above (what a report lists by default)", by_rule_low, total_low),
        ("all severities", by_rule_all, total_all),
    ):
        w(f"\nprecision, {title} (strict: debatable as fp; lenient: debatable as tp)\n")
        w(f"{'rule':<6} {'found':>6} {'rev':>5} {'tp':>5} {'deb':>5} {'fp':>5} "
          f"{'strict':>8} {'lenient':>8}\n")
        for rule, t in sorted(table.items(), key=lambda kv: (-kv[1].n, kv[0])):
            w(f"{rule:<6} {t.n:>6} {t.reviewed():>5} {t.tp:>5} {t.deb:>5} {t.fp:>5} "
              f"{fmt_pct(t.strict()):>8} {fmt_pct(t.lenient()):>8}\n")
        w(f"{'all':<6} {tot.n:>6} {tot.reviewed():>5} {tot.tp:>5} {tot.deb:>5} {tot.fp:>5} "
          f"{fmt_pct(tot.strict()):>8} {fmt_pct(tot.lenient()):>8}\n")
    w(f"\nfindings per 10,000 lines: {summary['per_10k_loc']} "
      f"(medium and above: {summary['per_10k_loc_medium_up']})\n")
    w(f"verdicts matched after a line move: {moved}\n")
    w(f"\nstale verdicts (no finding matches): {len(stale)}\n")
    for s in summary["stale_verdicts"]:
        w(f"  {s}\n")
    med_unrev = [u for u in unreviewed if u["severity"] in MEDIUM_UP]
    w(f"\nfindings without a verdict: {len(unreviewed)} ({len(med_unrev)} at medium and above)\n")
    ordered = med_unrev + [u for u in unreviewed if u["severity"] not in MEDIUM_UP]
    for u in ordered[: args.list]:
        w(f"  {u['key']} [{u['severity']}] {u['message']}\n")
    if len(ordered) > args.list:
        w(f"  ... {len(ordered) - args.list} more (--list N, or --json)\n")
    if notes:
        w("\nnotes:\n")
        for n in notes:
            w(f"  {n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
