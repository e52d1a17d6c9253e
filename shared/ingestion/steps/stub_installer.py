"""The JSON payload of a stub installer ping, built from its URI path (D-13, D-16).

The Windows stub installer sends no body: every field is a path element after ``/stub/``, at a
fixed position, and the ping version (element 0) says how many elements there are. The payload
built here replaces the (empty) body and is parsed and validated against
``firefox-installer/install/install.1`` like any other payload.

The field layout is data: ``FIELDS`` lists, per position, how that element is written. Versions 15
to 19 match the version pattern but have no known length; the reference crashes on them, here
they are rejected as an unknown ping version.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Protocol

import orjson

from ..context import Context
from ..core.errors import InvalidInteger, UnknownPingVersion
from ..core.jvm import java_split, parse_int
from ..core.message import STUB_PREFIX, Message
from .parse_uri import unexpected_path_elements

# Java's "\d" is ASCII only, and its "$" also matches before one final line terminator.
_PING_VERSION = re.compile(
    r"v(?P<version>[6-9]|1[0-9])(?:-(?P<funnelcake>[0-9]+))?(?:\r\n|[\n\r\u0085\u2028\u2029])?"
)

# Number of path elements per ping version; FIELDS covers the longest.
SUFFIX_LENGTH = {6: 36, 7: 37, 8: 39, 9: 41, 10: 43, 11: 44, 12: 45, 13: 46, 14: 47}


class _NotAnInteger(ValueError):
    pass


def _java_int(text: str) -> int:
    value = parse_int(text)
    if value is None:
        raise _NotAnInteger(text)
    return value


class Field(Protocol):
    def write(self, value: str, payload: dict[str, Any]) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Ignored:
    def write(self, value: str, payload: dict[str, Any]) -> None:
        pass


@dataclasses.dataclass(frozen=True, slots=True)
class Text:
    key: str

    def write(self, value: str, payload: dict[str, Any]) -> None:
        payload[self.key] = value


@dataclasses.dataclass(frozen=True, slots=True)
class JoinedText:
    """One part of a text spread over consecutive elements (os_version is major.minor.build)."""

    key: str
    separator: str

    def write(self, value: str, payload: dict[str, Any]) -> None:
        head = payload.get(self.key)
        payload[self.key] = value if head is None else f"{head}{self.separator}{value}"


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """``"1"`` is true; anything else, even a non-number, is false."""

    key: str

    def write(self, value: str, payload: dict[str, Any]) -> None:
        payload[self.key] = value == "1"


@dataclasses.dataclass(frozen=True, slots=True)
class Integer:
    key: str

    def write(self, value: str, payload: dict[str, Any]) -> None:
        payload[self.key] = _java_int(value)


@dataclasses.dataclass(frozen=True, slots=True)
class IntegerText:
    """An integer kept as its canonical decimal text (the schema types it as a string)."""

    key: str

    def write(self, value: str, payload: dict[str, Any]) -> None:
        payload[self.key] = str(_java_int(value))


@dataclasses.dataclass(frozen=True, slots=True)
class Codes:
    """One integer code that sets several booleans: each is true when the code is in its set."""

    codes: tuple[tuple[str, frozenset[int]], ...]

    @classmethod
    def of(cls, **codes: int | set[int]) -> Codes:
        return cls(
            tuple(
                (key, frozenset(code if isinstance(code, set) else {code}))
                for key, code in codes.items()
            )
        )

    def write(self, value: str, payload: dict[str, Any]) -> None:
        code = _java_int(value)
        for key, members in self.codes:
            payload[key] = code in members


FIELDS: tuple[Field, ...] = (
    Ignored(),  # the ping version, read before the fields
    Text("build_channel"),
    Text("update_channel"),
    Text("locale"),
    Codes.of(**{"64bit_build": 1}),  # build architecture code
    Codes.of(**{"64bit_os": 1}),  # OS architecture code
    JoinedText("os_version", "."),
    JoinedText("os_version", "."),
    JoinedText("os_version", "."),
    Text("service_pack"),
    Flag("server_os"),
    Codes.of(  # exit code
        succeeded=0,
        user_cancelled=10,
        out_of_retries=11,
        file_error=20,
        sig_not_trusted={21, 23},
        sig_unexpected={22, 23},
        install_timeout=30,
        unknown_error=1,
        sig_check_timeout=24,
        hardware_req_not_met=25,
        os_version_req_not_met=26,
        disk_space_req_not_met=27,
        writeable_req_not_met=28,
    ),
    Codes.of(old_running=1, new_launched=2),  # launch code
    Integer("download_retries"),
    Integer("bytes_downloaded"),
    Integer("download_size"),
    Integer("intro_time"),
    Integer("options_time"),
    Integer("download_time"),  # formerly the download phase time
    Ignored(),  # formerly download_time
    Integer("download_latency"),
    Integer("preinstall_time"),
    Integer("install_time"),
    Integer("finish_time"),
    Codes.of(disk_space_error=1, no_write_access=2),  # initial install requirements code
    Flag("manual_download"),
    Flag("had_old_install"),
    Text("old_version"),
    Text("old_build_id"),
    Text("version"),
    Text("build_id"),
    Flag("default_path"),
    Flag("admin_user"),
    Codes.of(new_default=1, old_default=2),  # default browser status code
    Codes.of(set_default=2),  # default browser setting code
    Text("download_ip"),
    Text("attribution"),  # from v7
    IntegerText("profile_cleanup_prompt"),  # from v8
    Flag("profile_cleanup_requested"),
    Text("distribution_id"),  # from v9
    Text("distribution_version"),
    Integer("windows_ubr"),  # from v10
    Text("stub_build_id"),
    Text("launched_by"),  # from v11
    Integer("download_requests_blocked_by_server"),  # from v12
    Integer("desktop_launcher_status"),  # from v13
    Flag("had_existing_profile"),  # from v14
)


def stub_payload(path: str) -> dict[str, Any]:
    """The install ping that the path after ``/stub/`` describes; raises a Rejection if none."""
    elements = java_split(path, "/")
    ping_version = elements[0] if elements else ""
    match = _PING_VERSION.fullmatch(ping_version)
    expected = SUFFIX_LENGTH.get(int(match["version"])) if match else None
    if match is None or expected is None:
        raise UnknownPingVersion(f"For input string: {ping_version}")
    if len(elements) != expected:
        raise unexpected_path_elements(len(elements), expected)
    payload: dict[str, Any] = {
        "installer_type": "stub",
        "installer_version": "",  # required by the schema, but the stub does not send it
        "ping_version": ping_version,
    }
    if match["funnelcake"] is not None:
        payload["funnelcake"] = match["funnelcake"]
    for index, (field, value) in enumerate(zip(FIELDS, elements, strict=False)):
        try:
            field.write(value, payload)
        except _NotAnInteger:
            # Numbered from 1 and counting the "stub" element, as the reference reports it.
            raise InvalidInteger(f"Path element #{index + 2}: {value}") from None
    return payload


def build_stub_payload(message: Message, context: Context) -> Message:
    """Replace a stub ping's body with the payload its URI describes (D-16)."""
    uri = message.attributes.get("uri")
    if uri is None or not uri.startswith(STUB_PREFIX):
        return message
    payload = stub_payload(uri[len(STUB_PREFIX) :])
    return message.evolve(payload=orjson.dumps(payload))
