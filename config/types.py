"""Named value types shared by the config sections, each defined once.

A type carries its rule (a pattern, a range or a real parser); a refusal names
the rule and the error report adds the key path. `Section` is the base of every
section model, `Resources` the requests/limits block several sections use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.cron import CronError, cronjob_schedule, seconds_first_schedule
from config.durations import GO_DURATION_MAX, DurationRange
from config.durations import period_seconds as period_seconds
from config.image_reference import SHA256_DIGEST, image_reference
from config.provenance import BITNAMI_REFUSAL, is_bitnami
from config.text import control_character, control_character_problems

PATTERN_EXAMPLES: dict[str, str] = {}
"""What a value failing each pattern should look like (an example, not the regex): the
error report quotes it. Filled by `pattern`, so every regex is written once, beside its example."""


def pattern(
    regex: str, example: str, min_length: int | None = None, max_length: int | None = None
) -> StringConstraints:
    """A string constraint on `regex` (and lengths), with the example the error report shows."""
    if PATTERN_EXAMPLES.setdefault(regex, example) != example:
        raise ValueError(f"pattern {regex!r} has two examples: name the type once and reuse it")
    return StringConstraints(pattern=regex, min_length=min_length, max_length=max_length)


FLOATING_TAGS = frozenset({"latest", "main", "main-latest", "main-stable", "stable", "edge", "nightly", "dev"})

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

DnsLabel = Annotated[
    str,
    pattern(
        DNS_LABEL_PATTERN,
        "a DNS label: lowercase letters, digits and '-', e.g. llm-gateway",
        min_length=1,
        max_length=63,
    ),
]
GsmSecretId = Annotated[str, pattern(r"^[A-Za-z0-9_-]{1,255}$", "a Secret Manager secret id, e.g. openai-api-key")]


def _number_as_quantity(value: Any) -> Any:
    """`pulumi config set --path capacity.cpu 2` stores a number: 2 means "2" (cores), 0.5 "0.5"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, "g") if isinstance(value, float) else str(value)
    return value


GcpRegion = Annotated[str, pattern(r"^[a-z]+-[a-z]+[0-9]+$", "a GCP region, e.g. europe-west1")]
GcpLocation = Annotated[
    str, pattern(r"^[a-z]+-[a-z]+[0-9]+(-[a-z])?$", "a GCP region or zone, e.g. europe-west1 or europe-west1-b")
]


# --- shared value types checked with real parsers ----------------------
# Each type is defined once; a refusal names the rule and pydantic adds the key path.


def rfc1123_host(value: str) -> str:
    """An RFC 1123 DNS name as Kubernetes checks Ingress hosts: lower case, labels of 1-63."""
    labels = value.split(".")
    if len(value) > 253 or not all(re.fullmatch(DNS_LABEL_PATTERN, label) and len(label) <= 63 for label in labels):
        raise ValueError(
            "must be a lower-case DNS name (RFC 1123: dot-separated labels of 1-63 letters, digits "
            "and inner hyphens, 253 characters at most), such as llm.example.com"
        )
    return value


_DOTTED_NUMBERS = re.compile(r"[0-9]+(\.[0-9]+){1,3}")
"""What a resolver may read as an IPv4 address (inet_aton: 10.1, 010.0.0.1 in octal, 1.2.3.4)."""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _dns_name(value: str) -> str:
    """A DNS-1123 subdomain that is not an IP address: Kubernetes refuses an IP as an Ingress host
    ("must be a DNS name, not an IP address": pkg/apis/networking/validation, validateIngressRules)."""
    if _DOTTED_NUMBERS.fullmatch(value) or _is_ip(value):
        raise ValueError("must be a DNS name, not an IP address (Kubernetes refuses an IP as an Ingress host)")
    return rfc1123_host(value)


def _server_host(value: str) -> str:
    """A host name or an IP address, written so that every client reads the same address."""
    if not _is_ip(value):
        if _DOTTED_NUMBERS.fullmatch(value):
            raise ValueError(
                "looks like an IPv4 address but is not one as written (leading zeros, or fewer than four "
                "parts): libpq's resolver would read it as another address; write it as 10.0.0.5"
            )
        return rfc1123_host(value)
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be a network in CIDR notation such as 10.0.0.0/8 ({exc})") from None
    return value


def _cron_schedule(parse: Callable[[str], str], value: str, expected: str) -> str:
    """`value` as the cron parser `parse` reads it; a refusal says what the parser expected."""
    try:
        return parse(value)
    except CronError as exc:
        raise ValueError(f"{exc}: expected {expected}") from None


def five_field_cron(value: str) -> str:
    """A Kubernetes CronJob schedule, as the API server parses it (config/cron.py)."""
    return _cron_schedule(
        cronjob_schedule,
        value,
        "a five-field cron expression (minute hour day month weekday) or a descriptor such as @hourly, as "
        "Kubernetes' CronJob parser (robfig/cron) reads it, e.g. '*/10 * * * *'",
    )


