"""The decoder function end to end, old design against new in the same run: CPU per message of
the function's processes and request latency at 1, 8, 32 and 80 concurrent requests, with dedup
off and with Firestore dedup, against the in-process decode of the same messages.

Two designs of the ``decode`` function, served by functions-framework on this machine:

- **new**: the working tree's ``functions/decoder/main.py``, an ASGI function (gunicorn with one
  uvicorn worker, uvloop and httptools): every request of the instance on one event loop, the
  Pub/Sub publishes and the Firestore reads and marks batched across concurrent requests.
- **old**: the same files at ``--baseline-ref`` (default 52b34d5, the commit before the event
  loop), extracted with ``git archive`` into a temporary directory at run time: a Flask function
  under gunicorn's gthread worker with ``THREADS`` set to the concurrency (as its Terraform did),
  one ``PublisherClient`` batch per request, one Firestore get and one set per message. Skipped,
  with the reason printed, when git or the ref is not available.

Both run against the same official Pub/Sub and Firestore emulators, with the same messages and
the same settings, rendered from the settings table (``ingestion.settings.environ_for``) through
the local topology (``ingestion.local.topology``); the old design is given only the variables its
own settings table knows (the JSON lists any left out). Every point starts its own function
process, with its own output topics and dedup collection, and warms it up (cold start, schema
compilation, client channels) with one message of every kind in the corpus. Before the first
point, 4,000 unmeasured messages go through each design and dedup mode (four runs of 1,000), to
warm the emulators' JVMs: with 1,000, the first round of every point was still 15–30 % slower
than the third (the emulators answered more slowly, so the batches were smaller), which a warm
Firestore in production does not do.

The load: this process POSTs Pub/Sub push bodies (``push_body``) straight to the function over
keep-alive HTTP connections (aiohttp, on uvloop when installed), which is what a push
subscription does, without the emulator's push in between:

- **saturation**: a fixed number of connections (1, 8, 32, 80), each sending its next request as
  soon as the previous one was answered: as fast as that concurrency allows on this machine;
- **light load**: 100 requests/s, paced (each request sent at its scheduled time, at most the
  design's deployed concurrency in flight: 4 for the old design, 80 for the new).

Measured per point: CPU seconds (user + sys) of the function's process group (the gunicorn
master and its worker: ``/proc/<pid>/stat`` utime, stime, cutime, cstime of every member), read
before the first request and after the last answer, divided by the messages; the same for each
emulator, for this process and for the machine; wall-clock messages/s; per-request latency,
client side (send to full answer), p50 and p99; non-2xx answers and connection failures. After
the timed window every output is pulled from the decoded and error subscriptions and counted
against what the in-process decoder produces for the same messages, and with Firestore dedup
the marks in the collection are counted: a point where anything is missing is marked invalid
(and the benchmark exits 1), so a broken configuration cannot produce a fast number.

Then, for the new design with Firestore dedup at 32 and 80 concurrent requests, one more run
each with its counters logged every 0.5 s (``LOG_LEVEL=INFO``): items per Publish, ``get_all``
and ``BatchWrite`` RPC, for the Firestore and Pub/Sub request rates of a deployment. Its CPU is
not reported (logging is not what the points run with).

The baseline of the ratios: ``DecoderService.decode`` of the same messages in this process, one
thread, warm, measured just before and just after every point (two passes each time; the
emulators are idle then), and each point's ratio divides its CPU by the mean of the two. This
machine is a VM whose speed drifts: the same decode measured 0.32 to 0.54 ms per message within
a few minutes, with nothing else running, so one baseline taken at the start made the ratios of
a whole run move with it (a run whose first baseline was slow met every target, the next run
missed them). The JSON keeps, beside each round of a point, the two baselines around it.
``in_process`` also gives, measured once before the emulators start, the decode (median of
``--rounds``) and the decode plus the sink's output preparation (gzip, attributes; no
publishing).

Everything shares this machine's cores (2 here): the emulators are JVMs that do real work per
message, so wall-clock messages/s and latency are bounds of this machine, not of a deployment;
the function's CPU per message is the number that carries over.

Every point runs ``--repeats`` times (3 by default; the rounds one after the other, each point
with its own function process), and the JSON gives the medians and every round. The CPU that
other processes on the machine used during a point (the machine's busy time minus the function,
the emulators and this process) is recorded too, as ``other_processes_cores``: on a shared
machine it says how much a neighbour may have disturbed the point.

Each point sends messages with document ids of its own (the corpus's messages with new uuids in
their uris: the same payloads and attributes otherwise), so no point sees another's dedup marks.

Writes ``bench/results/function.json`` and ``bench/results/function.png``. Exits 1 with a reason
when ``../shared`` (the corpus), the emulators or functions-framework are missing. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import gc
import gzip
import importlib.util
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
import orjson

from ingestion import pipeline
from ingestion.adapters.pubsub_sink import PubSubSink
from ingestion.context import build_context
from ingestion.core.message import Message
from ingestion.local.services import (
    DEFAULT_SDK_ROOT,
    LocalService,
    ServiceUnavailable,
    firestore_emulator,
    functions_framework,
    pubsub_emulator,
    running,
)
from ingestion.local.topology import (
    FUNCTION_SOURCE,
    Topics,
    Topology,
    emulators_running,
    function_environment,
    push_body,
)
from ingestion.resources.validators import DEFAULT_ENGINE
from ingestion.service.decoder import DecoderService, duplicate_error
from ingestion.settings import ENVIRONMENT

PROJECT = "bench-project"
BASELINE_REF = "52b34d5"
CONCURRENCY = (1, 8, 32, 80)
QUICK_CONCURRENCY = (8, 32)
# (label in the results, DEDUP_BACKEND)
DEDUP: tuple[tuple[str, str], ...] = (("dedup_off", "off"), ("dedup_firestore", "firestore"))
LIGHT_RATE = 100.0  # requests per second at light load
# Requests one instance takes at once, as each design was deployed (Terraform's default
# concurrency: 4 before the event loop, with THREADS = 4; 80 after).
DEPLOYED_CONCURRENCY = {"old": 4, "new": 80}
# The targets for the new design: function CPU per message at most this many times the
# in-process decode's, at TARGET_CONCURRENCY concurrent requests; the goal is GOAL_RATIO.
TARGET_CONCURRENCY = 32
TARGET_RATIO = {"dedup_off": 2.5, "dedup_firestore": 3.0}
GOAL_RATIO = 2.0
REQUEST_TIMEOUT_SECONDS = 120.0
COLLECT_TIMEOUT_SECONDS = 120.0
JVM_WARMUP_RUNS = 4  # of 1,000 messages per design and dedup mode, before the measured points
HEADERS = {"Content-Type": "application/json"}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# Non-blocking pulls use the emulator's return_immediately, which the client deprecates.
warnings.filterwarnings("ignore", message="The return_immediately flag is deprecated")


# --- the two designs ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Design:
    """One version of the ``decode`` function and how to serve it."""

    name: str
    what: str
    source: Path  # functions/decoder/main.py
    shared: Path  # what goes on PYTHONPATH
    known_variables: frozenset[str]  # the settings variables its settings table reads
    threads: bool  # gunicorn gthread: THREADS is the concurrency

    def environment(self, settings_env: dict[str, str], concurrency: int) -> dict[str, str]:
        """``settings_env`` (rendered for the working tree's settings) for this design."""
        ours = {variable.name for variable in ENVIRONMENT}
        env = {
            name: value
            for name, value in settings_env.items()
            if name not in ours or name in self.known_variables
        }
        env["PYTHONPATH"] = str(self.shared)
        if self.threads:
            env["THREADS"] = str(concurrency)
        return env

    def left_out(self) -> list[str]:
        return sorted({variable.name for variable in ENVIRONMENT} - self.known_variables)

    def function(self, log_dir: Path, env: dict[str, str]) -> LocalService:
        return functions_framework(self.source, "decode", log_dir, env, signature_type="http")


def new_design() -> Design:
    return Design(
        "new",
        "working tree: ASGI function on one event loop (gunicorn + uvicorn worker), RPCs batched "
        "across concurrent requests",
        FUNCTION_SOURCE,
        FUNCTION_SOURCE.parents[2] / "shared",
        frozenset(variable.name for variable in ENVIRONMENT),
        threads=False,
    )


def old_design(ref: str, into: Path) -> tuple[Design | None, str]:
    """The function at ``ref``, extracted into ``into``; or None and why not."""
    if not (common.REPO / ".git").exists():
        return None, f"no git checkout at {common.REPO} (.git missing): old design skipped"
    try:
        archive = subprocess.run(
            ["git", "archive", ref, "shared", "functions"],
            cwd=common.REPO,
            capture_output=True,
            check=True,
        )
    except FileNotFoundError:
        return None, "git is not installed: old design skipped"
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode(errors="replace").strip()
        return None, f"git archive {ref} failed ({reason}): old design skipped"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    shared = into / "shared"
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ingestion.settings import ENVIRONMENT\nfor v in ENVIRONMENT: print(v.name)",
        ],
        env={**os.environ, "PYTHONPATH": str(shared)},
        capture_output=True,
        text=True,
    )
    if listing.returncode != 0:
        return None, f"the code at {ref} does not import: {listing.stderr.strip()[-300:]}"
    return (
        Design(
            "old",
            f"{ref}: Flask function under gunicorn gthread (THREADS = concurrency), one "
            "PublisherClient batch per request, one Firestore get and set per message",
            into / "functions" / "decoder" / "main.py",
            shared,
            frozenset(listing.stdout.split()),
            threads=True,
        ),
        "",
    )


