"""The composition root of ``ingestion decode``: message files through the decoder service.

Resources are loaded once for the run; lines are read in order, turned into messages by the line
codec and handed to the service in batches (a batch is flushed to the files before its uris
count as delivered). A line that is not a message becomes a ``DecodePubsubMessages`` error.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..adapters.dedup import InMemoryDedupStore, NoDedup
from ..adapters.files import DEFAULT_DECODED_TEMPLATE, DEFAULT_ERROR_TEMPLATE, FileSink, read_lines
from ..context import ConfigurationError, ContextConfig, build_context
from ..core.lines import read_line
from ..service.decoder import DecoderService, Input

PROGRESS_MIN_BYTES = 4 * 1024 * 1024
# Lines handed to the service at once: one flush of the output files per batch.
BATCH_LINES = 1000


@dataclasses.dataclass(frozen=True)
class FileOptions:
    output: Path
    gzip_output: bool = False
    decoded_template: str = DEFAULT_DECODED_TEMPLATE
    error_template: str = DEFAULT_ERROR_TEMPLATE
    dedup: bool = True
    include_stack_trace: bool = True
    progress: bool = True


def _items(inputs: Sequence[Path]) -> Iterator[Input]:
    for path in inputs:
        for line in read_lines(path):
            yield read_line(line)


def decode_files(
    inputs: Sequence[Path], config: ContextConfig, options: FileOptions
) -> dict[str, Any]:
    """Decode every line of ``inputs`` into ``options.output``; the run's summary."""
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise ConfigurationError(f"input not found: {', '.join(missing)}")
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
    with FileSink(
        options.output,
        compress=options.gzip_output,
        decoded_template=options.decoded_template,
        error_template=options.error_template,
    ) as sink:
        service = DecoderService(
            context, sink, dedup, include_stack_trace=options.include_stack_trace
        )
        progress = tqdm(
            unit="msg",
            disable=not options.progress or total_bytes < PROGRESS_MIN_BYTES or None,
            file=sys.stderr,
        )
        with progress:
            items = _items(inputs)
            while batch := list(itertools.islice(items, BATCH_LINES)):
                service.process_batch(batch)
                progress.update(len(batch))
        files = sorted(str(p.relative_to(options.output)) for p in sink.files_written)
    elapsed = time.perf_counter() - started
    counts = dict(sorted(service.counters.snapshot().items()))
    return {"counts": counts, "files": files, "seconds": round(elapsed, 3)}
