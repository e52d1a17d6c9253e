"""The message scrubber as data: a rules file interpreted by a small engine (§3.8, D-15.1, D-32).

Every rule of the reference ``MessageScrubber`` (S1-S17, R1-R5, U1) is an entry of
``ingestion/rules/scrubber.toml``: conditions on attributes and on the parsed JSON, and an action
(drop, unwanted, bug, redact). Keeping the rules as data means a new ignored namespace or a new
redaction is a one-line edit with no code change.

- ``rule_file``: validation helpers for the TOML values, and the ``_Invalid`` error they raise.
- ``paths``: JSON paths (``parse_path``) and walking them (``resolve``).
- ``names``: checks on ``document_namespace``/``document_type``, compared in the snake_case form
  the schema store looks them up by, so no spelling of a docType escapes a rule about it.
- ``conditions``: attribute, payload and client-id checks, and bug-id lookup.
- ``redactions``: set-null, remove and search-code redactions.
- ``rule``: one compiled ``Rule``, and the phases and actions it may have.
- ``compile``: validating the parsed file and building its ``Rule`` objects and code sets.
- ``runtime``: ``ScrubberRules``, loaded once and run on every message.
"""

from __future__ import annotations

from .compile import SCHEMA_VERSION
from .paths import WILDCARD, JsonPath, parse_path, resolve
from .redactions import Redaction
from .rule import ACTIONS, PHASES, Rule
from .runtime import ScrubberRules

__all__ = [
    "ACTIONS",
    "PHASES",
    "SCHEMA_VERSION",
    "WILDCARD",
    "JsonPath",
    "Redaction",
    "Rule",
    "ScrubberRules",
    "parse_path",
    "resolve",
]
