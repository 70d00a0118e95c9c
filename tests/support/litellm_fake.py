"""An in-process fake of LiteLLM 1.108.7's team and key management API, and of Secret Manager, for the
tenants reconciler (components/tenants/reconciler.py). It keeps the rules of the real API that a
reconciler can trip over (docs/tenants-reconciler.md "Traps"):

- a body field the real request model does not declare is dropped by LiteLLM with a 200: the fake
  raises `IgnoredFieldError` instead (the accepted fields come from the committed OpenAPI capture,
  components/litellm/openapi.json, which a real-proxy test keeps current);
- `key_alias` is unique across all keys, `""` included (a null alias never collides): 400;
- re-sending an existing caller-supplied key value answers 200 and creates nothing (BerriAI/litellm#20494);
- a caller-supplied key must start with `sk-` and be at least 16 characters; /key/block takes a raw
  key only in LiteLLM's raw format (`sk-` + [A-Za-z0-9_-], <= 100 characters) or the 64-hex hash;
- /key/{key}/regenerate and /key/regenerate need an Enterprise licence (500 without);
- /team/new with an existing team_id: 400 (the message a dict repr); /team/delete deletes the team's
  keys (archived: /key/info answers `status: deleted`); a key whose team_id names no team is created
  (proxy admin) but listed under no team: only keys carrying their team's id appear in /team/list;
- /key/update is a merge patch that needs `key` or `key_alias`; `metadata` replaces the stored
  field; `duration` sets expires = now + duration (null: never); changing `budget_duration` keeps
  the spend already counted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from components.tenants.reconciler import CallError

ROOT: Final = Path(__file__).resolve().parents[2]
OPENAPI: Final = ROOT / "components" / "litellm" / "openapi.json"
RAW_KEY: Final = re.compile(r"sk-[A-Za-z0-9_-]+")
HASH: Final = re.compile(r"[a-fA-F0-9]{64}")
DURATION: Final = re.compile(r"(\d+)(mo|s|m|h|d|w)")
UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}
LISTS: Final = frozenset({("GET", "/team/list"), ("GET", "/key/list"), ("GET", "/v2/team/list")})
Row = dict[str, Any]


class IgnoredFieldError(AssertionError):
    """A body field LiteLLM's request model does not declare: the real proxy drops it and answers 200."""


@cache
def accepted_fields() -> dict[tuple[str, str], frozenset[str]]:
    """(method, path) -> the properties of its request body schema, from the committed OpenAPI capture."""
    capture = json.loads(OPENAPI.read_text(encoding="utf-8"))
    found: dict[tuple[str, str], frozenset[str]] = {}
    for path, methods in capture["management"].items():
        for method, operation in methods.items():
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            refs = [schema, *schema.get("anyOf", [])]
            names = [r["$ref"].rsplit("/", 1)[1] for r in refs if "$ref" in r]
            if names:
                found[(method, path)] = frozenset(capture["schemas"][names[0]].get("properties", {}))
    return found


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) the pinned proxy serves, from the committed OpenAPI capture."""
    capture = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {(method, path) for path, methods in capture["paths"].items() for method in methods}


def token_of(key: str) -> str:
    """LiteLLM's `hash_token_if_needed`: a value starting `sk-` is hashed, anything else is taken as a hash."""
    return hashlib.sha256(key.encode()).hexdigest() if key.startswith("sk-") else key


def _error(status: int, message: str) -> CallError:
    return CallError(status, json.dumps({"error": {"message": message, "code": str(status)}}))


