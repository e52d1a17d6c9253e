"""The decoder function's configuration: one typed object, read from the environment once.

Nothing else in the package reads ``os.environ``. Every variable, its default and its meaning is
listed in ``ENVIRONMENT`` (the README's configuration table is generated from it, and a test keeps
the two in step). A bad value raises ``SettingsError`` naming the variable, at cold start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .core.limits import MAX_PAYLOAD_BYTES
from .resources.loader import PROJECT_SCHEMAS
from .resources.validators import DEFAULT_ENGINE, ENGINES

DEDUP_BACKENDS = ("firestore", "memory", "off")
DEDUP_FAILURE_MODES = ("deliver", "retry")
COMPRESSIONS = ("gzip", "none")


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str
    default: str | None  # None: required
    help: str


ENVIRONMENT: tuple[Variable, ...] = (
    Variable("GOOGLE_CLOUD_PROJECT", None, "project of the topics and the Firestore database"),
    Variable(
        "DECODED_TOPIC",
        "decoded",
        "decoded topic; may use `${document_namespace}` and `${document_type}`",
    ),
    Variable("ERROR_TOPIC", "decoder-errors", "topic for rejected messages and duplicates"),
    Variable("DEBUG_TOPIC", "", "optional topic receiving every message with an x_debug_id"),
    Variable(
        "SCHEMAS_LOCATION", str(PROJECT_SCHEMAS), "schema directory, .tar.gz, or gs:// object"
    ),
    Variable("GEO_CITY_DATABASE", "", "GeoIP2/GeoLite2 City .mmdb: local path or gs:// object"),
    Variable("GEO_ISP_DATABASE", "", "GeoIP2 ISP .mmdb: local path or gs:// object"),
    Variable("GEO_CITY_FILTER", "", "allowed GeoNames ids, one per line: local path or gs://"),
    Variable(
        "RESOURCE_RECHECK_SECONDS", "300", "how often gs:// resources are checked for updates"
    ),
    Variable("VALIDATION_ENGINE", DEFAULT_ENGINE, f"one of {', '.join(ENGINES)}"),
    Variable("DEDUP_BACKEND", "firestore", f"one of {', '.join(DEDUP_BACKENDS)}"),
    Variable("DEDUP_COLLECTION", "decoder-dedup", "Firestore collection of seen uris"),
    Variable("DEDUP_DATABASE", "(default)", "Firestore database id"),
    Variable("DEDUP_WINDOW_SECONDS", "600", "how long a delivered uri counts as seen"),
    Variable(
        "DEDUP_ON_FAILURE",
        "deliver",
        "when Firestore is unreachable: deliver (best effort) or retry (fail the delivery)",
    ),
    Variable("DEDUP_TIMEOUT_SECONDS", "2", "deadline of one Firestore call"),
    Variable(
        "OUTPUT_COMPRESSION", "gzip", "payload compression on the decoded topics: gzip or none"
    ),
    Variable("ERROR_COMPRESSION", "gzip", "payload compression on the error topic: gzip or none"),
    Variable("INCLUDE_STACK_TRACE", "true", "add stack_trace* attributes to error messages"),
    Variable("MAX_PAYLOAD_BYTES", str(MAX_PAYLOAD_BYTES), "payload limit after decompression"),
    Variable("JOB_NAME", "decoder", "job_name attribute on error messages"),
    Variable("INPUT_NAME", "", "input attribute on error messages (the raw subscription)"),
    Variable("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Variable("COUNTERS_INTERVAL_SECONDS", "60", "how often the per-outcome counters are logged"),
)
_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, value: str) -> str:
        if value not in options:
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(options)}")
        return value

    return parse


def _positive_number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if number <= 0:
        raise SettingsError(f"{name}={value!r}: expected a positive number")
    return number


def _positive_int(name: str, value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise SettingsError(f"{name}={value!r}: expected a positive integer")
    return int(value)


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def _text(name: str, value: str) -> str:
    return value


@dataclasses.dataclass(frozen=True)
class DecoderSettings:
    project: str
    decoded_topic: str
    error_topic: str
    debug_topic: str
    schemas_location: str
    geo_city_database: str
    geo_isp_database: str
    geo_city_filter: str
    resource_recheck_seconds: float
    validation_engine: str
    dedup_backend: str
    dedup_collection: str
    dedup_database: str
    dedup_window_seconds: float
    dedup_on_failure: str
    dedup_timeout_seconds: float
    output_compression: str
    error_compression: str
    include_stack_trace: bool
    max_payload_bytes: int
    job_name: str
    input_name: str
    log_level: str
    counters_interval_seconds: float

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DecoderSettings:
        def get(name: str, parse: Callable[[str, str], Any] = _text) -> Any:
            value = environ.get(name)
            if value is None or value == "":
                value = _DEFAULTS[name]
            if value is None:
                raise SettingsError(f"{name} is required")
            return parse(name, value)

        project = environ.get("GOOGLE_CLOUD_PROJECT") or environ.get("PUBSUB_PROJECT_ID")
        if not project:
            raise SettingsError("GOOGLE_CLOUD_PROJECT is required")
        return cls(
            project=project,
            decoded_topic=get("DECODED_TOPIC"),
            error_topic=get("ERROR_TOPIC"),
            debug_topic=get("DEBUG_TOPIC"),
            schemas_location=get("SCHEMAS_LOCATION"),
            geo_city_database=get("GEO_CITY_DATABASE"),
            geo_isp_database=get("GEO_ISP_DATABASE"),
            geo_city_filter=get("GEO_CITY_FILTER"),
            resource_recheck_seconds=get("RESOURCE_RECHECK_SECONDS", _positive_number),
            validation_engine=get("VALIDATION_ENGINE", _choice(ENGINES)),
            dedup_backend=get("DEDUP_BACKEND", _choice(DEDUP_BACKENDS)),
            dedup_collection=get("DEDUP_COLLECTION"),
            dedup_database=get("DEDUP_DATABASE"),
            dedup_window_seconds=get("DEDUP_WINDOW_SECONDS", _positive_number),
            dedup_on_failure=get("DEDUP_ON_FAILURE", _choice(DEDUP_FAILURE_MODES)),
            dedup_timeout_seconds=get("DEDUP_TIMEOUT_SECONDS", _positive_number),
            output_compression=get("OUTPUT_COMPRESSION", _choice(COMPRESSIONS)),
            error_compression=get("ERROR_COMPRESSION", _choice(COMPRESSIONS)),
            include_stack_trace=get("INCLUDE_STACK_TRACE", _flag),
            max_payload_bytes=get("MAX_PAYLOAD_BYTES", _positive_int),
            job_name=get("JOB_NAME"),
            input_name=get("INPUT_NAME"),
            log_level=get("LOG_LEVEL", _choice(("DEBUG", "INFO", "WARNING", "ERROR"))),
            counters_interval_seconds=get("COUNTERS_INTERVAL_SECONDS", _positive_number),
        )


def environment_table() -> str:
    """The configuration table of the README (a test keeps the two identical)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in ENVIRONMENT:
        default = "*required*" if variable.default is None else f"`{variable.default}`"
        if variable.name == "SCHEMAS_LOCATION":
            default = "the bundled `schemas/`"
        elif variable.default == "":
            default = "(empty: off)"
        rows.append(f"| `{variable.name}` | {default} | {variable.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(environment_table())