# --- the corpus and the in-process decoder ------------------------------------------------------
def message_bytes(data: bytes, attributes: dict[str, str]) -> tuple[int, int]:
    """(data bytes, attribute key + value bytes): what Pub/Sub bills, minus a fixed overhead."""
    return len(data), sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


def kind_of(uri: str) -> str:
    parts = uri.split("/")
    return f"{parts[2]}/{parts[4]}" if parts[2] == "telemetry" else f"{parts[2]}/{parts[3]}"


def warmup_set(size: int = 600, seed: int = 99) -> list[Message]:
    """One message per (document kind, payload) of the mix: every schema the corpus meets."""
    chosen: dict[tuple[str, int], Message] = {}
    for message in common.build_corpus(size, seed=seed):
        chosen.setdefault((kind_of(message.attributes["uri"]), len(message.payload)), message)
    return list(chosen.values())


def renamed(messages: Sequence[Message], seed: int) -> list[Message]:
    """The same messages with new document ids in their uris (no dedup mark of another point)."""
    rng = random.Random(seed)
    out = []
    for message in messages:
        doc_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        uri = UUID4.sub(doc_id, message.attributes["uri"], count=1)
        out.append(message.evolve(set_attributes={"uri": uri}))
    return out


def make_service() -> DecoderService:
    """The decoder on the resources the function is given (same schemas, GeoIP test databases)."""
    context = build_context(common.resources(DEFAULT_ENGINE))
    return DecoderService(context, sink=None)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the function must publish for a list of inputs, from the in-process decoder."""

    decoded: int
    errors: int
    uris: frozenset[str]  # inputs with at least one output (a scrubber drop gives none)
    marks: int  # inputs with a decoded output: one Firestore document each


def outputs_of(service: DecoderService, messages: Sequence[Message]) -> list[tuple[int, int]]:
    """(decoded outputs, error outputs) of each message, decoded in this process."""
    counts = []
    for message in messages:
        outcome = service.decode(message)
        counts.append((len(outcome.decoded), len(outcome.errors)))
    return counts


def expected(messages: Sequence[Message], outputs: Sequence[tuple[int, int]]) -> Expected:
    """What ``messages`` must give, from ``outputs_of`` the same messages (uris may differ)."""
    uris = frozenset(
        message.attributes["uri"]
        for message, (decoded, errors) in zip(messages, outputs, strict=True)
        if decoded or errors
    )
    return Expected(
        decoded=sum(decoded for decoded, _ in outputs),
        errors=sum(errors for _, errors in outputs),
        uris=uris,
        marks=sum(1 for decoded, _ in outputs if decoded),
    )


def in_process(service: DecoderService, corpus: list[Message], rounds: int) -> dict[str, Any]:
    sink = PubSubSink(None, project=PROJECT)  # type: ignore[arg-type]  # prepare() only
    outcomes = {"decoded": 0, "errors": 0, "dropped": 0}
    for message in corpus:  # the first pass also compiles every schema it meets
        outcome = service.decode(message)
        outcomes["decoded"] += len(outcome.decoded)
        outcomes["errors"] += len(outcome.errors)
        outcomes["dropped"] += len(outcome.dropped)

    def decode_only() -> None:
        for message in corpus:
            service.decode(message)

    def decode_and_prepare() -> None:
        for message in corpus:
            outcome = service.decode(message)
            sink.prepare(outcome.decoded, outcome.errors)

    gc.collect()
    times: dict[str, list[float]] = {"decode": [], "decode_and_prepare": []}
    for _ in range(rounds):  # interleaved, so a noisy neighbour slows both alike
        for name, fn in (("decode", decode_only), ("decode_and_prepare", decode_and_prepare)):
            times[name].append(common.cpu_seconds(fn))
    size = len(corpus)
    result: dict[str, Any] = {
        "what": "DecoderService.decode on one thread, warm; CPU time of this process",
        "engine": DEFAULT_ENGINE,
        "messages": size,
        "rounds": rounds,
        "outcomes": outcomes,
    }
    for name, values in times.items():
        seconds = statistics.median(values)
        result[name] = {
            "cpu_ms_per_message": common.ms_per_message(seconds, size),
            "messages_per_second": common.messages_per_second(size, seconds),
            "cpu_seconds_per_round": [round(v, 4) for v in values],
        }
    result["decode_and_prepare"]["what"] = (
        "decode, then PubSubSink.prepare (gzip of each output, attributes); no publishing"
    )
    return result


def decode_ms(service: DecoderService, corpus: list[Message], passes: int = 2) -> float:
    """The in-process decode's CPU ms per message now: the median of ``passes`` passes (each
    ~0.4 s), taken just before and just after every point (see the module)."""

    def one_pass() -> None:
        for message in corpus:
            service.decode(message)

    gc.collect()
    times = [common.cpu_seconds(one_pass) for _ in range(passes)]
    return statistics.median(times) / len(corpus) * 1000


def error_sizes(service: DecoderService, corpus: list[Message]) -> dict[str, Any]:
    """Average sizes of error outputs for the corpus's messages, as the function publishes them.

    A duplicate is metadata only (empty payload). A rejection carries its payload as ParsePayload
    saw it (decompressed), gzipped at level 1 on the error topic; for its attributes each message
    is decoded once more with a payload no schema accepts.
    """
    sink = PubSubSink(None, project=PROJECT, input_name="raw-push")  # type: ignore[arg-type]
    context = service.context
    duplicates = [0, 0]
    rejections = [0, 0]
    for message in corpus:
        protected = pipeline.protect(message, context).decoded[0]
        for item in sink.prepare([], [duplicate_error(protected, include_stack_trace=True)]):
            data, attributes = message_bytes(item.data, item.attributes)
            duplicates[0] += data
            duplicates[1] += attributes
        rejected = service.decode(message.evolve(payload=b'{"not": "a ping"}'))
        for item in sink.prepare([], rejected.errors[:1]):
            rejections[1] += message_bytes(item.data, item.attributes)[1]
        raw = message.payload
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        rejections[0] += len(gzip.compress(raw, compresslevel=1))
    size = len(corpus)
    return {
        "duplicate": {
            "data_bytes": round(duplicates[0] / size, 1),
            "attribute_bytes": round(duplicates[1] / size, 1),
        },
        "rejection": {
            "what": "ParsePayload (schema violation); data = decompressed payload, gzip level 1",
            "data_bytes": round(rejections[0] / size, 1),
            "attribute_bytes": round(rejections[1] / size, 1),
        },
    }


# --- the load generator -------------------------------------------------------------------------
@dataclasses.dataclass
class Answers:
    """Per request: the HTTP status (0: no answer) and the latency in seconds, client side."""

    statuses: list[int]
    latencies: list[float]
    wall: float
    late_sends: int = 0  # paced: requests sent more than 10 ms after their scheduled time


async def _post_all(
    url: str, bodies: Sequence[bytes], concurrency: int, rate: float | None
) -> Answers:
    import aiohttp

    size = len(bodies)
    statuses, latencies = [0] * size, [0.0] * size
    late = 0
    indices = iter(range(size))  # shared by the workers: each takes the next request
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def worker() -> None:
            nonlocal late
            for index in indices:
                if rate is not None:
                    delay = started + index / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.01:
                        late += 1
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=bodies[index], headers=HEADERS) as answer:
                        await answer.read()
                        statuses[index] = answer.status
                except (aiohttp.ClientError, TimeoutError):
                    statuses[index] = 0
                latencies[index] = time.perf_counter() - sent

        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - wall
    return Answers(statuses, latencies, wall, late)


def post_all(
    url: str, bodies: Sequence[bytes], concurrency: int, rate: float | None = None
) -> Answers:
    """POST every body to ``url`` over ``concurrency`` keep-alive connections."""
    coroutine = _post_all(url, bodies, concurrency, rate)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def latency_ms(latencies: Sequence[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p90": round(cuts[89] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


# --- what arrived --------------------------------------------------------------------------------
class Tally:
    """What arrived on the decoded and error topics: counts, uris and sizes."""

    def __init__(self) -> None:
        self.uris: set[str] = set()
        self.counts = {"decoded": 0, "error": 0, "duplicates": 0}
        self.data_bytes = {"decoded": 0, "error": 0}
        self.attribute_bytes = {"decoded": 0, "error": 0}

    def add(self, kind: str, messages: list[Any]) -> None:
        for message in messages:
            attributes = dict(message.attributes)
            data, attribute_bytes = message_bytes(message.data, attributes)
            self.counts[kind] += 1
            self.data_bytes[kind] += data
            self.attribute_bytes[kind] += attribute_bytes
            if attributes.get("error_type") == "Duplicate":
                self.counts["duplicates"] += 1
            if "uri" in attributes:
                self.uris.add(attributes["uri"])


def collect(topics: Topics, want: Expected, timeout: float) -> Tally:
    """Pull both output subscriptions until everything ``want`` promises arrived (or timeout),
    then drain what else is there."""
    tally = Tally()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (
        want.uris <= tally.uris
        and tally.counts["decoded"] >= want.decoded
        and tally.counts["error"] >= want.errors
    ):
        for kind, count in (("decoded", want.decoded), ("error", want.errors)):
            missing = count - tally.counts[kind]
            if missing > 0:
                tally.add(kind, topics.pull(kind, expected=missing, timeout=5.0))
    for kind in ("decoded", "error"):
        tally.add(kind, topics.pull(kind))
    return tally


def count_documents(collection: str) -> int | None:
    from google.cloud import firestore

    try:
        result = firestore.Client(project=PROJECT).collection(collection).count().get()
        return int(result[0][0].value)
    except Exception as exc:  # reported as a failed check, with the reason
        print(f"  (could not count Firestore documents: {exc})", file=sys.stderr)
        return None


# --- one point ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Point:
    """One function process under one load."""

    design: Design
    dedup: str  # label
    backend: str  # DEDUP_BACKEND
    concurrency: int
    rate: float | None  # None: saturation
    messages: list[Message]
    warmup: list[Message]
    want: Expected
    warmup_want: Expected
    probe: bool = False  # counters logged every PROBE_INTERVAL: batch sizes, not CPU figures

    @property
    def label(self) -> str:
        load = "light" if self.rate is not None else f"c{self.concurrency}"
        probe = "-probe" if self.probe else ""
        return f"{self.design.name}-{self.dedup}-{load}{probe}".replace("_", "-")


PROBE_INTERVAL_SECONDS = 0.5


def batch_sizes(log_path: Path, offset: int) -> dict[str, Any] | None:
    """Items per RPC of every batcher, from the first and the last ``decoder counters`` line
    the function logged after ``offset``: what the batchers sent in between."""
    lines = [
        orjson.loads(line)
        for line in log_path.read_bytes()[offset:].splitlines()
        if b'"decoder counters"' in line
    ]
    if len(lines) < 2:
        return None
    first, last = lines[0]["counters"], lines[-1]["counters"]
    out: dict[str, Any] = {}
    for key, value in last.items():
        if key.endswith(":batches_sent"):
            prefix = key.removesuffix(":batches_sent")
            batches = value - first.get(key, 0)
            items = last.get(f"{prefix}:items_sent", 0) - first.get(f"{prefix}:items_sent", 0)
            if batches > 0:
                out[prefix] = {
                    "rpcs": batches,
                    "items": items,
                    "items_per_rpc": round(items / batches, 1),
                    "largest_batch": last.get(f"{prefix}:largest_batch"),
                }
    inputs = last.get("input", 0) - first.get("input", 0)
    return {"inputs": inputs, "batchers": out} if out else None


def bodies_for(messages: Sequence[Message], subscription: str, first_id: int) -> list[bytes]:
    return [
        orjson.dumps(push_body(message, str(first_id + index), subscription))
        for index, message in enumerate(messages)
    ]


def check(point: Point, answers: Answers, tally: Tally, documents: int | None) -> list[str]:
    """Why the point's numbers cannot be trusted (empty: everything arrived)."""
    problems = []
    non_2xx = sum(1 for status in answers.statuses if not 200 <= status < 300)
    if non_2xx:
        problems.append(f"{non_2xx} requests were not answered 2xx")
    want = point.want
    if not want.uris <= tally.uris:
        problems.append(f"{len(want.uris - tally.uris)} inputs have no output")
    for kind, count in (("decoded", want.decoded), ("error", want.errors)):
        if tally.counts[kind] != count:
            problems.append(f"{tally.counts[kind]} {kind} outputs, expected {count}")
    if point.backend == "firestore":
        marks = want.marks + point.warmup_want.marks
        if documents != marks:
            problems.append(f"{documents} dedup marks in Firestore, expected {marks}")
    return problems


