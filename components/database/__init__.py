"""The database: LiteLLM's PostgreSQL, a CloudNativePG cluster or an external server.

`component` (the Database component), `args` (its `DatabaseArgs`: passwords, clients), `endpoint`
(the `DatabaseEndpoint` its consumers read), `cnpg_engine` and `external_engine` (each engine's
resources), `cnpg` (pure builders of the CNPG objects, and `DatabaseTenant`: another component's
database on the cluster), `server` (roles, databases and grants on an external server, shared with
Langfuse), `network` (the egress rule its clients add) and `sql` (the bootstrap hardening statements).
"""
