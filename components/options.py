"""Resource options derived from settings (pure: testable without an engine)."""

from __future__ import annotations

import pulumi

from components.config import DataSafetyConfig, StackConfig


def stateful_options(safety: DataSafetyConfig) -> pulumi.ResourceOptions:
    """Options for resources that hold data: the database, buckets, GSM secrets.

    `protect` makes `pulumi destroy` (or a refactor that drops the resource)
    fail instead of deleting; `retain_on_delete` keeps the cloud object even
    when Pulumi is told to forget it.
    """
    return pulumi.ResourceOptions(protect=safety.protect, retain_on_delete=safety.retain_on_delete)


def namespace_holds_data(cfg: StackConfig) -> bool:
    """Stateful resources live in the gateway namespace: the CNPG cluster, Langfuse's volumes.

    Deleting a Namespace deletes everything in it, whatever `protect` says about the
    objects inside, so such a namespace carries the data-safety options itself.
    """
    return cfg.postgres.engine == "cnpg" or cfg.langfuse.enabled


def namespace_options(cfg: StackConfig) -> pulumi.ResourceOptions:
    return stateful_options(cfg.data_safety) if namespace_holds_data(cfg) else pulumi.ResourceOptions()
