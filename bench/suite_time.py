"""The test suite's wall time, this checkout beside commit 28cc068 (issue 14): `python bench/suite_time.py`.

Runs `python3 -m pytest -q -n 2 --dist loadfile` in this checkout and in a checkout of the base commit
(`git archive` into a temporary folder, or --base DIR), each with its own tree on PYTHONPATH, taking turns
(--rounds), and prints each run's wall time, pytest's summary line and the ratio this/base (issue 14's
target: <= 0.7, i.e. at least 30% less). The whole suite takes about 6 minutes a run on 2 cores, so a
default run takes about 12; `-k EXPR` (or test paths after `--`) narrows both runs alike for a check.
Not a test. See bench/README.md.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compare_bench import BASE_REV, ROOT, base_checkout, git_describe, rotate

# -p no:benchmark: pytest-benchmark, where the machine has it, refuses xdist with a warning that the suite
# turns into an error; this checkout says so in its pyproject.toml, 28cc068 did not yet.
PYTEST = ["-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider", "-p", "no:benchmark"]


def run_suite(root, extra, log):
    """Wall seconds of the suite in that checkout, its summary line, its exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "CLIENT_"))}
    env["PYTHONPATH"] = str(root)
    t = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        code = subprocess.run([sys.executable, *PYTEST, *extra], cwd=str(root), env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t
    lines = [line for line in Path(log).read_text(encoding="utf-8").splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if " in " in line and ("passed" in line or "failed" in line
                                                                           or "error" in line)), lines[-1] if lines else "")
    return seconds, summary.strip("= "), code


def tests_run(summary):
    """The tests a pytest summary line counts (passed, failed, errors, skipped, xfailed, xpassed)."""
    return sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|errors?|skipped|xfailed|xpassed)\b", summary))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help=f"an existing checkout of the base commit (default: git archive {BASE_REV})")
    parser.add_argument("--base-rev", default=BASE_REV)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, alternating (default 1)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression, for both (a short check)")
    parser.add_argument("--logs", help="keep each run's pytest output in this folder (default: a temporary one)")
    parser.add_argument("paths", nargs="*", help="test paths, for both (after --)")
    args = parser.parse_args()
    extra = (["-k", args.keyword] if args.keyword else []) + args.paths
    print(f"test suite wall time: python3 {' '.join(PYTEST[1:] + extra)}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="idp-suite-") as tmp_name:
        tmp = Path(tmp_name)
        logs = Path(args.logs).resolve() if args.logs else tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        sides = {"this checkout": ROOT, args.base_rev: base_checkout(tmp, args.base_rev, args.base)}
        print(f"  this checkout: {ROOT} ({git_describe(ROOT)}); {args.base_rev}: {sides[args.base_rev]}", flush=True)
        times = {name: [] for name in sides}
        counts = {}
        failed = False
        for round_ in range(args.rounds):
            for name in rotate(list(sides), round_):
                log = logs / f"{'this' if name == 'this checkout' else 'base'}-{round_}.log"
                seconds, summary, code = run_suite(sides[name], extra, log)
                times[name].append(seconds)
                counts[name] = tests_run(summary)
                print(f"  {name:<14} {seconds:7.1f} s  exit {code}  {summary}", flush=True)
                if code != 0:
                    failed = True
                    tail = log.read_text(encoding="utf-8").splitlines()[-15:]
                    print("    " + "\n    ".join(tail), flush=True)
    this, base = (statistics.median(times[name]) for name in sides)
    ratio = this / base
    print(f"  this / {args.base_rev}: {ratio:.2f}  (target <= 0.7: {'OK' if ratio <= 0.7 else 'MISS'}; "
          f"median of {args.rounds}; load average now {os.getloadavg()[0]:.2f})")
    # The suite has grown since the base commit (issues 10 to 14 added tests, many of them browser journeys): the wall
    # time per test shows the speed of the suite apart from its size.
    this_count, base_count = (counts.get(name, 0) for name in sides)
    if this_count and base_count:
        per_test = (this / this_count) / (base / base_count)
        print(f"  per test: {this / this_count:.3f} s ({this_count} tests) against {base / base_count:.3f} s "
              f"({base_count} tests): {per_test:.2f}")
    if failed:
        print("  WARNING: a run did not pass (exit code above): its time is not the suite's")
        sys.exit(1)


if __name__ == "__main__":
    main()
