"""The two registry documents, validated: ``sources.json`` and ``{metadata_prefix}/schema.json``.

``sources.json`` maps a source name to where its data lives (the historical format of Mozilla's
metadata bucket)::

    {"telemetry": {"description": "...", "bucket": "data-bucket", "prefix": "telemetry-2",
                   "doclink": "https://...", "metadata_prefix": "telemetry-2"}}

Keys beyond these are kept on read and written back unchanged ("more keys and metadata will be
added"). ``schema.json`` lists the dimensions, one path level each, in nesting order::

    {"version": 2, "dimensions": [{"field_name": "submissionDate", "allowed_values": "*"}, ...]}

``allowed_values`` is ``"*"``, one string, a list of strings, or ``{"min"?, "max"?}`` with
string bounds; everything the historical loaders refused (non-string list items, a range with
neither bound, non-string bounds, Heka ``header_name`` dimensions) is refused, as are a few
certain mistakes they let through (an empty list, a field named twice). Every error names the
document, the source and the field.

A ``field_name`` is a message attribute or a derived one (``submission_date``,
``submission_hour``). The historical loaders named them in camelCase; ``FIELD_ALIASES`` is the one
table that reads those names as the attributes the decoder writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from ..adapters.storage.locations import LocationError, parse_gcs_folder
from ..adapters.storage.objects import check_object_name
from ..core.partitions import Dimension
from .errors import InvalidDocument

M = TypeVar("M", bound=BaseModel)

# Historical (Heka-era) dimension names -> the attribute the decoder writes on every message.
FIELD_ALIASES: Mapping[str, str] = {
    "submissionDate": "submission_date",  # derived from submission_timestamp: YYYY-MM-DD
    "docType": "document_type",
    "appName": "app_name",
    "appUpdateChannel": "app_update_channel",
    "appVersion": "app_version",
    "appBuildId": "app_build_id",
    "sourceName": "document_namespace",  # "telemetry" in the historical layout
    "sourceVersion": "document_version",  # "4" for telemetry v4 pings
}

SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
# First levels of the metadata bucket the registry keeps for itself.
RESERVED_LEVELS = frozenset({"history", "writers", "migrations", "sources.json"})


def canonical_field(name: str) -> str:
    """The attribute a ``field_name`` stands for (historical camelCase names translated)."""
    return FIELD_ALIASES.get(name, name)


def check_bucket_name(value: str) -> str:
    try:
        parse_gcs_folder(f"gs://{value}")
    except LocationError as exc:
        raise ValueError(f"{value!r} is not a valid bucket name") from exc
    if "/" in value:
        raise ValueError(f"{value!r} is not a valid bucket name")
    return value


def _path(value: str) -> str:
    check_object_name(value)  # no empty, '.' or '..' level, no control character
    return value


def check_metadata_prefix(value: str) -> str:
    _path(value)
    if value.split("/", 1)[0] in RESERVED_LEVELS:
        raise ValueError(f"{value!r} begins with a name the registry keeps for itself")
    return value


BucketName = Annotated[StrictStr, AfterValidator(check_bucket_name)]
Path = Annotated[StrictStr, AfterValidator(_path)]
MetadataPrefix = Annotated[StrictStr, AfterValidator(check_metadata_prefix)]


class SourceEntry(BaseModel):
    """One source of ``sources.json``: where readers find its data."""

    model_config = ConfigDict(extra="allow", frozen=True)

    description: StrictStr
    bucket: BucketName
    prefix: Path
    metadata_prefix: MetadataPrefix
    doclink: StrictStr | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as written: the keys it was read with (extra ones included)."""
        return self.model_dump(mode="json", exclude_unset=True)


class WriterEntry(BaseModel):
    """Where the loader writes a source (``writers/{source}.json``) and since when."""

    model_config = ConfigDict(extra="allow", frozen=True)

    bucket: BucketName
    prefix: Path
    metadata_prefix: MetadataPrefix
    effective_from: AwareDatetime  # when the loader started writing here (ISO 8601)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: StrictStr | None = None
    max: StrictStr | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range must have a 'min' or a 'max'")
        return self


