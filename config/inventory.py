"""The inventory of every credential the program generates into Google Secret Manager.

One source for three consumers: the components that create the secrets, the
rotation setting (`secrets.rotation.<key>` must name an entry here) and the
README's secrets inventory (a test keeps the table and this list equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from config.stack import StackConfig


@dataclass(frozen=True)
class PasswordPolicy:
    """How a value is generated (pulumi_random.RandomPassword settings)."""

    length: int
    special: bool = False
    override_special: str = ""
    prefix: str = ""
    generator: str = "password"
    """"password": RandomPassword(length); "hex": RandomBytes(length).hex (2 x length hex chars);
    "base64url": RandomBytes(length) as URL-safe base64 (padded; what oauth2-proxy's cookie secret wants);
    "provider": the value comes from a cloud resource (e.g. an HMAC key), not generated here."""


DATABASE_PASSWORD = PasswordPolicy(length=32, special=True, override_special="-_")
"""PostgreSQL login passwords: symbols that need no quoting in a URI, a libpq string or CNPG's secret."""

RotationRule = Literal["generation", "never", "manual"]


@dataclass(frozen=True)
class SecretSpec:
    key: str
    """Logical name: the rotation key and the stem of resource names."""
    used_by: str
    policy: PasswordPolicy
    rotation: RotationRule = "generation"
    """"generation": bump `secrets.rotation.<key>` to replace the value.
    "never": stored data depends on the value; the config refuses a rotation key, and
    the value and its GSM version carry the data-safety options like the GSM secret.
    "manual": rotated outside the program (a UI, `pulumi up --replace`); no rotation key."""
    disposable: bool = False
    """Losing it costs sessions only: no data-safety options, so turning its feature off removes it."""
    gsm_name: str = ""
    """GSM secret id before the stack's `secrets.prefix`: the key, unless named otherwise."""

    def __post_init__(self) -> None:
        if not self.gsm_name:
            object.__setattr__(self, "gsm_name", self.key)


def _made_by_the_cloud(key: str, used_by: str) -> SecretSpec:
    """A value a cloud resource makes (not generated here): kept in GSM, rotated where it is made."""
    return SecretSpec(
        key=key, used_by=used_by, policy=PasswordPolicy(length=0, generator="provider"), rotation="manual"
    )


MASTER_KEY = SecretSpec(
    key="litellm-master-key",
    used_by="LiteLLM proxy admin/master key (masterkeySecretName); Prometheus scrape Bearer",
    policy=PasswordPolicy(length=48, prefix="sk-"),
)

SALT_KEY = SecretSpec(
    key="litellm-salt-key",
    used_by="LiteLLM LITELLM_SALT_KEY (encrypts credentials stored in its database; unset, the master key does)",
    policy=PasswordPolicy(length=48),
    rotation="never",
)

GRAFANA_RO_PASSWORD = SecretSpec(
    key="grafana-ro-password",
    gsm_name="litellm-grafana-ro-password",
    used_by="PostgreSQL role grafana_ro (CNPG managed role / external server) and Grafana's datasource",
    policy=DATABASE_PASSWORD,
)

REPORTING_PASSWORD = SecretSpec(
    key="reporting-password",
    gsm_name="litellm-reporting-password",
    used_by="PostgreSQL role reporting (CNPG managed role / external server), read by the reporting CronJob only",
    policy=DATABASE_PASSWORD,
)

LITELLM_DB_PASSWORD = SecretSpec(
    key="litellm-db-password",
    used_by="PostgreSQL role litellm on an external server (CNPG generates its own app secret)",
    policy=DATABASE_PASSWORD,
)

# --- Langfuse (only when langfuse.enabled) ------------------------------------

LANGFUSE_SALT = SecretSpec(
    key="langfuse-salt",
    used_by="Langfuse SALT (hashes API keys): chart langfuse.salt.secretKeyRef",
    policy=PasswordPolicy(length=44),
    rotation="never",
)
LANGFUSE_NEXTAUTH_SECRET = SecretSpec(
    key="langfuse-nextauth-secret",
    used_by="Langfuse NEXTAUTH_SECRET (session JWTs): chart langfuse.nextauth.secret.secretKeyRef",
    policy=PasswordPolicy(length=44),
    disposable=True,
)
LANGFUSE_ENCRYPTION_KEY = SecretSpec(
    key="langfuse-encryption-key",
    used_by="Langfuse ENCRYPTION_KEY (64 hex chars): chart langfuse.encryptionKey.secretKeyRef",
    policy=PasswordPolicy(length=32, generator="hex"),
    rotation="never",
)
LANGFUSE_DB_PASSWORD = SecretSpec(
    key="langfuse-db-password",
    used_by="PostgreSQL role langfuse (CNPG managed role / external server): chart postgresql.auth.existingSecret",
    policy=DATABASE_PASSWORD,
)
LANGFUSE_CLICKHOUSE_PASSWORD = SecretSpec(
    key="langfuse-clickhouse-password",
    used_by=(
        "ClickHouse user default: the ClickHouseCluster's settings.defaultUserPassword and the chart's "
        "clickhouse.auth.existingSecret"
    ),
    policy=PasswordPolicy(length=32),
)
LANGFUSE_MINIO_PASSWORD = SecretSpec(
    key="langfuse-minio-password",
    used_by="MinIO root password (Langfuse subchart, alias s3) and Langfuse's S3 secret key",
    policy=PasswordPolicy(length=32),
)
LANGFUSE_GCS_HMAC = _made_by_the_cloud(
    "langfuse-gcs-hmac",
    "HMAC key of Langfuse's blob-storage service account (JSON access_id/secret): S3 credentials for GCS",
)
LANGFUSE_PUBLIC_KEY = SecretSpec(
    key="langfuse-public-key",
    used_by="Langfuse project public key (LANGFUSE_INIT_PROJECT_PUBLIC_KEY) and LiteLLM's LANGFUSE_PUBLIC_KEY",
    policy=PasswordPolicy(length=32, prefix="pk-lf-"),
    rotation="manual",
)
LANGFUSE_SECRET_KEY = SecretSpec(
    key="langfuse-secret-key",
    used_by="Langfuse project secret key (LANGFUSE_INIT_PROJECT_SECRET_KEY) and LiteLLM's LANGFUSE_SECRET_KEY",
    policy=PasswordPolicy(length=32, prefix="sk-lf-"),
    rotation="manual",
)
LANGFUSE_ADMIN_PASSWORD = SecretSpec(
    key="langfuse-admin-password",
    used_by="Langfuse initial admin user (LANGFUSE_INIT_USER_PASSWORD), when langfuse.init.admin_email is set",
    policy=PasswordPolicy(length=24, special=True, override_special="-_"),
    rotation="manual",
)

# --- single sign-on (only when sso.enabled) -----------------------------------

OAUTH2_PROXY_COOKIE_SECRET = SecretSpec(
    key="oauth2-proxy-cookie-secret",
    used_by="oauth2-proxy cookie secret (32 random bytes, URL-safe base64): chart config.existingSecret",
    policy=PasswordPolicy(length=32, generator="base64url"),
    disposable=True,
)

# --- shared state (redis.mode memorystore / in_cluster) -------------------------

REDIS_PASSWORD = SecretSpec(
    key="litellm-redis-password",
    used_by=(
        "In-cluster Valkey password (chart auth.usersExistingSecret), LiteLLM's and Langfuse's REDIS_PASSWORD "
        "(alphanumeric: Langfuse puts it in a URL)"
    ),
    policy=PasswordPolicy(length=32),
)
MEMORYSTORE_AUTH = _made_by_the_cloud(
    "litellm-redis-auth",
    "Memorystore AUTH string (generated by Google: the instance's auth_string) as LiteLLM's and Langfuse's "
    "REDIS_PASSWORD",
)
MEMORYSTORE_CA = _made_by_the_cloud(
    "litellm-redis-server-ca",
    "Memorystore TLS server CA (the instance's server_ca_certs), mounted for LiteLLM's REDIS_SSL_CA_CERTS and "
    "Langfuse's REDIS_TLS_CA_PATH",
)


# --- the database's TLS -----------------------------------------------------------

PG_SERVER_CA = SecretSpec(
    key="litellm-pg-server-ca",
    used_by=(
        "CNPG serverCASecret <cluster>-server-ca: the program's server CA, certificate and EC key (pulumi-tls); "
        "CNPG signs and renews the server certificate with it"
    ),
    policy=PasswordPolicy(length=0, generator="provider"),
    rotation="manual",
)
PG_SERVER_CA_CERT = SecretSpec(
    key="litellm-pg-server-ca-cert",
    used_by=(
        "The database server's CA certificate (public; CNPG: the program's CA, external: postgres.external.ca_cert): "
        "the clients' sslrootcert and Grafana's tlsCACert"
    ),
    policy=PasswordPolicy(length=0, generator="provider"),
    rotation="manual",
)


def database_tls_secrets(cfg: StackConfig) -> tuple[SecretSpec, ...]:
    """The database's CA in GSM: the CNPG cluster's (key and certificate), or an external server's certificate."""
    pg = cfg.postgres
    if pg.engine == "cnpg":
        return (PG_SERVER_CA, PG_SERVER_CA_CERT)
    return (PG_SERVER_CA_CERT,) if pg.external.ca_cert else ()


def redis_secrets(cfg: StackConfig) -> tuple[SecretSpec, ...]:
    """The shared-state secrets this stack keeps in GSM (none when redis.mode is none)."""
    return {"none": (), "in_cluster": (REDIS_PASSWORD,), "memorystore": (MEMORYSTORE_AUTH, MEMORYSTORE_CA)}[
        cfg.redis.mode
    ]


def langfuse_secrets(cfg: StackConfig) -> tuple[SecretSpec, ...]:
    """The Langfuse secrets this stack generates (none when Langfuse is off)."""
    lf = cfg.langfuse
    if not lf.enabled:
        return ()
    specs = [
        LANGFUSE_SALT,
        LANGFUSE_NEXTAUTH_SECRET,
        LANGFUSE_ENCRYPTION_KEY,
        LANGFUSE_DB_PASSWORD,
        LANGFUSE_CLICKHOUSE_PASSWORD,
        LANGFUSE_MINIO_PASSWORD if lf.blob_storage == "minio" else LANGFUSE_GCS_HMAC,
        LANGFUSE_PUBLIC_KEY,
        LANGFUSE_SECRET_KEY,
    ]
    if lf.init.admin_email:
        specs.append(LANGFUSE_ADMIN_PASSWORD)
    return tuple(specs)


def secret_inventory(cfg: StackConfig) -> tuple[SecretSpec, ...]:
    """Every GSM secret this stack's program generates, in creation order."""
    specs = [MASTER_KEY, SALT_KEY, GRAFANA_RO_PASSWORD, REPORTING_PASSWORD]
    if cfg.postgres.engine == "external":
        specs.append(LITELLM_DB_PASSWORD)
    specs.extend(database_tls_secrets(cfg))
    specs.extend(langfuse_secrets(cfg))
    if cfg.sso.enabled:
        specs.append(OAUTH2_PROXY_COOKIE_SECRET)
    specs.extend(redis_secrets(cfg))
    return tuple(specs)


def gsm_secret_id(cfg: StackConfig, spec: SecretSpec) -> str:
    return f"{cfg.secrets.prefix}{spec.gsm_name}"
