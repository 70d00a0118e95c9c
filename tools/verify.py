"""`python -m tools.verify STACK` (docs/verify.md): the stack's loading; the command line is verify/cli.py."""

from __future__ import annotations

from collections.abc import Sequence

from config import NAMESPACE, SECRET_KEYS, ConfigError, parse_config, read_namespace
from offline.inputs import InputError, exit_cli, run_cli
from offline.run import run_config
from offline.stackfile import as_pulumi_config, config_error_message, read_stack_config, stack_settings
from verify.cli import Loaded, command

PLACEHOLDER = "verify-reads-no-stack-secret"  # a stack secret in the offline run: verify reads no secret


def load(stack: str) -> Loaded:
    config = read_stack_config(stack)
    config |= {f"{NAMESPACE}:{k}": {"secure": PLACEHOLDER} for k in SECRET_KEYS if f"{NAMESPACE}:{k}" not in config}
    try:
        cfg = parse_config(read_namespace(as_pulumi_config(config)[0]), frozenset(SECRET_KEYS), stack_settings(stack))
    except ConfigError as exc:
        raise InputError(config_error_message(stack, [], exc)) from None
    run = run_config(stack, config)
    return cfg, run.kubernetes_objects(), run.resources


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda args: command(args, load), argv)


if __name__ == "__main__":
    exit_cli(main())
