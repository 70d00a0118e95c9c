"""llm-gateway: load the typed stack config, build the root component, export."""

import pulumi

from components.gateway import LlmGateway, LlmGatewayArgs
from config import load_stack_config

config = load_stack_config()
gateway = LlmGateway("llm-gateway", LlmGatewayArgs(config=config))
for key, value in gateway.outputs.items():
    pulumi.export(key, value)
