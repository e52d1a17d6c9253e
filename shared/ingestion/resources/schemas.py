"""The schema store: mozilla-pipeline-schemas, indexed once, compiled lazily (D-33, D-35, §10).

Sources are a directory laid out as ``<namespace>/<docType>/<docType>.<version>.schema.json``
(optionally under a ``schemas/`` folder) or the repository tarball as GitHub serves it, where only
entries whose second path component is ``schemas`` count, as in the reference. Later sources
overlay earlier ones, the way gcp-ingestion writes its test schemas into the downloaded tree.

Every path component is normalised with the reference's snake_case rule on the part before its
first ``.``, both at load and at lookup, so ``first-shutdown`` finds ``first_shutdown`` (D-35);
the rule lives in ``core.names``, which the scrubber's rules use too.

Loading only reads bytes: the full corpus (659 schemas, 25 MB) would take several hundred
milliseconds to parse and far longer to compile, and one function instance sees few doctypes.
Each schema is parsed, and its validator compiled, on first use and then cached; a lock keeps
concurrent first uses from compiling twice.

A schema without ``mozPipelineMetadata`` (the ``metadata/*`` ones) is not a decode target: as in
the reference, a document sent to it is validated and then rejected with ``No schema with name``.
"""

from __future__ import annotations

import os
import tarfile
import threading
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from ..core.errors import SchemaNotFound
from ..core.jvm import java_split
from ..core.names import normalize_path, snake_case
from .validators import DEFAULT_ENGINE, ENGINES, Validator, compile_schema

SCHEMA_SUFFIX = ".schema.json"


def _project_schemas() -> Path:
    """The project's own schema bundle: ``<repo>/schemas`` in a checkout, or ``schemas/`` beside
    the ``ingestion`` package in a deployed function's source (see terraform/scripts)."""
    package_root = Path(__file__).resolve().parents[1]
    candidates = (package_root.parents[1] / "schemas", package_root.parent / "schemas")
    return next((path for path in candidates if path.is_dir()), candidates[0])


PROJECT_SCHEMAS = _project_schemas()

_EMPTY_METADATA: Mapping[str, Any] = types.MappingProxyType({})

# A schema given directly (tests): parsed, or its JSON text.
_SchemaSource = Mapping[str, Any] | str | bytes


class SchemaLoadError(ValueError):
    """The schema location is missing, unreadable or not a schema tree or tarball."""


def schema_path(namespace: str, doctype: str, version: str) -> str:
    """The reference's lookup path, as it appears in ``No schema with name: <path>``."""
    return f"{namespace}/{doctype}/{doctype}.{version}{SCHEMA_SUFFIX}"


class _Entry:
    """One schema file: raw bytes until first use, then the parsed schema and its validator."""

    __slots__ = ("metadata", "raw", "schema", "validator")

    def __init__(self, raw: bytes | None = None, schema: dict[str, Any] | None = None) -> None:
        self.raw = raw
        self.schema = schema
        self.metadata: Mapping[str, Any] | None = None
        self.validator: Validator | None = None


