"""`langfuse` settings GCS, the ClickHouse operator or Langfuse itself would refuse are refused before any
resource, with the key path: each value here was accepted before."""

from __future__ import annotations

from typing import Any

import pytest

from config import parse_config
from tests.support.config import errors_for, with_value

BUCKET = "langfuse.gcs.bucket"

REFUSED: list[tuple[str, Any, str]] = [
    # (key path, value, what the message must say besides the key path)
    (BUCKET, "goog-langfuse", "starts with 'goog'"),
    (BUCKET, "acme-google-langfuse", "'google' or a look-alike"),
    (BUCKET, "acme-g00gle-langfuse", "'google' or a look-alike"),
    (BUCKET, "192.168.5.4", "IP address"),
    (BUCKET, "acme..langfuse", "dot-separated part"),
    (BUCKET, "acme.-langfuse", "dot-separated part"),
]


@pytest.mark.parametrize(("path", "value", "why"), REFUSED, ids=[f"{c[0]}={c[1]!r}" for c in REFUSED])
def test_langfuse_values_gcs_or_langfuse_refuse_are_refused_with_the_key_path(path: str, value: Any, why: str) -> None:
    message = errors_for(with_value("enterprise", path, value))
    line = next((ln for ln in message.splitlines() if f"llm-gateway:{path}" in ln), None)
    assert line is not None, message
    assert why in line, line


@pytest.mark.parametrize("bucket", ["acme-llm-prod-langfuse", "langfuse.acme.example", "a1_b2"])
def test_bucket_names_gcs_takes_are_accepted(bucket: str) -> None:
    gcs = parse_config(with_value("enterprise", BUCKET, bucket)).langfuse.gcs
    assert gcs is not None and gcs.bucket == bucket


VERSION_REFUSED: list[tuple[str, Any, str]] = [
    ("langfuse.version", "5", "'3' or '4'"),
    ("langfuse.version", 3.5, "'3' or '4'"),
    ("langfuse.v4_migration.historic_backfill", True, "must be false with write_mode legacy"),
]


@pytest.mark.parametrize(("path", "value", "why"), VERSION_REFUSED, ids=[f"{c[0]}={c[1]!r}" for c in VERSION_REFUSED])
def test_a_langfuse_version_the_program_has_no_chart_for_is_refused(path: str, value: Any, why: str) -> None:
    raw = with_value("enterprise", path, value)
    if path.endswith("historic_backfill"):
        raw["langfuse"]["v4_migration"]["write_mode"] = "legacy"
    message = errors_for(raw)
    line = next((ln for ln in message.splitlines() if "llm-gateway:langfuse." in ln), None)
    assert line is not None and why in line, message


def test_the_version_picks_the_locked_chart_and_a_yaml_number_reads_as_the_version() -> None:
    four = parse_config(with_value("enterprise", "langfuse.version", 4)).langfuse
    three = parse_config(with_value("enterprise", "langfuse.version", 3)).langfuse
    assert (four.version, four.chart_asset) == ("4", "chart/langfuse-v4")
    assert (three.version, three.chart_asset) == ("3", "chart/langfuse")


def test_v4_settings_on_v3_and_minio_on_v4_are_refused() -> None:
    raw = with_value("enterprise", "langfuse.version", "3")
    raw["langfuse"]["v4_migration"] = {"write_mode": "dual"}
    assert 'llm-gateway:langfuse.v4_migration: applies to version "4" only' in errors_for(raw)
    raw = with_value("enterprise", "langfuse.blob_storage", "minio")
    raw["langfuse"]["gcs"] = None
    assert 'llm-gateway:langfuse.blob_storage: version "4" needs gcs' in errors_for(raw)
