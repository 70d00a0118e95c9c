"""Resource options derived from settings (pure: testable without an engine)."""

from __future__ import annotations

import pulumi

from components.config import DataSafetyConfig


def stateful_options(safety: DataSafetyConfig) -> pulumi.ResourceOptions:
    """Options for resources that hold data: the database, buckets, GSM secrets.

    `protect` makes `pulumi destroy` (or a refactor that drops the resource)
    fail instead of deleting; `retain_on_delete` keeps the cloud object even
    when Pulumi is told to forget it.
    """
    return pulumi.ResourceOptions(protect=safety.protect, retain_on_delete=safety.retain_on_delete)