class _Index:
    """What one source contributes: schema bytes by normalised path, and docType directories."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        # "namespace/doctype", normalised -> the names as the schema tree spells them.
        self.doctypes: dict[str, tuple[str, str]] = {}

    def add_directory(self, components: Sequence[str]) -> None:
        if len(components) >= 2:
            key = f"{snake_case(components[0])}/{snake_case(components[1])}"
            self.doctypes.setdefault(key, (components[0], components[1]))

    def add_schema(self, components: Sequence[str], entry: _Entry) -> None:
        self.entries[normalize_path(components)] = entry
        # A tarball built without directory entries still names its docTypes via its files.
        if len(components) >= 3:
            self.add_directory(components)


_MAX_LOOKUPS = 10_000


class SchemaStore:
    """Schemas by (namespace, docType, version), with lazily compiled validators."""

    def __init__(self, index: _Index, engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown validation engine {engine!r}; expected one of {ENGINES}")
        self.engine = engine
        self._entries = index.entries
        self._doctypes = dict(index.doctypes)
        self._lock = threading.Lock()
        # Lookups by the names as messages spell them; bounded because names come from clients.
        self._lookups: dict[tuple[str, str, str], _Entry | None] = {}
        # What every message asks for, answered by one lookup each (same bound).
        self._doctype_lookups: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._metadata_lookups: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        self._validator_lookups: dict[tuple[str, str, str], Validator] = {}

    # --- construction --------------------------------------------------------------------
    @classmethod
    def from_path(cls, path: Path | str, engine: str = DEFAULT_ENGINE) -> SchemaStore:
        return cls(_load(Path(path)), engine)

    @classmethod
    def from_paths(cls, paths: Iterable[Path | str], engine: str = DEFAULT_ENGINE) -> SchemaStore:
        """Each path overlays the ones before it (same normalised name: the later one wins)."""
        index = _Index()
        for path in paths:
            _merge(index, _load(Path(path)))
        return cls(index, engine)

    @classmethod
    def from_schemas(
        cls,
        schemas: Mapping[str, _SchemaSource] | Mapping[tuple[str, str, str], _SchemaSource],
        engine: str = DEFAULT_ENGINE,
    ) -> SchemaStore:
        """For tests: keys are ``ns/type/type.N.schema.json`` paths or (ns, type, version)."""
        index = _Index()
        items: Iterable[tuple[str | tuple[str, str, str], _SchemaSource]] = schemas.items()
        for key, value in items:
            path = schema_path(*key) if isinstance(key, tuple) else key
            if isinstance(value, str | bytes):
                entry = _Entry(raw=value.encode() if isinstance(value, str) else value)
            else:
                entry = _Entry(schema=dict(value))
            index.add_schema(java_split(path, "/"), entry)
        return cls(index, engine)

    def overlay(self, path: Path | str) -> SchemaStore:
        """A new store with the schemas at ``path`` laid over this one's."""
        index = _Index()
        index.entries = {k: _Entry(raw=e.raw, schema=e.schema) for k, e in self._entries.items()}
        index.doctypes = dict(self._doctypes)
        _merge(index, _load(Path(path)))
        return SchemaStore(index, self.engine)

    # --- queries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def doctypes(self) -> list[tuple[str, str]]:
        """Every (namespace, docType) directory, normalised, sorted."""
        pairs = (d.split("/", 1) for d in self._doctypes)
        return sorted((namespace, doctype) for namespace, doctype in pairs)

    def canonical_doctype(
        self, namespace: str | None, doctype: str | None
    ) -> tuple[str, str] | None:
        """The (namespace, docType) as the schema tree spells them, for any spelling that
        normalises to them; None when there is no such docType."""
        # Whole names are normalised here, not the part before a dot (as in the reference).
        if namespace is None or doctype is None:
            return None
        key = (namespace, doctype)
        if key in self._doctype_lookups:
            return self._doctype_lookups[key]
        found = self._doctypes.get(f"{snake_case(namespace)}/{snake_case(doctype)}")
        if len(self._doctype_lookups) >= _MAX_LOOKUPS:
            self._doctype_lookups.clear()
        self._doctype_lookups[key] = found
        return found

    def has_doctype(self, namespace: str | None, doctype: str | None) -> bool:
        return self.canonical_doctype(namespace, doctype) is not None

    def schema(self, namespace: str, doctype: str, version: str) -> dict[str, Any] | None:
        entry = self._entry(namespace, doctype, version)
        return None if entry is None else self._parsed(entry)

    def pipeline_metadata(self, namespace: str, doctype: str, version: str) -> Mapping[str, Any]:
        """The schema's ``mozPipelineMetadata`` (read-only), or an empty mapping."""
        key = (namespace, doctype, version)
        metadata = self._metadata_lookups.get(key)
        if metadata is None:
            metadata = self._pipeline_metadata(self._entry(namespace, doctype, version))
            if len(self._metadata_lookups) >= _MAX_LOOKUPS:
                self._metadata_lookups.clear()
            self._metadata_lookups[key] = metadata
        return metadata

    def _pipeline_metadata(self, entry: _Entry | None) -> Mapping[str, Any]:
        if entry is None:
            return _EMPTY_METADATA
        metadata = entry.metadata
        if metadata is None:
            found = self._parsed(entry).get("mozPipelineMetadata")
            metadata = types.MappingProxyType(found) if isinstance(found, dict) else _EMPTY_METADATA
            entry.metadata = metadata
        return metadata

    def validator(self, namespace: str, doctype: str, version: str) -> Validator:
        """The compiled validator; ``SchemaNotFound`` when there is no such schema (D-35)."""
        key = (namespace, doctype, version)
        validator = self._validator_lookups.get(key)
        if validator is None:
            validator = self._validator(namespace, doctype, version)
            if len(self._validator_lookups) >= _MAX_LOOKUPS:
                self._validator_lookups.clear()
            self._validator_lookups[key] = validator
        return validator

    def _validator(self, namespace: str, doctype: str, version: str) -> Validator:
        entry = self._entry(namespace, doctype, version)
        if entry is None:
            raise SchemaNotFound(f"No schema with name: {schema_path(namespace, doctype, version)}")
        validate = entry.validator or self._compile(entry)
        if self._is_decode_target(entry):
            return validate
        path = schema_path(namespace, doctype, version)
        return _validate_then_reject(validate, f"No schema with name: {path}")

    # --- internals -------------------------------------------------------------------------
    def _entry(self, namespace: str, doctype: str, version: str) -> _Entry | None:
        key = (namespace, doctype, version)
        try:
            return self._lookups[key]
        except KeyError:
            pass
        path = schema_path(namespace, doctype, version)
        entry = self._entries.get(normalize_path(java_split(path, "/")))
        if len(self._lookups) >= _MAX_LOOKUPS:
            self._lookups.clear()
        self._lookups[key] = entry
        return entry

    def _parsed(self, entry: _Entry) -> dict[str, Any]:
        schema = entry.schema
        if schema is None:
            with self._lock:
                if entry.schema is None:
                    entry.schema = _parse(entry.raw or b"")
                    entry.raw = None  # the parsed form is all we need from now on
                schema = entry.schema
        return schema

    def _compile(self, entry: _Entry) -> Validator:
        schema = self._parsed(entry)
        with self._lock:
            if entry.validator is None:
                entry.validator = compile_schema(schema, self.engine)
            return entry.validator

    def _is_decode_target(self, entry: _Entry) -> bool:
        # The reference's metadata store maps a schema without (or with a null)
        # mozPipelineMetadata to "no schema" (§10 "metadata/* schemas").
        return self._parsed(entry).get("mozPipelineMetadata") is not None


