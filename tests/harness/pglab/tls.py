"""Test certificates for a TLS-enabled throwaway server, made with the `openssl` CLI.

- `make_ca(directory, name)`: a self-signed ECDSA P-256 CA (what the program's CA is:
  components/database/tls.py), `<name>.crt` and `<name>.key`;
- `issue_server_cert(ca, directory, dns_names, ip_addresses, days)`: a server certificate signed by
  that CA (serverAuth, the SANs given, valid `days`), what CNPG issues from the program's CA.

Nothing here is a secret anyone else holds: every file lives in a temporary directory.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CertificateAuthority", "ServerCertificate", "issue_server_cert", "make_ca"]


@dataclass(frozen=True)
class CertificateAuthority:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ServerCertificate:
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")


def _ec_key(path: Path, cwd: Path) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(path), cwd=cwd)
    path.chmod(0o600)


def make_ca(directory: Path, name: str) -> CertificateAuthority:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _ec_key(key, directory)
    _openssl(
        "req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return CertificateAuthority(cert=cert, key=key)


def issue_server_cert(
    ca: CertificateAuthority,
    directory: Path,
    dns_names: tuple[str, ...],
    ip_addresses: tuple[str, ...] = (),
    days: int = 2,
) -> ServerCertificate:
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    _ec_key(key, directory)
    _openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={dns_names[0]}", cwd=directory)
    san = ",".join([*(f"DNS:{n}" for n in dns_names), *(f"IP:{a}" for a in ip_addresses)])
    extensions = directory / "server.ext"
    extensions.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
        "-out", str(cert), "-days", str(days), "-extfile", str(extensions),
        cwd=directory,
    )  # fmt: skip
    return ServerCertificate(cert=cert, key=key)