class DimensionSpec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    field_name: StrictStr
    allowed_values: StrictStr | list[StrictStr] | Range

    @model_validator(mode="before")
    @classmethod
    def _no_header_dimensions(cls, data: Any) -> Any:
        if isinstance(data, dict) and "header_name" in data:
            raise ValueError("'header_name' (Heka header) dimensions are not supported")
        return data

    @model_validator(mode="after")
    def _valid(self) -> DimensionSpec:
        if not _FIELD_NAME.fullmatch(self.field_name):
            raise ValueError(f"field_name {self.field_name!r} is not an attribute name")
        if isinstance(self.allowed_values, list) and not self.allowed_values:
            raise ValueError("allowed_values is an empty list: nothing would be allowed")
        return self

    def dimension(self) -> Dimension:
        allowed = self.allowed_values
        if isinstance(allowed, Range):
            bounds = {"min": allowed.min, "max": allowed.max}
            return Dimension(
                canonical_field(self.field_name), {k: v for k, v in bounds.items() if v is not None}
            )
        return Dimension(
            canonical_field(self.field_name),
            tuple(allowed) if isinstance(allowed, list) else allowed,
        )


class StorageSchema(BaseModel):
    """A source's ``schema.json``: the dimensions of its layout, in nesting order."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: StrictInt
    # "dimensions" in the document; the name is free for the ``dimensions()`` consumers call.
    dimension_specs: list[DimensionSpec] = Field(alias="dimensions")

    @model_validator(mode="after")
    def _each_field_once(self) -> StorageSchema:
        seen: set[str] = set()
        for spec in self.dimension_specs:
            name = canonical_field(spec.field_name)
            if name in seen:
                raise ValueError(f"dimension {name!r} is listed twice")
            seen.add(name)
        return self

    def dimensions(self) -> tuple[Dimension, ...]:
        """The layout's dimensions, field names translated (``FIELD_ALIASES``)."""
        return tuple(spec.dimension() for spec in self.dimension_specs)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


# -- reading documents -----------------------------------------------------------------------


def load_json(data: bytes, document: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidDocument(f"{document}: not JSON ({exc})") from exc


def parse_sources(data: bytes | Any, document: str = "sources.json") -> dict[str, SourceEntry]:
    """Every source of a ``sources.json`` (bytes, or the already parsed JSON value)."""
    value = load_json(data, document) if isinstance(data, bytes) else data
    if not isinstance(value, dict):
        raise InvalidDocument(f"{document}: must be an object of source name -> entry")
    return {name: parse_source(name, entry, document) for name, entry in value.items()}


def parse_source(name: str, entry: Any, document: str = "sources.json") -> SourceEntry:
    check_source_name(name, document)
    return _validated(SourceEntry, entry, f"{document}: source {name!r}")


def parse_writer(name: str, data: bytes | Any, document: str) -> WriterEntry:
    value = load_json(data, document) if isinstance(data, bytes) else data
    return _validated(WriterEntry, value, f"{document}: writer of source {name!r}")


def parse_schema(name: str, data: bytes | Any, document: str) -> StorageSchema:
    """The ``schema.json`` of source ``name`` (bytes, or the already parsed JSON value)."""
    value = load_json(data, document) if isinstance(data, bytes) else data
    return _validated(StorageSchema, value, f"{document} (schema of source {name!r})")


def check_source_name(name: str, document: str = "sources.json") -> str:
    if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
        raise InvalidDocument(
            f"{document}: source name {str(name)[:100]!r} must be 1-100 letters, digits, "
            "'_', '.' or '-', beginning with a letter or digit"
        )
    return name


def _validated(model: type[M], value: Any, where: str) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidDocument(f"{where}: {_reasons(exc)}") from None


def _reasons(error: ValidationError) -> str:
    """Pydantic's errors as ``field 'a.0.b': reason`` items (the union's alternatives folded
    into the first reason that is not a type mismatch, when there is one)."""
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"] if not _is_union_tag(part))
        message = item["msg"].removeprefix("Value error, ")
        if location not in found or found[location].startswith("Input should be"):
            found[location] = message
    # A type mismatch of a union member is noise when a deeper field says what is wrong.
    for location in [key for key, message in found.items() if message.startswith("Input should")]:
        if any(other.startswith(f"{location}.") for other in found):
            del found[location]
    return "; ".join(
        f"field {location!r}: {message}" if location else message
        for location, message in found.items()
    )


def _is_union_tag(part: Any) -> bool:
    # Pydantic names the union member it tried (``str``, ``list[str]``, ``Range``) in ``loc``.
    return isinstance(part, str) and (part in ("str", "list[str]", "Range") or "[" in part)
