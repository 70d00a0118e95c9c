"""Bump LiteLLM: one command that moves every pin and regenerates every capture from the installed proxy.

    venv/bin/python -m tests.harness.litellm.bump NEW --chart-archive litellm-helm-NEW.tgz
    venv/bin/python -m tests.harness.litellm.bump NEW --keep-chart      # the chart later (the version test fails until then)
    venv/bin/python -m tests.harness.litellm.bump NEW --keep-chart --dry-run   # print the steps only

The steps, in order (each statement of tests/harness/litellm/pins.py names the one that rewrites it):

  pins     litellm.image in Pulumi.<stack>.yaml (the tag; a digest-pinned image is refused) and
           litellm[proxy]==NEW in tests/harness/litellm/requirements.txt
  venv     bash tests/harness/litellm/install.sh (reinstalls .venv-litellm with the new pin)
  schema   requirements-dev.txt's litellm-proxy-extras := the version LiteLLM NEW requires (its
           metadata in the new venv), installed into venv/ (the schema the PostgreSQL tests load)
  chart    python -m tools.assets pin chart/litellm-helm --archive FILE --source oci://... --write
           (FILE: `helm pull oci://ghcr.io/berriai/litellm-helm --version NEW`; network and Helm 3.8+)
  metrics  python -m tests.harness.litellm.probe ... --metrics-out/--labels-out (tests/data lists)
  routes   .venv-litellm/bin/python tests/harness/litellm/routes.py --write (routes.json,
           passthrough.json, docs/ingress-paths.md)
  openapi  python -m tests.harness.litellm.openapi --write (components/litellm/openapi.json)
  cleanup  .venv-litellm/bin/python tests/harness/litellm/cleanup_metrics.py --write
  docs     python -m tools.versions --write; python -m tools.config_reference --write

Left to a person (printed at the end): the release notes between the two versions, a line in
CHANGELOG.md, the diff review, and `bash tools/setup.sh check`.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.harness.litellm import pins

ROOT: Final = pins.ROOT
VERSION: Final = re.compile(r"\d+\.\d+\.\d+(?:[.-]?[A-Za-z0-9]+)*")
IMAGE_TAG: Final = re.compile(r"(?P<repo>[\w./-]*litellm-non_root):(?P<v>v?)(?P<tag>[^\s#@\"']+)(?P<digest>@\S+)?")
EXTRAS: Final = "litellm-proxy-extras"
PUBLISHED_CHART: Final = "oci://ghcr.io/berriai/litellm-helm"
LITELLM_VENV: Final = Path(".venv-litellm")
METRICS_ARGS: Final = (
    "--config",
    "tests/harness/litellm/probe_config.yaml",
    "--metrics-port",
    "0",
    "--metrics-out",
    "tests/data/litellm_metrics.txt",
    "--labels-out",
    "tests/data/litellm_metric_labels.txt",
)
"""What the probe is given after `--litellm` (the committed lists' second line records the whole command)."""
LEFT_TO_YOU: Final = (
    "read LiteLLM's release notes between the two versions (schema migrations, renamed metrics, routes)",
    "add a line under 'Unreleased' in CHANGELOG.md",
    "review `git diff` (the captures show what LiteLLM changed) and `venv/bin/python -m tools.diff main HEAD`",
    "bash tools/setup.sh check",
)


class BumpError(Exception):
    """A step cannot run or did not do its job; the message says which and what to do."""


# --- pure rewrites ---------------------------------------------------------------------------


def retag_image(text: str, new: str, where: str) -> str:
    """Every `.../litellm-non_root:[v]OLD` of a stack file's text gets the tag NEW (its `v` kept)."""

    def retag(match: re.Match[str]) -> str:
        if match.group("digest"):
            raise BumpError(f"{where}: {match.group(0)} is pinned by digest; set the new image's digest by hand")
        return f"{match.group('repo')}:{match.group('v')}{new}"

    changed, count = IMAGE_TAG.subn(retag, text)
    if count == 0:
        raise BumpError(f"{where}: no litellm-non_root image to retag")
    return changed


def set_pin(text: str, package: str, version: str, where: str) -> str:
    """`package[extras]==OLD` -> `==version` on its own line."""
    pattern = re.compile(rf"^({re.escape(package)}(?:\[[^\]]*\])?==)\S+", re.MULTILINE)
    changed, count = pattern.subn(lambda m: f"{m.group(1)}{version}", text)
    if count != 1:
        raise BumpError(f"{where}: expected one `{package}==` line, found {count}")
    return changed


def rewrite_pins(root: Path, new: str) -> list[Path]:
    """Step `pins`: the stack images and the probe requirement; returns the files written."""
    written = []
    for stack in pins.STACKS:
        path = root / f"Pulumi.{stack}.yaml"
        path.write_text(retag_image(path.read_text(encoding="utf-8"), new, path.name), encoding="utf-8")
        written.append(path)
    path = root / pins.PROBE_REQUIREMENTS
    path.write_text(set_pin(path.read_text(encoding="utf-8"), "litellm", new, pins.PROBE_REQUIREMENTS), "utf-8")
    written.append(path)
    stale = [s.where for s in pins.statements(root) if s.step == "pins" and s.version != new]
    if stale:
        raise BumpError(f"after step pins these still state another version: {stale}")
    return written


# --- the steps --------------------------------------------------------------------------------


@dataclass
class Bump:
    new: str
    chart_archive: Path | None
    dry_run: bool
    root: Path = ROOT
    python: str = "venv/bin/python"

    @property
    def litellm(self) -> Path:
        return LITELLM_VENV / "bin" / "litellm"

    def run(self, *command: str) -> str:
        print(f"   $ {shlex.join(command)}", flush=True)
        if self.dry_run:
            return ""
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BumpError(
                f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        return done.stdout

    def pins(self) -> None:
        print(f"   rewrite litellm.image in Pulumi.<stack>.yaml and litellm[proxy] in {pins.PROBE_REQUIREMENTS}")
        if not self.dry_run:
            rewrite_pins(self.root, self.new)

    def venv(self) -> None:
        self.run("bash", "tests/harness/litellm/install.sh")

    def schema(self) -> None:
        script = (
            "import importlib.metadata as m; "
            f"print(*[r for r in m.requires('litellm') or [] if r.startswith('{EXTRAS}')], sep='\\n')"
        )
        out = self.run(str(LITELLM_VENV / "bin" / "python"), "-c", script)
        if self.dry_run:
            print(f"   set {EXTRAS}==<what LiteLLM {self.new} requires> in requirements-dev.txt")
        else:
            wanted = {r.split(";")[0].split("==")[1].strip() for r in out.splitlines() if "==" in r}
            if len(wanted) != 1:
                raise BumpError(f"LiteLLM {self.new} does not pin one {EXTRAS} version: {sorted(wanted)}")
            (version,) = wanted
            path = self.root / "requirements-dev.txt"
            path.write_text(set_pin(path.read_text(encoding="utf-8"), EXTRAS, version, path.name), "utf-8")
            print(f"   {EXTRAS}=={version} in requirements-dev.txt")
        self.run(f"{self.python.rsplit('/', 1)[0]}/pip", "install", "-q", "-r", "requirements-dev.txt")

    def chart(self) -> None:
        if self.chart_archive is None:
            print(
                f"   kept: the locked chart still stands for the old version (helm pull {PUBLISHED_CHART} --version NEW)"
            )
            return
        archive = str(self.chart_archive.absolute())
        self.run(
            self.python,
            "-m",
            "tools.assets",
            "pin",
            pins.LITELLM_CHART,
            "--archive",
            archive,
            "--source",
            PUBLISHED_CHART,
            "--write",
        )

    def metrics(self) -> None:
        self.run(self.python, "-m", "tests.harness.litellm.probe", "--litellm", str(self.litellm), *METRICS_ARGS)

    def routes(self) -> None:
        self.run(str(LITELLM_VENV / "bin" / "python"), "tests/harness/litellm/routes.py", "--write")

    def openapi(self) -> None:
        self.run(self.python, "-m", "tests.harness.litellm.openapi", "--litellm", str(self.litellm), "--write")

    def cleanup(self) -> None:
        self.run(str(LITELLM_VENV / "bin" / "python"), "tests/harness/litellm/cleanup_metrics.py", "--write")

    def docs(self) -> None:
        self.run(self.python, "-m", "tools.versions", "--write")
        self.run(self.python, "-m", "tools.config_reference", "--write")


STEPS: Final[dict[str, Callable[[Bump], None]]] = {
    "pins": Bump.pins,
    "venv": Bump.venv,
    "schema": Bump.schema,
    "chart": Bump.chart,
    "metrics": Bump.metrics,
    "routes": Bump.routes,
    "openapi": Bump.openapi,
    "cleanup": Bump.cleanup,
    "docs": Bump.docs,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.litellm.bump",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("version", help="the new LiteLLM version, e.g. 1.108.9")
    chart = parser.add_mutually_exclusive_group(required=True)
    chart.add_argument("--chart-archive", type=Path, help=f"litellm-helm-NEW.tgz from `helm pull {PUBLISHED_CHART}`")
    chart.add_argument("--keep-chart", action="store_true", help="leave the locked chart (the version test fails)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps and commands, change nothing")
    args = parser.parse_args(argv)
    if not VERSION.fullmatch(args.version):
        parser.error(f"{args.version!r} is not a LiteLLM version (e.g. 1.108.9)")
    if args.chart_archive is not None and not args.chart_archive.is_file():
        parser.error(f"--chart-archive {args.chart_archive}: no such file")
    bump = Bump(args.version, args.chart_archive, args.dry_run)
    old = pins.pinned(bump.root)
    print(f"LiteLLM {old} -> {args.version}{' (dry run)' if args.dry_run else ''}")
    for number, (name, step) in enumerate(STEPS.items(), 1):
        print(f"== {number}/{len(STEPS)} {name}", flush=True)
        try:
            step(bump)
        except BumpError as error:
            print(f"error in step {name}: {error}", file=sys.stderr)
            return 1
    if not args.dry_run:
        stale = pins.disagreements(bump.root)
        print("== every statement of the version is now " + args.version if not stale else "== still stating another:")
        for line in stale:
            print(f"   - {line}")
        if [line for line in stale if not (args.keep_chart and line.startswith("assets.lock.json"))]:
            return 1
    print("== left to you:")
    for line in LEFT_TO_YOU:
        print(f"   - {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
