"""What the benchmarks share: the corpus and its resources, CPU accounting, timing, results files
and charts. Each ``bench/*.py`` keeps only its own measurement.

- Corpus: real pings from ``../shared`` (desktop main, event, crash; Glean baseline, metrics and
  events) wrapped as edge messages with realistic attributes, about 92.5 % of payloads gzipped
  (the production share, decoder-behaviour.md §8); decoded with the schemas of
  mozilla-pipeline-schemas and gcp-ingestion's GeoIP2 test databases.
- Message files: the corpus as a user has it for ``ingestion decode``: ``json`` lines
  (``{"attributeMap": ..., "payload": "<base64>"}``), gzipped, split over a few ``.ndjson.gz``
  files (``write_message_files``).
- CPU accounting from ``/proc`` (Linux): user + sys seconds of a process and its reaped children
  (fields 14-17 of ``/proc/<pid>/stat``, in clock ticks), of every process of a process group,
  of this process (``getrusage``) and of the whole machine (``/proc/stat``).
- Timing: this process's CPU time (``time.process_time``) and wall time around a piece of work.
- Results: ``bench/results/<name>.json`` (indented) and ``<name>.png`` (matplotlib, Agg backend).

Importing this module puts ``shared/`` on ``sys.path``, so a benchmark runs from a checkout.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import ipaddress
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))

from ingestion.context import ContextConfig  # noqa: E402
from ingestion.core.message import Message  # noqa: E402

RESULTS = REPO / "bench" / "results"
SHARED = REPO.parent / "shared"
SCHEMAS = SHARED / "anchors/mozilla-pipeline-schemas/generated-schemas/schemas"
VALIDATION = SHARED / "anchors/mozilla-pipeline-schemas/validation"
BEAM = SHARED / "anchors/gcp-ingestion/ingestion-beam/src/test/resources"
CITY_DB = BEAM / "cityDB/GeoIP2-City-Test.mmdb"
ISP_DB = BEAM / "ispDB/GeoIP2-ISP-Test.mmdb"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the corpus ---------------------------------------------------------------------------------
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
GLEAN_AGENT = "Glean/61.2.0 (Rust on Windows)"
FENIX_UA = "Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0"
# Client addresses: a pool with about two messages per address, most inside the networks the
# GeoIP test databases know (the rest miss, as unknown addresses do), so the decoder's per-address
# lookup cache sees a realistic hit rate once it is cleared at the start of every round.
KNOWN_NETWORKS = (
    "67.43.156.0/24",
    "81.2.69.160/27",
    "89.160.20.128/25",
    "175.16.199.0/24",
    "202.196.224.0/20",
    "216.160.83.56/29",
)
UNKNOWN_NETWORK = "198.51.100.0/24"
KNOWN_SHARE = 0.8
MESSAGES_PER_ADDRESS = 2

# (share of messages, kind, ping file). Shares count messages, not bytes: most messages are small
# Glean pings. Desktop main pings are the real ones (138 KB and 383 KB uncompressed); the
# sub-4 KB main.4 files in the validation folder are schema fixtures, not pings a client sends.
MIX: list[tuple[float, str, str]] = [
    (0.06, "telemetry/main", "telemetry/main.4.gc_sample.pass.json"),
    (0.04, "telemetry/main", "telemetry/main.4.gc_sample_2.pass.json"),
    (0.02, "telemetry/main", "telemetry/main.4.sample.pass.json"),
    (0.015, "telemetry/main", "telemetry/main.4.profile.pass.json"),
    (0.015, "telemetry/main", "telemetry/main.4.latewrites.pass.json"),
    (0.10, "telemetry/event", "telemetry/event.4.sample.pass.json"),
    (0.03, "telemetry/crash", "telemetry/crash.4.sample.pass.json"),
    (0.02, "telemetry/crash", "telemetry/crash.4.stackTraces.pass.json"),
    (0.20, "org-mozilla-fenix/baseline", "glean/glean.1.baseline.pass.json"),
    (0.15, "firefox-desktop/baseline", "glean/glean.1.baseline.pass.json"),
    (0.15, "org-mozilla-fenix/metrics", "glean/glean.1.metrics.pass.json"),
    (0.10, "firefox-desktop/events", "glean/glean.1.events.pass.json"),
    (0.10, "firefox-desktop/events", "glean/glean.1.events_with_session.pass.json"),
]
GZIP_SHARE = 0.925


def corpus_unavailable() -> str | None:
    """Why the corpus cannot be built here, or None."""
    if not VALIDATION.is_dir():
        return f"../shared not found ({VALIDATION}): the benchmark corpus is unavailable"
    return None


def client_addresses(count: int, rng: random.Random) -> list[str]:
    addresses: set[str] = set()
    while len(addresses) < count:
        network = ipaddress.ip_network(
            rng.choice(KNOWN_NETWORKS) if rng.random() < KNOWN_SHARE else UNKNOWN_NETWORK
        )
        addresses.add(str(network[rng.randrange(network.num_addresses)]))
    return sorted(addresses)


def _edge_attributes(kind: str, doc_id: str, client_ip: str, rng: random.Random) -> dict[str, str]:
    namespace, doctype = kind.split("/")
    if namespace == "telemetry":
        uri = f"/submit/telemetry/{doc_id}/{doctype}/Firefox/132.0/release/20261028094500"
        agent = {"user_agent": FIREFOX_UA, "x_pingsender_version": "1.0"}
    else:
        uri = f"/submit/{namespace}/{doctype}/1/{doc_id}"
        agent = (
            {"user_agent": FENIX_UA, "x_telemetry_agent": GLEAN_AGENT}
            if namespace.startswith("org-mozilla")
            else {"user_agent": FIREFOX_UA, "x_telemetry_agent": GLEAN_AGENT}
        )
    return {
        "submission_timestamp": "2026-11-20T10:15:30.123456Z",
        "uri": uri,
        "protocol": "HTTP/1.1",
        "method": "POST",
        "args": "",
        "host": "incoming.telemetry.mozilla.org",
        "remote_addr": "10.0.0.2",
        "x_forwarded_for": f"{client_ip}, 10.0.0.2, 35.191.0.1",
        "date": "Fri, 20 Nov 2026 10:15:30 GMT",
        "dnt": "1",
        **agent,
    }


def build_corpus(size: int, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    bodies = {path: orjson.dumps(json.loads((VALIDATION / path).read_text())) for _, _, path in MIX}
    compressed = {path: gzip.compress(body, compresslevel=6) for path, body in bodies.items()}
    corpus: list[Message] = []
    weights = [share for share, _, _ in MIX]
    addresses = client_addresses(max(size // MESSAGES_PER_ADDRESS, 1), rng)
    for _ in range(size):
        _, kind, path = rng.choices(MIX, weights)[0]
        doc_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        payload = compressed[path] if rng.random() < GZIP_SHARE else bodies[path]
        attributes = _edge_attributes(kind, doc_id, rng.choice(addresses), rng)
        corpus.append(Message(attributes=attributes, payload=payload))
    return corpus


# Files the corpus is split over for ``ingestion decode``, and their gzip level (gzip's default).
MESSAGE_FILES = 4
MESSAGE_FILES_LEVEL = 6


def write_message_files(
    corpus: list[Message], folder: Path, files: int = MESSAGE_FILES
) -> list[Path]:
    """The corpus as raw message files a user decodes: ``json`` lines, gzipped, message ``i`` in
    file ``i % files``; the paths, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(files):
        lines = [
            orjson.dumps(
                {
                    "attributeMap": message.attributes,
                    "payload": base64.b64encode(message.payload).decode("ascii"),
                }
            )
            + b"\n"
            for message in corpus[index::files]
        ]
        path = folder / f"messages-{index:02d}.ndjson.gz"
        path.write_bytes(gzip.compress(b"".join(lines), MESSAGE_FILES_LEVEL, mtime=0))
        paths.append(path)
    return paths


