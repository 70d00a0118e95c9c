"""Langfuse's credentials as Kubernetes Secrets, rendered by ESO from GSM: the chart's
`langfuse-credentials` (every secretKeyRef/existingSecret of the values but the database's),
`litellm-langfuse` (the project's keys, for LiteLLM) and what LiteLLM needs to send traces.

No secret value is ever part of a manifest: only GSM ids and Go templates.
"""

from __future__ import annotations

from typing import Any

from components.langfuse.names import WEB_PORT, names
from components.litellm.wiring import TracingWiring
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import StackConfig
from config.inventory import (
    LANGFUSE_ADMIN_PASSWORD,
    LANGFUSE_CLICKHOUSE_PASSWORD,
    LANGFUSE_ENCRYPTION_KEY,
    LANGFUSE_GCS_HMAC,
    LANGFUSE_MINIO_PASSWORD,
    LANGFUSE_NEXTAUTH_SECRET,
    LANGFUSE_PUBLIC_KEY,
    LANGFUSE_SALT,
    LANGFUSE_SECRET_KEY,
    SecretSpec,
    gsm_secret_id,
)

CREDENTIALS_SECRET = "langfuse-credentials"
"""Opaque Secret (ESO) with every Langfuse credential except the database password."""
DB_SECRET = "langfuse-db"
"""basic-auth Secret (ESO) of the `langfuse` role: CNPG managed role and the chart's Postgres auth."""
LITELLM_KEYS_SECRET = "litellm-langfuse"
"""Secret (ESO) LiteLLM mounts with environmentSecrets: LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY."""
MINIO_ROOT_USER = "langfuse"
CLICKHOUSE_PASSWORD_KEY = "clickhouse-password"
"""Key of CREDENTIALS_SECRET: the password of ClickHouse's `default` user (the ClickHouseCluster and Langfuse)."""

# Keys of CREDENTIALS_SECRET: (template variable, Secret data key, inventory entry).
_CREDENTIALS: tuple[tuple[str, str, SecretSpec], ...] = (
    ("salt", "salt", LANGFUSE_SALT),
    ("nextauth_secret", "nextauth-secret", LANGFUSE_NEXTAUTH_SECRET),
    ("encryption_key", "encryption-key", LANGFUSE_ENCRYPTION_KEY),
    ("clickhouse_password", CLICKHOUSE_PASSWORD_KEY, LANGFUSE_CLICKHOUSE_PASSWORD),
    ("public_key", "public-key", LANGFUSE_PUBLIC_KEY),
    ("secret_key", "secret-key", LANGFUSE_SECRET_KEY),
)
OIDC_CLIENT_SECRET_KEY = "oidc-client-secret"
"""Key of CREDENTIALS_SECRET holding Langfuse's OIDC client secret (langfuse.sso; a referenced GSM secret)."""
S3_ACCESS_KEY_ID = "s3-access-key-id"
S3_SECRET_ACCESS_KEY = "s3-secret-access-key"
ADMIN_PASSWORD_KEY = "admin-password"


def credentials_secret(cfg: StackConfig, store: StoreRef) -> dict[str, Any]:
    """One ExternalSecret rendering every chart credential (but the database's) into CREDENTIALS_SECRET."""
    lf = cfg.langfuse
    entries = [RemoteEntry(secret_key=var, gsm_secret_id=gsm_secret_id(cfg, spec)) for var, _, spec in _CREDENTIALS]
    template = {key: f"{{{{ .{var} }}}}" for var, key, _ in _CREDENTIALS}
    if lf.blob_storage == "gcs":
        entries.append(RemoteEntry(secret_key="hmac", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_GCS_HMAC)))
        template[S3_ACCESS_KEY_ID] = "{{ (.hmac | fromJson).access_id }}"
        template[S3_SECRET_ACCESS_KEY] = "{{ (.hmac | fromJson).secret }}"
    else:
        entries.append(RemoteEntry(secret_key="minio", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_MINIO_PASSWORD)))
        template[S3_ACCESS_KEY_ID] = MINIO_ROOT_USER
        template[S3_SECRET_ACCESS_KEY] = "{{ .minio }}"
    if lf.init.admin_email:
        entries.append(RemoteEntry(secret_key="admin", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_ADMIN_PASSWORD)))
        template[ADMIN_PASSWORD_KEY] = "{{ .admin }}"
    if lf.sso is not None:
        # The identity team's secret, as named (never generated, so no prefix).
        entries.append(RemoteEntry(secret_key="oidc_client_secret", gsm_secret_id=lf.sso.client_secret_gsm_secret))
        template[OIDC_CLIENT_SECRET_KEY] = "{{ .oidc_client_secret }}"
    return external_secret(
        name=CREDENTIALS_SECRET,
        store=store,
        entries=entries,
        target=TargetSecret(name=CREDENTIALS_SECRET, namespace=cfg.namespaces.gateway, template_data=template),
        refresh_interval=cfg.secrets.refresh_interval,
    )


def litellm_keys_secret(cfg: StackConfig, store: StoreRef) -> dict[str, Any]:
    """The project's keys for LiteLLM (environmentSecrets): the same GSM secrets Langfuse is initialized with."""
    return external_secret(
        name=LITELLM_KEYS_SECRET,
        store=store,
        entries=[
            RemoteEntry(secret_key="LANGFUSE_PUBLIC_KEY", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_PUBLIC_KEY)),
            RemoteEntry(secret_key="LANGFUSE_SECRET_KEY", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_SECRET_KEY)),
        ],
        target=TargetSecret(name=LITELLM_KEYS_SECRET, namespace=cfg.namespaces.gateway),
        refresh_interval=cfg.secrets.refresh_interval,
    )


def litellm_tracing(cfg: StackConfig) -> TracingWiring | None:
    """What LiteLLM's release needs for `langfuse_otel`; None when Langfuse is off."""
    if not cfg.langfuse.enabled:
        return None
    n = names(cfg)
    return TracingWiring(
        otel_host=n.web_url, keys_secret=LITELLM_KEYS_SECRET, web_pod_selector=n.web_labels, web_port=WEB_PORT
    )
