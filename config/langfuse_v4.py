"""`langfuse.version` and `langfuse.v4_migration`: which Langfuse major the release runs (the chart of each
in assets.lock.json) and Langfuse v4's migration switches (upgrade-v3-to-v4, "Configuration reference")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from config.assets import LANGFUSE_CHART, LANGFUSE_V4_CHART
from config.types import Section, refuse

LangfuseVersion = Literal["3", "4"]
CHARTS: dict[str, str] = {"4": LANGFUSE_V4_CHART, "3": LANGFUSE_CHART}
"""The locked chart of each Langfuse version: langfuse 2.x ships v4, 1.5.x the last v3 line."""
V3_SUPPORT_ENDS = "January 2027"
"""Langfuse v3 receives security patches until the end of January 2027 (Langfuse's upgrade-v3-to-v4 guide)."""

V3_WARNING = (
    f'langfuse.version "3": Langfuse v3 receives security patches only until {V3_SUPPORT_ENDS}; move to "4" '
    "(docs/runbooks/langfuse-v3-to-v4.md)"
)
"""What a preview of a stack on Langfuse v3 warns (the program's `warnings` output, pulumi.log.warn)."""


def version_text(value: Any) -> Any:
    """`version: 4` in YAML is a number: read it as the version it names (no other coercion)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class V4MigrationConfig(Section):
    """Langfuse v4's migration switches (upgrade-v3-to-v4, "Configuration reference"), set on the web and
    worker pods. The defaults are v4's own: a new stack leaves them; an install coming from v3 starts at
    `legacy` (docs/runbooks/langfuse-v3-to-v4.md) and ends back at the defaults (the cut-over)."""

    write_mode: Literal["legacy", "dual", "events_only"] = Field(
        default="events_only",
        description=(
            "LANGFUSE_MIGRATION_V4_WRITE_MODE: legacy keeps v3's tables and APIs; dual writes the old and the new "
            "tables; events_only (v4) writes the new tables only, refuses Python SDK <= 2 and JS SDK <= 3 and "
            "answers the legacy read APIs 404: the cut-over, after which v3 can no longer be gone back to."
        ),
    )
    native_otel_behaviour: Literal["dual_write", "direct"] = Field(
        default="direct",
        description=(
            "LANGFUSE_MIGRATION_V4_NATIVE_OTEL_BEHAVIOUR: dual_write keeps server-side attribute propagation "
            "for OpenTelemetry producers (LiteLLM's langfuse_otel) until the cut-over."
        ),
    )
    allow_preview_opt_in: bool = Field(
        default=True,
        description="LANGFUSE_MIGRATION_V4_ALLOW_PREVIEW_OPT_IN: the v4 read paths (UI toggle, v2 APIs).",
    )
    historic_backfill: bool = Field(
        default=True,
        description=(
            "LANGFUSE_BACKGROUND_MIGRATION_V4_ENABLE_HISTORIC_BACKFILL: rewrite the v3 history into the new tables "
            "(runs once; needs about 3x ClickHouse's data on disk). Refused with write_mode legacy: what is "
            "ingested between the backfill and the later switch to dual would never reach the new tables."
        ),
    )
    drop_backfill_scratch_tables: bool = Field(
        default=False,
        description="LANGFUSE_BACKGROUND_MIGRATION_V4_DROP_PID_TID_SORTING_TABLES: after a checked backfill.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> V4MigrationConfig:
        problems = []
        if self.write_mode == "legacy" and self.historic_backfill:
            problems.append(
                (
                    "historic_backfill",
                    "must be false with write_mode legacy: the backfill runs once, and what is ingested between it "
                    "and the switch to dual would never reach the new tables",
                )
            )
        if self.write_mode == "events_only" and not self.allow_preview_opt_in:
            problems.append(("allow_preview_opt_in", "must stay true with write_mode events_only (v4 reads only)"))
        refuse(problems)
        return self

    def env(self) -> dict[str, str]:
        """The variables, as the web and worker pods get them."""
        return {
            "LANGFUSE_MIGRATION_V4_WRITE_MODE": self.write_mode,
            "LANGFUSE_MIGRATION_V4_NATIVE_OTEL_BEHAVIOUR": self.native_otel_behaviour,
            "LANGFUSE_MIGRATION_V4_ALLOW_PREVIEW_OPT_IN": str(self.allow_preview_opt_in).lower(),
            "LANGFUSE_BACKGROUND_MIGRATION_V4_ENABLE_HISTORIC_BACKFILL": str(self.historic_backfill).lower(),
            "LANGFUSE_BACKGROUND_MIGRATION_V4_DROP_PID_TID_SORTING_TABLES": str(
                self.drop_backfill_scratch_tables
            ).lower(),
        }