def run_point(
    point: Point, emulators: dict[str, LocalService], workdir: Path, timeout: float
) -> dict[str, Any]:
    topics = Topics(Topology.unique(PROJECT, point.label, debug=False), ("decoded", "error"))
    collection = f"bench-dedup-{uuid.uuid4().hex[:8]}"
    settings_env = function_environment(
        topics.topology,
        **dataclasses.asdict(common.resources(DEFAULT_ENGINE)),
        dedup_backend=point.backend,
        dedup_collection=collection,
        job_name="decoder-bench",
        log_level="WARNING",
    )
    env = point.design.environment(settings_env, point.concurrency)
    if point.probe:
        env.update(
            LOG_LEVEL="INFO",
            COUNTERS_INTERVAL_SECONDS=str(PROBE_INTERVAL_SECONDS),
            PYTHONUNBUFFERED="1",
        )
    function = point.design.function(workdir / point.label, env)
    subscription = topics.topology.push_subscription
    warmup_bodies = bodies_for(point.warmup, subscription, 1)
    bodies = bodies_for(point.messages, subscription, 100_000)
    with running(function):
        assert function.process is not None
        url = f"http://{function.host}/"
        # Warm-up: the cold start alone, then every kind at the point's concurrency.
        cold = post_all(url, warmup_bodies[:1], 1)
        warm = post_all(url, warmup_bodies[1:], min(point.concurrency, len(warmup_bodies) - 1))
        warm_tally = collect(topics, point.warmup_want, timeout=COLLECT_TIMEOUT_SECONDS)
        if not function.running or any(
            not 200 <= status < 300 for status in cold.statuses + warm.statuses
        ):
            raise RuntimeError(f"{point.label}: warm-up failed; see {function.log_path}")
        if not point.warmup_want.uris <= warm_tally.uris:
            raise RuntimeError(f"{point.label}: warm-up outputs missing; see {function.log_path}")
        time.sleep(0.5)  # let the warm-up's stragglers settle

        groups = {"function": function.process.pid}
        groups.update({name: service.process.pid for name, service in emulators.items()})  # type: ignore[union-attr]
        meter = common.CpuMeter(groups)
        log_offset = function.log_path.stat().st_size
        meter.start()
        answers = post_all(url, bodies, point.concurrency, point.rate)
        cpu = meter.stop()
        rss = common.group_rss_mib(function.process.pid)
        if answers.wall > timeout:
            print(f"  ({point.label} took {answers.wall:.0f} s, more than --timeout)")
        tally = collect(topics, point.want, timeout=COLLECT_TIMEOUT_SECONDS)
        documents = count_documents(collection) if point.backend == "firestore" else None
        alive = function.running
    problems = check(point, answers, tally, documents)
    if not alive:
        problems.append(f"the function died; see {function.log_path}")
    size = len(bodies)
    if point.probe:
        return {
            "concurrency": point.concurrency,
            "messages": size,
            "valid": not problems,
            "messages_per_second": common.messages_per_second(size, answers.wall),
            **(batch_sizes(function.log_path, log_offset) or {"batchers": None}),
        }
    return {
        "cpu_ms_per_message": common.ms_per_message(cpu["function"], size, 3),
        "ratio_to_in_process": None,  # filled in by main()
        "messages_per_second": common.messages_per_second(size, answers.wall),
        "latency_ms": latency_ms(answers.latencies),
        "non_2xx": sum(1 for status in answers.statuses if status and not 200 <= status < 300),
        "no_answer": sum(1 for status in answers.statuses if status == 0),
        "delivered": {
            "decoded": tally.counts["decoded"],
            "error": tally.counts["error"],
            "duplicates": tally.counts["duplicates"],
            "expected_decoded": point.want.decoded,
            "expected_error": point.want.errors,
            "inputs_accounted_for": len(point.want.uris & tally.uris),
            "firestore_documents": documents,
        },
        "valid": not problems,
        "problems": problems,
        "messages": size,
        "concurrency": point.concurrency,
        "threads": int(env["THREADS"]) if "THREADS" in env else None,
        "wall_seconds": round(answers.wall, 3),
        "late_sends": answers.late_sends if point.rate is not None else None,
        "cpu_ms_per_message_by_process": {
            name: common.ms_per_message(value, size, 3) for name, value in cpu.items()
        },
        "machine_busy_cores": round(cpu["machine_busy"] / answers.wall, 2),
        "other_processes_cores": round(
            (cpu["machine_busy"] - sum(v for k, v in cpu.items() if k != "machine_busy"))
            / answers.wall,
            2,
        ),
        "function_rss_mib": round(rss, 1),
        "decoded_bytes_per_input": {
            "data": round(tally.data_bytes["decoded"] / size, 1),
            "attributes": round(tally.attribute_bytes["decoded"] / size, 1),
        },
    }


