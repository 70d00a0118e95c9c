"""The kit's shared Kubernetes builders, checked directly: against the real schemas, the
NetworkPolicy evaluator, a pinned chart's own templates and the SDK's Release arguments."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components import kit
from config import ResourceAmounts, Resources
from config.assets import OAUTH2_PROXY_CHART, load_lock, locked_chart
from offline.render import Release, render_release
from tests.support.netpol import Pod, can_connect
from tests.support.schemas import validation_errors

RESOURCES = Resources(requests=ResourceAmounts(cpu="50m", memory="64Mi"), limits=ResourceAmounts(cpu="1", memory="1Gi"))


def _pod(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "resources": resources}]},
    }


def test_container_resources_is_a_valid_block_with_every_amount() -> None:
    block = kit.container_resources(RESOURCES)
    assert validation_errors(_pod(block)) == []
    assert block == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _egress_only(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "egress", "namespace": "app"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules},
    }


def test_dns_egress_admits_the_resolver_on_port_53_only() -> None:
    policy = _egress_only([kit.dns_egress()])
    assert validation_errors(policy) == []
    app = Pod("app")
    resolver = Pod("kube-system", {"k8s-app": "kube-dns"})
    assert can_connect([policy], app, resolver, 53, "UDP")
    assert can_connect([policy], app, resolver, 53, "TCP")
    assert not can_connect([policy], app, resolver, 443)
    assert not can_connect([policy], app, Pod("other", {"k8s-app": "kube-dns"}), 53, "UDP")


def test_namespace_peer_selects_every_pod_of_that_namespace_only() -> None:
    policy = _egress_only([{"to": [kit.namespace_peer("monitoring")]}])
    assert validation_errors(policy) == []
    assert can_connect([policy], Pod("app"), Pod("monitoring", {"any": "pod"}), 9090)
    assert not can_connect([policy], Pod("app"), Pod("monitoring-2"), 9090)


@pytest.mark.parametrize("release", ["oauth2-proxy", "admin-sso", "sso-oauth2-proxy-eu"])
def test_helm_fullname_is_the_name_the_chart_gives_its_service(release: str) -> None:
    chart = locked_chart(OAUTH2_PROXY_CHART)
    rendered = render_release(Release(release, "gw", chart.path, chart.version, {}, chart.description))
    (service,) = [o.body for o in rendered if o.body["kind"] == "Service"]
    assert service["metadata"]["name"] == kit.helm_fullname(release, "oauth2-proxy")


def test_service_host_short_and_fully_qualified() -> None:
    assert kit.service_host("litellm", "gw") == "litellm.gw.svc"
    assert kit.service_host("litellm", "gw", fully_qualified=True) == "litellm.gw.svc.cluster.local"


def test_tls_ingress_is_valid_and_its_certificate_covers_its_host() -> None:
    paths = [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]
    ing = kit.tls_ingress(
        "ui",
        "gw",
        app="ui",
        host="ui.example.com",
        class_name="nginx",
        cluster_issuer="letsencrypt",
        paths=paths,
        annotations={"nginx.ingress.kubernetes.io/proxy-buffer-size": "16k"},
    )
    assert validation_errors(ing) == []
    assert ing["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "nginx.ingress.kubernetes.io/proxy-buffer-size": "16k",
    }
    (tls,) = ing["spec"]["tls"]
    assert [rule["host"] for rule in ing["spec"]["rules"]] == tls["hosts"] == ["ui.example.com"]
    assert tls["secretName"] == "ui-tls"


def test_helm_release_args_are_release_arguments_of_the_sdk_installing_the_locked_tree() -> None:
    chart = kit.HelmChart(asset=OAUTH2_PROXY_CHART, timeout=600)
    args = kit.helm_release_args("sso", "gw", chart, {"replicaCount": 2})
    release = k8s.helm.v3.ReleaseArgs(**args)  # an unknown keyword fails here
    assert (release.atomic, release.cleanup_on_fail, release.timeout) == (True, True, 600)
    pinned = load_lock()[OAUTH2_PROXY_CHART]
    assert (release.name, release.namespace, release.version) == ("sso", "gw", pinned.version)
    assert release.values == {"replicaCount": 2}
    # A local chart: the cached tree, no repository to pull from; the digest rides in the description.
    assert release.chart == ".cache/assets/chart/oauth2-proxy" and release.repository_opts is None
    assert pinned.sha256 in str(release.description)


def test_a_default_deny_policy_is_valid_and_cuts_the_selected_pods_off_both_ways() -> None:
    pods = {"matchLabels": {"app": "db"}}
    policy = kit.network_policy("db-default-deny", "app", "db", kit.deny_all(pods))
    assert validation_errors(policy) == []
    assert policy["metadata"]["labels"]["app.kubernetes.io/part-of"] == kit.PART_OF
    db, neighbour = Pod("app", {"app": "db"}), Pod("app", {"app": "web"})
    assert not can_connect([policy], neighbour, db, 5432)
    assert not can_connect([policy], db, neighbour, 80)
    # Pods it does not select keep their traffic.
    assert can_connect([policy], neighbour, Pod("app", {"app": "cache"}), 6379)
