"""The Helm values of `litellm-helm` and the objects registered beside the release: the provider-key
ExternalSecrets, the pods' ServiceAccount, the metrics Service and its ServiceMonitor.

No Pulumi calls: plain data from typed config and the release's wiring (`components.litellm.wiring`),
so tests (and a real LiteLLM proxy on loopback) check exactly what the program deploys. The proxy's
own config.yaml is `components.litellm.proxy_config`, its traffic rules `components.litellm.network`.
"""

from __future__ import annotations

from typing import Any

from components.database.endpoint import DatabaseEndpoint
from components.kit import (
    PART_OF,
    HelmChart,
    container_resources,
    metadata,
    restricted_container,
    restricted_pod,
)
from components.litellm.names import JOB_LABEL, scrape_job, selector_labels, service_account_name
from components.litellm.proxy_config import REDIS_ENV, proxy_config
from components.litellm.wiring import GatewayWiring
from components.redis.values import CA_MOUNT_DIR, RedisWiring
from components.scanner import PULL_POLICY, image_pin_skips, scanner_skips
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import LiteLLMConfig
from config.assets import LITELLM_CHART
from config.litellm import NON_ROOT_UID
from config.litellm_passthrough import OpenPassthrough, passthrough_key_env
from config.types import image_name_and_tag

DATABASE_URL_KEY = "uri"
DATABASE_URI_ENV = "LLMGW_DATABASE_URI"
"""The owner's URI as the Secret holds it; DATABASE_URL adds the TLS parameters to it."""
"""Key of the database Secret that holds a complete, URL-encoded connection URI."""
PROVIDER_KEYS_SECRET = "litellm-provider-keys"
PASSTHROUGH_KEYS_SECRET = "litellm-passthrough-keys"
"""The opened providers' keys under the names LiteLLM's pass-through router reads (`<PROVIDER>_API_KEY`),
mounted into the proxy only (`environmentSecrets`; the migration Job gets none)."""
RELEASE_TIMEOUT_S = 900
"""The first install runs the database migration Job as a hook before the proxy starts."""


def helm_chart(lit: LiteLLMConfig) -> HelmChart:
    """The locked `litellm-helm` chart (assets.lock.json)."""
    return HelmChart(asset=LITELLM_CHART, timeout=RELEASE_TIMEOUT_S)


SCRATCH_VOLUME = "litellm-tmp"
SCRATCH_DIR = "/litellm-tmp"
"""The one writable directory of the proxy and the migration Job (an emptyDir), their TMPDIR. The chart
shares `volumes`/`volumeMounts` between both, and with a read-only root gives the proxy alone `/tmp`,
`/.cache` and `/.npm`, so a second `/tmp` mount would be refused as a duplicate: TMPDIR points here.
What LiteLLM 1.108.7 writes, checked in its source and on a real proxy run as uid 65534 with only this
directory writable (tests/components/litellm/test_readonly_real_proxy.py): Python's temporary-directory
probe at import (no writable TMPDIR: the import fails), the Prometheus multiprocess directory, the
token-exchange store (when used), a pinned database CA (multi-certificate bundles only); in the Job the
migration copy (LITELLM_MIGRATION_DIR, below) and Prisma's diff directory. The non-root image ships the UI
pre-built (`/var/lib/litellm/ui`, marked ready: nothing is copied) and Prisma's engines generated at build."""
MIGRATION_DIR = f"{SCRATCH_DIR}/migrations"
"""LITELLM_MIGRATION_DIR: the Job copies litellm-proxy-extras' migrations here and baselines in the copy,
instead of writing into the read-only package."""
SCRATCH_SIZE_LIMIT = "500Mi"

RESTRICTED_POD = restricted_pod(NON_ROOT_UID)


def restricted_proxy_container(lit: LiteLLMConfig) -> dict[str, Any]:
    """The proxy's and the migration Job's container securityContext (the chart uses one for both; the
    Job's pod has no pod-level securityContext, so the uid/gid are set here too)."""
    return restricted_container(
        runAsUser=NON_ROOT_UID, runAsGroup=NON_ROOT_UID, readOnlyRootFilesystem=lit.read_only_root_filesystem
    )


SECRETS_AS_ENV_REASON = (
    "LiteLLM reads its credentials (master key, database URL, salt key, provider keys and the like) from "
    "environment variables only (os.environ/ in its config), each from a Secret ESO or CNPG renders"
)
TOKEN_REASON = (
    "no token is mounted: the pod's ServiceAccount (components/litellm) sets automountServiceAccountToken false, "
    "and the chart has no value for the pod spec's own field"
)