@dataclass
class FakeLiteLLM:
    """The management API as the reconciler's `Api` (call(method, path, body, query))."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    licensed: bool = False
    fail_after_writes: int | None = None
    """Every write after this many succeeded answers as a dropped connection (a proxy restarting halfway)."""
    teams: dict[str, Row] = field(default_factory=dict)
    keys: dict[str, Row] = field(default_factory=dict)
    deleted: dict[str, Row] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(1 for method, _, _ in self.calls if method != "GET")

    @property
    def lists(self) -> int:
        return sum(1 for method, path, _ in self.calls if (method, path) in LISTS)

    def reads(self, path: str) -> int:
        return sum(1 for method, p, _ in self.calls if method == "GET" and p == path)

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: str = "") -> Any:
        sent = None if body is None else json.loads(json.dumps(body))  # what goes over the wire
        if method != "GET" and self.fail_after_writes is not None and self.writes >= self.fail_after_writes:
            self.calls.append((method, path, sent))
            raise CallError(0, f"{method} {path}: [Errno 104] Connection reset by peer")
        self.calls.append((method, path, sent))
        route = "/key/{key}/regenerate" if re.fullmatch(r"/key/[^/]+/regenerate", path) else path
        if sent is not None:
            ignored = set(sent) - accepted_fields().get((method, route), frozenset())
            if ignored:
                raise IgnoredFieldError(f"{method} {path}: LiteLLM ignores {sorted(ignored)} (200, nothing stored)")
        if (method, path) == ("GET", "/team/list"):
            return [{**copy.deepcopy(t), "keys": self._team_keys(t["team_id"])} for t in self._sorted_teams()]
        if (method, path) == ("GET", "/key/info"):
            return self._info(dict(p.split("=", 1) for p in query.split("&") if p).get("key", ""))
        handler = {
            "/team/new": self._team_new,
            "/team/update": self._team_update,
            "/team/delete": self._team_delete,
            "/key/generate": self._key_generate,
            "/key/update": self._key_update,
            "/key/block": self._key_block,
            "/key/delete": self._key_delete,
        }.get(path)
        if method == "POST" and route in ("/key/regenerate", "/key/{key}/regenerate"):
            if not self.licensed:
                raise _error(
                    500, "Regenerating Virtual Keys is an Enterprise feature, You must be a LiteLLM Enterprise user"
                )
            raise NotImplementedError("the reconciler never regenerates")
        if method != "POST" or handler is None:
            raise NotImplementedError(f"{method} {path} is not part of the fake")
        return handler(sent or {})

    # -- reads ----------------------------------------------------------------------------------
    def _sorted_teams(self) -> list[Row]:
        return sorted(self.teams.values(), key=lambda t: t.get("team_alias") or "")

    def _team_keys(self, team_id: str) -> list[Row]:
        return [copy.deepcopy(k) for k in self.keys.values() if k.get("team_id") == team_id]

    def _info(self, key: str) -> Row:
        token = token_of(key)
        if token in self.keys:
            row = {k: v for k, v in self.keys[token].items() if k != "token"}
            return {"key": key, "info": {**copy.deepcopy(row), "status": "blocked" if row.get("blocked") else "active"}}
        if token in self.deleted:
            row = {k: v for k, v in self.deleted[token].items() if k != "token"}
            return {"key": key, "info": {**copy.deepcopy(row), "status": "deleted"}}
        raise _error(404, f"Key not found. Passed key={key}")

    # -- teams ----------------------------------------------------------------------------------
    def _team_new(self, body: Row) -> Row:
        team_id = body.get("team_id") or f"team-{len(self.teams)}"
        if team_id == "litellm-dashboard":
            raise _error(400, "team_id 'litellm-dashboard' is reserved")
        if team_id in self.teams:
            raise _error(400, str({"error": f"Team id = {team_id} already exists. Please use a different team id."}))
        row: Row = {"team_alias": None, "max_budget": None, "budget_duration": None, "tpm_limit": None}
        row |= {"rpm_limit": None, "models": [], "blocked": False, "metadata": {}, "spend": 0.0}
        self.teams[team_id] = {**row, **{k: v for k, v in body.items() if k != "team_id"}, "team_id": team_id}
        return copy.deepcopy(self.teams[team_id])

    def _team_update(self, body: Row) -> Row:
        if "team_id" not in body:
            raise _error(422, "team_id: Field required")
        if body["team_id"] not in self.teams:
            raise _error(404, f"Team not found, passed team_id={body['team_id']}")
        self.teams[body["team_id"]].update(body)  # a merge patch; metadata replaces the stored field
        return {"team_id": body["team_id"], "data": copy.deepcopy(self.teams[body["team_id"]])}

    def _team_delete(self, body: Row) -> Row:
        ids = list(dict.fromkeys(body.get("team_ids") or []))
        if missing := [t for t in ids if t not in self.teams]:
            raise _error(404, f"Team not found, passed team_id={missing[0]}")
        for team_id in ids:  # LiteLLM deletes (archives) every key of the team with it
            for token in [t for t, k in self.keys.items() if k.get("team_id") == team_id]:
                self.deleted[token] = self.keys.pop(token)
            del self.teams[team_id]
        return {"deleted_teams": ids}

    # -- keys -----------------------------------------------------------------------------------
    def _alias_taken(self, alias: Any, other_than: str | None = None) -> None:
        if alias is not None and any(k.get("key_alias") == alias and t != other_than for t, k in self.keys.items()):
            raise _error(
                400, f"Key with alias '{alias}' already exists. Unique key aliases across all keys are required."
            )

    def _expires(self, duration: Any) -> str | None:
        if duration is None or duration == "-1":
            return None
        found = DURATION.match(str(duration))
        if not found:
            raise _error(400, f"Invalid duration {duration!r}")
        return (self.now + timedelta(seconds=int(found[1]) * UNIT_S[found[2]])).isoformat()

    def _key_generate(self, body: Row) -> Row:
        self._alias_taken(body.get("key_alias"))  # the alias check fires before the key's own
        value = body.get("key") or "sk-" + hashlib.sha256(str(len(self.keys)).encode()).hexdigest()[:32]
        if not value.startswith("sk-"):
            raise _error(400, "Invalid key format. LiteLLM Virtual Key must start with 'sk-'")
        if len(value) < 16:
            raise _error(400, "Custom key must be at least 16 characters long")
        token = token_of(value)
        answer = {**body, "key": value, "token": token}
        if token in self.keys:  # BerriAI/litellm#20494: an upsert with an empty update; the answer echoes the request
            return answer
        row: Row = {"key_alias": None, "team_id": None, "models": [], "max_budget": None, "budget_duration": None}
        row |= {"tpm_limit": None, "rpm_limit": None, "blocked": None, "metadata": {}, "spend": 0.0}
        row |= {k: v for k, v in body.items() if k not in ("key", "duration")}
        self.keys[token] = {**row, "expires": self._expires(body.get("duration")), "token": token}
        return answer

    def _find_key(self, body: Row) -> str:
        if body.get("key"):
            token = token_of(str(body["key"]))
            if token not in self.keys:
                raise _error(404, "Key not found.")
            return token
        if body.get("key_alias") is None:
            raise _error(422, "Either 'key' or 'key_alias' must be provided")
        found = [t for t, k in self.keys.items() if k.get("key_alias") == body["key_alias"]]
        if len(found) != 1:
            raise _error(404 if not found else 400, f"key_alias {body['key_alias']!r} matches {len(found)} keys")
        return found[0]

    def _key_update(self, body: Row) -> Row:
        token = self._find_key(body)
        if "key_alias" in body and body.get("key"):
            self._alias_taken(body["key_alias"], other_than=token)
        patch = {k: v for k, v in body.items() if k not in ("key", "duration")}
        if "duration" in body:
            patch["expires"] = self._expires(body["duration"])
        self.keys[token].update(patch)  # spend is kept, budget_duration or not
        return {"key": token, **copy.deepcopy(self.keys[token])}

    def _key_block(self, body: Row) -> Row:
        key = str(body.get("key") or "")
        if len(key) > 100 or not (RAW_KEY.fullmatch(key) or HASH.fullmatch(key)):
            raise _error(400, "Invalid key format.")
        if (token := token_of(key)) not in self.keys:
            raise _error(404, "Key not found.")
        self.keys[token]["blocked"] = True
        return copy.deepcopy(self.keys[token])

    def _key_delete(self, body: Row) -> Row:
        if not body.get("keys") and not body.get("key_aliases"):
            raise _error(400, "Either 'keys' or 'key_aliases' must be provided")
        tokens = {token_of(k) for k in body.get("keys") or []}
        tokens |= {t for t, k in self.keys.items() if k.get("key_alias") in (body.get("key_aliases") or [])}
        if not (found := [t for t in tokens if t in self.keys]):  # partial success is silent
            raise _error(404, "No keys found")
        for token in found:
            self.deleted[token] = self.keys.pop(token)
        return {"deleted_keys": sorted(found)}


@dataclass
class FakeGsm:
    """Secret Manager as the reconciler's `Secrets`: the secrets exist (Pulumi creates them), versions do not."""

    secrets: dict[str, list[Row]] = field(default_factory=dict)
    fail_adds: bool = False
    adds: int = 0
    reads: int = 0

    @classmethod
    def holding(cls, names: Iterable[str]) -> FakeGsm:
        return cls(secrets={name: [] for name in names})

    def latest(self, secret: str) -> Any:
        self.reads += 1
        versions = self.secrets.get(secret)
        return copy.deepcopy(versions[-1]) if versions else None

    def add(self, secret: str, payload: Mapping[str, Any]) -> None:
        if self.fail_adds:
            raise CallError(503, f"{secret}:addVersion: unavailable")
        if secret not in self.secrets:
            raise CallError(404, f"Secret [{secret}] not found or has no versions.")
        self.secrets[secret].append(json.loads(json.dumps(payload)))
        self.adds += 1


