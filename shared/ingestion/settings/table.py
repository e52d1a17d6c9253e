"""``ENVIRONMENT``: every variable the functions read, in one table (common, decoder, registry,
loader, backfill), each with its field, default, parser and meaning."""

from __future__ import annotations

from ..core.limits import MAX_PAYLOAD_BYTES
from ..resources.schemas import PROJECT_SCHEMAS
from ..resources.validators import DEFAULT_ENGINE, ENGINES
from .parsers import (
    Variable,
    bucket_list,
    choice,
    flag,
    non_negative_number,
    positive_int,
    positive_number,
)

DEDUP_BACKENDS = ("firestore", "memory", "off")
DEDUP_FAILURE_MODES = ("deliver", "retry")
COMPRESSIONS = ("gzip", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BACKFILL_DISPATCHERS = ("cloud_tasks", "pubsub")


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
        "BATCH_HOLD_MS",
        "batch_hold_ms",
        "5",
        "longest a partial RPC batch waits for the requests another RPC in flight releases "
        "(0: never)",
        non_negative_number,
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
BY_FIELD = {variable.field: variable for variable in ENVIRONMENT}
assert len(BY_FIELD) == len(ENVIRONMENT), "two variables fill the same field"
