"""The decoder function end to end on this machine: messages/s and CPU per message, against the
in-process decoder on the same messages.

Starts the official Pub/Sub and Firestore emulators and the ``decode`` function under
functions-framework (gunicorn: one master, one worker process with ``THREADS`` request threads),
creates the local topology (``ingestion.local.topology``: a raw topic with a push subscription to
the function plus decoded and error topics with pull subscriptions), and publishes the corpus of
``bench/common.py`` (real pings from ``../shared`` with edge attributes, 92.5 % gzipped). Two
configurations, Firestore dedup (the default) and ``DEDUP_BACKEND=off``, each run
``--e2e-rounds`` times alternately (median reported, every round kept), each run with its own
function process and topics. A run first pushes one message of every
kind through the function (cold start, schema compilation, client channels), then measures:

- wall time from the first publish until every input's uri was seen on the decoded or error topic
  (pulled and acknowledged as they arrive; polling every 50 ms);
- CPU seconds (user + sys) of the function's process group: for every process whose process
  group is the function's (``start_new_session``, so the gunicorn master and its worker), fields
  14-17 of ``/proc/<pid>/stat`` (utime, stime, and cutime, cstime for children already reaped),
  in clock ticks, read before the first publish and after the last output arrived. All threads of
  a process are in its utime/stime. The same for each emulator's process group, for this
  process (``getrusage``: publishing and pulling) and for the whole machine (``/proc/stat``).

In the same invocation, as baselines on the same messages:

- ``DecoderService.decode`` in this process (one thread, warm, median of ``--rounds``), and
  ``decode`` followed by the sink's output preparation (``PubSubSink.prepare``: gzip level 1 and
  attributes, no publishing), before the emulators start;
- ``DecoderFunction.handle`` called directly on push bodies, one at a time, with its real sink and
  dedup store against the emulators: the function minus gunicorn, Flask and the push;
- the function's ``PubSubSink`` alone: one ``deliver`` per input message (what a request does)
  against one ``deliver`` for all of them (batches of up to 100), to show what publishing a few
  messages per request costs in the client library.

The ratio function CPU / in-process decode CPU per message is the cost of everything the function
adds: HTTP and the push envelope, output encoding, publishing through the client library,
Firestore reads and writes, threads.

Everything shares this machine's cores: the emulators are JVMs that do real work per message
(push, publish, pull, Firestore), so wall-clock messages/s here is bounded by the machine, not by
the function; the function's CPU per message is the number that carries over to a deployment.

Writes ``bench/results/function.json`` and ``bench/results/function.png``. Exits 1 with a reason
when ``../shared`` (the corpus), the emulators or functions-framework are missing. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import gzip
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import common

from ingestion import pipeline
from ingestion.adapters.pubsub_sink import PubSubSink
from ingestion.context import build_context
from ingestion.core.message import Message
from ingestion.entrypoints.decoder_function import build, pubsub_sink
from ingestion.local.services import (
    DEFAULT_SDK_ROOT,
    LocalService,
    ServiceUnavailable,
    firestore_emulator,
    pubsub_emulator,
    running,
)
from ingestion.local.topology import (
    Topics,
    Topology,
    decoder_function,
    emulators_running,
    function_environment,
    push_body,
)
from ingestion.resources.validators import DEFAULT_ENGINE
from ingestion.service.decoder import DecoderService, duplicate_error
from ingestion.settings import DecoderSettings

PROJECT = "bench-project"
INPUT_NAME = f"projects/{PROJECT}/subscriptions/decoder-raw-push"
POLL_SECONDS = 0.05
# (label in the results, DEDUP_BACKEND)
RUNS: tuple[tuple[str, str], ...] = (("dedup_off", "off"), ("dedup_firestore", "firestore"))
RUNS_LABELS = [label for label, _ in RUNS]

# Non-blocking pulls use the emulator's return_immediately, which the client deprecates.
warnings.filterwarnings("ignore", message="The return_immediately flag is deprecated")


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


def make_service() -> DecoderService:
    """The decoder on the resources the function is given (same schemas, GeoIP test databases)."""
    context = build_context(common.resources(DEFAULT_ENGINE))
    return DecoderService(context, sink=None)  # type: ignore[arg-type]


def expected_uris(service: DecoderService, messages: Sequence[Message]) -> set[str]:
    """Uris of the inputs that give at least one output (a scrubber drop gives none)."""
    uris = set()
    for message in messages:
        outcome = service.decode(message)
        if outcome.decoded or outcome.errors:
            uris.add(message.attributes["uri"])
    return uris


def in_process(service: DecoderService, corpus: list[Message], rounds: int) -> dict[str, Any]:
    sink = PubSubSink(None, project=PROJECT)  # type: ignore[arg-type]  # prepare() only
    outcomes = {"decoded": 0, "errors": 0, "dropped": 0}
    decoded_out = [0, 0]
    for message in corpus:  # the first pass also compiles every schema it meets
        outcome = service.decode(message)
        outcomes["decoded"] += len(outcome.decoded)
        outcomes["errors"] += len(outcome.errors)
        outcomes["dropped"] += len(outcome.dropped)
        for item in sink.prepare(outcome.decoded, []):
            data, attributes = message_bytes(item.data, item.attributes)
            decoded_out[0] += data
            decoded_out[1] += attributes

    def decode_only() -> None:
        for message in corpus:
            service.decode(message)

    def decode_and_prepare() -> None:
        for message in corpus:
            outcome = service.decode(message)
            sink.prepare(outcome.decoded, outcome.errors)

    gc.collect()  # no gc.freeze(): the function does not freeze either (it made no difference)
    times: dict[str, list[float]] = {"decode": [], "decode_and_prepare": []}
    for _ in range(rounds):  # interleaved, so a noisy neighbour slows both alike
        for name, fn in (("decode", decode_only), ("decode_and_prepare", decode_and_prepare)):
            times[name].append(common.cpu_seconds(fn))
    size = len(corpus)
    result: dict[str, Any] = {
        "what": "DecoderService.decode on one thread, warm; CPU time of this process",
        "engine": DEFAULT_ENGINE,
        "rounds": rounds,
        "outcomes": outcomes,
    }
    for name, values in times.items():
        seconds = statistics.median(values)
        result[name] = {
            "cpu_seconds": round(seconds, 4),
            "cpu_ms_per_message": common.ms_per_message(seconds, size),
            "messages_per_second": common.messages_per_second(size, seconds),
            "cpu_seconds_per_round": [round(v, 4) for v in values],
        }
    result["decode_and_prepare"]["what"] = (
        "decode, then PubSubSink.prepare (gzip level 1 of each output, attributes); no publishing"
    )
    result["decoded_output_bytes"] = {"data": decoded_out[0], "attributes": decoded_out[1]}
    return result


def error_sizes(service: DecoderService, corpus: list[Message]) -> dict[str, Any]:
    """Average sizes of error outputs for the corpus's messages, as the function publishes them.

    A duplicate is metadata only (empty payload). A rejection carries its payload as ParsePayload
    saw it (decompressed, D-43), gzipped at level 1 on the error topic; for its attributes each
    message is decoded once more with a payload no schema accepts.
    """
    sink = PubSubSink(None, project=PROJECT, input_name=INPUT_NAME)  # type: ignore[arg-type]
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
        if raw[:2] == b"\x1f\x8b":  # an error carries the payload as ParsePayload saw it
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


# --- what arrived --------------------------------------------------------------------------------
class Tally:
    """What arrived on the decoded and error topics: uris seen, counts and sizes."""

    def __init__(self) -> None:
        self.uris: set[str] = set()
        self.counts = {"decoded": 0, "error": 0, "duplicates": 0}
        self.data_bytes = {"decoded": 0, "error": 0}
        self.attribute_bytes = {"decoded": 0, "error": 0}
        self.billable_bytes_1kb_minimum = {"decoded": 0, "error": 0}

    def add(self, kind: str, messages: list[Any]) -> None:
        for message in messages:
            attributes = dict(message.attributes)
            data, attribute_bytes = message_bytes(message.data, attributes)
            self.counts[kind] += 1
            self.data_bytes[kind] += data
            self.attribute_bytes[kind] += attribute_bytes
            self.billable_bytes_1kb_minimum[kind] += max(1000, data + attribute_bytes)
            if attributes.get("error_type") == "Duplicate":
                self.counts["duplicates"] += 1
            if "uri" in attributes:
                self.uris.add(attributes["uri"])


def collect_until(
    topics: Topics, tally: Tally, wanted: set[str], timeout: float, stop: Callable[[], bool]
) -> bool:
    """Pull both topics until every wanted uri was seen; False on timeout or ``stop()``."""
    deadline = time.monotonic() + timeout
    while not wanted <= tally.uris:
        if time.monotonic() > deadline or stop():
            return False
        arrived = 0
        for kind in ("decoded", "error"):
            messages = topics.pull(kind)
            tally.add(kind, messages)
            arrived += len(messages)
        if not arrived:
            time.sleep(POLL_SECONDS)
    return True


# --- the function's topics and environment -----------------------------------------------------
def new_topics(label: str) -> Topics:
    """A raw, a decoded and an error topic (no debug topic), named for this run only."""
    return Topics(Topology.unique(PROJECT, label.replace("_", "-"), debug=False))


def function_env(topics: Topics, dedup_backend: str, collection: str) -> dict[str, str]:
    """The function's environment: the in-process decoder's resources, a dedup collection."""
    return function_environment(
        topics.topology,
        **dataclasses.asdict(common.resources(DEFAULT_ENGINE)),
        dedup_backend=dedup_backend,
        dedup_collection=collection,
        input_name=INPUT_NAME,
        job_name="decoder-bench",
        log_level="WARNING",
    )


# --- one end-to-end run -------------------------------------------------------------------------
def count_documents(collection: str) -> int | None:
    from google.cloud import firestore

    try:
        result = firestore.Client(project=PROJECT).collection(collection).count().get()
        return int(result[0][0].value)
    except Exception as exc:  # a count is a nice-to-have; the run's numbers stand without it
        print(f"  (could not count Firestore documents: {exc})", file=sys.stderr)
        return None


def run_function(
    label: str,
    dedup_backend: str,
    emulators: dict[str, LocalService],
    corpus: list[Message],
    warmup: list[Message],
    wanted: set[str],
    warmup_wanted: set[str],
    workdir: Path,
    timeout: float,
) -> dict[str, Any]:
    topics = new_topics(label)
    collection = f"bench-dedup-{uuid.uuid4().hex[:8]}"
    function = decoder_function(workdir / label, function_env(topics, dedup_backend, collection))
    with running(function):
        assert function.process is not None
        topics.push_to(function)
        started = time.perf_counter()
        for future in topics.publish(warmup):
            future.result()
        if not collect_until(topics, Tally(), warmup_wanted, timeout, lambda: not function.running):
            raise RuntimeError(f"{label}: warm-up did not complete; see {function.log_path}")
        warmup_seconds = time.perf_counter() - started
        time.sleep(1.0)  # let the warm-up's stragglers (acks, batch threads) settle

        groups = {"function": function.process.pid}
        groups.update({name: service.process.pid for name, service in emulators.items()})  # type: ignore[union-attr]
        meter = common.CpuMeter(groups)
        tally = Tally()
        meter.start()
        with common.Stopwatch() as watch:
            futures = topics.publish(corpus)
            complete = collect_until(topics, tally, wanted, timeout, lambda: not function.running)
        wall = watch.wall
        cpu = meter.stop()
        publish_failures = sum(1 for f in futures if f.exception(timeout=60) is not None)
        rss = common.group_rss_mib(function.process.pid)
        documents = count_documents(collection) if dedup_backend == "firestore" else None
        if not complete:
            raise RuntimeError(
                f"{label}: {len(wanted - tally.uris)} of {len(wanted)} inputs not accounted for "
                f"after {wall:.0f} s; see {function.log_path}"
            )
    size = len(corpus)
    return {
        "dedup_backend": dedup_backend,
        "threads": int(os.environ.get("THREADS", (os.cpu_count() or 1) * 4)),
        "warmup": {"messages": len(warmup), "wall_seconds": round(warmup_seconds, 2)},
        "wall_seconds": round(wall, 3),
        "messages_per_second": common.messages_per_second(size, wall),
        "cpu_seconds": cpu,
        "function_cpu_ms_per_message": common.ms_per_message(cpu["function"], size),
        "cpu_ms_per_message": {name: common.ms_per_message(v, size) for name, v in cpu.items()},
        "machine_busy_cores": round(cpu["machine_busy"] / wall, 2),
        "function_rss_mib": round(rss, 1),
        "outputs": {**tally.counts, "inputs_accounted_for": len(wanted & tally.uris)},
        "output_bytes": {
            "data": tally.data_bytes,
            "attributes": tally.attribute_bytes,
            "billable_with_1kb_minimum_per_message": tally.billable_bytes_1kb_minimum,
        },
        "publish_failures": publish_failures,
        "firestore_documents_after_run": documents,
    }


def publishing_in_process(service: DecoderService, corpus: list[Message]) -> dict[str, Any]:
    """The function's sink alone: one ``deliver`` per input (as one request does) vs one for all.

    Both include preparing the outputs (gzip, attributes); the difference is what publishing a
    request's few messages on their own costs in the client library (a batch, a commit thread and
    a Publish RPC each) against sharing batches of up to 100.
    """
    topics = new_topics("publish")
    sink = pubsub_sink(DecoderSettings.from_environ(function_env(topics, "off", "unused")))
    outcomes = [service.decode(message) for message in corpus]
    sink.deliver(outcomes[0].decoded, [])  # channel and topic warm
    result: dict[str, Any] = {"messages": len(corpus)}
    for name, batches in (
        ("one_deliver_per_message", [outcome.decoded for outcome in outcomes]),
        ("one_deliver_for_all", [[d for outcome in outcomes for d in outcome.decoded]]),
    ):
        with common.Stopwatch() as watch:
            for decoded in batches:
                sink.deliver(decoded, [])
        result[name] = {
            "cpu_ms_per_message": common.ms_per_message(watch.cpu, len(corpus)),
            "wall_ms_per_message": common.ms_per_message(watch.wall, len(corpus), 3),
        }
    with contextlib.suppress(Exception):
        sink.publisher.stop()  # type: ignore[attr-defined]
    return result


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of one configuration; every round is kept under ``rounds``."""
    median = common.median
    last = rounds[-1]
    return {
        "dedup_backend": last["dedup_backend"],
        "threads": last["threads"],
        "wall_seconds": median(r["wall_seconds"] for r in rounds),
        "messages_per_second": median(r["messages_per_second"] for r in rounds),
        "function_cpu_ms_per_message": median(r["function_cpu_ms_per_message"] for r in rounds),
        "cpu_ms_per_message": {
            part: median(r["cpu_ms_per_message"][part] for r in rounds)
            for part in last["cpu_ms_per_message"]
        },
        "machine_busy_cores": median(r["machine_busy_cores"] for r in rounds),
        "function_rss_mib": max(r["function_rss_mib"] for r in rounds),
        "publish_failures": sum(r["publish_failures"] for r in rounds),
        "outputs": last["outputs"],
        "output_bytes": last["output_bytes"],
        "firestore_documents_after_run": last["firestore_documents_after_run"],
        "rounds": rounds,
    }


