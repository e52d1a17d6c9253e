"""Moving a data source to a new location: a persisted, resumable workflow.

    reserve -> backfill -> cutover -> fill-gap -> verify -> publish   (rollback after it)

- ``records``: the state document per migration (compare-and-swap) and the reservations;
- ``machine``: step order, intent before action, leases, results;
- ``reserve``, ``runs`` (backfill, fill-gap), ``moves`` (cutover, publish, rollback),
  ``verify``: the steps;
- ``ports`` and ``backfills``: how backfills are run (in process or the deployed function);
- ``summary``: the readable record and the status lines; ``workflow``: the facade.

Guide: docs/migration.md.
"""

from __future__ import annotations

from .errors import (
    MigrationConflict,
    MigrationError,
    OutOfOrder,
    Refused,
    StepFailed,
    UnknownMigration,
    VerificationFailed,
)
from .machine import ORDER, Owner
from .outcome import Options, Outcome
from .summary import status_lines
from .workflow import Workflow

__all__ = [
    "ORDER",
    "MigrationConflict",
    "MigrationError",
    "Options",
    "OutOfOrder",
    "Outcome",
    "Owner",
    "Refused",
    "StepFailed",
    "UnknownMigration",
    "VerificationFailed",
    "Workflow",
    "status_lines",
]
