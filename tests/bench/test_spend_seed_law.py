"""The benchmark's two generators of spend rows draw from one law.

`bulk_load` seeds a point with PostgreSQL's random() (20M rows in minutes); `add_bulk_rows`, the
rows that arrive between two timed refreshes, writes Python's lines (`_bulk_lines`). The rows
differ; the law must not, or the refresh would be timed on traffic unlike the seed's. Both draw
here over the same keys, users and models, and what a panel or the refresh would see of them is
compared: failure share, each model's share, the heaviest keys' share, every key's one user.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import LiteLLMDatabase
from tests.support.reporting_db import database_copy

pytestmark = pytest.mark.needs("postgresql")

ROWS, KEYS, USERS, MODELS = 40_000, 2_000, 300, 12
END = datetime(2026, 12, 1)
SHARES = """
SELECT count(*) FILTER (WHERE status = 'failure')::float8 / count(*),
  (SELECT json_object_agg(model, n) FROM (SELECT model, count(*)::float8 / %(rows)s AS n FROM "LiteLLM_SpendLogs"
     WHERE request_id LIKE %(like)s GROUP BY model) m),
  (SELECT sum(n) FROM (SELECT count(*)::float8 / %(rows)s AS n FROM "LiteLLM_SpendLogs" WHERE request_id LIKE %(like)s
     GROUP BY api_key ORDER BY 1 DESC LIMIT 20) k),
  (SELECT count(*) FROM (SELECT api_key FROM "LiteLLM_SpendLogs" WHERE request_id LIKE %(like)s
     GROUP BY api_key HAVING count(DISTINCT "user") > 1) u),
  avg(spend) FILTER (WHERE status = 'success')
FROM "LiteLLM_SpendLogs" WHERE request_id LIKE %(like)s
"""


@pytest.fixture(scope="module")
def drawn(litellm_database: LiteLLMDatabase) -> Iterator[dict[str, tuple[object, ...]]]:
    with (
        database_copy(litellm_database, "spend_seed_law"),
        litellm_database.server.connect_as(
            litellm_database.owner, litellm_database.owner_password, "spend_seed_law"
        ) as conn,
    ):
        data = spend_seed.bulk_dataset(teams=50, keys=KEYS)
        spend_seed.bulk_load(conn, rows=ROWS, days=1, end=END, data=data, users=USERS, models=MODELS)
        spend_seed.add_bulk_rows(conn, data, rows=ROWS, end=END, prefix="py", users=USERS, models=MODELS)
        yield {
            which: tuple(conn.execute(SHARES, {"rows": ROWS, "like": f"{which}-%"}).fetchone() or ())
            for which in ("bulk", "py")
        }


def test_both_generators_fail_three_requests_in_a_hundred(drawn: dict[str, tuple[object, ...]]) -> None:
    for which, shares in drawn.items():
        assert shares[0] == pytest.approx(0.03, abs=0.005), which


def test_each_model_has_the_same_share_in_both(drawn: dict[str, tuple[object, ...]]) -> None:
    sql_models, py_models = drawn["bulk"][1], drawn["py"][1]
    assert isinstance(sql_models, dict) and isinstance(py_models, dict)
    assert set(sql_models) == set(py_models) == {m[0] for m in spend_seed.bulk_models(MODELS)}
    for model, share in py_models.items():
        assert sql_models[model] == pytest.approx(share, abs=0.01), model


def test_traffic_is_as_heavy_tailed_in_both(drawn: dict[str, tuple[object, ...]]) -> None:
    """The 20 busiest of 2,000 keys carry the same share of the requests (about a third)."""
    top_sql, top_py = drawn["bulk"][2], drawn["py"][2]
    assert isinstance(top_sql, float) and isinstance(top_py, float)
    assert 0.15 < top_py < 0.6
    assert top_sql == pytest.approx(top_py, abs=0.04)


def test_every_key_has_one_user_and_spend_is_priced_alike(drawn: dict[str, tuple[object, ...]]) -> None:
    assert drawn["bulk"][3] == drawn["py"][3] == 0
    spend_sql, spend_py = drawn["bulk"][4], drawn["py"][4]
    assert isinstance(spend_sql, float) and isinstance(spend_py, float)
    assert spend_sql == pytest.approx(spend_py, rel=0.05)
