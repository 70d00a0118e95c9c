"""Pure builders for single sign-on in front of LiteLLM's admin UI.

oauth2-proxy (chart `oauth2-proxy` from https://oauth2-proxy.github.io/manifests)
authenticates people against the company's OIDC provider and proxies the whole
browser-facing admin surface (`/ui`, `/login`, `/v2/login`, SSO and fallback login,
the management API) to LiteLLM; API clients keep calling LiteLLM's client routes
directly with virtual keys (components/litellm/ingress_paths.py derives the split). This
module computes, from typed config and no Pulumi calls:

- the chart's Helm values (every key is checked against the pinned chart's own keys:
  `tests/support/chart_keys.py`);
- the ExternalSecret that renders the credentials Secret (`client-secret` from the identity
  team's GSM secret, `cookie-secret` from the generated one), mounted as files that
  oauth2-proxy reads (`--client-secret-file`, `--cookie-secret-file`), never environment;
- NetworkPolicies for oauth2-proxy's pods, and the one that lets them reach
  LiteLLM's API port;
- the gateway Ingress's paths to oauth2-proxy: `/oauth2`, `/` and the admin
  carve-outs of `components.litellm.ingress_paths` (API client routes go to LiteLLM).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.kit import (
    HelmChart,
    container_resources,
    deny_all,
    dns_egress,
    helm_fullname,
    namespace_peer,
    network_policy,
    restricted_container,
    restricted_pod,
    service_host,
    tcp_ports,
)
from components.litellm.ingress_paths import path_table
from components.scanner import PULL_POLICY, image_pin_skips, scanner_skips
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import SsoConfig, StackConfig
from config.assets import OAUTH2_PROXY_CHART
from config.types import image_name_and_tag

CHART = "oauth2-proxy"
NONROOT_UID = 65532
"""The image's own user: oauth2-proxy's Dockerfile builds FROM gcr.io/distroless/static:nonroot,
whose `nonroot` user is uid/gid 65532 (a high uid, outside the node's system users)."""
HTTP_PORT = 4180
"""oauth2-proxy's container port (the chart's default with `httpScheme: http`)."""
SERVICE_PORT = 80
"""The chart's Service port (`service.portNumber`)."""
OAUTH2_PATH = "/oauth2"
"""oauth2-proxy's own endpoints (sign-in, callback)."""
CALLBACK_PATH = "/oauth2/callback"
# Data keys of the credentials Secret: the two secrets, each mounted as a file of the same name in
# CREDENTIALS_DIR; and the client id, which the pods take as a flag. The Secret keeps it for pods of an
# earlier release (they read all three from the environment): a rollback, or a restart mid-upgrade,
# finds the keys they name.
CLIENT_ID_KEY = "client-id"
CLIENT_SECRET_KEY = "client-secret"
COOKIE_SECRET_KEY = "cookie-secret"
CREDENTIALS_VOLUME = "credentials"
CREDENTIALS_DIR = "/etc/oauth2-proxy/credentials"
CREDENTIALS_MODE = 0o440
"""Owner root, group the pod's fsGroup (NONROOT_UID): readable by oauth2-proxy's group only. oauth2-proxy
(7.11+, `--client-secret-file`/`--cookie-secret-file`) reads the bytes as they are, as it would the
environment variables: each time it needs them, so a rotated secret is picked up without a restart."""
# Template-context names of the two GSM entries in the ExternalSecret.
_CLIENT_SECRET_REF = "clientSecret"
_COOKIE_SECRET_REF = "cookieSecret"


@dataclass(frozen=True)
class SsoWiring:
    """Names from the gateway that oauth2-proxy is wired to (one source each)."""

    namespace: str
    host: str
    """The gateway's ingress host: the UI's public origin and the redirect URI's host."""
    upstream_service: str
    """LiteLLM's Service (`components.litellm.names.service_name`)."""
    upstream_port: int
    upstream_pod_labels: Mapping[str, str]
    """LiteLLM's pod selector labels (egress and LiteLLM's ingress policy)."""
    ingress_controller_namespace: str
    client_secret_gsm_id: str
    cookie_secret_gsm_id: str


def service_name(sso: SsoConfig) -> str:
    """The chart's `oauth2-proxy.fullname`: the Service the Ingress sends `/ui` to."""
    return helm_fullname(sso.release_name, CHART)


def selector_labels(sso: SsoConfig) -> dict[str, str]:
    """The chart's `oauth2-proxy.selectorLabels` (its pods carry them)."""
    return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": sso.release_name}


def credentials_secret_name(sso: SsoConfig) -> str:
    return f"{sso.release_name}-credentials"


def public_url(host: str) -> str:
    return f"https://{host}"


def redirect_url(host: str) -> str:
    """The OIDC client's redirect URI (register it with the identity provider)."""
    return f"{public_url(host)}{CALLBACK_PATH}"


def upstream_url(wiring: SsoWiring) -> str:
    host = service_host(wiring.upstream_service, wiring.namespace, fully_qualified=True)
    return f"http://{host}:{wiring.upstream_port}/"


def image_parts(image: str) -> tuple[str, str, str]:
    """`registry/repository:tag[@sha256:...]` as the chart's image.registry, image.repository, image.tag
    (the chart renders `registry/repository:tag`: a digest rides in the tag)."""
    ref, tag = image_name_and_tag(image)
    registry, _, repository = ref.partition("/")
    return registry, repository, tag


def extra_args(sso: SsoConfig, host: str) -> list[str]:
    """oauth2-proxy flags (the chart's list form of `extraArgs`, rendered verbatim)."""
    assert sso.issuer_url is not None and sso.client_id is not None  # SsoConfig enforces when enabled
    args = [
        f"--provider={sso.provider}",
        f"--oidc-issuer-url={sso.issuer_url}",
        f"--client-id={sso.client_id}",
        f"--client-secret-file={CREDENTIALS_DIR}/{CLIENT_SECRET_KEY}",
        f"--cookie-secret-file={CREDENTIALS_DIR}/{COOKIE_SECRET_KEY}",
        f"--redirect-url={redirect_url(host)}",
        f"--scope={' '.join(sso.scopes)}",
        "--code-challenge-method=S256",
        # Behind the ingress controller: trust its X-Forwarded-* headers.
        "--reverse-proxy=true",
        "--cookie-secure=true",
        "--cookie-samesite=lax",
        f"--cookie-expire={sso.cookie_expire}",
        # Re-checks the session with the identity provider (refresh token) at this age: a removed
        # or disabled user loses access within it, not at the end of cookie_expire (SsoConfig
        # keeps it shorter than the expiry, oauth2-proxy's own rule).
        f"--cookie-refresh={sso.cookie_refresh}",
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
    ]
    args += [f"--allowed-group={group}" for group in sso.allowed_groups]
    return args


def helm_chart(sso: SsoConfig) -> HelmChart:
    """The locked `oauth2-proxy` chart (assets.lock.json)."""
    return HelmChart(asset=OAUTH2_PROXY_CHART, timeout=600)


def credentials_volume(sso: SsoConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(extraVolumes entry, extraVolumeMounts entry): the credentials Secret's two keys as files."""
    volume = {
        "name": CREDENTIALS_VOLUME,
        "secret": {
            "secretName": credentials_secret_name(sso),
            "items": [{"key": key, "path": key} for key in (CLIENT_SECRET_KEY, COOKIE_SECRET_KEY)],
            "defaultMode": CREDENTIALS_MODE,
        },
    }
    return volume, {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_DIR, "readOnly": True}


def deployment_annotations(sso: SsoConfig) -> dict[str, str]:
    """The Deployment's Checkov skips (the chart renders `deploymentAnnotations` on its top-level metadata)."""
    return scanner_skips(image_pin_skips(sso.image, "sso.image"))


def helm_values(sso: SsoConfig, wiring: SsoWiring) -> dict[str, Any]:
    """Values of the oauth2-proxy chart. No credential: the pods read them from the mounted Secret."""
    registry, repository, tag = image_parts(sso.image)
    volume, mount = credentials_volume(sso)
    return {
        "image": {"registry": registry, "repository": repository, "tag": tag, "pullPolicy": PULL_POLICY},
        "deploymentAnnotations": deployment_annotations(sso),
        "replicaCount": sso.replicas,
        "config": {
            # The chart generates oauth2_proxy.cfg from these two (configFile left empty).
            "emailDomains": list(sso.allowed_email_domains) or ["*"],
            "upstreams": [upstream_url(wiring)],
        },
        # No credential in the environment (the chart would map its existingSecret to OAUTH2_PROXY_* variables):
        # the client id is a flag, the two secrets are files (extra_args, credentials_volume).
        "proxyVarsAsSecrets": False,
        "extraVolumes": [volume],
        "extraVolumeMounts": [mount],
        "extraArgs": extra_args(sso, wiring.host),
        "resources": container_resources(sso.resources),
        # Writes nothing (sessions live in the cookie): a read-only root and no volume.
        "podSecurityContext": restricted_pod(NONROOT_UID),
        "securityContext": restricted_container(
            enabled=True, readOnlyRootFilesystem=True, runAsUser=NONROOT_UID, runAsGroup=NONROOT_UID
        ),
        "serviceAccount": {"enabled": True, "automountServiceAccountToken": False},
        "service": {"portNumber": SERVICE_PORT},
        "podDisruptionBudget": {"enabled": sso.replicas > 1, "minAvailable": 1},
        # Sessions live in the (encrypted) cookie: no Redis.
        "sessionStorage": {"type": "cookie"},
        # Not scraped; the NetworkPolicies below are ours, the Ingress is the gateway's.
        "metrics": {"enabled": False},
        "networkPolicy": {"create": False},
        "ingress": {"enabled": False},
    }


def credentials_secret(sso: SsoConfig, store: StoreRef, wiring: SsoWiring, refresh_interval: str) -> dict[str, Any]:
    """One ExternalSecret rendering the credentials Secret the pods mount: the client secret and the
    cookie secret from GSM, exactly as stored (oauth2-proxy reads the files' bytes as they are), and the
    client id (not a secret; see CLIENT_ID_KEY)."""
    assert sso.client_id is not None  # SsoConfig enforces when enabled
    name = credentials_secret_name(sso)
    return external_secret(
        name=name,
        store=store,
        entries=[
            RemoteEntry(secret_key=_CLIENT_SECRET_REF, gsm_secret_id=wiring.client_secret_gsm_id),
            RemoteEntry(secret_key=_COOKIE_SECRET_REF, gsm_secret_id=wiring.cookie_secret_gsm_id),
        ],
        target=TargetSecret(
            name=name,
            namespace=wiring.namespace,
            template_data={
                CLIENT_ID_KEY: sso.client_id,
                CLIENT_SECRET_KEY: f"{{{{ .{_CLIENT_SECRET_REF} }}}}",
                COOKIE_SECRET_KEY: f"{{{{ .{_COOKIE_SECRET_REF} }}}}",
            },
        ),
        refresh_interval=refresh_interval,
    )


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return network_policy(name, namespace, CHART, spec)


def network_policies(sso: SsoConfig, wiring: SsoWiring) -> list[dict[str, Any]]:
    """oauth2-proxy's pods: default deny; ingress from the ingress controller only; egress to
    DNS, LiteLLM's API port and HTTPS to the identity provider. Plus LiteLLM's side: its API
    port accepts oauth2-proxy's pods (NetworkPolicies add up with LiteLLM's own)."""
    pods = {"matchLabels": selector_labels(sso)}
    litellm_pods = {"matchLabels": dict(wiring.upstream_pod_labels)}
    ns = wiring.namespace
    release = sso.release_name
    return [
        _policy(f"{release}-default-deny", ns, deny_all(pods)),
        _policy(
            f"{release}-ingress",
            ns,
            {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [namespace_peer(wiring.ingress_controller_namespace)],
                        "ports": tcp_ports(HTTP_PORT),
                    }
                ],
            },
        ),
        _policy(
            f"{release}-egress",
            ns,
            {
                "podSelector": pods,
                "policyTypes": ["Egress"],
                "egress": [
                    dns_egress(),
                    {
                        "to": [{"podSelector": litellm_pods}],
                        "ports": tcp_ports(wiring.upstream_port),
                    },
                    {
                        "to": [{"ipBlock": {"cidr": cidr}} for cidr in sso.idp_egress_cidrs],
                        "ports": tcp_ports(443),
                    },
                ],
            },
        ),
        _policy(
            f"{release}-to-litellm",
            ns,
            {
                "podSelector": litellm_pods,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": pods}],
                        "ports": tcp_ports(wiring.upstream_port),
                    }
                ],
            },
        ),
    ]


def ingress_paths(cfg: StackConfig) -> list[dict[str, Any]]:
    """The gateway Ingress's paths to oauth2-proxy (none when SSO is off): its own `/oauth2`, the
    admin routes carved out below LiteLLM's client prefixes, and `/` (the UI, login and SSO routes,
    the management API: everything that is not an API client route; see components/litellm/ingress_paths.py)."""
    sso = cfg.sso
    if not sso.enabled:
        return []
    backend = {"service": {"name": service_name(sso), "port": {"number": SERVICE_PORT}}}
    paths = [("Prefix", OAUTH2_PATH), *path_table().gated, ("Prefix", "/")]
    return [{"path": path, "pathType": path_type, "backend": backend} for path_type, path in paths]


def ingress_annotations(cfg: StackConfig) -> dict[str, str]:
    """ingress-nginx: OIDC session cookies outgrow the default 4k proxy buffer (502 on login)."""
    if cfg.sso.enabled and cfg.litellm.ingress.class_name == "nginx":
        return {"nginx.ingress.kubernetes.io/proxy-buffer-size": "16k"}
    return {}