def six_field_cron(value: str) -> str:
    """CNPG's ScheduledBackup schedule: robfig/cron with a leading seconds field, exactly six fields."""
    return _cron_schedule(
        seconds_first_schedule,
        value,
        "a six-field cron expression with seconds first (second minute hour day month weekday), such as "
        "'0 0 3 * * *' for 03:00 every day",
    )


CPU_PATTERN = r"^([0-9]+(?:\.[0-9]+)?)(m?)$"
_CPU = re.compile(CPU_PATTERN)
MEMORY_PATTERN = r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$"
_MEMORY = re.compile(MEMORY_PATTERN)
_MEMORY_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
MIB = 2**20


def millicores(quantity: str) -> int:
    """A CPU quantity ("250m", "2", "1.5") in millicores."""
    match = _CPU.match(quantity)
    if match is None:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    number, milli = match.groups()
    return round(float(number) * (1 if milli else 1000))


def memory_bytes(quantity: str) -> int:
    """A memory quantity ("512Mi", "4Gi", "1G") in bytes."""
    match = _MEMORY.match(quantity)
    if match is None:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    number, unit = match.groups()
    return round(float(number) * _MEMORY_FACTORS[unit])


Duration = Annotated[str, DurationRange("0s", GO_DURATION_MAX)]
"""A Go duration (h, m, s) up to what Go's time.Duration holds; a setting states its own range instead."""
PositiveDuration = Annotated[str, DurationRange("1s", GO_DURATION_MAX)]
Hostname = Annotated[str, AfterValidator(_dns_name)]
"""A DNS name (an Ingress host, an email domain): DNS-1123, lower case, not an IP address."""
ServerHost = Annotated[str, AfterValidator(_server_host)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Cron6 = Annotated[str, AfterValidator(six_field_cron)]
LeadingLetterName = Annotated[
    str,
    pattern(
        r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
        "a name starting with a letter: lowercase letters, digits and '-', e.g. litellm",
    ),
]
"""A DNS label with a leading letter: what a Kubernetes Service name needs (RFC 1035)."""
# Helm refuses release names over 53 characters.
ReleaseName = Annotated[LeadingLetterName, StringConstraints(max_length=53)]
CpuQuantity = Annotated[
    str, BeforeValidator(_number_as_quantity), pattern(CPU_PATTERN, "a CPU quantity, e.g. 500m or 2")
]
"""CPU: cores ("2", "0.5") or millicores ("250m")."""
MemoryQuantity = Annotated[
    str,
    BeforeValidator(_number_as_quantity),
    pattern(MEMORY_PATTERN, "a memory quantity, e.g. 512Mi or 2Gi (no CPU units such as m)"),
]
"""Memory and storage: bytes with a binary (Mi, Gi) or decimal (M, G) suffix; no CPU units such as m."""


class ConfigProblemError(ValueError):
    """Raised by a validator that found problems below the value it checks.

    Each problem is (relative path, message), e.g. ("[0].fallbacks[1]", "..."):
    the error report lists each under its own key path, beside the field errors.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


def refuse(problems: list[tuple[str, str]]) -> None:
    """Raise one ConfigProblemError for all `problems`, if there are any."""
    if problems:
        raise ConfigProblemError(problems)


def repeated_values(values: list[str], items: str, field: str, *, what: str = "") -> list[tuple[str, str]]:
    """A problem under `[i].field` for each value an earlier item of the list `items` already has."""
    return [
        (f"[{i}].{field}", f"{what}{value!r} is already used by {items}[{values.index(value)}]")
        for i, value in enumerate(values)
        if values.index(value) != i
    ]


def pinned_tag(tag: str) -> str:
    if tag.lower() in FLOATING_TAGS or not re.fullmatch(r"v?[0-9]+(\.[0-9]+)+([-+][0-9A-Za-z.-]+)?", tag):
        raise ValueError(f"must be an exact version such as 1.2.3, not the floating tag {tag!r}")
    for word in ("latest", "nightly"):
        if word in tag.lower():
            raise ValueError(f"must be an exact version, not the floating tag {tag!r}")
    return tag


def not_bitnami(reference: str) -> str:
    """Refuse an image or chart reference in a Bitnami repository (`config.provenance.is_bitnami`)."""
    if is_bitnami(reference):
        raise ValueError(BITNAMI_REFUSAL)
    return reference


IMAGE_DIGEST = SHA256_DIGEST
"""An image digest as the OCI distribution reference grammar writes it for sha256."""


def pinned_image(image: str) -> str:
    """`repository:1.2.3`, optionally with its digest: `repository:1.2.3@sha256:<64 hex>`. The tag is
    required beside a digest: it is the version people (and docs/versions.md) read; the digest pins the bytes."""
    not_bitnami(image)
    name, at, digest = image.partition("@")
    if at and not IMAGE_DIGEST.fullmatch(digest):
        raise ValueError(f"the digest after '@' must be sha256: and 64 lower-case hex characters, got {digest!r}")
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag or not repo:
        raise ValueError(
            f"must name an exact tag, optionally with a digest (repository:1.2.3 or "
            f"repository:1.2.3@sha256:<64 hex>), got {image!r}"
        )
    pinned_tag(tag)
    return image


def image_name_and_tag(image: str) -> tuple[str, str]:
    """A pinned image as a chart's `repository` and `tag` values: `registry/repo:1.2.3@sha256:<hex>` ->
    (`registry/repo`, `1.2.3@sha256:<hex>`); charts render `{repository}:{tag}`, which restores the reference."""
    name, at, digest = image.partition("@")
    repository, _, tag = name.rpartition(":")
    return repository, tag + at + digest


PinnedVersion = Annotated[str, AfterValidator(pinned_tag)]
PinnedImage = Annotated[str, AfterValidator(image_reference), AfterValidator(pinned_image)]
"""An image reference the OCI grammar accepts (config/image_reference.py), with an exact tag."""


class Section(BaseModel):
    """Base for every config section: strict, closed, immutable, and no control character in any
    string of it (config/text.py), whatever the field."""

    # No .inf/.nan: a threshold of .inf is accepted by Prometheus and can never fire.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields whose value is several lines (a PEM certificate): line feeds are allowed there."""

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = "\n" if info.field_name in cls.MULTILINE_FIELDS else ""
        if isinstance(value, str):
            problem = control_character(value, allowed)
            if problem:
                raise ValueError(f"{problem}; remove it")
            return value
        refuse(control_character_problems(value, allowed))
        return value


class ResourceAmounts(Section):
    """An amount of CPU and memory: a container's requests or limits, or the cluster's `capacity`."""

    cpu: CpuQuantity = Field(description="CPU: cores (2, 0.5) or millicores (250m).")
    memory: MemoryQuantity = Field(description="Memory: bytes with a binary (Mi, Gi) or decimal (M, G) suffix.")


class Resources(Section):
    """A container's `resources` block; the footprint counts its requests."""

    requests: ResourceAmounts = Field(description="What the scheduler reserves per pod (counted in the footprint).")
    limits: ResourceAmounts = Field(description="The most a pod may use; each request must not exceed its limit.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if millicores(self.requests.cpu) > millicores(self.limits.cpu):
            raise ValueError(f"requests.cpu {self.requests.cpu} exceeds limits.cpu {self.limits.cpu}")
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise ValueError(f"requests.memory {self.requests.memory} exceeds limits.memory {self.limits.memory}")
        return self


SqlIdentifier = Annotated[str, pattern(r"^[a-z_][a-z0-9_]{0,62}$", "an SQL identifier, e.g. litellm")]
_RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
_RESERVED_ROLES = frozenset({"postgres", "public", "grafana_ro", "streaming_replica", "cnpg_pooler_pgbouncer"})


def _database_name(name: str) -> str:
    if name in _RESERVED_DATABASES:
        raise ValueError(f"{name!r} is a database PostgreSQL creates itself; choose another name")
    return name


def _role_name(name: str) -> str:
    if name in _RESERVED_ROLES or name.startswith("pg_"):
        raise ValueError(f"{name!r} is reserved (PostgreSQL, CNPG or this program's grafana_ro); choose another role")
    return name


DatabaseName = Annotated[SqlIdentifier, AfterValidator(_database_name)]
RoleName = Annotated[SqlIdentifier, AfterValidator(_role_name)]
BucketName = Annotated[str, pattern(r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$", "a GCS bucket name, e.g. acme-llm-backups")]
GcpId = Annotated[
    str,
    pattern(
        r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$", "a GCP project or service account id (6-30 characters), e.g. acme-llm-lab"
    ),
]
"""A GCP project id or a service account's account id (the same rule)."""
GsaAccountId = GcpId
GcsLocation = Annotated[str, pattern(r"^[A-Za-z0-9-]+$", "a GCS location, e.g. EU or europe-west1")]
EmailAddress = Annotated[str, pattern(r"^[^@\s,]+@[^@\s,]+$", "an email address, e.g. ops@example.com")]
SslMode = Literal["disable", "require", "verify-ca", "verify-full"]
"""libpq's sslmode values this program accepts."""

CronSchedule = Annotated[str, AfterValidator(five_field_cron)]

Ratio = Annotated[float, Field(gt=0, le=1)]
PositiveFloat = Annotated[float, Field(gt=0)]

HttpsUrl = Annotated[str, pattern(r"^https?://[^\s]+$", "a URL, e.g. https://api.example.com/v1")]

Period = Annotated[str, pattern(r"^[1-9][0-9]{0,4}[mhdw]$", "a period with one unit (m, h, d, w), e.g. 30d or 4w")]
