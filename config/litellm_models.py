"""`litellm.models` and `litellm.provider_keys`: the model list and the provider keys its entries spend,
under names LiteLLM never reads by itself."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, model_validator

from config.endpoints import insecure_http
from config.types import GsmSecretId, HttpsUrl, Section, pattern, refuse

EnvVarName = Annotated[str, pattern(r"^[A-Z][A-Z0-9_]{0,62}$", "an environment variable name, e.g. OPENAI_API_KEY")]
KEY_ENV_PREFIX: Final = "LLMGW_"
"""Provider keys reach the proxy only under names with this prefix: LiteLLM reads none of them by
itself (no string of the installed package starts with it), so its pass-through router, which reads
`<PROVIDER>_API_KEY`, finds no company key (docs/litellm.md, "Provider pass-through")."""
ProviderKeyEnv = Annotated[
    str,
    pattern(
        rf"^{KEY_ENV_PREFIX}[A-Z0-9][A-Z0-9_]{{0,56}}$",
        f"a name LiteLLM never reads by itself: {KEY_ENV_PREFIX} and upper-case letters, e.g. LLMGW_OPENAI_KEY",
    ),
]
ModelName = Annotated[str, pattern(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$", "a model name, e.g. gpt-4o")]


class ModelConfig(Section):
    """One entry of LiteLLM's `model_list`."""

    name: ModelName = Field(description="`model_name` clients ask for.")
    model: Annotated[str, pattern(r"^[a-z0-9_-]+/[^\s]+$", "provider/model, e.g. openai/gpt-4o")] = Field(
        description="Provider model, `provider/model` (e.g. `openai/gpt-4o`)."
    )
    api_key: ProviderKeyEnv | None = Field(
        default=None,
        description="`litellm.provider_keys[].env` of the key this model uses (referenced as `os.environ/<env>`).",
    )
    api_base: HttpsUrl | None = Field(
        default=None,
        description=(
            "The provider endpoint, when not the provider's default: https, or plain http only to loopback or a "
            "cluster-local Service (*.svc, *.svc.cluster.local) unless allow_insecure_http."
        ),
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Accept a plain-http api_base to another host: the provider key crosses the network in clear text.",
    )
    rpm: Annotated[int, Field(ge=1, le=10**7)] | None = Field(
        default=None, description="Requests per minute of this deployment (enforced by usage-based-routing-v2)."
    )
    tpm: Annotated[int, Field(ge=1, le=10**10)] | None = Field(
        default=None, description="Tokens per minute of this deployment (enforced by usage-based-routing-v2)."
    )
    fallbacks: list[ModelName] = Field(default=[], description="Other models' names tried when this one fails.")

    @model_validator(mode="after")
    def _no_key_in_clear_text(self) -> ModelConfig:
        problem = None if self.api_base is None or self.allow_insecure_http else insecure_http(self.api_base)
        refuse([("api_base", problem)] if problem else [])
        return self


class ProviderKeyConfig(Section):
    """A provider API key kept in GSM by the platform team (never generated here)."""

    env: ProviderKeyEnv = Field(
        description=(
            "Environment variable the key is mounted as (models name it in api_key): LLMGW_ and a name, never one "
            "LiteLLM reads by itself such as OPENAI_API_KEY (its pass-through routes would spend the key)."
        )
    )
    gsm_secret: GsmSecretId = Field(description="GSM secret holding the key (created by the platform team).")


def model_provider(model: str) -> str:
    """The provider of a `provider/model` name (`openai/gpt-4o` -> `openai`)."""
    return model.split("/", 1)[0]
