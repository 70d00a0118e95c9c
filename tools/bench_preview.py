"""Benchmark the offline preview: wall time per stack, cold (a fresh process,
imports included, as a user runs it) and warm (in-process program run).

    python -m tools.bench_preview [--runs N]

Prints median and p95 per stack; the target is < 3 s per stack (cold).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from tools.inputs import positive_int
from tools.offline import STACKS, run_stack


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_preview", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=positive_int, default=7, help="runs per stack and mode (default 7)")
    args = parser.parse_args(argv)
    print(f"{'stack':<12} {'mode':<6} {'runs':>4} {'median s':>9} {'p95 s':>7} {'resources':>9}")
    for stack in STACKS:
        cold = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tools.preview", stack], check=True, capture_output=True)
            cold.append(time.perf_counter() - started)
        warm = []
        count = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            count = len(run_stack(stack).resources)
            warm.append(time.perf_counter() - started)
        for mode, samples in (("cold", cold), ("warm", warm)):
            print(
                f"{stack:<12} {mode:<6} {len(samples):>4} {statistics.median(samples):>9.3f}"
                f" {_p95(samples):>7.3f} {count:>9}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
