"""Names as the schema store files them: the reference's snake_case rule (D-35).

A namespace or docType reaches its schema under its snake_case form, so ``first-shutdown``,
``First_Shutdown`` and ``firstShutdown`` all name ``first_shutdown``. Everything that decides by
such a name (the schema store, the scrubber's rules) normalises it with these functions, so that
no spelling finds a schema while missing a rule about it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# SnakeCase.java, run on the reversed name: every non-word character and "_" is a separator,
# then words break at "\b" and at the case changes below (written for the reversed text).
_SEPARATORS = re.compile(r"[^\w]|_", re.ASCII)
_REVERSED_WORD_BOUNDARY = re.compile(
    r"\b"
    r"|(?<=[a-z][A-Z])(?=\d*[A-Z])"
    r"|(?<=[a-z][A-Z])(?=\d*[a-z])"
    r"|(?<=[A-Z])(?=\d*[a-z])",
    re.ASCII,
)


# Bounded: names come from clients.
@functools.lru_cache(maxsize=50_000)
def snake_case(name: str) -> str:
    """The reference's ``SnakeCase.format``: ``untrustedModules`` -> ``untrusted_modules``."""
    reversed_words = _REVERSED_WORD_BOUNDARY.split(_SEPARATORS.sub(" ", name[::-1]))
    words = (word.strip().lower() for word in reversed_words)
    return "_".join(word for word in words if word)[::-1]


def ends_with_separator(text: str) -> bool:
    """Whether ``text`` ends in a character that ``snake_case`` treats as a word separator."""
    return _SEPARATORS.fullmatch(text[-1:]) is not None


def normalize_component(component: str) -> str:
    """One path component: snake_case before its first ``.``, the suffix (``.4.schema.json``)
    kept as it is."""
    head, dot, tail = component.partition(".")
    return snake_case(head) + dot + tail


def normalize_path(components: Iterable[str]) -> str:
    return "/".join(normalize_component(c) for c in components)