def deployment_annotations(lit: LiteLLMConfig) -> dict[str, str]:
    """The proxy Deployment's Checkov skips (the chart renders `deploymentAnnotations` on its top-level
    metadata; the migration Job's annotations are fixed by the chart: tests/program/test_checkov.py, ALLOWED)."""
    return scanner_skips(
        image_pin_skips(lit.image, "litellm.image") | {"CKV_K8S_35": SECRETS_AS_ENV_REASON, "CKV_K8S_38": TOKEN_REASON}
    )


def helm_values(lit: LiteLLMConfig, wiring: GatewayWiring) -> dict[str, Any]:
    """Values of the chart (keys checked against the pinned chart: tests/support/chart_keys.py)."""
    repository, tag = image_name_and_tag(lit.image)
    values: dict[str, Any] = {
        "replicaCount": lit.replicas,
        "numWorkers": lit.num_workers,
        "image": {"repository": repository, "tag": tag, "pullPolicy": PULL_POLICY},
        "deploymentAnnotations": deployment_annotations(lit),
        "masterkeySecretName": wiring.master_key_secret,
        "masterkeySecretKey": wiring.master_key_key,
        **database_values(wiring),
        "envVars": env_vars(lit, wiring),
        "environmentSecrets": environment_secrets(lit, wiring),
        "proxy_config": proxy_config(lit, tracing=wiring.tracing is not None, redis=wiring.redis is not None),
        "resources": container_resources(lit.resources),
        "migrationJob": {
            "enabled": True,
            "resources": container_resources(lit.migration_resources),
            "hooks": {"argocd": {"enabled": False}, "helm": {"enabled": True}},
            "serviceAccountName": service_account_name(lit),
        },
        # Our own ServiceAccount (no API token mounted); the proxy never calls the Kubernetes API.
        "serviceAccount": {"create": False, "name": service_account_name(lit)},
        "podSecurityContext": RESTRICTED_POD,
        "securityContext": restricted_proxy_container(lit),
        "livenessProbe": {"path": "/health/liveliness"},
        "readinessProbe": {"path": "/health/readiness"},
        "startupProbe": {"path": "/health/readiness", "periodSeconds": 10, "failureThreshold": 30},
        # Metrics are scraped from PROMETHEUS_METRICS_PORT by our own ServiceMonitor.
        "serviceMonitor": {"enabled": False},
        "ingress": {"enabled": False},
        "autoscaling": {
            "enabled": lit.autoscaling.enabled,
            "minReplicas": lit.autoscaling.min_replicas,
            "maxReplicas": lit.autoscaling.max_replicas,
            "targetCPUUtilizationPercentage": lit.autoscaling.target_cpu_percent,
        },
        "pdb": {"enabled": lit.pdb_min_available is not None}
        | ({"minAvailable": lit.pdb_min_available} if lit.pdb_min_available is not None else {}),
        "podLabels": {"app.kubernetes.io/part-of": PART_OF},
    }
    volumes, mounts = pod_volumes(wiring)
    values["volumes"], values["volumeMounts"] = volumes, mounts
    if lit.spread_across_nodes:
        values["topologySpreadConstraints"] = spread_constraints(lit)
    return values


def pod_volumes(wiring: GatewayWiring) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`volumes` and `volumeMounts` of the proxy and the migration Job: the scratch emptyDir, the Redis CA."""
    volumes: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": SCRATCH_SIZE_LIMIT}}]
    mounts: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME, "mountPath": SCRATCH_DIR}]
    if wiring.redis is not None and wiring.redis.ca_secret:
        volumes.append({"name": "redis-ca", "secret": {"secretName": wiring.redis.ca_secret}})
        mounts.append({"name": "redis-ca", "mountPath": CA_MOUNT_DIR, "readOnly": True})
    if wiring.database_ca_volume is not None:
        volumes.append(wiring.database_ca_volume)
        mounts.append(DatabaseEndpoint.ca_volume_mount())
    return volumes, mounts


def database_values(wiring: GatewayWiring) -> dict[str, Any]:
    """The chart's `db` (an existing database, credentials from its Secret) and the DATABASE_URL fix."""
    return {
        "db": {
            "useExisting": True,
            "deployStandalone": False,
            "endpoint": wiring.database_host,
            "database": wiring.database_name,
            "secret": {"name": wiring.database_secret, "usernameKey": "username", "passwordKey": "password"},
        },
        # The chart builds DATABASE_URL from $(DATABASE_PASSWORD) without URL-encoding
        # (BerriAI/litellm#20993). Kubernetes keeps the last of duplicate env names and the
        # chart renders extraEnvVars after its own DATABASE_URL in both the proxy and the
        # migration Job, so these entries replace it with the database Secret's encoded URI,
        # plus the TLS parameters that make the client verify the server against the mounted CA.
        "extraEnvVars": database_url_env(wiring),
    }


