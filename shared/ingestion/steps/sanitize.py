"""SanitizeAttributes (D-53..D-55): per-doctype attribute policies from ``mozPipelineMetadata``.

Some document types must not carry full-precision timestamps or some attributes (for example
contextual-services drops ``geo_city`` and keeps whole seconds only), so the schema's pipeline
metadata can coarsen ``submission_timestamp`` (D-53) and remove or set any attribute (D-54). It runs
before AddMetadata so the payload's injected metadata reflects the sanitised values (D-55).

The timestamp follows Java's ``DateTimeFormatter.ISO_INSTANT``: it parses ``...T..:..:..[.f]Z``
(case-insensitive, 0-9 fraction digits, ``24:00:00`` as the next midnight, a ``23:59:60`` leap
second as ``:59``) and renders seconds always and the fraction in groups of three digits only when
it is not zero, so truncating to minutes gives ``2021-01-01T12:34:00Z``.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from ..context import Context
from ..core.message import Message

SUBMISSION_TIMESTAMP = "submission_timestamp"
NANOS_PER_SECOND = 1_000_000_000
SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()

# The java.time.temporal.ChronoUnit values that Instant.truncatedTo accepts, in nanoseconds.
TRUNCATION_UNITS: Mapping[str, int] = {
    "NANOS": 1,
    "MICROS": 1_000,
    "MILLIS": 1_000_000,
    "SECONDS": NANOS_PER_SECOND,
    "MINUTES": 60 * NANOS_PER_SECOND,
    "HOURS": 3_600 * NANOS_PER_SECOND,
    "HALF_DAYS": 43_200 * NANOS_PER_SECOND,
    "DAYS": SECONDS_PER_DAY * NANOS_PER_SECOND,
}
# Valid ChronoUnit names that Instant cannot truncate to (Java throws for them too).
_TOO_LARGE_UNITS = frozenset(
    {"WEEKS", "MONTHS", "YEARS", "DECADES", "CENTURIES", "MILLENNIA", "ERAS", "FOREVER"}
)

_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{0,9}))?[Zz]"
)


def parse_instant(text: str) -> int | None:
    """Nanoseconds since the epoch, or None where ISO_INSTANT would fail to parse."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    extra_days = 0
    if hour == 24 and minute == 0 and second == 0 and nanos == 0:
        hour, extra_days = 0, 1
    elif hour == 23 and minute == 59 and second == 60:
        second = 59
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        ordinal = datetime.date(year, month, day).toordinal()
    except ValueError:
        return None
    seconds = (ordinal + extra_days - _EPOCH_ORDINAL) * SECONDS_PER_DAY
    seconds += hour * 3_600 + minute * 60 + second
    return seconds * NANOS_PER_SECOND + nanos


def format_instant(epoch_nanos: int) -> str | None:
    """ISO_INSTANT rendering; None outside the years 1..9999 this port supports."""
    seconds, nanos = divmod(epoch_nanos, NANOS_PER_SECOND)
    days, second_of_day = divmod(seconds, SECONDS_PER_DAY)
    try:
        date = datetime.date.fromordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        return None
    hour, rest = divmod(second_of_day, 3_600)
    minute, second = divmod(rest, 60)
    if nanos == 0:
        fraction = ""
    elif nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}"
    elif nanos % 1_000 == 0:
        fraction = f".{nanos // 1_000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return (
        f"{date.year:04d}-{date.month:02d}-{date.day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z"
    )


def truncation_unit(granularity: str) -> int:
    """Nanoseconds of the ChronoUnit named (case-insensitively) by ``granularity``."""
    name = granularity.upper()
    unit = TRUNCATION_UNITS.get(name)
    if unit is None:
        reason = "is too large to be used for truncation" if name in _TOO_LARGE_UNITS else "unknown"
        raise ValueError(f"submission_timestamp_granularity {granularity!r}: {reason}")
    return unit


def truncate_timestamp(timestamp: str, granularity: str) -> str:
    """``timestamp`` truncated to ``granularity``; an unparseable timestamp is returned as is."""
    epoch_nanos = parse_instant(timestamp)
    if epoch_nanos is None:
        return timestamp
    # Like the reference, an invalid granularity only fails once a timestamp has parsed.
    unit = truncation_unit(granularity)
    return format_instant(epoch_nanos - epoch_nanos % unit) or timestamp


def _override_value(value: Any) -> str:
    # The reference reads the value as a string; a JSON scalar keeps its JSON spelling.
    return value if isinstance(value, str) else json.dumps(value)


def sanitize_attributes(message: Message, context: Context) -> Message:
    attributes = message.attributes
    metadata = context.pipeline_metadata(attributes)
    granularity = metadata.get("submission_timestamp_granularity")
    overrides = metadata.get("override_attributes") or ()
    if granularity is None and not overrides:  # most doctypes
        return message

    updates: dict[str, str] = {}
    removals: list[str] = []
    timestamp = attributes.get(SUBMISSION_TIMESTAMP)
    if isinstance(granularity, str) and timestamp is not None:
        truncated = truncate_timestamp(timestamp, granularity)
        if truncated != timestamp:
            updates[SUBMISSION_TIMESTAMP] = truncated

    for override in overrides:
        name = override.get("name") if isinstance(override, Mapping) else None
        if not isinstance(name, str):
            continue
        value = override.get("value")
        if value is None:
            updates.pop(name, None)
            removals.append(name)
        else:
            updates[name] = _override_value(value)
            if name in removals:
                removals.remove(name)

    if not updates and not removals:
        return message
    return message.evolve(set_attributes=updates, drop_attributes=removals)
