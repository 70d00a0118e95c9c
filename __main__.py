"""llm-gateway: load the typed stack config and the stack secret, check the locked charts, build the root, export.

The only module that reads Pulumi's configuration and the stack file: components get what they need
in their Args.
"""

from pathlib import Path

import pulumi

from components.gateway import LlmGateway, LlmGatewayArgs
from components.kit import require_stack_charts
from config import load_stack_config
from config.load import read_stack_settings

ADMIN_PASSWORD_KEY = "postgresAdminPassword"
"""The external PostgreSQL server's admin password (a stack secret, engine external only)."""

# Pulumi does not tell a program its secrets provider: read it from the stack file beside this one
# (a production stack needs a KMS provider, config/checks.py `secrets_provider_problem`).
stack_file = Path(__file__).resolve().parent / f"Pulumi.{pulumi.get_stack()}.yaml"
config = load_stack_config(read_stack_settings(stack_file))
# The locked charts this stack installs, verified in the cache before anything registers (skipped under mocks).
require_stack_charts(config)
admin_password = (
    pulumi.Config("llm-gateway").require_secret(ADMIN_PASSWORD_KEY) if config.postgres.engine == "external" else None
)
gateway = LlmGateway("llm-gateway", LlmGatewayArgs(config=config, admin_password=admin_password))
for key, value in gateway.outputs.items():
    pulumi.export(key, value)
