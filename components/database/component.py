"""Database: LiteLLM's PostgreSQL and the read-only `grafana_ro` login.

Encapsulates, for `postgres.engine: cnpg` (`components.database.cnpg_engine`):
- a CloudNativePG `Cluster` (pinned image, instances, storage, resources,
  parameters, pod anti-affinity, PDB) bootstrapped with the `litellm`
  database and owner plus the hardening SQL of `components.database.sql`;
- `grafana_ro` as a managed role with no memberships (it reads the `reporting`
  schema only, by the reporting job's grants), and the `reporting` role (no
  memberships: SELECT on LiteLLM's spend columns, granted by the reporting job as
  their owner; owner of the `reporting` schema, used by the reporting CronJob
  only); each password a ManagedSecret rendered as a `kubernetes.io/basic-auth`
  Secret labelled `cnpg.io/reload: "true"`;
- a CNPG `Database` for LiteLLM's database declaring the `reporting` schema;
- when `postgres.backup.enabled`: a GCS bucket (uniform access, versioning,
  noncurrent-version lifecycle), a Google service account with access to that
  bucket only, Workload Identity for the cluster's service account, the
  barman-cloud `ObjectStore`, the Cluster's `plugins:` entry and a
  `ScheduledBackup` (`method: plugin`);
- a `PodMonitor` for the platform's Prometheus.

For `postgres.engine: external` (`components.database.external_engine`): a
`pulumi_postgresql` provider (admin user from config, password from the stack secret
`postgresAdminPassword` that `__main__.py` reads and passes in `DatabaseArgs`, never a
superuser) that creates the `litellm` role and database (`components.database.server`),
`grafana_ro`, the `reporting` role and schema, and the same hardening as grants.
Both engines expose the same `DatabaseEndpoint` (`components.database.endpoint`).
"""

from __future__ import annotations

import pulumi
import pulumi_postgresql as postgresql

from components.database.args import DatabaseArgs
from components.database.cnpg_engine import register_cnpg
from components.database.endpoint import DatabaseEndpoint
from components.database.external_engine import register_external
from components.secrets.managed import ManagedSecret


class Database(pulumi.ComponentResource):
    endpoint_info: DatabaseEndpoint
    postgres_provider: postgresql.Provider | None = None
    """The external server's provider (engine external), for other components' roles and databases."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:database:Database", name, None, opts)
        pg = args.postgres
        if pg.engine == "external" and args.admin_password is None:
            raise ValueError("postgres.engine external needs the admin password (postgresAdminPassword)")
        child = pulumi.ResourceOptions(parent=self)
        # Both engines' read-only logins; each engine's roles read their passwords in its own way.
        grafana_ro = ManagedSecret(f"{name}-grafana-ro", args.passwords.grafana_ro, child)
        reporting = ManagedSecret(f"{name}-reporting", args.passwords.reporting, child)
        self.endpoint_info = args.endpoint
        if pg.engine == "cnpg":
            register_cnpg(name, args, pg, grafana_ro=grafana_ro, reporting=reporting, parent=self)
        else:
            assert args.admin_password is not None  # checked above
            self.postgres_provider = register_external(
                name, args, pg, args.admin_password, grafana_ro=grafana_ro, reporting=reporting, parent=self
            )
        self.register_outputs({"endpoint": self.endpoint()})

    def endpoint(self) -> dict[str, object]:
        """The stack outputs of the endpoint (`database`)."""
        return self.endpoint_info.outputs()
