"""Sso: oauth2-proxy in front of LiteLLM's admin UI, against the company's OIDC provider.

Encapsulates (only when `sso.enabled`):
- the cookie secret: a ManagedSecret (32 random bytes, URL-safe base64) in GSM;
- `roles/secretmanager.secretAccessor` for ESO's service account on the identity
  team's client-secret GSM secret (that one secret only);
- one ExternalSecret rendering the chart's `config.existingSecret`
  (`client-id`, `client-secret`, `cookie-secret`); no credential is a Helm value;
- the `oauth2-proxy` chart as a pinned `helm.v3.Release` (values from
  `components.sso.values.helm_values`), upstream LiteLLM's Service;
- NetworkPolicies for oauth2-proxy's pods and its way into LiteLLM's API port.

The gateway's Ingress (built by `components.litellm.network.ingress`) sends
`/ui` and `/oauth2` to this release and everything else to LiteLLM.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kit import custom_resource, helm_release, network_policies
from components.litellm import names as litellm_names
from components.secrets.managed import ManagedSecret, ManagedSecretArgs, managed_secret_args
from components.secrets.store import StoreAccess, grant_referenced_secret
from components.sso import values as sso_values
from config import API_PORT, SsoConfig, StackConfig
from config.inventory import OAUTH2_PROXY_COOKIE_SECRET


def wiring(cfg: StackConfig, cookie_secret_gsm_id: str) -> sso_values.SsoWiring:
    ing, net, sso = cfg.litellm.ingress, cfg.litellm.network, cfg.sso
    # StackConfig enforces these for an enabled sso.
    assert ing.host and net.ingress_controller_namespace and sso.client_secret_gsm_secret
    return sso_values.SsoWiring(
        namespace=cfg.namespaces.gateway,
        host=ing.host,
        upstream_service=litellm_names.service_name(cfg.litellm),
        upstream_port=API_PORT,
        upstream_pod_labels=litellm_names.selector_labels(cfg.litellm),
        ingress_controller_namespace=net.ingress_controller_namespace,
        client_secret_gsm_id=sso.client_secret_gsm_secret,
        cookie_secret_gsm_id=cookie_secret_gsm_id,
    )


@dataclass(frozen=True)
class SsoArgs:
    sso: SsoConfig
    """The release: chart, image, replicas, client id, allowed domains, the identity provider's CIDRs."""
    wiring: sso_values.SsoWiring
    """What it is wired to: the namespace, the gateway's host, LiteLLM's Service and pods, the
    ingress controller's namespace and both GSM secrets (client and cookie)."""
    cookie_secret: ManagedSecretArgs
    """The generated cookie secret (its GSM id is `wiring.cookie_secret_gsm_id`)."""
    project: str
    """The GCP project of the identity team's client-secret GSM secret."""
    refresh_interval: str
    """How often ESO re-reads the credentials (`secrets.refresh_interval`)."""
    store: StoreAccess
    """The credentials' ExternalSecret reads through it; its accessor is granted the client secret."""

    @classmethod
    def from_config(cls, cfg: StackConfig, store: StoreAccess) -> SsoArgs:
        cookie = managed_secret_args(cfg, OAUTH2_PROXY_COOKIE_SECRET, store)
        return cls(
            sso=cfg.sso,
            wiring=wiring(cfg, cookie.gsm_secret_id),
            cookie_secret=cookie,
            project=cfg.gcp.project,
            refresh_interval=cfg.secrets.refresh_interval,
            store=store,
        )


class Sso(pulumi.ComponentResource):
    service_name: str

    def __init__(self, name: str, args: SsoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:sso:Sso", name, None, opts)
        sso, wired = args.sso, args.wiring
        child = pulumi.ResourceOptions(parent=self)

        cookie = ManagedSecret(f"{name}-cookie-secret", args.cookie_secret, child)
        client_secret_grant = grant_referenced_secret(
            f"{name}-client-secret-accessor",
            args.project,
            wired.client_secret_gsm_id,
            args.store.accessor_email,
            child,
        )
        credentials = custom_resource(
            f"{name}-credentials",
            sso_values.credentials_secret(sso, args.store.ref, wired, args.refresh_interval),
            pulumi.ResourceOptions(parent=self, depends_on=[cookie, client_secret_grant]),
        )

        network_policies(name, sso_values.network_policies(sso, wired), child)

        helm_release(
            f"{name}-release",
            sso.release_name,
            wired.namespace,
            sso_values.helm_chart(sso),
            sso_values.helm_values(sso, wired),
            pulumi.ResourceOptions(parent=self, depends_on=[credentials]),
        )
        self.service_name = sso_values.service_name(sso)
        self.register_outputs({"service_name": self.service_name, "redirect_url": sso_values.redirect_url(wired.host)})
