"""The compiled rules at decode time: ``check_uri`` for ParseUri, ``scrub`` for ParsePayload.

``ScrubberRules.load`` reads the bundled ``ingestion/rules/scrubber.toml`` (or a file given by
configuration) and compiles it once. Payload rules are narrowed per docType and cached, so each
message runs only the rules that can still apply to it, in file order. A docType's names are
compared as the schema store looks them up (snake_case, see ``names``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ...core.message import Message
from .compile import compile_rules
from .conditions import Attributes
from .names import _DOCTYPE_KEYS, _doctype_key
from .rule import _REJECTIONS, Rule

_MAX_CACHED_DOCTYPES = 10_000


class ScrubberRules:
    """The compiled rules; ``check_uri`` for the ParseUri phase, ``scrub`` for ParsePayload."""

    def __init__(self, rules: Sequence[Rule], source: str = "<rules>") -> None:
        self.source = source
        self.rules = tuple(rules)
        self._uri_rules = tuple(rule for rule in self.rules if rule.phase == "uri")
        self._payload_rules = tuple(rule for rule in self.rules if rule.phase == "payload")
        self._by_doctype: dict[tuple[str | None, str | None], tuple[Rule, ...]] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> ScrubberRules:
        """The bundled rules file, or ``path``; ValueError when it is not valid TOML or rules."""
        if path is None:
            source = "ingestion/rules/scrubber.toml"
            data = (resources.files("ingestion") / "rules" / "scrubber.toml").read_bytes()
        else:
            source = str(path)
            data = Path(path).read_bytes()
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{source}: not a valid TOML file: {exc}") from exc
        return cls.from_mapping(document, source)

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any], source: str = "<rules>") -> ScrubberRules:
        """The rules of an already parsed file (validated by ``compile_rules``)."""
        return cls(compile_rules(document, source), source)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def _run(
        self, rules: tuple[Rule, ...], attributes: Attributes, document: dict[str, Any]
    ) -> None:
        for rule in rules:
            bug = rule.bug_if_applies(attributes, document)
            if bug is None:
                continue
            if rule.action == "redact":
                for redaction in rule.redactions:
                    redaction.apply(document)
                continue
            raise _REJECTIONS[rule.action](bug)

    def check_uri(self, message: Message) -> None:
        """The URI-phase rules (U1); raises the rejection of the first rule that applies."""
        self._run(self._uri_rules, message.attributes, {})

    def scrub(self, message: Message) -> Message:
        """The payload-phase rules in file order; redacts ``message.document`` in place."""
        document = message.document if message.document is not None else {}
        attributes = message.attributes
        self._run(self._rules_for(attributes), attributes, document)
        return message

    def _rules_for(self, attributes: Attributes) -> tuple[Rule, ...]:
        """The payload rules that can apply to this docType, in order, narrowed to it.

        Most rules name a namespace or docType (or take their bug id from one), so most
        messages need only a few rules, each with fewer checks (``Rule.for_doctype``); the
        answer is cached per docType, by the names in the normalised form the schema store
        looks them up by (``names``), so every spelling of a docType shares one entry; bounded,
        since the names come from clients.
        """
        key = _doctype_key(attributes)
        rules = self._by_doctype.get(key)
        if rules is None:
            names = {k: v for k, v in zip(_DOCTYPE_KEYS, key, strict=True) if v is not None}
            narrowed = (rule.for_doctype(names) for rule in self._payload_rules)
            rules = tuple(rule for rule in narrowed if rule is not None)
            if len(self._by_doctype) >= _MAX_CACHED_DOCTYPES:
                self._by_doctype.clear()
            self._by_doctype[key] = rules
        return rules
