"""The security review's LiteLLM findings, on the rendered release (docs/security.md, findings 2, 6 and 9):

- 2: no provider key under a name LiteLLM's pass-through router reads; every closed pass-through prefix
  without client routes below it claimed in the proxy config; `litellm.passthrough` opens one provider
  (its key as `<PROVIDER>_API_KEY`, in the proxy only); bad settings are one clear error;
- 6: the proxy and the migration Job run as uid/gid 65534 (the non-root image's user) with a read-only
  root and one scratch emptyDir their TMPDIR points to; a writable root needs a reason;
- 9: the API port admits no whole gateway namespace, only declared namespaces and pods.

The real-proxy halves are test_passthrough_real_proxy.py and test_readonly_real_proxy.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.litellm import passthrough
from components.litellm import values as litellm_values
from config import parse_config
from config.litellm import NON_ROOT_UID
from config.litellm_passthrough import PASSTHROUGH_PROVIDERS
from offline.run import ProgramRun
from tests.support.config import errors_for, namespace, scenario_config
from tests.support.direct import render
from tests.support.program import HELM_RELEASE, STACKS, run_cached
from tools import preview

OPEN_OPENAI = "llm-gateway:litellm.passthrough=[{provider: openai}]"
OPEN_AZURE = "llm-gateway:litellm.passthrough=[{provider: azure}]"


def _values(run: ProgramRun) -> dict[str, Any]:
    (rel,) = [r for r in run.of_type(HELM_RELEASE) if str(r.inputs.get("chart", "")).endswith("/litellm-helm")]
    helm_values: dict[str, Any] = rel.plain_inputs["values"]
    return helm_values


def _pods(stack: str, *overrides: str) -> dict[str, dict[str, Any]]:
    """The rendered proxy Deployment's and migration Job's pod specs."""
    lit = scenario_config(stack, *overrides).litellm
    helm_values = _values(run_cached(stack, *overrides))
    objects = render(lit.release_name, "llm-gateway", litellm_values.helm_chart(lit), helm_values)
    return {
        o.body["kind"]: o.body["spec"]["template"]["spec"] for o in objects if o.body["kind"] in ("Deployment", "Job")
    }


def _external_secret(run: ProgramRun, name: str) -> dict[str, Any] | None:
    found = [e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == name]
    return found[0] if found else None


def _router_reads() -> set[str]:
    """`<PROVIDER>_API_KEY` for every pass-through prefix LiteLLM serves (its router's naming rule)."""
    rule = passthrough.key_env_rule()
    return {rule.replace("{PROVIDER}", p.strip("/").replace("-", "_").upper()) for p in passthrough.prefixes()}


# --- finding 2: pass-through ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_provider_keys_reach_the_proxy_under_names_the_router_never_reads(stack: str) -> None:
    run = run_cached(stack)
    keys = _external_secret(run, litellm_values.PROVIDER_KEYS_SECRET)
    assert keys is not None
    names = {d["secretKey"] for d in keys["spec"]["data"]}
    assert names and all(n.startswith("LLMGW_") for n in names), names
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY"} <= _router_reads()
    pods = _pods(stack)
    for kind, spec in pods.items():
        (container,) = spec["containers"]
        env = {e["name"] for e in container.get("env") or []}
        mounted = {s["secretRef"]["name"] for s in container.get("envFrom") or []}
        assert sorted(env & _router_reads()) == [], kind
        assert litellm_values.PASSTHROUGH_KEYS_SECRET not in mounted, kind
    assert _external_secret(run, litellm_values.PASSTHROUGH_KEYS_SECRET) is None


@pytest.mark.parametrize("stack", STACKS)
def test_every_closed_prefix_without_client_routes_is_claimed(stack: str) -> None:
    general = _values(run_cached(stack))["proxy_config"]["general_settings"]
    claims = {c["path"]: c for c in general["pass_through_endpoints"]}
    unclaimed = {p for p in passthrough.prefixes() if passthrough.client_routes_below(p)}
    assert unclaimed == {"/cursor", "/openai", "/vertex_ai"}
    if not scenario_config(stack).langfuse.enabled:  # no tracing keys in the proxy: nothing to claim /langfuse for
        unclaimed.add(passthrough.TRACING_PREFIX)
    assert set(claims) == set(passthrough.prefixes()) - unclaimed
    assert {"/azure", "/azure_ai", "/vllm", "/anthropic", "/openai_passthrough"} <= set(claims)
    for claim in claims.values():
        assert claim["auth"] is True and claim["include_subpath"] is True
        assert claim["target"] == passthrough.CLAIM_TARGET


def test_opening_a_provider_sets_its_key_in_the_proxy_only() -> None:
    run = run_cached("enterprise", OPEN_OPENAI)
    es = _external_secret(run, litellm_values.PASSTHROUGH_KEYS_SECRET)
    assert es is not None
    assert {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]} == {"OPENAI_API_KEY": "openai-api-key"}
    v = _values(run)
    assert litellm_values.PASSTHROUGH_KEYS_SECRET in v["environmentSecrets"]
    assert not any(k.endswith("_API_BASE") for k in v["envVars"])  # openai's models set no api_base
    claims = {c["path"] for c in v["proxy_config"]["general_settings"]["pass_through_endpoints"]}
    assert "/openai_passthrough" not in claims and "/anthropic" in claims
    pods = _pods("enterprise", OPEN_OPENAI)
    mounted = {
        kind: {s["secretRef"]["name"] for s in spec["containers"][0].get("envFrom") or []}
        for kind, spec in pods.items()
    }
    assert litellm_values.PASSTHROUGH_KEYS_SECRET in mounted["Deployment"]
    assert litellm_values.PASSTHROUGH_KEYS_SECRET not in mounted["Job"]


