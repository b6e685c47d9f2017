#!/usr/bin/env python3
"""Prints criterion results as a Markdown table of ratios to each group's baseline.

Usage: python3 benches/ratios.py [target/criterion]
The baseline of a group is its first of: hand_loop, plain_await, baseline,
recloser_default (the breaker groups).
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
BASELINES = ("hand_loop", "plain_await", "baseline", "recloser_default")


def estimate(path):
    data = json.loads(path.read_text())
    return data["median"]["point_estimate"]


def fmt(ns):
    for unit, scale in (("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.2f} ns"


for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
    rows = {}
    for bench in sorted(group.iterdir()):
        est = bench / "new" / "estimates.json"
        if est.exists():
            rows[bench.name] = estimate(est)
    if not rows:
        continue
    base_name = next((b for b in BASELINES if b in rows), None)
    print(f"\n**{group.name}**\n")
    print("| implementation | median | ratio to " + (base_name or "—") + " |")
    print("|---|---:|---:|")
    for name, ns in sorted(rows.items(), key=lambda kv: kv[1]):
        ratio = f"{ns / rows[base_name]:.2f}×" if base_name else "—"
        print(f"| {name} | {fmt(ns)} | {ratio} |")