def database_url_env(wiring: GatewayWiring) -> list[dict[str, Any]]:
    """DATABASE_URL from the owner's encoded `uri`, with `database_uri_query` appended by `$(VAR)`
    expansion (the variable it expands is defined first, as Kubernetes requires)."""
    uri = {"secretKeyRef": {"name": wiring.database_secret, "key": DATABASE_URL_KEY}}
    if not wiring.database_uri_query:
        return [{"name": "DATABASE_URL", "valueFrom": uri}]
    return [
        {"name": DATABASE_URI_ENV, "valueFrom": uri},
        {"name": "DATABASE_URL", "value": f"$({DATABASE_URI_ENV}){wiring.database_uri_query}"},
    ]


def env_vars(lit: LiteLLMConfig, wiring: GatewayWiring) -> dict[str, Any]:
    """Plain environment of the proxy (`envVars`): metrics port, scratch directories, workers, tracing host,
    exposure, Redis, the opened pass-through upstreams."""
    return (
        {"PROMETHEUS_METRICS_PORT": str(lit.metrics_port)}
        | scratch_env()
        | worker_env(lit)
        | ({"LANGFUSE_OTEL_HOST": wiring.tracing.otel_host} if wiring.tracing else {})
        | exposure_env(lit)
        | redis_env(wiring.redis)
        | passthrough_env(lit.open_passthrough())
    )


def scratch_env() -> dict[str, str]:
    """TMPDIR and LITELLM_MIGRATION_DIR in the scratch emptyDir (the root filesystem is read-only)."""
    return {"TMPDIR": SCRATCH_DIR, "LITELLM_MIGRATION_DIR": MIGRATION_DIR}


def passthrough_env(opened: tuple[OpenPassthrough, ...]) -> dict[str, str]:
    """`<PROVIDER>_API_BASE` of each opened pass-through with an upstream (its key: PASSTHROUGH_KEYS_SECRET)."""
    return {p.spec.api_base_env: p.api_base for p in opened if p.api_base is not None}


WORKER_HEALTHCHECK_TIMEOUT_S = 120
"""uvicorn's supervisor kills a worker that does not answer its health check within 5 s by default;
importing LiteLLM takes longer on a busy node, so with num_workers > 1 the workers were killed in a loop
(seen on a real 1.108.7 proxy: tests/test_redis_real_proxies.py)."""


def worker_env(lit: LiteLLMConfig) -> dict[str, str]:
    """TIMEOUT_WORKER_HEALTHCHECK (litellm --timeout_worker_healthcheck) when several workers run."""
    return {"TIMEOUT_WORKER_HEALTHCHECK": str(WORKER_HEALTHCHECK_TIMEOUT_S)} if lit.num_workers > 1 else {}


def exposure_env(lit: LiteLLMConfig) -> dict[str, str]:
    """How the proxy presents itself: PROXY_BASE_URL on the ingress host; API docs off unless public."""
    env: dict[str, str] = {}
    if lit.ingress.enabled and lit.ingress.host:
        env["PROXY_BASE_URL"] = f"https://{lit.ingress.host}"
    if not lit.settings.public_api_docs:
        # An empty DOCS_URL/REDOC_URL alone leaves the routes on (litellm.proxy.utils.get_docs_url
        # treats "" as unset, checked on 1.108.7); the NO_* switches turn off /, /redoc, /openapi.json.
        env |= {"DOCS_URL": "", "REDOC_URL": "", "NO_DOCS": "True", "NO_REDOC": "True", "NO_OPENAPI": "True"}
    return env


