"""Langfuse's own PostgreSQL database on the stack's server: where it is, and on the CNPG engine
its owner as a tenant of the cluster and the CNPG `Database` object (on an external server the
component creates the role and database itself, `components.database.server`).
"""

from __future__ import annotations

from typing import Any

from components.database import cnpg, cnpg_roles
from components.langfuse.credentials import DB_SECRET
from components.langfuse.names import app_pods, names
from config import StackConfig


def database_host(cfg: StackConfig) -> tuple[str, int]:
    """The read-write host and port of the stack's PostgreSQL (the CNPG cluster or the external server)."""
    pg = cfg.postgres
    if pg.engine == "external":
        return pg.external.host, pg.external.port
    return cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway).rw_host, cnpg.PORT


def database_tenant(cfg: StackConfig) -> cnpg_roles.DatabaseTenant:
    """Langfuse's database as a tenant of the stack's CNPG cluster: its owner login and its clients."""
    lf = cfg.langfuse
    return cnpg_roles.DatabaseTenant(
        owner=lf.owner,
        database=lf.database,
        password_secret=DB_SECRET,
        comment="Langfuse (owner of its database), managed by llm-gateway",
        app="langfuse",
        clients=app_pods(names(cfg)),
    )


def cnpg_database(cfg: StackConfig) -> dict[str, Any]:
    """The CNPG `Database` for Langfuse in the stack's cluster.

    Kept on delete where the stack keeps data (`data_safety.retain_on_delete`); elsewhere
    dropped with its CR, like the salt and encryption key its rows depend on.
    """
    pg = cfg.postgres
    if pg.engine != "cnpg":
        raise ValueError("a CNPG Database needs postgres.engine cnpg")
    cluster = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return cnpg.tenant_database_manifest(database_tenant(cfg), cluster, cfg.data_safety.retain_on_delete)
