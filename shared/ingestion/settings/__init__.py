"""Configuration of the deployed functions: typed settings, read from the environment once.

Nothing else in the package reads ``os.environ``, and nothing below the composition roots
(``ingestion.entrypoints``) receives a settings object: they hand plain values down.

``ENVIRONMENT`` is the single source for every variable: its name, the settings field it fills,
its default, its parser and its meaning. ``from_environ`` fills any settings dataclass from it,
``environ_for`` renders the environment that gives chosen values (local runs, tests, benchmarks),
and the README's configuration table is generated from it (a test keeps the two in step). A bad
value raises ``SettingsError`` naming the variable, at cold start.

``CommonSettings`` holds what every function shares (project, where the decoder's resources live,
output compression, logging); ``DecoderSettings`` adds the decoder function's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TypeVar

from ..context import ContextConfig
from .parsers import SettingsError, Variable
from .table import BY_FIELD, ENVIRONMENT, METADATA_LOCATION

__all__ = [
    "ENVIRONMENT",
    "METADATA_LOCATION",
    "BackfillSettings",
    "CommonSettings",
    "DecoderSettings",
    "LoaderSettings",
    "SettingsError",
    "Variable",
    "environ_for",
    "environment_table",
    "from_environ",
    "variables_for",
]


@dataclasses.dataclass(frozen=True)
class CommonSettings:
    """What every function shares: the project, the decoder's resources, compression, logging."""

    project: str
    schemas_location: str
    geo_city_database: str
    geo_isp_database: str
    geo_city_filter: str
    scrubber_rules: str
    resource_recheck_seconds: float
    validation_engine: str
    max_payload_bytes: int
    output_compression: str
    error_compression: str
    log_level: str
    counters_interval_seconds: float

    @classmethod
    def from_environ(cls: type[SettingsT], environ: Mapping[str, str]) -> SettingsT:
        return from_environ(cls, environ)

    @property
    def resources(self) -> ContextConfig:
        """Where the decoder's resources live: the value the CLI builds from its options too."""
        fields = dataclasses.fields(ContextConfig)
        return ContextConfig(**{field.name: getattr(self, field.name) for field in fields})


@dataclasses.dataclass(frozen=True)
class DecoderSettings(CommonSettings):
    """The decoder function: its topics, deduplication and error attributes."""

    decoded_topic: str
    error_topic: str
    debug_topic: str
    dedup_backend: str
    dedup_collection: str
    dedup_database: str
    dedup_window_seconds: float
    dedup_on_failure: str
    dedup_timeout_seconds: float
    batch_hold_ms: float
    include_stack_trace: bool
    job_name: str
    input_name: str


@dataclasses.dataclass(frozen=True)
class LoaderSettings(CommonSettings):
    """The loader function and ``ingestion load``: which source, where the registry is, when a
    batch is written, how much it may hold."""

    metadata_location: str
    loader_source: str
    loader_flush_messages: int
    loader_flush_bytes: int
    loader_flush_seconds: float
    loader_max_queued_bytes: int
    loader_recheck_seconds: float
    loader_write_threads: int
    loader_keep_message_id: bool


@dataclasses.dataclass(frozen=True)
class BackfillSettings(CommonSettings):
    """The backfill function: the registry, allowlist and limits, state, fan-out, budgets, and
    the decoder's topics and error attributes for a replay."""

    metadata_location: str
    backfill_allowed_buckets: frozenset[str]
    backfill_max_chunks: int
    backfill_max_bytes: int
    backfill_collection: str
    backfill_database: str
    backfill_dispatch: str
    backfill_queue: str
    backfill_function_url: str
    backfill_tasks_service_account: str
    backfill_dispatch_topic: str
    backfill_dispatch_deadline_seconds: int
    backfill_time_budget_seconds: float
    backfill_max_attempts: int
    backfill_commit_bytes: int
    backfill_mark_days: float
    cloud_tasks_emulator_host: str
    decoded_topic: str
    error_topic: str
    include_stack_trace: bool
    job_name: str


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def variables_for(cls: type[CommonSettings]) -> tuple[Variable, ...]:
    """The variables a settings class reads, in table order."""
    fields = {field.name for field in dataclasses.fields(cls)}
    unfilled = fields - set(BY_FIELD)
    if unfilled:
        raise TypeError(f"{cls.__name__}: no variable fills {', '.join(sorted(unfilled))}")
    return tuple(variable for variable in ENVIRONMENT if variable.field in fields)


def from_environ(cls: type[SettingsT], environ: Mapping[str, str]) -> SettingsT:
    """``cls`` filled from ``environ``; defaults for what is unset; ``SettingsError`` if bad."""
    return cls(**{v.field: v.read(environ) for v in variables_for(cls)})


def environ_for(cls: type[CommonSettings], **values: object) -> dict[str, str]:
    """The environment that gives ``values`` (by field name) to ``cls``; others stay default.

    Booleans render as ``true``/``false``; everything else with ``str``. The result is checked
    by reading it back, so a value the function would refuse fails here, not at cold start.
    """
    by_field = {variable.field: variable for variable in variables_for(cls)}
    unknown = sorted(set(values) - set(by_field))
    if unknown:
        raise SettingsError(f"{cls.__name__} has no field {', '.join(unknown)}")
    environ = {
        by_field[field].name: str(value).lower() if isinstance(value, bool) else str(value)
        for field, value in values.items()
    }
    from_environ(cls, environ)
    return environ


def environment_table(
    cls: type[CommonSettings] = DecoderSettings, beyond: type[CommonSettings] | None = None
) -> str:
    """A configuration table of the README (a test keeps the two identical): the variables of
    ``cls``, without those ``beyond`` reads too."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    shared = set(variables_for(beyond)) if beyond is not None else set()
    for variable in (v for v in variables_for(cls) if v not in shared):
        if variable.shown_default is not None:
            default = variable.shown_default
        elif variable.default is None:
            default = "*required*"
        elif variable.default == "":
            default = "(empty: off)"
        else:
            default = f"`{variable.default}`"
        rows.append(f"| `{variable.name}` | {default} | {variable.help} |")
    return "\n".join(rows)
