"""The CNPG cluster's server CA: made by the program (pulumi-tls), kept in GSM, synced by ESO.

CNPG signs and renews the server certificate itself (`serverCASecret` holding the CA's
certificate and key, no `serverTLSSecret`): its SANs are the -rw/-ro/-r Services in every form,
renewed before expiry with no restart. The CA is the program's, not CNPG's own, because CNPG
renews its own CA every 90 days and Grafana, in another namespace, can only hold the CA's PEM
(its datasource file); a CA that lives ten years can be handed to every client once.

- `server_ca`: an ECDSA P-256 key (CNPG signs only with EC keys) and a self-signed CA
  certificate, valid CA_VALIDITY_DAYS and re-issued by a `pulumi up` in its last
  CA_EARLY_RENEWAL_DAYS with the same key and subject, so the server certificate CNPG signed
  keeps verifying under the renewed CA (nothing is re-signed, nobody restarts);
- `ca_bundle`: the certificate and the key as one PEM text, the value of the GSM secret the
  `<cluster>-server-ca` Secret is rendered from (ESO's `filterPEM` splits it).

The key stays a secret Output: in Pulumi state (encrypted) and GSM, never in a resource input
in plain text. Pure parts: the subject, the bundle, the ESO templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_tls as tls

from components.database.cnpg import CnpgNames

CA_VALIDITY_DAYS = 3650
CA_EARLY_RENEWAL_DAYS = 365
CERT_PEM_TYPE = "CERTIFICATE"
KEY_PEM_TYPE = "EC PRIVATE KEY"
"""What CNPG parses `ca.key` as (SEC 1 ECDSA, `x509.ParseECPrivateKey`)."""
BUNDLE_KEY = "bundle"
CA_TEMPLATE = {
    "ca.crt": f'{{{{ .{BUNDLE_KEY} | filterPEM "{CERT_PEM_TYPE}" }}}}',
    "ca.key": f'{{{{ .{BUNDLE_KEY} | filterPEM "{KEY_PEM_TYPE}" }}}}',
}
"""The `<cluster>-server-ca` Secret's data, as ESO v2 templates over the bundle."""


def ca_subject(names: CnpgNames) -> dict[str, str]:
    """The CA's subject: fixed, so a renewed certificate (same key) still issued the server's."""
    return {
        "common_name": f"{names.cluster} server CA",
        "organization": "llm-gateway",
        "organizational_unit": names.namespace,
    }


def ca_bundle(cert_pem: str, key_pem: str) -> str:
    """Certificate then key, each ending in a newline (what `filterPEM` reads back)."""
    return cert_pem.rstrip("\n") + "\n" + key_pem.rstrip("\n") + "\n"


def _joined(parts: list[Any]) -> str:
    return ca_bundle(str(parts[0]), str(parts[1]))


@dataclass(frozen=True)
class ServerCa:
    cert_pem: pulumi.Output[str]
    """The CA certificate (public)."""
    bundle: pulumi.Output[str]
    """Certificate and key (secret)."""


def server_ca(name: str, names: CnpgNames, opts: pulumi.ResourceOptions, key_opts: pulumi.ResourceOptions) -> ServerCa:
    """The key (`key_opts`: the data-safety options: replacing it means re-signing the server
    certificate) and the self-signed CA certificate."""
    key = tls.PrivateKey(f"{name}-server-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=key_opts)
    cert = tls.SelfSignedCert(
        f"{name}-server-ca",
        private_key_pem=key.private_key_pem,
        is_ca_certificate=True,
        allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
        set_subject_key_id=True,
        subject=tls.SelfSignedCertSubjectArgs(**ca_subject(names)),
        validity_period_hours=CA_VALIDITY_DAYS * 24,
        early_renewal_hours=CA_EARLY_RENEWAL_DAYS * 24,
        opts=opts,
    )
    joined: pulumi.Output[str] = pulumi.Output.all(cert.cert_pem, key.private_key_pem).apply(_joined)
    bundle: pulumi.Output[str] = pulumi.Output.secret(joined)
    return ServerCa(cert_pem=cert.cert_pem, bundle=bundle)