# --- the function's handler in this process, without HTTP --------------------------------------
def handler_in_process(
    dedup_backend: str, corpus: list[Message], warmup: list[Message]
) -> dict[str, Any]:
    """``DecoderFunction.handle`` called directly, one request at a time, on one thread.

    The same object the function serves (its sink publishes to the emulator, its dedup store talks
    to the Firestore emulator), minus gunicorn, Flask and the push itself: the difference to the
    end-to-end run is what the HTTP server costs. CPU is this whole process's, so the publisher
    client's and gRPC's background threads count, as they do in the function.
    """
    topics = new_topics(f"handler-{dedup_backend}")
    collection = f"bench-handler-{uuid.uuid4().hex[:8]}"
    function = build(DecoderSettings.from_environ(function_env(topics, dedup_backend, collection)))

    def body(message: Message, message_id: int) -> bytes:
        subscription = topics.topology.push_subscription
        return json.dumps(push_body(message, str(message_id), subscription)).encode()

    for index, message in enumerate(warmup):
        function.handle(body(message, index), {})
    bodies = [body(message, index) for index, message in enumerate(corpus, 10_000)]
    with common.Stopwatch() as watch:
        statuses = [function.handle(request, {})[0] for request in bodies]
    with contextlib.suppress(Exception):
        function.service.sink.publisher.stop()  # type: ignore[attr-defined]
    return {
        "dedup_backend": dedup_backend,
        "messages": len(bodies),
        "non_2xx": sum(1 for status in statuses if not 200 <= status < 300),
        "cpu_seconds": round(watch.cpu, 3),
        "cpu_ms_per_message": common.ms_per_message(watch.cpu, len(bodies)),
        "wall_ms_per_message": common.ms_per_message(watch.wall, len(bodies), 3),
    }


