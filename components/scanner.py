"""What the independent scanner is told on an object: Checkov's skips, each with its one-line reason.

tests/program/test_checkov.py scans every object both stacks deploy and fails on a finding that is
neither fixed nor skipped here with a reason; docs/security.md ("Scanner skips") lists each skip.
Besides the annotation itself (`scanner_skips`), the one decision several components share: how
the stack pulls its images (`PULL_POLICY`) and why an image carries no digest (`image_pin_skips`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SCANNER_SKIP = "checkov.io/skip"
"""The annotation key prefix (`checkov.io/skip1`, `checkov.io/skip2`...) of a Checkov skip."""
_SCANNER_CHECK = re.compile(r"CKV2?_K8S_[0-9]+")

DIGEST_CHECK = "CKV_K8S_43"
"""Checkov's "Image should use digest"."""
PULL_POLICY_CHECK = "CKV_K8S_15"
"""Checkov's "Image Pull Policy should be Always" (it passes any policy on an image with a digest)."""
PULL_POLICY = "IfNotPresent"
"""Every container of the stack: its image names an exact version tag (config refuses floating ones),
so `Always` would add a registry round trip to every container start, and turn a registry outage into
restarts that fail, without pinning anything a tag does not; a digest pins the bytes (`image_pin_skips`)."""


def scanner_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """The annotations that skip Checkov checks on one object, each with its one-line reason:
    `{"CKV_K8S_43": "why"}` -> `{"checkov.io/skip1": "CKV_K8S_43=why"}` (numbered in check order).

    Checkov reads them from the object's TOP-LEVEL `metadata.annotations` only (not a pod
    template's). docs/security.md ("Scanner skips") lists every skip a stack renders, and
    tests/program/test_checkov.py keeps that list equal to the rendered objects'. A reason is
    one line without `=` (Checkov splits the value on it) or `|` (it is a Markdown table cell).
    """
    problems = [
        f"{check!r}: not a Checkov Kubernetes check id" for check in reasons if not _SCANNER_CHECK.fullmatch(check)
    ]
    problems += [
        f"{check}: the reason must be one line of text without '=' or '|'"
        for check, reason in reasons.items()
        if not reason.strip() or reason != reason.strip() or any(c in reason for c in "=|\n\r")
    ]
    if problems:
        raise ValueError("scanner skips: " + "; ".join(problems))
    ordered = sorted(reasons, key=lambda check: (check.startswith("CKV2"), int(check.rsplit("_", 1)[1])))
    return {f"{SCANNER_SKIP}{i}": f"{check}={reasons[check]}" for i, check in enumerate(ordered, 1)}


def image_pin_skips(image: str, setting: str) -> dict[str, str]:
    """The digest and pull-policy skips of a container whose image comes from `setting` (a config key
    path) and is pulled with PULL_POLICY; none when the setting carries a digest (both checks pass then)."""
    if "@" in image:
        return {}
    return {
        DIGEST_CHECK: (
            f"{setting} pins an exact version tag; no registry is reachable here to resolve its digest, "
            f"and {setting} takes one (tag@sha256:<64 hex>), which passes this check"
        ),
        PULL_POLICY_CHECK: (
            f"{PULL_POLICY} on the exact version tag of {setting}: a container restart does not depend on the "
            f"registry; a digest in {setting} passes this check"
        ),
    }


def chart_image_pin_skips(chart: str) -> dict[str, str]:
    """The same two skips for a container whose image is the chart's own (its app version's exact tag, no
    setting): the locked chart (assets.lock.json) fixes the tag."""
    return {
        DIGEST_CHECK: (
            f"the {chart} chart's own exact version tag (its app version, locked with the chart); "
            "no setting takes a digest, and no registry is reachable here to resolve one"
        ),
        PULL_POLICY_CHECK: (
            f"{PULL_POLICY} on the {chart} chart's exact version tag: a container restart does not depend on the "
            "registry"
        ),
    }
