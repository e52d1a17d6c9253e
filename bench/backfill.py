"""One backfill chunk worker against fake-gcs-server, next to the in-process decode of the same
records in the same run, and the speed-up of two chunk workers at once.

- **Input**: the benchmark corpus (``bench/common.py``) as the raw archive holds it: ``json``
  lines in ``.ndjson.gz`` objects on fake-gcs-server (one gzip chunk), and as one plain object
  cut into two line-range chunks.
- **In-process decode** (the baseline, ``bench/decode.py``'s pass): ``DecoderService.decode``
  one message at a time over the same records, already in memory as the messages the line codec
  reads from the worker's input lines, with the same context object (schemas, GeoIP databases
  and their lookup caches, warmed once), on this process's CPU. Both run after
  ``tune_collector``, as a deployed instance does once it is built.
- **``ingestion decode`` in process** (the second baseline, as ``bench/decode.py``'s end to end
  pass): ``decode_files`` over the same gzip object as a local file, writing the same
  gzipped ``json``-line outputs (``--gzip-output``), dedup off (the backfill's default), the
  context loaded once: the same records decoded in this process the way a user runs the decoder
  on files, with the reading and the output encoding that every writer of these objects does.
  The target (at least 0.8) is judged on this baseline; the ratio to the bare decode is reported
  beside it, with the share of the worker's CPU that its outputs alone take (line form and
  deflate of the same outputs, timed apart), which is why the bare ratio cannot reach 0.8.
- **One chunk worker**: ``ChunkRunner.run`` exactly as a chunk task runs it (ranged streaming
  reads, ISA-L inflate, line parsing, decode, the outputs compressed and written to two registry
  sources' buckets at each commit, checkpoints), with run state in memory (the Firestore
  checkpoints, a few per chunk, are not what limits it). records/s and MB/s of stored input,
  and its ratio to the in-process rate (target: at least 0.8): the worker's records per
  wall-clock second (its reading, inflating and compressing threads overlap the decode) over
  the baseline's records per CPU-second; beside it the CPU basis (the worker's records per
  CPU-second of all its threads) and the wall basis (both per wall-clock second, interleaved,
  so load from other work on the machine touches both alike).
- **Two workers**: the two plain chunks one after the other in one process, then in two
  processes at once: the wall-clock speed-up on this machine (fake-gcs-server shares its cores).

Prints the measured ``BYTES_PER_CPU_SECOND`` and ``BYTES_PER_RECORD`` that
``ingestion/backfill/estimate.py`` uses, and the estimate of a day at 30,000 messages/s.
Writes ``bench/results/backfill.json`` and ``.png``. Not a test: ``python bench/backfill.py``.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import common
import orjson
from decode import decoder_pass

from ingestion.adapters.backfill_store import InMemoryBackfillStore
from ingestion.adapters.gzip_lines import GzipLines
from ingestion.adapters.storage.gcs_bucket import GcsBucket
from ingestion.backfill.estimate import estimate
from ingestion.backfill.outputs import ObjectOutputs, Target
from ingestion.backfill.plan import Chunk, line_cuts
from ingestion.backfill.runner import ChunkRunner, RunnerOptions
from ingestion.backfill.state import empty_counts
from ingestion.context import Context, build_context
from ingestion.core.lines import read_line
from ingestion.core.message import Message
from ingestion.entrypoints import decode_files as decode_files_module
from ingestion.entrypoints.backfill_function import tune_collector
from ingestion.entrypoints.decode_files import FileOptions, decode_files
from ingestion.local.loader_topology import (
    DECODED_SOURCE,
    ERRORS_SOURCE,
    create_buckets,
    gcs_client,
    seed_registry,
)
from ingestion.local.services import fake_gcs_server, running
from ingestion.registry import Registry
from ingestion.resources.validators import DEFAULT_ENGINE
from ingestion.service.decoder import DecoderService

PROJECT = "bench-project"
ARCHIVE, DEST, META = "bench-archive", "bench-dest", "bench-meta"
DAY_MESSAGES = 30_000 * 86_400
CONCURRENCIES = (10, 100, 1000)
TARGET_RATIO = 0.8


def json_lines(corpus: list[Message]) -> bytes:
    return b"".join(
        orjson.dumps(
            {"attributeMap": m.attributes, "payload": base64.b64encode(m.payload).decode()}
        )
        + b"\n"
        for m in corpus
    )


class Worker:
    """What one chunk task has: the decoder context, the run state, the buckets."""

    def __init__(self, context: Context, registry: Registry) -> None:
        self.store = InMemoryBackfillStore()
        self.store.create_run("bench", {"state": "running"})
        self.registry = registry
        self.targets = []
        for source in (DECODED_SOURCE, ERRORS_SOURCE):
            writer = registry.writer(source.name)
            bucket = registry.data_bucket(writer.bucket)
            self.targets.append(Target(bucket, writer.prefix, writer.dimensions))

        def make_service(outputs: Any, dedup: Any) -> DecoderService:
            return DecoderService(context, outputs, dedup)

        self.runner = ChunkRunner(self.store, make_service, RunnerOptions(budget_seconds=3600))

    def run(self, chunk: Chunk) -> dict[str, Any]:
        document = {**chunk.as_document(), "state": "pending", "attempts": 0, "yields": 0}
        document.update(owner="", position=chunk.start, counts=empty_counts())
        self.store.put_chunks("bench", [(chunk.chunk_id, document)])
        outputs = ObjectOutputs(self.targets[0], self.targets[1], "bench", chunk.chunk_id)
        archive = GcsBucket(gcs_client(PROJECT), ARCHIVE)
        cpu, wall = time.process_time(), time.perf_counter()
        result = self.runner.run(
            "bench",
            chunk.chunk_id,
            bucket_for=lambda name: archive,
            outputs=outputs,
            dedup=False,
            continue_at=lambda position: None,
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert result.outcome == "done", result
        return {"cpu": cpu, "wall": wall, "records": result.counts["records"]}


def _child(context: Context, chunk: Chunk, barrier: Any, results: Any) -> None:
    # Clients of its own: the parent's pooled connections, inherited by every child, must not
    # carry two children's requests at once.
    worker = Worker(context, Registry.open(f"gs://{META}"))
    barrier.wait()
    results.put(worker.run(chunk))


def two_at_once(decoder_context: Context, chunks: list[Chunk]) -> float:
    """Wall seconds of ``chunks`` run by one process each, all at once (forked: the decoder
    context is shared, not rebuilt)."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(chunks) + 1), context.Queue()
    processes = [
        context.Process(target=_child, args=(decoder_context, chunk, barrier, results))
        for chunk in chunks
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in processes]
    wall = time.perf_counter() - started
    for process in processes:
        process.join()
    assert sum(o["records"] for o in outcomes) > 0
    return wall


