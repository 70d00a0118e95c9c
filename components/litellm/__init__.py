"""LiteLLM, the proxy: its pinned Helm release and the objects around it (provider-key ExternalSecret,
ServiceAccount, metrics Service and ServiceMonitor, NetworkPolicies, TLS Ingress). Pure builders:
`names` (what the chart calls things), `wiring` (what the release is wired to), `proxy_config`
(LiteLLM's config.yaml), `values` (the chart's values and the objects beside the release), `network`
(NetworkPolicies and the Ingress), `ingress_paths` (the API/admin route split read from `routes.json`);
`component`, the thin `LiteLLM` component that registers them."""
