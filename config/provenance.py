"""Where images and charts may come from: the one definition of a Bitnami reference.

The bottom of the config floor (the standard library only), so the setting types (`config.types`),
the chart lock (`config.assets`) and the image table's checks share it.
"""

from __future__ import annotations

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
