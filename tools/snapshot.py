"""Write the committed resource snapshots: (type, name, parent) per stack.

    python -m tools.snapshot            # rewrite tests/snapshots/*.json

A rename or reparent changes a resource's URN, which Pulumi turns into a
delete and a create. The snapshot makes every such change visible in review;
a deliberate one ships with an `Alias` (and a snapshot update).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tools.offline import ROOT, ProgramRun, available_stacks, run_stack

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
    return {**{s: (s, ()) for s in available_stacks()}, **VARIANTS}


def path_for(name: str) -> Path:
    return SNAPSHOT_DIR / f"{name}.json"


def main() -> int:
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for name, (stack, overrides) in targets().items():
        data = snapshot(run_stack(stack, overrides, extra_config=SECRETS))
        path_for(name).write_text(json.dumps(data, indent=1) + "\n")
        print(f"{path_for(name).relative_to(ROOT)}: {len(data)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
