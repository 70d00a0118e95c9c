"""No setting may name a Bitnami image (config/types.py `not_bitnami`, called by `pinned_image`, which
every image setting goes through): each image-valued key of both stack files, defaults included,
is refused with one line naming its key path when it points at `bitnami/` or `bitnamilegacy/`, and
accepted with the same name elsewhere (so the refusal is the repository's, not the value's form)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components import kit
from components.images import leaves
from config import ConfigError, parse_config
from config import assets as config_assets
from config.assets import VALKEY_CHART, load_lock
from config.types import not_bitnami, pinned_image
from tests.support.config import errors_for, stack_config, with_value

STACKS = ("lab", "enterprise")


def _is_image(value: Any) -> bool:
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        pinned_image(value)
    except ValueError:
        return False
    return True


def image_settings(stack: str) -> dict[str, str]:
    """Every key of the parsed stack config (its file and the defaults it leaves out) holding an image,
    and `reporting.image` (unset in both files: its fallback is the cluster's image)."""
    found = {path: value for path, value in leaves(stack_config(stack).model_dump()) if _is_image(value)}
    found.setdefault("reporting.image", "ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie")
    return found


def _moved(image: str, namespace: str) -> str:
    """`image` with its repository moved under `namespace` on Docker Hub, same name, tag and digest."""
    name, at, digest = image.partition("@")
    return f"docker.io/{namespace}/{name.rpartition('/')[2]}{at}{digest}"


def test_the_stacks_have_the_image_settings_this_file_checks() -> None:
    """Negative control of the discovery: it finds the image keys both files are known to have."""
    assert {"litellm.image", "postgres.cnpg.image", "sso.image", "reporting.image"} <= set(image_settings("enterprise"))


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("namespace", ["bitnami", "bitnamilegacy"])
def test_every_image_setting_refuses_a_bitnami_repository(stack: str, namespace: str) -> None:
    for path, image in sorted(image_settings(stack).items()):
        message = errors_for(with_value(stack, path, _moved(image, namespace)))
        assert f"llm-gateway:{path}: must not be in a Bitnami repository" in message, (path, message)
        assert message.count("\n  - ") == 1, message  # one problem: that key's, nothing else
        assert "Traceback" not in message


@pytest.mark.parametrize("stack", STACKS)
def test_the_same_image_elsewhere_is_accepted(stack: str) -> None:
    """Control: the moved images parse under a neutral namespace, so only the repository is refused."""
    for path, image in sorted(image_settings(stack).items()):
        parse_config(with_value(stack, path, _moved(image, "acme")))


@pytest.mark.parametrize(
    "reference",
    [
        "docker.io/bitnamilegacy/valkey:8.0.2-debian-12-r2",
        "bitnami/valkey:8.0.2",
        "registry.example.com:5000/mirror/bitnami/valkey:8.0.2@sha256:" + "ab" * 32,
        "oci://registry-1.docker.io/bitnamicharts/valkey",
        "Docker.io/BitnamiLegacy/zookeeper:3.9.3",
    ],
)
def test_a_bitnami_reference_is_refused_on_any_registry_or_mirror(reference: str) -> None:
    with pytest.raises(ValueError, match="Bitnami"):
        not_bitnami(reference)


@pytest.mark.parametrize(
    "reference", ["docker.io/valkey/valkey:9.0.2", "ghcr.io/acme/bitnami:1.0", "docker.io/acme/bitnami-like:1.0"]
)
def test_a_name_that_only_mentions_bitnami_is_accepted(reference: str) -> None:
    assert not_bitnami(reference) == reference


# --- chart references: the lock is where every chart the program installs is named ---------------


@pytest.mark.parametrize(
    ("key", "reference"),
    [
        ("url", "oci://registry-1.docker.io/bitnamicharts/valkey"),
        ("published_url", "https://github.com/bitnami/charts/releases/download/valkey-2.2.4/valkey-2.2.4.tgz"),
    ],
)
def test_a_locked_chart_from_a_bitnami_repository_is_refused_before_anything_registers(
    monkeypatch: pytest.MonkeyPatch, key: str, reference: str
) -> None:
    """`require_charts` (run before any resource registers, exit 2 through ConfigError) names the lock entry
    and its key; the same entry with the upstream reference raises nothing."""
    real = config_assets.locked(VALKEY_CHART)
    moved = (
        dataclasses.replace(real, url=reference)
        if key == "url"
        else dataclasses.replace(real, published_url=reference, published_version="2.2.4")
    )
    monkeypatch.setattr(config_assets, "locked", lambda name: moved if name == VALKEY_CHART else real)
    with pytest.raises(ConfigError) as err:
        kit.require_charts([VALKEY_CHART])
    message = str(err.value)
    assert f"assets.lock.json {VALKEY_CHART} {key} {reference!r}: must not be in a Bitnami repository" in message
    assert message.count("\n  - ") == 1 and "Traceback" not in message
    monkeypatch.setattr(config_assets, "locked", lambda name: real)
    kit.require_charts([VALKEY_CHART])


def test_no_locked_chart_names_a_bitnami_repository() -> None:
    """The lock as committed (main pinned chart/valkey at oci://registry-1.docker.io/bitnamicharts/valkey)."""
    refused = {
        name: problems
        for name, asset in load_lock().items()
        if asset.kind == "chart" and (problems := [p for p in config_assets.chart_problems(name) if "Bitnami" in p])
    }
    assert refused == {}
