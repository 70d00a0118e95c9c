"""Pure builders for the LiteLLM proxy: its proxy config, the Helm values of
`litellm-helm`, and the Kubernetes objects around the release (provider-key
ExternalSecret, metrics Service and ServiceMonitor, NetworkPolicies, Ingress).

No Pulumi calls: plain data from typed config, so tests (and a real LiteLLM
proxy on loopback) check exactly what the program deploys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.database.network import database_egress
from components.kit import (
    PART_OF,
    HelmChart,
    container_resources,
    deny_all,
    dns_egress,
    helm_fullname,
    metadata,
    namespace_peer,
    network_policy,
    restricted_container,
    restricted_pod,
    tcp_ports,
    tls_ingress,
)
from components.litellm.ingress_paths import BLOCKED, path_table
from components.redis.values import CA_MOUNT_DIR, RedisWiring
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import API_PORT, LiteLLMConfig, NetworkConfig, PostgresConfig

MASTER_KEY_ENV = "PROXY_MASTER_KEY"
"""The chart exports the master key Secret as this variable."""
DATABASE_URL_KEY = "uri"
"""Key of the database Secret that holds a complete, URL-encoded connection URI."""
PROVIDER_KEYS_SECRET = "litellm-provider-keys"
CHART_NAME = "litellm"
"""The chart's name as its templates use it (nameOverride `litellm`)."""


@dataclass(frozen=True)
class TracingWiring:
    """LiteLLM -> Langfuse (`langfuse_otel`): what the proxy needs, from components.langfuse.values."""

    otel_host: str
    """LANGFUSE_OTEL_HOST: the Langfuse web Service URL (in-cluster)."""
    keys_secret: str
    """Secret (gateway namespace) holding LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY."""
    web_pod_selector: dict[str, str]
    web_port: int


@dataclass(frozen=True)
class AdminFrontDoor:
    """Single sign-on in front of the admin surface (from components.sso.values, wired by the root)."""

    paths: tuple[Mapping[str, Any], ...]
    """The Ingress paths that go through it: everything but LiteLLM's API client routes."""
    annotations: Mapping[str, str]
    """Ingress annotations its sessions need (e.g. a larger proxy buffer for the cookies)."""


@dataclass(frozen=True)
class GatewayWiring:
    """Names from other components the release is wired to (one source each)."""

    namespace: str
    master_key_secret: str
    master_key_key: str
    salt_key_secret: str
    """Secret holding `LITELLM_SALT_KEY` (mounted with environmentSecrets)."""
    database_secret: str
    database_host: str
    database_port: int
    database_name: str
    database_pod_selector: dict[str, str] | None
    """Labels of the database pods (CNPG) for the egress policy; None for an external server."""
    tracing: TracingWiring | None = None
    """Langfuse tracing (langfuse.enabled); None: nothing of Langfuse in the release."""
    redis: RedisWiring | None = None
    """The shared Redis (redis.mode); None: every process keeps its own state."""
    admin: AdminFrontDoor | None = None
    """Single sign-on (sso.enabled); None: the Ingress sends everything to LiteLLM."""


def service_name(lit: LiteLLMConfig) -> str:
    """The chart's `litellm.fullname` (nameOverride `litellm`): the proxy Service's name."""
    return helm_fullname(lit.release_name, CHART_NAME)


def scrape_job(lit: LiteLLMConfig) -> str:
    """Prometheus `job` of the proxy's metrics (the ServiceMonitor's jobLabel value)."""
    return lit.release_name


def deployment_name(lit: LiteLLMConfig) -> str:
    """The chart's Deployment (same name as its Service)."""
    return service_name(lit)


JOB_LABEL = "app.kubernetes.io/instance"


