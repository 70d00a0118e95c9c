"""Each consuming namespace's Google service account id: derived from `secrets.store.gsa_prefix` and
the namespace, always a valid account id, distinct per namespace; what cannot be made valid or
unique is refused at config time, naming the key."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from config import parse_config
from config.secrets import GSA_PREFIX_MAX, derived_gsa_account_id
from tests.support.config import errors_for, with_value

ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")
prefixes = st.from_regex(r"\A[a-z]([-a-z0-9]{0,21}[a-z0-9])?\Z")
namespaces = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


def _valid(account_id: str) -> bool:
    return 6 <= len(account_id) <= 30 and ACCOUNT_ID.match(account_id) is not None


@given(prefixes, namespaces, namespaces)
def test_every_prefix_and_namespace_give_a_valid_distinct_id(prefix: str, ns: str, other: str) -> None:
    account = derived_gsa_account_id(prefix, ns)
    assert _valid(account), account
    assert account == derived_gsa_account_id(prefix, ns)
    if other != ns:
        assert derived_gsa_account_id(prefix, other) != account


def test_short_forms_are_readable_and_long_ones_hash_shortened() -> None:
    assert derived_gsa_account_id("llm-gw", "monitoring") == "llm-gw-monitoring"
    long_ns = "team-data-science-experiments-eu"
    account = derived_gsa_account_id("llm-gw", long_ns)
    assert len(account) == 30 and account.startswith("llm-gw-team-data-scienc-")
    # Too short (under 6) gets the hash too; a cut never leaves a dash before the hash.
    assert re.fullmatch(r"gw-a-[0-9a-f]{6}", derived_gsa_account_id("gw", "a"))
    assert re.fullmatch(
        r"abcdefghijklmnopqrst-x-[0-9a-f]{6}", derived_gsa_account_id("abcdefghijklmnopqrst", "x-yzzzzzzz")
    )
    assert re.fullmatch(r"a{23}-[0-9a-f]{6}", derived_gsa_account_id("a" * GSA_PREFIX_MAX, "monitoring"))


def test_a_prefix_that_cannot_fit_or_start_an_id_is_refused() -> None:
    message = errors_for(with_value("lab", "secrets.store.gsa_prefix", "a" * (GSA_PREFIX_MAX + 1)))
    assert "llm-gateway:secrets.store.gsa_prefix: at most 23 characters" in message
    message = errors_for(with_value("lab", "secrets.store.gsa_prefix", "1gw"))
    assert "llm-gateway:secrets.store.gsa_prefix: expected a name starting with a letter" in message


def test_an_id_another_account_of_the_stack_has_is_refused() -> None:
    """`litellm-pg-backup` is the enterprise backup writer's; a prefix deriving it for a namespace collides."""
    raw = with_value("enterprise", "secrets.store.gsa_prefix", "litellm")
    raw["namespaces"]["grafana"] = "pg-backup"
    message = errors_for(raw)
    assert "llm-gateway:secrets.store.gsa_prefix: namespace pg-backup's secret reader's account id " in message
    assert "'litellm-pg-backup' is also the backup writer's (postgres.backup.gsa_account_id)" in message
    raw = with_value("lab", "secrets.store.gsa_account_id", "llm-gw-monitoring")
    message = errors_for(raw)
    assert "llm-gateway:secrets.store.gsa_prefix: namespace monitoring's secret reader's account id" in message
    assert "is also namespace llm-gateway's secret reader's (secrets.store.gsa_account_id)" in message
    # Without the kept id the gateway's account is derived too.
    raw = with_value("lab", "secrets.store.gsa_account_id", None)
    del raw["secrets"]["store"]["gsa_account_id"]
    cfg = parse_config(raw)
    assert cfg.secrets.store.account_id("llm-gateway", "llm-gateway") == "llm-gw-llm-gateway"
