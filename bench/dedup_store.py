"""The Firestore dedup store alone: this process's CPU per message for a check and a mark, by the
number of items its RPCs carry, against the Firestore emulator.

Why: the decoder function's Firestore cost is mostly per RPC, not per message (a
``BatchGetDocuments`` or a ``BatchWrite`` costs about as much for 8 documents as for 30), so what
it costs per message is set by how full the batches are, and the batches are set by the load
and by Firestore's latency (``docs/capacity.md``, section 1.4). This isolates that curve from the
decode, the HTTP stack and Pub/Sub.

``AsyncFirestoreDedupStore`` with the real ``Batcher``, on uvloop when installed: N workers
each check a new uri, yield once (where the decode would be) and mark it, as fast as they can,
so each RPC carries about N items. Points: N = 1, 8, 32 and 80 (``--concurrency``), each
``--messages`` uris after one unmeasured pass, ``--repeats`` times, medians reported, with the
items per RPC from the store's counters. CPU is this process's (``time.process_time``: the event
loop and gRPC's threads), per message.

Writes ``bench/results/dedup_store.json`` and ``.png``. Exits 1 with a reason when the emulator
is missing. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import common

from ingestion.adapters.firestore_async import AsyncFirestoreDedupStore
from ingestion.local.services import (
    DEFAULT_SDK_ROOT,
    ServiceUnavailable,
    firestore_emulator,
    running,
)
from ingestion.service.batcher import Batcher

PROJECT = "bench-dedup-store"
CONCURRENCY = (1, 8, 32, 80)


async def one_point(concurrency: int, messages: int) -> dict[str, Any]:
    from google.cloud import firestore

    client = firestore.AsyncClient(project=PROJECT)
    store = AsyncFirestoreDedupStore(client, Batcher, collection=f"c{uuid.uuid4().hex[:8]}")
    await store.warm()

    async def run_all(count: int) -> float:
        uris = iter(
            f"/submit/telemetry/{uuid.uuid4()}/main/Firefox/1/release/1" for _ in range(count)
        )

        async def worker() -> None:
            for uri in uris:
                if not await store.is_duplicate(uri):
                    await asyncio.sleep(0)  # where the decode would be
                    await store.mark_delivered(uri)

        with common.Stopwatch() as watch:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return watch.cpu

    await run_all(min(messages, 500))  # unmeasured: channel, code paths
    before = store.counter_values()
    cpu = await run_all(messages)
    after = store.counter_values()
    await store.close()

    def per_rpc(kind: str) -> float:
        batches = after[f"{kind}:batches_sent"] - before[f"{kind}:batches_sent"]
        items = after[f"{kind}:items_sent"] - before[f"{kind}:items_sent"]
        return round(items / batches, 1) if batches else 0.0

    return {
        "cpu_ms_per_message": cpu / messages * 1000,
        "documents_per_read_rpc": per_rpc("reads"),
        "marks_per_write_rpc": per_rpc("writes"),
    }


def run(levels: tuple[int, ...], messages: int, repeats: int) -> dict[str, Any]:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    points: dict[str, Any] = {}
    rounds: dict[int, list[dict[str, Any]]] = {level: [] for level in levels}
    for _ in range(repeats):  # interleaved, so drift touches every level alike
        for level in levels:
            rounds[level].append(runner(one_point(level, messages)))
    for level, rows in rounds.items():
        points[str(level)] = {
            "cpu_ms_per_message": round(
                statistics.median(r["cpu_ms_per_message"] for r in rows), 4
            ),
            "documents_per_read_rpc": statistics.median(r["documents_per_read_rpc"] for r in rows),
            "marks_per_write_rpc": statistics.median(r["marks_per_write_rpc"] for r in rows),
            "rounds_cpu_ms_per_message": [round(r["cpu_ms_per_message"], 4) for r in rows],
        }
    return {
        "benchmark": "dedup_store",
        "machine": common.machine(),
        "what": (
            "AsyncFirestoreDedupStore.is_duplicate + mark_delivered per message, N concurrent "
            "workers against the Firestore emulator; CPU of this process"
        ),
        "messages_per_point": messages,
        "repeats": repeats,
        "points": points,
    }


def chart(result: dict[str, Any], path: Path) -> None:
    with common.figure(path, figsize=(8, 4.2)) as (_, axes):
        levels = list(result["points"])
        values = [result["points"][level]["cpu_ms_per_message"] for level in levels]
        labels = [
            f"{level} in flight\n{result['points'][level]['documents_per_read_rpc']:g} docs/read"
            for level in levels
        ]
        bars = axes.bar(labels, values)
        common.label_bars(axes, bars, [f"{v:.3f} ms" for v in values])
        axes.set_ylabel("CPU ms per message (check + mark)")
        axes.set_title("Firestore dedup store alone: CPU per message by batch size (emulator)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as logs:
        try:
            emulator = firestore_emulator(Path(logs), DEFAULT_SDK_ROOT)
            with running(emulator):
                os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
                result = run(tuple(args.concurrency), args.messages, args.repeats)
        except ServiceUnavailable as exc:
            print(f"cannot run the dedup store benchmark: {exc}")
            return 1
    data, picture = common.save(result, args.output, chart)
    for level, point in result["points"].items():
        print(
            f"{level:>3} in flight: {point['cpu_ms_per_message']:.3f} ms/msg, "
            f"{point['documents_per_read_rpc']} docs per read, "
            f"{point['marks_per_write_rpc']} marks per write"
        )
    print(f"wrote {data} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
