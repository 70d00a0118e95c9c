"""Every ExternalSecret the program renders, in every scenario: its templates read exactly the
entries it fetches, and its target keeps the lifecycle the design relies on.

Written for the survivors of `python -m bench.mutations --family eso` (docs/numbers.md,
"Mutation check"): a template that names a key no entry fetches never renders the credential,
an entry no template reads is a value that went missing from the Secret, and a target policy
changed by one word changes what happens to the pods' Secrets at the worst moment.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.config import stack_config
from tests.support.program import SCENARIOS, run_scenario

# A top-level template variable: `.name` not preceded by a name, `)` or `]` (those are field
# accesses on a value, as in `(.hmac | fromJson).access_id`).
TEMPLATE_VARIABLE = re.compile(r"(?<![\w)\]])\.([A-Za-z_][A-Za-z0-9_]*)")
ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def external_secrets(scenario: str) -> list[dict[str, Any]]:
    found = run_scenario(scenario).custom_resources("ExternalSecret")
    assert found, scenario
    return found


def template_variables(text: str) -> set[str]:
    """The top-level keys the Go template actions of `text` read (string literals left out)."""
    names: set[str] = set()
    for action in ACTION.findall(text):
        names |= set(TEMPLATE_VARIABLE.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', action)))
    return names


def test_template_variables_are_read_the_way_eso_reads_them() -> None:
    assert template_variables("{{ .password }}") == {"password"}
    assert template_variables('{{ .bundle | filterPEM "EC PRIVATE KEY" }}') == {"bundle"}
    assert template_variables("{{ (.hmac | fromJson).access_id }} and {{ .salt }}") == {"hmac", "salt"}
    assert template_variables("host: db.example.\nuser: {{ .user | urlquery }}") == {"user"}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_template_reads_exactly_the_entries_it_fetches(scenario: str) -> None:
    problems = []
    for es in external_secrets(scenario):
        name = es["metadata"]["name"]
        fetched = {entry["secretKey"] for entry in es["spec"]["data"]}
        templates = es["spec"]["target"]["template"].get("data") or {}
        if not templates:
            continue  # the Secret holds the entries under their own keys
        read = set().union(*(template_variables(text) for text in templates.values()))
        if read - fetched:
            problems.append(f"{name}: the templates read {sorted(read - fetched)}, not fetched (empty values)")
        if fetched - read:
            problems.append(f"{name}: fetches {sorted(fetched - read)}, which no template uses (a dropped value?)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_target_is_owned_and_retained(scenario: str) -> None:
    """creationPolicy Owner: the Secret is garbage-collected with its ExternalSecret, and an existing
    Secret of the same name that ESO does not own is a conflict, not silently taken over (Orphan
    would leave a removed consumer's credential behind). deletionPolicy Retain: when the GSM
    secret is deleted or cannot be read, ESO keeps the Secret the pods mount (Delete would remove
    it and the pods would fail at their next start). ESO's "Lifecycle" guide
    (external-secrets.io, guides/ownership-deletion-policy)."""
    wrong = {
        es["metadata"]["name"]: (es["spec"]["target"]["creationPolicy"], es["spec"]["target"]["deletionPolicy"])
        for es in external_secrets(scenario)
        if (es["spec"]["target"].get("creationPolicy"), es["spec"]["target"].get("deletionPolicy"))
        != ("Owner", "Retain")
    }
    assert not wrong


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_external_secret_refreshes_at_the_configured_interval(scenario: str) -> None:
    """A refreshInterval of 0 syncs once (ESO: the same as refreshPolicy CreatedOnce): a rotated
    secret would never reach the cluster."""
    configured = stack_config(SCENARIOS[scenario][0]).secrets.refresh_interval
    assert re.search(r"[1-9]", configured), configured
    intervals = {es["metadata"]["name"]: es["spec"]["refreshInterval"] for es in external_secrets(scenario)}
    assert set(intervals.values()) == {configured}, intervals
