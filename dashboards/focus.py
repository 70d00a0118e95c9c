"""The chargeback export: one calendar month (UTC) of LiteLLM spend as a FOCUS 1.3 CSV and a
Markdown summary by cost centre and team (`python -m tools.chargeback`, docs/chargeback.md).

Pure: the query (`month_query`, run by the tool as a read-only login such as grafana_ro), the
rows it returns turned into FOCUS records (`focus_records`), the CSV (`write_csv`) and the
summary (`summary_markdown`). The rows are `reporting.daily_charge`'s with their tenant
attribution (dashboards/declared.py `charge_rows`, the chargeback dashboard's too): one FOCUS
row per day x team x key x model group x model x provider, its cost exactly the rollup's.

The mapping follows LiteLLM's own FOCUS transformer (litellm/integrations/focus/transformer.py)
where it has one, with these differences (FOCUS 1.3 and a monthly chargeback):
- `ServiceProviderName` replaces `ProviderName` and `PublisherName` (deprecated in 1.3);
- `BillingPeriodStart/End` are the month (LiteLLM repeats the day's charge period);
- `BillingAccountId` is the reporting schema's key id (md5 of LiteLLM's hashed token), never
  the token itself; `BillingAccountName` the key's alias, else its masked name;
- costs are written exactly (the float's shortest decimal form), not rounded to 6 places, so
  the CSV's total is the spend log's;
- `Tags` adds `cost_centre` and `owner` to LiteLLM's tag keys; `x_` columns carry the tokens,
  requests, cost centre, owner and whether the key is declared.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import IO, NamedTuple

from dashboards.declared import UNDECLARED, charge_rows
from dashboards.reporting_schema import STATE

FOCUS_VERSION = "1.3"
CURRENCY = "USD"
"""LiteLLM's costs are in US dollars (its model price map's unit)."""
SERVICE_CATEGORY = "AI and Machine Learning"
NO_TEAM = "(no team)"
"""The summary's name for spend no team owns (the CSV leaves SubAccountId/Name empty, as FOCUS says)."""

COLUMNS = (
    # FOCUS columns, alphabetical, then the custom ones (FOCUS: column_handling.md)
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyEffectiveCost",
    "PricingQuantity",
    "PricingUnit",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
    "x_CompletionTokens",
    "x_CostCentre",
    "x_FailedRequests",
    "x_KeyDeclared",
    "x_Owner",
    "x_PromptTokens",
    "x_Requests",
    "x_TotalTokens",
)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """A calendar month, UTC: [start, end)."""

    start: date

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
            raise ValueError(f"{text!r} is not a month: expected YYYY-MM, e.g. 2026-11")
        return cls(date(int(match[1]), int(match[2]), 1))

    @property
    def end(self) -> date:
        """The first day of the next month (exclusive)."""
        return (self.start + timedelta(days=32)).replace(day=1)

    def __str__(self) -> str:
        return self.start.strftime("%Y-%m")


class ChargeRow(NamedTuple):
    """One row of `month_query`, in its column order."""

    day: date
    team_id: str | None
    team: str | None
    cost_centre: str
    owner: str | None
    key_id: str
    key_alias: str | None
    key_label: str
    key_declared: bool
    model_group: str | None
    model: str | None
    provider: str | None
    spend: float
    requests: int
    failed: int
    prompt_tokens: int
    completion_tokens: int


def month_query() -> str:
    """The month's attributed rows (psycopg parameters `start`, `end`: the month's first day and
    the next month's), in a stable order."""
    return (
        charge_rows("c.day >= %(start)s AND c.day < %(end)s")
        + "\nORDER BY c.day, team_id NULLS LAST, key_label, c.key_id, c.model_group, c.model, c.provider"
    )


STATE_QUERY = f"SELECT last_day, refreshed_at FROM {STATE}"
"""When the rollups were last refreshed (the export holds LiteLLM's spend up to then)."""


