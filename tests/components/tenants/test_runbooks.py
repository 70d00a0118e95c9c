"""The tenant runbooks (docs/runbooks/onboard-a-team.md, issue-a-key-to-a-namespace.md, rotate-a-key.md,
raise-a-budget.md, offboard-a-team.md), step by step: each `llm-gateway:tenants` block a runbook shows
is applied to the enterprise stack's config (the stack's own validation), turned into the desired document
(components/tenants/desired.py, what `pulumi up` ships in the ConfigMap; a new document, a new Job), and
reconciled against the fake LiteLLM and GSM (tests/support/litellm_fake.py). The LiteLLM state after
each step, and the lines the runbook quotes from the Job's log, are what the runbook says."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import timedelta
from typing import Any

import yaml

from components.tenants.desired import desired_document, document_text, run_hash
from components.tenants.reconciler import key_hash
from tests.support import ROOT
from tests.support.config import scenario_config
from tests.support.litellm_fake import Run, Tenants

RUNBOOKS = ROOT / "docs" / "runbooks"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
SOURCE = (ROOT / "components" / "tenants" / "reconciler.py").read_text(encoding="utf-8")


def steps(name: str) -> list[dict[str, Any]]:
    """The `llm-gateway:tenants` sections a runbook shows, in order."""
    text = (RUNBOOKS / name).read_text(encoding="utf-8")
    found = [yaml.safe_load(textwrap.dedent(block)) for block in BLOCK.findall(text)]
    return [block["llm-gateway:tenants"] for block in found if "llm-gateway:tenants" in block]


def quoted(name: str) -> list[str]:
    """The reconciler log lines a runbook quotes (`key search-prod: created`, `drift: ...`)."""
    text = (RUNBOOKS / name).read_text(encoding="utf-8")
    found = re.findall(r"`((?:team|key|drift:|summary:) [^`]+)`", text)
    return [q for q in found if not q.endswith("...") and "→" not in q]  # not the preview's lines


def document(section: dict[str, Any]) -> dict[str, Any]:
    cfg = scenario_config("enterprise", "llm-gateway:tenants=" + json.dumps(section))
    return desired_document(cfg.tenants, cfg.litellm, cfg.gcp.project, cfg.secrets.prefix)


class Stack:
    """A stack's `pulumi up` history: each step's document (its Job) and the reconciler's run of it."""

    def __init__(self) -> None:
        self.tenants = Tenants()
        self.jobs: list[str] = []

    def up(self, section: dict[str, Any], days_later: int = 0) -> Run:
        doc = document(section)
        self.jobs.append(run_hash(document_text(doc), SOURCE))
        run = self.tenants.run(doc, self.tenants.api.now + timedelta(days=days_later))
        assert run.code == 0, run.err
        return run

    def cron(self, section: dict[str, Any], days_later: int) -> Run:
        """The CronJob's run of the same document, `days_later`."""
        run = self.tenants.run(document(section), self.tenants.api.now + timedelta(days=days_later))
        assert run.code == 0, run.err
        return run


def after_onboarding(runbook: str) -> tuple[Stack, dict[str, Any]]:
    """A stack the onboard-a-team runbook was applied to, and the one step `runbook` shows next."""
    (before,) = steps("onboard-a-team.md")
    (section,) = steps(runbook)
    stack = Stack()
    stack.up(before)
    return stack, section


def changes(run: Run) -> list[str]:
    """What a run of the reconciler printed, but its summary line."""
    return [line for line in run.out if not line.startswith("summary")]


def _printed(stack: Stack) -> str:
    return "\n".join(line for run in stack.tenants.runs for line in run.out)


def test_onboard_a_team() -> None:
    (section,) = steps("onboard-a-team.md")
    stack = Stack()
    run = stack.up(section)
    team = stack.tenants.api.teams["llmgw-search"]
    assert (team["max_budget"], team["budget_duration"], team["tpm_limit"], team["rpm_limit"]) == (
        500.0,
        "30d",
        100000,
        600,
    )
    assert team["models"] == ["gpt-4o-mini"] and not team["blocked"]
    assert team["metadata"]["llm_gateway"]["cost_centre"] == "CC-1001"
    key = stack.tenants.key("search-prod")
    assert (key["team_id"], key["max_budget"], key["budget_duration"]) == ("llmgw-search", 200.0, "30d")
    (secret,) = stack.tenants.gsm.secrets
    assert secret.endswith("tenant-search-search-prod")
    assert key["token"] == key_hash(stack.tenants.gsm.secrets[secret][-1]["key"])
    assert run.out == quoted("onboard-a-team.md")
    assert stack.cron(section, 1).writes == 0


