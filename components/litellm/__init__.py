"""LiteLLM, the proxy: its pinned Helm release and the objects around it (provider-key ExternalSecret,
ServiceAccount, metrics Service and ServiceMonitor, NetworkPolicies, TLS Ingress). `values` holds the pure
builders (proxy config, Helm values, manifests), `ingress_paths` the API/admin route split read from
`routes.json`, `component` the thin `LiteLLM` component that registers them."""
