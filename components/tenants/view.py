"""What the preview and the diff show of the tenants: the stack output `tenants`, its table, and the lines
between two of them (`team search: max_budget 100 → 150`, `key eng-cline: new`).

Pure. The output holds what the config declares (limits, models, rotation, where a key goes), never a
key value: values exist only in GSM, generated in the cluster. tools/preview prints `tenants_table`,
tools/diff prints `tenant_changes` of the base's and the head's outputs, and refuses a rotation lower
than the base's (`RotationError`: a lowered rotation would never rotate back, the reconciler keeps the
higher one it stored).

Aliases are identities: a key's GSM secret is `tenant-<team alias>-<key alias>`, so renaming a team or a
key, or moving a key to another team, is a new secret with a new value, and the old value is blocked.
Nothing refuses that; `tenant_changes` says so (`key a → b? a rename is a new key: a's value is blocked`).
"""

from __future__ import annotations

from typing import Any, Final

from config import KeyDelivery, LiteLLMConfig, TenantsConfig
from config.tenants import GSM_ONLY, all_keys, key_models
from config.tenants_rules import key_limits

TEAM_FIELDS: Final = (
    "team_id",
    "owner",
    "cost_centre",
    "max_budget",
    "budget_duration",
    "tpm_limit",
    "rpm_limit",
    "models",
    "blocked",
)
KEY_FIELDS: Final = (
    "team",
    "models",
    "max_budget",
    "budget_duration",
    "tpm_limit",
    "rpm_limit",
    "expires",
    "rotation",
    "deliver",
)
REMOVED: Final = "removed (blocked by the reconciler)"


class RotationError(ValueError):
    """A key's rotation is lower in the head than in the base."""


def tenants_output(tenants: TenantsConfig, lit: LiteLLMConfig) -> dict[str, Any]:
    """The stack output: teams and keys by alias, with the limits LiteLLM will hold (no key value)."""
    teams = {
        team.alias: {
            "team_id": team.team_id,
            "owner": team.owner,
            "cost_centre": team.cost_centre,
            "max_budget": team.max_budget,
            "budget_duration": team.budget_duration,
            "tpm_limit": team.tpm_limit,
            "rpm_limit": team.rpm_limit,
            "models": list(team.models),
            "blocked": team.blocked,
        }
        for team in tenants.teams
    }
    keys = {}
    for _, team, _, key in all_keys(tenants):
        limits = key_limits(key, lit)
        deliver = key.deliver
        keys[key.alias] = {
            "team": team.alias,
            "models": key_models(team, key),
            "max_budget": limits.max_budget,
            "budget_duration": limits.budget_duration,
            "tpm_limit": limits.tpm_limit,
            "rpm_limit": limits.rpm_limit,
            "expires": key.expires,
            "rotation": key.rotation,
            "deliver": f"{deliver.namespace}/{deliver.secret}" if isinstance(deliver, KeyDelivery) else GSM_ONLY,
        }
    return {"teams": teams, "keys": keys, "delete": {"teams": tenants.delete.teams, "keys": tenants.delete.keys}}


def show(value: Any) -> str:
    """A value as the lines print it: 100.0 as 100, a list comma-separated, None as `unset`."""
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def tenants_table(output: dict[str, Any]) -> list[str]:
    """One line per team, one per key below it: budget/period, limits, models, rotation and delivery."""
    teams, keys = output.get("teams") or {}, output.get("keys") or {}
    if not teams:
        return ["(no teams declared)"]
    lines = []
    for alias, t in teams.items():
        blocked = "  BLOCKED" if t["blocked"] else ""
        lines.append(
            f"team {alias} ({t['team_id']}, {t['cost_centre']}, {t['owner']}): ${show(t['max_budget'])}/"
            f"{show(t['budget_duration'])}, tpm {show(t['tpm_limit'])}, rpm {show(t['rpm_limit'])}, "
            f"models {show(t['models'])}{blocked}"
        )
        for key_alias, k in keys.items():
            if k["team"] == alias:
                expires = f", expires {k['expires']}" if k["expires"] else ""
                lines.append(
                    f"  key {key_alias}: ${show(k['max_budget'])}/{show(k['budget_duration'])}, "
                    f"tpm {show(k['tpm_limit'])}, rpm {show(k['rpm_limit'])}, models {show(k['models'])}, "
                    f"rotation {k['rotation']}{expires} -> {k['deliver']}"
                )
    deletions = output.get("delete") or {}
    for kind in ("teams", "keys"):
        if deletions.get(kind):
            lines.append(f"delete {kind} for good: {show(deletions[kind])}")
    return lines


