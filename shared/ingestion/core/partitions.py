"""Partition keys: where a message goes inside a source's layout, for every writer of objects
and files (the loader, the backfill, ``ingestion decode``).

A key is ``{prefix}/{dim1}/…/{dimN}/{object}``, one path level per dimension of the source's
``schema.json``, in its order. Each level is the message's value for the dimension's field
(an attribute, or the derived ``submission_date`` / ``submission_hour``):

- a missing or empty value is ``UNKNOWN``; a value the dimension does not allow is ``OTHER``;
- every character outside ``[a-zA-Z0-9_.]`` becomes ``_`` (the historical loaders' rule), which
  also turns ``/`` into ``_``, so no value can add a level; a value made only of dots (``.``,
  ``..``) becomes ``_``, so none can climb one either; a level is at most 200 characters.

Readers sanitise the values they look for with the same ``sanitize`` (``Dataset.where``), and
allowed values are compared after sanitising, as the historical loaders did.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

from .templates import values_for

UNKNOWN = "UNKNOWN"
OTHER = "OTHER"
WILDCARD = "*"
MAX_LEVEL_CHARS = 200
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.]")

AllowedValues = str | Sequence[str] | Mapping[str, str]


def sanitize(value: str) -> str:
    """``value`` as one safe path level (see the module docstring)."""
    cleaned = _UNSAFE.sub("_", value)[:MAX_LEVEL_CHARS]
    return "_" if not cleaned.strip(".") else cleaned


def allows(allowed: AllowedValues) -> Callable[[str], bool]:
    """The test for one of the four forms of ``allowed_values``: ``"*"`` (anything), one
    string, a list of strings, or a ``{"min", "max"}`` range (either bound optional,
    compared as strings). Raises ``ValueError`` for anything else."""
    if allowed == WILDCARD:
        return lambda value: True
    if isinstance(allowed, str):
        only = sanitize(allowed)
        return lambda value: value == only
    if isinstance(allowed, Mapping):
        low, high = allowed.get("min"), allowed.get("max")
        if (low is None and high is None) or set(allowed) - {"min", "max"}:
            raise ValueError("a range must have a 'min' or a 'max' and nothing else")
        if not all(isinstance(bound, str) for bound in (low, high) if bound is not None):
            raise ValueError("range bounds must be strings")
        return lambda value: (low is None or value >= low) and (high is None or value <= high)
    if isinstance(allowed, Sequence) and all(isinstance(item, str) for item in allowed):
        members = frozenset(sanitize(item) for item in allowed)
        return members.__contains__
    raise ValueError("allowed_values must be '*', a string, a list of strings or a range")


@dataclasses.dataclass(frozen=True)
class Dimension:
    field_name: str  # an attribute, or the derived submission_date / submission_hour
    allowed: AllowedValues = WILDCARD
    # The test ``allowed`` stands for, made once (and refused here when malformed).
    _allows: Callable[[str], bool] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allows", allows(self.allowed))

    def level(self, attributes: Mapping[str, str]) -> str:
        """This dimension's path level for a message with ``attributes`` (derived included)."""
        value = attributes.get(self.field_name)
        if not value:
            return UNKNOWN
        cleaned = sanitize(value)
        return cleaned if self._allows(cleaned) else OTHER


def levels(dimensions: Sequence[Dimension], attributes: Mapping[str, str]) -> list[str]:
    """The path levels of a message, one per dimension."""
    values = values_for([dimension.field_name for dimension in dimensions], attributes)
    return [dimension.level(values) for dimension in dimensions]


def partition_key(
    prefix: str, dimensions: Sequence[Dimension], attributes: Mapping[str, str], name: str
) -> str:
    """``{prefix}/{dim1}/…/{dimN}/{name}``; ``prefix`` and ``name`` are the writer's own."""
    parts = [prefix.strip("/")] if prefix.strip("/") else []
    return "/".join([*parts, *levels(dimensions, attributes), name])
