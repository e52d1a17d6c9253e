"""Every log-based metric of terraform/modules/monitoring against the log lines the code writes.

The decoder function runs for real (service, batched Pub/Sub sink, Firestore dedup rules, outcome
counters, JSON formatter) on fake RPC clients that can be made to fail; its stdout lines become
LogEntries as Cloud Run makes them; each metric's filter (parsed from the HCL with python-hcl2,
its interpolations resolved) and extractors are evaluated with ``logging_query``. So a renamed
counter, a changed line or a filter typo fails here instead of leaving a chart flat.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from logging_query import Unsupported, extract, log_entry, matches
from terraform_config import TERRAFORM, load_config

from ingestion.adapters.dedup import AsyncDedup
from ingestion.adapters.firestore_dedup import FirestoreDedupStore
from ingestion.adapters.pubsub_async import AsyncPubSubSink
from ingestion.adapters.storage.local_bucket import LocalBucket
from ingestion.backfill.http import BackfillHandler
from ingestion.backfill.runner import TaskResult
from ingestion.context import Context, ContextConfig, build_context
from ingestion.core.partitions import Dimension
from ingestion.loader.batches import FlushPolicy
from ingestion.loader.function import LoaderFunction
from ingestion.loader.loader import Loader
from ingestion.loader.targets import WriterTargets
from ingestion.observability import OutcomeCounters
from ingestion.service.async_decoder import AsyncDecoderService
from ingestion.service.batcher import Batcher
from ingestion.service.function import DecoderFunction
from support import BASELINE, json_logs

MONITORING = TERRAFORM / "modules" / "monitoring"
DECODER = "decoder-test"
LOADERS = ("loader-test-decoded", "loader-test-errors")
BACKFILL = "backfill-test"
# The interpolations the filters use besides their own locals, as this test deploys them.
VALUES = {
    "var.decoder.function": DECODER,
    'join("|", values(try(var.loader.functions, {})))': "|".join(LOADERS),
    'try(var.backfill.function, "")': BACKFILL,
}
URI = "/submit/org-example-app/baseline/1/5a3f0e7c-2b8d-4c61-9e0f-7d4b2a1c8e93"


# --- the metrics, from the HCL --------------------------------------------------------------------
def _interpolations(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, expression) of each ``${...}``, braces inside it balanced."""
    start = text.find("${")
    while start != -1:
        depth, position = 0, start + 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            if depth == 0:
                break
            position += 1
        yield start, position + 1, text[start + 2 : position]
        start = text.find("${", position + 1)


def resolve(text: str, locals_: dict[str, Any]) -> str:
    """``text`` with every interpolation replaced: locals recursively, the rest from VALUES."""
    parts, last = [], 0
    for start, end, expression in _interpolations(text):
        if expression.startswith("local.") and expression[6:] in locals_:
            value = resolve(locals_[expression[6:]], locals_)
        elif expression in VALUES:
            value = VALUES[expression]
        else:
            raise AssertionError(f"unknown interpolation ${{{expression}}}: add it to VALUES")
        parts += [text[last:start], value]
        last = end
    return "".join([*parts, text[last:]])


def log_metrics() -> dict[str, dict[str, Any]]:
    config = load_config(MONITORING)
    locals_ = config.locals
    table: dict[str, dict[str, Any]] = {}
    for group in ("decoder_metrics", "loader_metrics", "backfill_metrics"):
        for name, spec in locals_[group].items():
            table[name] = {
                "filter": resolve(spec["filter"], locals_),
                "value": resolve(spec["value"], locals_),
                "labels": {label["key"]: label["extractor"] for label in spec["labels"]},
            }
    assert "${merge(local.decoder_metrics" in locals_["log_metrics"], "log_metrics changed shape"
    return table


METRICS = log_metrics()
DECODER_METRICS = sorted(name for name in METRICS if name.startswith("decoder_"))


# --- the decoder, run for real on fake RPC clients ------------------------------------------------
class FakePublisher:
    """The PublisherAsyncClient call the sink makes; ``failing`` makes every Publish fail."""

    def __init__(self) -> None:
        self.failing = False
        self.published = 0

    async def publish(self, *, topic: str, messages: list[Any], retry: Any, timeout: float) -> Any:
        if self.failing:
            from google.api_core.exceptions import InternalServerError

            raise InternalServerError("publish failed")
        self.published += len(messages)
        return type("Response", (), {"message_ids": [str(i) for i in range(len(messages))]})()


