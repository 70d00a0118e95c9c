"""The tenants a stack declares, as the reporting schema holds them: what chargeback groups by.

`DeclaredTeam` and `DeclaredKey` are the interface between the stack's `tenants` config (which
the program maps onto them) and the reporting job, which upserts them into
`reporting.declared_teams` and `reporting.declared_keys` on every run, never deleting a row (one
no longer declared gets `removed_at`, so past spend keeps its team; components/reporting/tenants.py).
Their readers (the chargeback dashboard, the export of `tools/chargeback.py`) join LiteLLM's spend on them:

- a row's cost centre is its team's when that team is declared (by LiteLLM's `team_id`); every
  other row (a team not declared, a key without a team) is `UNDECLARED`: shown, never dropped;
- a key is declared when its alias is (LiteLLM keeps aliases unique). A key the tenants
  reconciler rotated out is renamed `<alias>~r<N>` for its grace period (`RETIRED_ALIAS`):
  its spend stays under the declared alias.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from dashboards.reporting_schema import DAILY_CHARGE, DECLARED_KEYS, DECLARED_TEAMS, MONTH_CHARGE, TEAMS, key_label

UNDECLARED = "undeclared"
"""The cost centre of spend no declared team owns (a team not declared, a key without a team)."""
RETIRED_ALIAS = "~r[0-9]+(~[0-9a-f]{8})?$"
"""The suffix (a POSIX regular expression) the reconciler gives a rotated-out key's alias: `~r<N>`, and
`~<8 hex of its token>` after it when that alias is taken (components/tenants/reconciler.py)."""


@dataclass(frozen=True)
class DeclaredTeam:
    team_id: str
    """LiteLLM's team_id (stable; what the spend rows carry)."""
    team_alias: str
    owner: str
    """The team's owner (an e-mail address)."""
    cost_centre: str


@dataclass(frozen=True)
class DeclaredKey:
    key_alias: str
    """LiteLLM's key_alias (unique across all keys)."""
    team_id: str
    """The declared team the key belongs to."""


@dataclass(frozen=True)
class Declared:
    """Every declared team and key of a stack; refused (ValueError listing every problem) when the
    tables could not hold it: an empty or NUL-holding field, a team id or key alias twice, a key
    of a team not declared."""

    teams: tuple[DeclaredTeam, ...] = ()
    keys: tuple[DeclaredKey, ...] = ()

    @classmethod
    def of(cls, teams: Iterable[DeclaredTeam], keys: Iterable[DeclaredKey]) -> Declared:
        return cls(tuple(teams), tuple(keys))

    def __post_init__(self) -> None:
        problems = [
            f"{kind} {getattr(item, name)!r}: {field} {why}"
            for kind, name, items in (("team", "team_id", self.teams), ("key", "key_alias", self.keys))
            for item in items
            for field, value in vars(item).items()
            if (why := "is empty" if not value else "holds a NUL character" if "\x00" in value else "")
        ]
        for kind, values in (
            ("team id", [t.team_id for t in self.teams]),
            ("key alias", [k.key_alias for k in self.keys]),
        ):
            problems += [f"{kind} {value!r} is declared {n} times" for value, n in Counter(values).items() if n > 1]
        problems += [
            f"key {k.key_alias!r}: alias ends like a rotated-out key's (~r<N>)"
            for k in self.keys
            if re.search(RETIRED_ALIAS, k.key_alias)
        ]
        teams = {t.team_id for t in self.teams}
        problems += [
            f"key {k.key_alias!r}: team {k.team_id!r} is not declared" for k in self.keys if k.team_id not in teams
        ]
        if problems:
            raise ValueError("declared tenants: " + "; ".join(problems))


NO_TENANTS = Declared()
"""A stack that declares no tenants: every spend row is `UNDECLARED`."""


def declared_key_join(alias: str) -> str:
    """The declared key (alias `dk`) of the charge row `alias`: by its alias, a rotated-out key's
    `<alias>~r<N>` counting as `<alias>`."""
    return f"LEFT JOIN {DECLARED_KEYS} dk ON dk.key_alias = regexp_replace({alias}.key_alias, '{RETIRED_ALIAS}', '')"


