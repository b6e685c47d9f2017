#!/usr/bin/env python3
"""Runs the success-path criterion bench several times and prints, per variant, the
median of the runs' medians, their range, and the ratio of the median to the group's
baseline (the same baselines as ratios.py).

On a shared VM one run moves by up to ±5% from the next: a ratio near a target must
come from several runs of the same binary, not one.

Usage: python3 benches/clock_runs.py [RUNS] [FILTER] [BENCH]
RUNS defaults to 5; FILTER is criterion's regex (default: the two success groups);
BENCH the bench target (default success_path; `matrix` for the policy matrix).
"""
import json
import pathlib
import statistics
import subprocess
import sys
import time

root = pathlib.Path(__file__).resolve().parent.parent
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
pattern = sys.argv[2] if len(sys.argv) > 2 else "^(sync|async)_success/"
BASELINES = ("hand_loop", "plain_await")

target = sys.argv[3] if len(sys.argv) > 3 else "success_path"
bench = ["cargo", "bench", "-q", "-p", "retry-benches", "--bench", target, "--"]
# Build first, so the first run is not the one that compiles.
subprocess.run(bench + ["--test", pattern], cwd=root, check=True, capture_output=True)

seen = {}  # (group, variant) -> [median ns per run]
for _ in range(runs):
    start = time.time()
    subprocess.run(bench + [pattern], cwd=root, check=True, capture_output=True)
    # Only what this run wrote: older results of other benches stay on disk.
    for est in (root / "target" / "criterion").glob("*/*/new/estimates.json"):
        if est.stat().st_mtime >= start:
            ns = json.loads(est.read_text())["median"]["point_estimate"]
            seen.setdefault((est.parts[-4], est.parts[-3]), []).append(ns)

for group in sorted({g for g, _ in seen}):
    rows = {v: ns for (g, v), ns in seen.items() if g == group and len(ns) == runs}
    base = next((b for b in BASELINES if b in rows), None)
    if not rows or base is None:
        continue
    base_median = statistics.median(rows[base])
    print(f"\n**{group}** ({runs} runs; median of the runs' medians, range)\n")
    print(f"| implementation | median | range | ratio to {base} |")
    print("|---|---:|---:|---:|")
    for name, ns in sorted(rows.items(), key=lambda kv: statistics.median(kv[1])):
        m = statistics.median(ns)
        print(f"| {name} | {m:.2f} ns | {min(ns):.2f}–{max(ns):.2f} | {m / base_median:.2f}× |")