# --- results ------------------------------------------------------------------------------------
def combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One point over its rounds: medians of the figures, sums of the counts, every round kept."""
    median = statistics.median
    out = dict(rows[-1])
    out["cpu_ms_per_message"] = round(median(r["cpu_ms_per_message"] for r in rows), 3)
    out["ratio_to_in_process"] = round(median(r["ratio_to_in_process"] for r in rows), 2)
    out["messages_per_second"] = round(median(r["messages_per_second"] for r in rows), 1)
    out["latency_ms"] = {
        key: round(median(r["latency_ms"][key] for r in rows), 2) for key in rows[0]["latency_ms"]
    }
    for key in ("non_2xx", "no_answer"):
        out[key] = sum(r[key] for r in rows)
    out["delivered"] = {
        key: None if rows[0]["delivered"][key] is None else sum(r["delivered"][key] for r in rows)
        for key in rows[0]["delivered"]
    }
    out["valid"] = all(r["valid"] for r in rows)
    out["problems"] = [problem for r in rows for problem in r["problems"]]
    out["messages"] = sum(r["messages"] for r in rows)
    for key in ("machine_busy_cores", "other_processes_cores"):
        out[key] = round(median(r[key] for r in rows), 2)
    out["cpu_ms_per_message_by_process"] = {
        key: round(median(r["cpu_ms_per_message_by_process"][key] for r in rows), 3)
        for key in rows[0]["cpu_ms_per_message_by_process"]
    }
    out["function_rss_mib"] = max(r["function_rss_mib"] for r in rows)
    out["rounds"] = [
        {
            "cpu_ms_per_message": r["cpu_ms_per_message"],
            "in_process_cpu_ms_per_message": r["in_process_cpu_ms_per_message"],
            "in_process_before_after": r["in_process_before_after"],
            "ratio_to_in_process": r["ratio_to_in_process"],
            "messages_per_second": r["messages_per_second"],
            "p50_ms": r["latency_ms"]["p50"],
            "p99_ms": r["latency_ms"]["p99"],
            "other_processes_cores": r["other_processes_cores"],
        }
        for r in rows
    ]
    del out["wall_seconds"]
    return out


def corpus_summary(corpus: list[Message]) -> dict[str, Any]:
    sizes = [message_bytes(m.payload, m.attributes) for m in corpus]
    data = sum(s[0] for s in sizes)
    attributes = sum(s[1] for s in sizes)
    return {
        "builder": "bench/common.py build_corpus(messages, seed=7), new uuids per point",
        "gzip_share": common.GZIP_SHARE,
        "raw_average_data_bytes": round(data / len(corpus), 1),
        "raw_average_attribute_bytes": round(attributes / len(corpus), 1),
        "raw_average_push_billable_bytes": round(
            sum(max(1000, d + a) for d, a in sizes) / len(corpus), 1
        ),
    }


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets against the new design's figures."""
    out: dict[str, Any] = {}
    new = result["saturation"].get("new", {})
    for dedup, target in TARGET_RATIO.items():
        point = new.get(dedup, {}).get(str(TARGET_CONCURRENCY))
        if point is None:
            continue
        ratio = point["ratio_to_in_process"]
        out[f"cpu_{dedup}_at_{TARGET_CONCURRENCY}"] = {
            "ratio_to_in_process": ratio,
            "target": target,
            "goal": GOAL_RATIO,
            "met": point["valid"] and ratio <= target,
            "goal_met": point["valid"] and ratio <= GOAL_RATIO,
        }
    light = result["light_load"]
    if "old" in light and "new" in light:
        for dedup in light["new"]:
            new_p50 = light["new"][dedup]["latency_ms"]["p50"]
            old_p50 = light["old"][dedup]["latency_ms"]["p50"]
            out[f"light_load_p50_{dedup}"] = {
                "new_ms": new_p50,
                "old_ms": old_p50,
                "met": new_p50 <= old_p50,
            }
    return out


