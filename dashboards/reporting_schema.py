"""The reporting schema's names: what the reporting job builds and the spend dashboards read.

The contract between two sides, written once: components/reporting/sql.py creates and
refreshes these relations, dashboards/spend_queries.py reads them. The names live on
the dashboards' floor, so the reporting component imports them and no dashboard
imports a component. What each relation holds and how it is refreshed is said in
components/reporting/sql.py.
"""

from __future__ import annotations

SCHEMA = "reporting"

# Rollups, one row per day and their dimensions, with the measures below.
DETAIL = f"{SCHEMA}.daily_detail"
BY_MODEL = f"{SCHEMA}.daily_model"
BY_TEAM = f"{SCHEMA}.daily_team"
BY_KEY = f"{SCHEMA}.daily_key"
BY_USER = f"{SCHEMA}.daily_user"
# Their per-week (Monday) and per-month twins.
WEEK_KEY = f"{SCHEMA}.weekly_key"
WEEK_USER = f"{SCHEMA}.weekly_user"
MONTH_TEAM = f"{SCHEMA}.monthly_team"
# Day x team x key x model group x model x provider, with each key's alias and team as last
# aggregated (a deleted key's from LiteLLM's archive): the chargeback export (tools/chargeback.py).
DAILY_CHARGE = f"{SCHEMA}.daily_charge"
# Calendar month x team x declared key alias (NULL: a key not declared when the job last ran):
# daily_charge summed for the chargeback dashboard, its attribution resolved against declared_keys.
MONTH_CHARGE = f"{SCHEMA}.monthly_charge"
# The chargeback table's rows, attributed (cost centre, owner, team name) by the last refresh:
# month x cost centre x team, the panel reads them as they are (dashboards/declared.py).
CHARGE_TEAM_MONTH = f"{SCHEMA}.chargeback_team_month"
# Precomputed by each refresh.
KEY_RANGES = f"{SCHEMA}.key_ranges"
TEAM_RANGES = f"{SCHEMA}.team_ranges"
USER_RANGES = f"{SCHEMA}.user_ranges"
RANGE_DAYS = f"{SCHEMA}.range_days"
KEY_STATE = f"{SCHEMA}.key_state"
STATE = f"{SCHEMA}.refresh_state"
# The tenants declared in the stack's config, replaced by each run of the reporting job
# (components/reporting/tenants.py; dashboards/declared.py says what they hold).
DECLARED_TEAMS = f"{SCHEMA}.declared_teams"
DECLARED_KEYS = f"{SCHEMA}.declared_keys"
# Views over LiteLLM's tables (live).
KEYS = f"{SCHEMA}.keys"
TEAMS = f"{SCHEMA}.teams"
FAILURES = f"{SCHEMA}.recent_failures"

MEASURES = ("spend", "requests", "failed", "prompt_tokens", "completion_tokens")
"""The measure columns of every rollup (spend in USD, the others counts)."""

STANDARD_RANGES = (1, 2, 7, 30)
"""Grafana's quick ranges "Last 24 hours", "Last 2 days", "Last 7 days", "Last 30 days" in
days: each widened to whole UTC days is `day BETWEEN today - n AND today`."""


def key_label(alias: str) -> str:
    """What the dashboards call a key: its alias, else LiteLLM's masked key name."""
    return f"COALESCE({alias}.key_alias, {alias}.key_name, '(unknown key)')"


def user_label(alias: str) -> str:
    """What "Top users" shows for (and groups by) a user: its id, '(no user)' for none or ''."""
    return f"COALESCE(NULLIF({alias}.user_id, ''), '(no user)')"
