"""llm-gateway: load the typed stack config and the stack secret, check the locked charts, build the root, export.

The only module that reads Pulumi's configuration: components get what they need in their Args.
"""

import pulumi

from components.gateway import LlmGateway, LlmGatewayArgs
from components.kit import require_stack_charts
from config import load_stack_config

ADMIN_PASSWORD_KEY = "postgresAdminPassword"
"""The external PostgreSQL server's admin password (a stack secret, engine external only)."""

config = load_stack_config()
# The locked charts this stack installs, verified in the cache before anything registers (skipped under mocks).
require_stack_charts(config)
admin_password = (
    pulumi.Config("llm-gateway").require_secret(ADMIN_PASSWORD_KEY) if config.postgres.engine == "external" else None
)
gateway = LlmGateway("llm-gateway", LlmGatewayArgs(config=config, admin_password=admin_password))
for key, value in gateway.outputs.items():
    pulumi.export(key, value)