# --- results ------------------------------------------------------------------------------------
def corpus_summary(corpus: list[Message], warmup: list[Message]) -> dict[str, Any]:
    sizes = [message_bytes(m.payload, m.attributes) for m in corpus]
    data = sum(s[0] for s in sizes)
    attributes = sum(s[1] for s in sizes)
    return {
        "messages": len(corpus),
        "warmup_messages": len(warmup),
        "builder": "bench/common.py build_corpus(messages, seed=7)",
        "gzip_share": common.GZIP_SHARE,
        "raw_data_bytes": data,
        "raw_attribute_bytes": attributes,
        "raw_average_message_bytes": round((data + attributes) / len(corpus), 1),
        "raw_billable_bytes_with_1kb_minimum": sum(max(1000, d + a) for d, a in sizes),
        "uris": len({m.attributes["uri"] for m in corpus}),
    }


def chart(result: dict[str, Any], path: Path) -> None:
    local = result["in_process"]
    handler = result["handler_in_process"]
    runs = result["runs"]
    bars_spec = [
        ("in-process\ndecode", local["decode"]["cpu_ms_per_message"], "#999999"),
        ("+ output\nencoding", local["decode_and_prepare"]["cpu_ms_per_message"], "#bbbbbb"),
        ("handler, no HTTP\n(dedup off)", handler["dedup_off"]["cpu_ms_per_message"], "#aec7e8"),
        (
            "handler, no HTTP\n(Firestore)",
            handler["dedup_firestore"]["cpu_ms_per_message"],
            "#ffbb78",
        ),
        ("function\n(dedup off)", runs["dedup_off"]["function_cpu_ms_per_message"], "#1f77b4"),
        (
            "function\n(Firestore dedup)",
            runs["dedup_firestore"]["function_cpu_ms_per_message"],
            "#ff7f0e",
        ),
    ]
    names = [name for name, _, _ in bars_spec]
    values = [value for _, value, _ in bars_spec]
    with common.figure(path, 2, figsize=(14, 5), width_ratios=[3, 2]) as (_, (left, right)):
        bars = left.bar(names, values, color=[color for _, _, color in bars_spec])
        left.tick_params(axis="x", labelsize="small")
        base = values[0]
        labels = [f"{value:.2f} ms\n{value / base:.2f}x" for value in values]
        common.label_bars(left, bars, labels)
        left.set_ylabel("CPU ms per input message")
        left.set_ylim(0, max(values) * 1.25)
        left.set_title(f"Decoder CPU per message ({result['corpus']['messages']:,} msgs, mix)")

        parts = [("function", "#1f77b4"), ("pubsub", "#2ca02c"), ("firestore", "#d62728")]
        parts.append(("bench_client", "#9467bd"))
        columns = ["dedup off", "Firestore dedup"]
        bottoms = [0.0, 0.0]
        for part, color in parts:
            heights = [runs[name]["cpu_ms_per_message"][part] for name in RUNS_LABELS]
            right.bar(columns, heights, bottom=bottoms, color=color, label=part.replace("_", " "))
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        for index, name in enumerate(RUNS_LABELS):
            right.annotate(
                f"{runs[name]['messages_per_second']:,.0f} msg/s wall",
                (index, bottoms[index]),
                ha="center",
                va="bottom",
            )
        right.set_ylim(0, max(bottoms) * 1.2)
        right.set_ylabel("CPU ms per input message, by process")
        right.set_title(f"Who uses the {result['machine']['cpus']} cores end to end (medians)")
        right.legend(loc="upper left", fontsize="small")


