"""The message scrubber steps (D-15.1, D-32, §3.8): known-bad data dropped, rejected or redacted.

The rules themselves are data (``ingestion/rules/scrubber.toml``), compiled once into
``context.scrubber``. ``scrub_uri`` runs first in the ParseUri stage, before the URI is parsed, so
a retired endpoint (U1) is reported as unwanted rather than as a bad URI. ``scrub_payload`` runs
in ParsePayload after the JSON is parsed and injected metadata stripped, before validation, so a
drop costs no schema work and redactions (R1-R5) happen before anything is written.
"""

from __future__ import annotations

from ..context import Context
from ..core.message import Message


def scrub_uri(message: Message, context: Context) -> Message:
    context.scrubber.check_uri(message)
    return message


def scrub_payload(message: Message, context: Context) -> Message:
    return context.scrubber.scrub(message)
