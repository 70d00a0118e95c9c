"""Where images and charts may come from: the one definition of a Bitnami reference.

The bottom of the config floor (the standard library only), so the setting types (`config.types`),
the chart lock (`config.assets`) and the image table's checks share it.
"""

from __future__ import annotations

from dataclasses import dataclass

BITNAMI_NAMESPACES = frozenset({"bitnami", "bitnamilegacy", "bitnamicharts"})
"""Bitnami's repositories on Docker Hub (images; `bitnamicharts`: its OCI charts): since 2025 its free
images are frozen in `bitnamilegacy` and receive no security updates, so nothing may name one."""

BITNAMI_REFUSAL = (
    "must not be in a Bitnami repository (bitnami/, bitnamilegacy/, bitnamicharts/): Bitnami's free images "
    "moved to bitnamilegacy in 2025 and get no security updates; name the upstream project's image or chart"
)


def is_bitnami(reference: str) -> bool:
    """True for an image or chart reference in a Bitnami repository, on any registry or mirror: a path
    component `bitnami`, `bitnamilegacy` or `bitnamicharts` (any case) before the image's or chart's own name.
    `ghcr.io/acme/bitnami:1.0` (an image named bitnami) is not one."""
    name = reference.split("@", 1)[0].split("://", 1)[-1]
    return any(part.lower() in BITNAMI_NAMESPACES for part in name.split("/")[:-1])


@dataclass(frozen=True)
class PatchCheck:
    """The newest patch of an image's major that someone verified upstream, when and how (docs/versions.md
    prints it beside the image; tests/config/test_image_checks.py holds every setting of the repository to it)."""

    repository: str
    newest: str
    """`<major>.<minor>`: the newest release of its major the source lists."""
    checked: str
    """The date of the check (ISO 8601)."""
    how: str
    """What was read: the source a reviewer can re-read."""


PATCH_CHECKS = (
    PatchCheck(
        repository="ghcr.io/cloudnative-pg/postgresql",
        newest="17.11",
        checked="2026-12-07",
        how=(
            "cloudnative-pg/artifacts image-catalogs/catalog-standard-trixie.yaml (catalog date 2026-08-31): major 17 "
            "is 17.11-202608310816-standard-trixie@sha256:0eea5ac8c5e3…; no 17.12 image is published"
        ),
    ),
)
"""Images whose patch level is held to a verified newest (CNPG's PostgreSQL image)."""
