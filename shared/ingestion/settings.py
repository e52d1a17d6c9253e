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
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .context import ContextConfig
from .core.limits import MAX_PAYLOAD_BYTES
from .resources.schemas import PROJECT_SCHEMAS
from .resources.validators import DEFAULT_ENGINE, ENGINES

DEDUP_BACKENDS = ("firestore", "memory", "off")
DEDUP_FAILURE_MODES = ("deliver", "retry")
COMPRESSIONS = ("gzip", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BACKFILL_DISPATCHERS = ("cloud_tasks", "pubsub")


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


Parser = Callable[[str, str], Any]  # (variable name, text) -> value; raises SettingsError


def choice(options: tuple[str, ...]) -> Parser:
    def parse(name: str, value: str) -> str:
        if value not in options:
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(options)}")
        return value

    return parse


def positive_number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if not number > 0 or number == float("inf"):
        raise SettingsError(f"{name}={value!r}: expected a positive number")
    return number


def positive_int(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) <= 0:
        raise SettingsError(f"{name}={value!r}: expected a positive integer")
    return int(value)


def flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def text(name: str, value: str) -> str:
    return value


def bucket_list(name: str, value: str) -> frozenset[str]:
    buckets = frozenset(part.strip() for part in value.split(",") if part.strip())
    bad = sorted(b for b in buckets if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]", b))
    if bad:
        raise SettingsError(f"{name}: {bad[0]!r} is not a bucket name")
    return buckets


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str  # the environment variable
    field: str  # the settings field it fills
    default: str | None  # None: required; "": off
    help: str
    parse: Parser = text
    shown_default: str | None = None  # how the README shows the default, when not literally

    def read(self, environ: Mapping[str, str]) -> Any:
        value = environ.get(self.name)
        if value is None or value == "":
            value = self.default
        if value is None:
            raise SettingsError(f"{self.name} is required")
        return self.parse(self.name, value)


# Where the registry lives (sources.json, writer entries, schema.json, their history).
METADATA_LOCATION = Variable(
    "METADATA_LOCATION",
    "metadata_location",
    ".run/metadata",
    "registry: gs://bucket[/path] or a local directory (data buckets beside it)",
)