def test_opening_azure_names_its_upstream_from_the_model() -> None:
    v = _values(run_cached("enterprise", OPEN_AZURE))
    assert v["envVars"]["AZURE_API_BASE"] == "https://acme-prod.openai.azure.com"
    assert PASSTHROUGH_PROVIDERS["azure"].prefixes == ("/azure", "/azure_ai")


def test_the_providers_that_may_open_serve_the_prefixes_the_capture_names() -> None:
    captured = set(passthrough.prefixes())
    for provider, spec in PASSTHROUGH_PROVIDERS.items():
        assert set(spec.prefixes) <= captured, provider
        assert spec.prefixes[0] == f"/{provider}"


def _litellm_errors(stack: str, **changes: Any) -> str:
    raw = copy.deepcopy(namespace(stack))
    raw["litellm"] = {**raw["litellm"], **changes}
    return errors_for(raw)


def test_a_pass_through_for_a_provider_without_a_key_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    message = _litellm_errors("lab", passthrough=[{"provider": "azure", "api_base": "https://x.openai.azure.com"}])
    assert "llm-gateway:litellm.passthrough[0]: the stack has no key for azure" in message
    assert message.count("llm-gateway:") == 1
    assert preview.main(["lab", "--set", "llm-gateway:litellm.passthrough=[{provider: azure}]"]) == 2
    err = capsys.readouterr().err
    assert "the stack has no key for azure" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("passthrough_setting", "expected"),
    [
        ([{"provider": "mistral"}], "llm-gateway:litellm.passthrough[0].provider"),
        ([{"provider": "openai", "key": "LLMGW_NOPE"}], "llm-gateway:litellm.passthrough[0].key: 'LLMGW_NOPE' is not"),
        ([{"provider": "openai"}, {"provider": "openai"}], "llm-gateway:litellm.passthrough[1].provider: 'openai'"),
        ([{"provider": "azure", "key": "LLMGW_AZURE_KEY"}], None),
    ],
)
def test_pass_through_settings_are_checked(passthrough_setting: list[dict[str, Any]], expected: str | None) -> None:
    if expected is None:  # enterprise's azure model names the api_base: accepted
        raw = copy.deepcopy(namespace("enterprise"))
        raw["litellm"]["passthrough"] = passthrough_setting
        opened = parse_config(raw).litellm.open_passthrough()
        assert [p.api_base for p in opened] == ["https://acme-prod.openai.azure.com"]
        return
    assert expected in _litellm_errors("enterprise", passthrough=passthrough_setting)


