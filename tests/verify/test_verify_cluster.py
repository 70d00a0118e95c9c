"""`verify`'s checks of the cluster's objects (secrets, database) and its command line, against a
loopback API server answering from recorded objects (tests/support/verify_stand.py): each recorded
object passes the Kubernetes OpenAPI schema or the pinned CRD before it is served, in a healthy and
a failing variant."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.inventory import MASTER_KEY, gsm_secret_id
from tests.support.config import stack_config
from tests.support.program import run_cached
from tests.support.verify_records import (
    cnpg,
    healthy_secrets,
    iam_policies,
    of_kind,
    reach_cluster,
    serve_pods,
    synced,
)
from tests.support.verify_stand import ApiServer, StandGoogle, live, loaded, ready, recorded_http, run_verify
from verify.cli import Loaded

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def lab() -> Loaded:
    return loaded(run_cached("lab"), stack_config("lab"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        yield server


def test_secrets_pass_when_every_external_secret_and_store_is_ready(api: ApiServer, lab: Loaded) -> None:
    healthy_secrets(api, lab)
    code, out = run_verify(api, lab, ["lab", "--only", "secrets"])
    assert code == 0, out
    assert out.splitlines()[0] == "✓ secrets  10 ExternalSecrets Ready (oldest sync 5 min ago), 3 stores Ready"


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
    assert "ExternalSecret llm-gateway/litellm-master-key last synced 2 h 30 min ago (refreshInterval 1h)" in out
    assert "SecretStore monitoring/gcp-secret-manager is not Ready (it does not exist)" in out


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


def test_reach_passes_when_each_namespace_reads_exactly_what_it_consumes(api: ApiServer, lab: Loaded) -> None:
    reach_cluster(api, lab)
    google = StandGoogle(policies=iam_policies(run_cached("lab")))
    code, out = run_verify(api, lab, ["lab", "--only", "reach"], google)
    assert code == 0, out
    assert out.splitlines()[0].startswith("✓ reach  4 namespaces: each reads exactly what it consumes of the stack's ")


def test_reach_fails_when_a_namespace_can_read_a_secret_it_does_not_consume(api: ApiServer, lab: Loaded) -> None:
    """The monitoring namespace's Google service account also granted the master key (a hand-made grant)."""
    reach_cluster(api, lab)
    policies = iam_policies(run_cached("lab"))
    (store,) = [s for s in of_kind(lab, "SecretStore") if s["metadata"]["namespace"] == "monitoring"]
    ksa = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["serviceAccountRef"]["name"]
    (sa,) = [
        s
        for s in of_kind(lab, "ServiceAccount")
        if s["metadata"]["namespace"] == "monitoring" and s["metadata"]["name"] == ksa
    ]
    gsa = sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    master = gsm_secret_id(lab[0], MASTER_KEY)
    policies[f"secrets/{master}"]["bindings"].append(
        {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{gsa}"]}
    )
    code, out = run_verify(api, lab, ["lab", "--only", "reach"], StandGoogle(policies=policies))
    assert code == 1
    assert out.splitlines()[:2] == [
        f"✗ reach  namespace monitoring could read {master} (not consumed there)",
        "         next: grant secretAccessor per secret to the consuming namespace's service account only (docs/security.md)",
    ]


def test_reporting_is_skipped_for_a_stack_without_its_cronjob(api: ApiServer, lab: Loaded) -> None:
    """Chosen by name: another CronJob beside it, or none, is no unpacking error."""
    cfg, rendered, resources = lab
    other = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "other", "namespace": "llm-gateway"}}
    without = [o for o in rendered if o["kind"] != "CronJob"] + [other]
    code, out = run_verify(api, (cfg, without, resources), ["lab", "--only", "reporting"])
    assert (code, out.splitlines()[0]) == (0, "- reporting  skipped: the stack renders no CronJob litellm-reporting")


def test_the_timeout_bounds_the_whole_run(api: ApiServer, lab: Loaded) -> None:
    """A pod whose server accepts connections and never answers: the check fails when --timeout is up."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        serve_pods(api, lab, {"litellm-7d9c5b8f6-2xkqp": f"127.0.0.1:{silent.getsockname()[1]}"})
        started = time.monotonic()
        code, out = run_verify(api, lab, ["lab", "--only", "litellm", "--timeout", "2"])
        took = time.monotonic() - started
    assert code == 1 and took < 5, (took, out)
    first, second = out.splitlines()[:2]
    assert first.startswith("✗ litellm  https://127.0.0.1:") and re.search(
        r"/proxy/health/liveliness: no answer within \d s$", first
    )
    assert second.endswith("next: raise --timeout")


def test_litellm_fails_when_readiness_takes_a_second_or_more(api: ApiServer, lab: Loaded) -> None:
    """Both routes answer 200, one pod's after 1.2 s: the readiness limit, not the status, fails it."""
    health = {"/health/liveliness": (200, "I'm alive!"), "/health/readiness": (200, {"status": "healthy"})}
    with recorded_http(health) as fast, recorded_http(health) as slow:
        pods = {
            "litellm-7d9c5b8f6-2xkqp": f"127.0.0.1:{fast.port}",
            "litellm-7d9c5b8f6-9mhzt": f"127.0.0.1:{slow.port}",
        }
        serve_pods(api, lab, pods)
        api.slow[f"127.0.0.1:{slow.port}"] = 1.2
        code, out = run_verify(api, lab, ["lab", "--only", "litellm"])
    assert code == 1
    assert re.fullmatch(
        r"✗ litellm  pod litellm-7d9c5b8f6-9mhzt: /health/readiness took 1\.2\d s \(limit 1 s\)", out.splitlines()[0]
    )