class FakeFirestore:
    """The document calls of the synchronous dedup store, in memory; ``failing`` makes them fail."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.failing = False

    def collection(self, name: str) -> FakeFirestore:
        return self

    def document(self, document_id: str) -> Any:
        store = self

        class Reference:
            def get(self, **options: Any) -> Any:
                store._check()
                data = store.documents.get(document_id)
                snapshot = {"exists": data is not None, "to_dict": lambda _: data}
                return type("Snapshot", (), snapshot)()

            def set(self, data: dict[str, Any], **options: Any) -> None:
                store._check()
                store.documents[document_id] = data

        return Reference()

    def _check(self) -> None:
        if self.failing:
            from google.api_core.exceptions import ServiceUnavailable

            raise ServiceUnavailable("firestore down")


def push(data: bytes, **attributes: str) -> bytes:
    message = {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "1"}
    return json.dumps({"message": message, "subscription": "s"}).encode()


@pytest.fixture(scope="module")
def decoder_run() -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The LogEntries of a decoder run with every outcome, and its final counters."""
    context = build_context(ContextConfig())
    publisher, firestore = FakePublisher(), FakeFirestore()
    sink = AsyncPubSubSink(
        publisher, Batcher, project="test-project", decoded_topic="decoded", error_topic="errors"
    )
    dedup = AsyncDedup(FirestoreDedupStore(firestore, clock=lambda: datetime.now(UTC)))

    async def current() -> Context:
        return context

    service = AsyncDecoderService(current, sink, dedup, counters=OutcomeCounters(interval=0))
    function = DecoderFunction(service, {"sink": sink, "dedup": dedup})
    valid = push(json.dumps(BASELINE).encode(), uri=URI)

    async def requests() -> None:
        await function.handle(valid, {})  # decoded, dedup miss and mark
        await function.handle(valid, {})  # Duplicate, dedup hit
        await function.handle(push(b"{}", uri="/nonsense"), {})  # ParseUri
        firestore.failing = True
        await function.handle(push(b"{}", uri=URI.replace("5a3f", "6b4e")), {})  # read failed
        firestore.failing, publisher.failing = False, True
        await function.handle(push(json.dumps(BASELINE).encode(), uri=URI.replace("5a", "7c")), {})
        publisher.failing = False
        await function.handle(push(json.dumps(BASELINE).encode(), uri=URI.replace("5a", "8d")), {})

    with json_logs("ingestion.decoder") as stream:
        asyncio.run(requests())
    entries = [log_entry(line, DECODER) for line in stream.getvalue().splitlines()]
    counters = {**service.counters.snapshot(), **function._adapter_counters()}
    return entries, counters


def _sums(metric: str, entries: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], int]:
    """The metric's value summed per label set, as Cloud Monitoring would count it."""
    spec = METRICS[metric]
    sums: collections.Counter[tuple[tuple[str, str], ...]] = collections.Counter()
    for entry in entries:
        if not matches(spec["filter"], entry):
            continue
        labels = tuple(
            (key, extract(extractor, entry) or "") for key, extractor in spec["labels"].items()
        )
        value = extract(spec["value"], entry) if spec["value"] else "1"
        assert value is not None and value.isdigit(), (metric, entry)
        sums[labels] += int(value)
    return dict(sums)


# --- the checks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", DECODER_METRICS)
def test_every_decoder_metric_counts_lines_the_decoder_writes(metric, decoder_run):
    entries, _ = decoder_run
    assert _sums(metric, entries), f"{metric}: its filter matches none of the decoder's lines"


def test_the_outcome_metric_adds_up_to_the_decoder_counters(decoder_run):
    entries, counters = decoder_run
    sums = _sums("decoder_messages", entries)
    expected = {
        # The request whose publish failed counts as a retry, not as input: it comes back.
        (("outcome", "input"), ("error_type", "")): 5,
        (("outcome", "decoded"), ("error_type", "")): 2,
        (("outcome", "error"), ("error_type", "Duplicate")): 1,
        (("outcome", "error"), ("error_type", "ParseUri")): 1,
        (("outcome", "error"), ("error_type", "ParsePayload")): 1,
        (("outcome", "retry"), ("error_type", "")): 1,
    }
    assert sums == expected
    # The lines add up to what the counters say.
    for (outcome, error_type), value in expected.items():
        key = f"error:{error_type[1]}" if outcome[1] == "error" else outcome[1]
        assert counters[key] == value, key


def test_dedup_publish_and_failure_metrics_carry_their_labels(decoder_run):
    entries, counters = decoder_run
    sums = _sums("decoder_dedup", entries)
    dedup = {dict(labels)["result"]: value for labels, value in sums.items()}
    assert dedup["hits"] == 1 and dedup["read_failed"] == 1
    assert dedup["hits"] == counters["dedup:counts:hits"]
    published = _sums("decoder_published", entries)
    assert {dict(labels)["kind"] for labels in published} == {"decoded", "error"}
    failures = _sums("decoder_delivery_failures", entries)
    assert failures == {(("kind", "decoded"),): counters["sink:batch:decoded:items_failed"]}


def test_each_count_line_is_counted_once_and_nothing_else_is(decoder_run):
    entries, _ = decoder_run
    for entry in entries:
        counted_by = [m for m in DECODER_METRICS if matches(METRICS[m]["filter"], entry)]
        if entry["jsonPayload"]["message"] == "decoder count":
            assert len(counted_by) == 1, (entry, counted_by)
        else:  # the cumulative counters line, rejections...: never summed
            assert counted_by == [], (entry, counted_by)


def test_another_services_lines_are_not_counted(decoder_run):
    entries, _ = decoder_run
    for entry in entries:
        moved = {**entry, "resource": {**entry["resource"], "labels": {"service_name": "other"}}}
        assert not any(matches(METRICS[m]["filter"], moved) for m in METRICS)


