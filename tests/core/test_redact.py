"""Unreadable input is published only once nothing in it names or looks like an IP address,
whatever its shape: envelopes, CloudEvents, lines, nested JSON strings, pairs, plain text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.core.redact import REPLACEMENT, redact_text, without_client_ip

MESSAGE = {"data": "e30=", "messageId": "1"}


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_rejected_envelope_body_loses_its_ip_attributes():
    record = {
        **MESSAGE,
        "data": "***",
        "attributes": {"remote_addr": "1.2.3.4", "x_forwarded_for": "5.6.7.8", "uri": "/u"},
    }
    cleaned = json.loads(without_client_ip(body({"message": record})))
    assert cleaned["message"]["attributes"] == {"uri": "/u"}
    structured = {"specversion": "1.0", "data": {"message": record}}
    assert "1.2.3.4" not in without_client_ip(body(structured)).decode()
    assert without_client_ip(b"plain") == b"plain"


def textual_forms(ip: Any) -> set[str]:
    forms = {str(ip)}
    if ip.version == 6:
        forms.add(ip.exploded)
    return forms


def escaped(text: str) -> str:
    """JSON string content spelling every digit as a \\u escape."""
    return "".join(f"\\u{ord(c):04x}" if c.isdigit() else c for c in text)


ips = st.ip_addresses()
junk = st.text(max_size=12)
keys = st.sampled_from(["remote_addr", "x_forwarded_for", "X-Forwarded-For", "Remote-Addr"])


@settings(max_examples=400)
@given(ip=ips, before=junk, after=junk)
def test_no_textual_ip_survives_in_plain_text(ip, before, after):
    for form in textual_forms(ip):
        out = without_client_ip((before + form + after).encode("utf-8", "surrogatepass"))
        assert form.encode() not in out


@settings(max_examples=400)
@given(
    ip=ips,
    key=keys,
    shape=st.sampled_from(["map", "pairs", "nested-string", "deep", "value", "key", "escaped"]),
    other=st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3),
)
def test_no_textual_ip_survives_in_any_json_shape(ip, key, shape, other):
    text = str(ip)
    attributes = {**other, key: text}
    document: Any = {
        "map": {"message": {"attributes": attributes}},
        "pairs": {"message": {"attributes": [[k, v] for k, v in attributes.items()]}},
        "nested-string": {
            "specversion": "1.0",
            "data": json.dumps({"message": {"attributes": attributes}}),
        },
        "deep": [[[{"a": [{"b": attributes}]}]]],
        "value": {"note": f"client at {text}!"},
        "key": {f"seen {text}": 1},
        "escaped": None,
    }[shape]
    raw = (
        ('{"note": "' + escaped(text) + '"}').encode()
        if shape == "escaped"
        else json.dumps(document).encode()
    )
    out = without_client_ip(raw)
    for form in textual_forms(ip):
        assert form.encode() not in out
    json.loads(out)  # still JSON: what could be read stays readable


def test_a_body_too_deep_to_rebuild_keeps_no_escaped_address():
    deep = "[" * 300 + '"\\u0031.2.3.4"' + "]" * 300
    out = without_client_ip(deep.encode())
    assert b"1.2.3.4" not in out and b"\\u0031" not in out


def test_text_redaction_is_linear_on_hostile_runs():
    # A long run of hex digits with one colon, then many short runs: no backtracking blow-up.
    assert redact_text("1" * 200_000 + ":") == "1" * 200_000 + ":"
    assert redact_text("a:" * 100_000).count(REPLACEMENT) == 1


def test_ordinary_text_is_left_alone():
    assert redact_text("Firefox 61.0a1 build 20180328030202, seq 1.2") == (
        "Firefox 61.0a1 build 20180328030202, seq 1.2"
    )