def selector_labels(lit: LiteLLMConfig) -> dict[str, str]:
    """The chart's selector labels for the proxy pods (`litellm.selectorLabels`)."""
    return {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": lit.release_name}


REDIS_ENV = {"host": "REDIS_HOST", "port": "REDIS_PORT", "password": "REDIS_PASSWORD"}
"""LiteLLM's own REDIS_* variables (litellm._redis reads REDIS_<arg> for every redis client it builds)."""


def redis_settings(lit: LiteLLMConfig) -> dict[str, dict[str, Any]]:
    """The proxy config sections that put LiteLLM's shared state in Redis (names as read by 1.108.7:
    Router(redis_host/redis_port/redis_password), litellm_settings.cache + cache_params (RedisCache),
    general_settings.use_redis_transaction_buffer). TLS and its CA come from REDIS_SSL/REDIS_SSL_CA_CERTS."""
    ref = {k: f"os.environ/{v}" for k, v in REDIS_ENV.items()}
    return {
        "router_settings": {f"redis_{k}": v for k, v in ref.items()},
        "litellm_settings": {
            "cache": True,
            # settings.cache chooses whether every response is cached, or only on request (`cache: {use-cache}`).
            "cache_params": {"type": "redis", **ref, "mode": "default_on" if lit.settings.cache else "default_off"},
        },
        "general_settings": {"use_redis_transaction_buffer": True},
    }


def proxy_config(lit: LiteLLMConfig, tracing: bool = False, redis: bool = False) -> dict[str, Any]:
    """LiteLLM's config.yaml (the chart's `proxy_config`); `tracing` adds the `langfuse_otel` callback,
    `redis` puts the router's counters, the cache and the spend buffer in the shared Redis."""
    models = []
    for m in lit.models:
        params: dict[str, Any] = {"model": m.model}
        if m.api_key:
            params["api_key"] = f"os.environ/{m.api_key}"
        if m.api_base:
            params["api_base"] = m.api_base
        if m.rpm is not None:
            params["rpm"] = m.rpm
        if m.tpm is not None:
            params["tpm"] = m.tpm
        models.append({"model_name": m.name, "litellm_params": params})
    s = lit.settings
    litellm_settings: dict[str, Any] = {
        "callbacks": ["prometheus", "langfuse_otel"] if tracing else ["prometheus"],
        # Budget gauges for every key and team from the start (the budget alerts need them).
        "prometheus_initialize_budget_metrics": True,
        "json_logs": s.json_logs,
        "turn_off_message_logging": s.turn_off_message_logging,
        "cache": s.cache,
        "drop_params": s.drop_params,
        "request_timeout": s.request_timeout_seconds,
        "num_retries": s.num_retries,
        "store_audit_logs": s.store_audit_logs,
    }
    # user_email is personal data on the unauthenticated metrics port: excluded whatever the list says.
    litellm_settings["prometheus_exclude_labels"] = list(dict.fromkeys([*s.prometheus_exclude_labels, "user_email"]))
    if s.prometheus_max_series_per_metric is not None:
        litellm_settings["prometheus_metrics_max_series_per_metric"] = s.prometheus_max_series_per_metric
    defaults = {
        "max_budget": s.default_key_max_budget,
        "budget_duration": s.default_key_budget_duration,
        "rpm_limit": s.default_key_rpm_limit,
        "tpm_limit": s.default_key_tpm_limit,
    }
    if any(v is not None for v in defaults.values()):
        litellm_settings["default_key_generate_params"] = {k: v for k, v in defaults.items() if v is not None}
    if s.max_key_budget is not None:
        litellm_settings["upperbound_key_generate_params"] = {"max_budget": s.max_key_budget}
    config: dict[str, Any] = {
        "model_list": models,
        "litellm_settings": litellm_settings,
        "general_settings": {
            "master_key": f"os.environ/{MASTER_KEY_ENV}",
            "database_url": "os.environ/DATABASE_URL",
            **database_settings(lit),
        },
    }
    router_settings: dict[str, Any] = {"routing_strategy": s.routing_strategy}
    fallbacks = [{m.name: list(m.fallbacks)} for m in lit.models if m.fallbacks]
    if fallbacks:
        router_settings["fallbacks"] = fallbacks
    config["router_settings"] = router_settings
    if redis:
        for section, entries in redis_settings(lit).items():
            config[section].update(entries)
    return config


WORKER_HEALTHCHECK_TIMEOUT_S = 120
"""uvicorn's supervisor kills a worker that does not answer its health check within 5 s by default;
importing LiteLLM takes longer on a busy node, so with num_workers > 1 the workers were killed in a loop
(seen on a real 1.108.7 proxy: tests/test_redis_real_proxies.py)."""


def worker_env(lit: LiteLLMConfig) -> dict[str, str]:
    """TIMEOUT_WORKER_HEALTHCHECK (litellm --timeout_worker_healthcheck) when several workers run."""
    return {"TIMEOUT_WORKER_HEALTHCHECK": str(WORKER_HEALTHCHECK_TIMEOUT_S)} if lit.num_workers > 1 else {}


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


def database_settings(lit: LiteLLMConfig) -> dict[str, Any]:
    """general_settings for the connection pool and the spend-log retention (names checked in
    LiteLLM 1.108.7: proxy/_types.py ConfigGeneralSettings, proxy_server.py's cleanup scheduling)."""
    db = lit.database
    return {
        # Per worker process: pods x num_workers x this must fit the budget (config/budget.py).
        "database_connection_pool_limit": db.connection_pool_limit,
        # Rows of LiteLLM_SpendLogs older than this are deleted; the daily tables are not.
        "maximum_spend_logs_retention_period": db.spend_logs_retention,
        # The cleanup runs every interval (+ up to 60 s jitter) on every pod without a Redis lock.
        "maximum_spend_logs_retention_interval": db.cleanup_interval,
        "maximum_spend_logs_cleanup_batch_size": db.cleanup_batch_size,
        "maximum_spend_logs_cleanup_max_batches": db.cleanup_max_batches,
    }


RESTRICTED_POD = restricted_pod(1000)
# Prisma writes its engines' cache at start-up (see the chart's values).
RESTRICTED_CONTAINER = restricted_container(readOnlyRootFilesystem=False)


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


RELEASE_TIMEOUT_S = 900
"""The first install runs the database migration Job as a hook before the proxy starts."""


def helm_chart(lit: LiteLLMConfig) -> HelmChart:
    """The pinned `litellm-helm` chart (an OCI reference)."""
    return HelmChart(chart=lit.chart, version=lit.chart_version, timeout=RELEASE_TIMEOUT_S)


def helm_values(lit: LiteLLMConfig, wiring: GatewayWiring) -> dict[str, Any]:
    repository, _, tag = lit.image.rpartition(":")
    values: dict[str, Any] = {
        "replicaCount": lit.replicas,
        "numWorkers": lit.num_workers,
        "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
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
        "securityContext": RESTRICTED_CONTAINER,
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
    if wiring.redis is not None and wiring.redis.ca_secret:
        values["volumes"] = [{"name": "redis-ca", "secret": {"secretName": wiring.redis.ca_secret}}]
        values["volumeMounts"] = [{"name": "redis-ca", "mountPath": CA_MOUNT_DIR, "readOnly": True}]
    if lit.spread_across_nodes:
        values["topologySpreadConstraints"] = spread_constraints(lit)
    return values


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
        # migration Job, so this entry replaces it with the database Secret's encoded URI.
        "extraEnvVars": [
            {
                "name": "DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": wiring.database_secret, "key": DATABASE_URL_KEY}},
            }
        ],
    }


