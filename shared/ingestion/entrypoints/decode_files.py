"""The composition root of ``ingestion decode``: message files through the decoder service.

Resources are loaded once for the run; lines are read in order, turned into messages by the line
codec and handed to the service in batches (a batch is flushed to the files before its uris
count as delivered). A line that is not a message becomes a ``DecodePubsubMessages`` error.

A batch ends at ``BATCH_LINES`` lines or ``BATCH_BYTES`` payload bytes, whichever comes first: its
outputs, parsed documents included, stay alive until it is flushed, so the bytes bound what a
run holds (348 desktop main pings peaked at 528 MiB in one batch, 130 MiB in batches of 1 MiB),
and every full collection of the garbage collector, which walks what is alive, stays short.

A damaged input file (``DamagedInput``: a truncated or corrupt gzip file, trailing garbage, an
I/O error) does not stop the run: its lines before the damage are decoded like any others, the
damage goes into the summary's ``damaged`` list, and the run goes on with the next file.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..adapters.dedup import InMemoryDedupStore, NoDedup
from ..adapters.file_reader import DamagedInput, read_lines
from ..adapters.file_sink import (
    DEFAULT_DECODED_TEMPLATE,
    DEFAULT_ERROR_TEMPLATE,
    FileSink,
    TemplateError,
)
from ..context import ConfigurationError, ContextConfig, build_context
from ..core.lines import read_line
from ..core.message import Message
from ..service.decoder import DecoderService, Input

PROGRESS_MIN_BYTES = 4 * 1024 * 1024
# Lines handed to the service at once, and their payload bytes (as read: mostly gzipped) at
# most: one flush of the output files per batch (see the module).
BATCH_LINES = 1000
BATCH_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class FileOptions:
    output: Path
    gzip_output: bool = False
    decoded_template: str = DEFAULT_DECODED_TEMPLATE
    error_template: str = DEFAULT_ERROR_TEMPLATE
    dedup: bool = True
    include_stack_trace: bool = True
    progress: bool = True


def _items(inputs: Sequence[Path], damaged: list[DamagedInput]) -> Iterator[Input]:
    """Every line of every input in order; a damaged file's readable lines, then the next file."""
    for path in inputs:
        try:
            for line in read_lines(path):
                yield read_line(line)
        except DamagedInput as damage:
            damaged.append(damage)


def _batches(items: Iterator[Input]) -> Iterator[list[Input]]:
    """``items`` in lists of ``BATCH_LINES`` at most, each ended by the item that brings its
    payload bytes to ``BATCH_BYTES``."""
    batch: list[Input] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item.payload if isinstance(item, Message) else item.body)
        if len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _sink(options: FileOptions) -> FileSink:
    try:
        return FileSink(
            options.output,
            compress=options.gzip_output,
            decoded_template=options.decoded_template,
            error_template=options.error_template,
        )
    except TemplateError as exc:
        raise ConfigurationError(str(exc)) from None


def decode_files(
    inputs: Sequence[Path], config: ContextConfig, options: FileOptions
) -> dict[str, Any]:
    """Decode every line of ``inputs`` into ``options.output``; the run's summary.

    Raises ``ConfigurationError`` for a missing input, a resource that cannot be loaded or a
    template that would write outside ``options.output`` (refused before anything is read; a
    directory resolving outside it at run time stops the run, nothing written there).
    """
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise ConfigurationError(f"input not found: {', '.join(missing)}")
    sink = _sink(options)
    context = build_context(config)
    # Schemas, databases and compiled rules live for the whole run: keep them out of the
    # collector's generations so that per-message garbage collections stay cheap.
    gc.collect()
    gc.freeze()
    if context.geo_city is None:
        print(
            "note: no --geo-city-db, geo lookup skipped (IP addresses are still removed)",
            file=sys.stderr,
        )
    dedup = InMemoryDedupStore(window_seconds=None) if options.dedup else NoDedup()
    total_bytes = sum(p.stat().st_size for p in inputs)
    started = time.perf_counter()
    damaged: list[DamagedInput] = []
    with sink:
        service = DecoderService(
            context, sink, dedup, include_stack_trace=options.include_stack_trace
        )
        progress = tqdm(
            unit="msg",
            disable=not options.progress or total_bytes < PROGRESS_MIN_BYTES or None,
            file=sys.stderr,
        )
        with progress:
            try:
                for batch in _batches(_items(inputs, damaged)):
                    service.process_batch(batch)
                    progress.update(len(batch))
            except TemplateError as exc:
                raise ConfigurationError(str(exc)) from None
        files = sorted(str(p.relative_to(options.output)) for p in sink.files_written)
    elapsed = time.perf_counter() - started
    counts = dict(sorted(service.counters.snapshot().items()))
    return {
        "counts": counts,
        "files": files,
        "damaged": [
            {
                "file": str(damage.path),
                "offset": damage.offset,
                "lines_read": damage.lines_read,
                "reason": damage.reason,
            }
            for damage in damaged
        ],
        "seconds": round(elapsed, 3),
    }
