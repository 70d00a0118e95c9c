"""docs/versions.md lists every pinned version exactly as the files that set them."""

from __future__ import annotations

from tools import versions


def test_versions_table_is_generated_from_the_sources() -> None:
    assert versions.OUT.read_text(encoding="utf-8") == versions.render(), (
        "docs/versions.md is out of date: python -m tools.versions --write"
    )


def test_versions_table_names_litellm_and_its_schema_package() -> None:
    text = versions.render()
    for what in ("LiteLLM Helm chart (lab)", "LiteLLM image (enterprise)", "litellm[proxy]", "litellm-proxy-extras"):
        assert f"| {what} |" in text
