"""`verify`'s checks of the cluster's objects (secrets, database) and its command line, against a
loopback API server answering from recorded objects (tests/support/verify_stand.py): each recorded
object passes the Kubernetes OpenAPI schema or the pinned CRD before it is served, in a healthy and
a failing variant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import stack_config
from tests.support.program import run_cached
from tests.support.verify_stand import ApiServer, live, loaded, ready, run_verify, stamp
from verify.cli import Loaded

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def lab() -> Loaded:
    return loaded(run_cached("lab"), stack_config("lab"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        yield server


def of_kind(stack: Loaded, kind: str) -> list[dict[str, Any]]:
    return [o for o in stack[1] if o["kind"] == kind]


def synced(es: dict[str, Any], minutes_ago: int = 5) -> dict[str, Any]:
    when = NOW - timedelta(minutes=minutes_ago)
    status = {"refreshTime": stamp(when), "syncedResourceVersion": "1-3f2a", "binding": {"name": es["metadata"]["name"]},
              "conditions": [ready("SecretSynced", when, message="secret synced")]}  # fmt: skip
    return live(es, status)


def valid_store(store: dict[str, Any]) -> dict[str, Any]:
    when = NOW - timedelta(days=1)
    return live(store, {"capabilities": "ReadWrite", "conditions": [ready("Valid", when, message="store validated")]})


def healthy_secrets(api: ApiServer, stack: Loaded) -> None:
    api.put(*(synced(es) for es in of_kind(stack, "ExternalSecret")))
    api.put(*(valid_store(s) for s in of_kind(stack, "SecretStore")))


def test_secrets_pass_when_every_external_secret_and_store_is_ready(api: ApiServer, lab: Loaded) -> None:
    healthy_secrets(api, lab)
    code, out = run_verify(api, lab, ["lab", "--only", "secrets"])
    assert code == 0, out
    assert out.splitlines()[0] == "✓ secrets  9 ExternalSecrets Ready (oldest sync 5 min ago), 2 stores Ready"


def test_secrets_fail_on_an_external_secret_that_does_not_sync(api: ApiServer, lab: Loaded) -> None:
    healthy_secrets(api, lab)
    es = next(e for e in of_kind(lab, "ExternalSecret") if e["metadata"]["name"] == "litellm-provider-keys")
    broken = live(es, {"conditions": [ready("SecretSyncedError", NOW, ok=False, message="could not get secret data from provider")]})  # fmt: skip
    api.put(broken)
    code, out = run_verify(api, lab, ["lab", "--only", "secrets"])
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ secrets  ExternalSecret llm-gateway/litellm-provider-keys is not Ready (SecretSyncedError: could not get"
        " secret data from provider)",
        "           next: kubectl describe the object named: its events say why (a missing GSM secret, a denied IAM"
        " grant)",
    ]


def test_secrets_fail_on_a_stale_sync_and_a_missing_store(api: ApiServer, lab: Loaded) -> None:
    healthy_secrets(api, lab)
    es = next(e for e in of_kind(lab, "ExternalSecret") if e["metadata"]["name"] == "litellm-master-key")
    api.put(synced(es, minutes_ago=150))
    api.objects = [
        o for o in api.objects if not (o["kind"] == "SecretStore" and o["metadata"]["namespace"] == "monitoring")
    ]
    code, out = run_verify(api, lab, ["lab", "--only", "secrets"])
    assert code == 1
    assert "ExternalSecret llm-gateway/litellm-master-key last synced 2 h 30 min ago (refreshInterval 1:00:00)" in out
    assert "SecretStore monitoring/gcp-secret-manager is not Ready (it does not exist)" in out


def cnpg(stack: Loaded, ready_instances: int, phase: str) -> dict[str, Any]:
    (cluster,) = of_kind(stack, "Cluster")
    want = cluster["spec"]["instances"]
    return live(cluster, {"instances": want, "readyInstances": ready_instances, "phase": phase})


def test_database_passes_with_every_instance_ready(api: ApiServer, lab: Loaded) -> None:
    api.put(cnpg(lab, 1, "Cluster in healthy state"))
    code, out = run_verify(api, lab, ["lab", "--only", "database"])
    assert (code, out.splitlines()[0]) == (0, "✓ database  CNPG Cluster llm-gateway/litellm-pg: 1 of 1 instances ready, "
                                              "Cluster in healthy state"), out  # fmt: skip


def test_database_fails_while_the_primary_is_not_up(api: ApiServer, lab: Loaded) -> None:
    api.put(cnpg(lab, 0, "Setting up primary"))
    code, out = run_verify(api, lab, ["lab", "--only", "database"])
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ database  CNPG Cluster llm-gateway/litellm-pg: 0 of 1 instances ready (spec 1), phase 'Setting up primary'",
        "            next: kubectl -n llm-gateway describe cluster litellm-pg; kubectl -n llm-gateway get pods"
        " -l cnpg.io/cluster=litellm-pg",
    ]


def test_an_object_the_cluster_does_not_have_fails_its_check(api: ApiServer, lab: Loaded) -> None:
    code, out = run_verify(api, lab, ["lab", "--only", "database,secrets", "--json"])
    assert code == 1
    results = {r["check"]: r for r in json.loads(out)["checks"]}
    assert results["database"]["detail"] == "CNPG Cluster llm-gateway/litellm-pg does not exist"
    assert results["secrets"]["detail"].startswith("ExternalSecret llm-gateway/alertmanager-lab-webhook does not exist")


def test_checks_the_stack_does_not_enable_are_skipped(api: ApiServer, lab: Loaded) -> None:
    code, out = run_verify(api, lab, ["lab", "--only", "langfuse,ingress,grafana,completion"])
    assert code == 0, out
    assert out.splitlines()[:4] == [
        "- langfuse    skipped: langfuse.enabled is false",
        "- ingress     skipped: the stack renders no Ingress (litellm.ingress.enabled is false)",
        "- grafana     skipped: no --grafana URL with GRAFANA_TOKEN (a Grafana service account token) in the environment",
        "- completion  skipped: no --completion MODEL (it sends one request the provider bills)",
    ]


def test_the_api_servers_refusal_is_the_reason(api: ApiServer, lab: Loaded) -> None:
    """A kubeconfig whose token the API server no longer accepts: the check says so."""
    healthy_secrets(api, lab)
    api.token = "a-rotated-token"
    code, out = run_verify(api, lab, ["lab", "--only", "secrets"])
    assert code == 1
    assert (
        out.splitlines()[0]
        == "✗ secrets  listing externalsecrets (external-secrets.io/v1) in llm-gateway: 401 Unauthorized"
    )


def test_bad_arguments_are_listed_at_once(api: ApiServer, lab: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_verify(api, lab, ["lab", "--only", "secrets,nope", "--timeout", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--only: unknown check nope" in err and "--timeout 0.0: must be more than 0 seconds" in err