_TEAM = "COALESCE(c.team_id, dk.team_id)"
"""A charge row's (alias `c`) team: its own, else its declared key's (alias `dk`)."""
_ATTRIBUTION = (
    f"{_TEAM} AS team_id, COALESCE(dt.team_alias, t.team_alias, {_TEAM}) AS team,\n"
    f"  COALESCE(dt.cost_centre, '{UNDECLARED}') AS cost_centre, dt.owner"
)
"""Its team id and name, cost centre and owner (the declared team `dt`, else LiteLLM's team `t`)."""
_TEAM_JOINS = f"LEFT JOIN {DECLARED_TEAMS} dt ON dt.team_id = {_TEAM}\nLEFT JOIN {TEAMS} t ON t.team_id = {_TEAM}\n"


def charge_rows(where: str) -> str:
    """`daily_charge`'s rows (alias `c`) that satisfy `where`, each with its tenant attribution:

    - `team_id`: the row's (a deleted key's from LiteLLM's archive), else its declared key's team;
    - `team`: the declared team's alias, else LiteLLM's (live) alias, else the team id; NULL
      only for spend no team owns;
    - `cost_centre`, `owner`: the declared team's; `UNDECLARED` / NULL when the team is not declared;
    - `key_label`: the key's alias, else LiteLLM's masked name; `key_declared`: its alias (a
      rotated-out `<alias>~r<N>` counting as `<alias>`) is declared.

    One row out per row in: joins on primary keys only, so no spend is dropped or counted twice.
    """
    return (
        f"SELECT c.day, {_ATTRIBUTION}, c.key_id, c.key_alias,\n"
        f"  {key_label('c')} AS key_label, dk.key_alias IS NOT NULL AS key_declared, c.model_group, c.model,\n"
        "  c.provider, c.spend, c.requests, c.failed, c.prompt_tokens, c.completion_tokens\n"
        f"FROM {DAILY_CHARGE} c\n"
        f"{declared_key_join('c')}\n"
        f"{_TEAM_JOINS}"
        f"WHERE {where}"
    )


def month_charge_rows(where: str) -> str:
    """`monthly_charge`'s rows (alias `c`; `day` is the month's first) that satisfy `where`, attributed
    as `charge_rows` attributes a day's: the same team, cost centre, owner and `key_declared`. The
    refresh resolved each row's alias against the declared keys of its job run (`key_alias` is the
    declared alias, or NULL), so this joins on it directly."""
    return (
        f"SELECT c.month AS day, {_ATTRIBUTION},\n"
        "  dk.key_alias IS NOT NULL AS key_declared,\n"
        "  c.spend, c.requests, c.failed, c.prompt_tokens, c.completion_tokens\n"
        f"FROM {MONTH_CHARGE} c\n"
        f"LEFT JOIN {DECLARED_KEYS} dk ON dk.key_alias = c.key_alias\n"
        f"{_TEAM_JOINS}"
        f"WHERE {where}"
    )


TEAM_MONTH_COLUMNS = (
    "month",
    "cost_centre",
    "team",
    "team_id",
    "owner",
    "spend",
    "undeclared_keys_spend",
    "requests",
    "prompt_tokens",
    "completion_tokens",
)
"""The chargeback table's columns, as `chargeback_team_month` holds them (month: its first day)."""


def team_month_totals(where: str) -> str:
    """Spend per month, cost centre and team of `monthly_charge`'s rows that satisfy `where`, with the
    part spent by keys not declared: the rows of the chargeback table, which the reporting refresh
    stores in `chargeback_team_month` (components/reporting/refresh.py)."""
    return (
        "SELECT a.day AS month, a.cost_centre, COALESCE(a.team, '(no team)') AS team, a.team_id, a.owner,\n"
        "  sum(a.spend) AS spend,\n"
        "  COALESCE(sum(a.spend) FILTER (WHERE NOT a.key_declared), 0) AS undeclared_keys_spend,\n"
        "  sum(a.requests)::bigint AS requests, sum(a.prompt_tokens)::bigint AS prompt_tokens,\n"
        "  sum(a.completion_tokens)::bigint AS completion_tokens\n"
        f"FROM (\n{month_charge_rows(where)}\n) a\n"
        "GROUP BY 1, 2, 3, 4, 5"
    )