def _plain(value: float, _position: int) -> str:
    return f"{value:g}"


COLORS = {"dedup_off": "#1f77b4", "dedup_firestore": "#ff7f0e"}
STYLES = {"new": "-", "old": "--"}
MARKERS = {"new": "o", "old": "s"}


def chart(result: dict[str, Any], path: Path) -> None:
    # The lines: the median of the baselines measured around the points; each point's label: its
    # own ratio, to the baselines around its rounds (what the verdict uses).
    around = result["in_process"].get("decode_ms_per_message_around_points")
    decode = around["median"] if around else result["in_process"]["decode"]["cpu_ms_per_message"]
    levels = result["messages"]["concurrency"]
    x = list(range(len(levels)))
    with common.figure(path, 3, figsize=(19, 5.6), width_ratios=[3, 2, 3]) as (_, axes):
        cpu_axes, rate_axes, latency_axes = axes
        for design, by_dedup in result["saturation"].items():
            for dedup, points in by_dedup.items():
                rows = [points.get(str(level)) for level in levels]
                style = {
                    "color": COLORS[dedup],
                    "linestyle": STYLES[design],
                    "marker": MARKERS[design],
                    "label": f"{design}, {dedup.replace('_', ' ')}",
                }
                cpu = [row["cpu_ms_per_message"] if row else None for row in rows]
                ratios = [row["ratio_to_in_process"] if row else None for row in rows]
                cpu_axes.plot(x, cpu, **style)
                rate_axes.plot(x, [r["messages_per_second"] if r else None for r in rows], **style)
                for index, value in enumerate(cpu):
                    if value is not None:
                        cpu_axes.annotate(
                            f"{value:.2f} ({ratios[index] or value / decode:.1f}x)",
                            (index, value),
                            textcoords="offset points",
                            # new design's labels right of the point, the old's left of it
                            xytext=(
                                7 if design == "new" else -7,
                                3 if dedup == "dedup_firestore" else -11,
                            ),
                            ha="left" if design == "new" else "right",
                            fontsize="x-small",
                            color=COLORS[dedup],
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"},
                        )
        cpu_axes.axhline(
            decode, color="#555555", label=f"in-process decode {decode:.2f} ms (median)"
        )
        for dedup, ratio in TARGET_RATIO.items():
            cpu_axes.axhline(
                decode * ratio,
                color=COLORS[dedup],
                linestyle=":",
                label=f"target {ratio}x = {decode * ratio:.2f} ms ({dedup.replace('_', ' ')})",
            )
        cpu_axes.axhline(
            decode * GOAL_RATIO,
            color="#2ca02c",
            linestyle=":",
            label=f"goal {GOAL_RATIO}x = {decode * GOAL_RATIO:.2f} ms",
        )
        cpu_axes.set_xlim(-0.6, len(levels) - 0.4)
        cpu_axes.set_ylim(0, cpu_axes.get_ylim()[1] * 1.3)
        cpu_axes.set_ylabel("function CPU ms per message")
        cpu_axes.set_title(
            f"Function CPU per message, saturated (targets at {TARGET_CONCURRENCY} requests)"
        )
        rate_axes.set_ylabel("messages/s, wall clock (2 shared cores)")
        rate_axes.set_title("Throughput on this machine (emulators share the cores)")
        for ax in (cpu_axes, rate_axes):
            ax.set_xticks(x, [str(level) for level in levels])
            ax.set_xlabel("concurrent requests")
            ax.grid(True, axis="y", alpha=0.3)
        cpu_axes.legend(fontsize="x-small", loc="upper center", ncol=2)
        rate_axes.legend(fontsize="x-small")

        # Latency: p50 (bar) and p99 (thin bar on top) per design x dedup, at light load and
        # saturated at each concurrency.
        groups = ["light\n100/s"] + [f"sat.\n{level}" for level in levels]
        series = [
            (design, dedup)
            for design in ("old", "new")
            for dedup, _ in DEDUP
            if design in result["saturation"]
        ]
        width = 0.8 / max(len(series), 1)
        for number, (design, dedup) in enumerate(series):
            rows = [result["light_load"].get(design, {}).get(dedup)]
            rows += [result["saturation"][design].get(dedup, {}).get(str(lv)) for lv in levels]
            offsets = [i - 0.4 + width * (number + 0.5) for i in range(len(groups))]
            # (percentile, opacity of the new design's bar, of the old's, legend): p99 first,
            # so that the p50 bar is drawn over it.
            for key, new_alpha, old_alpha, label in (
                ("p99", 0.3, 0.15, None),
                ("p50", 1.0, 0.55, f"{design}, {dedup.replace('_', ' ')}"),
            ):
                latency_axes.bar(
                    offsets,
                    [row["latency_ms"][key] if row else 0 for row in rows],
                    width,
                    color=COLORS[dedup],
                    alpha=new_alpha if design == "new" else old_alpha,
                    hatch=None if design == "new" else "//",
                    label=label,
                )
        latency_axes.set_xticks(range(len(groups)), groups)
        latency_axes.set_yscale("log")
        latency_axes.yaxis.set_major_formatter(_plain)
        latency_axes.set_ylabel("request latency ms, client side (log)")
        latency_axes.set_title("Latency: p50 (solid), p99 (pale, behind)")
        latency_axes.legend(fontsize="x-small", loc="upper left")
        latency_axes.grid(True, axis="y", alpha=0.3)


