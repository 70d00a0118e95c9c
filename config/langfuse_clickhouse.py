"""`langfuse.clickhouse`: where Langfuse keeps its traces, ClickHouse and ClickHouse Keeper as a
`ClickHouseCluster` and a `KeeperCluster` (clickhouse.com/v1alpha1) for the upstream ClickHouse operator,
the same for Langfuse v3 and v4. Images: upstream ones, pinned, never Bitnami's."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from config.types import (
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    ResourceAmounts,
    Resources,
    Section,
)

CLICKHOUSE_IMAGE = "docker.io/clickhouse/clickhouse-server:26.3.1.896"
"""ClickHouse 26.3 LTS (v26.3.1.896-lts, 2026-03-27 in ClickHouse/ClickHouse utils/list-versions/version_date.tsv):
at least the 25.12 Langfuse v4 needs, an LTS line (the langfuse 2.0.0 chart's own default, `26.4`, floats)."""
KEEPER_IMAGE = "docker.io/clickhouse/clickhouse-keeper:26.3.1.896"
"""ClickHouse Keeper of the same release as CLICKHOUSE_IMAGE."""
MIN_CLICKHOUSE: dict[str, tuple[int, int]] = {"4": (25, 12), "3": (24, 3)}
"""The oldest ClickHouse each Langfuse version supports: v4 needs 25.12 (upgrade-v3-to-v4, "Step 1": lightweight
updates, the JSON type, full-text search); v3 supports 24.3 and later (self-hosting docs, ClickHouse)."""


MAX_CLUSTER_NAME = 37
"""The longest name of a ClickHouseCluster (the Langfuse release's): the operator's StatefulSets are
`<name>-clickhouse-<shard>-<replica>`, and a StatefulSet's pods carry `controller-revision-hash:
<statefulset>-<hash of up to 10 characters>`, a label value Kubernetes refuses over 63 characters."""


def _same(cpu: str, memory: str) -> Resources:
    """Requests equal to limits (Guaranteed QoS): what Langfuse's sizing guide lists."""
    amounts = ResourceAmounts(cpu=cpu, memory=memory)
    return Resources(requests=amounts, limits=amounts)


_VERSION = re.compile(r"^v?([0-9]+)\.([0-9]+)")


def clickhouse_version(image: str) -> tuple[int, int]:
    """(major, minor) of a pinned ClickHouse image's tag (PinnedImage: an exact version):
    `...clickhouse-server:26.3.1.896` -> (26, 3)."""
    tag = image.partition("@")[0].rpartition(":")[2]
    found = _VERSION.match(tag)
    if found is None:
        raise ValueError(f"the tag of {image!r} is not a ClickHouse version (YY.M...)")
    return int(found.group(1)), int(found.group(2))


class KeeperConfig(Section):
    """ClickHouse Keeper (a `KeeperCluster`): the coordination replicated tables and Langfuse's
    `ON CLUSTER` migrations need, even with one ClickHouse replica."""

    replicas: Literal[1, 3, 5] = Field(
        default=1, description="Keeper nodes (a quorum: 3 survives the loss of one node, 1 survives none)."
    )
    image: PinnedImage = Field(default=KEEPER_IMAGE, description="The Keeper image (exact tag).")
    resources: Resources = Field(default=_same("250m", "512Mi"), description="Requests and limits per Keeper pod.")
    storage_size: MemoryQuantity = Field(default="10Gi", description="Volume size per Keeper pod (log, snapshots).")


class ClickHouseConfig(Section):
    """Langfuse's ClickHouse: a `ClickHouseCluster` (clickhouse.com/v1alpha1) the program renders for the
    upstream ClickHouse operator, a platform prerequisite like CNPG (docs/langfuse.md). One shard;
    replicated tables and cluster mode on from the first replica, so replicas can be added later."""

    image: PinnedImage = Field(
        default=CLICKHOUSE_IMAGE,
        description="The ClickHouse server image (exact tag): 25.12 or later for Langfuse v4, 24.3 or later for v3.",
    )
    replicas: Annotated[int, Field(ge=1, le=9)] = Field(default=1, description="ClickHouse replicas (one shard).")
    resources: Resources = Field(default=_same("2", "8Gi"), description="Requests and limits per ClickHouse pod.")
    storage_size: MemoryQuantity = Field(
        default="20Gi",
        description="Volume size per ClickHouse pod (Langfuse v4's historic backfill needs about 3x the data).",
    )
    storage_class: DnsLabel | None = Field(
        default=None, description="StorageClass of the ClickHouse and Keeper volumes (unset: the cluster's default)."
    )
    operator_namespace: DnsLabel | None = Field(
        default=None,
        description=(
            "Where the ClickHouse operator runs (required with langfuse.enabled: the operator and cert-manager are "
            "platform prerequisites the program does not install, docs/langfuse.md). Its pods, besides Langfuse's, "
            "are the only ones admitted to ClickHouse (management port 9001) and Keeper (2181)."
        ),
    )
    keeper: KeeperConfig = Field(default=KeeperConfig(), description="ClickHouse Keeper.")
