"""The inventory of every credential the program generates into Google Secret Manager.

One source for three consumers: the components that create the secrets, the
rotation setting (`secrets.rotation.<key>` must name an entry here) and the
README's secrets inventory (a test keeps the table and this list equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.config import StackConfig


@dataclass(frozen=True)
class PasswordPolicy:
    """How a value is generated (pulumi_random.RandomPassword settings)."""

    length: int
    special: bool = False
    override_special: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class SecretSpec:
    key: str
    """Logical name: the rotation key and the stem of resource names."""
    gsm_name: str
    """GSM secret id before the stack's `secrets.prefix`."""
    used_by: str
    policy: PasswordPolicy


MASTER_KEY = SecretSpec(
    key="litellm-master-key",
    gsm_name="litellm-master-key",
    used_by="LiteLLM proxy admin/master key (masterkeySecretName); Prometheus scrape Bearer",
    policy=PasswordPolicy(length=48, prefix="sk-"),
)


GRAFANA_RO_PASSWORD = SecretSpec(
    key="grafana-ro-password",
    gsm_name="litellm-grafana-ro-password",
    used_by="PostgreSQL role grafana_ro (CNPG managed role / external server) and Grafana's datasource",
    policy=PasswordPolicy(length=32, special=True, override_special="-_"),
)

LITELLM_DB_PASSWORD = SecretSpec(
    key="litellm-db-password",
    gsm_name="litellm-db-password",
    used_by="PostgreSQL role litellm on an external server (CNPG generates its own app secret)",
    policy=PasswordPolicy(length=32, special=True, override_special="-_"),
)


def secret_inventory(cfg: StackConfig) -> tuple[SecretSpec, ...]:
    """Every GSM secret this stack's program generates, in creation order."""
    specs = [MASTER_KEY, GRAFANA_RO_PASSWORD]
    if cfg.postgres.engine == "external":
        specs.append(LITELLM_DB_PASSWORD)
    return tuple(specs)


def gsm_secret_id(cfg: StackConfig, spec: SecretSpec) -> str:
    return f"{cfg.secrets.prefix}{spec.gsm_name}"
