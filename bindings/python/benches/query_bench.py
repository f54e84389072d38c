#!/usr/bin/env python3
"""Time to get 1,000,000 points from a Pilot metrics store into Python.

    cd bindings/python && maturin develop --release   # an optimised build
    python benches/query_bench.py [--runs N] [--keep DIR]

Writes a store in a temporary directory (or DIR): one series of 1,000,000
samples every 10 s ending a day ago (compacted into chunks, as on a real
server), and ten series of 100,000 samples each. Then times, best and
median of N runs, each query through ``query_numpy`` (numpy arrays built
without a Python loop) and ``query`` (a list of ``(ts, value)`` tuples).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pilot

STEP_MS = 10_000
DAY_MS = 86_400_000


def fill(path: Path) -> int:
    """Writes the data set; returns the start of the big series."""
    end = (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS
    start = end - 1_000_000 * STEP_MS
    with pilot.MetricsStore.create(path) as store:
        batch = 100_000
        for first in range(0, 1_000_000, batch):
            store.write(
                "node-1",
                [
                    ("cpu_usage_percent", start + i * STEP_MS, round(50 + 40 * math.sin(i / 500), 1))
                    for i in range(first, first + batch)
                ],
            )
        for s in range(10):
            store.write(
                "node-1",
                [
                    ("requests", end - (100_000 - i) * STEP_MS, float(i % 97), {"project": f"app-{s}"})
                    for i in range(100_000)
                ],
            )
    return start


def timed(runs: int, call) -> tuple[float, float, int]:
    """Best and median wall time in ms over `runs` calls, and the points returned."""
    times = []
    points = 0
    for _ in range(runs):
        t = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t) * 1000)
        points = sum(len(r) for r in result)
    return min(times), statistics.median(times), points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the store in this directory and keep it")
    args = parser.parse_args()
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("this benchmark needs numpy: pip install numpy", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "bench.db"
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        fill(path)
        print(f"wrote 2,000,000 samples in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.1f} MB)")

        with pilot.MetricsStore(path) as store:
            cases: list[tuple[str, dict[str, Any]]] = [
                ("1 series x 1,000,000 raw", dict(metric="cpu_usage_percent")),
                ("10 series x 100,000 raw", dict(metric="requests")),
                ("1 series, 1-minute avg", dict(metric="cpu_usage_percent", step=60_000)),
            ]
            rows = []
            for label, kwargs in cases:
                for method in ("query_numpy", "query"):
                    call = getattr(store, method)
                    best, median, points = timed(args.runs, lambda: call(**kwargs))
                    rows.append((label, method, points, best, median, best * 1e6 / max(points, 1)))

    print()
    print(f"{'query':<28} {'path':<12} {'points':>10} {'best ms':>9} {'median ms':>10} {'ns/point':>9}")
    print("-" * 83)
    for label, method, points, best, median, per_point in rows:
        print(f"{label:<28} {method:<12} {points:>10,} {best:>9.1f} {median:>10.1f} {per_point:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
