"""Real components the tests start on loopback: a throwaway PostgreSQL with LiteLLM's schema (pglab),
a real LiteLLM proxy (litellm), actionlint. Benchmarks (bench/) use them too; the program and tools/ never do."""
