"""The SQL each role engine sends to PostgreSQL for one role, as pure functions.

The program never talks to PostgreSQL itself: a CNPG operator or the pulumi-postgresql
provider does, from what the program rendered. To check on a real server what the
rendered definitions *do*, these translators reproduce, statement by statement, what the
engines' source code builds for a role that does not exist yet. They take the inputs the
way Pulumi's mock engine records them (camelCase keys, integers as floats).

What each translator mirrors (upstream project, release, commit, files and functions) is
recorded in ``CNPG`` and ``TERRAFORM_PROVIDER`` below, with every known difference from that
source; ``tests/tools/test_versions.py`` holds the records to the stack's pins (the CNPG CRDs
of assets.lock.json and the documented operator minimum; the pulumi-postgresql release of
requirements.txt, installed, whose provider bridges the recorded Terraform provider), so an
upgrade of either fails there until someone re-reads the source and updates this module.
Quoting is pgx v5 ``Identifier.Sanitize`` and lib/pq ``QuoteLiteral`` for CNPG; lib/pq
``QuoteIdentifier`` and the provider's own ``pqQuoteLiteral`` for the provider, whose sets
(``roles``, ``privileges``) are iterated in terraform-plugin-sdk ``schema.Set`` order
(``HashString`` = CRC-32, keys sorted as decimal strings). CNPG's defaults (``inherit:
true``, ``connectionLimit: -1``, ``ensure: present``) come from the Cluster CRD, which the
API server applies.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "CNPG",
    "PULUMI_POSTGRESQL",
    "TERRAFORM_PROVIDER",
    "Mirror",
    "cnpg_managed_role_sql",
    "pg_provider_grant_sql",
    "pg_provider_role_sql",
]


@dataclass(frozen=True)
class Mirror:
    """The upstream source a translator copies: read there, at that release."""

    repository: str
    version: str
    commit: str
    files: tuple[tuple[str, tuple[str, ...]], ...]
    """(path in the repository, the functions or parts read)."""
    differences: tuple[str, ...] = ()
    """Where the translator knowingly differs from that source, and why that does not change what the tests see."""


CNPG: Final = Mirror(
    repository="cloudnative-pg/cloudnative-pg",
    version="1.30.0",
    commit="4b5e244a7d031f67e025c83c1555e7726ecbbfa1",
    files=(
        (
            "internal/management/controller/roles/postgres.go",
            ("Create", "appendRoleOptions", "appendInRoleOptions", "appendPasswordOption", "executeRoleStatement"),
        ),
        ("internal/management/controller/roles/roles.go", ("roleConfigurationAdapter.toDatabaseRole",)),
        ("internal/management/controller/roles/runnable.go", ("applyRoleCreateUpdate", "getPassword")),
        ("pkg/management/postgres/utils/roles.go", ("ExecWithSuppressedLogging",)),
        ("config/crd/bases/postgresql.cnpg.io_clusters.yaml", ("spec.managed.roles defaults",)),
    ),
    differences=(
        "whitespace: `CREATE ROLE <ident> ` and ` IN ROLE <list> ` keep the trailing space CNPG dropped in 1.29; "
        "the parser reads the same statement",
        "ExecWithSuppressedLogging also runs `SET LOCAL log_statement = 'none'` first: a logging setting of the "
        "transaction, no effect on the role",
        "since 1.30 appendPasswordOption SCRAM-SHA-256-encodes a cleartext password in the operator "
        "(EnsureEncryptedPassword, unless the Secret carries the passthrough annotation); the translator sends the "
        "cleartext, which the server encodes itself (password_encryption = scram-sha-256, the default): the stored "
        "verifier differs only in its salt, logins behave the same",
    ),
)
"""The CNPG role reconciler ``cnpg_managed_role_sql`` copies (the operator whose CRDs the lock pins)."""

TERRAFORM_PROVIDER: Final = Mirror(
    repository="cyrilgdn/terraform-provider-postgresql",
    version="1.27.0",
    commit="ff936b9548c1076f498523a2bd116915ff977142",
    files=(
        (
            "postgresql/resource_postgresql_role.go",
            (
                "resourcePostgreSQLRoleCreate",
                "grantRoles",
                "alterSearchPath",
                "setStatementTimeout",
                "setIdleInTransactionSessionTimeout",
                "setAssumeRole",
            ),
        ),
        (
            "postgresql/resource_postgresql_grant.go",
            ("resourcePostgreSQLGrantCreateOrUpdate", "createRevokeQuery", "createGrantQuery"),
        ),
        ("postgresql/helpers.go", ("pqQuoteLiteral",)),
    ),
)
"""The provider ``pg_provider_role_sql`` and ``pg_provider_grant_sql`` copy."""

PULUMI_POSTGRESQL: Final = "3.18.2"
"""The pulumi-postgresql release whose provider bridges ``TERRAFORM_PROVIDER``: pulumi/pulumi-postgresql's
``upstream`` submodule is that commit from v3.18.0 (b57d264, "Upgrade terraform-provider-postgresql to
v1.27.0") on; its Python package does not name the Terraform provider, so the pair is recorded here."""


# --- quoting, as the Go libraries do it -----------------------------------------------


def _pgx_identifier(name: str) -> str:
    """pgx v5 ``Identifier{name}.Sanitize()``: drop NUL bytes, double ``"``, wrap."""
    return '"' + name.replace("\x00", "").replace('"', '""') + '"'


def _pq_quote_identifier(name: str) -> str:
    """lib/pq ``QuoteIdentifier``: cut at the first NUL, double ``"``, wrap."""
    return '"' + name.split("\x00", 1)[0].replace('"', '""') + '"'


def _pq_quote_literal(value: str) -> str:
    """lib/pq ``QuoteLiteral``: double ``'``; with a backslash, double it and use `` E'...'``."""
    value = value.replace("'", "''")
    if "\\" in value:
        return " E'" + value.replace("\\", "\\\\") + "'"
    return "'" + value + "'"


def _provider_pq_quote_literal(value: str) -> str:
    """terraform-provider-postgresql ``pqQuoteLiteral`` (the caller wraps it in ``'...'``).

    It doubles backslashes but the result goes into a plain ``'...'`` literal, which
    PostgreSQL (``standard_conforming_strings = on``, the default since 9.1) reads
    verbatim: a backslash in a password reaches the server doubled.
    """
    return value.replace("\\", "\\\\").replace("'", "''")


def _go_trim_space(value: str) -> str:
    """Go ``strings.TrimSpace`` (Unicode white space at both ends)."""
    return value.strip()


def _as_int(value: Any, key: str) -> int:
    """An integer input, accepting the floats Pulumi's mock engine delivers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} must be a number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return int(value)


def _schema_set_order(values: Iterable[str]) -> list[str]:
    """terraform-plugin-sdk ``schema.Set.List()`` order for a ``HashString`` set."""
    unique = {str(zlib.crc32(value.encode())): value for value in values}
    return [unique[key] for key in sorted(unique)]


def _pq_format_timestamp(value: str) -> str:
    """lib/pq ``FormatTimestamp`` of a ``metav1.Time`` (RFC 3339, read in UTC)."""
    moment = datetime.fromisoformat(value).astimezone(UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- CloudNativePG --------------------------------------------------------------------


def cnpg_managed_role_sql(role: Mapping[str, Any], password: str) -> list[str]:
    """What CNPG's role reconciler (``CNPG``) runs to create one ``spec.managed.roles[]`` entry.

    ``password`` is the ``password`` key of the ``passwordSecret`` (CNPG trims it,
    ``runnable.go`` ``getPassword``); it is ignored when the entry has no
    ``passwordSecret``. Behaviour taken from the source:

    - ``roles.go`` ``toDatabaseRole``: every attribute maps 1:1; no ``passwordSecret``
      and no ``disablePassword`` means the password is left alone, ``disablePassword``
      means ``PASSWORD NULL``; both set is refused (``runnable.go``).
    - ``postgres.go`` ``Create``: ``CREATE ROLE <pgx ident> `` then, each with a leading
      space, ``[NO]BYPASSRLS [NO]CREATEDB [NO]CREATEROLE [NO]INHERIT [NO]LOGIN
      [NO]REPLICATION [NO]SUPERUSER CONNECTION LIMIT <n>`` (always, -1 included), then
      `` IN ROLE "a","b" `` when ``inRoles`` is set (memberships go into the CREATE, not
      into GRANTs; ``UpdateMembership`` GRANT/REVOKE is only for existing roles), then
      `` PASSWORD <pq literal>`` / `` PASSWORD NULL`` and `` VALID UNTIL <literal>``.
      A statement carrying a password runs in a transaction after
      ``SET LOCAL log_min_error_statement = 'PANIC'`` (``executeRoleStatement``), so a
      failing statement does not log the password.
    - ``COMMENT ON ROLE <ident> IS <pq literal>`` follows, only for a non-empty comment.

    An entry with ``ensure: absent`` creates nothing (the reconciler only drops a role
    that exists), so the result is empty.
    """
    if role.get("ensure", "present") == "absent":
        return []
    name = str(role["name"])
    ident = _pgx_identifier(name)
    flags = (
        ("bypassrls", "BYPASSRLS", False),
        ("createdb", "CREATEDB", False),
        ("createrole", "CREATEROLE", False),
        ("inherit", "INHERIT", True),
        ("login", "LOGIN", False),
        ("replication", "REPLICATION", False),
        ("superuser", "SUPERUSER", False),
    )
    query = f"CREATE ROLE {ident} "
    for key, keyword, default in flags:
        query += f" {keyword}" if bool(role.get(key, default)) else f" NO{keyword}"
    query += f" CONNECTION LIMIT {_as_int(role.get('connectionLimit', -1), 'connectionLimit')}"
    in_roles = [str(parent) for parent in role.get("inRoles") or []]
    if in_roles:
        query += " IN ROLE " + ",".join(_pgx_identifier(parent) for parent in in_roles) + " "

    has_secret = role.get("passwordSecret") is not None
    disabled = bool(role.get("disablePassword", False))
    if has_secret and disabled:
        raise ValueError(f"role {name}: passwordSecret and disablePassword are exclusive")
    sends_password = False
    if has_secret:
        query += f" PASSWORD {_pq_quote_literal(_go_trim_space(password))}"
        sends_password = True
    elif disabled:
        query += " PASSWORD NULL"
    if role.get("validUntil"):
        query += f" VALID UNTIL {_pq_quote_literal(_pq_format_timestamp(str(role['validUntil'])))}"

    statements = ["SET LOCAL log_min_error_statement = 'PANIC'", query] if sends_password else [query]
    comment = str(role.get("comment") or "")
    if comment:
        statements.append(f"COMMENT ON ROLE {ident} IS {_pq_quote_literal(comment)}")
    return statements


# --- terraform-provider-postgresql (pulumi-postgresql) --------------------------------


def pg_provider_role_sql(inputs: Mapping[str, Any], password: str) -> list[str]:
    """What the provider runs, in one transaction, to create a ``postgresql.Role``.

    ``password`` is the plain password (the recorded ``password`` input is a secret
    wrapper under mocks); an empty one means no password clause. From
    ``resourcePostgreSQLRoleCreate``:

    - ``CREATE ROLE <pq ident> WITH`` followed by, space-joined: ``ENCRYPTED PASSWORD
      '<pqQuoteLiteral>'`` (``UNENCRYPTED`` when ``encryptedPassword`` is false,
      ``PASSWORD NULL`` for the value ``NULL``), ``VALID UNTIL 'infinity'`` (the schema
      default) or ``VALID UNTIL '<pqQuoteLiteral>'``, ``CONNECTION LIMIT <n>`` (default
      -1), ``[NO]SUPERUSER [NO]CREATEDB [NO]CREATEROLE [NO]INHERIT [NO]LOGIN
      [NO]BYPASSRLS [NO]REPLICATION`` (defaults: false, except ``inherit`` true).
    - ``GRANT <role> TO <name>`` per element of ``roles`` (``grantRoles``).
    - ``ALTER ROLE <name> SET search_path TO DEFAULT`` or the quoted ``searchPaths``
      list, always (``alterSearchPath``).
    - ``statementTimeout``, ``idleInTransactionSessionTimeout``, ``assumeRole``: an
      ``ALTER ROLE ... SET`` only when set to a non-zero/non-empty value (the create
      path runs them on ``HasChange`` only). ``parameters`` is not modelled.
    """
    if inputs.get("parameters"):
        raise NotImplementedError("postgresql.Role parameters are not modelled")
    name = str(inputs["name"])
    ident = _pq_quote_identifier(name)
    options: list[str] = []
    if password:
        if password.upper() == "NULL":
            options.append("PASSWORD NULL")
        else:
            encrypted = bool(inputs.get("encryptedPassword", True))
            options.append("ENCRYPTED" if encrypted else "UNENCRYPTED")
            options.append(f"PASSWORD '{_provider_pq_quote_literal(password)}'")
    valid_until = str(inputs.get("validUntil", "infinity"))
    if valid_until:
        if valid_until.lower() == "infinity":
            options.append("VALID UNTIL 'infinity'")
        else:
            options.append(f"VALID UNTIL '{_provider_pq_quote_literal(valid_until)}'")
    limit = _as_int(inputs.get("connectionLimit", -1), "connectionLimit")
    options.append(f"CONNECTION LIMIT {limit}")
    flags = (
        ("superuser", "SUPERUSER", False),
        ("createDatabase", "CREATEDB", False),
        ("createRole", "CREATEROLE", False),
        ("inherit", "INHERIT", True),
        ("login", "LOGIN", False),
        ("bypassRowLevelSecurity", "BYPASSRLS", False),
        ("replication", "REPLICATION", False),
    )
    for key, keyword, default in flags:
        options.append(keyword if bool(inputs.get(key, default)) else f"NO{keyword}")

    statements = [f"CREATE ROLE {ident} WITH {' '.join(options)}"]
    for parent in _schema_set_order(str(r) for r in inputs.get("roles") or []):
        statements.append(f"GRANT {_pq_quote_identifier(parent)} TO {ident}")
    search_path = [str(part) for part in inputs.get("searchPaths") or []]
    if any(", " in part for part in search_path):
        raise ValueError("search_path cannot contain ', '")
    rendered = ", ".join(_pq_quote_identifier(part) for part in search_path) or "DEFAULT"
    statements.append(f"ALTER ROLE {ident} SET search_path TO {rendered}")
    statement_timeout = _as_int(inputs.get("statementTimeout", 0), "statementTimeout")
    if statement_timeout:
        statements.append(f"ALTER ROLE {ident} SET statement_timeout TO {statement_timeout}")
    idle_timeout = _as_int(inputs.get("idleInTransactionSessionTimeout", 0), "idleInTransactionSessionTimeout")
    if idle_timeout:
        statements.append(f"ALTER ROLE {ident} SET idle_in_transaction_session_timeout TO {idle_timeout}")
    if assume_role := str(inputs.get("assumeRole") or ""):
        statements.append(f"ALTER ROLE {ident} SET ROLE TO {_pq_quote_identifier(assume_role)}")
    return statements


def pg_provider_grant_sql(inputs: Mapping[str, Any]) -> list[str]:
    """What the provider runs to create a ``postgresql.Grant`` on a database or schema.

    From ``resourcePostgreSQLGrantCreateOrUpdate``: revoke everything the role holds on
    the object, then grant the listed privileges, in one transaction (the provider also
    takes an advisory lock on the schema first, ``pgLockSchema``, and as a superuser
    needs no temporary role grants, ``withRolesGranted``; neither changes privileges).
    ``createRevokeQuery``/``createGrantQuery``:

    - database: ``REVOKE ALL PRIVILEGES ON DATABASE <db> FROM <role>`` then
      ``GRANT <p,p> ON DATABASE <db> TO <role>``;
    - schema: ``REVOKE ALL PRIVILEGES ON SCHEMA <schema> FROM <role>`` then
      ``GRANT <p,p> ON SCHEMA <schema> TO <role>``;

    identifiers through lib/pq ``QuoteIdentifier`` (so role ``public`` becomes
    ``"public"``, which PostgreSQL's grammar reads as PUBLIC), privileges joined with
    ``,`` in set order, `` WITH GRANT OPTION`` when asked, no GRANT for an empty list.
    """
    object_type = str(inputs["objectType"]).lower()
    role = _pq_quote_identifier(str(inputs["role"]))
    if object_type == "database":
        target = f"DATABASE {_pq_quote_identifier(str(inputs['database']))}"
    elif object_type == "schema":
        target = f"SCHEMA {_pq_quote_identifier(str(inputs['schema']))}"
    else:
        raise NotImplementedError(f"objectType {object_type!r} is not modelled")
    statements = [f"REVOKE ALL PRIVILEGES ON {target} FROM {role}"]
    privileges = _schema_set_order(str(p) for p in inputs.get("privileges") or [])
    if privileges:
        grant = f"GRANT {','.join(privileges)} ON {target} TO {role}"
        if inputs.get("withGrantOption"):
            grant += " WITH GRANT OPTION"
        statements.append(grant)
    return statements
