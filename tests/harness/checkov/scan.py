"""Run the pinned Checkov over what a stack deploys, as `python -m tools.preview STACK --out DIR` wrote it.

Scanned: `manifests/*.yaml` (the program's own objects) and `rendered/<release>/*.yaml` (each Helm
release through its pinned chart), less the Helm test hooks (`helm.sh/hook: test`): `helm test`
creates those, `pulumi up` never does. `stage` copies a preview's objects into a folder of its own;
one Checkov process (`scan`) then scans any number of staged folders side by side, so a test pays
Checkov's start-up once:

    checkov -d ROOT --framework kubernetes --output json --compact --skip-download

No `--quiet` (it would drop the skipped checks and their reasons); `--skip-download` keeps Checkov
offline (otherwise it tries to fetch check guidelines from its vendor's platform).

    venv/bin/python -m tests.harness.checkov.scan PREVIEW_OUT [PREVIEW_OUT...]   # every finding, one line each
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SKIP_PREFIXES = ("checkov.io/skip", "bridgecrew.io/skip", "cortex.io/skip")
"""Annotation keys Checkov reads as skips (checkov/kubernetes/kubernetes_utils.py, SKIP_ANNOTATION_PREFIXES)."""
TIMEOUT_S = 600


class CheckovError(Exception):
    """Checkov did not run, or its report is not what this module reads."""


def pinned_version() -> str:
    """The version requirements.txt pins (`checkov==X`)."""
    match = re.search(r"^checkov==(\S+)", REQUIREMENTS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    if match is None:
        raise CheckovError(f"{REQUIREMENTS}: no `checkov==<version>` line")
    return match.group(1)


def executable() -> tuple[Path | None, str]:
    """The Checkov to run ($CHECKOV_BIN, else .venv-checkov/bin/checkov), or None and why not."""
    configured = os.environ.get("CHECKOV_BIN")
    candidates = [Path(configured)] if configured else []
    candidates.append(DEFAULT_CHECKOV)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate, ""
    return None, (
        f"no checkov executable: CHECKOV_BIN={configured or '(unset)'}, {DEFAULT_CHECKOV} missing; "
        "run tests/harness/checkov/install.sh (tools/setup.sh check does) or set CHECKOV_BIN"
    )


# --- what is scanned ------------------------------------------------------------------


def resource_id(body: dict[str, Any]) -> str:
    """Checkov's id of an object: `Kind.namespace.name` (namespace `default` when it has none)."""
    meta = body.get("metadata") or {}
    return f"{body.get('kind', 'Pod')}.{meta.get('namespace', 'default')}.{meta.get('name')}"