def print_table(result: dict[str, Any]) -> None:
    local = result["in_process"]
    print(
        f"\nin-process decode {local['decode']['cpu_ms_per_message']:.3f} ms/msg, "
        f"+ output encoding {local['decode_and_prepare']['cpu_ms_per_message']:.3f} ms/msg"
    )
    print(
        f"{'design':<5} {'dedup':<16} {'conc':>5} {'CPU ms':>7} {'x dec':>6} {'msg/s':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non2xx':>6}  valid"
    )
    rows = [
        (design, dedup, str(level), point)
        for design, by_dedup in result["saturation"].items()
        for dedup, points in by_dedup.items()
        for level, point in points.items()
    ]
    rows += [
        (design, dedup, "light", point)
        for design, by_dedup in result["light_load"].items()
        for dedup, point in by_dedup.items()
    ]
    for design, dedup, level, point in rows:
        print(
            f"{design:<5} {dedup:<16} {level:>5} {point['cpu_ms_per_message']:>7.3f} "
            f"{point['ratio_to_in_process']:>6.2f} {point['messages_per_second']:>7.1f} "
            f"{point['latency_ms']['p50']:>8.1f} {point['latency_ms']['p99']:>8.1f} "
            f"{point['non_2xx'] + point['no_answer']:>6}  {'yes' if point['valid'] else 'NO'}"
        )
    for name, entry in result["verdict"].items():
        print(f"{name}: {entry}")


