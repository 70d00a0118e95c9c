"""Pinned assets for tests: the verified path, or a one-line failure naming the fetch command."""

from __future__ import annotations

from pathlib import Path

from config.assets import AssetError, asset_path, load_lock
from tests.support.components import unavailable


def require(name: str) -> Path:
    """The verified cached asset `name`; a missing or tampered one fails the calling test in one line
    (the component `assets` of tests/support/components.py, needed in every run)."""
    try:
        return asset_path(name)
    except AssetError as exc:
        unavailable("assets", str(exc))


def names(prefix: str) -> list[str]:
    """Every asset of the lock whose name starts with `prefix` (e.g. `crd/`), sorted."""
    return sorted(name for name in load_lock() if name.startswith(prefix))
