"""The desired-state document the in-cluster reconciler applies (docs/tenants.md), built from config.

Pure and deterministic: the same section gives the same bytes (sorted keys, compact separators), so
the Job named by its hash changes exactly when the document (or the reconciler) does. It holds no
secret: key values live in GSM only, the document names each key's GSM secret.

Each key's budget and limits are what LiteLLM stores for it (`key_limits`: the declared value, else
the stack's key defaults), so the reconciler compares like with like and reports no false drift.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from components.secrets.store import gsm_secret_path
from components.tenants.reconciler import MARK
from config import LiteLLMConfig, TenantsConfig
from config.tenants import all_keys, duration_seconds, key_models, tenant_key_gsm_id
from config.tenants_rules import key_limits

SCHEMA: Final = 1


def desired_document(tenants: TenantsConfig, lit: LiteLLMConfig, project: str, prefix: str) -> dict[str, Any]:
    """The document (design §2): teams, keys (with their GSM secrets), the grace period and deletions."""
    teams = [
        {
            "team_id": team.team_id,
            "team_alias": team.alias,
            "max_budget": float(team.max_budget),
            "budget_duration": team.budget_duration,
            "tpm_limit": team.tpm_limit,
            "rpm_limit": team.rpm_limit,
            "models": list(team.models),
            "blocked": team.blocked,
            "metadata": {MARK: {"owner": team.owner, "cost_centre": team.cost_centre}},
        }
        for team in tenants.teams
    ]
    keys = []
    for _, team, _, key in all_keys(tenants):
        limits = key_limits(key, lit)
        keys.append(
            {
                "key_alias": key.alias,
                "team_id": team.team_id,
                "models": key_models(team, key),
                "max_budget": None if limits.max_budget is None else float(limits.max_budget),
                "budget_duration": limits.budget_duration,
                "tpm_limit": limits.tpm_limit,
                "rpm_limit": limits.rpm_limit,
                "expires": None if key.expires is None else f"{key.expires}T00:00:00Z",
                "rotation": key.rotation,
                "gsm_secret": gsm_secret_path(project, tenant_key_gsm_id(prefix, team, key)),
            }
        )
    return {
        "schema": SCHEMA,
        "grace_period_s": duration_seconds(tenants.grace_period),
        "teams": teams,
        "keys": keys,
        "delete": {"teams": list(tenants.delete.teams), "keys": list(tenants.delete.keys)},
    }


def document_text(doc: dict[str, Any]) -> str:
    """The document's bytes in the ConfigMap: sorted keys, one line, a final newline."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def run_hash(document: str, reconciler_source: str, length: int = 10) -> str:
    """What names the Job: the document and the reconciler's source (a change to either runs it again)."""
    digest = hashlib.sha256()
    for part in (document, reconciler_source):
        digest.update(len(part.encode()).to_bytes(8, "big"))
        digest.update(part.encode())
    return digest.hexdigest()[:length]
