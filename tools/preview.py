"""Offline preview: the real program under Pulumi's mock engine, no CLI, no cloud.

    python -m tools.preview STACK [--out DIR] [--set NS:KEY.PATH=VALUE ...]

Prints the resource tree and counts. With --out, writes:
  resources.json              every resource: type, name, parent, inputs ([secret] redacted)
  manifests/*.yaml            each Kubernetes object as the API server receives it
  helm/<release>/release.json and values.yaml for each Helm release
  dashboards/*.json           every Grafana dashboard the program ships
  alerts/*.yaml               every PrometheusRule as a plain Prometheus rules file
  rendered/<release>/*.yaml   each Helm release rendered through its pinned chart (offline/render.py;
                              needs the asset cache: python -m tools.assets fetch; skip: --no-render)
  sql/*.sql                   the reporting SQL the CronJob runs (schema, grants, refresh)
`--out` takes a new or empty folder, or one an earlier preview wrote (it holds
PREVIEW_MARKER), which is replaced whole; anything else is refused.
The output is deterministic (two runs print and write the same bytes); the
time taken goes to stderr. Bad config or bad input: one message on stderr, exit 2.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # Run as a command: no cyclic garbage collection in this short process (the program run and the
    # files pause it anyway, `exit_cli` freezes everything at the end). The imports below create some
    # 130,000 objects and few cycles; the collector's ~290 passes over them took a seventh of the imports.
    gc.disable()

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from components.reporting import component as reporting
from components.tenants.view import preview_lines
from config import ConfigError
from config.budget import output_tables
from config.footprint import output_table, volumes_table
from offline.diff_content import TABLED_OUTPUTS
from offline.inputs import exit_cli, prepare_out_dir, run_cli
from offline.mocks import redact_secrets
from offline.run import ProgramRun, Recorded, gc_paused, is_kubernetes_object, manifest, run_stack
from offline.stackfile import config_error_message, parse_secret
from offline.yamlout import dump_yaml, sorted_keys

PREVIEW_MARKER = ".llm-gateway-preview"

PLACEHOLDER_NOTE = (
    "note: provider-computed values (resource ids, service-account emails, generated "
    "passwords) are placeholders made up by the mock engine; secrets print as [secret]."
)


def tree_lines(run: ProgramRun) -> list[str]:
    children: dict[str | None, list[Recorded]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        # Sorted: the engine registers concurrently, so registration order varies between runs.
        for r in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            lines.append(f"{'  ' * depth}{r.type}  {r.name}")
            walk(r.name, depth + 1)

    walk(None, 0)
    return lines


def _filename(*parts: str) -> str:
    return "-".join(p.lower().replace("/", "_") for p in parts if p)


def write_outputs(run: ProgramRun, out: Path) -> dict[str, int]:
    """Write every file but `rendered/` into `out`, a folder `prepare_out_dir` emptied."""
    counts: Counter[str] = Counter()
    # Sorted: the engine registers concurrently, so registration order varies between runs.
    resources = [
        {"type": r.type, "name": r.name, "parent": r.parent, "inputs": r.redacted_inputs, "options": r.options}
        for r in sorted(run.resources, key=lambda r: (r.type, r.name))
    ]
    (out / "resources.json").write_text(json.dumps(resources, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(
        json.dumps(
            {k: ("[secret]" if k in run.secret_outputs else redact_secrets(v)) for k, v in run.outputs.items()},
            indent=2,
            sort_keys=True,
            default=str,
        )
        + "\n"
    )
    for sub in ("manifests", "helm", "dashboards", "alerts", "sql"):
        (out / sub).mkdir(exist_ok=True)
    for r in run.resources:
        if is_kubernetes_object(r):
            obj = manifest(r)
            meta = obj.get("metadata", {})
            name = _filename(str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", r.name)))
            (out / "manifests" / f"{name}.yaml").write_text(dump_yaml(obj))
            counts["manifests"] += 1
            labels = meta.get("labels") or {}
            if obj.get("kind") == "ConfigMap" and labels.get("grafana_dashboard") == "1":
                for key, text in (obj.get("data") or {}).items():
                    (out / "dashboards" / key).write_text(text)
                    counts["dashboards"] += 1
            if obj.get("kind") == "ConfigMap" and meta.get("name") == reporting.CONFIG_MAP:
                # The reporting SQL, to review or to apply by hand (schema, grants, refresh).
                for key, text in (obj.get("data") or {}).items():
                    (out / "sql" / key).write_text(text)
                    counts["sql"] += 1
            if obj.get("kind") == "PrometheusRule":
                rules = {"groups": obj.get("spec", {}).get("groups", [])}
                (out / "alerts" / f"{meta.get('name', r.name)}.yaml").write_text(dump_yaml(rules))
                counts["alerts"] += 1
        elif r.type.startswith("kubernetes:helm.sh/") and r.type.endswith(":Release"):
            inputs = r.redacted_inputs
            release_dir = out / "helm" / str(inputs.get("name", r.name))
            release_dir.mkdir(parents=True, exist_ok=True)
            values = inputs.pop("values", {}) or {}
            (release_dir / "release.json").write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")
            (release_dir / "values.yaml").write_text(dump_yaml(sorted_keys(values)))
            counts["helm"] += 1
    return dict(counts)


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: returns the exit code (2 and one message on stderr for bad input)."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.preview",
        description=__doc__.split("\n")[0],
        epilog="Example: python -m tools.preview lab --set llm-gateway:postgres.cnpg.instances=2 --out preview-out",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument(
        "--out",
        type=Path,
        help="new or empty folder (or one an earlier preview wrote, replaced whole) for resources.json, "
        "manifests/, helm/, dashboards/, alerts/, rendered/, sql/",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NS:KEY.PATH=VALUE",
        help="override a key as `pulumi config set --path` would; VALUE is YAML",
    )
    parser.add_argument("--no-render", action="store_true", help="with --out: skip rendering the Helm charts")
    parser.add_argument(
        "--secret",
        dest="secrets",
        action="append",
        default=[],
        metavar="NS:KEY=VALUE",
        help="a stack secret (as `pulumi config set --secret`), e.g. llm-gateway:postgresAdminPassword",
    )
    args = parser.parse_args(argv)

    begun = started = time.perf_counter()
    secrets = dict(parse_secret(item) for item in args.secrets)
    renderer = None
    if args.out and not args.no_render:
        # Imported here: a preview without --out has no use for it.
        from offline.render import RenderError, RenderWorker, releases

        # Started first: it loads the Helm library and the charts while the program runs.
        renderer = RenderWorker()
    try:
        try:
            run = run_stack(args.stack, args.overrides, extra_config=secrets)
        except ConfigError as exc:
            print(f"error: {config_error_message(args.stack, args.overrides, exc, secrets)}", file=sys.stderr)
            return 2
        elapsed = time.perf_counter() - started
        # Before printing anything: a refused --out leaves no half-printed preview behind.
        written = None
        if args.out:
            started = time.perf_counter()
            prepare_out_dir(args.out, PREVIEW_MARKER, "python -m tools.preview")
            if renderer is not None:
                renderer.submit(releases(run), args.out)
            with gc_paused():
                written = write_outputs(run, args.out)
            writing = time.perf_counter() - started
        if renderer is not None and written is not None:
            started = time.perf_counter()
            try:
                written["rendered objects"] = renderer.result()
            except RenderError as exc:
                print(f"error: rendering the charts: {exc}; or preview without them: --no-render", file=sys.stderr)
                return 2
            waited = time.perf_counter() - started
    finally:
        if renderer is not None:
            renderer.close()

    print(f"stack {args.stack}: {len(run.resources)} resources (offline preview, Pulumi mock engine)")
    for line in tree_lines(run):
        print(f"  {line}")
    print("counts by type:")
    for type_, n in sorted(Counter(r.type for r in run.resources).items()):
        print(f"  {n:3d}  {type_}")
    # The footprint output is printed as the tables below, not as its JSON (outputs.json has that).
    tabled = {k for k in TABLED_OUTPUTS if isinstance(run.outputs.get(k), dict)}
    print("outputs:")
    for key, value in sorted(run.outputs.items()):
        if key in tabled:
            continue
        shown = (
            "[secret]" if key in run.secret_outputs else json.dumps(redact_secrets(value), default=str, sort_keys=True)
        )
        print(f"  {key}: {shown}")
    if isinstance(run.outputs.get("footprint"), dict):
        print("footprint (CPU cores, memory; requests must fit capacity):")
        for line in output_table(run.outputs["footprint"]).splitlines():
            print(f"  {line}")
        print("persistent volume claims (config/footprint.py; one per pod, size per claim):")
        for line in volumes_table(run.outputs["footprint"]).splitlines():
            print(f"  {line}")
        connections, storage = output_tables(run.outputs["footprint"])
        print("database connections (config/budget.py; the total must fit max_connections):")
        for line in connections.splitlines():
            print(f"  {line}")
        print("database storage (config/budget.py; the total must fit the allowed share of the volume):")
        for line in storage.splitlines():
            print(f"  {line}")
    if written is not None:
        print(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in sorted(written.items())))
    sys.stdout.writelines(preview_lines(run.outputs))  # the tenants table, if any
    print(PLACEHOLDER_NOTE)
    print(f"preview took {elapsed:.2f} s", file=sys.stderr)
    if written is not None:
        rendering = f", charts {renderer.seconds:.2f} s beside them (waited {waited:.2f} s)" if renderer else ""
        total = time.perf_counter() - begun
        print(f"phases: program {elapsed:.2f} s, files {writing:.2f} s{rendering}, main {total:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    exit_cli(main())