class CliDecode:
    """``ingestion decode`` in this process over ``gzipped`` as a local file, gzip outputs, dedup
    off, with ``context`` instead of loading it again (see the module)."""

    def __init__(self, context: Context, gzipped: bytes, folder: Path) -> None:
        self.context, self.folder = context, folder
        self.input = folder / "archive.ndjson.gz"
        self.input.write_bytes(gzipped)

    def run(self) -> dict[str, Any]:
        output = self.folder / "out"
        shutil.rmtree(output, ignore_errors=True)
        options = FileOptions(output, gzip_output=True, dedup=False, progress=False)
        with (
            mock.patch.object(decode_files_module, "build_context", lambda _: self.context),
            common.Stopwatch() as watch,
        ):
            decode_files([self.input], common.resources(DEFAULT_ENGINE), options)
        return {"cpu": watch.cpu, "wall": watch.wall}


def output_encoding_cpu(service: DecoderService, records: list[Message]) -> float:
    """CPU seconds of the line form and deflate of the records' outputs alone: the object
    encoding every writer of these outputs does (``GzipLines``), timed apart from the decode."""
    outputs = []
    for record in records:
        outcome = service.decode(record)
        outputs += [m.without_document() for m in (*outcome.decoded, *outcome.errors)]
    times = []
    for _ in range(3):
        with common.Stopwatch() as watch:
            encoder = GzipLines()
            for message in outputs:
                encoder.add(message)
            encoder.finish()
        times.append(watch.cpu)
    return min(times)


