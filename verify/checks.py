"""The checks that read the cluster's objects, GSM and IAM, and the database; and the run they share.

Each check is a function of the run (`Verify`: the stack's config, the objects its program renders,
the live sources): it returns what it proved, or raises `CheckError` or `NotApplicableError`
(verify/sources.py). What a check expects comes from the program itself (the objects the offline run
renders, the config's names), never from a second list.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from components.database.cnpg_roles import GRAFANA_RO_ROLE
from components.database.endpoint import endpoint
from components.reporting.component import NAME as REPORTING_JOB
from components.secrets import reach
from config import StackConfig
from config.inventory import GRAFANA_RO_PASSWORD, gsm_secret_id
from dashboards.reporting_schema import STATE
from dashboards.spend_queries import OVERVIEW
from verify.sources import (
    CheckError,
    Cluster,
    Database,
    Deadline,
    Google,
    Network,
    NotApplicableError,
    Session,
    each,
    fail_on_any,
)

PUBLIC_PROBE = 'SELECT 1 FROM public."LiteLLM_VerificationToken" LIMIT 1'
"""What grafana_ro must be refused: LiteLLM's key tokens (docs/security.md, `grafana_ro` reads only
the reporting schema)."""


@dataclass
class Options:
    completion: str | None = None
    prometheus: str | None = None
    grafana: str | None = None
    grafana_token: str | None = None
    database_dsn: str | None = None


@dataclass
class Verify:
    """One run: the stack as its program renders it, and the live sources."""

    cfg: StackConfig
    rendered: list[dict[str, Any]]
    """Every Kubernetes object the program renders for the stack (secrets redacted)."""
    releases: dict[str, dict[str, Any]]
    """Helm release name -> its values."""
    cluster: Cluster
    google: Google
    network: Network
    database: Database
    deadline: Deadline
    options: Options = field(default_factory=Options)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _open: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _forwards: dict[tuple[str, str, int], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.rendered if o.get("kind") == kind]

    def live(self, rendered: dict[str, Any], namespace: str | None = None) -> list[dict[str, Any]]:
        """The live objects of a rendered object's kind, in its namespace (or `namespace`)."""
        ns = namespace or rendered["metadata"].get("namespace")
        return self.cluster.objects(rendered["apiVersion"], rendered["kind"], ns)

    def found(self, rendered: dict[str, Any]) -> dict[str, Any] | None:
        """The live object a rendered one became, if any."""
        return _by_name(self.live(rendered)).get(rendered["metadata"]["name"])

    def forwarded(self, namespace: str, target: str, port: int) -> str:
        """A port-forward kept open for the rest of the run (checks share it)."""
        key = (namespace, target, port)
        with self._lock:
            if key not in self._forwards:
                self._forwards[key] = self._open.enter_context(self.cluster.forward(namespace, target, port))
            return self._forwards[key]

    def close(self) -> None:
        self._open.close()


def _by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def _ready(obj: dict[str, Any]) -> tuple[bool, str]:
    """A `Ready` condition's truth, and its reason and message."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True", f"{cond.get('reason', '')}: {cond.get('message', '')}".strip(": ")
    return False, "no Ready condition yet"


def timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def go_duration(text: str) -> timedelta:
    """A Go duration (`1h`, `30m`, `1h30m`, `90s`; `0`)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    return timedelta(seconds=sum(float(n) * units[u] for n, u in parts))


def ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600} h {seconds % 3600 // 60} min" if seconds >= 3600 else f"{seconds // 60} min"


# --- ExternalSecrets and their stores ------------------------------------------------------------


def check_secrets(v: Verify) -> str:
    """Every ExternalSecret of the stack Ready and refreshed within twice its refreshInterval; every
    SecretStore it renders Ready."""
    wanted = v.of_kind("ExternalSecret")
    if not wanted:
        raise NotApplicableError("the stack renders no ExternalSecret")
    found = each(v.found, wanted)
    problems, oldest = [], timedelta()
    for es, live in zip(wanted, found, strict=True):
        ns, name = es["metadata"]["namespace"], es["metadata"]["name"]
        if live is None:
            problems.append(f"ExternalSecret {ns}/{name} does not exist")
            continue
        ok, why = _ready(live)
        refreshed = (live.get("status") or {}).get("refreshTime")
        interval = go_duration(str(es["spec"].get("refreshInterval", "1h")))
        if not ok:
            problems.append(f"ExternalSecret {ns}/{name} is not Ready ({why})")
        elif refreshed and interval:
            age = v.now() - timestamp(refreshed)
            oldest = max(oldest, age)
            if age > 2 * interval:
                every = es["spec"].get("refreshInterval", "1h")
                problems.append(f"ExternalSecret {ns}/{name} last synced {ago(age)} ago (refreshInterval {every})")
    stores = v.of_kind("SecretStore") + v.of_kind("ClusterSecretStore")
    for store, live in zip(stores, each(v.found, stores), strict=True):
        where = "/".join(filter(None, [store["metadata"].get("namespace"), store["metadata"]["name"]]))
        ok, why = _ready(live) if live else (False, "it does not exist")
        if not ok:
            problems.append(f"{store['kind']} {where} is not Ready ({why})")
    fail_on_any(
        problems, "kubectl describe the object named: its events say why (a missing GSM secret, a denied IAM grant)"
    )
    return f"{len(wanted)} ExternalSecrets Ready (oldest sync {ago(oldest)} ago), {len(stores)} stores Ready"


# --- who can read the stack's secrets (docs/security.md, Finding 1) --------------------------------


def check_reach(v: Verify) -> str:
    """Every namespace of the cluster reads exactly the stack's GSM secrets its ExternalSecrets consume."""
    rendered = reach.Reach(objects=v.rendered, grants=())
    ours = sorted({s for ns in rendered.namespaces() for s in reach.consumed(rendered, ns)})
    if not ours:
        raise NotApplicableError("the stack's ExternalSecrets read no GSM secret")
    eso = v.of_kind("ExternalSecret")[0]["apiVersion"]
    kinds = [(eso, "ExternalSecret"), (eso, "SecretStore"), (eso, "ClusterSecretStore"), ("v1", "ServiceAccount")]
    listed = each(lambda kind: v.cluster.objects(*kind, None), [*kinds, ("v1", "Namespace")])
    namespaces = listed.pop()
    policies = each(v.google.iam_policy, ["project", *(f"secrets/{s}" for s in ours)])
    grants = [g for s, p in zip([None, *ours], policies, strict=True) for g in reach.policy_grants(s, p)]
    gsas = sorted(
        {
            g.member.removeprefix("serviceAccount:")
            for g in grants
            if g.role in reach.READ_ROLES and g.member.endswith(".gserviceaccount.com")
        }
    )
    gsa_policies = each(v.google.iam_policy, [f"serviceAccounts/{e}" for e in gsas])
    impersonations = [i for e, p in zip(gsas, gsa_policies, strict=True) for i in reach.policy_impersonations(e, p)]
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
    objects = [o for items in listed for o in items]
    # What the program's own workloads read without ESO (the tenants reconciler's keys) is named by
    # the document the program deploys: consumption is the stack's intent, read from its render.
    objects += [o for o in v.of_kind("ConfigMap") if o["metadata"]["name"] == reach.TENANTS_CONFIG_MAP]
    live = reach.Reach(objects, grants, impersonations, labels, secrets=ours)
    try:
        problems = reach.reach_problems(live, set(labels), within=ours)
    except ValueError as error:
        raise CheckError(str(error), "a store ESO cannot be followed to one identity may read anything") from None
    if problems:
        lines = [
            f"namespace {ns} "
            + " and ".join(
                [f"could read {', '.join(p['extra'])} (not consumed there)"] * bool(p["extra"])
                + [f"cannot read {', '.join(p['unreadable'])} (consumed there)"] * bool(p["unreadable"])
            )
            for ns, p in problems.items()
        ]
        raise CheckError(
            "; ".join(lines),
            "grant secretAccessor per secret to the consuming namespace's service account only (docs/security.md)",
        )
    return f"{len(labels)} namespaces: each reads exactly what it consumes of the stack's {len(ours)} GSM secrets"


# --- the database ----------------------------------------------------------------------------------


def check_database(v: Verify) -> str:
    """The CNPG cluster healthy, every instance it should have ready."""
    pg = v.cfg.postgres
    if pg.engine != "cnpg":
        raise NotApplicableError("postgres.engine is external: no CNPG cluster (grafana-ro checks the server)")
    want = pg.cnpg.instances
    (rendered,) = v.of_kind("Cluster")
    name, ns = rendered["metadata"]["name"], rendered["metadata"]["namespace"]
    found = v.found(rendered)
    if found is None:
        raise CheckError(f"CNPG Cluster {ns}/{name} does not exist", "pulumi up, and check the CNPG operator runs")
    status = found.get("status") or {}
    phase, ready = status.get("phase", "no phase yet"), status.get("readyInstances", 0)
    live = (found.get("spec") or {}).get("instances")
    if phase != "Cluster in healthy state" or ready != want or live != want:
        raise CheckError(
            f"CNPG Cluster {ns}/{name}: {ready} of {want} instances ready (spec {live}), phase {phase!r}",
            f"kubectl -n {ns} describe cluster {name}; kubectl -n {ns} get pods -l cnpg.io/cluster={name}",
        )
    return f"CNPG Cluster {ns}/{name}: {ready} of {want} instances ready, {phase}"


@contextlib.contextmanager
def grafana_ro_session(v: Verify) -> Any:
    """A session as grafana_ro: `--database-dsn`, else the CNPG service through a port-forward
    (verify-ca: the forward's address is not the certificate's name), else the external server."""
    ep = endpoint(v.cfg, gsm_secret_id(v.cfg, GRAFANA_RO_PASSWORD))
    password = v.google.secret(ep.grafana_ro_gsm_secret)
    ca = v.google.secret(ep.ca_gsm_secret) if ep.ca_gsm_secret and not v.options.database_dsn else None
    if v.options.database_dsn:
        conninfo = v.options.database_dsn
    elif ep.pod_labels is not None:
        host, _, port = v.forwarded(v.cfg.namespaces.gateway, f"svc/{ep.read_host.split('.')[0]}", ep.port).rpartition(
            ":"
        )
        conninfo = f"host={host} port={port} dbname={ep.database} sslmode=verify-ca"
    else:
        conninfo = f"host={ep.host} port={ep.port} dbname={ep.database} sslmode={ep.sslmode}"
        if ca is None and ep.sslmode == "verify-full":
            conninfo += " sslrootcert=system"
    if "dbname=" not in conninfo:
        conninfo += f" dbname={ep.database}"
    with v.database.session(conninfo, GRAFANA_RO_ROLE, password, ca, v.deadline.left(10)) as session:
        yield session


def _public_refused(session: Session) -> None:
    try:
        session.rows(PUBLIC_PROBE)
    except CheckError as refused:
        if "42501" not in refused.detail:
            raise CheckError(f"reading public as grafana_ro: {refused.detail} (expected SQLSTATE 42501)") from None
        return
    raise CheckError(
        'grafana_ro can read public."LiteLLM_VerificationToken" (key tokens): it holds more than the reporting schema',
        "REVOKE what was granted to grafana_ro on schema public (pg_read_all_data?); docs/security.md",
    )


def check_grafana_ro(v: Verify) -> str:
    """grafana_ro runs a dashboard query (the Spend overview's team list) and is refused `public`."""
    with grafana_ro_session(v) as session:
        query = OVERVIEW.variables[0]
        try:
            rows = session.rows(query.sql)
        except CheckError as error:
            raise CheckError(
                f"grafana_ro cannot run the Spend overview's {query.name} query: {error.detail}",
                "has the reporting job run once (the schema and grafana_ro's grants are its work)?",
            ) from None
        _public_refused(session)
    return f"grafana_ro ran the Spend overview's {query.name} query ({len(rows)} rows) and was refused public (42501)"


# --- the reporting job -----------------------------------------------------------------------------


def schedule_period(schedule: str, now: datetime) -> timedelta:
    """The time between the schedule's last two runs before `now`."""
    it = croniter(schedule, now)
    last: datetime = it.get_prev(datetime)
    before: datetime = it.get_prev(datetime)
    return last - before


def check_reporting(v: Verify) -> str:
    """The reporting CronJob's last success, and `reporting.refresh_state`, within twice its schedule."""
    job = next((j for j in v.of_kind("CronJob") if j["metadata"]["name"] == REPORTING_JOB), None)
    if job is None:
        raise NotApplicableError(f"the stack renders no CronJob {REPORTING_JOB}")
    ns, name, schedule = job["metadata"]["namespace"], job["metadata"]["name"], job["spec"]["schedule"]
    now = v.now()
    allowed = 2 * schedule_period(schedule, now)
    found = v.found(job)
    if found is None:
        raise CheckError(f"CronJob {ns}/{name} does not exist", "pulumi up")
    success = (found.get("status") or {}).get("lastSuccessfulTime")
    logs = f"kubectl -n {ns} get jobs; kubectl -n {ns} logs job/<the last job> --all-containers"
    if not success:
        raise CheckError(f"CronJob {ns}/{name} has never succeeded (schedule {schedule!r})", logs)
    age = now - timestamp(success)
    if age > allowed:
        raise CheckError(f"CronJob {ns}/{name} last succeeded {ago(age)} ago (allowed {ago(allowed)})", logs)
    with grafana_ro_session(v) as session:
        rows = session.rows(f"SELECT refreshed_at FROM {STATE}")
    if not rows or rows[0][0] is None:
        raise CheckError(f"{STATE} is empty: the refresh has never completed", logs)
    refreshed = rows[0][0] if rows[0][0].tzinfo else rows[0][0].replace(tzinfo=UTC)
    if now - refreshed > allowed:
        raise CheckError(f"{STATE} is {ago(now - refreshed)} old (allowed {ago(allowed)})", logs)
    return f"CronJob {name} succeeded {ago(age)} ago, {STATE} {ago(now - refreshed)} old (allowed {ago(allowed)})"
