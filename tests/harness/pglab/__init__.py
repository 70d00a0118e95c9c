"""A throwaway PostgreSQL with LiteLLM's real schema, spend data and Grafana's SQL rendering.

Shared by the tests and bench/spend_queries.py (tools never import tests).
"""
