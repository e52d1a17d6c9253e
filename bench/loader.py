"""Loader throughput and CPU per message, next to the decoder's, and what the flush settings do.

One process, one core, fake-gcs-server as the bucket (its own CPU is reported apart):

- **Input**: the decoder's outputs for the benchmark corpus (``bench/common.py``), as they are
  published (decoded payloads gzipped, IP attributes removed), wrapped in Pub/Sub push bodies.
- **CPU per message** (the target: the loader at most half the decoder): in the same run, the
  decoder's in-process decode (``DecoderService.decode``, as ``bench/decode.py`` measures it)
  and the loader's whole request path in process (``LoaderFunction.handle``: envelope parsing,
  partitioning, batching, encoding the ``.ndjson.gz`` object and writing it through the storage
  client), with ``CONCURRENCY`` requests in flight as a function instance would have them.
  Neither counts the HTTP server in front of it.
- **Throughput**: messages/s and MB/s (push body bytes in, object bytes out) of that pass, with
  batches closed after ``FULL_SPEED_FLUSH_SECONDS``; and the CPU-bound bound, messages per CPU
  second.
- **Flush settings**: messages arriving at a steady ``RATE`` over the corpus's partitions, for
  several ``LOADER_FLUSH_SECONDS`` and ``LOADER_FLUSH_MESSAGES``: the request latency (median
  and 99th percentile: what a push waits) and the mean object size.

Writes ``bench/results/loader.json`` and ``.png``. Not a test: ``python bench/loader.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import orjson
from decode import decoder_pass

from ingestion.adapters.pubsub_output import compress, outgoing_attributes
from ingestion.context import build_context
from ingestion.core.message import Message
from ingestion.entrypoints.loader_function import build_loader
from ingestion.loader.function import LoaderFunction
from ingestion.local.loader_topology import DECODED_SOURCE, create_buckets, seed_registry
from ingestion.local.services import fake_gcs_server, running
from ingestion.registry import Registry
from ingestion.resources.validators import DEFAULT_ENGINE
from ingestion.service.decoder import DecoderService
from ingestion.settings import LoaderSettings, environ_for

PROJECT = "bench-project"
CONCURRENCY = 1000  # requests in flight per instance (Cloud Run's maximum, the module default)
RATE = 2000  # messages/s arriving in the flush-settings runs
FLUSH_VARIANTS = [(0.5, 1000), (1.0, 1000), (2.0, 1000), (2.0, 100)]  # (seconds, messages)
# The full-speed pass: batches close by age this soon, so its wall time shows what one core does
# rather than how long a partition waits (at 1000 in flight over the corpus's ~8 partitions, a
# batch rarely reaches its count).
FULL_SPEED_FLUSH_SECONDS = 0.25


def published(outcome_messages: list[Message], gzip_payload: bool) -> list[Message]:
    result = []
    for message in outcome_messages:
        body = orjson.dumps(message.document) if message.document is not None else message.payload
        payload = compress(body, "gzip") if gzip_payload else body
        result.append(Message(outgoing_attributes(message.attributes)[0], payload))
    return result


def decoder_outputs(corpus: list[Message], repeats: int) -> tuple[list[Message], float]:
    """The messages the decoder publishes for ``corpus``, and its CPU seconds per message."""
    service = DecoderService(build_context(common.resources(DEFAULT_ENGINE)), sink=None)  # type: ignore[arg-type]
    outputs: list[Message] = []
    for message in corpus:
        outcome = service.decode(message)
        outputs += published(outcome.decoded, True) + published(outcome.errors, True)
    times = [common.cpu_seconds(decoder_pass, service, corpus) for _ in range(repeats)]
    return outputs, statistics.median(times) / len(corpus)


def push_bodies(messages: list[Message]) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "message": {
                    "data": base64.b64encode(m.payload).decode(),
                    "attributes": m.attributes,
                    "messageId": str(i),
                },
                "subscription": "projects/bench/subscriptions/loader",
            }
        )
        for i, m in enumerate(messages)
    ]


async def new_function(location: str, seconds: float, messages: int) -> LoaderFunction:
    environ = environ_for(
        LoaderSettings,
        project=PROJECT,
        metadata_location=location,
        loader_source=DECODED_SOURCE.name,
        loader_flush_seconds=seconds,
        loader_flush_messages=messages,
        log_level="WARNING",
    )
    loader = build_loader(LoaderSettings.from_environ(environ))
    await loader.targets.current()
    return LoaderFunction(loader)


async def full_speed(function: LoaderFunction, bodies: list[bytes]) -> dict[str, Any]:
    """Every body through ``handle`` with ``CONCURRENCY`` in flight; CPU and wall seconds."""
    window = asyncio.Semaphore(CONCURRENCY)

    async def one(body: bytes) -> int:
        async with window:
            return (await function.handle(body, {}))[0]

    cpu, wall = time.process_time(), time.perf_counter()
    statuses = await asyncio.gather(*(one(body) for body in bodies))
    await function.loader.close()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert set(statuses) == {204}, set(statuses)
    return {"cpu": cpu, "wall": wall, **function.loader.counter_values()}


async def steady(function: LoaderFunction, bodies: list[bytes], rate: int) -> dict[str, Any]:
    """Bodies arriving at ``rate`` per second; each request's latency."""
    latencies: list[float] = []

    async def one(body: bytes) -> None:
        started = time.perf_counter()
        status, _ = await function.handle(body, {})
        assert status == 204
        latencies.append(time.perf_counter() - started)

    tasks, tick = [], 0.05
    per_tick = max(1, int(rate * tick))
    for start in range(0, len(bodies), per_tick):
        tasks += [asyncio.ensure_future(one(b)) for b in bodies[start : start + per_tick]]
        await asyncio.sleep(tick)
    await asyncio.gather(*tasks)
    await function.loader.close()
    counters = function.loader.counter_values()
    latencies.sort()
    return {
        "latency_p50_s": round(latencies[len(latencies) // 2], 3),
        "latency_p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
        "objects": counters["batches_written"],
        "mean_messages_per_object": round(
            counters["messages_written"] / counters["batches_written"], 1
        ),
        "mean_object_kib": round(
            counters["object_bytes_written"] / counters["batches_written"] / 1024, 1
        ),
    }


async def measure(
    bodies: list[bytes], location: str, repeats: int, rate_seconds: float
) -> dict[str, Any]:
    passes = []
    for _ in range(repeats):
        function = await new_function(location, FULL_SPEED_FLUSH_SECONDS, 1000)
        passes.append(await full_speed(function, bodies))
    best = min(passes, key=lambda p: p["cpu"])
    flush = []
    arriving = bodies[: int(RATE * rate_seconds)]
    for seconds, messages in FLUSH_VARIANTS:
        function = await new_function(location, seconds, messages)
        flush.append(
            {
                "flush_seconds": seconds,
                "flush_messages": messages,
                **await steady(function, arriving, RATE),
            }
        )
    return {
        "passes": passes,
        "median_cpu": statistics.median(p["cpu"] for p in passes),
        "best": best,
        "flush": flush,
    }


def run(size: int, repeats: int, rate_seconds: float) -> dict[str, Any]:
    corpus = common.build_corpus(size)
    outputs, decoder_cpu = decoder_outputs(corpus, repeats)
    bodies = push_bodies(outputs)
    with tempfile.TemporaryDirectory() as logs, running(fake_gcs_server(Path(logs))) as (gcs,):
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://{gcs.host}"
        create_buckets(PROJECT, "bench-metadata", "bench-data")
        seed_registry(Registry.open("gs://bench-metadata"), {DECODED_SOURCE.name: "bench-data"})
        gcs_cpu = common.group_cpu_seconds(gcs.process.pid)  # type: ignore[union-attr]
        loader = asyncio.run(measure(bodies, "gs://bench-metadata", repeats, rate_seconds))
        gcs_cpu = common.group_cpu_seconds(gcs.process.pid) - gcs_cpu  # type: ignore[union-attr]
    loader_cpu = loader["median_cpu"] / len(bodies)
    best = loader["best"]
    body_mb = sum(len(b) for b in bodies) / 1e6
    return {
        "benchmark": "loader",
        "machine": common.machine(concurrency=CONCURRENCY),
        "corpus": {
            "raw_messages": size,
            "loader_messages": len(bodies),
            "push_body_mb": round(body_mb, 2),
        },
        "decoder_cpu_us_per_message": round(decoder_cpu * 1e6, 1),
        "loader_cpu_us_per_message": round(loader_cpu * 1e6, 1),
        "loader_to_decoder_cpu_ratio": round(loader_cpu / decoder_cpu, 3),
        "loader_messages_per_cpu_second": round(1 / loader_cpu),
        "full_speed": {
            "messages_per_second": common.messages_per_second(len(bodies), best["wall"]),
            "push_mb_per_second": round(body_mb / best["wall"], 2),
            "object_mb_per_second": round(best["object_bytes_written"] / 1e6 / best["wall"], 2),
            "objects": best["batches_written"],
            "compression_ratio": round(body_mb * 1e6 / best["object_bytes_written"], 2),
        },
        "fake_gcs_cpu_seconds_all_runs": round(gcs_cpu, 2),
        "flush_at_rate": {
            "rate_per_second": RATE,
            "seconds": rate_seconds,
            "variants": loader["flush"],
        },
    }


def chart(result: dict[str, Any], path: Path) -> None:
    with common.figure(path, columns=2, figsize=(13, 4.2)) as (_, axes):
        left, right = axes
        values = [result["decoder_cpu_us_per_message"], result["loader_cpu_us_per_message"]]
        bars = left.bar(["decoder (in-process decode)", "loader (whole request path)"], values)
        common.label_bars(left, bars, [f"{v:.0f} µs" for v in values])
        left.set_ylabel("CPU µs per message")
        left.set_title(
            f"CPU per message, same run (ratio {result['loader_to_decoder_cpu_ratio']:.2f})"
        )
        variants = result["flush_at_rate"]["variants"]
        labels = [f"{v['flush_seconds']} s / {v['flush_messages']}" for v in variants]
        bars = right.bar(labels, [v["latency_p50_s"] for v in variants])
        common.label_bars(right, bars, [f"{v['mean_object_kib']} KiB/object" for v in variants])
        right.set_ylabel("median request latency (s)")
        right.set_title(
            f"flush seconds / messages at {result['flush_at_rate']['rate_per_second']} msg/s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4000, help="raw messages in the corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate-seconds", type=float, default=4.0)
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    reason = common.corpus_unavailable()
    if reason:
        print(f"bench/loader.py: {reason}", file=sys.stderr)
        return 2
    result = run(args.size, args.repeats, args.rate_seconds)
    data, picture = common.save(result, args.output, chart)
    print(
        orjson.dumps(
            {k: v for k, v in result.items() if k != "machine"}, option=orjson.OPT_INDENT_2
        ).decode()
    )
    print(f"wrote {data} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
