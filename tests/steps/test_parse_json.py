import orjson
import pytest

from ingestion.context import Context
from ingestion.core.errors import InvalidJson
from ingestion.core.message import Message
from ingestion.steps.limit_payload_size import limit_payload_size
from ingestion.steps.parse_json import (
    MAX_JSON_DEPTH,
    IntegerOutOfRange,
    parse_json,
    parse_object,
    reject_rounded_integers,
)

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


@pytest.mark.parametrize("number", [2**64, 2**70, -(2**63) - 1, 10**30])
def test_integers_beyond_64_bits_are_rejected_not_rounded(number):
    original = b'{"n": %d}' % number
    output = orjson.dumps(parse_object(original))  # orjson rounded it to a float
    with pytest.raises(IntegerOutOfRange):
        reject_rounded_integers(output, original)


@pytest.mark.parametrize(
    "original",
    [
        b'{"n": 18446744073709551615, "m": -9223372036854775808}',  # the 64-bit extremes
        b'{"f": 1e20, "g": 3.5e300}',  # genuine floats
        b'{"s": "123456789012345678901234", "t": "e19 1e19"}',  # digits inside strings
    ],
)
def test_exact_values_and_real_floats_pass(original):
    reject_rounded_integers(orjson.dumps(parse_object(original)), original)


def test_payload_size_limit():
    small = Context(schemas=None, scrubber=None, user_agents=None, max_payload_bytes=4)  # type: ignore[arg-type]
    assert limit_payload_size(Message({}, b"1234"), small).payload == b"1234"
    with pytest.raises(
        Exception, match=r"Message payload is 5bytes, larger than the configured limit of 4"
    ):
        limit_payload_size(Message({}, b"12345"), small)


def test_add_metadata_rejects_a_rounded_integer_with_its_original_bytes():
    from ingestion.steps.add_metadata import add_metadata

    original = b'{"n": 123456789012345678901234567890}'
    parsed = parse_json(Message({"document_namespace": "x"}, original), CONTEXT)
    with pytest.raises(IntegerOutOfRange):
        add_metadata(parsed, CONTEXT)


@pytest.mark.parametrize(
    "original",
    [
        b'{"s": "a+b", "t": "1e+19,", "u": "+1e+20]"}',  # "+" and look-alikes inside strings
        b'{"f": 1.5e+300, "g": [2e+18, "x+"]}',  # real floats with big exponents
        b'{"+": "+", "n": 18446744073709551615}',
    ],
)
def test_plus_signs_and_real_big_floats_pass(original: bytes) -> None:
    reject_rounded_integers(orjson.dumps(parse_object(original)), original)


@pytest.mark.parametrize(
    "original",
    [
        b'{"s": "a+b", "n": 18446744073709551616}',  # a "+" in a string before the overflow
        b'{"n": [1, 2, -99999999999999999999999]}',
        b'{"big": 1e+300, "n": 10000000000000000000000}',
    ],
)
def test_a_rounded_integer_is_found_among_other_plus_signs(original: bytes) -> None:
    with pytest.raises(IntegerOutOfRange):
        reject_rounded_integers(orjson.dumps(parse_object(original)), original)


@pytest.mark.parametrize("rounded", [True, False])
def test_many_plus_signs_before_a_rounded_integer(rounded: bool) -> None:
    # More "+" than the check probes one by one: the rest of the output is scanned at once.
    number = b"18446744073709551616" if rounded else b"18446744073709551615"
    original = b'{"s": [' + b'"1e+99,", ' * 100 + b'"x"], "n": ' + number + b"}"
    output = orjson.dumps(parse_object(original))
    if rounded:
        with pytest.raises(IntegerOutOfRange):
            reject_rounded_integers(output, original)
    else:
        reject_rounded_integers(output, original)


# --- the one nesting limit, enforced at parse time ----------------------------------------------
def nested(depth: int, container: str = "[") -> bytes:
    """An object holding ``depth`` nested containers in all (the object counts as one)."""
    opening, closing = ("[", "]") if container == "[" else ('{"k":', "}")
    inner = opening * (depth - 1) + "1" + closing * (depth - 1)
    return ('{"a":' + inner + "}").encode()


@pytest.mark.parametrize("container", ["[", "{"])
def test_the_deepest_document_the_writer_can_write_back_passes(container):
    document = parse_object(nested(MAX_JSON_DEPTH, container))
    orjson.dumps(document)  # every later step serialises it: this must not fail


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 1000])
def test_deeper_documents_are_a_precise_rejection(depth):
    with pytest.raises(InvalidJson, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
        parse_object(nested(depth))


def test_brackets_inside_strings_do_not_count_as_nesting():
    payload = orjson.dumps({"s": "[" * 1000, "t": "{" * 1000, "deep": [[[1]]]})
    assert parse_object(payload)["deep"] == [[[1]]]


def test_the_limit_is_the_json_writers_own():
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(orjson.loads(nested(MAX_JSON_DEPTH + 1)))