ENVIRONMENT: tuple[Variable, ...] = (
    # --- common to every function ---------------------------------------------------------------
    Variable(
        "GOOGLE_CLOUD_PROJECT", "project", None, "project of the topics and the Firestore database"
    ),
    Variable(
        "SCHEMAS_LOCATION",
        "schemas_location",
        str(PROJECT_SCHEMAS),
        "schema directory, .tar.gz, or gs:// object",
        shown_default="the bundled `schemas/`",
    ),
    Variable(
        "GEO_CITY_DATABASE",
        "geo_city_database",
        "",
        "GeoIP2/GeoLite2 City .mmdb: local path or gs:// object",
    ),
    Variable(
        "GEO_ISP_DATABASE", "geo_isp_database", "", "GeoIP2 ISP .mmdb: local path or gs:// object"
    ),
    Variable(
        "GEO_CITY_FILTER",
        "geo_city_filter",
        "",
        "allowed GeoNames ids, one per line: local path or gs://",
    ),
    Variable(
        "SCRUBBER_RULES",
        "scrubber_rules",
        "",
        "scrubber rules .toml: local path or gs:// object",
        shown_default="the bundled rules",
    ),
    Variable(
        "RESOURCE_RECHECK_SECONDS",
        "resource_recheck_seconds",
        "300",
        "how often gs:// resources are checked for updates",
        positive_number,
    ),
    Variable(
        "VALIDATION_ENGINE",
        "validation_engine",
        DEFAULT_ENGINE,
        f"one of {', '.join(ENGINES)}",
        choice(ENGINES),
    ),
    Variable(
        "MAX_PAYLOAD_BYTES",
        "max_payload_bytes",
        str(MAX_PAYLOAD_BYTES),
        "payload limit after decompression",
        positive_int,
    ),
    Variable(
        "OUTPUT_COMPRESSION",
        "output_compression",
        "gzip",
        "payload compression on the decoded topics: gzip or none",
        choice(COMPRESSIONS),
    ),
    Variable(
        "ERROR_COMPRESSION",
        "error_compression",
        "gzip",
        "payload compression on the error topic: gzip or none",
        choice(COMPRESSIONS),
    ),
    Variable(
        "LOG_LEVEL",
        "log_level",
        "INFO",
        ", ".join(LOG_LEVELS[:-1]) + f" or {LOG_LEVELS[-1]}",
        choice(LOG_LEVELS),
    ),
    Variable(
        "COUNTERS_INTERVAL_SECONDS",
        "counters_interval_seconds",
        "60",
        "how often the per-outcome counters are logged",
        positive_number,
    ),
    # --- the decoder function ---------------------------------------------------------------------
    Variable(
        "DECODED_TOPIC",
        "decoded_topic",
        "decoded",
        "decoded topic; may use `${document_namespace}` and `${document_type}`",
    ),
    Variable(
        "ERROR_TOPIC", "error_topic", "decoder-errors", "topic for rejected messages and duplicates"
    ),
    Variable(
        "DEBUG_TOPIC",
        "debug_topic",
        "",
        "optional topic receiving every message with an x_debug_id",
    ),
    Variable(
        "DEDUP_BACKEND",
        "dedup_backend",
        "firestore",
        f"one of {', '.join(DEDUP_BACKENDS)}",
        choice(DEDUP_BACKENDS),
    ),
    Variable(
        "DEDUP_COLLECTION", "dedup_collection", "decoder-dedup", "Firestore collection of seen uris"
    ),
    Variable("DEDUP_DATABASE", "dedup_database", "(default)", "Firestore database id"),
    Variable(
        "DEDUP_WINDOW_SECONDS",
        "dedup_window_seconds",
        "600",
        "how long a delivered uri counts as seen",
        positive_number,
    ),
    Variable(
        "DEDUP_ON_FAILURE",
        "dedup_on_failure",
        "deliver",
        "when Firestore is unreachable: deliver (best effort) or retry (fail the delivery)",
        choice(DEDUP_FAILURE_MODES),
    ),
    Variable(
        "DEDUP_TIMEOUT_SECONDS",
        "dedup_timeout_seconds",
        "2",
        "deadline of one Firestore call",
        positive_number,
    ),
    Variable(
        "INCLUDE_STACK_TRACE",
        "include_stack_trace",
        "true",
        "add stack_trace* attributes to error messages",
        flag,
    ),
    Variable("JOB_NAME", "job_name", "decoder", "job_name attribute on error messages"),
    Variable(
        "INPUT_NAME", "input_name", "", "input attribute on error messages (the raw subscription)"
    ),
    # --- the registry: the loader, the backfill and `ingestion sources` -------------------------
    METADATA_LOCATION,
    # --- the loader function --------------------------------------------------------------------
    Variable(
        "LOADER_SOURCE",
        "loader_source",
        None,
        "registry source whose writer entry says where the loader writes",
    ),
    Variable(
        "LOADER_FLUSH_MESSAGES",
        "loader_flush_messages",
        "1000",
        "a partition's batch is written at this many messages",
        positive_int,
    ),
    Variable(
        "LOADER_FLUSH_BYTES",
        "loader_flush_bytes",
        str(8 << 20),
        "... or at this many line bytes (before compression)",
        positive_int,
    ),
    Variable(
        "LOADER_FLUSH_SECONDS",
        "loader_flush_seconds",
        "2",
        "... or this many seconds after its first message",
        positive_number,
    ),
    Variable(
        "LOADER_MAX_QUEUED_BYTES",
        "loader_max_queued_bytes",
        str(64 << 20),
        "line bytes queued or being written at most; beyond, requests answer 429",
        positive_int,
    ),
    Variable(
        "LOADER_RECHECK_SECONDS",
        "loader_recheck_seconds",
        "5",
        "how often the writer entry's version is checked (a moved source is followed)",
        positive_number,
    ),
    Variable(
        "LOADER_KEEP_MESSAGE_ID",
        "loader_keep_message_id",
        "false",
        "store the Pub/Sub message id as the message_id attribute (the raw archive: the decoder "
        "derives stub-installer document ids from it, so a backfill needs it)",
        flag,
    ),
    Variable(
        "LOADER_WRITE_THREADS",
        "loader_write_threads",
        "4",
        "threads encoding and writing objects",
        positive_int,
    ),
    # --- the backfill function -------------------------------------------------------------------
    Variable(
        "BACKFILL_ALLOWED_BUCKETS",
        "backfill_allowed_buckets",
        "",
        "comma-separated buckets a backfill may read or write (empty: none)",
        bucket_list,
    ),
    Variable(
        "BACKFILL_MAX_CHUNKS", "backfill_max_chunks", "10000", "chunks a run may have", positive_int
    ),
    Variable(
        "BACKFILL_MAX_BYTES",
        "backfill_max_bytes",
        str(16 << 40),
        "input bytes a run may read",
        positive_int,
    ),
    Variable(
        "BACKFILL_COLLECTION",
        "backfill_collection",
        "backfill-runs",
        "Firestore collection of run and chunk state",
    ),
    Variable("BACKFILL_DATABASE", "backfill_database", "(default)", "its Firestore database id"),
    Variable(
        "BACKFILL_DISPATCH",
        "backfill_dispatch",
        "cloud_tasks",
        "chunk fan-out: cloud_tasks or pubsub",
        choice(BACKFILL_DISPATCHERS),
    ),
    Variable(
        "BACKFILL_QUEUE",
        "backfill_queue",
        "",
        "Cloud Tasks queue: projects/P/locations/L/queues/Q",
    ),
    Variable(
        "BACKFILL_FUNCTION_URL", "backfill_function_url", "", "the function's URL, for its tasks"
    ),
    Variable(
        "BACKFILL_TASKS_SERVICE_ACCOUNT",
        "backfill_tasks_service_account",
        "",
        "service account whose OIDC token the tasks carry (empty: none, local only)",
    ),
    Variable(
        "BACKFILL_DISPATCH_TOPIC",
        "backfill_dispatch_topic",
        "",
        "topic of chunk tasks when BACKFILL_DISPATCH=pubsub",
    ),
    Variable(
        "BACKFILL_DISPATCH_DEADLINE_SECONDS",
        "backfill_dispatch_deadline_seconds",
        "1800",
        "Cloud Tasks dispatch deadline of a chunk task (15-1800)",
        positive_int,
    ),
    Variable(
        "BACKFILL_TIME_BUDGET_SECONDS",
        "backfill_time_budget_seconds",
        "1500",
        "a chunk task checkpoints and re-enqueues itself after this long",
        positive_number,
    ),
    Variable(
        "BACKFILL_MAX_ATTEMPTS",
        "backfill_max_attempts",
        "5",
        "failed attempts after which a chunk is failed",
        positive_int,
    ),
    Variable(
        "BACKFILL_COMMIT_BYTES",
        "backfill_commit_bytes",
        str(16 << 20),
        "input bytes between two commits (outputs written, checkpoint saved)",
        positive_int,
    ),
    Variable(
        "BACKFILL_MARK_DAYS",
        "backfill_mark_days",
        "30",
        "days a run's dedup marks are kept (Firestore TTL; resume a dedup run within them)",
        positive_number,
    ),
    Variable(
        "CLOUD_TASKS_EMULATOR_HOST",
        "cloud_tasks_emulator_host",
        "",
        "host:port of a local Cloud Tasks emulator (empty: the real service)",
    ),
)
_BY_FIELD = {variable.field: variable for variable in ENVIRONMENT}
assert len(_BY_FIELD) == len(ENVIRONMENT), "two variables fill the same field"


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
    unfilled = fields - set(_BY_FIELD)
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


if __name__ == "__main__":
    print(environment_table())