# -- desired documents and runs, as the tests write them ------------------------------------------
GRACE_S: Final = 7 * 86400
MODEL: Final = "gpt-4o-mini"


def team_doc(alias: str, **over: Any) -> Row:
    """One team of the desired document (components/tenants/desired.py's shape)."""
    meta = {"llm_gateway": {"owner": f"{alias}@acme.example", "cost_centre": "CC-1001"}}
    row = {"team_id": f"llmgw-{alias}", "team_alias": alias, "max_budget": 500.0, "budget_duration": "30d"}
    return row | {"tpm_limit": None, "rpm_limit": None, "models": [MODEL], "blocked": False, "metadata": meta} | over


def key_doc(alias: str, team: str, **over: Any) -> Row:
    """One key of the desired document."""
    row = {"key_alias": alias, "team_id": f"llmgw-{team}", "models": [MODEL], "max_budget": 100.0}
    row |= {"budget_duration": "30d", "tpm_limit": None, "rpm_limit": None, "expires": None, "rotation": 0}
    return row | {"gsm_secret": f"projects/acme/secrets/llmgw-tenant-{team}-{alias}"} | over


def document(
    teams: Iterable[Row], keys: Iterable[Row], *, delete_teams: Iterable[str] = (), delete_keys: Iterable[str] = ()
) -> Row:
    return {
        "schema": 1,
        "grace_period_s": GRACE_S,
        "teams": list(teams),
        "keys": list(keys),
        "delete": {"teams": list(delete_teams), "keys": list(delete_keys)},
    }


