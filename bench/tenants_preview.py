"""Benchmark the offline preview with many tenants: lab with TEAMS teams x KEYS keys against lab without
tenants (issue 29: at most twice the shipped stacks' 2 s; docs/tenants.md).

    python -m bench.tenants_preview [--runs N] [--teams 300] [--keys 3]

Three modes. As a user runs it: a stack file (`Pulumi.bench-tenants.yaml`, lab's with the tenants
section replaced, written beside the shipped ones and removed after) previewed by
`python -m tools.preview bench-tenants --out DIR` in a new process, imports included and the charts
rendered. In-process, as before: the program run alone (`offline.run.run_stack`, warm) and
`tools.preview.main` with `--out` and `--no-render`. Half the keys are delivered into one of ten
tenant namespaces, half stay in GSM only. Prints median and p95 per mode, the resources, and the
ratio with / without.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import positive_int
from offline.run import run_stack
from offline.stackfile import ROOT, stack_file
from tools.preview import main as preview_main

STACK = "lab"
COLD_STACK = "bench-tenants"
"""The stack file the cold mode writes (lab's, its tenants replaced) and removes when done."""


def tenants_section(teams: int, keys: int) -> dict[str, Any]:
    """`teams` teams of `keys` keys each, valid for lab (key budgets within max_key_budget 50)."""
    return {
        "enabled": True,
        "teams": [
            {
                "alias": f"team-{t:04d}",
                "owner": f"owner{t}@lab.home.arpa",
                "cost_centre": f"CC-{t % 7:04d}",
                "max_budget": 100,
                "budget_duration": "30d",
                "models": ["gpt-4o-mini", "claude-haiku"],
                "keys": [
                    {
                        "alias": f"t{t:04d}-k{k}",
                        "max_budget": 10,
                        "rotation": k,
                        "deliver": (
                            {"namespace": f"tenant-{t % 10}", "secret": f"llm-key-{t:04d}-{k}"}
                            if (t + k) % 2 == 0
                            else "gsm_only"
                        ),
                    }
                    for k in range(keys)
                ],
            }
            for t in range(teams)
        ],
    }


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def cold_preview(section: dict[str, Any], out: Path) -> float:
    """Seconds of `python -m tools.preview COLD_STACK --out OUT` in a new process, charts rendered, with
    lab's stack file but `section` for its tenants."""
    config = yaml.safe_load(stack_file(STACK).read_text())
    config["config"]["llm-gateway:tenants"] = section
    path = ROOT / f"Pulumi.{COLD_STACK}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tools.preview", COLD_STACK, "--out", str(out)], check=True, capture_output=True
        )
        return time.perf_counter() - started
    finally:
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tenants_preview", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=positive_int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--teams", type=positive_int, default=300)
    parser.add_argument("--keys", type=positive_int, default=3, help="keys per team")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    sections: dict[str, dict[str, Any]] = {
        "without": {},
        f"{args.teams}x{args.keys}": tenants_section(args.teams, args.keys),
    }
    medians: dict[tuple[str, str], float] = {}
    modes = ("cold --out", "program (warm)", "preview --out")
    print(f"{'tenants':<10} {'mode':<14} {'runs':>4} {'median s':>9} {'p95 s':>7} {'resources':>9}")
    for label, section in sections.items():
        setting = "llm-gateway:tenants=" + json.dumps(section)
        cold, warm, full, count = [], [], [], 0
        for i in range(args.runs):
            cold.append(cold_preview(section, scratch / f"{label}-cold-{i}" / COLD_STACK))
            started = time.perf_counter()
            count = len(run_stack(STACK, [setting]).resources)
            warm.append(time.perf_counter() - started)
            out = scratch / f"{label}-{i}" / STACK
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = preview_main([STACK, "--set", setting, "--out", str(out), "--no-render"])
            full.append(time.perf_counter() - started)
            if code != 0:
                raise SystemExit(f"preview of {label} exited {code}")
        for mode, samples in zip(modes, (cold, warm, full), strict=True):
            medians[(label, mode)] = statistics.median(samples)
            print(
                f"{label:<10} {mode:<14} {len(samples):>4} {statistics.median(samples):>9.3f}"
                f" {_p95(samples):>7.3f} {count:>9}"
            )
    many = next(label for label in sections if label != "without")
    for mode in modes:
        print(f"ratio {mode}: {medians[(many, mode)] / medians[('without', mode)]:.2f}x")
    print(f"{many} cold --out: {medians[(many, 'cold --out')]:.2f} s (target: twice the shipped stacks' 2 s)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
