"""Schema validation of the parsed payload (D-33..D-37, §10 "D-36 formats", "metadata/*").

In the reference's order: the docType must exist (D-33); a ``/submit/telemetry`` message takes its
version from the payload's ``version`` or ``v`` (D-34), which becomes ``document_version``; the
document is validated against the snake_case-normalised schema path, first failure only
(D-35, D-36); finally a doctype whose ``expiration_policy.collect_through_date`` lies before the
submission date is rejected as deprecated (D-37). Everything comes from ``context.schemas``.

A message that passes leaves with the namespace and docType spelled as the schema tree spells
them (``ORG-MOZILLA-FENIX/Baseline`` becomes ``org-mozilla-fenix/baseline``): every spelling that
finds a schema is the same docType, so it is routed, partitioned and counted as one. The reference
keeps the raw spelling (it writes one static topic); here a per-docType topic and a storage
partition are named after these attributes, so they are canonical.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from ..context import Context
from ..core.errors import DeprecatedMessage, SchemaNotFound
from ..core.jackson import as_text
from ..core.message import Message

DOCUMENT_NAMESPACE = "document_namespace"
DOCUMENT_TYPE = "document_type"
DOCUMENT_VERSION = "document_version"
SUBMISSION_TIMESTAMP = "submission_timestamp"

MISSING_TELEMETRY_VERSION = (
    "Element was assumed to be a telemetry message because it contains no document_version"
    " attribute, but the payload does not include the top-level 'version' or 'v' field expected"
    " for a telemetry document"
)

# java.time ISO_LOCAL_DATE (strict) for collect_through_date.
_ISO_LOCAL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
# java.time ISO_INSTANT as parsed by the reference (case-insensitive, 0-9 fraction digits, an
# offset or Z).
_ISO_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?"
    r"(?:(Z)|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)",
    re.ASCII | re.IGNORECASE,
)


def validate_payload(message: Message, context: Context) -> Message:
    attributes = message.attributes
    document = message.document
    if document is None:
        raise ValueError("validate_payload needs the parsed document (run parse_json first)")
    schemas = context.schemas
    namespace = attributes.get(DOCUMENT_NAMESPACE)
    doctype = attributes.get(DOCUMENT_TYPE)

    canonical = schemas.canonical_doctype(namespace, doctype)
    if namespace is None or doctype is None or canonical is None:  # D-33
        raise SchemaNotFound(f"No such docType: {_java_str(namespace)}/{_java_str(doctype)}")

    version = attributes.get(DOCUMENT_VERSION)
    if version is None:
        version = telemetry_version(document)  # D-34

    schemas.validator(namespace, doctype, version)(document)  # D-35, D-36

    metadata = schemas.pipeline_metadata(namespace, doctype, version)
    if _is_deprecated(metadata, attributes.get(SUBMISSION_TIMESTAMP)):  # D-37
        raise DeprecatedMessage()

    if attributes.get(DOCUMENT_VERSION) == version and canonical == (namespace, doctype):
        return message
    namespace, doctype = canonical
    return message.evolve(
        set_attributes={
            DOCUMENT_NAMESPACE: namespace,
            DOCUMENT_TYPE: doctype,
            DOCUMENT_VERSION: version,
        }
    )


def telemetry_version(document: Mapping[str, Any]) -> str:
    """The first of ``version``/``v`` that is a JSON value node, as Jackson's ``asText()``."""
    for field in ("version", "v"):
        if field in document:
            value = document[field]
            if not isinstance(value, dict | list):
                return as_text(value)
    raise SchemaNotFound(MISSING_TELEMETRY_VERSION)


def _java_str(value: str | None) -> str:
    # String.format prints a missing attribute as "null".
    return "null" if value is None else value


def _is_deprecated(metadata: Mapping[str, Any], submission_timestamp: str | None) -> bool:
    policy = metadata.get("expiration_policy")
    if not isinstance(policy, dict) and not isinstance(policy, Mapping):  # dict: the fast check
        return False
    collect_through = _parse_local_date(policy.get("collect_through_date"))
    if collect_through is None:
        return False
    submitted = _utc_date(submission_timestamp)
    return submitted is not None and submitted > collect_through


def _parse_local_date(text: Any) -> datetime.date | None:
    match = _ISO_LOCAL_DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    try:
        return datetime.date(*map(int, match.groups()))
    except ValueError:
        return None


def _utc_date(timestamp: str | None) -> datetime.date | None:
    """The UTC date of an ISO instant, or None where the reference's parser returns null."""
    match = _ISO_INSTANT.fullmatch(timestamp) if timestamp is not None else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    sign, offset_hours, offset_minutes, offset_seconds = match.groups()[8:]
    extra_day = hour == 24 and minute == 0 and second == 0 and not (match.group(7) or "").strip("0")
    if extra_day:
        hour = 0
    if second == 60:  # a leap second is read as :59
        second = 59
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if extra_day:
        moment += datetime.timedelta(days=1)
    if sign is not None:
        offset = datetime.timedelta(
            hours=int(offset_hours), minutes=int(offset_minutes), seconds=int(offset_seconds or 0)
        )
        moment = moment - offset if sign == "+" else moment + offset
    return moment.date()
