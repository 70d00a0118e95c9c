"""The checks that talk HTTP: LiteLLM, a completion, Prometheus, Grafana, Langfuse, and the Ingress
hosts (DNS, the certificate, which paths sign in first).

Same contract as verify/checks.py: return what was proved, raise `CheckError` or `NotApplicableError`.
In-cluster HTTP goes through the API server's proxy (`Cluster.http`); the completion, which carries
the master key in `Authorization`, through a port-forward.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

from components.kit import helm_fullname
from components.langfuse.names import WEB_PORT, names
from components.litellm.names import selector_labels, service_name
from config import API_PORT
from config.inventory import LANGFUSE_CLICKHOUSE_PASSWORD, MASTER_KEY, gsm_secret_id
from verify.checks import Verify
from verify.sources import Answer, CheckError, NotApplicableError, TlsAnswer, each, fail_on_any, http

READINESS_LIMIT_S = 1.0
CERT_MIN_DAYS = 14
PROMETHEUS_PORT = 9090
PROMETHEUS_SERVICE = "svc/prometheus-operated"
"""The Service the Prometheus operator creates beside every Prometheus it runs."""
CLICKHOUSE_HTTP_PORT = 8123
BROWSER_PATHS = ("/ui", "/key/generate")
"""The admin UI and a management route: oauth2-proxy's with SSO (docs/ingress-paths.md)."""
CLIENT_PATH = "/v1/models"
"""An API client route: LiteLLM's own, never a sign-in."""
BLOCKED_PATH = "/metrics"


def _base(address: str) -> str:
    return address if "://" in address else f"http://{address}"


# --- LiteLLM ---------------------------------------------------------------------------------------


def _labels_match(obj: dict[str, Any], labels: dict[str, str]) -> bool:
    own = obj["metadata"].get("labels") or {}
    return all(own.get(k) == v for k, v in labels.items())


def check_litellm(v: Verify) -> str:
    """Every LiteLLM pod answers /health/liveliness, and /health/readiness in under a second."""
    ns = v.cfg.namespaces.gateway
    pods = [p for p in v.cluster.objects("v1", "Pod", ns) if _labels_match(p, selector_labels(v.cfg.litellm))]
    running = [p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        raise CheckError(f"no running LiteLLM pod in {ns} ({len(pods)} found)", f"kubectl -n {ns} get pods,events")

    def probe(pod: str) -> str:
        live = v.cluster.http(ns, f"pod/{pod}", API_PORT, "/health/liveliness", v.deadline.left(5))
        ready = v.cluster.http(ns, f"pod/{pod}", API_PORT, "/health/readiness", v.deadline.left(5))
        if live.status != 200:
            return f"pod {pod}: /health/liveliness answered {live.status}"
        if ready.status != 200:
            return f"pod {pod}: /health/readiness answered {ready.status} {ready.text()}"
        if ready.seconds >= READINESS_LIMIT_S:
            return f"pod {pod}: /health/readiness took {ready.seconds:.2f} s (limit {READINESS_LIMIT_S:.0f} s)"
        return f"{ready.seconds:.2f} s"

    answers = each(probe, running)
    bad = [a for a in answers if a.startswith("pod ")]
    fail_on_any(bad, f"kubectl -n {ns} logs <pod>: the database or Redis it waits for?")
    return f"{len(running)} pods: /health/readiness in {', '.join(answers)}; /health/liveliness 200"


def check_completion(v: Verify) -> str:
    """One chat completion through the proxy's Service with the master key (from GSM, never shown)."""
    model = v.options.completion
    if not model:
        raise NotApplicableError("no --completion MODEL (it sends one request the provider bills)")
    key = v.google.secret(gsm_secret_id(v.cfg, MASTER_KEY))
    base = _base(v.forwarded(v.cfg.namespaces.gateway, f"svc/{service_name(v.cfg.litellm)}", API_PORT))
    body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5}
    answer = http(
        f"{base}/v1/chat/completions",
        v.deadline.left(60),
        headers={"Authorization": f"Bearer {key}"},
        body=body,
    )
    if answer.status != 200:
        error = ((answer.json() or {}).get("error") or {}).get("message") or answer.body[:300].decode(errors="replace")
        raise CheckError(
            f"{model}: {answer.status} {str(error).replace(key, '[master key]')[:300]}",
            "litellm.models names the model? the provider key's GSM secret synced (verify --only secrets)?",
        )
    return f"{model} answered in {answer.seconds:.2f} s"


# --- Prometheus ------------------------------------------------------------------------------------


def _prometheus(v: Verify, path: str) -> Any:
    if v.options.prometheus:
        answer = http(f"{v.options.prometheus.rstrip('/')}{path}", v.deadline.left(10))
    else:
        ns = v.cfg.litellm.network.prometheus_namespace
        answer = v.cluster.http(ns, PROMETHEUS_SERVICE, PROMETHEUS_PORT, path, v.deadline.left(10))
    data = answer.json()
    if answer.status != 200 or not isinstance(data, dict) or data.get("status") != "success":
        raise CheckError(
            f"Prometheus {path}: {answer.status} {answer.text()}", "--prometheus URL, or the Service it runs behind"
        )
    return data["data"]


