"""A backfill request from hostile bytes: either a valid request or a 4xx with a one-line reason,
never another exception; what is accepted is safe to put in names and stores as it parses."""

from __future__ import annotations

import datetime
import re
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.backfill.request import (
    FIELDS,
    MAX_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    BackfillRequest,
    RequestError,
    parse_body,
    parse_request,
)

VALID: dict[str, Any] = {
    "source": "telemetry-raw",
    "window": {"start": "2026-11-20T03", "end": "2026-11-20T09"},
    "destination": {"decoded": "telemetry-decoded", "error": "telemetry-errors"},
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELD_NAMES = st.sampled_from(sorted(FIELDS)) | st.text(max_size=12)


def outcome(body: bytes | dict[str, Any]) -> BackfillRequest | RequestError:
    try:
        return parse_request(body if isinstance(body, dict) else parse_body(body))
    except RequestError as refused:
        return refused


def assert_refusal_is_one_line(refused: RequestError) -> None:
    assert 400 <= refused.status < 500
    assert refused.reason and "\n" not in refused.reason and "\r" not in refused.reason
    assert len(refused.reason) <= 300


@settings(max_examples=300)
@given(field=FIELD_NAMES, value=JSON)
def test_any_field_value_is_a_request_or_a_one_line_4xx(field: str, value: Any) -> None:
    result = outcome({**VALID, field: value})
    if isinstance(result, RequestError):
        assert_refusal_is_one_line(result)
        return
    # Accepted: what will become object names, task names and document ids is safe.
    if result.run_id is not None:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", result.run_id)
    assert MIN_CHUNK_BYTES <= result.chunk_bytes <= MAX_CHUNK_BYTES
    if result.window is not None:
        assert result.window.start < result.window.end
    assert not any(ord(char) < 0x20 for char in result.source)
    assert ".." not in result.source.split("/")


@settings(max_examples=200)
@given(body=st.binary(max_size=300))
def test_any_body_bytes_are_a_request_or_a_one_line_4xx(body: bytes) -> None:
    result = outcome(body)
    if isinstance(result, RequestError):
        assert_refusal_is_one_line(result)


@given(
    start=st.datetimes(datetime.datetime(1000, 1, 1), datetime.datetime(9000, 1, 1)),
    hours=st.integers(1, 24 * 400),
    chunk_bytes=st.integers(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES),
    dedup=st.sampled_from(["off", "run"]),
    fmt=st.sampled_from(["json", "raw", "avro"]),
)
def test_an_accepted_request_stores_as_what_parses_back_to_it(
    start, hours, chunk_bytes, dedup, fmt
) -> None:
    begin = start.replace(minute=0, second=0, microsecond=0)
    end = begin + datetime.timedelta(hours=hours)
    window = {"start": begin.strftime("%Y-%m-%dT%H"), "end": end.strftime("%Y-%m-%dT%H")}
    body = {**VALID, "window": window, "chunk_bytes": chunk_bytes, "dedup": dedup, "format": fmt}
    request = parse_request(body)
    stored = request.as_json()
    assert parse_request(stored).as_json() == stored  # a resumed run compares these
    assert stored["window"] == window


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"window": {"start": "2026-11-20T10", "end": "2026-11-20T10"}}, 400, "after"),
        ({"window": {"start": "2026-02-30", "end": "2026-03-01"}}, 400, "window.start"),
        ({"source": "gs://bucket/../other"}, 400, ".."),
        ({"source": "gs://bucket/raw", "window": VALID["window"]}, 400, "registry source"),
        ({"destination": {"decoded": "same", "error": "same"}}, 400, "differ"),
        ({"chunk_bytes": True}, 400, "chunk_bytes"),
        ({"run_id": "UPPER"}, 400, "run_id"),
    ],
)
def test_each_bad_field_is_named_in_its_reason(fields, status, words) -> None:
    result = outcome(orjson.dumps({**VALID, **fields}))
    assert isinstance(result, RequestError) and result.status == status
    assert words in result.reason


def test_a_body_over_the_limit_is_413() -> None:
    result = outcome(b'{"source": "' + b"a" * (32 << 10) + b'"}')
    assert isinstance(result, RequestError) and result.status == 413
