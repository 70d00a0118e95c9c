"""Check, or rewrite, the committed resource snapshots: (type, name, parent) per stack.

    python -m tests.support.snapshot            # compare with tests/snapshots/*.json (exit 1 on a difference)
    python -m tests.support.snapshot --write    # rewrite tests/snapshots/*.json

A rename or reparent changes a resource's URN, which Pulumi turns into a
delete and a create. The snapshot makes every such change visible in review;
a deliberate one ships with an `Alias` (and a snapshot update). Only the
stacks this repository ships are snapshotted (offline.stackfile.STACKS), never a
personal Pulumi.<name>.yaml. A contributor's command, beside the test that uses the
snapshots (tests/program/test_snapshot.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from config import ConfigError
from offline.inputs import Generated, InputError, generated_files_cli
from offline.run import ProgramRun, run_stack
from offline.stackfile import STACKS
from tests.support import ROOT

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
    """The CLI: returns the exit code (1: a snapshot differs; 2 and one message on stderr for bad input)."""

    def generate() -> Iterator[Generated]:
        for name, (stack, overrides) in targets().items():
            try:
                text = render(snapshot(run_stack(stack, overrides, extra_config=SECRETS)))
            except ConfigError as exc:
                raise InputError(f"{name}: {exc}") from None
            yield Generated(path_for(name), str(path_for(name).relative_to(ROOT)), text)

    fix, what = "review the change, then python -m tests.support.snapshot --write", "the committed snapshots"
    return generated_files_cli(
        argv, prog="python -m tests.support.snapshot", doc=__doc__, what=what, fix=fix, generate=generate
    )


if __name__ == "__main__":
    sys.exit(main())
