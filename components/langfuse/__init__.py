"""Langfuse: self-hosted tracing for LiteLLM, created only when `langfuse.enabled`.

`values` (pure builders: the chart's values, its ExternalSecrets, its NetworkPolicies,
Ingress, and its database as a tenant of the stack's PostgreSQL) and `component` (the
Langfuse component: credentials, blob storage, database, Helm release).
"""
