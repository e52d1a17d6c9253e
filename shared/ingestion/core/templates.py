"""``${attribute:-default}`` templates for output paths and topic names (D-63, D-76).

Derived placeholders ``submission_date`` (YYYY-MM-DD) and ``submission_hour`` (HH) come from
``submission_timestamp``, as in the reference's DerivedAttributesMap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)(?::-([^}]*))?\}")


DERIVED = ("submission_date", "submission_hour")


def _derived(timestamp: str | None) -> dict[str, str]:
    if timestamp and len(timestamp) >= 13:
        return {"submission_date": timestamp[0:10], "submission_hour": timestamp[11:13]}
    return {}


def derived_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """``attributes`` with ``submission_date`` and ``submission_hour`` added (when absent)."""
    return {**_derived(attributes.get("submission_timestamp")), **attributes}


def values_for(names: Iterable[str], attributes: Mapping[str, str]) -> dict[str, str]:
    """The non-empty values of ``names`` among ``attributes`` and the derived ones."""
    values = {name: attributes[name] for name in names if attributes.get(name)}
    missing = [name for name in DERIVED if name in names and name not in values]
    if missing:
        derived = _derived(attributes.get("submission_timestamp"))
        values.update({name: derived[name] for name in missing if derived.get(name)})
    return values


class MissingPlaceholder(KeyError):
    """A placeholder without a default whose attribute is absent."""


def render(template: str, attributes: Mapping[str, str]) -> str:
    values = derived_attributes(attributes)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = values.get(name)
        if value is None or value == "":
            if default is None:
                raise MissingPlaceholder(name)
            return default
        return value

    return _PLACEHOLDER.sub(substitute, template)


def placeholders(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template)]


def placeholders_without_default(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(2) is None]
