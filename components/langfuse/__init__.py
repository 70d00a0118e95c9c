"""Langfuse: self-hosted tracing for LiteLLM, created only when `langfuse.enabled`.

Pure builders: `names` (what the chart calls things), `values` (the chart's values),
`credentials` (its ExternalSecrets, and what LiteLLM needs to send traces), `database` (its
database as a tenant of the stack's PostgreSQL), `network` (NetworkPolicies and the UI's Ingress);
`component`, the Langfuse component (credentials, blob storage, database, Helm release).
"""
