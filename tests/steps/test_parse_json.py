import pytest

from ingestion.context import Context
from ingestion.core.errors import InvalidJson
from ingestion.core.message import Message
from ingestion.steps.limit_payload_size import limit_payload_size
from ingestion.steps.parse_json import parse_json, parse_object

CONTEXT = Context(schemas=None, scrubber=None, user_agents=None)  # type: ignore[arg-type]


def test_object_is_parsed_into_the_document_and_bytes_are_kept():
    out = parse_json(Message({}, b'{"a": [1, 2]}'), CONTEXT)
    assert out.document == {"a": [1, 2]}
    assert out.payload == b'{"a": [1, 2]}'


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"", ""),
        (b"[]", "not an object"),
        (b'"text"', "not an object"),
        (b"null", "not an object"),
        (b"{", ""),
        (b"test", ""),
        (b'{"a": NaN}', ""),
        (b'{"a": Infinity}', ""),
        (b'{"a": "\xff"}', ""),
        (b'{"a": "\\ud800"}', ""),
        (b'{"a": 1} trailing', ""),
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, ""),
        (b"\x1f\x8b\x08\x00", ""),
    ],
)
def test_everything_but_one_json_object_is_a_precise_rejection(payload, fragment):
    with pytest.raises(InvalidJson) as caught:
        parse_object(payload)
    assert fragment in str(caught.value)


def test_integers_beyond_64_bits_stay_exact():
    big = 2**70
    assert parse_object(b'{"n": %d, "m": -%d}' % (big, big)) == {"n": big, "m": -big}


def test_long_digit_strings_do_not_change_values():
    assert parse_object(b'{"s": "123456789012345678901234", "f": 1.5}') == {
        "s": "123456789012345678901234",
        "f": 1.5,
    }


def test_exact_reparse_still_rejects_nan_and_deep_nesting():
    with pytest.raises(InvalidJson):
        parse_object(b'{"n": 123456789012345678901234, "x": NaN}')
    with pytest.raises(InvalidJson):
        parse_object(
            b'{"n": 123456789012345678901234, "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        )


def test_payload_size_limit():
    small = Context(schemas=None, scrubber=None, user_agents=None, max_payload_bytes=4)  # type: ignore[arg-type]
    assert limit_payload_size(Message({}, b"1234"), small).payload == b"1234"
    with pytest.raises(
        Exception, match=r"Message payload is 5bytes, larger than the configured limit of 4"
    ):
        limit_payload_size(Message({}, b"12345"), small)
