"""Checks over everything a stack deploys: the program's own objects plus each Helm
release rendered through its pinned chart (offline/render.py).

Each check returns a list of findings (one readable line each; empty = pass), so a
test can show all of them at once and mark one finding class as a known defect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from offline.render import KubeObjectView, RenderedObject, releases, render_release
from offline.run import ProgramRun

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


@dataclass(frozen=True)
class Obj(KubeObjectView):
    """One object that reaches the cluster, and where it comes from."""

    body: dict[str, Any]
    origin: str
    """`program` or `chart:<release>` (a chart object)."""
    source: str = ""
    hook: bool = False

    @property
    def ref(self) -> str:
        return f"{self.origin} {self.kind}/{self.name}"


@dataclass(frozen=True)
class Pod:
    """A pod template of a workload (or a pod an operator creates, for selection checks)."""

    owner: Obj
    labels: dict[str, str]
    spec: dict[str, Any]
    synthetic: bool = False
    """A pod an operator creates, known by its labels only (no spec)."""
    operator: str | None = None
    """The operator that creates this pod from its owner (a custom resource), modelled with the spec it builds."""

    @property
    def ref(self) -> str:
        return f"pods of {self.owner.ref}"

    @property
    def is_job(self) -> bool:
        return self.owner.kind in ("Job", "CronJob") or self.owner.hook

    @property
    def is_helm_test(self) -> bool:
        annotations = (self.owner.body.get("metadata") or {}).get("annotations") or {}
        return "test" in str(annotations.get("helm.sh/hook", "")).split(",")


@dataclass
class Deployed:
    objects: list[Obj]
    pods: list[Pod] = field(default_factory=list)
    helm_test_pods: list[Pod] = field(default_factory=list)
    """Rendered, but created only by `helm test`, which the program never runs (README)."""

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o.kind == kind]


def render_run(run: ProgramRun) -> dict[str, list[RenderedObject]]:
    """Every Helm release of the run rendered through its locked chart, by release name."""
    return {rel.name: render_release(rel) for rel in releases(run)}


def chart_objects(rendered: Iterable[RenderedObject]) -> list[Obj]:
    """Rendered chart objects as deployed objects (origin `chart:<release>`, Helm hooks marked)."""
    return [
        Obj(r.body, f"chart:{r.release}", r.source, "helm.sh/hook" in (r.body["metadata"].get("annotations") or {}))
        for r in rendered
    ]


def gathered(objects: list[Obj]) -> Deployed:
    """The objects with the pods of their workloads (`helm test` pods apart) and the pods the ClickHouse
    operator creates for its clusters (`clickhouse_operator_pod`)."""
    result = Deployed(objects)
    for obj in objects:
        template = pod_template(obj.body)
        if template is not None:
            pod = Pod(obj, dict((template.get("metadata") or {}).get("labels") or {}), template.get("spec") or {})
            (result.helm_test_pods if pod.is_helm_test else result.pods).append(pod)
        modelled = clickhouse_operator_pod(obj)
        if modelled is not None:
            result.pods.append(modelled)
    return result


CLICKHOUSE_OPERATOR_GROUP = "clickhouse.com/"
OPERATOR_DEFAULT_CAPABILITIES = ["IPC_LOCK", "PERFMON", "SYS_PTRACE"]
"""What ClickHouse/clickhouse-operator (v0.0.2, internal/controller/{clickhouse,keeper}/templates.go) adds to
its containers when their securityContext adds no capability of its own."""
_OPERATOR_PODS = {
    # kind -> (name suffix, app.kubernetes.io/name, container, extra operator labels of replica 0)
    "ClickHouseCluster": (
        "clickhouse",
        "clickhouse-server",
        "clickhouse-server",
        {"clickhouse.com/shard-id": "0", "clickhouse.com/replica-id": "0"},
    ),
    "KeeperCluster": ("keeper", "clickhouse-keeper", "clickhouse-keeper", {"clickhouse.com/keeper-replica-id": "0"}),
}


def clickhouse_operator_pod(obj: Obj) -> Pod | None:
    """The pod the ClickHouse operator creates for a ClickHouseCluster or KeeperCluster, as it builds it:
    `spec.labels` under its own labels (its keys win), the pod securityContext of `spec.podTemplate`, one
    container of `spec.containerTemplate`'s image and securityContext, the operator's default capabilities
    added when that securityContext adds none. None for any other object."""
    if not obj.body.get("apiVersion", "").startswith(CLICKHOUSE_OPERATOR_GROUP) or obj.kind not in _OPERATOR_PODS:
        return None
    suffix, app_name, container_name, replica = _OPERATOR_PODS[obj.kind]
    spec = obj.body.get("spec") or {}
    instance = f"{obj.name}-{suffix}"
    labels = {
        **(spec.get("labels") or {}),
        "app": instance,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/name": app_name,
        "clickhouse.com/role": app_name,
        **replica,
    }
    template = spec.get("containerTemplate") or {}
    security = dict(template.get("securityContext") or {})
    capabilities = dict(security.get("capabilities") or {})
    if not capabilities.get("add"):
        capabilities["add"] = OPERATOR_DEFAULT_CAPABILITIES
    security["capabilities"] = capabilities
    image = template.get("image") or {}
    container = {
        "name": container_name,
        "image": f"{image.get('repository')}:{image.get('tag', 'latest')}",
        "securityContext": security,
    }
    pod_spec = {
        "securityContext": (spec.get("podTemplate") or {}).get("securityContext") or {},
        "containers": [container],
    }
    return Pod(obj, labels, pod_spec, operator="clickhouse")


def deployed(run: ProgramRun) -> Deployed:
    """Everything the run deploys: the program's objects and its releases' rendered ones, with their pods
    (and the instance pods the CNPG operator creates for a Cluster)."""
    objects = [Obj(o, "program") for o in run.kubernetes_objects()]
    for rendered in render_run(run).values():
        objects += chart_objects(rendered)
    result = gathered(objects)
    for obj in objects:
        if obj.kind == "Cluster" and obj.body.get("apiVersion", "").startswith("postgresql.cnpg.io/"):
            # The CNPG operator creates the instance pods; the program's policies select them by these labels.
            labels = {"cnpg.io/cluster": obj.name, "cnpg.io/podRole": "instance"}
            result.pods.append(Pod(obj, labels, {}, synthetic=True))
    return result


def pod_template(body: dict[str, Any]) -> dict[str, Any] | None:
    kind = body.get("kind")
    spec = body.get("spec") or {}
    if kind == "Pod":
        return {"metadata": body.get("metadata") or {}, "spec": spec}
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    if kind in WORKLOAD_KINDS:
        return spec.get("template")
    return None


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


# --- Pod Security Standards: restricted (Kubernetes 1.31) ---------------------

RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """Every rule of the `restricted` Pod Security Standard (baseline included) a pod spec breaks."""
    out: list[str] = []
    psc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            out.append(f"{key}: true")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"volume {volume.get('name')}: type {sorted(kinds - RESTRICTED_VOLUMES)} not allowed")
    for sysctl in psc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"sysctl {sysctl.get('name')} not allowed")
    if (psc.get("seLinuxOptions") or {}).get("type") not in (
        None,
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
    ):
        out.append("pod seLinuxOptions.type not allowed")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        out.append(f"pod seccompProfile {pod_seccomp}")
    if psc.get("runAsUser") == 0:
        out.append("pod runAsUser: 0")
    for c in containers(spec):
        name = c.get("name")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append(f"container {name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"container {name}: allowPrivilegeEscalation must be false")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"container {name}: runAsNonRoot must be true (pod or container)")
        if sc.get("runAsUser") == 0:
            out.append(f"container {name}: runAsUser: 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"container {name}: seccompProfile RuntimeDefault or Localhost required")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"container {name}: capabilities must drop ALL")
        added = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            out.append(f"container {name}: capabilities add {sorted(added)}")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"container {name}: procMount {sc['procMount']}")
        if (sc.get("seLinuxOptions") or {}).get("type") not in (
            None,
            "",
            "container_t",
            "container_init_t",
            "container_kvm_t",
        ):
            out.append(f"container {name}: seLinuxOptions.type not allowed")
        if (sc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
            out.append(f"container {name}: appArmorProfile not allowed")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"container {name}: hostPort {port['hostPort']}")
    return out


# --- who a container runs as, and whether its root filesystem is writable -----------------------

# Images whose own USER is a numeric, non-root uid: the kubelet can verify `runAsNonRoot` against it,
# so their pods may leave runAsUser/runAsGroup to the image. Every other image (root, a named user
# the kubelet cannot verify, or unknown) needs both set, non-zero, on the pod or the container.
# Not here, on purpose: ghcr.io/berriai/litellm-database (docker/Dockerfile.database: `USER root`),
# ghcr.io/berriai/litellm-non_root (docker/Dockerfile.non_root: `USER nobody`, a name), langfuse/langfuse
# (web/Dockerfile: `USER nextjs`) and langfuse/langfuse-worker (worker/Dockerfile: `USER expressjs`), both names;
# busybox (root).
KNOWN_NON_ROOT_IMAGES: dict[str, int] = {
    # cloudnative-pg/postgres-containers, Dockerfile: `RUN usermod -u 26 postgres` then `USER 26`
    # (minimal stage; the standard stage switches to root for its packages and back to `USER 26`).
    "ghcr.io/cloudnative-pg/postgresql": 26,
    # bitnami/containers, bitnami/<app>/<version>/debian-12/Dockerfile: `USER 1001` (valkey/8.0,
    # zookeeper/3.9, clickhouse/25, minio/2024); bitnamilegacy/* are the same builds, frozen.
    "docker.io/bitnamilegacy/clickhouse": 1001,
    "docker.io/bitnamilegacy/minio": 1001,
    "docker.io/bitnamilegacy/valkey": 1001,
    "docker.io/bitnamilegacy/zookeeper": 1001,
    # oauth2-proxy/oauth2-proxy, Dockerfile: runtime `ARG RUNTIME_IMAGE=gcr.io/distroless/static:nonroot`,
    # no USER of its own; distroless `nonroot` is uid/gid 65532 (GoogleContainerTools/distroless `NONROOT = 65532`).
    "quay.io/oauth2-proxy/oauth2-proxy": 65532,
}

SCANNER_SKIP_PREFIXES = ("checkov.io/skip", "bridgecrew.io/skip", "cortex.io/skip")
"""Annotation keys Checkov reads as skips (checkov/kubernetes/kubernetes_utils.py, SKIP_ANNOTATION_PREFIXES)."""
WRITABLE_ROOT_CHECK = "CKV_K8S_22"
"""Checkov's "Use read-only filesystem for containers": its skip on an object is the object's stated reason
for a writable root filesystem."""


def image_repository(image: str) -> str:
    """`registry/repo:tag@sha256:...` -> `registry/repo`."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def scanner_skip_reasons(body: dict[str, Any]) -> dict[str, str]:
    """Check id -> reason of the Checkov skips on an object's TOP-LEVEL annotations (the only ones Checkov reads)."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    out: dict[str, str] = {}
    for key, value in annotations.items():
        if any(prefix in key for prefix in SCANNER_SKIP_PREFIXES):
            check, _, reason = str(value).partition("=")
            out[check.strip()] = reason.strip()
    return out


def identity_violations(spec: dict[str, Any]) -> list[str]:
    """Containers that would run as root, or as a user the kubelet cannot verify as non-root: runAsUser
    and runAsGroup must be set and non-zero unless the image's own USER is a known numeric non-root uid."""
    out: list[str] = []
    psc = spec.get("securityContext") or {}
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        image = str(c.get("image", ""))
        known = image_repository(image) in KNOWN_NON_ROOT_IMAGES
        for field_ in ("runAsUser", "runAsGroup"):
            value = sc.get(field_, psc.get(field_))
            if value is None and not known:
                out.append(
                    f"container {c.get('name')} ({image}): {field_} unset, and the image's own user is root or unknown"
                )
            elif value == 0:
                out.append(f"container {c.get('name')} ({image}): {field_}: 0")
    return out