def run(size: int, repeats: int) -> dict[str, Any]:
    corpus = common.build_corpus(size)
    context = build_context(common.resources(DEFAULT_ENGINE))
    lines = json_lines(corpus)
    gzipped = gzip.compress(lines, 6, mtime=0)
    # The records as the worker gets them: the messages the line codec reads from its lines.
    records = [r for r in map(read_line, lines.splitlines()) if isinstance(r, Message)]
    assert len(records) == size
    service = DecoderService(context, sink=None)  # type: ignore[arg-type]
    decoder_pass(service, records)  # warm
    encoding_cpu = output_encoding_cpu(service, records)
    with (
        tempfile.TemporaryDirectory() as logs,
        running(fake_gcs_server(Path(logs))) as (gcs,),
    ):
        cli = CliDecode(context, gzipped, Path(logs))
        cli.run()  # warm: the output files' code paths
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://{gcs.host}"
        create_buckets(PROJECT, ARCHIVE, DEST, META)
        registry = Registry.open(f"gs://{META}")
        seed_registry(registry, {DECODED_SOURCE.name: DEST, ERRORS_SOURCE.name: DEST})
        archive = GcsBucket(gcs_client(PROJECT), ARCHIVE)
        archive.write("raw/all.ndjson.gz", gzipped, None)
        archive.write("raw/all.ndjson", lines, None)
        gz_info, plain_info = archive.stat("raw/all.ndjson.gz"), archive.stat("raw/all.ndjson")
        gzip_chunk = Chunk.single(
            ARCHIVE, gz_info.name, gz_info.generation, 0, gz_info.size, "gzip"
        )
        halves = [
            Chunk.single(ARCHIVE, plain_info.name, plain_info.generation, start, end, "lines")
            for start, end in line_cuts(archive, plain_info, plain_info.size // 2 + 1)
        ]
        assert len(halves) == 2
        worker = Worker(context, registry)
        worker.run(gzip_chunk)  # warm: clients, buckets, caches
        tune_collector()  # what the function's instance does once built
        decode_cpu, decode_wall, worker_runs, sequential, parallel = [], [], [], [], []
        cli_runs = []
        gcs_cpu = common.group_cpu_seconds(gcs.process.pid)  # type: ignore[union-attr]
        for _ in range(repeats):  # interleaved, so drift touches both alike
            with common.Stopwatch() as watch:
                decoder_pass(service, records)
            decode_cpu.append(watch.cpu)
            decode_wall.append(watch.wall)
            worker_runs.append(worker.run(gzip_chunk))
            cli_runs.append(cli.run())
        gcs_cpu = common.group_cpu_seconds(gcs.process.pid) - gcs_cpu  # type: ignore[union-attr]
        for _ in range(repeats):
            sequential.append(sum(worker.run(chunk)["wall"] for chunk in halves))
            parallel.append(two_at_once(context, halves))
    decode_seconds = statistics.median(decode_cpu)
    worker_wall = statistics.median(r["wall"] for r in worker_runs)
    worker_cpu = statistics.median(r["cpu"] for r in worker_runs)
    assert worker_runs[0]["records"] == size, (worker_runs[0]["records"], size)
    decode_rate = size / decode_seconds
    cli_cpu = statistics.median(r["cpu"] for r in cli_runs)
    cli_rate = size / cli_cpu
    decode_wall_rate = size / statistics.median(decode_wall)
    worker_rate = size / worker_wall
    bytes_per_cpu_second = len(gzipped) / worker_cpu
    bytes_per_record = len(gzipped) / size
    day_bytes = int(DAY_MESSAGES * bytes_per_record)
    chunk_bytes = 64 << 20
    day = estimate(day_bytes, max(1, day_bytes // chunk_bytes), 1500, 16 << 20)
    day_cpu = day_bytes / bytes_per_cpu_second
    return {
        "benchmark": "backfill",
        "machine": common.machine(cpus=os.cpu_count(), load_average_before=os.getloadavg()),
        "corpus": {
            "records": size,
            "gzip_object_mb": round(len(gzipped) / 1e6, 3),
            "plain_object_mb": round(len(lines) / 1e6, 3),
        },
        "in_process_decode": {
            "records_per_cpu_second": round(decode_rate, 1),
            "cpu_seconds": round(decode_seconds, 3),
            "wall_seconds": round(statistics.median(decode_wall), 3),
        },
        "ingestion_decode_in_process": {
            "what": (
                "decode_files over the same gzip object as a local file, gzip outputs, dedup off, "
                "context loaded once; CPU of this process"
            ),
            "records_per_cpu_second": round(cli_rate, 1),
            "cpu_seconds": round(cli_cpu, 3),
            "wall_seconds": round(statistics.median(r["wall"] for r in cli_runs), 3),
        },
        "output_encoding": {
            "what": "line form and deflate (GzipLines) of the same records' outputs, alone",
            "cpu_seconds": round(encoding_cpu, 3),
            "share_of_bare_decode": round(encoding_cpu / decode_seconds, 3),
        },
        "target": {
            "ratio": TARGET_RATIO,
            "basis": "one worker's records per wall second / ingestion decode's per CPU second",
        },
        "one_worker_gzip_chunk": {
            "records_per_second": round(worker_rate, 1),
            "stored_mb_per_second": round(len(gzipped) / 1e6 / worker_wall, 2),
            "line_mb_per_second": round(len(lines) / 1e6 / worker_wall, 2),
            "wall_seconds": round(worker_wall, 3),
            "worker_cpu_seconds": round(worker_cpu, 3),
            "ratio_to_ingestion_decode": round(worker_rate / cli_rate, 3),
            "ratio_to_ingestion_decode_cpu_basis": round(size / worker_cpu / cli_rate, 3),
            "target_met": worker_rate / cli_rate >= TARGET_RATIO,
            "runs_ratio_to_ingestion_decode": [
                round(size / run["wall"] / (size / c["cpu"]), 3)
                for run, c in zip(worker_runs, cli_runs, strict=True)
            ],
            "ratio_to_in_process_decode": round(worker_rate / decode_rate, 3),
            "ratio_cpu_basis": round(size / worker_cpu / decode_rate, 3),
            "ratio_wall_basis": round(worker_rate / decode_wall_rate, 3),
            "runs_ratio_to_in_process_decode": [
                round(size / run["wall"] / decode_rate, 3) for run in worker_runs
            ],
            "fake_gcs_cpu_seconds_per_run": round(gcs_cpu / repeats, 3),
        },
        "two_workers": {
            "sequential_wall_seconds": round(statistics.median(sequential), 3),
            "concurrent_wall_seconds": round(statistics.median(parallel), 3),
            "speed_up": round(statistics.median(sequential) / statistics.median(parallel), 2),
        },
        "estimate_inputs": {
            "BYTES_PER_CPU_SECOND": round(bytes_per_cpu_second),
            "BYTES_PER_RECORD": round(bytes_per_record),
        },
        "day_at_30k_per_second": {
            "messages": DAY_MESSAGES,
            "stored_tb": round(day_bytes / 1e12, 2),
            "cpu_hours": round(day_cpu / 3600, 1),
            "hours_at_concurrency": {str(n): round(day_cpu / n / 3600, 2) for n in CONCURRENCIES},
            "estimate_py": day.as_json(),  # ingestion/backfill/estimate.py, its constants
        },
    }


def chart(result: dict[str, Any], path: Path) -> None:
    with common.figure(path, columns=2, figsize=(13, 4.2)) as (_, axes):
        left, right = axes
        worker = result["one_worker_gzip_chunk"]
        values = [
            result["in_process_decode"]["records_per_cpu_second"],
            result["ingestion_decode_in_process"]["records_per_cpu_second"],
            worker["records_per_second"],
        ]
        bars = left.bar(
            [
                "bare decode step\n(CPU s)",
                "ingestion decode,\nfile to gzip files (CPU s)",
                "one chunk worker\n(wall s)",
            ],
            values,
        )
        common.label_bars(left, bars, [f"{v:,.0f}/s" for v in values])
        left.set_ylabel("records per second")
        left.set_title(
            f"Same records, same run: worker at {worker['ratio_to_ingestion_decode']:.0%} of"
            f" ingestion decode, {worker['ratio_to_in_process_decode']:.0%} of the bare step"
            f"\n({worker['stored_mb_per_second']} MB/s stored; target 80% of ingestion decode)"
        )
        two = result["two_workers"]
        values = [two["sequential_wall_seconds"], two["concurrent_wall_seconds"]]
        bars = right.bar(["2 chunks, 1 worker", "2 chunks, 2 workers"], values)
        common.label_bars(right, bars, [f"{v:.2f} s" for v in values])
        right.set_ylabel("wall seconds")
        right.set_title(f"Two workers at once: {two['speed_up']}x on this machine")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6000, help="records in the corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    reason = common.corpus_unavailable()
    if reason:
        print(f"bench/backfill.py: {reason}", file=sys.stderr)
        return 2
    result = run(args.size, args.repeats)
    data, picture = common.save(result, args.output, chart)
    shown = {k: v for k, v in result.items() if k != "machine"}
    print(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    print(f"wrote {data} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
