"""Tenants as code: LiteLLM teams, budgets and virtual keys declared per stack.

`reconciler` (stdlib only, shipped in a ConfigMap and run in the cluster by a Job and a CronJob) makes
LiteLLM's teams and keys match the desired document; docs/tenants-reconciler.md."""
