"""Capture LiteLLM's spend-log cleanup metric names into tests/data/litellm_cleanup_metrics.txt.

Runs under the LiteLLM venv (tests/harness/litellm/install.sh), not the repository's:

    .venv-litellm/bin/python tests/harness/litellm/cleanup_metrics.py           # compare with the committed file
    .venv-litellm/bin/python tests/harness/litellm/cleanup_metrics.py --write   # regenerate it (after a bump)

LiteLLM registers these instruments at the first cleanup run, which needs a database, so a proxy
without one (tests.harness.litellm.probe) never exposes them. Here the installed LiteLLM's own
recorder (`SpendLogCleanupMetrics` in litellm/proxy/db/db_transaction_queue/spend_log_cleanup_metrics.py)
records one batch, one failure, the rows remaining and one run into prometheus_client's registry,
and the sample names of its exposition (``_created`` left out) are the list, in exposition order.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # run as a script under the LiteLLM venv: the helper below is the repository's

from tests.harness.litellm.captured import write_or_compare  # noqa: E402 - after the path is set

OUTPUT = ROOT / "tests" / "data" / "litellm_cleanup_metrics.txt"
PREFIX = "litellm_spend_log_cleanup_"
COMMAND = ".venv-litellm/bin/python tests/harness/litellm/cleanup_metrics.py --write"


def sample_names() -> list[str]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm.proxy.db.db_transaction_queue.spend_log_cleanup_metrics import SpendLogCleanupMetrics as Metrics

    client = import_module("prometheus_client")  # the LiteLLM venv's (not in the repository's venv)

    Metrics.record_batch("LiteLLM_SpendLogs", 1, 0.1)
    Metrics.record_batch_failure("LiteLLM_SpendLogs")
    Metrics.set_rows_remaining("LiteLLM_SpendLogs", 0)
    Metrics.record_run("completed")
    names: dict[str, None] = {}
    for line in client.generate_latest(client.REGISTRY).decode().splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if line.startswith("#") or not name.startswith(PREFIX) or name.endswith("_created"):
            continue
        names[name] = None
    return list(names)


def text() -> str:
    from importlib.metadata import version

    lines = [
        f"# litellm=={version('litellm')}",
        f"# captured by: {COMMAND}",
        "# Spend-log cleanup metrics, from the installed LiteLLM's own recorder",
        "# (litellm/proxy/db/db_transaction_queue/spend_log_cleanup_metrics.py): registered at the first cleanup",
        "# run, so a proxy without a database (tests.harness.litellm.probe) never exposes them.",
        *sample_names(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    now = text()
    return write_or_compare(OUTPUT, now, write=args.write, root=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
