"""ScrubberRules at run time: loading the file, rule order, and the URI and payload phases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingestion.core.errors import MessageShouldBeDropped, UnwantedData
from ingestion.resources.scrubber import ScrubberRules
from resources.scrubber.helpers import (
    RULES_FILE,
    _message,
    bundled_rules,  # noqa: F401 (the `rules` fixture)
)


@pytest.mark.parametrize("uri", ["/submit/sslreports", "/submit/sslreports/"])
def test_uri_sslreports_unwanted(rules: ScrubberRules, uri: str) -> None:
    # testUnwantedData1585144
    with pytest.raises(UnwantedData) as raised:
        rules.check_uri(_message({"uri": uri}))
    assert str(raised.value) == "1585144"


@pytest.mark.parametrize(
    "attributes",
    [{}, {"uri": "/foo/bar"}, {"uri": "/submit/sslreports/x"}, {"uri": "/submit/telemetry"}],
)
def test_uri_other_passes(rules: ScrubberRules, attributes: dict[str, str]) -> None:
    # testUnwantedData1585144: scrubByUri(null) and "/foo/bar" do not throw
    message = _message(attributes)
    rules.check_uri(message)
    assert message.attributes == attributes


def test_uri_rules_do_not_run_in_payload_phase(rules: ScrubberRules) -> None:
    message = _message({"uri": "/submit/sslreports"})
    assert rules.scrub(message) is message


def test_rules_run_in_reference_order(rules: ScrubberRules) -> None:
    assert rules.rule_ids == (
        *("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12"),
        *("S13", "S14", "S15", "S16", "R1", "R2", "R3", "R4", "R5", "S17", "U1"),
    )


def test_default_load_is_the_packaged_file() -> None:
    assert ScrubberRules.load(RULES_FILE).rule_ids == ScrubberRules.load().rule_ids


NEW_RULES = """
[[rule]]
id = "N1"
bug = "9999001"
phase = "payload"
action = "unwanted"
[rule.attributes]
document_namespace = { starts_with = ["com-example-"] }

[[rule]]
id = "N2"
bug = "9999002"
phase = "payload"
action = "redact"
[rule.attributes]
document_namespace = { equals = "glean-example" }
[[rule.redact]]
kind = "set_null"
path = 'metrics.string["user.email"]'
[[rule.redact]]
kind = "remove"
path = "metrics.labeled_string[*].secret"

[[rule]]
id = "N3"
bug = "9999003"
phase = "uri"
action = "drop"
[rule.attributes]
uri = { matches = '/submit/retired/.*' }
"""


def test_a_rule_added_to_the_file_takes_effect_without_code_change(tmp_path: Path) -> None:
    path = tmp_path / "scrubber.toml"
    path.write_text(RULES_FILE.read_text("utf-8") + NEW_RULES, "utf-8")
    extended = ScrubberRules.load(path)
    assert extended.rule_ids[-3:] == ("N1", "N2", "N3")

    with pytest.raises(UnwantedData, match=r"^9999001$"):
        extended.scrub(_message({"document_namespace": "com-example-browser"}))
    # The packaged rules still apply first, and the packaged file itself is untouched.
    with pytest.raises(UnwantedData, match=r"^1612933$"):
        extended.scrub(_message({"document_namespace": "com-turkcell-yaani"}))
    unaffected = _message({"document_namespace": "com-example-browser"})
    assert ScrubberRules.load().scrub(unaffected) is unaffected

    document: dict[str, Any] = {
        "metrics": {
            "string": {"user.email": "a@example.com", "other": "kept"},
            "labeled_string": {"x": {"secret": "s", "ok": 1}, "y": "scalar"},
        }
    }
    extended.scrub(_message({"document_namespace": "glean-example"}, document))
    assert document == {
        "metrics": {
            "string": {"user.email": None, "other": "kept"},
            "labeled_string": {"x": {"ok": 1}, "y": "scalar"},
        }
    }

    with pytest.raises(MessageShouldBeDropped, match=r"^9999003$"):
        extended.check_uri(_message({"uri": "/submit/retired/anything"}))