def missing_prerequisite(sdk_root: Path, workdir: Path) -> str | None:
    problem = common.corpus_unavailable()
    if problem:
        return problem
    for module in (
        "functions_framework",
        "google.cloud.pubsub_v1",
        "google.cloud.firestore",
        "aiohttp",
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install -e '.[gcp,dev]'"
    try:
        pubsub_emulator(workdir, sdk_root), firestore_emulator(workdir, sdk_root)
    except ServiceUnavailable as exc:
        return f"emulators unavailable: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1200, help="per saturation point")
    parser.add_argument("--light-messages", type=int, default=1000, help="per light-load point")
    parser.add_argument("--rounds", type=int, default=5, help="in-process decode rounds (median)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds of every point (median reported)"
    )
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of the old design")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: 200 messages a point, one round, concurrency {QUICK_CONCURRENCY} only",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per point (warns only)")
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    parser.add_argument("--sdk-root", type=Path, default=DEFAULT_SDK_ROOT)
    parser.add_argument("--workdir", type=Path, default=None, help="logs of every service")
    args = parser.parse_args(argv)
    levels = QUICK_CONCURRENCY if args.quick else CONCURRENCY
    if args.quick:
        args.messages, args.light_messages, args.rounds, args.repeats = 200, 200, 3, 1
    began = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingestion-bench-function-"))
    workdir.mkdir(parents=True, exist_ok=True)
    problem = missing_prerequisite(args.sdk_root, workdir)
    if problem:
        print(f"cannot run the function benchmark: {problem}")
        return 1

    designs = [new_design()]
    baseline_dir = Path(tempfile.mkdtemp(prefix="ingestion-bench-baseline-"))
    old, reason = old_design(args.baseline_ref, baseline_dir)
    if old is None:
        print(reason)
    else:
        designs.insert(0, old)

    everything = common.build_corpus(max(args.messages, args.light_messages))
    corpus, light = everything[: args.messages], everything[: args.light_messages]
    warmup = warmup_set()
    service = make_service()
    corpus_outputs, warmup_outputs = outputs_of(service, corpus), outputs_of(service, warmup)
    light_outputs = outputs_of(service, light)
    print(f"in-process decode of {len(corpus):,} messages ({args.rounds} rounds)...")
    local = in_process(service, corpus, args.rounds)
    local["error_output_bytes_per_message"] = error_sizes(service, corpus[:300])

    seeds = iter(range(1, 1_000_000))

    def point(
        design: Design, dedup: str, level: int, rate: float | None, size: int, probe: bool = False
    ) -> Point:
        source, outputs = (corpus, corpus_outputs) if rate is None else (light, light_outputs)
        messages = renamed(source[:size], next(seeds))
        warm = renamed(warmup, next(seeds))
        return Point(
            design,
            dedup,
            dict(DEDUP)[dedup],
            DEPLOYED_CONCURRENCY[design.name] if rate else level,
            rate,
            messages,
            warm,
            expected(messages, outputs[:size]),
            expected(warm, warmup_outputs),
            probe,
        )

    # First, unmeasured, 1,000 messages through each design and dedup mode at 32 concurrent
    # requests, four times: the emulators are JVMs whose first few thousand requests run slower
    # (JIT).
    jvm_warmup = [
        point(design, dedup, 32, None, 1000)
        for _ in range(JVM_WARMUP_RUNS)
        for dedup, _ in DEDUP
        for design in designs
    ]
    # Then the points, in an order that interleaves the designs, so that drift hits both alike;
    # all of them once per round, each round with its own document ids.
    plan = [(dedup, level, None) for dedup, _ in DEDUP for level in levels]
    plan += [(dedup, 0, LIGHT_RATE) for dedup, _ in DEDUP]
    points = [
        point(design, dedup, level, rate, args.messages if rate is None else args.light_messages)
        for _ in range(args.repeats)
        for dedup, level, rate in plan
        for design in designs
    ]
    # Last, the new design's batch sizes (items per RPC), from its counters logged every 0.5 s:
    # a run of its own, since logging at INFO is not what the CPU figures are measured with.
    probes = [
        point(designs[-1], "dedup_firestore", level, None, args.messages, probe=True)
        for level in levels
        if level >= TARGET_CONCURRENCY
    ]
    rows: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    batching: dict[str, Any] = {}
    point_bases: list[float] = []
    try:
        with emulators_running(workdir, args.sdk_root) as (pubsub, firestore):
            emulators = {"pubsub": pubsub, "firestore": firestore}
            for warm_point in jvm_warmup:
                print(f"emulator warm-up, {warm_point.label} (not measured)...")
                run_point(warm_point, emulators, workdir, args.timeout)
            # The baseline just before and just after every point, averaged (see the module);
            # one point's "after" is the next one's "before", as nothing runs in between.
            before = decode_ms(service, corpus)
            for number, point in enumerate(points, 1):
                print(f"[{number}/{len(points)}] {point.label} ({len(point.messages)} messages)...")
                row = run_point(point, emulators, workdir, args.timeout)
                after = decode_ms(service, corpus)
                point_base = (before + after) / 2
                point_bases.append(point_base)
                row["in_process_cpu_ms_per_message"] = round(point_base, 4)
                row["in_process_before_after"] = [round(before, 4), round(after, 4)]
                row["ratio_to_in_process"] = round(row["cpu_ms_per_message"] / point_base, 2)
                print(
                    f"  {row['cpu_ms_per_message']:.3f} ms/msg ({row['ratio_to_in_process']}x), "
                    f"{row['messages_per_second']:.0f} msg/s, p50 {row['latency_ms']['p50']} ms, "
                    f"p99 {row['latency_ms']['p99']} ms, others {row['other_processes_cores']} "
                    "cores" + ("" if row["valid"] else f"  INVALID: {'; '.join(row['problems'])}")
                )
                before = after
                level = "light" if point.rate is not None else str(point.concurrency)
                rows.setdefault((point.design.name, point.dedup, level), []).append(row)
            for probe in probes:
                print(f"batch sizes, {probe.label} (counters logged, CPU not measured)...")
                batching[str(probe.concurrency)] = run_point(
                    probe, emulators, workdir, args.timeout
                )
    except (ServiceUnavailable, RuntimeError) as exc:
        print(f"function benchmark failed: {exc}\nlogs: {workdir}")
        return 1
    finally:
        shutil.rmtree(baseline_dir, ignore_errors=True)
    saturation: dict[str, dict[str, dict[str, Any]]] = {}
    light_load: dict[str, dict[str, Any]] = {}
    for (design_name, dedup, level), values in rows.items():
        row = combine(values)
        if level == "light":
            row["rate_per_second"] = LIGHT_RATE
            light_load.setdefault(design_name, {})[dedup] = row
        else:
            saturation.setdefault(design_name, {}).setdefault(dedup, {})[level] = row
    reference = saturation.get("new", {}).get("dedup_off", {}).get(str(levels[-1]), {})
    result: dict[str, Any] = {
        "benchmark": "function",
        "machine": common.machine(cpus=os.cpu_count(), clock_ticks_per_second=common.CLOCK_TICKS),
        "run": {
            "date": datetime.date.today().isoformat(),
            "wall_seconds": round(time.perf_counter() - began),
            "quick": args.quick,
        },
        "messages": {
            "per_saturation_point": args.messages,
            "per_light_load_point": args.light_messages,
            "rounds_per_point": args.repeats,
            "warmup_per_point": len(warmup),
            "concurrency": list(levels),
            "light_load_rate_per_second": LIGHT_RATE,
        },
        "designs": {
            design.name: {
                "what": design.what,
                "settings_variables_left_out": design.left_out(),
                "deployed_concurrency": DEPLOYED_CONCURRENCY[design.name],
            }
            for design in designs
        },
        "baseline": {"ref": args.baseline_ref, "skipped": reason or None},
        "targets": {
            "concurrency": TARGET_CONCURRENCY,
            "ratio": TARGET_RATIO,
            "goal_ratio": GOAL_RATIO,
            "light_load": "new p50 <= old p50",
        },
        "verdict": {},
        "in_process": {
            **local,
            "decode_ms_per_message_around_points": {
                "median": round(statistics.median(point_bases), 4) if point_bases else None,
                "min": round(min(point_bases), 4) if point_bases else None,
                "max": round(max(point_bases), 4) if point_bases else None,
            },
        },
        "saturation": saturation,
        "light_load": light_load,
        "batching_new_design_firestore": {
            "what": (
                "items per RPC of each batcher of the new design (sink:batch:<topic kind>, "
                "dedup:reads = get_all, dedup:writes = BatchWrite), saturated, from its counters "
                "logged every 0.5 s in a separate run at LOG_LEVEL=INFO"
            ),
            **batching,
        },
        "decoded_bytes_per_input": reference.get("decoded_bytes_per_input"),
        "corpus": corpus_summary(corpus),
        "method": {
            "load": (
                "this process POSTs Pub/Sub push bodies to the function (aiohttp, keep-alive): "
                "saturation = N connections each sending as soon as answered; light load = "
                "100 requests/s paced, at most the design's deployed concurrency in flight"
            ),
            "function_cpu": (
                "utime+stime+cutime+cstime from /proc/<pid>/stat of every process in the "
                "function's process group (gunicorn master + worker), from the first request "
                "to the last answer, per message"
            ),
            "latency": "client side, from sending a request to reading its whole answer",
            "checks": (
                "after each point every output is pulled and counted against the in-process "
                "decoder's outputs for the same messages, and Firestore marks are counted"
            ),
            "processes": (
                "one function process per point, warmed up with one message of every kind; "
                "both emulators and this load generator share the machine's cores"
            ),
        },
    }
    result["verdict"] = verdict(result)
    data, picture = common.save(result, args.output, chart)
    print_table(result)
    print(f"\nresults: {data}, {picture}; {result['run']['wall_seconds']} s")
    print(f"logs of every service: {workdir}")
    invalid = [
        f"{design} {dedup} {level}"
        for design, by_dedup in saturation.items()
        for dedup, rows in by_dedup.items()
        for level, row in rows.items()
        if not row["valid"]
    ] + [
        f"{design} {dedup} light"
        for design, rows in light_load.items()
        for dedup, row in rows.items()
        if not row["valid"]
    ]
    if invalid:
        print(f"INVALID points (something did not arrive): {', '.join(invalid)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
