"""The scrub steps (D-15.1, D-32, §3.8): ``scrub_uri`` and ``scrub_payload`` run the rules.

The steps only hand the message to ``context.scrubber``; the rules themselves are tested in
``tests/resources/scrubber``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ingestion.context import Context
from ingestion.core.errors import MessageShouldBeDropped, UnwantedData
from ingestion.resources.scrubber import ScrubberRules
from ingestion.steps.scrub import scrub_payload, scrub_uri
from resources.scrubber.helpers import (
    MAIN,
    _message,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)


def test_steps_use_the_context_scrubber(rules: ScrubberRules) -> None:
    context = Context(schemas=None, scrubber=rules, user_agents=None)  # type: ignore[arg-type]
    message = _message({"uri": "/submit/telemetry/x"})
    assert scrub_uri(message, context) is message
    with pytest.raises(UnwantedData, match=r"^1585144$"):
        scrub_uri(_message({"uri": "/submit/sslreports"}), context)
    document: dict[str, Any] = {"payload": {"slowSQL": {}, "x": 1}}
    attributes = {**MAIN, "app_version": "40.0"}
    assert scrub_payload(_message(attributes, document), context).document == {"payload": {"x": 1}}
    with pytest.raises(MessageShouldBeDropped) as dropped:
        scrub_payload(_message({"document_type": "account-ecosystem"}), context)
    assert dropped.value.bug == "1697602"
