"""One compiled rule: its conditions in the order that makes a non-matching message cheap.

A rule checks its attribute conditions first, so a message that no rule is about costs a few
dictionary lookups per rule; the JSON is only walked once a rule's attributes match.
``Rule.for_doctype`` goes further and settles, once per docType, what the namespace and docType
alone decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ...core.errors import AffectedByBug, MessageShouldBeDropped, UnwantedData
from .conditions import AttributeCheck, Attributes, _ClientIdCheck, _PayloadCheck
from .redactions import Redaction

PHASES = ("uri", "payload")
# What each rejecting action raises, with the rule's bug id as the message.
_REJECTIONS: dict[str, Callable[[str], Exception]] = {
    "drop": MessageShouldBeDropped,
    "unwanted": UnwantedData,
    "bug": AffectedByBug,
}
ACTIONS = (*_REJECTIONS, "redact")


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """A ``[[rule]]`` of the file, compiled: ``bug_if_applies`` decides it for one message."""

    id: str
    phase: str
    action: str
    # The checks on document_namespace/document_type alone: they decide, once per docType,
    # whether the rule needs looking at all (see ScrubberRules._rules_for).
    doctype_gate: tuple[AttributeCheck, ...]
    bug: str | None
    bug_lookup: Callable[[Attributes], str | None] | None
    attribute_checks: tuple[AttributeCheck, ...]
    any_of: tuple[tuple[AttributeCheck, ...], ...]
    payload_all: tuple[_PayloadCheck, ...]
    payload_any: tuple[_PayloadCheck, ...]
    client_id: _ClientIdCheck | None
    redactions: tuple[Redaction, ...]
    # Whether bug_lookup reads document_namespace or document_type, i.e. is decided per docType.
    bug_by_doctype: bool = False

    def for_doctype(self, names: Attributes) -> Rule | None:
        """This rule with what a docType (``names``: its namespace and type) already decides.

        None when the rule cannot apply to the docType; otherwise a copy without the docType
        checks and, when the bug id depends on the docType alone, with that id fixed, so that a
        message pays only for the conditions that can still differ between its messages.
        """
        if not all(check(names) for check in self.doctype_gate):
            return None
        bug, bug_lookup = self.bug, self.bug_lookup
        if bug_lookup is not None and self.bug_by_doctype:
            bug, bug_lookup = bug_lookup(names), None
            if bug is None:
                return None
        remaining = tuple(
            check for check in self.attribute_checks if check not in self.doctype_gate
        )
        return dataclasses.replace(
            self,
            doctype_gate=(),
            bug=bug,
            bug_lookup=bug_lookup,
            attribute_checks=remaining,
            bug_by_doctype=False,
        )

    def bug_if_applies(self, attributes: Attributes, document: dict[str, Any]) -> str | None:
        """The rule's bug id when every condition holds, else None. Cheap checks go first."""
        for check in self.attribute_checks:
            if not check(attributes):
                return None
        if self.any_of and not any(all(c(attributes) for c in group) for group in self.any_of):
            return None
        bug = self.bug if self.bug_lookup is None else self.bug_lookup(attributes)
        if bug is None:
            return None
        for payload_check in self.payload_all:
            if not payload_check.holds(document):
                return None
        if self.payload_any and not any(c.holds(document) for c in self.payload_any):
            return None
        if self.client_id is not None and not self.client_id.holds(document):
            return None
        return bug
