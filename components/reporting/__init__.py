"""Reporting: the CronJob that keeps the `reporting` schema's rollups fresh for Grafana.

`sql` (the schema, grants and refresh statements, pure) and `component` (their ConfigMap,
the CronJob and its NetworkPolicies, built from `ReportingArgs`).
"""