def _validate_then_reject(validate: Validator, message: str) -> Validator:
    def validator(document: Any) -> None:
        validate(document)
        raise SchemaNotFound(message)

    return validator


def _parse(raw: bytes) -> dict[str, Any]:
    schema = orjson.loads(raw)
    if not isinstance(schema, dict):
        raise SchemaLoadError("a schema file does not hold a JSON object")
    return schema


# --- loading -------------------------------------------------------------------------------
def _merge(base: _Index, overlay: _Index) -> None:
    base.entries.update(overlay.entries)
    for key, names in overlay.doctypes.items():
        base.doctypes.setdefault(key, names)


def _load(path: Path) -> _Index:
    try:
        if path.is_dir():
            return _load_directory(path)
        if path.is_file():
            return _load_tarball(path)
    except OSError as error:
        raise SchemaLoadError(f"cannot read schemas from {path}: {error}") from error
    raise SchemaLoadError(f"schema location not found: {path}")


def _load_directory(path: Path) -> _Index:
    # Accept the repository root (or an extracted tarball's top folder) as well as the tree.
    root = path / "schemas" if (path / "schemas").is_dir() else path
    index = _Index()
    for directory, subdirectories, files in _walk(root):
        subdirectories.sort()
        relative = [] if directory == root else list(directory.relative_to(root).parts)
        for name in subdirectories:
            index.add_directory([*relative, name])
        for name in sorted(files):
            if name.endswith(SCHEMA_SUFFIX):
                raw = (directory / name).read_bytes()
                index.add_schema([*relative, name], _Entry(raw=raw))
    return index


def _walk(root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    def fail(error: OSError) -> None:
        raise error

    for directory, subdirectories, files in os.walk(root, onerror=fail):
        yield Path(directory), subdirectories, files


def _load_tarball(path: Path) -> _Index:
    index = _Index()
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                components = java_split(member.name, "/")
                if len(components) <= 2 or components[1] != "schemas":
                    continue
                tree_path = components[2:]
                if member.isdir():
                    index.add_directory(tree_path)
                elif member.isfile() and tree_path[-1].endswith(SCHEMA_SUFFIX):
                    content = archive.extractfile(member)
                    if content is not None:
                        index.add_schema(tree_path, _Entry(raw=content.read()))
    except tarfile.TarError as error:
        raise SchemaLoadError(f"{path} is not a readable schema tarball: {error}") from error
    return index