def preview_lines(outputs: dict[str, Any]) -> list[str]:
    """What tools.preview prints of the stack output `tenants`: a heading and the table (nothing without it)."""
    if not isinstance(outputs.get("tenants"), dict):
        return []
    heading = "tenants (declared; key values live in GSM only, never here):"
    return [f"{heading}\n", *(f"  {line}\n" for line in tenants_table(outputs["tenants"]))]


def _field_lines(kind: str, alias: str, old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    out = []
    for name in fields:
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if name == "rotation":
            was, now = int(a or 0), int(b or 0)
            if was > now:
                raise RotationError(
                    f"key {alias}: rotation {was} → {now} is lower than the base's; a rotation only goes up "
                    f"(set it to {was} to keep the key, or {was + 1} to rotate it)"
                )
            out.append(f"{kind} {alias}: rotation {show(a)} → {show(b)} (rotates)")
        else:
            out.append(f"{kind} {alias}: {name} {show(a)} → {show(b)}")
    return out


def tenant_changes(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[str]:
    """Readable lines from the base's `tenants` output to the head's (either may be absent: no tenants).
    Raises RotationError when a key's rotation went down."""
    base, head = base or {}, head or {}
    deleted = {kind: {n.lower() for n in (head.get("delete") or {}).get(kind) or []} for kind in ("teams", "keys")}
    out: list[str] = []
    for kind, section, fields in (("team", "teams", TEAM_FIELDS), ("key", "keys", KEY_FIELDS)):
        old, new = base.get(section) or {}, head.get(section) or {}
        for alias in sorted(set(old) | set(new), key=str.lower):
            if alias not in old:
                out.append(f"{kind} {alias}: new")
            elif alias not in new:
                team_id = str(old[alias].get("team_id", "")).lower()
                gone = alias.lower() in deleted[section] or team_id in deleted[section]
                out.append(f"{kind} {alias}: " + ("deleted (delete." + section + ")" if gone else REMOVED))
            else:
                out += _field_lines(kind, alias, old[alias], new[alias], fields)
    return out + _identity_lines(base, head)


def _identity_lines(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """What looks like a rename (an alias gone and another new: keys in the same team) or a move."""
    old_teams, new_teams = base.get("teams") or {}, head.get("teams") or {}
    old_keys, new_keys = base.get("keys") or {}, head.get("keys") or {}
    gone_teams, added_teams = sorted(set(old_teams) - set(new_teams)), sorted(set(new_teams) - set(old_teams))
    out = [
        f"team {a} → {b}? a rename is a new team: its keys get new GSM secrets and values, {a}'s are blocked"
        for a, b in zip(gone_teams, added_teams, strict=False)
    ]
    for team in sorted(set(old_teams) | set(new_teams)):
        gone = sorted(k for k, v in old_keys.items() if v["team"] == team and k not in new_keys)
        added = sorted(k for k, v in new_keys.items() if v["team"] == team and k not in old_keys)
        out += [
            f"key {a} → {b}? a rename is a new key: {a}'s value is blocked" for a, b in zip(gone, added, strict=False)
        ]
    for alias in sorted(set(old_keys) & set(new_keys)):
        if old_keys[alias]["team"] != new_keys[alias]["team"]:
            out.append(
                f"key {alias}: a move to another team is a new GSM secret: a new value, "
                "the old one blocked after the grace period"
            )
    return out
