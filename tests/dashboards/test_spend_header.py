"""The spend dashboards' shared header, rendered to Grafana's JSON model."""

from __future__ import annotations

from dashboards.spend_panels import header, to_json


def test_header_is_read_only_utc_and_tagged() -> None:
    model = to_json(header("Spend", "spend-uid", "What it shows.", extra_tags=("chargeback",)))
    assert (model["title"], model["uid"], model["description"]) == ("Spend", "spend-uid", "What it shows.")
    # Spend rollups are per UTC day: a browser time zone would shift every day boundary.
    assert model["timezone"] == "utc"
    assert model["editable"] is False
    assert model["tags"] == ["llm-gateway", "litellm", "spend", "chargeback"]
    assert model["time"] == {"from": "now-30d", "to": "now"}
    assert model["refresh"] == "5m"


def test_header_without_refresh_leaves_it_out() -> None:
    model = to_json(header("Chargeback", "cb", "Monthly.", time=("now-3M/M", "now/M"), refresh=None))
    assert "refresh" not in model
    assert model["time"] == {"from": "now-3M/M", "to": "now/M"}
