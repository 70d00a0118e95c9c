"""Network holes, checked as who-can-connect-to-whom over every
NetworkPolicy the program renders (tests/support/netpol.py evaluates Kubernetes' rules)."""

from __future__ import annotations

from typing import Any

import pytest

from components.langfuse.chart import helm_values
from components.litellm.proxy_config import proxy_config
from config import parse_config
from tests.support.config import errors_for, namespace, redis_wiring
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import EXTERNAL_ENGINE, EXTERNAL_SERVER, run_cached

GW = "llm-gateway"
LITELLM = Pod(GW, {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"})
OTHER_POD = Pod(GW, {"app.kubernetes.io/name": "something-else"})
STRANGER = Pod("team-x", {"app": "curl"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus", "prometheus": "kube-prometheus-stack"})
GRAFANA = Pod("monitoring", {"app.kubernetes.io/name": "grafana"})
CNPG = Pod(GW, {"cnpg.io/cluster": "litellm-pg", "cnpg.io/instanceRole": "primary"})
OPERATOR = Pod("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
LF_WEB = Pod(GW, {"app.kubernetes.io/name": "langfuse", "app.kubernetes.io/instance": "langfuse", "app": "web"})
LF_WORKER = Pod(GW, {"app.kubernetes.io/name": "langfuse", "app.kubernetes.io/instance": "langfuse", "app": "worker"})
CLICKHOUSE = Pod(GW, {"app": "langfuse-clickhouse", "app.kubernetes.io/name": "clickhouse-server"})
INTERNET = Address("8.8.8.8")
GCS = Address("142.250.74.123")
EXTERNAL_DB = Address(EXTERNAL_SERVER)

NO_CLIENT_NAMESPACES = ("llm-gateway:litellm.network.client_namespaces=[]",)


def policies(stack: str, *overrides: str) -> list[dict[str, Any]]:
    return [o for o in run_cached(stack, *overrides).kubernetes_objects() if o["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [("lab", ()), ("enterprise", ()), ("lab", EXTERNAL_ENGINE), ("lab", NO_CLIENT_NAMESPACES)],
)
def test_no_rule_admits_every_peer(stack: str, overrides: tuple[str, ...]) -> None:
    """(a), (b): a rule without peers (`from: []`, no `to`) admits everything; none may exist."""
    for policy in policies(stack, *overrides):
        spec = policy["spec"]
        for rule in spec.get("ingress", []):
            assert rule.get("from"), (policy["metadata"]["name"], rule)
        for rule in spec.get("egress", []):
            assert rule.get("to"), (policy["metadata"]["name"], rule)


def test_empty_client_namespaces_admit_nobody() -> None:
    """(a) `client_namespaces: []` rendered `from: []`: every pod anywhere could call the API."""
    pols = policies("lab", *NO_CLIENT_NAMESPACES)
    assert not can_connect(pols, STRANGER, LITELLM, 4000)
    assert not can_connect(pols, OTHER_POD, LITELLM, 4000)
    assert can_connect(pols, PROMETHEUS, LITELLM, 4001)


def test_external_database_egress_goes_to_the_server_only() -> None:
    """(b) With the external engine the 5432 egress rule had no destination: any address."""
    pols = policies("lab", *EXTERNAL_ENGINE)
    assert can_connect(pols, LITELLM, EXTERNAL_DB, 5432)
    assert not can_connect(pols, LITELLM, INTERNET, 5432)
    raw = namespace("lab")
    raw["postgres"] = {**raw["postgres"], "engine": "external", "cnpg": None}
    raw["postgres"]["external"] = {"host": "pg.home.arpa", "admin_user": "pgadmin"}
    assert "llm-gateway:postgres.external.server_cidrs: required key is missing" in errors_for(raw)


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_cnpg_instances_talk_only_to_their_clients(stack: str) -> None:
    """(c) No policy selected the CNPG pods: any pod could reach PostgreSQL, status and metrics."""
    pols = policies(stack)
    # PostgreSQL: the program's clients and the other instances (replication) only.
    for client in (LITELLM, GRAFANA, Pod(GW, {**CNPG.labels, "cnpg.io/instanceRole": "replica"})):
        assert can_connect(pols, client, CNPG, 5432), client
    for intruder in (OTHER_POD, STRANGER, PROMETHEUS.__class__("team-x", {}), CLICKHOUSE):
        assert not can_connect(pols, intruder, CNPG, 5432), intruder
    # The instance manager's status port: the operator only; metrics: Prometheus only.
    assert can_connect(pols, OPERATOR, CNPG, 8000)
    assert not can_connect(pols, LITELLM, CNPG, 8000)
    assert can_connect(pols, PROMETHEUS, CNPG, 9187)
    assert not can_connect(pols, GRAFANA, CNPG, 9187)
    # Egress: DNS and the API server, nothing else on other ports.
    assert can_connect(pols, CNPG, Pod("kube-system", {"k8s-app": "kube-dns"}), 53, "UDP")
    assert not can_connect(pols, CNPG, INTERNET, 5432)
    assert not can_connect(pols, CNPG, LITELLM, 4000)


def test_cnpg_langfuse_clients_and_backup_egress() -> None:
    ent = policies("enterprise")
    assert can_connect(ent, LF_WEB, CNPG, 5432) and can_connect(ent, LF_WORKER, CNPG, 5432)
    assert can_connect(ent, CNPG, GCS, 443)  # barman-cloud to the backup bucket
    # Without backups, HTTPS only to the API server's address.
    lab = policies("lab", "llm-gateway:postgres.cnpg.api_server_cidrs=[172.16.0.2/32]")
    assert can_connect(lab, CNPG, Address("172.16.0.2"), 443)
    assert not can_connect(lab, CNPG, GCS, 443)


def test_langfuse_subcharts_render_no_policies_of_their_own() -> None:
    """(d) The Bitnami subcharts' default allow-all NetworkPolicies void the default deny (Langfuse v3's
    1.5.x chart; the 2.x chart's Valkey renders one only when `redis.networkPolicy` is set, which it is not;
    neither chart deploys its Valkey now: Langfuse uses the shared Redis)."""
    raw = namespace("enterprise")
    cfg = parse_config(raw)
    assert "networkPolicy" not in helm_values(cfg, redis_wiring(cfg))["redis"]
    raw["langfuse"]["version"] = "3"
    cfg = parse_config(raw)
    rendered = helm_values(cfg, redis_wiring(cfg))
    for path in (
        ("s3",),
        ("postgresql", "primary"),
        ("postgresql", "readReplicas"),
    ):
        node: Any = rendered
        for part in path:
            node = node[part]
        assert node["networkPolicy"] == {"enabled": False}, path


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_metrics_port_admits_prometheus_only(stack: str) -> None:
    """(e) The unauthenticated metrics port was open to the whole monitoring namespace."""
    pols = policies(stack)
    assert can_connect(pols, PROMETHEUS, LITELLM, 4001)
    assert not can_connect(pols, GRAFANA, LITELLM, 4001)


def test_metrics_are_not_routable_through_the_public_ingress() -> None:
    """(e) /metrics on the API port went to LiteLLM through the public Ingress."""
    objects = run_cached("enterprise").kubernetes_objects()
    (ing,) = [o for o in objects if o["kind"] == "Ingress" and o["metadata"]["name"] == "litellm"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for request in ("/metrics", "/metrics/", "/metrics/foo"):
        matching = [
            p
            for p in ing["spec"]["rules"][0]["http"]["paths"]
            if request == p["path"] or request.startswith(p["path"].rstrip("/") + "/")
        ]
        best = max(matching, key=lambda p: len(p["path"]))
        backend = services[best["backend"]["service"]["name"]]
        assert "selector" not in backend["spec"], request  # no endpoints: ingress-nginx answers 503


@pytest.mark.parametrize("excluded", [[], ["end_user"]])
def test_user_email_is_never_a_metric_label(excluded: list[str]) -> None:
    """(e) user_email is personal data; the port that serves it has no authentication."""
    raw = namespace("lab")
    raw["litellm"]["settings"] = {**raw["litellm"]["settings"], "prometheus_exclude_labels": excluded}
    settings = proxy_config(parse_config(raw).litellm)["litellm_settings"]
    assert "user_email" in settings["prometheus_exclude_labels"]
    assert parse_config(namespace("lab")).litellm.settings.prometheus_exclude_labels[-1] == "user_email"


def test_gcs_egress_only_on_langfuse_web_and_worker() -> None:
    """(f) HTTPS anywhere was open to every Langfuse pod (ClickHouse, Valkey too)."""
    pols = policies("enterprise")
    assert can_connect(pols, LF_WEB, GCS, 443)
    assert can_connect(pols, LF_WORKER, GCS, 443)
    for pod in (CLICKHOUSE, Pod(GW, {"app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "langfuse"})):
        assert not can_connect(pols, pod, GCS, 443), pod
