"""Stub installer payloads built from the URI path (D-13, D-16).

The matrix is the reference's ParseUriTest.testStubUri, ported as data: each dimension lists
path values with the payload fields they must produce, and ``_join`` combines dimensions the
way the Java test's ``joinCases`` does (each row cycles through every dimension's cases).
The stored ParseUriTest covers v6-v8 with the seven-flag exit code; v9-v14 and the six later
exit-code flags extend it the same way, following D-16 and the install.1 schema.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from conftest import GENERATED_SCHEMAS, shared_path
from ingestion.core.errors import (
    InvalidInteger,
    Rejection,
    UnexpectedPathElements,
    UnknownPingVersion,
)
from ingestion.core.message import Message
from ingestion.steps.stub_installer import FIELDS, SUFFIX_LENGTH, build_stub_payload, stub_payload

INSTALL_SCHEMA = GENERATED_SCHEMAS / "firefox-installer" / "install" / "install.1.schema.json"

Case = tuple[str, dict[str, Any]]  # path elements joined with "/", and the fields they set


def _join(dimensions: list[list[Case]]) -> list[Case]:
    """ParseUriTest.joinCases: row i takes case i of the first dimension (cyclically) and
    row i of the joined rest (cyclically); the result is as long as the longest part."""
    if len(dimensions) == 1:
        return dimensions[0]
    ours, theirs = dimensions[0], _join(dimensions[1:])
    rows: list[Case] = []
    for index in range(max(len(ours), len(theirs))):
        our_path, our_fields = ours[index % len(ours)]
        their_path, their_fields = theirs[index % len(theirs)]
        rows.append((f"{our_path}/{their_path}", {**our_fields, **their_fields}))
    return rows


def _strings(key: str) -> list[Case]:
    return [("string", {key: "string"}), (key, {key: key})]


def _bools(key: str) -> list[Case]:
    return [(" ", {key: False}), ("x", {key: False}), ("0", {key: False}), ("1", {key: True})]


def _ints(key: str, values: tuple[int, ...] = (0, 1, 100)) -> list[Case]:
    return [(str(value), {key: value}) for value in values]


def _ints_as_strings(key: str) -> list[Case]:
    return [("0", {key: "0"}), ("1", {key: "1"}), ("100", {key: "100"})]


def _flags(cases: dict[str, set[str]], keys: tuple[str, ...]) -> list[Case]:
    """One code per case; ``cases`` names the flags each code sets, every other key is false."""
    return [(code, {key: key in true_keys for key in keys}) for code, true_keys in cases.items()]


EXIT_CODE_KEYS = (
    "succeeded",
    "user_cancelled",
    "out_of_retries",
    "file_error",
    "sig_not_trusted",
    "sig_unexpected",
    "install_timeout",
    "unknown_error",
    "sig_check_timeout",
    "hardware_req_not_met",
    "os_version_req_not_met",
    "disk_space_req_not_met",
    "writeable_req_not_met",
)
EXIT_CODES = _flags(
    {
        "0": {"succeeded"},
        "1": {"unknown_error"},
        "10": {"user_cancelled"},
        "11": {"out_of_retries"},
        "20": {"file_error"},
        "21": {"sig_not_trusted"},
        "22": {"sig_unexpected"},
        "23": {"sig_not_trusted", "sig_unexpected"},
        "24": {"sig_check_timeout"},
        "25": {"hardware_req_not_met"},
        "26": {"os_version_req_not_met"},
        "27": {"disk_space_req_not_met"},
        "28": {"writeable_req_not_met"},
        "30": {"install_timeout"},
        "2": set(),  # an unlisted code sets every flag false
    },
    EXIT_CODE_KEYS,
)

V6_DIMENSIONS = _join(
    [
        _strings("build_channel"),
        _strings("update_channel"),
        _strings("locale"),
        _flags({"0": set(), "1": {"64bit_build"}}, ("64bit_build",)),  # build architecture
        _flags({"0": set(), "1": {"64bit_os"}}, ("64bit_os",)),  # OS architecture
        [("1/2/3", {"os_version": "1.2.3"})],
        _strings("service_pack"),
        _bools("server_os"),
        EXIT_CODES,
        _flags(  # launch code
            {"0": set(), "1": {"old_running"}, "2": {"new_launched"}},
            ("old_running", "new_launched"),
        ),
        _ints("download_retries"),
        _ints("bytes_downloaded"),
        _ints("download_size"),
        _ints("intro_time"),
        _ints("options_time"),
        _ints("download_time"),
        [("", {})],  # ignored field
        _ints("download_latency"),
        _ints("preinstall_time"),
        _ints("install_time"),
        _ints("finish_time"),
        _flags(  # initial install requirements code
            {"0": set(), "1": {"disk_space_error"}, "2": {"no_write_access"}},
            ("disk_space_error", "no_write_access"),
        ),
        _bools("manual_download"),
        _bools("had_old_install"),
        _strings("old_version"),
        _strings("old_build_id"),
        _strings("version"),
        _strings("build_id"),
        _bools("default_path"),
        _bools("admin_user"),
        _flags(  # default browser status code
            {"0": set(), "1": {"new_default"}, "2": {"old_default"}},
            ("new_default", "old_default"),
        ),
        _flags({"0": set(), "1": set(), "2": {"set_default"}}, ("set_default",)),  # setting
        _strings("download_ip"),
    ]
)
V7_DIMENSIONS = _join([V6_DIMENSIONS, _strings("attribution")])
V8_DIMENSIONS = _join(
    [V7_DIMENSIONS, _ints_as_strings("profile_cleanup_prompt"), _bools("profile_cleanup_requested")]
)
V9_DIMENSIONS = _join(
    [V8_DIMENSIONS, _strings("distribution_id"), _strings("distribution_version")]
)
V10_DIMENSIONS = _join([V9_DIMENSIONS, _ints("windows_ubr"), _strings("stub_build_id")])
V11_DIMENSIONS = _join([V10_DIMENSIONS, _strings("launched_by")])
V12_DIMENSIONS = _join([V11_DIMENSIONS, _ints("download_requests_blocked_by_server")])
V13_DIMENSIONS = _join(
    [V12_DIMENSIONS, _ints("desktop_launcher_status", (0, 4, 6))]
)  # schema: 0..6
V14_DIMENSIONS = _join([V13_DIMENSIONS, _bools("had_existing_profile")])

DIMENSIONS_PER_VERSION = {
    6: V6_DIMENSIONS,
    7: V7_DIMENSIONS,
    8: V8_DIMENSIONS,
    9: V9_DIMENSIONS,
    10: V10_DIMENSIONS,
    11: V11_DIMENSIONS,
    12: V12_DIMENSIONS,
    13: V13_DIMENSIONS,
    14: V14_DIMENSIONS,
}


def _versions(version: int) -> list[Case]:
    # ParseUriTest: "v6" and "v6-1" (funnelcake 1), "v7-2", "v8-3"; extended to v14-9.
    plain, funnelcake = f"v{version}", str(version - 5)
    return [
        (plain, {"ping_version": plain}),
        (
            f"{plain}-{funnelcake}",
            {"ping_version": f"{plain}-{funnelcake}", "funnelcake": funnelcake},
        ),
    ]


VALID_CASES: list[Case] = [
    (path, {"installer_type": "stub", "installer_version": "", **fields})
    for version, dimensions in DIMENSIONS_PER_VERSION.items()
    for path, fields in _join([_versions(version), dimensions])
]


def _payload(path: str) -> dict[str, Any]:
    message = Message(attributes={"uri": "/stub/" + path}, payload=b"")
    result = build_stub_payload(message, None)  # type: ignore[arg-type]
    assert result.document is None  # parse_json parses it later, like any payload
    parsed: dict[str, Any] = orjson.loads(result.payload)
    return parsed


def test_matrix_covers_every_version_and_field() -> None:
    assert {len(path.split("/")) for path, _ in VALID_CASES} == set(SUFFIX_LENGTH.values())
    every_key = set().union(*(fields for _, fields in VALID_CASES))
    assert len(every_key) == 3 + 1 + 58  # base, funnelcake and 58 path fields
    assert len(VALID_CASES) == 9 * len(EXIT_CODES)


@pytest.mark.parametrize(("path", "expected"), VALID_CASES)
def test_valid_stub_payloads(path: str, expected: dict[str, Any]) -> None:
    # ParseUriTest.testStubUri expectedPayloads (compared as parsed JSON, as sortJSON does).
    assert _payload(path) == expected


def test_payload_is_compact_json_in_reference_field_order() -> None:
    message = Message(attributes={"uri": "/stub/" + VALID_CASES[1][0]}, payload=b"ignored")
    payload = build_stub_payload(message, None).payload  # type: ignore[arg-type]
    assert payload.startswith(
        b'{"installer_type":"stub","installer_version":"","ping_version":"v6-1",'
        b'"funnelcake":"1","build_channel":'
    )
    assert list(orjson.loads(payload))[-2:] == ["set_default", "download_ip"]


def test_attributes_are_left_alone() -> None:
    attributes = {"uri": "/stub/" + VALID_CASES[0][0], "document_id": "x", "host": "h"}
    result = build_stub_payload(Message(attributes=dict(attributes)), None)  # type: ignore[arg-type]
    assert result.attributes == attributes


@pytest.mark.parametrize(
    "uri", [None, "/submit/telemetry/a/b/c/d/e/f", "/stubs/v6", "/nope", "stub/v6"]
)
def test_non_stub_messages_pass_unchanged(uri: str | None) -> None:
    message = Message(attributes={} if uri is None else {"uri": uri}, payload=b"{}")
    assert build_stub_payload(message, None) is message  # type: ignore[arg-type]


def _spaces(count: int) -> str:
    return "/".join([" "] * count)


FAILURES: list[tuple[str, type[Rejection], str]] = [
    # ParseUriTest.testStubUri: right length, but " " where a code is expected
    *(
        (f"v{version}/{_spaces(length - 1)}", InvalidInteger, "Path element #6:  ")
        for version, length in SUFFIX_LENGTH.items()
    ),
    # ParseUriTest.testStubUri: "" is an unknown version
    ("", UnknownPingVersion, "For input string: "),
    # ParseUriTest.testStubUri: "v6", "v7", "v8" alone
    *(
        (
            f"v{version}",
            UnexpectedPathElements,
            f"Found {1 - length} more path elements in the URI than expected for this endpoint",
        )
        for version, length in SUFFIX_LENGTH.items()
    ),
    # D-16: more unknown versions
    ("/", UnknownPingVersion, "For input string: "),
    ("v1/x", UnknownPingVersion, "For input string: v1"),
    ("v5/x", UnknownPingVersion, "For input string: v5"),
    ("v61/x", UnknownPingVersion, "For input string: v61"),
    ("v21/x", UnknownPingVersion, "For input string: v21"),
    ("v20/x", UnknownPingVersion, "For input string: v20"),
    ("v06/x", UnknownPingVersion, "For input string: v06"),
    ("V6/x", UnknownPingVersion, "For input string: V6"),
    ("6/x", UnknownPingVersion, "For input string: 6"),
    ("v6-/x", UnknownPingVersion, "For input string: v6-"),
    ("v6-a/x", UnknownPingVersion, "For input string: v6-a"),
    ("v6-1-2/x", UnknownPingVersion, "For input string: v6-1-2"),
    ("v6-١/x", UnknownPingVersion, "For input string: v6-١"),  # Java's \d is ASCII
    (" v6/x", UnknownPingVersion, "For input string:  v6"),
    ("v6 /x", UnknownPingVersion, "For input string: v6 "),
    ("/v6", UnknownPingVersion, "For input string: "),
    # D-16: versions 15-19 match the pattern but have no length (the reference crashes)
    *(
        (f"v{version}/{_spaces(46)}", UnknownPingVersion, f"For input string: v{version}")
        for version in range(15, 20)
    ),
    ("v15-3", UnknownPingVersion, "For input string: v15-3"),
    # one element too many
    (
        VALID_CASES[0][0] + "/extra",
        UnexpectedPathElements,
        "Found 1 more path elements in the URI than expected for this endpoint",
    ),
]


@pytest.mark.parametrize(("path", "error", "text"), FAILURES)
def test_stub_failures(path: str, error: type[Rejection], text: str) -> None:
    message = Message(attributes={"uri": "/stub/" + path}, payload=b"")
    with pytest.raises(error) as raised:
        build_stub_payload(message, None)  # type: ignore[arg-type]
    assert type(raised.value) is error
    assert str(raised.value) == text


def _with(path: str, position: int, value: str) -> str:
    """``path`` with its element at ``position`` (0-based, after /stub/) replaced."""
    elements = path.split("/")
    elements[position] = value
    return "/".join(elements)


V14_PATH, V14_FIELDS = VALID_CASES[-1]
assert V14_PATH.startswith("v14")


@pytest.mark.parametrize(
    ("position", "value", "key", "expected"),
    [
        # Java's Integer.parseInt: a sign is allowed, leading zeros too, and Unicode digits
        (13, "+5", "download_retries", 5),
        (13, "-1", "download_retries", -1),
        (13, "007", "download_retries", 7),
        (13, "2147483647", "download_retries", 2147483647),
        (13, "-2147483648", "download_retries", -2147483648),
        (13, "١٢", "download_retries", 12),
        (37, "007", "profile_cleanup_prompt", "7"),
        (37, "+3", "profile_cleanup_prompt", "3"),
        (41, "19045", "windows_ubr", 19045),
        (11, "+23", "sig_unexpected", True),
        # booleans only know "1"
        (10, "01", "server_os", False),
        (46, "true", "had_existing_profile", False),
        # strings are kept as sent, even empty or with spaces
        (1, "", "build_channel", ""),
        (35, "2600:9000::1", "download_ip", "2600:9000::1"),
    ],
)
def test_field_values(position: int, value: str, key: str, expected: Any) -> None:
    assert _payload(_with(V14_PATH, position, value))[key] == expected


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (4, "x"),  # build architecture code
        (11, ""),  # exit code
        (11, "1.0"),
        (12, "0x1"),  # launch code
        (13, "2147483648"),  # beyond a Java int
        (13, "-2147483649"),
        (13, "1_000"),  # Python's int() would accept these three
        (13, " 1"),
        (13, "1\n"),
        (14, "+"),
        (37, "reinstall"),  # profile_cleanup_prompt is an integer code
        (41, "ubr"),
        (44, "many"),
        (45, "x"),
    ],
)
def test_invalid_integers(position: int, value: str) -> None:
    message = Message(attributes={"uri": "/stub/" + _with(V14_PATH, position, value)})
    with pytest.raises(InvalidInteger) as raised:
        build_stub_payload(message, None)  # type: ignore[arg-type]
    assert str(raised.value) == f"Path element #{position + 2}: {value}"


def test_too_many_digits_are_an_invalid_integer() -> None:
    # More digits than Python's int() converts must still be a Rejection.
    value = "9" * 5000
    message = Message(attributes={"uri": "/stub/" + _with(V14_PATH, 14, value)})
    with pytest.raises(InvalidInteger):
        build_stub_payload(message, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("terminator", ["\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029"])
def test_version_may_end_in_one_line_terminator(terminator: str) -> None:
    # Java's "$" (find, not multiline) also matches before one final line terminator.
    path = _with(V14_PATH, 0, "v14-9" + terminator)
    payload = _payload(path)
    assert payload["ping_version"] == "v14-9" + terminator
    assert payload["funnelcake"] == "9"


def test_version_with_two_line_terminators_is_unknown() -> None:
    message = Message(attributes={"uri": "/stub/" + _with(V14_PATH, 0, "v14\n\n")})
    with pytest.raises(UnknownPingVersion):
        build_stub_payload(message, None)  # type: ignore[arg-type]


def test_suffix_lengths_and_field_table() -> None:
    # D-16: the element count per version; the field table covers the longest.
    assert SUFFIX_LENGTH == {6: 36, 7: 37, 8: 39, 9: 41, 10: 43, 11: 44, 12: 45, 13: 46, 14: 47}
    assert len(FIELDS) == 47


def test_stub_payload_function_matches_step() -> None:
    path, expected = VALID_CASES[7]
    assert stub_payload(path) == expected


def test_payloads_validate_against_install_schema() -> None:
    # ParseUriTest.testStubUri: the built payloads pass ParsePayload without schema errors.
    schema_path = shared_path(INSTALL_SCHEMA, "install.1 schema unavailable")
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(json.loads(schema_path.read_text()))
    invalid = [path for path, _ in VALID_CASES if not validator.is_valid(_payload(path))]
    assert invalid == []
    assert not validator.is_valid({"installer_type": "stub"})  # the validator does validate
