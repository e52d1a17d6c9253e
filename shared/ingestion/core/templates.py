"""``${attribute:-default}`` templates for output paths and topic names (D-63, D-76).

Derived placeholders ``submission_date`` (YYYY-MM-DD) and ``submission_hour`` (HH) come from
``submission_timestamp``, as in the reference's DerivedAttributesMap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)(?::-([^}]*))?\}")


def derived_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    derived = dict(attributes)
    timestamp = attributes.get("submission_timestamp")
    if timestamp and len(timestamp) >= 13:
        derived.setdefault("submission_date", timestamp[0:10])
        derived.setdefault("submission_hour", timestamp[11:13])
    return derived


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
