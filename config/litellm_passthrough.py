"""`litellm.passthrough`: the providers whose pass-through routes are open, and what each spends.

LiteLLM's pass-through routes (/openai/..., /anthropic/..., /azure/...) take a provider's key from
`<PROVIDER>_API_KEY`; the program sets it only for the providers an entry opens (docs/litellm.md,
"Provider pass-through")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import Field, model_validator

from config.endpoints import insecure_http
from config.litellm_models import ModelConfig, ProviderKeyConfig, ProviderKeyEnv, model_provider
from config.types import HttpsUrl, Section, refuse


@dataclass(frozen=True)
class PassthroughProvider:
    """What opening one provider's pass-through takes (LiteLLM 1.108.7; the prefixes are captured from the
    installed package in components/litellm/passthrough.json, checked by tests/components/litellm)."""

    prefixes: tuple[str, ...]
    """Its pass-through route prefixes (the Ingress routes these to LiteLLM once opened)."""
    api_base_env: str
    """The variable its pass-through route reads the upstream from (before the provider's default)."""
    api_base_required: bool = False
    """The route refuses to run without it (Azure has no default endpoint)."""


PASSTHROUGH_PROVIDERS: Final = {
    "anthropic": PassthroughProvider(("/anthropic",), "ANTHROPIC_API_BASE"),
    "azure": PassthroughProvider(("/azure", "/azure_ai"), "AZURE_API_BASE", api_base_required=True),
    "openai": PassthroughProvider(("/openai", "/openai_passthrough"), "OPENAI_API_BASE"),
}
"""Providers whose pass-through `litellm.passthrough` may open: those whose route takes its key from
`<PROVIDER>_API_KEY`, proven on a real proxy (tests/components/litellm/test_passthrough_real_proxy.py)."""
PassthroughProviderName = Literal["anthropic", "azure", "openai"]


def passthrough_key_env(provider: str) -> str:
    """The variable LiteLLM's pass-through router reads a provider's key from (`{PROVIDER}_API_KEY`:
    PassthroughEndpointRouter._get_default_env_variable_name_passthrough_endpoint, captured as `key_env`
    in components/litellm/passthrough.json)."""
    return f"{provider.upper()}_API_KEY"


class PassthroughConfig(Section):
    """One provider's pass-through routes, opened (docs/litellm.md, "Provider pass-through")."""

    provider: PassthroughProviderName = Field(description="The provider whose pass-through routes open.")
    key: ProviderKeyEnv | None = Field(
        default=None,
        description=(
            "`provider_keys[].env` of the key the routes spend, set as `<PROVIDER>_API_KEY` in the proxy; default: "
            "the one key this provider's models name."
        ),
    )
    api_base: HttpsUrl | None = Field(
        default=None,
        description=(
            "Upstream of the routes (`<PROVIDER>_API_BASE`); default: the one api_base of this provider's models "
            "that use the key, if any (required for azure); plain http only to loopback or a cluster-local Service "
            "unless allow_insecure_http."
        ),
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Accept a plain-http api_base to another host: the key then crosses the network in clear text.",
    )

    @model_validator(mode="after")
    def _no_key_in_clear_text(self) -> PassthroughConfig:
        problem = None if self.api_base is None or self.allow_insecure_http else insecure_http(self.api_base)
        refuse([("api_base", problem)] if problem else [])
        return self


@dataclass(frozen=True)
class OpenPassthrough:
    """A provider whose pass-through is open, resolved from `litellm.passthrough` and the models."""

    provider: str
    key_env: str
    """`provider_keys[].env` of the key it spends."""
    gsm_secret: str
    api_base: str | None

    @property
    def spec(self) -> PassthroughProvider:
        return PASSTHROUGH_PROVIDERS[self.provider]


def resolve_passthrough(
    setting: PassthroughConfig,
    where: str,
    all_models: Sequence[ModelConfig],
    provider_keys: Sequence[ProviderKeyConfig],
) -> tuple[OpenPassthrough | None, list[tuple[str, str]]]:
    """The open pass-through of one `litellm.passthrough` entry (`where`: its key path): the key it spends
    and its upstream, from the entry and the models; or the problems that prevent it."""
    provider = setting.provider
    spec = PASSTHROUGH_PROVIDERS[provider]
    models = [m for m in all_models if model_provider(m.model) == provider]
    keys = {k.env: k.gsm_secret for k in provider_keys}
    named = list(dict.fromkeys(m.api_key for m in models if m.api_key is not None))
    if setting.key is not None and setting.key not in keys:
        return None, [(f"{where}.key", f"{setting.key!r} is not one of provider_keys[].env {sorted(keys)}")]
    if setting.key is None and not named:
        return None, [
            (
                where,
                f"the stack has no key for {provider}: no model of provider {provider} names an api_key (add "
                f"one, or set {where}.key to one of provider_keys[].env), or remove this entry",
            )
        ]
    if setting.key is None and len(named) > 1:
        return None, [(f"{where}.key", f"{provider}'s models use {named}: name the one the routes spend")]
    key = setting.key or named[0]
    bases = list(dict.fromkeys(m.api_base for m in models if m.api_key == key and m.api_base is not None))
    if setting.api_base is None and len(bases) > 1:
        return None, [(f"{where}.api_base", f"the models using {key} have several api_base {bases}: name one")]
    api_base = setting.api_base or (bases[0] if bases else None)
    if api_base is None and spec.api_base_required:
        return None, [(f"{where}.api_base", f"is required: {provider}'s pass-through has no default upstream")]
    if api_base is not None:
        # LiteLLM also takes <PROVIDER>_API_BASE as the default endpoint of the provider's models.
        unset = [m.name for m in models if m.api_base is None]
        if unset:
            return None, [
                (
                    f"{where}.api_base",
                    f"{spec.api_base_env}={api_base} would also become the endpoint of {unset}, which set no "
                    "api_base: give them one",
                )
            ]
    return OpenPassthrough(provider, key, keys[key], api_base), []