def test_a_pass_through_upstream_that_would_move_other_models_is_refused() -> None:
    message = _litellm_errors(
        "enterprise", passthrough=[{"provider": "openai", "api_base": "https://gw.acme.example/v1"}]
    )
    assert "llm-gateway:litellm.passthrough[0].api_base: OPENAI_API_BASE=" in message
    assert "gpt-4o-openai" in message


def test_a_provider_key_under_a_name_litellm_reads_is_refused() -> None:
    raw = copy.deepcopy(namespace("lab"))
    raw["litellm"]["provider_keys"][0]["env"] = "OPENAI_API_KEY"
    message = errors_for(raw)
    assert "llm-gateway:litellm.provider_keys[0].env: expected a name LiteLLM never reads by itself" in message
    assert "LLMGW_OPENAI_KEY" in message


# --- finding 6: pods -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_proxy_and_the_migration_job_run_as_the_image_user_read_only(stack: str) -> None:
    pods = _pods(stack)
    assert set(pods) == {"Deployment", "Job"}
    for kind, spec in pods.items():
        (container,) = spec["containers"]
        ctx = container["securityContext"]
        assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["runAsNonRoot"]) == (NON_ROOT_UID, NON_ROOT_UID, True), kind
        assert ctx["readOnlyRootFilesystem"] is True, kind
        assert NON_ROOT_UID >= 10000
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        assert mounts[env["TMPDIR"]] in scratch, kind
        assert env["LITELLM_MIGRATION_DIR"].startswith(env["TMPDIR"] + "/"), kind


def test_a_root_image_is_refused_with_the_non_root_variant_named() -> None:
    message = _litellm_errors("lab", image="ghcr.io/berriai/litellm-database:v1.108.7")
    assert "llm-gateway:litellm.image: litellm-database is built to run as root" in message
    assert "ghcr.io/berriai/litellm-non_root:v1.108.7" in message


def test_a_writable_root_needs_a_reason() -> None:
    message = _litellm_errors("lab", read_only_root_filesystem=False)
    assert "llm-gateway:litellm.writable_root_filesystem_reason: is required" in message
    reason = "llm-gateway:litellm.writable_root_filesystem_reason=a vendored plugin writes under /app"
    cfg = scenario_config("lab", "llm-gateway:litellm.read_only_root_filesystem=false", reason)
    assert cfg.litellm.read_only_root_filesystem is False
    assert litellm_values.restricted_proxy_container(cfg.litellm)["readOnlyRootFilesystem"] is False


# --- finding 9: who may call port 4000 ------------------------------------------------------------


def _api_peers(run: ProgramRun) -> list[dict[str, Any]]:
    (policy,) = [
        o
        for o in run.kubernetes_objects()
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "litellm-ingress"
    ]
    (api,) = [rule for rule in policy["spec"]["ingress"] if {"protocol": "TCP", "port": 4000} in rule["ports"]]
    peers: list[dict[str, Any]] = api["from"]
    return peers


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_port_admits_no_whole_gateway_namespace(stack: str) -> None:
    gateway = scenario_config(stack).namespaces.gateway
    namespaces = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in _api_peers(run_cached(stack))
        if "namespaceSelector" in p and "podSelector" not in p
    ]
    assert namespaces and gateway not in namespaces


def test_callers_inside_the_gateway_namespace_are_admitted_by_their_labels() -> None:
    run = run_cached("lab", "llm-gateway:litellm.network.gateway_client_pods=[{app.kubernetes.io/name: batch-eval}]")
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "batch-eval"}}} in _api_peers(run)