def env_vars(lit: LiteLLMConfig, wiring: GatewayWiring) -> dict[str, Any]:
    """Plain environment of the proxy (`envVars`): metrics port, workers, tracing host, exposure, Redis."""
    return (
        {"PROMETHEUS_METRICS_PORT": str(lit.metrics_port)}
        | worker_env(lit)
        | ({"LANGFUSE_OTEL_HOST": wiring.tracing.otel_host} if wiring.tracing else {})
        | exposure_env(lit)
        | redis_env(wiring.redis)
    )


def environment_secrets(lit: LiteLLMConfig, wiring: GatewayWiring) -> list[str]:
    """Secrets mounted whole as environment (`environmentSecrets`): provider keys, Langfuse's keys,
    the salt key, the Redis password."""
    return (
        ([PROVIDER_KEYS_SECRET] if lit.provider_keys else [])
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


def service_account_name(lit: LiteLLMConfig) -> str:
    return service_name(lit)


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


def prometheus_peer(net: NetworkConfig) -> dict[str, Any]:
    """The Prometheus server pods only (one peer: namespace AND pod labels), not the whole
    monitoring namespace (Grafana and friends): they alone may read unauthenticated metrics."""
    return {**namespace_peer(net.prometheus_namespace), "podSelector": {"matchLabels": dict(net.prometheus_pod_labels)}}


def network_policies(lit: LiteLLMConfig, pg: PostgresConfig, wiring: GatewayWiring) -> list[dict[str, Any]]:
    """Default-deny for the proxy pods (and its migration Job), then the allowed flows (`pg`: an
    external server's CIDRs)."""
    net = lit.network
    pods = {"matchLabels": selector_labels(lit)}
    api_from = [namespace_peer(ns) for ns in net.client_namespaces]
    if net.ingress_controller_namespace:
        api_from.append(namespace_peer(net.ingress_controller_namespace))
    ingress_rules = [{"from": [prometheus_peer(net)], "ports": tcp_ports(lit.metrics_port)}]
    if api_from:  # `from: []` would admit every source: no peers, no rule
        ingress_rules.insert(0, {"from": api_from, "ports": tcp_ports(API_PORT)})
    egress_rules: list[dict[str, Any]] = [
        dns_egress(),
        database_egress(pg, wiring.database_pod_selector, wiring.database_port),
    ]
    if net.egress_cidrs:
        egress_rules.append({"to": [{"ipBlock": {"cidr": c}} for c in net.egress_cidrs], "ports": tcp_ports(443)})
    if net.egress_namespaces:
        egress_rules.append({"to": [namespace_peer(ns) for ns in net.egress_namespaces]})
    if wiring.redis is not None:
        # The in-cluster pods, or Memorystore's reserved range (never anywhere: a rule without `to` admits all).
        egress_rules.append({"to": wiring.redis.egress_peers(), "ports": tcp_ports(wiring.redis.port)})
    if wiring.tracing is not None:
        egress_rules.append(
            {
                "to": [{"podSelector": {"matchLabels": wiring.tracing.web_pod_selector}}],
                "ports": tcp_ports(wiring.tracing.web_port),
            }
        )
    ns = wiring.namespace
    return [
        network_policy(
            f"{lit.release_name}-default-deny",
            ns,
            "litellm",
            deny_all(pods),
        ),
        network_policy(
            f"{lit.release_name}-ingress",
            ns,
            "litellm",
            {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": ingress_rules},
        ),
        network_policy(
            f"{lit.release_name}-egress",
            ns,
            "litellm",
            {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress_rules},
        ),
    ]


def blocked_service(lit: LiteLLMConfig, namespace: str) -> dict[str, Any] | None:
    """A Service without selector (so without endpoints): the Ingress's backend for paths that
    must never be served publicly (`/metrics`); ingress-nginx answers them 503."""
    if not lit.ingress.enabled:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(f"{lit.release_name}-blocked", namespace, app="litellm"),
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


def ingress_paths(lit: LiteLLMConfig, namespace: str, admin: AdminFrontDoor | None) -> list[dict[str, Any]]:
    """/metrics blocked; with SSO the API client routes to LiteLLM and the rest through oauth2-proxy
    (components.litellm.ingress_paths), without SSO everything else to LiteLLM."""
    blocked = blocked_service(lit, namespace)
    assert blocked is not None
    litellm = {"service": {"name": service_name(lit), "port": {"number": API_PORT}}}
    paths = [
        {
            "path": path,
            "pathType": "Prefix",
            "backend": {"service": {"name": blocked["metadata"]["name"], "port": {"number": 80}}},
        }
        for path in BLOCKED
    ]
    direct = path_table().direct if admin else (("Prefix", "/"),)
    paths += [{"path": path, "pathType": path_type, "backend": litellm} for path_type, path in direct]
    return paths + [dict(p) for p in (admin.paths if admin else ())]


def ingress(lit: LiteLLMConfig, namespace: str, admin: AdminFrontDoor | None) -> dict[str, Any] | None:
    ing = lit.ingress
    if not ing.enabled:
        return None
    assert ing.host is not None and ing.cluster_issuer is not None  # IngressConfig enforces
    return tls_ingress(
        lit.release_name,
        namespace,
        app="litellm",
        host=ing.host,
        class_name=ing.class_name,
        cluster_issuer=ing.cluster_issuer,
        paths=ingress_paths(lit, namespace, admin),
        annotations=admin.annotations if admin else None,
    )
