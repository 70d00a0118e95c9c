"""Check, or rewrite, the committed resource snapshots: (type, name, parent) per stack.

    python -m tools.snapshot            # compare with tests/snapshots/*.json (exit 1 on a difference)
    python -m tools.snapshot --write    # rewrite tests/snapshots/*.json

A rename or reparent changes a resource's URN, which Pulumi turns into a
delete and a create. The snapshot makes every such change visible in review;
a deliberate one ships with an `Alias` (and a snapshot update). Only the
stacks this repository ships are snapshotted (tools.offline.STACKS), never a
personal Pulumi.<name>.yaml.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from config import ConfigError
from tools.inputs import run_cli
from tools.offline import run_stack
from tools.records import ProgramRun
from tools.stackfile import ROOT, STACKS

SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
# Variants snapshotted beside the stack files (name -> (stack, overrides)).
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab-external-postgres": (
        "lab",
        (
            "llm-gateway:postgres.engine=external",
            "llm-gateway:postgres.cnpg=null",
            "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, sslmode: verify-full, "
            "server_cidrs: [192.168.10.5/32]}",
        ),
    ),
}
SECRETS = {"llm-gateway:postgresAdminPassword": {"secure": "snapshot-placeholder"}}


def snapshot(run: ProgramRun) -> list[dict[str, str | None]]:
    return sorted(
        ({"type": r.type, "name": r.name, "parent": r.parent} for r in run.resources),
        key=lambda e: (e["type"], e["name"]),
    )


def targets() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {**{s: (s, ()) for s in STACKS}, **VARIANTS}


def path_for(name: str) -> Path:
    return SNAPSHOT_DIR / f"{name}.json"


def render(data: list[dict[str, str | None]]) -> str:
    return json.dumps(data, indent=1) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: returns the exit code (2 and one message on stderr for bad input)."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.snapshot", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the committed snapshots instead of comparing")
    args = parser.parse_args(argv)
    differ = []
    for name, (stack, overrides) in targets().items():
        try:
            text = render(snapshot(run_stack(stack, overrides, extra_config=SECRETS)))
        except ConfigError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 2
        path = path_for(name)
        rel = path.relative_to(ROOT)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"{rel}: written")
        elif not path.is_file() or path.read_text() != text:
            differ.append(str(rel))
            print(f"{rel}: differs from the program (review, then python -m tools.snapshot --write)")
        else:
            print(f"{rel}: up to date")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