def check_prometheus(v: Verify) -> str:
    """The stack's ServiceMonitors and PodMonitors have targets, all up; its rule groups are loaded and
    none of their rules is in health `err`."""
    pools = [
        f"{kind[0].lower()}{kind[1:]}/{o['metadata']['namespace']}/{o['metadata']['name']}/"
        for kind in ("ServiceMonitor", "PodMonitor")
        for o in v.of_kind(kind)
    ]
    source = {
        g["name"]: f"{rule['metadata']['namespace']}/{rule['metadata']['name']}"
        for rule in v.of_kind("PrometheusRule")
        for g in rule["spec"]["groups"]
    }
    if not pools and not source:
        raise NotApplicableError("the stack renders no monitor and no rule")
    targets, rules = each(lambda path: _prometheus(v, path), ["/api/v1/targets?state=active", "/api/v1/rules"])
    problems, failing = [], []
    for pool in pools:
        mine = [t for t in targets["activeTargets"] if str(t.get("scrapePool", "")).startswith(pool)]
        down = [t for t in mine if t.get("health") != "up"]
        if not mine:
            problems.append(f"{pool.rstrip('/')}: no target (is the monitor selected: its `release` label?)")
        elif down:
            problems.append(f"{pool.rstrip('/')}: {len(down)} of {len(mine)} targets down ({down[0].get('lastError')})")
    loaded = {g["name"]: g for g in rules["groups"]}
    for name, rule_object in source.items():
        if name not in loaded:
            problems.append(f"rule group {name} is not loaded (is the PrometheusRule selected: its `release` label?)")
            continue
        for rule in loaded[name]["rules"]:
            if rule.get("health") == "err":
                kind = f"{rule['type']} rule" if rule.get("type") else "rule"
                failing.append(
                    (f"{kind} {rule['name']} of group {name} fails to evaluate: {rule.get('lastError')}", rule_object)
                )
    if problems or failing:
        steps = ["the Prometheus UI's Targets and Rules pages say more"] if problems else []
        steps += [
            "run the rule's expression in the Prometheus UI (Graph) to see the series behind the error "
            f"(one target scraped by two monitors?); the rule comes from PrometheusRule {rule_object} "
            "(the `alerts` settings): an expression at fault is a bug, report it with this output"
            for rule_object in dict.fromkeys(o for _, o in failing)
        ]
        fail_on_any(problems + [said for said, _ in failing], "; ".join(steps))
    return f"{len(pools)} monitors with every target up; {len(source)} rule groups loaded, no rule in error"


# --- Grafana ---------------------------------------------------------------------------------------


def check_grafana(v: Verify) -> str:
    """Grafana has the stack's dashboards (in their folder) and its datasource, which connects."""
    if not v.options.grafana or not v.options.grafana_token:
        raise NotApplicableError(
            "no --grafana URL with GRAFANA_TOKEN (a Grafana service account token) in the environment"
        )
    base, auth = v.options.grafana.rstrip("/"), {"Authorization": f"Bearer {v.options.grafana_token}"}

    def get(path: str) -> Answer:
        return http(f"{base}{path}", v.deadline.left(10), headers=auth)

    uid = v.cfg.grafana.datasource_uid
    source = f"/api/datasources/uid/{quote(uid)}"
    search, found_source, health = each(get, ["/api/search?type=dash-db&limit=5000", source, f"{source}/health"])
    if search.status != 200:
        raise CheckError(f"Grafana /api/search: {search.status}", "is GRAFANA_TOKEN a token of this Grafana (Viewer)?")
    found = {d["uid"]: d for d in search.json() or []}
    problems = []
    wanted = []
    for cm in v.of_kind("ConfigMap"):
        if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") != "1":
            continue
        folder = (cm["metadata"].get("annotations") or {}).get("grafana_folder")
        for text in (cm.get("data") or {}).values():
            board = json.loads(text)
            wanted.append(board["uid"])
            got = found.get(board["uid"])
            if got is None:
                problems.append(f"dashboard {board['title']!r} is missing")
            elif folder and got.get("folderTitle") != folder:
                problems.append(f"dashboard {board['title']!r} is in folder {got.get('folderTitle')!r}, not {folder!r}")
    if found_source.status != 200:
        problems.append(f"datasource {uid} is missing ({found_source.status})")
    elif health.status != 200:
        message = (health.json() or {}).get("message", health.body[:200].decode(errors="replace"))
        problems.append(f"datasource {uid} does not connect: {message}")
    fail_on_any(
        problems, "the sidecars' logs: kubectl -n <grafana namespace> logs deploy/<grafana> -c grafana-sc-dashboard"
    )
    return f"{len(wanted)} dashboards; datasource {uid} connects"


# --- Langfuse --------------------------------------------------------------------------------------


