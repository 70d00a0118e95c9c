"""tests/support/plan.py: the preview-like plan that the runbook tests rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offline.run import ProgramRun, Recorded, run_config
from tests.support.plan import forces_replacement, plan

PASSWORD = "random:index/randomPassword:RandomPassword"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
COMPONENT = "llm-gateway:x:Thing"


def rec(type_: str, name: str, inputs: dict[str, Any], *, parent: str | None = None, protect: bool = False) -> Recorded:
    return Recorded(type_, name, parent, type_ != COMPONENT, inputs, {}, protect=protect)


def run(*resources: Recorded) -> ProgramRun:
    return ProgramRun("test", list(resources), {}, set())


def test_replacement_follows_the_providers_rules() -> None:
    assert forces_replacement(PASSWORD, ["keepers"])
    assert forces_replacement(VERSION, ["secretData"])
    assert not forces_replacement(VERSION, ["enabled"])
    assert forces_replacement(CONFIGMAP, ["metadata.name"])
    assert not forces_replacement(CONFIGMAP, ["data", "metadata.labels"])
    assert not forces_replacement("kubernetes:helm.sh/v3:Release", ["values"])
    assert not forces_replacement(PASSWORD, [])


def test_plan_classifies_each_resource_and_refuses_protected_deletes() -> None:
    before = run(
        rec(PASSWORD, "pw", {"keepers": {"rotation": "0"}, "length": 32}),
        rec(VERSION, "v", {"secretData": "a"}, protect=True),
        rec(CONFIGMAP, "cm", {"metadata": {"name": "cm", "labels": {"a": "1"}}}),
        rec(CONFIGMAP, "gone", {"metadata": {"name": "gone"}}, protect=True),
        rec(CONFIGMAP, "same", {"metadata": {"name": "same"}}),
    )
    after = run(
        rec(PASSWORD, "pw", {"keepers": {"rotation": "1"}, "length": 32.0}),
        rec(
            VERSION,
            "v",
            {"secretData": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "b"}},
        ),
        rec(CONFIGMAP, "cm", {"metadata": {"name": "cm", "labels": {"a": "2"}}}),
        rec(CONFIGMAP, "same", {"metadata": {"name": "same"}}),
        rec(CONFIGMAP, "new", {"metadata": {"name": "new"}}),
    )
    p = plan(before, after)
    assert p.changes == {"replace": {"pw", "v"}, "update": {"cm"}, "delete": {"gone"}, "create": {"new"}}
    # The version was protected in the state: the engine still refuses to replace it.
    assert p.refused == {"v", "gone"}
    assert {s.name: s.changed for s in p.steps}["cm"] == ("metadata.labels",)


def test_a_new_parent_is_a_new_urn() -> None:
    before = run(rec(COMPONENT, "a", {}), rec(CONFIGMAP, "cm", {"metadata": {"name": "cm"}}, parent="a"))
    after = run(rec(COMPONENT, "a", {}), rec(CONFIGMAP, "cm", {"metadata": {"name": "cm"}}))
    assert plan(before, after).changes == {"create": {"cm"}, "delete": {"cm"}}


PROGRAM = """
import pulumi, pulumi_random as random
name = pulumi.Config("t").get("name") or "old"
alias = pulumi.Config("t").get_bool("alias")
opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")] if alias else None)
random.RandomPassword(name, length=16, keepers={"rotation": "0"}, opts=opts)
"""


def test_a_rename_with_an_alias_is_the_same_resource(tmp_path: Path) -> None:
    """Through the real SDK and mock monitor: the Alias reaches the recording and the plan."""
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    old = run_config("t", {}, program)
    bare = run_config("t", {"t:name": "new"}, program)
    aliased = run_config("t", {"t:name": "new", "t:alias": True}, program)
    assert aliased.named("new").aliases == ("old",)
    assert plan(old, bare).changes == {"create": {"new"}, "delete": {"old"}}
    assert plan(old, aliased).changes == {}


def test_a_child_keeps_its_key_whichever_namesake_registered_last() -> None:
    """The database's `...-server-ca` is both a certificate and the component holding its secret;
    registrations come from threads in either order. With the certificate taken for the parent
    (when it registered last), the component's children looked deleted and created again: a
    runbook test failed once in CI for that alone."""
    cert = Recorded("tls:index/selfSignedCert:SelfSignedCert", "db-ca", None, True, {"a": 1}, {})
    holder = rec(COMPONENT, "db-ca", {})
    child = rec(VERSION, "db-ca-version", {"secretData": "x"}, parent="db-ca")
    p = plan(run(holder, cert, child), run(cert, holder, child))
    assert p.changes == {}
