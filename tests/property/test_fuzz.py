"""Fuzzing the two ways in: thousands of mutated real messages through ``ingestion decode`` (as
files, in process) and mutated push requests through the function's handler.

Seeds are the project's sample raw messages (valid pings, a stub ping, bad ones). Each mutation
is one of the hostile inputs a stranger might send: flipped, cut or inserted bytes, broken base64,
attribute maps of the wrong type or with hundreds of entries, namespaces and docTypes respelled,
replayed metadata carrying client IPs, documents nested deeper than any writer, duplicate keys,
gzip that is damaged or a bomb. Every input carries client IPs in its IP attributes. Asserted for
every run: no traceback, every input accounted for (decoded, error or dropped), no client IP in
any output or log line, and memory that stops growing once the caches are full.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import logging
import random
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from ingestion.cli import main as cli_main
from ingestion.context import Context, ContextConfig, build_context
from ingestion.core.lines import message_from_line
from ingestion.core.message import Message
from ingestion.local.demo_geoip import build_demo_city_db, build_demo_isp_db
from ingestion.observability import JsonFormatter, OutcomeCounters
from ingestion.service.async_decoder import AsyncDecoderService
from ingestion.service.function import OK, DecoderFunction

SAMPLES = REPO / "samples" / "raw-messages.ndjson"
CLIENT_IPS = ("203.0.113.77", "198.51.100.23", "2001:db8:dead::beef")
# Carried inside replayed payloads: never restored as an attribute, never in a decoded payload
# (an error output keeps the payload bytes it was given, as the reference does, D-43).
REPLAYED_IP = "192.0.2.99"
FORWARDED = f"{CLIENT_IPS[0]}, {CLIENT_IPS[2]}"
SEED = 20261206


def seeds() -> list[dict[str, Any]]:
    records = []
    for line in SAMPLES.read_text().splitlines():
        if line.strip() and not line.startswith("//"):
            record = json.loads(line)
            record.pop("_comment", None)
            if isinstance(record.get("attributeMap"), dict):
                records.append(record)
    return records


def _payload(record: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(record.get("payload") or "")
    except ValueError:
        return b""


def _document(record: dict[str, Any]) -> dict[str, Any] | None:
    raw = _payload(record)
    try:
        return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (ValueError, OSError, EOFError):
        return None


def _with_document(record: dict[str, Any], document: Any) -> dict[str, Any]:
    return {**record, "payload": base64.b64encode(json.dumps(document).encode()).decode()}


def _respell(rng: random.Random, name: str) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return name.upper()
    if choice == 1:
        return name.replace("-", "_")
    if choice == 2:
        return name + rng.choice(["!", " ", "%2e", "/..", "_" * 250])
    if choice == 3:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in name)
    return rng.choice(["..", "", "a/b", "goog", "x" * 300])


def _ip_entry_spans(raw: bytes) -> list[tuple[int, int]]:
    """Where ``"x_forwarded_for": "..."`` and ``"remote_addr": "..."`` stand in a line.

    A flipped byte there would make a new, harmless-looking attribute of a client IP: the edge
    never writes such a name, so that would test the fuzzer, not the decoder.
    """
    spans = []
    for name in (b'"x_forwarded_for"', b'"remote_addr"'):
        start = raw.find(name)
        while start != -1:
            end = raw.find(b'"', raw.find(b'"', start + len(name)) + 1) + 1
            spans.append((start, end))
            start = raw.find(name, end)
    return spans


def mutate(rng: random.Random, record: dict[str, Any]) -> dict[str, Any] | bytes:
    """One hostile variant of a seed: a record, or raw bytes for a line that is no record."""
    attributes = dict(record["attributeMap"])
    attributes.update(x_forwarded_for=FORWARDED, remote_addr=CLIENT_IPS[1])
    record = {**record, "attributeMap": attributes}
    kind = rng.randrange(12)
    if kind == 0:  # flip bytes of the line, but not the IP attributes' own names and values
        raw = bytearray(json.dumps(record).encode())
        protected = _ip_entry_spans(bytes(raw))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(raw))
            if not any(start <= position < end for start, end in protected):
                raw[position] = rng.randrange(256)
        return bytes(raw)
    if kind == 1:  # cut the line
        raw = json.dumps(record).encode()
        return raw[: rng.randrange(len(raw))]
    if kind == 2:  # payload that is not base64, or not a string
        return {**record, "payload": rng.choice(["!!!", 5, ["x"], {"a": 1}])}
    if kind == 3:  # attribute map of the wrong type
        return {**record, "attributeMap": rng.choice([[list(attributes.items())], "x", 7])}
    if kind == 4:  # hundreds of attributes
        many = {f"extra_{i}": "v" * rng.randint(0, 20) for i in range(rng.randint(90, 300))}
        return {**record, "attributeMap": {**attributes, **many}}
    if kind == 5:  # namespace and docType respelled in the uri
        uri = attributes.get("uri", "")
        parts = uri.split("/")
        if len(parts) > 4:
            parts[2], parts[3] = _respell(rng, parts[2]), _respell(rng, parts[3])
        return {**record, "attributeMap": {**attributes, "uri": "/".join(parts)}}
    document = _document(record)
    if kind == 6 and isinstance(document, dict):  # replayed metadata carrying the client IP
        document["metadata"] = {
            "header": {"x_forwarded_for": REPLAYED_IP, "remote_addr": REPLAYED_IP, "dnt": "1"},
            "geo": {"country": "FI"},
            "document_namespace": _respell(rng, "org-example-app"),
            **{f"extra{i}": str(i) for i in range(rng.randint(0, 120))},
        }
        return _with_document(record, document)
    if kind == 7 and isinstance(document, dict):  # deeper than any writer
        depth = rng.choice([200, 253, 254, 300, 1000])
        text = json.dumps(document)[:-1] + ', "deep": ' + "[" * depth + "1" + "]" * depth + "}"
        return {**record, "payload": base64.b64encode(text.encode()).decode()}
    if kind == 8:  # duplicate keys in the line
        raw = json.dumps(record)
        return (raw[:-1] + ', "attributeMap": {"x_forwarded_for": "' + FORWARDED + '"}}').encode()
    if kind == 9:  # damaged gzip or a gzip bomb as the payload
        raw = _payload(record)
        bomb = gzip.compress(b" " * rng.choice([10, 9 * 1024 * 1024]))
        damaged = raw[: max(len(raw) - rng.randint(1, 20), 0)]
        return {**record, "payload": base64.b64encode(rng.choice([bomb, damaged])).decode()}
    if kind == 10:  # a raw (flat) line with the same attributes
        return {**attributes, "payload": record.get("payload")}
    return record  # the seed itself, with client IPs


def corpus(count: int) -> list[dict[str, Any] | bytes]:
    rng = random.Random(SEED)
    base = seeds()
    return [mutate(rng, rng.choice(base)) for _ in range(count)]


def as_line(item: dict[str, Any] | bytes) -> bytes:
    line = item if isinstance(item, bytes) else json.dumps(item).encode()
    return line.replace(b"\n", b" ")  # one input, one line


def assert_no_client_ip(
    texts: Sequence[bytes | str], where: str, ips: Sequence[str] = CLIENT_IPS
) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        for ip in ips:
            assert ip.encode() not in data, f"{ip} in {where}: {data[:300]!r}"


def assert_no_replayed_ip(messages: Sequence[Message], where: str) -> None:
    for message in messages:
        texts: list[str | bytes] = list(message.attributes.values())
        if "error_type" not in message.attributes:
            texts.append(message.payload)
        assert_no_client_ip(texts, where, (REPLAYED_IP,))


@pytest.fixture(scope="module")
def geo(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("geo")
    return build_demo_city_db(folder / "city.mmdb"), build_demo_isp_db(folder / "isp.mmdb")


def output_files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())


@pytest.mark.slow
def test_fuzzed_message_files_through_the_cli(tmp_path, geo):
    items = corpus(2500)
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(b"\n".join(as_line(item) for item in items) + b"\n")
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    content = [line for line in lines if not line.strip().startswith(b"//")]
    stdout, stderr = io.StringIO(), io.StringIO()
    summary = tmp_path / "summary.json"
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = cli_main(
            ["decode", str(path), "--output", str(tmp_path / "out"), "--no-progress",
             "--geo-city-db", str(geo[0]), "--geo-isp-db", str(geo[1]),
             "--summary-json", str(summary)]
        )  # fmt: skip
    assert status == 0, stderr.getvalue()
    assert "Traceback" not in stderr.getvalue() + stdout.getvalue()
    counts = json.loads(summary.read_text())["counts"]
    assert counts["input"] == len(content)
    accounted = sum(v for k, v in counts.items() if k.startswith(("error:", "dropped:")))
    assert counts.get("decoded", 0) + accounted >= counts["input"]
    assert_no_client_ip([p.read_bytes() for p in output_files(tmp_path / "out")], "CLI output")
    written = [
        message_from_line(line)
        for output in output_files(tmp_path / "out")
        for line in output.read_bytes().splitlines()
    ]
    assert_no_replayed_ip(written, "CLI output")
    for output in output_files(tmp_path / "out"):
        assert (tmp_path / "out") in output.parents


class CollectingSink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        self.messages += [*decoded, *errors]

    def counter_values(self) -> dict[str, int]:
        return {"delivered": len(self.messages)}


def push_request(rng: random.Random, item: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
    """A push request built around a mutated message, itself sometimes mutated."""
    if isinstance(item, bytes) or not isinstance(item.get("attributeMap"), dict):
        return (item if isinstance(item, bytes) else json.dumps(item).encode()), {}
    message = {
        "data": item.get("payload") if isinstance(item.get("payload"), str) else "",
        "attributes": {k: str(v) for k, v in item["attributeMap"].items()},
        "messageId": str(rng.randrange(10**9)),
    }
    body: Any = {"message": message, "subscription": "projects/p/subscriptions/raw"}
    shape = rng.randrange(6)
    headers: dict[str, str] = {}
    if shape == 1:
        body = {"specversion": "1.0", "id": "e", "data": body}
    elif shape == 2:
        encoded = base64.b64encode(json.dumps(body).encode()).decode()
        body = {"specversion": "1.0", "id": "e", "data_base64": encoded}
    elif shape == 3:
        body = {"specversion": "1.0", "data": json.dumps(body)}
    elif shape == 4:
        message["attributes"] = list(message["attributes"].items())
    raw = json.dumps(body).encode()
    if shape == 5:
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw)[: rng.choice([None, 30])]
    return raw, headers


def run_requests(
    handler: DecoderFunction, requests: Sequence[tuple[bytes, dict[str, str]]]
) -> list[int]:
    async def one_by_one() -> list[int]:
        return [(await handler.handle(body, headers))[0] for body, headers in requests]

    return asyncio.run(one_by_one())


@pytest.mark.slow
def test_fuzzed_push_requests_through_the_function_handler(geo):
    context = build_context(ContextConfig(geo_city_database=str(geo[0])))
    sink = CollectingSink()
    counters = OutcomeCounters(interval=0)  # log the counters line on every request

    async def current() -> Context:
        return context

    service = AsyncDecoderService(current, sink, counters=counters)
    handler = DecoderFunction(service, {"sink": sink})
    rng = random.Random(SEED + 1)
    requests = [push_request(rng, item) for item in corpus(3000)]

    records: list[logging.LogRecord] = []
    capture = _Capture(records)
    logging.getLogger().addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        statuses = _with_bounded_memory(lambda part: run_requests(handler, part), requests)
    finally:
        logging.getLogger().removeHandler(capture)
    assert set(statuses) == {OK}
    snapshot = counters.snapshot()
    assert snapshot["input"] == len(requests)
    accounted = sum(v for k, v in snapshot.items() if k.startswith(("error:", "dropped:")))
    assert snapshot.get("decoded", 0) + accounted >= len(requests)
    assert_no_client_ip(
        [text for m in sink.messages for text in (m.payload, *m.attributes.values())],
        "function output",
    )
    assert_no_replayed_ip(sink.messages, "function output")
    formatter = JsonFormatter()
    assert_no_client_ip([formatter.format(record) for record in records], "function logs")


class _Capture(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _with_bounded_memory(
    run: Callable[[Sequence[Any]], list[int]], items: Sequence[Any]
) -> list[int]:
    """Run the first half to fill every cache, then check the second half adds little."""
    half = len(items) // 2
    statuses = run(items[:half])
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        statuses += run(items[half:])
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # The collected outputs and log records of the second half are the only growth expected.
    assert grown < 64 * 1024 * 1024, f"memory grew by {grown / 2**20:.1f} MiB"
    return statuses
