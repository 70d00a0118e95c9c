"""Database budgets (config/budget.py): connections and storage of the stack's PostgreSQL.

- both stacks fit, with the tables in the `footprint` output and the preview;
- LiteLLM's default pool (10 per worker) at the enterprise HPA maximum does not fit
  max_connections: refused with the table, naming the key (a pool that cannot fit);
- the pool limit, the retention and the cleanup schedule reach the proxy config and
  Langfuse's DATABASE_ARGS;
- bad input: a retention under a day, a retention the volume cannot hold, a cleanup
  that cannot keep up, a non-numeric max_connections;
- the measured bytes per spend-log row still hold on real PostgreSQL with the
  installed LiteLLM schema (a small load; bench/spend_log_size.py measures it fully).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import spend_log_size as bench_spend_log_size
from components.litellm.proxy_config import proxy_config
from config import budget, parse_config
from tests.harness.pglab.server import PostgresServer, apply_litellm_schema
from tests.support.config import errors_for, namespace, stack_config
from tests.support.program import release, run_cached
from tools import preview

ADMIN = frozenset({"postgresAdminPassword"})


def _with(stack: str, **paths: Any) -> dict[str, Any]:
    raw = copy.deepcopy(namespace(stack))
    for path, value in paths.items():
        *parents, last = path.split("__")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return raw


def test_both_stacks_fit_their_budgets() -> None:
    for stack, total, maximum in (("enterprise", 189, 200), ("lab", 43, 100)):
        cfg = stack_config(stack)
        conns = budget.connection_budget(cfg)
        assert (conns.total, conns.max_connections) == (total, maximum)
        storage = budget.storage_budget(cfg)
        assert storage.allowed is not None and storage.total <= storage.allowed
    ent = budget.connection_budget(stack_config("enterprise"))
    rows = {line.item: line.amount for line in ent.lines}
    # (10 HPA max + 3 surge) pods x 2 workers x pool 5; Langfuse (2 + 1) x 5 each.
    assert rows["litellm proxy"] == 100 and rows["litellm rollout surge"] == 30
    assert rows["langfuse web"] == rows["langfuse worker"] == 15
    assert rows["grafana_ro"] == 10


def test_litellm_default_pool_at_the_hpa_maximum_is_refused_with_the_table() -> None:
    message = errors_for(_with("enterprise", litellm__database__connection_pool_limit=10))
    assert message.startswith(
        "invalid stack config (1 problem):\n  - llm-gateway:litellm.database.connection_pool_limit:"
    )
    assert "may open 319 connections, more than postgres.cnpg.parameters.max_connections (200)" in message
    for row in (
        "litellm proxy",
        "10 pods (HPA max) x 2 workers x pool 10",
        "langfuse worker",
        "grafana_ro",
        "headroom",
    ):
        assert row in message


def test_external_server_uses_its_own_max_connections_setting() -> None:
    raw = _with("lab", postgres__engine="external")
    raw["postgres"].pop("cnpg")
    raw["postgres"]["external"] = {
        "host": "pg.home.arpa",
        "admin_user": "pgadmin",
        "max_connections": 40,
        "server_cidrs": ["192.168.10.5/32"],
    }
    cfg = parse_config(raw, ADMIN)
    assert budget.connection_budget(cfg).max_connections == 40
    raw["postgres"]["external"]["max_connections"] = 39
    with pytest.raises(Exception, match=r"more than postgres\.external\.max_connections \(39\)"):
        parse_config(raw, ADMIN)


def test_settings_reach_the_proxy_config_and_langfuse() -> None:
    cfg = stack_config("enterprise")
    general = proxy_config(cfg.litellm)["general_settings"]
    assert general["database_connection_pool_limit"] == 5
    assert general["maximum_spend_logs_retention_period"] == "90d"
    assert general["maximum_spend_logs_retention_interval"] == "1d"
    assert general["maximum_spend_logs_cleanup_batch_size"] == 1000
    assert general["maximum_spend_logs_cleanup_max_batches"] == 500
    deployed = release(run_cached("enterprise"), "litellm")["values"]["proxy_config"]["general_settings"]
    assert deployed["database_connection_pool_limit"] == 5
    args = release(run_cached("enterprise"), "langfuse")["values"]["postgresql"]["args"]
    assert args.split("&")[0] == "connection_limit=5"


@pytest.mark.parametrize(
    ("paths", "key", "text"),
    [
        ({"litellm__database__spend_logs_retention": "12h"}, "litellm.database.spend_logs_retention", "at least 1d"),
        ({"litellm__database__spend_logs_retention": "30x"}, "litellm.database.spend_logs_retention", "expected a"),
        (
            {"litellm__database__spend_logs_retention": "3650d"},
            "litellm.database.spend_logs_retention",
            "does not fit 0.8 of the 10.0Gi volume",
        ),
        (
            {"litellm__database__cleanup_interval": "7d", "litellm__database__spend_logs_retention": "1d"},
            "litellm.database.cleanup_interval",
            "must not be longer than spend_logs_retention",
        ),
        (
            {"litellm__database__expected_requests_per_day": 600000},
            "litellm.database.cleanup_max_batches",
            "the cleanup would fall behind: 600000 spend-log rows expire per run",
        ),
        (
            {"postgres__cnpg__parameters": {"max_connections": "lots"}},
            "postgres.cnpg.parameters.max_connections",
            "must be a whole number",
        ),
    ],
)
def test_bad_input_is_a_config_error_naming_the_key(paths: dict[str, Any], key: str, text: str) -> None:
    message = errors_for(_with("lab", **paths))
    assert f"llm-gateway:{key}: " in message
    assert text in message


def test_storage_refusal_carries_the_table() -> None:
    message = errors_for(_with("lab", litellm__database__spend_logs_retention="3650d"))
    for row in ("spend logs", "5000/day x 2151 B x 3651 days", "daily tables", "WAL", "allowed"):
        assert row in message


def test_output_and_preview_carry_both_tables(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cached("enterprise").outputs["footprint"]
    assert out["connections"]["total"] == 189
    assert out["storage"]["volume_bytes"] == 50 * 2**30
    assert preview.main(["enterprise"]) == 0
    printed = capsys.readouterr().out
    assert "database connections" in printed and "max_connections" in printed
    assert "database storage" in printed and "150000/day x 2151 B x 91 days (90d + 1d)" in printed
    assert preview.main(["enterprise", "--set", "llm-gateway:litellm.database.connection_pool_limit=10"]) == 2
    assert "litellm rollout surge" in capsys.readouterr().err


def test_measured_row_size_holds_on_real_postgres(postgres_server: PostgresServer) -> None:
    """20,000 rows as the benchmark writes them: within 10 % of SPEND_LOG_ROW_BYTES."""
    database = apply_litellm_schema(postgres_server, database="rowsize", owner="rowsize")
    with postgres_server.connect_as(database.owner, database.owner_password, database.name) as conn:
        conn.autocommit = True
        columns = ", ".join(f'"{c}"' for c in bench_spend_log_size.COLUMNS)
        end = datetime.now(UTC).replace(tzinfo=None)
        with conn.cursor() as cur, cur.copy(f'COPY "LiteLLM_SpendLogs" ({columns}) FROM STDIN'.encode()) as copy_:
            copy_.write(bench_spend_log_size.copy_text(20_000, 7, end, seed=13).getvalue())
        conn.execute('VACUUM ANALYZE "LiteLLM_SpendLogs"')
        size = bench_spend_log_size.table_size(conn, "LiteLLM_SpendLogs")
    per_row = size["total"] / size["rows"]
    assert abs(per_row - budget.SPEND_LOG_ROW_BYTES) / budget.SPEND_LOG_ROW_BYTES < 0.1, per_row