def redis_env(redis: RedisWiring | None) -> dict[str, Any]:
    """REDIS_HOST/PORT (and TLS with the mounted server CA); the password comes from its Secret."""
    if redis is None:
        return {}
    env: dict[str, Any] = {REDIS_ENV["host"]: redis.host, REDIS_ENV["port"]: str(redis.port)}
    if redis.tls:
        env |= {"REDIS_SSL": "True", "REDIS_SSL_CERT_REQS": "required"}
    if redis.ca_file:
        env["REDIS_SSL_CA_CERTS"] = redis.ca_file
    return env


def environment_secrets(lit: LiteLLMConfig, wiring: GatewayWiring) -> list[str]:
    """Secrets mounted whole as environment (`environmentSecrets`; the proxy only): provider keys, the
    opened pass-through keys, Langfuse's keys, the salt key, the Redis password."""
    return (
        ([PROVIDER_KEYS_SECRET] if lit.provider_keys else [])
        + ([PASSTHROUGH_KEYS_SECRET] if lit.open_passthrough() else [])
        + ([wiring.tracing.keys_secret] if wiring.tracing else [])
        + [wiring.salt_key_secret]
        + ([wiring.redis.auth_secret] if wiring.redis else [])
    )


def spread_constraints(lit: LiteLLMConfig) -> list[dict[str, Any]]:
    """One proxy pod per node (hard), spread over zones (best effort)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": selector_labels(lit)},
        }
        for key, when in (
            ("kubernetes.io/hostname", "DoNotSchedule"),
            ("topology.kubernetes.io/zone", "ScheduleAnyway"),
        )
    ]


def provider_keys_secret(
    lit: LiteLLMConfig, store: StoreRef, namespace: str, refresh_interval: str
) -> dict[str, Any] | None:
    """One ExternalSecret with every provider key, mounted by `environmentSecrets`."""
    if not lit.provider_keys:
        return None
    return external_secret(
        name=PROVIDER_KEYS_SECRET,
        store=store,
        entries=[RemoteEntry(secret_key=k.env, gsm_secret_id=k.gsm_secret) for k in lit.provider_keys],
        target=TargetSecret(name=PROVIDER_KEYS_SECRET, namespace=namespace),
        refresh_interval=refresh_interval,
    )


def passthrough_keys_secret(
    lit: LiteLLMConfig, store: StoreRef, namespace: str, refresh_interval: str
) -> dict[str, Any] | None:
    """The opened providers' keys as `<PROVIDER>_API_KEY` (same GSM secrets as the provider keys); None
    while every pass-through is closed."""
    opened = lit.open_passthrough()
    if not opened:
        return None
    return external_secret(
        name=PASSTHROUGH_KEYS_SECRET,
        store=store,
        entries=[RemoteEntry(secret_key=passthrough_key_env(p.provider), gsm_secret_id=p.gsm_secret) for p in opened],
        target=TargetSecret(name=PASSTHROUGH_KEYS_SECRET, namespace=namespace),
        refresh_interval=refresh_interval,
    )


def service_account(lit: LiteLLMConfig, namespace: str) -> dict[str, Any]:
    """The proxy's and migration Job's ServiceAccount: no token is mounted into their pods."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(service_account_name(lit), namespace, app="litellm"),
        "automountServiceAccountToken": False,
    }


def metrics_service(lit: LiteLLMConfig, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(
            f"{lit.release_name}-metrics",
            namespace,
            app="litellm-metrics",
            extra_labels={JOB_LABEL: scrape_job(lit)},
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(lit),
            "ports": [{"name": "metrics", "port": lit.metrics_port, "targetPort": lit.metrics_port, "protocol": "TCP"}],
        },
    }


def service_monitor(lit: LiteLLMConfig, namespace: str, prometheus_release: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(
            lit.release_name,
            namespace,
            app="litellm-metrics",
            extra_labels={"release": prometheus_release},
        ),
        "spec": {
            "jobLabel": JOB_LABEL,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "litellm-metrics"}},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [
                {
                    "port": "metrics",
                    "path": "/metrics/",
                    "interval": "30s",
                    "scrapeTimeout": "10s",
                    # The chart gives the migration Job's pods the proxy's labels, so the metrics
                    # Service selects them while they run: a target that never serves metrics,
                    # `up == 0`, LiteLLMGatewayDown during a long migration. The Job controller
                    # labels its pods `job-name`: drop those targets.
                    "relabelings": [
                        {"sourceLabels": ["__meta_kubernetes_pod_label_job_name"], "regex": ".+", "action": "drop"}
                    ],
                }
            ],
        },
    }
