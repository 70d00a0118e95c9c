"""The gateway's alerts, one module a family: `traffic` (availability, performance, usage,
providers), `spend` (cost, budgets, retention), `database` (CNPG); `alert` holds the `Alert` record
and the PromQL pieces they share. `components.observability.rules` renders them.
"""
