"""SQL that hardens the LiteLLM database, as pure data for the CNPG bootstrap.

The program hands these statements to CloudNativePG as
``Cluster.spec.bootstrap.initdb.postInitApplicationSQL``: CNPG runs them once, as the
superuser, inside the application database right after ``initdb`` created it. They
make the read-only logins (``grafana_ro``, which reads the ``reporting`` schema only,
and the ``reporting`` job's login) unable to create anything outside what they own,
not even session-private objects:

``REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC``
    PostgreSQL grants ``TEMPORARY`` on every database to ``PUBLIC`` by default, so any
    role that can log in may ``CREATE TEMP TABLE`` and fill the server's disk with it,
    whatever its table privileges. Revoking it from ``PUBLIC`` is what refuses
    temporary tables to the read-only role.
``GRANT TEMPORARY ON DATABASE <db> TO <owner>``
    Keeps temporary tables for the application owner (LiteLLM) explicitly. The owner
    would keep the privilege through the owner's default ACL entry anyway; the grant
    states the intent and survives an ownership change.
``REVOKE CREATE ON SCHEMA public FROM PUBLIC``
    Up to PostgreSQL 14 every role may create objects in the ``public`` schema. Since
    PostgreSQL 15 the default is already so, and the statement is a harmless no-op, so
    the same bootstrap is correct on every supported major version.

Identifiers are always double-quoted (embedded quotes doubled), so any database or
owner name is passed through safely and case is preserved.
"""

from __future__ import annotations

__all__ = ["database_hardening_sql", "quote_identifier"]


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted PostgreSQL identifier.

    Raises ``ValueError`` for an empty name or one containing a NUL byte, which
    PostgreSQL cannot store.
    """
    if not name:
        raise ValueError("a PostgreSQL identifier cannot be empty")
    if "\x00" in name:
        raise ValueError("a PostgreSQL identifier cannot contain a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def database_hardening_sql(database: str, owner: str) -> list[str]:
    """The statements that refuse temporary tables and ``public``-schema DDL to PUBLIC.

    Run once, as a superuser connected to ``database`` (CNPG's
    ``postInitApplicationSQL`` does exactly that).
    """
    db = quote_identifier(database)
    return [
        f"REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC",
        f"GRANT TEMPORARY ON DATABASE {db} TO {quote_identifier(owner)}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