def _timestamp(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cost(value: float | Decimal | None) -> Decimal:
    """A cost as an exact decimal: the float's shortest round-trip form (never exponent notation)."""
    return Decimal(repr(float(value or 0.0)))


def _text(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _tags(row: ChargeRow) -> str:
    tags = {
        "cost_centre": row.cost_centre,
        "owner": row.owner,
        "team_id": row.team_id,
        "team_alias": row.team,
        "api_key_alias": row.key_alias,
        "model": row.model,
        "model_group": row.model_group,
        "custom_llm_provider": row.provider,
    }
    return json.dumps({k: str(v) for k, v in tags.items() if v is not None}, ensure_ascii=False)


def focus_record(row: ChargeRow, month: Month) -> dict[str, str]:
    spend = _text(cost(row.spend))
    requests = str(row.requests)
    model = row.model or ""
    provider = row.provider or ""
    return {
        "AvailabilityZone": "",
        "BilledCost": spend,
        "BillingAccountId": row.key_id,
        "BillingAccountName": row.key_label,
        "BillingAccountType": "API Key",
        "BillingCurrency": CURRENCY,
        "BillingPeriodEnd": _timestamp(month.end),
        "BillingPeriodStart": _timestamp(month.start),
        "ChargeCategory": "Usage",
        "ChargeClass": "",
        "ChargeDescription": model,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _timestamp(row.day + timedelta(days=1)),
        "ChargePeriodStart": _timestamp(row.day),
        "ConsumedQuantity": requests,
        "ConsumedUnit": "Requests",
        "ContractedCost": spend,
        "ContractedUnitPrice": "",
        "EffectiveCost": spend,
        "InvoiceId": "",
        "InvoiceIssuerName": provider,
        "ListCost": spend,
        "ListUnitPrice": "",
        "PricingCategory": "",
        "PricingCurrency": CURRENCY,
        "PricingCurrencyEffectiveCost": spend,
        "PricingQuantity": requests,
        "PricingUnit": "Requests",
        "RegionId": "",
        "RegionName": "",
        "ResourceId": model,
        "ResourceName": model,
        "ResourceType": model,
        "ServiceCategory": SERVICE_CATEGORY,
        "ServiceName": row.model_group or model or "unknown",
        "ServiceProviderName": provider,
        "ServiceSubcategory": "Generative AI",
        "SubAccountId": row.team_id or "",
        "SubAccountName": (row.team or "") if row.team_id else "",
        "SubAccountType": "",
        "Tags": _tags(row),
        "x_CompletionTokens": str(row.completion_tokens),
        "x_CostCentre": row.cost_centre,
        "x_FailedRequests": str(row.failed),
        "x_KeyDeclared": "true" if row.key_declared else "false",
        "x_Owner": row.owner or "",
        "x_PromptTokens": str(row.prompt_tokens),
        "x_Requests": requests,
        "x_TotalTokens": str(row.prompt_tokens + row.completion_tokens),
    }


def focus_records(rows: Iterable[Sequence[object]], month: Month) -> list[dict[str, str]]:
    return [focus_record(ChargeRow(*row), month) for row in rows]  # type: ignore[arg-type]


def write_csv(records: Iterable[dict[str, str]], stream: IO[str]) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


@dataclass
class _Line:
    owner: str
    spend: Decimal = Decimal(0)
    undeclared_keys: Decimal = Decimal(0)
    requests: int = 0
    tokens: int = 0

    def add(self, record: dict[str, str]) -> None:
        spend = Decimal(record["BilledCost"])
        self.spend += spend
        if record["x_KeyDeclared"] != "true":
            self.undeclared_keys += spend
        self.requests += int(record["x_Requests"])
        self.tokens += int(record["x_TotalTokens"])


def cents(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN), "f")


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def summary_markdown(
    records: Sequence[dict[str, str]], month: Month, refreshed: tuple[date | None, datetime | None] = (None, None)
) -> str:
    """Spend per cost centre and team (declared cost centres first, `undeclared` last), with
    subtotals and the month's total; amounts rounded to the cent only here."""
    lines: dict[tuple[str, str, str], _Line] = {}
    for record in records:
        team = record["SubAccountName"] or NO_TEAM
        key = (record["x_CostCentre"], team, record["SubAccountId"])
        lines.setdefault(key, _Line(record["x_Owner"])).add(record)
    last_day, refreshed_at = refreshed
    out = [
        f"# Chargeback {month} (UTC)",
        "",
        f"FOCUS {FOCUS_VERSION} export of LiteLLM spend, {month.start.isoformat()} to {month.end.isoformat()}"
        " (exclusive); amounts in USD.",
        f"Rollups refreshed at {refreshed_at.isoformat() if refreshed_at else 'never'}"
        + (f" (through {last_day.isoformat()})" if last_day else "")
        + ": spend written by LiteLLM after that is not included.",
        "",
        "| Cost centre | Team | Team id | Owner | Spend | of which undeclared keys | Requests | Tokens |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    order = sorted(lines, key=lambda k: (k[0] == UNDECLARED, k[0], -lines[k].spend, k[1], k[2]))
    total = _Line("")
    for centre in dict.fromkeys(k[0] for k in order):
        subtotal = _Line("")
        for key in (k for k in order if k[0] == centre):
            line = lines[key]
            out.append(
                f"| {_cell(centre)} | {_cell(key[1])} | {_cell(key[2])} | {_cell(line.owner)} | {cents(line.spend)}"
                f" | {cents(line.undeclared_keys)} | {line.requests} | {line.tokens} |"
            )
            for acc in (subtotal, total):
                acc.spend += line.spend
                acc.undeclared_keys += line.undeclared_keys
                acc.requests += line.requests
                acc.tokens += line.tokens
        out.append(
            f"| **{_cell(centre)} total** | | | | **{cents(subtotal.spend)}** | {cents(subtotal.undeclared_keys)}"
            f" | {subtotal.requests} | {subtotal.tokens} |"
        )
    out += [
        f"| **Total** | | | | **{cents(total.spend)}** | {cents(total.undeclared_keys)} | {total.requests}"
        f" | {total.tokens} |",
        "",
        f"{len(records)} FOCUS rows. Cost centre and owner are the team's as declared in the stack's `tenants`"
        f" config; spend of teams not declared (or of no team) is under `{UNDECLARED}`.",
    ]
    return "\n".join(out) + "\n"
