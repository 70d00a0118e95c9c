"""Single sign-on in front of LiteLLM's admin UI: oauth2-proxy as a pinned Helm release against the
company's OIDC provider. `values` holds the pure builders (Helm values, credentials ExternalSecret,
NetworkPolicies, the gateway Ingress's paths to it), `component` the thin `Sso` component."""
