"""The CloudNativePG builders called directly (no program run): every object they build is
valid for the pinned CRDs (closed schemas: a misspelt field fails), for settings the stack
files do not cover too, and the objects agree on the names they share."""

from __future__ import annotations

from typing import Any

import pytest

from components.database import cnpg
from config import StackConfig
from tests.support.config import cnpg_section, scenario_config
from tests.support.schemas import validation_errors

BACKUP_GSA = "pg-backup@acme-llm-prod.iam.gserviceaccount.com"
# A further `managed.roles` entry, the shape an extra login (Langfuse's) takes.
EXTRA_ROLE = {
    "name": "extra_login",
    "ensure": "present",
    "login": True,
    "superuser": False,
    "connectionLimit": 5,
    "passwordSecret": {"name": "litellm-pg-extra"},
}
DEFAULT_STORAGE_CLASS = ("llm-gateway:postgres.cnpg.storage_class=null",)
TUNED = ("llm-gateway:postgres.cnpg.parameters={max_connections: '300', shared_buffers: 512MB}",)
CASES = [("lab", ()), ("enterprise", ()), ("lab", DEFAULT_STORAGE_CLASS), ("enterprise", TUNED)]


def _names(cfg: StackConfig) -> cnpg.CnpgNames:
    return cnpg.CnpgNames(cluster=cnpg_section(cfg).name, namespace=cfg.namespaces.gateway)


def _cluster(cfg: StackConfig, extra_roles: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    email = BACKUP_GSA if cfg.postgres.backup.enabled else None
    return cnpg.cluster_manifest(cfg.postgres, cnpg_section(cfg), _names(cfg), email, extra_roles)


def _objects(cfg: StackConfig) -> list[dict[str, Any]]:
    names = _names(cfg)
    objects = [
        _cluster(cfg, (EXTRA_ROLE,)),
        cnpg.database_manifest(cfg.postgres, names),
        cnpg.pod_monitor_manifest(cfg.monitoring, names),
    ]
    if cfg.postgres.backup.enabled:
        objects += [
            cnpg.object_store_manifest(cfg.postgres.backup, names),
            cnpg.scheduled_backup_manifest(cfg.postgres.backup, names),
        ]
    return objects


@pytest.mark.parametrize(("stack", "overrides"), CASES)
def test_every_cnpg_object_validates_against_its_crd(stack: str, overrides: tuple[str, ...]) -> None:
    objects = _objects(scenario_config(stack, *overrides))
    assert {o["kind"] for o in objects} >= {"Cluster", "Database", "PodMonitor"}
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := validation_errors(o))}
    assert problems == {}


def test_settings_reach_the_cluster_spec() -> None:
    lab = scenario_config("lab")
    assert _cluster(lab)["spec"]["storage"] == {
        "size": cnpg_section(lab).storage_size,
        "storageClass": cnpg_section(lab).storage_class,
    }
    # No class: the cluster's default StorageClass (the key left out, not null).
    assert "storageClass" not in _cluster(scenario_config("lab", *DEFAULT_STORAGE_CLASS))["spec"]["storage"]
    tuned = _cluster(scenario_config("enterprise", *TUNED))["spec"]["postgresql"]["parameters"]
    assert tuned == {"max_connections": "300", "shared_buffers": "512MB"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("instance", 1), ("instances", "three"), ("storage", {"size": "10Gi", "clas": "x"})],
)
def test_the_crd_check_catches_a_misspelt_or_mistyped_field(field: str, value: Any) -> None:
    cluster = _cluster(scenario_config("lab"))
    cluster["spec"][field] = value
    assert validation_errors(cluster) != []


def test_backups_need_the_backup_service_account() -> None:
    cfg = scenario_config("enterprise")
    assert cfg.postgres.backup.enabled
    with pytest.raises(ValueError, match="service account"):
        cnpg.cluster_manifest(cfg.postgres, cnpg_section(cfg), _names(cfg))


def test_the_backup_objects_name_each_other() -> None:
    cfg = scenario_config("enterprise")
    names = _names(cfg)
    cluster = _cluster(cfg)
    store = cnpg.object_store_manifest(cfg.postgres.backup, names)
    scheduled = cnpg.scheduled_backup_manifest(cfg.postgres.backup, names)
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    assert store["metadata"]["namespace"] == scheduled["metadata"]["namespace"] == cluster["metadata"]["namespace"]
    annotations = cluster["spec"]["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations["iam.gke.io/gcp-service-account"] == BACKUP_GSA
    monitor = cnpg.pod_monitor_manifest(cfg.monitoring, names)
    assert monitor["spec"]["selector"]["matchLabels"] == {"cnpg.io/cluster": cluster["metadata"]["name"]}


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_managed_logins_hold_no_privilege_and_each_has_its_own_secret(stack: str) -> None:
    roles = _cluster(scenario_config(stack), (EXTRA_ROLE,))["spec"]["managed"]["roles"]
    assert roles[-1] == EXTRA_ROLE
    assert len({r["name"] for r in roles}) == len({r["passwordSecret"]["name"] for r in roles}) == len(roles)
    for role in roles:
        held = [flag for flag in ("superuser", "createdb", "createrole", "replication", "bypassrls") if role.get(flag)]
        assert held == [], role["name"]
