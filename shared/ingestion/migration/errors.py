"""What stops a migration step: one class per reason, each message saying what to do next."""

from __future__ import annotations


class MigrationError(Exception):
    """Base of the migration's errors (the CLI prints the message on one line, exit 1)."""


class UnknownMigration(MigrationError, LookupError):
    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else "unknown migration"


class OutOfOrder(MigrationError):
    """A step asked for before the one it builds on is done (or after the migration ended)."""


class Refused(MigrationError):
    """A step whose checks failed before it changed anything (a used prefix, a moved entry)."""


class MigrationConflict(MigrationError):
    """Another process changed the migration (or the registry entry) at the same time; nothing
    of this step was written after that point."""


class StepFailed(MigrationError):
    """A step ran and failed (a backfill run with failed chunks); its state says why."""


class VerificationFailed(MigrationError):
    """``verify`` found records of the old location missing from the new one."""