def print_table(result: dict[str, Any]) -> None:
    local, publishing = result["in_process"], result["publishing_in_process"]
    rows: list[tuple[str, float | None, float]] = []  # (name, messages/s or None, CPU ms/msg)
    for name, key in (
        ("in-process decode", "decode"),
        ("  + output encoding", "decode_and_prepare"),
    ):
        rows.append((name, local[key]["messages_per_second"], local[key]["cpu_ms_per_message"]))
    for label in RUNS_LABELS:
        handler = result["handler_in_process"][label]
        rows.append(
            (f"handler, no HTTP, {label.replace('_', ' ')}", None, handler["cpu_ms_per_message"])
        )
    for name, key in (
        ("sink alone, 1 deliver per message", "one_deliver_per_message"),
        ("sink alone, 1 deliver for all", "one_deliver_for_all"),
    ):
        rows.append((name, None, publishing[key]["cpu_ms_per_message"]))
    for label in RUNS_LABELS:
        run = result["runs"][label]
        name = f"function, {label.replace('_', ' ')} (wall)"
        rows.append((name, run["messages_per_second"], run["function_cpu_ms_per_message"]))
    base = rows[0][2]
    print(f"\n{'':<34} {'msg/s':>9} {'CPU ms/msg':>11} {'x in-proc':>10}")
    for name, rate, ms in rows:
        shown = f"{rate:>9,.0f}" if rate is not None else f"{'':>9}"
        print(f"{name:<34} {shown} {ms:>11.3f} {ms / base:>10.2f}")
    print("\nCPU ms per message by process (end-to-end runs):")
    print(f"{'':<18} {'function':>9} {'pubsub':>8} {'firestore':>10} {'client':>8} {'busy':>6}")
    for label in RUNS_LABELS:
        per = result["runs"][label]["cpu_ms_per_message"]
        busy = result["runs"][label]["machine_busy_cores"]
        print(
            f"{label:<18} {per['function']:>9.3f} {per['pubsub']:>8.3f} {per['firestore']:>10.3f}"
            f" {per['bench_client']:>8.3f} {busy:>5.2f}c"
        )


