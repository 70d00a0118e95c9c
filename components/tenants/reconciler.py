"""Make LiteLLM's teams and virtual keys match the desired tenants document (stdlib only, runs in the cluster):
`python3 reconciler.py DESIRED.json`, env LITELLM_URL, LITELLM_MASTER_KEY; GSM by Workload Identity.
Teams by their own team_id; key values from GSM (new ones stored there first), keys found by sha256;
what is no longer declared blocked, deleted only when `delete` names it. One line per change, never a key
value; exit 1 after doing what it can when a call failed (a rerun completes it), 2 on a bad document.
Behaviour, and LiteLLM's traps it guards against: docs/tenants-reconciler.md."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

MARK: Final = "llm_gateway"  # metadata.llm_gateway: {managed: true} (+ keys: rotation, retired_at)
CHANGED_BY: Final = "llm-gateway-tenants"  # litellm-changed-by; LiteLLM ignores it for the master key
GSM_URL: Final = "https://secretmanager.googleapis.com/v1"
GOOGLE: Final = {"Metadata-Flavor": "Google"}
TOKEN_URL: Final = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
TEAM_FIELDS: Final = ("team_alias", "max_budget", "budget_duration", "tpm_limit", "rpm_limit", "models", "blocked")
KEY_FIELDS: Final = ("key_alias", "team_id", *TEAM_FIELDS[1:])  # the limits, models and blocked
EXPIRY_SLACK: Final = timedelta(hours=1)  # `duration` moves the expiry on every send: only when this far off
KEY_VALUE: Final = re.compile(r"sk-[A-Za-z0-9_-]{16,97}")
# budget_duration, strictly: LiteLLM's validator passes trailing text ('30days') that its resetter misreads.
PERIOD: Final = re.compile(r"[1-9]\d*(s|m|h|d|w|mo)")
_N, _I, _S, _L = (int, float, type(None)), (int, type(None)), (str, type(None)), (list,)
DOC_TYPES: Final = {"schema": (int,), "grace_period_s": (int,), "teams": _L, "keys": _L, "delete": (dict,)}
_LIMITS: Final = {"models": _L, "max_budget": _N, "budget_duration": _S, "tpm_limit": _I, "rpm_limit": _I}
TEAM_TYPES: Final = {"team_id": (str,), "team_alias": (str,), **_LIMITS, "blocked": (bool,), "metadata": (dict,)}
KEY_TYPES: Final = {
    "key_alias": (str,), "team_id": (str,), **_LIMITS, "expires": _S, "rotation": (int,), "gsm_secret": (str,),
}  # fmt: skip
Row = dict[str, Any]


class CallError(Exception):  # a call answered with an error status (0: no answer); never holds a key value
    def __init__(self, status: int, message: str) -> None:
        super().__init__((f"HTTP {status} " if status else "") + KEY_VALUE.sub("sk-***", message)[:400])
        self.status = status


class Api(Protocol):
    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: str = "") -> Any: ...


class Secrets(Protocol):
    def latest(self, secret: str) -> Any: ...  # the latest version's JSON payload, None when it has no version
    def add(self, secret: str, payload: Mapping[str, Any]) -> None: ...


def _stderr(line: str) -> None:  # sys.stderr when called (a test captures it)
    print(line, file=sys.stderr)


def key_hash(value: str) -> str:  # LiteLLM's token: sha256 of the raw value (`sk-` included), hex
    return hashlib.sha256(value.encode()).hexdigest()


def new_value() -> str:
    return "sk-" + secrets.token_urlsafe(36)  # 48 url-safe characters: the format /key/block takes raw, <= 100


def http(method: str, url: str, headers: Mapping[str, str], body: Mapping[str, Any] | None = None) -> Any:
    data, where = None if body is None else json.dumps(body).encode(), f"{method} {url.split('?')[0]}"
    sent = urllib.request.Request(url, data, {"Content-Type": "application/json", **headers}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:  # noqa: S310 (the deployment's http(s) URLs)
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raise CallError(error.code, f"{where}: {error.read().decode(errors='replace')}") from None
    except (OSError, ValueError) as error:  # no answer, a timeout, an answer that is not JSON
        raise CallError(0, f"{where}: {error}") from None


@dataclass
class HttpApi:  # LiteLLM's management API with the master key (never printed)
    base_url: str
    master_key: str = field(repr=False)

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: str = "") -> Any:
        headers = {"Authorization": f"Bearer {self.master_key}", "litellm-changed-by": CHANGED_BY}
        return http(method, self.base_url.rstrip("/") + path + (f"?{query}" if query else ""), headers, body)


@dataclass
class GsmApi:  # Secret Manager's REST API with the pod's Workload Identity token (the GKE metadata server's)
    base_url: str = GSM_URL
    token_url: str = TOKEN_URL
    _auth: dict[str, str] = field(default_factory=dict, repr=False)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        if not self._auth:  # a token lives an hour; a run takes minutes
            self._auth["Authorization"] = "Bearer " + http("GET", self.token_url, GOOGLE)["access_token"]
        return http(method, f"{self.base_url}/{path}", self._auth, body)

    def latest(self, secret: str) -> Any:
        try:
            answer = self._call("GET", f"{secret}/versions/latest:access")
        except CallError as error:
            if error.status == 404:  # no version yet (no secret either: adding a version then fails)
                return None
            raise
        return json.loads(base64.b64decode(answer["payload"]["data"]))

    def add(self, secret: str, payload: Mapping[str, Any]) -> None:
        data = base64.b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
        self._call("POST", f"{secret}:addVersion", {"payload": {"data": data}})


def _typed(row: Any, at: str, types: Mapping[str, tuple[type, ...]]) -> list[str]:
    if not isinstance(row, dict):
        return [f"{at}: expected an object"]
    found = [f"{at}.{name}: unknown field" for name in sorted(set(row) - set(types))]
    for name, accepted in types.items():
        value = row.get(name, ...)
        if value is ... or not isinstance(value, accepted) or (type(value) is bool and bool not in accepted):
            found.append(f"{at}.{name}: {'missing' if value is ... else type(value).__name__}")
        elif isinstance(value, list) and at != "document" and not all(isinstance(v, str) for v in value):
            found.append(f"{at}.{name}: expected a list of strings")
    return found


def check(doc: Any) -> list[str]:
    """Every problem of the desired document, each naming its key path (empty: valid)."""
    if found := _typed(doc, "document", DOC_TYPES):
        return found
    found = [] if doc["schema"] == 1 and doc["grace_period_s"] >= 0 else ["schema != 1 or grace_period_s < 0"]
    found += _typed(doc["delete"], "delete", {"teams": _L, "keys": _L})
    for kind, types in (("teams", TEAM_TYPES), ("keys", KEY_TYPES)):
        found += [problem for i, row in enumerate(doc[kind]) for problem in _typed(row, f"{kind}[{i}]", types)]
    if found:
        return found
    ids, aliases = [t["team_id"] for t in doc["teams"]], [k["key_alias"].casefold() for k in doc["keys"]]
    found += [f"teams[{i}].team_id: {t!r} repeats" for i, t in enumerate(ids) if t in ids[:i]]
    for kind in ("teams", "keys"):
        found += [f"{kind}[{i}].budget_duration: {r['budget_duration']!r}" for i, r in enumerate(doc[kind])
                  if not PERIOD.fullmatch(r["budget_duration"] or "1d")]  # fmt: skip
    for i, key in enumerate(doc["keys"]):
        found += [f"keys[{i}].{m}" for bad, m in (
            (aliases[i] in aliases[:i], f"key_alias: {key['key_alias']!r} repeats"),
            (not aliases[i] or "~" in aliases[i], f"key_alias: {key['key_alias']!r} is empty or holds '~'"),
            (key["team_id"] not in ids, f"team_id: {key['team_id']!r} is not a declared team"),
            (key["rotation"] < 0, f"rotation: {key['rotation']} < 0"),
            (not re.fullmatch(r"projects/[^/]+/secrets/[^/]+", key["gsm_secret"]), f"gsm_secret: {key['gsm_secret']!r}"),  # noqa: E501
            (key["expires"] is not None and _when(key["expires"]) is None, f"expires: {key['expires']!r}"),
        ) if bad]  # fmt: skip
    teams, delete = set(ids) | {t["team_alias"] for t in doc["teams"]}, doc["delete"]
    found += [f"delete.teams: {n!r} is still declared" for n in delete["teams"] if n in teams]
    return found + [f"delete.keys: {n!r} is still declared" for n in delete["keys"] if n.casefold() in aliases]


def _when(text: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _mine(row: Row) -> Row:
    mark = (row.get("metadata") or {}).get(MARK)
    return mark if isinstance(mark, dict) else {}


def _show(value: Any) -> str:
    value = int(value) if isinstance(value, float) and value.is_integer() else value
    return "unset" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)


def _same(name: str, have: Any, want: Any) -> bool:
    if name == "models":
        return sorted(have or []) == sorted(want or [])
    if isinstance(have, int | float) and isinstance(want, int | float) and type(have) is not bool:
        return float(have) == float(want)
    return bool(have == want) or (have is None and want is False)  # a key's `blocked` is null until set


@dataclass
class Reconciler:
    api: Api
    store: Secrets
    now: datetime
    out: Callable[[str], None] = print
    err: Callable[[str], None] = _stderr
    new_value: Callable[[], str] = new_value
    writes: int = 0
    failures: int = 0

    def run(self, doc: Mapping[str, Any]) -> int:
        try:
            listed: list[Row] = self.api.call("GET", "/team/list")
        except CallError as error:
            self._fail(str(error))
            return 1
        teams = {t["team_id"]: t for t in listed}
        keys = {k["token"]: k for t in listed for k in t.get("keys") or []}
        declared = self._keys(doc, keys, self._teams(doc, teams))
        self._block(doc, keys, declared)
        self._delete(doc, teams, keys)
        if unmanaged := [r for r in [*teams.values(), *keys.values()] if not _mine(r).get("managed")]:
            self.out(f"unmanaged: {len(unmanaged)} teams and keys without metadata.{MARK}.managed, left alone")
        self.out(f"summary: {self.writes} writes, {self.failures} failed")
        return 1 if self.failures else 0

    def _write(self, path: str, body: Mapping[str, Any], line: str) -> bool:
        try:
            self.api.call("POST", path, body)
        except CallError as error:
            self._fail(f"{line}: FAILED ({path}: {error})")
            return False
        self.writes += 1
        self.out(line)
        return True

    def _fail(self, line: str) -> None:
        self.failures += 1
        self.err("error: " + KEY_VALUE.sub("sk-***", line))

    def _drift(self, name: str, have: Row, want: Row, fields: tuple[str, ...]) -> Row:
        """The fields (and our part of metadata) that differ, each reported; the rest of metadata is kept."""
        changed = {f: want[f] for f in fields if not _same(f, have.get(f), want[f])}
        if _mine(have) != want["metadata"][MARK]:
            changed["metadata"] = {**(have.get("metadata") or {}), MARK: want["metadata"][MARK]}
        for f, value in changed.items():
            before, after = (_mine(have), value[MARK]) if f == "metadata" else (have.get(f), value)
            self.out(f"drift: {name} {f}{'.' + MARK if f == 'metadata' else ''} {_show(before)} -> {_show(after)}")
        return changed

    def _teams(self, doc: Mapping[str, Any], teams: dict[str, Row]) -> set[str]:
        """Create or correct the declared teams (returns the ids in place, for their keys); block the undeclared."""
        ready, declared = set(), {t["team_id"] for t in doc["teams"]}
        for want in doc["teams"]:
            tid, name, metadata = want["team_id"], f"team {want['team_alias']}", want["metadata"]
            want = {**want, "metadata": {**metadata, MARK: {**metadata.get(MARK, {}), "managed": True}}}
            if (have := teams.get(tid)) is None:
                body = {f: want[f] for f in ("team_id", *TEAM_FIELDS, "metadata")}
                ready |= {tid} if self._write("/team/new", body, f"{name}: created") else set()
                continue
            if changed := self._drift(name, have, want, TEAM_FIELDS):
                self._write("/team/update", {"team_id": tid, **changed}, f"{name}: updated")
            ready.add(tid)
        for tid, team in teams.items():
            exempt = tid in declared or {tid, team.get("team_alias")} & set(doc["delete"]["teams"])  # or deleted
            if _mine(team).get("managed") and not team.get("blocked") and not exempt:
                self._write("/team/update", {"team_id": tid, "blocked": True}, f"team {team['team_alias']}: blocked")
        return ready

    def _value(self, want: Row) -> tuple[str, bool]:
        """The key's value from GSM and whether it is new (stored first: GSM had none, or its rotation is behind)."""
        stored, rotation = self.store.latest(want["gsm_secret"]), want["rotation"]
        if stored is not None:
            if not isinstance(stored, dict) or not KEY_VALUE.fullmatch(str(stored.get("key"))):
                raise ValueError("GSM's latest version is not {key, rotation}, not touched")
            if type(stored.get("rotation")) is not int or stored["rotation"] > rotation:
                raise ValueError(f"GSM holds rotation {stored.get('rotation')!r}, not the declared {rotation}")
            if stored["rotation"] == rotation:
                return str(stored["key"]), False
        value = self.new_value()
        self.store.add(want["gsm_secret"], {"key": value, "rotation": rotation})
        self.writes += 1
        self.out(f"key {want['key_alias']}: new value in GSM (r{rotation})")
        return value, True

    def _find(self, token: str, keys: dict[str, Row]) -> Row | None:
        """The key by hash: listed, else /key/info (a key moved out of its team); None when there is none."""
        if token not in keys:
            try:
                info = self.api.call("GET", "/key/info", query=f"key={token}")["info"]
            except CallError as error:
                if error.status == 404:
                    return None
                raise
            if info.get("status") == "deleted":  # /key/info also answers from the deleted keys' archive
                return None
            keys[token] = {**info, "token": token}
        return keys[token]

    def _keys(self, doc: Mapping[str, Any], keys: dict[str, Row], ready: set[str]) -> set[str]:
        """Register or correct the declared keys of teams in place (an admin may create keys for a missing team)."""
        declared = set()
        for want in doc["keys"]:
            name = f"key {want['key_alias']}"
            if want["team_id"] not in ready:
                self._fail(f"{name}: skipped, its team {want['team_id']} is not in place")
                continue
            if (expires := _when(want["expires"])) is not None and expires <= self.now:  # before GSM: no half rotation
                self.out(f"{name}: expired {want['expires']}, nothing written (extend its expires or remove the key)")
                continue
            try:
                value, fresh = self._value(want)
                declared.add(token := key_hash(value))
                want = {**want, "blocked": False, "metadata": {MARK: {"managed": True, "rotation": want["rotation"]}}}
                if (have := None if fresh else self._find(token, keys)) is None:  # a new value: no lookup
                    self._register(name, want, value, keys)
                else:
                    self._update(name, want, have)
            except (CallError, ValueError, KeyError, TypeError) as error:
                self._fail(f"{name}: {error}")
        return declared

    def _until(self, want: Row) -> str | None:  # `duration` for the declared expiry (`<seconds>s`; None: never)
        expires = _when(want["expires"])  # in the future: _keys skipped an expired key
        return None if expires is None else f"{max(1, int((expires - self.now).total_seconds()))}s"

    def _update(self, name: str, want: Row, have: Row) -> None:
        changed = self._drift(name, have, want, KEY_FIELDS)
        stored, expires = _when(have.get("expires")), _when(want["expires"])
        if (stored is None) != (expires is None) or (stored and expires and abs(stored - expires) > EXPIRY_SLACK):
            self.out(f"drift: {name} expires {_show(stored and stored.isoformat())} -> {_show(want['expires'])}")
            changed["duration"] = self._until(want)
        if changed and self._write("/key/update", {"key": have["token"], **changed}, f"{name}: updated"):
            have.update(changed)

    def _register(self, name: str, want: Row, value: str, keys: dict[str, Row]) -> None:
        """A new key with the caller's value, after renaming the previous rotation that holds its alias."""
        row = {f: want[f] for f in (*KEY_FIELDS, "metadata")}
        body = {"key": value, **row, **({"duration": self._until(want)} if want["expires"] is not None else {})}
        holder = next((k for k in keys.values() if k.get("key_alias") == want["key_alias"]), None)
        if holder is not None and not self._retire(holder, keys):
            return
        line = f"{name}: rotated (r{want['rotation']})" if holder else f"{name}: created"
        self._write("/key/generate", body, line)

    def _retire(self, holder: Row, keys: dict[str, Row]) -> bool:
        """Free the alias (unique across all keys): rename the key holding it `<alias>~r<N>`, with retired_at."""
        alias, mark = holder["key_alias"], _mine(holder)
        if not mark.get("managed"):
            self._fail(f"key {alias}: its alias is held by a key without metadata.{MARK}.managed, not touched")
            return False
        retired = f"{alias}~r{mark.get('rotation', 0)}"
        retired += f"~{holder['token'][:8]}" if any(k.get("key_alias") == retired for k in keys.values()) else ""
        metadata = {**holder["metadata"], MARK: {**mark, "retired_at": self.now.strftime("%Y-%m-%dT%H:%M:%SZ")}}
        body = {"key": holder["token"], "key_alias": retired, "metadata": metadata}
        if done := self._write("/key/update", body, f"key {retired}: retired (blocked after the grace period)"):
            holder.update(key_alias=retired, metadata=metadata)
        return done

    def _block(self, doc: Mapping[str, Any], keys: dict[str, Row], declared: set[str]) -> None:
        """Block retired keys past the grace period and managed keys no longer declared (never delete)."""
        aliases, doomed = {k["key_alias"] for k in doc["keys"]}, set(doc["delete"]["keys"])
        for token, key in keys.items():
            mark, alias = _mine(key), key.get("key_alias") or ""
            if not mark.get("managed") or token in declared or key.get("blocked") or alias.split("~")[0] in doomed:
                continue
            if (retired := _when(mark["retired_at"]) if "retired_at" in mark else None) is not None:
                over = self.now >= retired + timedelta(seconds=doc["grace_period_s"])
                why = "retired, grace period over" if over else ""
            else:  # a declared alias on another value: the rotation failed halfway, it stays
                why = "" if alias in aliases else "no longer declared"
            if why and self._write("/key/block", {"key": token}, f"key {alias}: blocked ({why})"):
                key["blocked"] = True

    def _delete(self, doc: Mapping[str, Any], teams: dict[str, Row], keys: dict[str, Row]) -> None:
        """`delete.keys` (their retired rotations too), then the managed `delete.teams` holding no key any more."""
        for alias in doc["delete"]["keys"]:
            found = [k for k in keys.values() if (k.get("key_alias") or "").split("~")[0] == alias]
            if any(not _mine(k).get("managed") for k in found):
                self._fail(f"key {alias}: not deleted, a key without metadata.{MARK}.managed holds the alias")
            elif found and self._write("/key/delete", {"keys": [k["token"] for k in found]}, f"key {alias}: deleted"):
                for k in found:
                    del keys[k["token"]]
        for name in doc["delete"]["teams"]:
            found = [t for t in teams.values() if name == t["team_id"] or (_mine(t) and name == t.get("team_alias"))]
            tid = found[0]["team_id"] if len(found) == 1 and _mine(found[0]).get("managed") else None
            held = sorted(k.get("key_alias") or "(no alias)" for k in keys.values() if tid and k.get("team_id") == tid)
            if found and tid is None:
                self._fail(f"team {name}: not deleted, not managed (or the alias names {len(found)} teams)")
            elif held:
                self._fail(f"team {name}: not deleted, /team/delete would delete its keys not in delete.keys: {held}")
            elif tid:
                self._write("/team/delete", {"team_ids": [tid]}, f"team {name}: deleted")


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args, env = sys.argv[1:] if argv is None else argv, os.environ if env is None else env
    if len(args) != 1 or not env.get("LITELLM_URL") or not env.get("LITELLM_MASTER_KEY"):
        _stderr("usage: LITELLM_URL=... LITELLM_MASTER_KEY=... python3 reconciler.py DESIRED.json")
        return 2
    try:
        with open(args[0], encoding="utf-8") as handle:
            problems = check(doc := json.load(handle))
    except (OSError, ValueError) as error:
        problems = [str(error)]
    if problems:
        _stderr(f"error: {args[0]}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
        return 2
    return Reconciler(HttpApi(env["LITELLM_URL"], env["LITELLM_MASTER_KEY"]), GsmApi(), datetime.now(UTC)).run(doc)


if __name__ == "__main__":
    sys.exit(main())