def resources(engine: str) -> ContextConfig:
    """The decoder's resources for the corpus: its schemas and the GeoIP2 test databases."""
    return ContextConfig(
        schemas_location=str(SCHEMAS),
        geo_city_database=str(CITY_DB),
        geo_isp_database=str(ISP_DB),
        validation_engine=engine,
    )


# --- CPU accounting from /proc ------------------------------------------------------------------
def _stat_fields(pid: int | str) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (after the parenthesised command, which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone between listing and reading
        return None
    return text[text.rindex(")") + 2 :].split()


def process_cpu_seconds(pid: int | str) -> float:
    """user + sys of a live process (all its threads) and of its children already reaped."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime


def group_members(pgid: int) -> list[str]:
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[2]) == pgid:  # field 5: pgrp
                members.append(entry.name)
    return members


def group_cpu_seconds(pgid: int) -> float:
    """``process_cpu_seconds`` summed over every live process of a process group."""
    return sum(process_cpu_seconds(pid) for pid in group_members(pgid))


def group_rss_mib(pgid: int) -> float:
    kib = 0
    for pid in group_members(pgid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
    return kib / 1024


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle (``/proc/stat``: total minus idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds of named process groups, this process (``bench_client``) and the machine
    (``machine_busy``), between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups
        self._start: dict[str, float] = {}

    def read(self) -> dict[str, float]:
        values = {name: group_cpu_seconds(pgid) for name, pgid in self.groups.items()}
        values["bench_client"] = own_cpu_seconds()
        values["machine_busy"] = machine_busy_seconds()
        return values

    def start(self) -> None:
        self._start = self.read()

    def stop(self) -> dict[str, float]:
        end = self.read()
        return {name: round(end[name] - self._start[name], 3) for name in end}


# --- timing -------------------------------------------------------------------------------------
def cpu_seconds(work: Callable[..., object], *args: Any) -> float:
    """CPU time of this process while ``work(*args)`` runs."""
    started = time.process_time()
    work(*args)
    return time.process_time() - started


@dataclasses.dataclass
class Stopwatch:
    """``with Stopwatch() as watch:``: this process's CPU seconds and the wall seconds inside."""

    cpu: float = 0.0
    wall: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self._cpu
        self.wall = time.perf_counter() - self._wall


def median(values: Iterable[float], digits: int = 4) -> float:
    return round(statistics.median(values), digits)


def ms_per_message(seconds: float, messages: int, digits: int = 4) -> float:
    return round(seconds / messages * 1000, digits)


def messages_per_second(messages: int, seconds: float) -> float:
    return round(messages / seconds, 1)


# --- results ------------------------------------------------------------------------------------
def machine(**extra: Any) -> dict[str, Any]:
    """The ``machine`` entry of a result: Python, platform and what a benchmark adds."""
    return {"python": platform.python_version(), "platform": platform.platform(), **extra}


def save(
    result: dict[str, Any], output: Path, chart: Callable[[dict[str, Any], Path], None]
) -> tuple[Path, Path]:
    """Write ``<output>/<benchmark>.json`` and draw ``<benchmark>.png``; both paths."""
    output.mkdir(parents=True, exist_ok=True)
    data, picture = (output / f"{result['benchmark']}{suffix}" for suffix in (".json", ".png"))
    data.write_text(json.dumps(result, indent=2) + "\n")
    chart(result, picture)
    return data, picture


@contextlib.contextmanager
def figure(path: Path, columns: int = 1, **options: Any) -> Iterator[tuple[Any, Any]]:
    """``(figure, axes)`` of one row of ``columns`` charts, saved to ``path`` on the way out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, columns, **options)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def label_bars(axes: Any, bars: Iterable[Any], labels: Iterable[str]) -> None:
    """Write each label above the middle of its bar."""
    for bar, label in zip(bars, labels, strict=True):
        axes.annotate(
            label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom"
        )
