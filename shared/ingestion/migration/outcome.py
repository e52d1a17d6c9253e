"""What a step hands back, and the options every step shares."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a step did (or, for a dry run, would do): lines to print and the recorded data."""

    step: str
    lines: list[str]
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class Options:
    settle_seconds: float = 60.0  # after the cutover: loader re-check + flush + archive lag
    lease_seconds: float = 300.0
    tolerance: int = 0  # records of the old location allowed to be missing from the new one
    raw_format: str = "json"
