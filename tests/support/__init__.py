"""Test support: shared helpers for every test package (servers, schemas, scenario runs)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder."""
