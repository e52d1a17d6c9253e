"""What can go wrong when reading, changing or querying the registry: one class per reason, each
with a message that names the source (and the field, document or dimension) concerned."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the registry's errors."""


class InvalidDocument(RegistryError, ValueError):
    """A ``sources.json``, writer entry or ``schema.json`` that breaks the format."""


class UnknownSource(RegistryError, LookupError):
    """No source by that name in ``sources.json``."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else "unknown source"


class UnknownRevision(RegistryError, LookupError):
    """No history record by that number."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown revision"


class RegistryConflict(RegistryError):
    """A change lost to a concurrent one (or its ``expected`` revision is stale): nothing was
    written; read again and retry."""


class QueryError(RegistryError, ValueError):
    """A ``Dataset.where`` clause that cannot be right: an unknown dimension, two clauses on one
    dimension, or a value the dimension does not allow."""