def writable_root_violations(owner: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """Containers whose root filesystem is writable although their object states no reason for it
    (a Checkov skip of CKV_K8S_22 with its reason on the object's top-level annotations)."""
    if scanner_skip_reasons(owner).get(WRITABLE_ROOT_CHECK):
        return []
    return [
        f"container {c.get('name')}: readOnlyRootFilesystem is {(c.get('securityContext') or {}).get('readOnlyRootFilesystem')}"
        f" and the object states no reason (annotation checkov.io/skipN: {WRITABLE_ROOT_CHECK}=<reason>)"
        for c in containers(spec)
        if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True
    ]


# --- Secret / ConfigMap references ---------------------------------------------


def available_keys(d: Deployed) -> dict[tuple[str, str, str], set[str] | None]:
    """(kind, namespace, name) -> keys it will hold (None: any key, e.g. an operator-made Secret)."""
    out: dict[tuple[str, str, str], set[str] | None] = {}
    for o in d.objects:
        if o.kind in ("Secret", "ConfigMap"):
            keys = (
                set(o.body.get("data") or {})
                | set(o.body.get("stringData") or {})
                | set(o.body.get("binaryData") or {})
            )
            out[(o.kind, o.namespace, o.name)] = keys
        elif o.kind == "ExternalSecret":
            spec = o.body.get("spec") or {}
            target = spec.get("target") or {}
            template = target.get("template") or {}
            held: set[str] | None
            if template.get("data"):
                held = set(template["data"])
            elif spec.get("dataFrom"):
                held = None
            else:
                held = {str(item.get("secretKey")) for item in spec.get("data") or []}
            out[("Secret", o.namespace, target.get("name") or o.name)] = held
        elif o.kind == "Cluster" and o.body.get("apiVersion", "").startswith("postgresql.cnpg.io/"):
            # CNPG writes `<cluster>-app` unless initdb names its own secret (then the program provides it).
            initdb = ((o.body.get("spec") or {}).get("bootstrap") or {}).get("initdb") or {}
            if not initdb.get("secret"):
                out[("Secret", o.namespace, f"{o.name}-app")] = {
                    "username",
                    "password",
                    "host",
                    "port",
                    "dbname",
                    "uri",
                    "jdbc-uri",
                    "pgpass",
                    "fqdn-uri",
                    "fqdn-jdbc-uri",
                    "user",
                }
    return out


def references(spec: dict[str, Any]) -> Iterator[tuple[str, str, str | None, str]]:
    """(kind, name, key or None, where) for every Secret/ConfigMap a pod spec needs (optional ones skipped)."""
    for c in containers(spec):
        cname = c.get("name")
        for env in c.get("env") or []:
            source = env.get("valueFrom") or {}
            for field_, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = source.get(field_)
                if ref and not ref.get("optional"):
                    yield kind, ref.get("name", ""), ref.get("key"), f"container {cname} env {env.get('name')}"
        for env_from in c.get("envFrom") or []:
            for field_, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                ref = env_from.get(field_)
                if ref and not ref.get("optional"):
                    yield kind, ref.get("name", ""), None, f"container {cname} envFrom"
    for volume in spec.get("volumes") or []:
        vname = volume.get("name")
        sources = [volume, *((volume.get("projected") or {}).get("sources") or [])]
        for source in sources:
            secret = source.get("secret")
            if secret and not secret.get("optional"):
                name = secret.get("secretName") or secret.get("name", "")
                for item in secret.get("items") or [{}]:
                    yield "Secret", name, item.get("key"), f"volume {vname}"
            config_map = source.get("configMap")
            if config_map and not config_map.get("optional"):
                for item in config_map.get("items") or [{}]:
                    yield "ConfigMap", config_map.get("name", ""), item.get("key"), f"volume {vname}"


def reference_findings(d: Deployed) -> list[str]:
    keys = available_keys(d)
    out = []
    for p in d.pods:
        ns = p.owner.namespace
        for kind, name, key, where in references(p.spec):
            held = keys.get((kind, ns, name), set())
            if (kind, ns, name) not in keys:
                out.append(f"{p.ref}: {where}: {kind} {ns}/{name} is not deployed")
            elif key is not None and held is not None and key not in held:
                out.append(f"{p.ref}: {where}: {kind} {ns}/{name} has no key {key!r} (has {sorted(held)})")
    return out


def existing_secret_findings(d: Deployed, values_by_release: dict[str, dict[str, Any]], namespace: str) -> list[str]:
    """Chart values naming an existing Secret (`existingSecret`, `secretName`...) point at one that exists."""
    keys = available_keys(d)
    out = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                here = f"{path}.{k}" if path else k
                if k in ("existingSecret", "existingSecretName") and isinstance(v, str) and v:
                    if ("Secret", namespace, v) not in keys:
                        out.append(f"values {here}: Secret {v} is not deployed")
                    else:
                        held = keys[("Secret", namespace, v)]
                        for sk, sv in node.items():
                            named_key = sk.endswith("Key") and sk != "existingSecretKey" and isinstance(sv, str)
                            if named_key and sv and held is not None and sv not in held:
                                out.append(f"values {path}.{sk}: Secret {v} has no key {sv!r}")
                        key = node.get("existingSecretKey") or node.get("secretKey")
                        if isinstance(key, str) and key and held is not None and key not in held:
                            out.append(f"values {here}: Secret {v} has no key {key!r}")
                else:
                    walk(v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    for release, values in sorted(values_by_release.items()):
        walk(values, release)
    return out


# --- selection: NetworkPolicy and Service -----------------------------------------


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a plain Service selector map."""
    match_labels = (
        selector.get("matchLabels") if "matchLabels" in selector or "matchExpressions" in selector else selector
    )
    for k, v in (match_labels or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selected_pods(d: Deployed, namespace: str, selector: dict[str, Any]) -> list[Pod]:
    return [p for p in d.pods if p.owner.namespace == namespace and matches(selector, p.labels)]


def network_policy_findings(d: Deployed) -> list[str]:
    out = []
    policies = d.of_kind("NetworkPolicy")
    for np in policies:
        if np.origin != "program":
            continue
        selector = (np.body.get("spec") or {}).get("podSelector") or {}
        if not selected_pods(d, np.namespace, selector):
            out.append(f"{np.ref}: selects no deployed pod")
    for p in d.pods:
        if p.synthetic:
            continue
        limiting = [
            np
            for np in policies
            if np.namespace == p.owner.namespace
            and "Ingress" in ((np.body.get("spec") or {}).get("policyTypes") or ["Ingress"])
            and matches((np.body.get("spec") or {}).get("podSelector") or {}, p.labels)
        ]
        if not limiting:
            out.append(f"{p.ref}: no NetworkPolicy limits its ingress")
    return out


def chart_network_policy_findings(d: Deployed) -> list[str]:
    """Charts must not bring their own NetworkPolicies: the program's policies are the only ones."""
    return [f"{np.ref} ({np.source})" for np in d.of_kind("NetworkPolicy") if np.origin != "program"]


def _port_names(spec: dict[str, Any]) -> set[str]:
    return {port["name"] for c in spec.get("containers") or [] for port in c.get("ports") or [] if port.get("name")}


def service_findings(d: Deployed) -> list[str]:
    """Each Service selects some pods, only long-running ones, and only pods that have its target ports."""
    out = []
    for svc in d.of_kind("Service"):
        spec = svc.body.get("spec") or {}
        selector = spec.get("selector")
        if not selector or spec.get("type") == "ExternalName":
            continue
        pods = selected_pods(d, svc.namespace, selector)
        if not pods:
            out.append(f"{svc.ref}: selects no deployed pod")
        for p in pods:
            if p.is_job:
                out.append(f"{svc.ref}: selects {p.ref} (a Job or hook pod, not a server)")
                continue
            if p.synthetic:
                continue
            names = _port_names(p.spec)
            for port in spec.get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                # A numeric targetPort need not be declared by the container; a named one must.
                if isinstance(target, str) and target not in names:
                    out.append(f"{svc.ref}: selects {p.ref}, which has no port named {target!r}")
    return out