@dataclass
class Run:
    code: int
    out: list[str]
    err: list[str]
    writes: int


@dataclass
class Tenants:
    """A fake LiteLLM and a fake GSM holding the document's key secrets; `run` reconciles once."""

    api: FakeLiteLLM = field(default_factory=FakeLiteLLM)
    gsm: FakeGsm = field(default_factory=FakeGsm)
    runs: list[Run] = field(default_factory=list)

    def run(self, doc: Row, now: datetime | None = None) -> Run:
        from components.tenants.reconciler import Reconciler, check

        assert check(doc) == [], check(doc)
        for key in doc["keys"]:
            self.gsm.secrets.setdefault(key["gsm_secret"], [])
        out: list[str] = []
        err: list[str] = []
        reconciler = Reconciler(self.api, self.gsm, now or self.api.now, out=out.append, err=err.append)
        done = Run(reconciler.run(doc), out, err, reconciler.writes)
        self.runs.append(done)
        return done

    def key(self, alias: str) -> Row:
        """The live key holding `alias` (exactly one)."""
        found = [k for k in self.api.keys.values() if k.get("key_alias") == alias]
        assert len(found) == 1, (alias, found)
        return found[0]

    def value(self, doc_key: Row) -> str:
        """The key value GSM holds for a declared key (latest version)."""
        latest = self.gsm.latest(doc_key["gsm_secret"])
        assert latest is not None
        return str(latest["key"])

    def printed(self) -> str:
        return "\n".join(line for run in self.runs for line in [*run.out, *run.err])

    def values(self) -> list[str]:
        return [str(v["key"]) for versions in self.gsm.secrets.values() for v in versions]
