"""Secrets stay secret: generated values never appear outside a secret wrapper,
neither in any resource input nor in the offline preview output; no Kubernetes
Secret is written by the program; access is granted per secret."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from offline.mocks import redact_secrets
from offline.run import ProgramRun
from tests.support.config import errors_for, namespace
from tests.support.program import ADMIN_PASSWORD, STACKS, VARIANTS, run_cached, walk_strings
from tests.support.secret_reach import granted, reach_of_run, tenant_key_secrets
from tools.preview import main as preview_main


def _known_secrets(run: ProgramRun) -> set[str]:
    assert run.generated_secrets, "the mock engine generated no secret values: nothing would be checked"
    return {*run.generated_secrets, ADMIN_PASSWORD}


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_no_secret_value_outside_a_secret_input(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    secrets = _known_secrets(run)
    for r in run.resources:
        visible = " ".join(walk_strings(redact_secrets(r.inputs)))
        leaked = [s for s in secrets if s in visible]
        assert not leaked, f"{r.type} {r.name} has a secret value in a plain input"


def test_the_check_above_can_fail() -> None:
    """A plain copy of a generated password is caught; the secret-wrapped one is not."""
    run = run_cached("lab")
    value = next(iter(run.generated_secrets))
    wrapped = {"secretData": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": value}}
    assert value not in " ".join(walk_strings(redact_secrets(wrapped)))
    assert value in " ".join(walk_strings(redact_secrets({"plain": f"sk-{value}"})))


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_generated_values_reach_gsm_only_as_secrets(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    versions = run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert versions
    for v in versions:
        data = v.inputs["secretData"]
        assert isinstance(data, dict) and "value" in data, f"{v.name}: secretData is not a secret"


def test_master_key_has_the_sk_prefix() -> None:
    run = run_cached("lab")
    version = run.named("llm-gateway-master-key-version")
    assert version.plain_inputs["secretData"].startswith("sk-")


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_program_writes_no_kubernetes_secret(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    kinds = {o["kind"] for o in run.kubernetes_objects()}
    assert "Secret" not in kinds
    assert "ExternalSecret" in kinds


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_access_is_granted_per_secret_never_project_wide(stack: str, overrides: tuple[str, ...]) -> None:
    """Per secret, except the tenants reconciler's two grants: on the project, but conditioned on the tenant
    key prefix, which admits exactly the tenants' key secrets among those the stack renders."""
    run = run_cached(stack, *overrides)
    tenant_keys = tenant_key_secrets(run)
    reach = reach_of_run(run)
    project_grants = [
        r for r in run.resources if r.type.startswith("gcp:projects/") and "secretmanager" in json.dumps(r.inputs)
    ]
    for r in project_grants:
        assert r.name.startswith("llm-gateway-tenants-keys-"), r.name
        assert r.plain_inputs["role"] in (
            "roles/secretmanager.secretVersionAdder",
            "roles/secretmanager.secretAccessor",
        )
    conditioned = [g for g in reach.grants if g.secret_id is None]
    assert len(conditioned) == len(project_grants) == (2 if tenant_keys else 0)
    assert all(g.condition and granted(reach, g) == tenant_keys for g in conditioned)
    secrets = run.of_type("gcp:secretmanager/secret:Secret")
    grants = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    per_secret = {g.plain_inputs["secretId"] for g in grants}
    # Every secret of the stack's own has its grant; a tenant key has one when delivered (its namespace's reader).
    own = [s for s in secrets if s.inputs["secretId"] not in tenant_keys]
    assert {f"projects/{s.outputs['name'].split('/')[1]}/secrets/{s.inputs['secretId']}" for s in own} <= per_secret
    for g in grants:
        assert g.plain_inputs["role"] == "roles/secretmanager.secretAccessor"
        assert g.plain_inputs["member"].startswith("serviceAccount:")


def test_rotation_is_the_only_keeper() -> None:
    """Bumping secrets.rotation.<key> changes that password's keepers (a replacement); nothing else does."""
    base = run_cached("lab")
    bumped = run_cached("lab", "llm-gateway:secrets.rotation={litellm-master-key: 1}")

    def keepers(run: ProgramRun) -> dict[str, object]:
        return {
            r.name: r.plain_inputs.get("keepers") for r in run.of_type("random:index/randomPassword:RandomPassword")
        }

    before, after = keepers(base), keepers(bumped)
    assert before["llm-gateway-master-key-value"] == {"rotation": "0"}
    assert after["llm-gateway-master-key-value"] == {"rotation": "1"}
    assert {k: v for k, v in after.items() if k != "llm-gateway-master-key-value"} == {
        k: v for k, v in before.items() if k != "llm-gateway-master-key-value"
    }


@pytest.mark.parametrize("stack", STACKS)
def test_offline_preview_output_has_no_secret(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert preview_main([stack, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    secrets = _known_secrets(run_cached(stack))
    texts = [printed] + [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    assert len(texts) > 3
    for text in texts:
        assert not [s for s in secrets if s in text]
    assert "[secret]" in (tmp_path / "resources.json").read_text()


def test_an_existing_store_is_refused_with_the_remedy(capsys: pytest.CaptureFixture[str]) -> None:
    """`secrets.store.create: false` (one existing ClusterSecretStore) cannot keep Grafana's namespace
    from the gateway's secrets: one error naming both retired keys and what to set instead (exit 2)."""
    email = "platform-eso@acme-llm-lab.iam.gserviceaccount.com"
    old = f"llm-gateway:secrets.store={{create: false, name: platform-gsm, gsa_email: {email}}}"
    assert preview_main(["lab", "--set", old]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set llm-gateway:secrets.store: invalid stack config (2 problems):"), err
    assert "  - llm-gateway:secrets.store.create: false (an existing ClusterSecretStore) cannot" in err
    assert "  - llm-gateway:secrets.store.gsa_email: no longer a setting" in err
    assert "set `gsa_prefix`" in err and "Traceback" not in err


def test_the_single_store_keys_are_refused_by_name() -> None:
    """An existing install's stack file (create: true, eso.namespace): each key named with what to do."""
    raw = copy.deepcopy(namespace("lab"))
    raw["secrets"]["store"]["create"] = True
    raw["secrets"]["eso"]["namespace"] = "external-secrets"
    message = errors_for(raw)
    assert "llm-gateway:secrets.store.create: no longer a setting" in message
    assert "keep `gsa_account_id`: that account stays the gateway namespace's" in message
    assert "llm-gateway:secrets.eso.namespace: no longer a setting" in message
