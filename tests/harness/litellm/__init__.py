"""A real LiteLLM proxy on loopback: the probe that captures its metrics, its pinned install, its routes."""
