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