@dataclasses.dataclass(frozen=True)
class _Writer:
    bucket: str = "data"
    prefix: str = "telemetry"
    dimensions: tuple[Dimension, ...] = (Dimension("document_type"),)
    version: str = "1"


class _OneWriter:
    def writer(self, name: str) -> _Writer:
        return _Writer()

    def writer_version(self, name: str) -> str:
        return "1"


def test_the_loader_metrics_count_the_lines_the_loader_function_writes(tmp_path):
    """The loader function over a local bucket: 3 messages in 2 partitions, then the counters."""

    async def requests() -> dict[str, int]:
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(2)
        targets = WriterTargets(
            _OneWriter(),
            "demo",
            recheck_seconds=3600,
            run_blocking=lambda call: loop.run_in_executor(executor, call),
        )
        loader = Loader(
            targets,
            lambda name: LocalBucket(tmp_path / name),
            executor,
            policy=FlushPolicy(max_age_seconds=0.01),
        )
        function = LoaderFunction(loader, counters_interval=0)
        bodies = [push(b"{}", document_type=doctype) for doctype in ("main", "main", "event")]
        answers = await asyncio.gather(*(function.handle(body, {}) for body in bodies))
        assert [status for status, _ in answers] == [204, 204, 204]
        await function.handle(push(b"{}", document_type="main"), {})  # logs what moved since
        await loader.close()
        executor.shutdown()
        return loader.counter_values()

    with json_logs("ingestion.loader") as stream:
        counters = asyncio.run(requests())
    entries = [log_entry(line, LOADERS[0]) for line in stream.getvalue().splitlines()]
    messages = {
        dict(labels)["result"]: value for labels, value in _sums("loader_messages", entries).items()
    }
    assert messages["written"] == counters["messages_written"] >= 3
    objects = {
        dict(labels)["result"]: value for labels, value in _sums("loader_objects", entries).items()
    }
    assert objects["written"] == counters["batches_written"] >= 2
    (written_bytes,) = _sums("loader_bytes", entries).values()
    assert written_bytes == counters["object_bytes_written"] > 0


class _Chunks:
    """Chunk tasks ending as given (the backfill's service, as far as the handler sees it)."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes

    def run_chunk(self, run_id: str, chunk_id: str) -> TaskResult:
        return TaskResult(self.outcomes.pop(0))


def test_the_backfill_metric_counts_the_lines_the_chunk_handler_writes():
    handler = BackfillHandler(_Chunks(["done", "failed", "yielded", "done"]))  # type: ignore[arg-type]
    with json_logs("ingestion.backfill") as stream:
        for number in range(4):
            status, _ = handler.handle("POST", f"/backfills/run-1/chunks/{number:024x}", b"")
            assert status == 200
    entries = [log_entry(line, BACKFILL) for line in stream.getvalue().splitlines()]
    assert _sums("backfill_chunks", entries) == {
        (("state", "done"),): 2,
        (("state", "failed"),): 1,
        (("state", "yielded"),): 1,
    }


# --- the query subset itself ----------------------------------------------------------------------
ENTRY = {"jsonPayload": {"message": "Decoder count", "count": 3}, "severity": "INFO"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('jsonPayload.message="Decoder count"', True),
        ('jsonPayload.message="decoder count"', False),
        ('jsonPayload.message:"decoder"', True),
        ("jsonPayload.count=3 AND severity=INFO", True),
        ("jsonPayload.count=3 severity=ERROR", False),  # side by side: AND
        ("severity=ERROR AND jsonPayload.count=3 OR jsonPayload.count=4", False),  # OR first
        ("severity=INFO AND jsonPayload.count=4 OR jsonPayload.count=3", True),
        ("NOT severity=ERROR", True),
        ('jsonPayload.missing="x"', False),
        ('jsonPayload.missing!="x"', True),
        ('jsonPayload.message=~"^Decoder (count|counters)$"', True),
        ('jsonPayload.message!~"count"', False),
        ("(severity=ERROR OR severity=INFO) AND NOT jsonPayload.count=4", True),
    ],
)
def test_the_query_subset(query: str, expected: bool) -> None:
    assert matches(query, ENTRY) is expected


@pytest.mark.parametrize("query", ['"bare text"', "severity>=ERROR", "jsonPayload.message=("])
def test_queries_outside_the_subset_are_refused(query: str) -> None:
    with pytest.raises(Unsupported):
        matches(query, ENTRY)


def test_extractors() -> None:
    entry = {"jsonPayload": {"counter": "error:ParseUri", "count": 3}}
    error_type = 'REGEXP_EXTRACT(jsonPayload.counter, "^error:([A-Za-z]+)$")'
    assert extract(error_type, entry) == "ParseUri"
    assert extract('REGEXP_EXTRACT(jsonPayload.counter, "^dedup:(.+)$")', entry) == ""
    assert extract("EXTRACT(jsonPayload.count)", entry) == "3"
    assert extract("EXTRACT(jsonPayload.none)", entry) is None
