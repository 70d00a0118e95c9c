"""Plain-http endpoints: where a provider key or a chart would cross the network in clear text.

A model's `api_base` (and a pass-through's) receives the provider's API key in every request;
over `http://` anyone on the path reads it. Plain http stays possible where the request never
leaves the machine or the cluster: loopback (`localhost`, 127.0.0.0/8, ::1) and cluster-local
Service names (`<service>.<namespace>.svc`, `...svc.cluster.local`), whose traffic the
NetworkPolicies keep in the cluster. Anything else needs `allow_insecure_http: true` on the same
item, a statement in the stack file that clear text is accepted there.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

CLUSTER_LOCAL_SUFFIXES = (".svc", ".svc.cluster.local")


def local_host(host: str) -> bool:
    """Loopback or a cluster-local Service name: traffic to it never leaves the node or the cluster."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(CLUSTER_LOCAL_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


PROVIDER_KEY = "the provider key would cross the network in clear text"
CHART = "the chart would cross the network in clear text, open to substitution on the way"


def insecure_http(url: str, exposed: str = PROVIDER_KEY) -> str | None:
    """Why `url` sends `exposed` in clear text (`http://` to a host that is not local), or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return None
    try:
        host = parts.hostname or ""
    except ValueError:
        host = ""
    if host and local_host(host):
        return None
    return (
        f"is plain http to {host or 'an unnamed host'}: {exposed}. "
        "Use https, a cluster-local Service name (<service>.<namespace>.svc) or loopback, or set "
        "allow_insecure_http: true on this entry to accept clear text"
    )
