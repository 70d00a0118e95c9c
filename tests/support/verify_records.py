"""What a healthy deployed stack's objects and servers look like, for the stand of
tests/support/verify_stand.py: shared by `verify`'s tests and bench/verify.py.

- `synced`, `valid_store`, `cnpg`, `cronjob`, `pod`: the rendered object as its controller leaves it;
- `healthy_secrets`, `reach_cluster`, `serve_pods`: several of them recorded at once;
- `iam_policies`: the policies `getIamPolicy` answers once the program's bindings are applied;
- `monitors`, `prometheus`, `settled`: a real Prometheus scraping what the stack's monitors select,
  with the stack's rules;
- `dashboards`: Grafana's `/api/search` answer for the stack's dashboards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from components.litellm.names import selector_labels
from components.reporting.component import NAME as REPORTING_JOB
from config import API_PORT
from tests.support.real_prometheus import RealPrometheus, ScrapeTarget
from tests.support.secret_reach import reach_of_run
from tests.support.verify_stand import ApiServer, live, ready, stamp
from verify.cli import Loaded


def of_kind(stack: Loaded, kind: str) -> list[dict[str, Any]]:
    return [o for o in stack[1] if o["kind"] == kind]


def synced(es: dict[str, Any], minutes_ago: int = 5) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    status = {"refreshTime": stamp(when), "syncedResourceVersion": "1-3f2a", "binding": {"name": es["metadata"]["name"]},
              "conditions": [ready("SecretSynced", when, message="secret synced")]}  # fmt: skip
    return live(es, status)


def valid_store(store: dict[str, Any]) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(days=1)
    return live(store, {"capabilities": "ReadWrite", "conditions": [ready("Valid", when, message="store validated")]})


def healthy_secrets(api: ApiServer, stack: Loaded) -> None:
    api.put(*(synced(es) for es in of_kind(stack, "ExternalSecret")))
    api.put(*(valid_store(s) for s in of_kind(stack, "SecretStore")))


def cnpg(stack: Loaded, ready_instances: int, phase: str) -> dict[str, Any]:
    (cluster,) = of_kind(stack, "Cluster")
    want = cluster["spec"]["instances"]
    return live(cluster, {"instances": want, "readyInstances": ready_instances, "phase": phase})


def cronjob(stack: Loaded, succeeded: datetime | None) -> dict[str, Any]:
    (job,) = [j for j in of_kind(stack, "CronJob") if j["metadata"]["name"] == REPORTING_JOB]
    status = {"lastScheduleTime": stamp(datetime.now(UTC) - timedelta(minutes=3))}
    if succeeded is not None:
        status["lastSuccessfulTime"] = stamp(succeeded)
    return live(job, status)


def iam_policies(run: Any) -> dict[str, dict[str, Any]]:
    """The IAM policies `getIamPolicy` answers once the program's bindings are applied."""
    reach = reach_of_run(run)
    policies: dict[str, dict[str, Any]] = {}

    def bind(resource: str, role: str, member: str, condition: str | None = None) -> None:
        bindings = policies.setdefault(resource, {"version": 1, "etag": "BwYk", "bindings": []})["bindings"]
        expression = {"condition": {"title": "c", "expression": condition}} if condition else {}
        found = next(
            (b for b in bindings if b["role"] == role and b.get("condition") == expression.get("condition")), None
        )
        if found is None:
            bindings.append({"role": role, "members": [member], **expression})
            if condition:
                policies[resource]["version"] = 3
        elif member not in found["members"]:
            found["members"].append(member)

    for grant in reach.grants:
        resource = "project" if grant.secret_id is None else f"secrets/{grant.secret_id}"
        bind(resource, grant.role, grant.member, grant.condition)
    for imp in reach.impersonations:
        bind(f"serviceAccounts/{imp.gsa_email}", "roles/iam.workloadIdentityUser", imp.member)
    return policies


def reach_cluster(api: ApiServer, stack: Loaded) -> None:
    """The stack's ExternalSecrets, stores and service accounts, and the cluster's namespaces."""
    healthy_secrets(api, stack)
    api.put(*(live(sa) for sa in of_kind(stack, "ServiceAccount")))
    for name in ("default", "kube-system", "monitoring", "llm-gateway"):
        labels = {"kubernetes.io/metadata.name": name}
        api.put(live({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}))


def pod(stack: Loaded, name: str) -> dict[str, Any]:
    cfg = stack[0]
    rendered = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": cfg.namespaces.gateway, "labels": selector_labels(cfg.litellm)},
        "spec": {"containers": [{"name": "litellm", "image": "ghcr.io/berriai/litellm-database:main-stable"}]},
    }
    return live(
        rendered, {"phase": "Running", "podIP": "10.8.0.12", "conditions": [{"type": "Ready", "status": "True"}]}
    )


def serve_pods(api: ApiServer, stack: Loaded, backends: dict[str, str]) -> None:
    """LiteLLM pods, each reaching `backends[name]` (`127.0.0.1:PORT`) through the API server's proxy."""
    ns = stack[0].namespaces.gateway
    for name, backend in backends.items():
        api.put(pod(stack, name))
        api.backends[(ns, "pods", name, API_PORT)] = backend


def monitors(stack: Loaded) -> dict[str, str]:
    """Each monitor's scrape pool as the operator names it (`serviceMonitor/NS/NAME/0`) -> its kind."""
    return {
        f"{o['kind'][0].lower()}{o['kind'][1:]}/{o['metadata']['namespace']}/{o['metadata']['name']}/0": o["kind"]
        for o in stack[1]
        if o["kind"] in ("ServiceMonitor", "PodMonitor")
    }


def prometheus(
    tmp: Path,
    stack: Loaded,
    address_of: Callable[[str], str],
    skip_group: str = "",
    extra_rules: Mapping[str, list[dict[str, Any]]] | None = None,
) -> RealPrometheus:
    """A real Prometheus with the stack's rules (but `skip_group`; each group's `extra_rules` appended),
    scraping `address_of(kind)` for each monitor."""
    (rule,) = of_kind(stack, "PrometheusRule")
    groups = [
        {**g, "rules": [*g["rules"], *(extra_rules or {}).get(g["name"], [])]}
        for g in rule["spec"]["groups"]
        if g["name"] != skip_group
    ]
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    ns = stack[0].namespaces.gateway
    targets = [ScrapeTarget(address_of(kind), {"namespace": ns}, job=pool) for pool, kind in monitors(stack).items()]
    return RealPrometheus(tmp, targets, [rules])


def settled(prom: RealPrometheus, healths: list[str]) -> None:
    """Every target scraped once (its health as expected) and every rule evaluated once."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sorted(prom.target_health()) == sorted(healths) and all(r.get("health") != "unknown" for r in prom.rules()):
            return
        time.sleep(0.3)
    raise AssertionError(f"prometheus did not settle: {prom.target_health()}\n{prom.log_tail()}")


def dashboards(stack: Loaded) -> list[dict[str, Any]]:
    """Grafana's /api/search answer for the stack's dashboards, in the folder their sidecar annotation names."""
    found = []
    for cm in of_kind(stack, "ConfigMap"):
        if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") == "1":
            for text in cm["data"].values():
                board = json.loads(text)
                folder = cm["metadata"]["annotations"]["grafana_folder"]
                found.append({"uid": board["uid"], "title": board["title"], "type": "dash-db", "folderTitle": folder})
    return found
