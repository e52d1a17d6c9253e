"""Conditions on a docType's names, compared in the form the schema store looks them up by.

The schema store finds ``pageload_domain`` for ``pageload-domain``, ``Pageload-Domain``,
``pageload_domain`` and ``pageloadDomain`` alike (``core.names.snake_case``, D-35), so a rule on
``document_namespace`` or ``document_type`` compares that form: the rule's names are normalised
once, when the file is compiled, and a message's names per check (``snake_case`` is cached).
Every spelling that reaches a schema then meets the rules about it. Other attributes (``uri``,
``app_name``, ...) are compared as they are.

- ``equals``, ``one_of``, ``not_equals``: the normalised names are compared.
- ``starts_with``: the normalised name starts with the normalised prefix, whose last word may go
  on (``com-feifan`` catches ``com_feifanx`` as it catches ``com-feifanx``). A prefix that ends
  in a separator ends at a word: ``com-example-`` catches ``com_example`` and ``com_example_*``.
  A prefix may not end in an upper-case letter, whose word splits differently depending on what
  follows it (``comFE`` + ``i`` is ``com_f_ei``).
- ``matches``: refused, since a regex written for one spelling cannot follow the normalisation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ...core.names import ends_with_separator, snake_case
from .rule_file import _Invalid, _string, _strings

# The attributes that name a docType: normalised as the schema lookup does, and the key of the
# per-docType narrowing (ScrubberRules._rules_for).
_DOCTYPE_KEYS = ("document_namespace", "document_type")
_DOCTYPE_ATTRIBUTES = frozenset(_DOCTYPE_KEYS)

NameTest = Callable[[str], bool]


def _normalised(value: str | None) -> str | None:
    return None if value is None else snake_case(value)


def _doctype_key(attributes: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The message's namespace and docType as the schema store names them."""
    # Run for every message: inlined rather than two calls of _normalised.
    namespace = attributes.get("document_namespace")
    doctype = attributes.get("document_type")
    return (
        None if namespace is None else snake_case(namespace),
        None if doctype is None else snake_case(doctype),
    )


def _name_prefix_test(where: str, prefixes: tuple[str, ...]) -> NameTest:
    """Whether a normalised name starts with one of ``prefixes`` (see the module docstring)."""
    open_ended: list[str] = []
    whole_words: list[str] = []
    for prefix in prefixes:
        last = prefix[-1:]
        if last.isascii() and last.isupper():
            raise _Invalid(
                f"{where}: prefix {prefix!r} ends in an upper-case letter, which snake_case "
                "splits differently depending on what follows; write it in lower case"
            )
        name = snake_case(prefix)
        (whole_words if name and ends_with_separator(prefix) else open_ended).append(name)
    starts = (*open_ended, *(name + "_" for name in whole_words))
    exact = frozenset(whole_words)
    return lambda name: name.startswith(starts) or name in exact


def _name_test(
    where: str, attribute: str, operator: str, operand: object
) -> Callable[[Mapping[str, str]], bool] | None:
    """A check of ``attribute`` (a docType name) in normalised form; None for an unknown
    operator."""
    if operator == "equals":
        expected = snake_case(_string(where, operand))
        return lambda attributes: _normalised(attributes.get(attribute)) == expected
    if operator == "not_equals":
        # A missing attribute is "not equal", as Java's !"x".equals(null).
        unexpected = snake_case(_string(where, operand))
        return lambda attributes: _normalised(attributes.get(attribute)) != unexpected
    if operator == "one_of":
        choices = frozenset(snake_case(choice) for choice in _strings(where, operand))
        return lambda attributes: _normalised(attributes.get(attribute)) in choices
    if operator == "starts_with":
        test = _name_prefix_test(where, _strings(where, operand))

        def starts_with(attributes: Mapping[str, str]) -> bool:
            value = attributes.get(attribute)
            return value is not None and test(snake_case(value))

        return starts_with
    if operator == "matches":
        raise _Invalid(
            f"{where}: {attribute} is compared in snake_case form (as schemas are looked up), "
            "which a regex cannot follow; use equals, one_of or starts_with"
        )
    return None


def _normalised_table(where: str, table: Mapping[str, str]) -> dict[str, str]:
    """``bugs`` keyed by normalised names; two names that normalise alike must agree."""
    normalised: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for key, bug in table.items():
        name = snake_case(key)
        if name in normalised and normalised[name] != bug:
            raise _Invalid(
                f"{where}: {spelled[name]!r} and {key!r} name the same {name!r} "
                "(snake_case) with different bugs"
            )
        normalised.setdefault(name, bug)
        spelled.setdefault(name, key)
    return normalised
