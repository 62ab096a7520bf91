"""Helpers shared by the benchmark scripts (bench/run.py, bench/deps/run.py)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def build_miniguard(skip):
    """Build target/release/miniguard (unless skip) and return its path; exit on failure.

    The target directory is $CARGO_TARGET_DIR when set (as cargo itself does), else target/."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    binary = os.path.join(target, "release", "miniguard")
    if not skip:
        log("building miniguard (cargo build --release) ...")
        p = subprocess.run(["cargo", "build", "--release", "--bin", "miniguard"], cwd=ROOT)
        if p.returncode != 0:
            sys.exit("error: cargo build --release failed; fix the build or pass --no-build "
                     "to measure the binary already in target/release")
    if not os.path.exists(binary):
        sys.exit(f"error: {binary} not found")
    return binary


def git_state():
    """The commit measured, noting uncommitted changes under crates/."""
    try:
        rev = sh(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
        dirty = sh(["git", "status", "--porcelain", "--untracked-files=no", "--", "crates"],
                   cwd=ROOT).stdout.strip()
        return rev + (" (+ uncommitted changes in crates/)" if dirty else "")
    except OSError:
        return "unknown"
