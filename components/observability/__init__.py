"""What the gateway gives its operators to watch: Prometheus alert rules (`rules`, the alerts
themselves by family in `alerts/`) and their routing to receivers (`routing`), registered by
`alerting`; Grafana dashboards as sidecar ConfigMaps (`dashboards`, the JSON built in the top-level
`dashboards` package); Grafana's PostgreSQL datasource on the spend tables (`datasource`)."""