def check_langfuse(v: Verify) -> str:
    """Langfuse's web answers /api/public/health, and its ClickHouse migrations are done (not dirty)."""
    lf = v.cfg.langfuse
    if not lf.enabled:
        raise NotApplicableError("langfuse.enabled is false")
    n, ns = names(v.cfg), v.cfg.namespaces.gateway
    health = v.cluster.http(ns, f"svc/{n.web_service}", WEB_PORT, "/api/public/health", v.deadline.left(10))
    if health.status != 200:
        raise CheckError(
            f"Langfuse {n.web_service} /api/public/health: {health.status}",
            f"kubectl -n {ns} logs deploy/{n.web_service}",
        )
    values = v.releases.get(lf.release_name, {}).get("clickhouse") or {}
    # the release's ClickHouse host (v4: the operator's Service, as a cluster DNS name), else v3's bundled one
    host = str(values.get("host") or helm_fullname(lf.release_name, "clickhouse")).split(".")[0]
    port = int(values.get("httpPort", CLICKHOUSE_HTTP_PORT))
    password = v.google.secret(gsm_secret_id(v.cfg, LANGFUSE_CLICKHOUSE_PASSWORD))
    query = "SELECT version, dirty FROM schema_migrations ORDER BY sequence DESC LIMIT 1 FORMAT JSONCompact"
    answer = v.cluster.http(
        ns,
        f"svc/{host}",
        port,
        f"/?query={quote(query)}",
        v.deadline.left(10),
        {"X-ClickHouse-User": "default", "X-ClickHouse-Key": password},
    )
    rows = (answer.json() or {}).get("data") if answer.status == 200 else None
    if not rows:
        said = answer.text().replace(password, "[password]")
        raise CheckError(
            f"ClickHouse schema_migrations: {answer.status} {said}".strip(),
            f"kubectl -n {ns} logs deploy/{n.web_service}",
        )
    version, dirty = rows[0]
    if int(dirty):
        raise CheckError(
            f"ClickHouse migration {version} is dirty (failed half-way)",
            "Langfuse's self-hosting docs: fix a dirty migration",
        )
    return f"{n.web_service} healthy ({(health.json() or {}).get('version', '?')}); ClickHouse migrations at {version}"


# --- Ingress ---------------------------------------------------------------------------------------


def _signs_in(answer: Answer) -> bool:
    """oauth2-proxy's answer to a browser without a session (`--skip-provider-button`): a redirect to the
    identity provider carrying `redirect_uri=https://<host>/oauth2/callback`, or to its own /oauth2/ page."""
    location = unquote(answer.headers.get("location", ""))
    return answer.status in (302, 303, 307) and ("/oauth2/callback" in location or location.startswith("/oauth2/"))


def check_ingress(v: Verify) -> str:
    """Each Ingress host resolves, serves a certificate valid for more than 14 days, and (with SSO)
    sends browser paths to oauth2-proxy, API paths to LiteLLM and blocks /metrics."""
    hosts = sorted({r["host"] for i in v.of_kind("Ingress") for r in i["spec"].get("rules") or [] if r.get("host")})
    if not hosts:
        raise NotApplicableError("the stack renders no Ingress (litellm.ingress.enabled is false)")
    gateway = v.cfg.litellm.ingress.host

    def one(host: str) -> str:
        address = v.network.resolve(host)[0]

        def get(path: str) -> TlsAnswer:
            return v.network.https(host, address, path, v.deadline.left(10))

        first = get(BROWSER_PATHS[0])
        left = first.not_after - v.now()
        if left < timedelta(days=CERT_MIN_DAYS):
            raise CheckError(
                f"{host}: the certificate expires in {left.days} days (at least {CERT_MIN_DAYS} wanted)",
                "kubectl get certificate -A: why has cert-manager not renewed it?",
            )
        said = f"{host} ({address}): certificate valid {left.days} days"
        if host != gateway or not v.cfg.sso.enabled:
            return said
        answers = dict(zip(BROWSER_PATHS[1:], each(get, BROWSER_PATHS[1:]), strict=True))
        answers[BROWSER_PATHS[0]] = first
        wrong = [f"{p} answered {a.status}, not a sign-in" for p, a in answers.items() if not _signs_in(a)]
        client, blocked = get(CLIENT_PATH), get(BLOCKED_PATH)
        if _signs_in(client):
            wrong.append(f"{CLIENT_PATH} goes to sign-in, not to LiteLLM")
        if blocked.status == 200:
            wrong.append(f"{BLOCKED_PATH} answered 200 (it must stay blocked)")
        if wrong:
            raise CheckError(
                f"{host}: " + "; ".join(wrong),
                "compare the Ingress with docs/ingress-paths.md (kubectl get ingress -o yaml)",
            )
        return (
            f"{said}; {', '.join(BROWSER_PATHS)} sign in first, {CLIENT_PATH} reaches LiteLLM, {BLOCKED_PATH} blocked"
        )

    def checked(host: str) -> tuple[str, CheckError | None]:
        try:
            return one(host), None
        except CheckError as problem:
            return "", problem

    results = each(checked, hosts)
    failed = [problem for _, problem in results if problem is not None]
    if failed:
        raise CheckError("; ".join(p.detail for p in failed), "; ".join(dict.fromkeys(p.next_step for p in failed)))
    return "; ".join(said for said, _ in results)