def test_issue_a_key_to_a_namespace() -> None:
    stack, section = after_onboarding("issue-a-key-to-a-namespace.md")
    run = stack.up(section)
    assert stack.jobs[0] != stack.jobs[1]
    key = stack.tenants.key("search-batch")
    assert (key["team_id"], key["models"], key["max_budget"], key["budget_duration"], key["rpm_limit"]) == (
        "llmgw-search",
        ["claude-sonnet"],
        50.0,
        "1d",
        60,
    )
    assert key["expires"] == "2027-06-30T00:00:00+00:00"
    assert stack.tenants.api.teams["llmgw-search"]["models"] == ["gpt-4o-mini", "claude-sonnet"]
    for line in quoted("issue-a-key-to-a-namespace.md"):
        assert line in run.out, (line, run.out)
    assert any(line.startswith("drift: team search models ") for line in run.out)
    assert stack.cron(section, 1).writes == 0


def test_rotate_a_key() -> None:
    stack, section = after_onboarding("rotate-a-key.md")
    old = stack.tenants.key("search-prod")["token"]
    run = stack.up(section)
    quotes = quoted("rotate-a-key.md")
    assert changes(run) == quotes[:3]
    new = stack.tenants.key("search-prod")
    (versions,) = stack.tenants.gsm.secrets.values()
    assert [v["rotation"] for v in versions] == [0, 1]
    assert new["token"] == key_hash(versions[-1]["key"]) != old
    assert not stack.tenants.api.keys[old]["blocked"]  # the grace period: the old value still works
    assert stack.cron(section, 6).writes == 0
    assert stack.cron(section, 7).out[0] == quotes[3]
    assert stack.tenants.api.keys[old]["blocked"] is True
    assert stack.cron(section, 8).writes == 0


def test_raise_a_budget() -> None:
    stack, section = after_onboarding("raise-a-budget.md")
    stack.tenants.key("search-prod")["spend"] = 150.0
    stack.tenants.api.teams["llmgw-search"]["spend"] = 150.0
    run = stack.up(section)
    assert changes(run) == quoted("raise-a-budget.md")
    assert stack.tenants.api.teams["llmgw-search"]["max_budget"] == 800.0
    assert stack.tenants.key("search-prod")["max_budget"] == 300.0
    assert stack.tenants.key("search-prod")["spend"] == stack.tenants.api.teams["llmgw-search"]["spend"] == 150.0
    stack.tenants.api.teams["llmgw-search"]["max_budget"] = 5000.0  # raised in the admin UI instead
    drift = stack.cron(section, 1)
    assert "drift: team search max_budget 5000 -> 800" in drift.out
    assert stack.tenants.api.teams["llmgw-search"]["max_budget"] == 800.0


def test_offboard_a_team() -> None:
    """Block (reversible: the same values work again), then remove from config, then delete for good."""
    (search,) = steps("onboard-a-team.md")
    blocked, removed, deleted = steps("offboard-a-team.md")
    assert [t["alias"] for t in blocked["teams"]] == ["search", "ads"] and blocked["teams"][0]["blocked"] is True
    assert {**blocked["teams"][0], "blocked": False} == {**search["teams"][0], "blocked": False}
    before = {**removed, "teams": [*search["teams"], *removed["teams"]]}  # before: search, and ads that stays
    stack = Stack()
    stack.up(before)
    stack.tenants.key("search-prod")["spend"] = 42.0
    (declared,) = [k for k in document(before)["keys"] if k["key_alias"] == "search-prod"]
    value = stack.tenants.value(declared)
    quotes = quoted("offboard-a-team.md")
    run = stack.up(blocked)
    assert changes(run) == quotes[:2]
    assert stack.tenants.api.teams["llmgw-search"]["blocked"] is True
    assert stack.tenants.key("search-prod")["spend"] == 42.0
    assert not stack.tenants.api.teams["llmgw-ads"]["blocked"] and not stack.tenants.key("ads-prod")["blocked"]
    assert stack.cron(blocked, 1).writes == 0
    undo = stack.tenants.run(document(before), stack.tenants.api.now)  # `blocked: false`: the same value again
    assert undo.code == 0 and stack.tenants.api.teams["llmgw-search"]["blocked"] is False
    assert stack.tenants.key("search-prod")["token"] == key_hash(value) and stack.tenants.value(declared) == value
    stack.up(blocked)
    run = stack.up(removed)
    assert changes(run) == quotes[2:3]
    assert stack.tenants.key("search-prod")["blocked"] is True
    assert stack.cron(removed, 1).writes == 0
    run = stack.up(deleted)
    assert changes(run) == quotes[3:]
    assert "llmgw-search" not in stack.tenants.api.teams
    assert [k["key_alias"] for k in stack.tenants.api.keys.values()] == ["ads-prod"]
    assert stack.cron(deleted, 1).writes == 0  # the delete entries left in place: nothing to do
    assert "sk-" not in _printed(stack)


def test_every_runbook_step_reaches_the_reconciler_as_a_new_job() -> None:
    """A step that did not change the desired document would run no Job: `pulumi up` would do nothing."""
    sections = [s for name in ("onboard-a-team.md", "rotate-a-key.md", "raise-a-budget.md") for s in steps(name)]
    hashes = [run_hash(document_text(document(s)), SOURCE) for s in sections]
    assert len(set(hashes)) == len(hashes) == 3
