"""Every image setting of a repository in `config.provenance.PATCH_CHECKS` runs the newest patch of its
major that was verified upstream (CNPG's PostgreSQL image was 17.6 while 17.11 was published)."""

from __future__ import annotations

import re

import pytest

from config.postgres import DEFAULT_REPORTING_IMAGE
from config.provenance import PATCH_CHECKS, PatchCheck
from tests.support.config import stack_config

STACKS = ("lab", "enterprise")


def _version(image: str) -> tuple[str, tuple[int, int]]:
    """Repository and (major, minor) of `repository:<major>.<minor>[-suffix][@digest]`."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    match = re.match(r"v?(\d+)\.(\d+)", tag)
    assert match, image
    return repository, (int(match.group(1)), int(match.group(2)))


def _check(repository: str) -> PatchCheck:
    return next(c for c in PATCH_CHECKS if c.repository == repository)


def _is_newest(image: str) -> bool:
    repository, (major, minor) = _version(image)
    newest_major, newest_minor = (int(n) for n in _check(repository).newest.split("."))
    return major != newest_major or minor >= newest_minor


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_cnpg_image_is_the_newest_verified_patch_of_its_major(stack: str) -> None:
    image = stack_config(stack).postgres.cnpg.image  # type: ignore[union-attr]
    assert _version(image)[0] == "ghcr.io/cloudnative-pg/postgresql"
    assert _is_newest(image), f"{stack}: {image} is older than {_check(_version(image)[0]).newest}"


def test_the_reporting_default_is_the_newest_verified_patch_too() -> None:
    assert _is_newest(DEFAULT_REPORTING_IMAGE), DEFAULT_REPORTING_IMAGE


def test_the_check_catches_an_older_patch_and_leaves_other_majors_alone() -> None:
    assert not _is_newest("ghcr.io/cloudnative-pg/postgresql:17.6-standard-trixie")
    assert not _is_newest("ghcr.io/cloudnative-pg/postgresql:17.10-202608010816-standard-trixie@sha256:" + "a" * 64)
    assert _is_newest("ghcr.io/cloudnative-pg/postgresql:16.4-standard-trixie")


def test_every_check_names_a_date_and_a_source() -> None:
    for check in PATCH_CHECKS:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", check.checked) and check.how, check
        assert re.fullmatch(r"\d+\.\d+", check.newest), check