def is_helm_test(body: dict[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return "test" in [h.strip() for h in str(annotations.get("helm.sh/hook", "")).split(",")]


def deployed_files(preview_out: Path) -> list[Path]:
    """The object files of a preview's `--out` folder: manifests/*.yaml and rendered/<release>/*.yaml."""
    files = sorted((preview_out / "manifests").glob("*.yaml")) + sorted((preview_out / "rendered").glob("*/*.yaml"))
    if not files:
        raise CheckovError(f"{preview_out}: no manifests/*.yaml or rendered/*/*.yaml (not a preview --out folder?)")
    return files


def is_skip_key(key: str) -> bool:
    return any(prefix in key for prefix in SKIP_PREFIXES)


def without_skips(body: dict[str, Any]) -> dict[str, Any]:
    """The object without the skip annotations on its top-level metadata (the only ones Checkov reads)."""
    meta = dict(body.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not is_skip_key(k)}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**body, "metadata": meta}


@dataclass(frozen=True)
class Staged:
    """A folder of objects Checkov will scan, and the Helm test hooks left out of it."""

    folder: Path
    objects: dict[str, dict[str, Any]]
    """Checkov id -> object, for every staged object."""
    excluded: tuple[str, ...]
    """Checkov ids of the Helm test hooks not staged."""


def stage(preview_out: Path, folder: Path, *, strip_skips: bool = False) -> Staged:
    """Copy the objects of `preview_out` that `pulumi up` creates into `folder` (same relative paths);
    with `strip_skips`, without their skip annotations (to show that each skip is needed)."""
    objects: dict[str, dict[str, Any]] = {}
    excluded: list[str] = []
    for path in deployed_files(preview_out):
        bodies = [b for b in yaml.safe_load_all(path.read_text(encoding="utf-8")) if b]
        kept = [b for b in bodies if not is_helm_test(b)]
        excluded += [resource_id(b) for b in bodies if is_helm_test(b)]
        if not kept:
            continue
        target = folder / path.relative_to(preview_out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if strip_skips:
            kept = [without_skips(b) for b in kept]
            target.write_text(yaml.safe_dump_all(kept, sort_keys=False), encoding="utf-8")
        elif len(kept) == len(bodies):
            shutil.copyfile(path, target)
        else:
            target.write_text(yaml.safe_dump_all(kept, sort_keys=False), encoding="utf-8")
        objects.update((resource_id(b), b) for b in kept)
    return Staged(folder, objects, tuple(sorted(excluded)))


def annotated_skips(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, check, reason) for every skip annotation anywhere in an object: `metadata` is where
    Checkov reads them; any other place (a pod template's metadata) is silently ignored by Checkov."""
    found: list[tuple[str, str, str]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}.{key}" if path else str(key)
                if key == "annotations" and isinstance(value, dict):
                    for name, text in value.items():
                        if is_skip_key(str(name)):
                            check, _, reason = str(text).partition("=")
                            found.append((path, check.strip(), reason.strip()))
                else:
                    walk(value, here)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(body, "")
    return found


# --- the scan -------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Result:
    """One check on one object."""

    resource: str
    """Checkov's id: `Kind.namespace.name`."""
    check: str
    file: str
    """Relative to the staged folder: `manifests/...yaml` or `rendered/<release>/...yaml`."""
    title: str = field(default="", compare=False)
    reason: str = ""
    """A skipped check: the reason its annotation gives."""

    def line(self) -> str:
        return f"{self.resource} {self.check} ({self.title}) in {self.file}"


@dataclass
class Report:
    """Checkov's verdicts on one staged folder."""

    failed: list[Result] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)
    passed: int = 0

    @property
    def checks(self) -> int:
        return self.passed + len(self.failed) + len(self.skipped)


def _results(entries: Iterable[dict[str, Any]], kind: str) -> Iterable[tuple[str, Result]]:
    for entry in entries:
        path = str(entry.get("file_path", "")).lstrip("/")
        resource = str(entry.get("resource", ""))
        check = str(entry.get("check_id", ""))
        if not path or not resource or not check:
            raise CheckovError(f"a {kind} check without file_path, resource or check_id: {entry}")
        reason = ""
        if kind == "skipped":
            reason = str(entry.get("check_result", {}).get("suppress_comment", "")).strip()
        yield path, Result(resource, check, path, str(entry.get("check_name", "")), reason)


def scan(checkov: Path, root: Path, folders: Sequence[str]) -> tuple[str, dict[str, Report]]:
    """Scan `root` once; its subfolders `folders` are staged folders. Returns Checkov's version and a
    report per folder (a result belongs to the folder its file path starts with)."""
    command = [
        str(checkov),
        *("-d", str(root)),
        *("--framework", "kubernetes"),
        *("--output", "json"),
        "--compact",
        "--skip-download",
    ]
    env = {**os.environ, "LOG_LEVEL": "ERROR"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False)
    if done.returncode not in (0, 1):
        raise CheckovError(f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise CheckovError(
            f"checkov printed no JSON report ({exc}): {done.stdout[:500]!r} {done.stderr[-1000:]!r}"
        ) from exc
    if isinstance(report, list):
        raise CheckovError(f"more than one framework ran: {[r.get('check_type') for r in report]}")
    summary = report.get("summary") or {}
    if summary.get("parsing_errors"):
        raise CheckovError(f"checkov could not parse {summary['parsing_errors']} file(s): {done.stderr[-2000:]}")
    reports = {folder: Report() for folder in folders}

    def owner(path: str) -> tuple[Report, str]:
        for folder in folders:
            if path.startswith(f"{folder}/"):
                return reports[folder], path[len(folder) + 1 :]
        raise CheckovError(f"a result for {path}, outside the staged folders {list(folders)}")

    results = report.get("results") or {}
    for kind in ("failed", "skipped", "passed"):
        for path, result in _results(results.get(f"{kind}_checks") or [], kind):
            found, file = owner(path)
            if kind == "passed":
                found.passed += 1
            else:
                (found.failed if kind == "failed" else found.skipped).append(
                    Result(result.resource, result.check, file, result.title, result.reason)
                )
    for found in reports.values():
        found.failed.sort()
        found.skipped.sort()
    return str(summary.get("checkov_version", "")), reports


def main(argv: Sequence[str] | None = None) -> int:
    """Print every finding of the preview folders given (a quick look while fixing; the test is the gate)."""
    previews = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    checkov, why = executable()
    if checkov is None or not previews:
        print(why or "usage: python -m tests.harness.checkov.scan PREVIEW_OUT [PREVIEW_OUT...]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        names = [f"s{i}" for i in range(len(previews))]
        staged = [stage(p, Path(tmp) / n) for p, n in zip(previews, names, strict=True)]
        version, reports = scan(checkov, Path(tmp), names)
        for preview, name, st in zip(previews, names, staged, strict=True):
            r = reports[name]
            print(
                f"== {preview}: checkov {version}: {len(r.failed)} failed, {len(r.skipped)} skipped, {r.passed} passed"
            )
            for result in r.failed:
                print(f"FAILED  {result.line()}")
            for result in r.skipped:
                print(f"SKIPPED {result.resource} {result.check}: {result.reason}")
            for excluded in st.excluded:
                print(f"NOT SCANNED (Helm test hook) {excluded}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
