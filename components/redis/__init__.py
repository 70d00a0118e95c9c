"""Shared state for LiteLLM's processes (`redis.mode`): a Memorystore instance or an in-cluster Valkey
release, their credentials through GSM and ESO, and what the proxy needs to reach them (`RedisWiring`).
`values` holds the pure builders, `component` the thin `SharedState` component."""