def missing_prerequisite(sdk_root: Path, workdir: Path) -> str | None:
    problem = common.corpus_unavailable()
    if problem:
        return problem
    for module in ("functions_framework", "google.cloud.pubsub_v1", "google.cloud.firestore"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install -e '.[gcp]'"
    try:
        pubsub_emulator(workdir, sdk_root), firestore_emulator(workdir, sdk_root)
    except ServiceUnavailable as exc:
        return f"emulators unavailable: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="in-process rounds (median)")
    parser.add_argument(
        "--handler-messages",
        type=int,
        default=500,
        help="messages for the handler-only and publishing-only runs",
    )
    parser.add_argument(
        "--e2e-rounds", type=int, default=2, help="end-to-end runs per configuration (median)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per end-to-end run")
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    parser.add_argument("--sdk-root", type=Path, default=DEFAULT_SDK_ROOT)
    parser.add_argument("--workdir", type=Path, default=None, help="logs of every service")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingestion-bench-function-"))
    workdir.mkdir(parents=True, exist_ok=True)
    problem = missing_prerequisite(args.sdk_root, workdir)
    if problem:
        print(f"cannot run the function benchmark: {problem}")
        return 1

    corpus = common.build_corpus(args.messages)
    warmup = warmup_set()
    service = make_service()
    wanted, warmup_wanted = expected_uris(service, corpus), expected_uris(service, warmup)
    print(f"in-process decode of {len(corpus):,} messages ({args.rounds} rounds)...")
    local = in_process(service, corpus, args.rounds)
    local["error_output_bytes_per_message"] = error_sizes(service, corpus)
    handler: dict[str, Any] = {}
    try:
        with emulators_running(workdir, args.sdk_root) as (pubsub, firestore):
            emulators = {"pubsub": pubsub, "firestore": firestore}
            for label, backend in RUNS:
                print(f"handler in this process, DEDUP_BACKEND={backend}...")
                handler[label] = handler_in_process(
                    backend, corpus[: args.handler_messages], warmup
                )
            print("publishing alone, per request vs batched...")
            publishing = publishing_in_process(service, corpus[: args.handler_messages])
            rounds: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in RUNS}
            for index in range(args.e2e_rounds):  # alternating: JVM warm-up is spread over both
                for label, backend in RUNS:
                    print(f"end to end, DEDUP_BACKEND={backend}, round {index + 1}...")
                    rounds[label].append(
                        run_function(
                            f"{label}_{index + 1}",
                            backend,
                            emulators,
                            corpus,
                            warmup,
                            wanted,
                            warmup_wanted,
                            workdir,
                            args.timeout,
                        )
                    )
            runs = {label: summarise(values) for label, values in rounds.items()}
    except (ServiceUnavailable, RuntimeError) as exc:
        print(f"function benchmark failed: {exc}\nlogs: {workdir}")
        return 1
    base = local["decode"]["cpu_ms_per_message"]
    for row in handler.values():
        row["ratio_to_in_process_decode"] = round(row["cpu_ms_per_message"] / base, 3)
    for run in runs.values():
        run["ratio_to_in_process_decode"] = round(run["function_cpu_ms_per_message"] / base, 3)
        run["ratio_to_in_process_decode_and_prepare"] = round(
            run["function_cpu_ms_per_message"] / local["decode_and_prepare"]["cpu_ms_per_message"],
            3,
        )
    result = {
        "benchmark": "function",
        "machine": common.machine(cpus=os.cpu_count(), clock_ticks_per_second=common.CLOCK_TICKS),
        "corpus": corpus_summary(corpus, warmup),
        "method": {
            "wall": "first publish until every input uri was seen on the decoded or error topic",
            "function_cpu": (
                "utime+stime+cutime+cstime from /proc/<pid>/stat of every process in the "
                "function's process group (gunicorn master + worker), after minus before"
            ),
            "emulator_cpu": "the same for each emulator's process group (one JVM each)",
            "bench_client_cpu": "getrusage(RUSAGE_SELF) of this process: publishing and pulling",
            "machine_busy": "/proc/stat, all cores, not idle or iowait",
            "shared_cores": (
                "the function, both emulators and this client share the machine's cores, so "
                "wall-clock messages/s is a bound of this machine, not of the function"
            ),
        },
        "in_process": local,
        "handler_in_process": handler,
        "publishing_in_process": publishing,
        "runs": runs,
    }
    data, picture = common.save(result, args.output, chart)
    print_table(result)
    print(f"\nresults: {data}, {picture}")
    print(f"logs of every service: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
