"""Benchmark the offline preview: wall time per stack, cold (a fresh process,
imports included, as a user runs it), cold with `--out` (files written and every
Helm release rendered through its chart), and warm (in-process program run);
then `tools.diff` over two previews of each stack (one setting apart on lab).

    python -m bench.preview [--runs N]

Prints median and p95 per stack; the targets: preview with rendering < 3 s per
stack (cold, --out), the diff < 1 s. For the --out runs, the median of each phase
the preview reports on stderr: start-up and imports (wall time before `main`), the
program run, writing the files, rendering the charts in the second process beside
the writing, and the time the preview waited for it.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import positive_int
from offline.run import run_stack
from offline.stackfile import STACKS
from tools.diff import DEFAULT_MAX_LINES
from tools.diff import run as run_diff


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


_PHASES = re.compile(
    r"phases: program (?P<program>[\d.]+) s, files (?P<files>[\d.]+) s, "
    r"charts (?P<charts>[\d.]+) s beside them \(waited (?P<waited>[\d.]+) s\), main (?P<main>[\d.]+) s"
)


def _phases(stderr: str, wall: float) -> dict[str, float]:
    """The phases a `--out` run reports on stderr, and the start-up and imports before its `main`."""
    found = _PHASES.search(stderr)
    if found is None:
        raise SystemExit(f"no phase timings in the preview's stderr: {stderr.strip()[-300:]}")
    phases = {k: float(v) for k, v in found.groupdict().items()}
    return {"imports": wall - phases.pop("main"), **phases}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=positive_int, default=7, help="runs per stack and mode (default 7)")
    args = parser.parse_args(argv)
    print(f"{'stack':<12} {'mode':<10} {'runs':>4} {'median s':>9} {'p95 s':>7} {'resources':>9} {'rendered':>8}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    for stack in STACKS:
        cold = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tools.preview", stack], check=True, capture_output=True)
            cold.append(time.perf_counter() - started)
        rendering, cpu, phases = [], [], []
        for i in range(args.runs):
            started, cpu_before = time.perf_counter(), _child_cpu()
            out = scratch / f"{stack}-{i}" / stack
            done = subprocess.run(
                [sys.executable, "-m", "tools.preview", stack, "--out", str(out)],
                check=True,
                capture_output=True,
                text=True,
            )
            rendering.append(time.perf_counter() - started)
            cpu.append(_child_cpu() - cpu_before)
            phases.append(_phases(done.stderr, rendering[-1]))
        rendered = sum(1 for _ in (scratch / f"{stack}-0" / stack / "rendered").rglob("*.yaml"))
        warm = []
        count = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            count = len(run_stack(stack).resources)
            warm.append(time.perf_counter() - started)
        # CPU time of the --out runs: what the machine's load does not inflate.
        for mode, samples in (("cold", cold), ("cold --out", rendering), ("  cpu s", cpu), ("warm", warm)):
            print(
                f"{stack:<12} {mode:<10} {len(samples):>4} {statistics.median(samples):>9.3f}"
                f" {_p95(samples):>7.3f} {count:>9} {rendered if mode == 'cold --out' else '':>8}"
            )
        print(
            f"{stack:<12} --out phases (median s): "
            + ", ".join(f"{k} {statistics.median(p[k] for p in phases):.2f}" for k in phases[0])
        )
    # The diff: lab against lab with postgres.cnpg.instances 2, and enterprise against itself.
    changed = scratch / "lab-changed" / "lab"
    setting = "llm-gateway:postgres.cnpg.instances=2"
    subprocess.run(
        [sys.executable, "-m", "tools.preview", "lab", "--set", setting, "--out", str(changed)],
        check=True,
        capture_output=True,
    )
    for label, base, head in (
        ("lab (1 setting)", scratch / "lab-0", changed.parent),
        ("enterprise (same)", scratch / "enterprise-0", scratch / "enterprise-1"),
    ):
        samples, cpu = [], []
        for i in range(args.runs):
            started, cpu_before = time.perf_counter(), time.process_time()
            run_diff(base, head, scratch / f"diff-{i}", None, DEFAULT_MAX_LINES)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_before)
        print(
            f"diff {label:<18} {len(samples):>4} {statistics.median(samples):>9.3f} {_p95(samples):>7.3f}"
            f"  (cpu {statistics.median(cpu):.3f} s)"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
