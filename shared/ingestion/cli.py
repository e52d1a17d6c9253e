"""``ingestion decode``: the whole decoder over message files, embedded in one command.

Lines are processed in input order. A uri counts as delivered once its decoded line is written, so
a later line with the same uri in the same run is a ``Duplicate`` (in-memory, for the whole run;
``--no-dedup`` turns it off). Rejected messages are data, not failures: the exit code is 0 unless
the command was misused or a resource could not be loaded (2, with a one-line reason).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from .adapters.dedup import InMemoryDedupStore, NoDedup
from .adapters.files import (
    DEFAULT_DECODED_TEMPLATE,
    DEFAULT_ERROR_TEMPLATE,
    READ_ERROR_TYPE,
    FileSink,
    UnreadableLine,
    message_from_line,
    read_lines,
)
from .core.error_output import to_error_message
from .core.message import Message
from .pipeline import Outcome
from .resources.loader import PROJECT_SCHEMAS, ConfigurationError, DecoderConfig, build_context
from .resources.validators import DEFAULT_ENGINE, ENGINES
from .service.decoder import DecoderService

PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingestion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser("decode", help="decode message files into decoded/ and error/")
    decode.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help=".ndjson[.gz]")
    decode.add_argument("--output", required=True, type=Path, metavar="DIR")
    decode.add_argument(
        "--schemas",
        type=Path,
        default=PROJECT_SCHEMAS,
        help="schema directory or mozilla-pipeline-schemas .tar.gz (default: the project's own)",
    )
    decode.add_argument("--geo-city-db", type=Path, metavar="FILE")
    decode.add_argument("--geo-isp-db", type=Path, metavar="FILE")
    decode.add_argument("--geo-city-filter", type=Path, metavar="FILE")
    decode.add_argument("--scrubber-rules", type=Path, metavar="FILE")
    decode.add_argument("--no-dedup", action="store_true", help="do not reject repeated uris")
    decode.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    decode.add_argument("--gzip-output", action="store_true", help="write .ndjson.gz files")
    decode.add_argument("--decoded-template", default=DEFAULT_DECODED_TEMPLATE)
    decode.add_argument("--error-template", default=DEFAULT_ERROR_TEMPLATE)
    decode.add_argument("--no-stack-trace", action="store_true", help="omit stack_trace*")
    decode.add_argument("--summary-json", type=Path, metavar="FILE")
    decode.add_argument("--no-progress", action="store_true")
    return parser


def _messages(inputs: Sequence[Path]) -> Iterator[tuple[int, Message | UnreadableLine, bytes]]:
    for path in inputs:
        for line in read_lines(path):
            try:
                yield len(line), message_from_line(line), line
            except UnreadableLine as exc:
                yield len(line), exc, line


def decode_files(args: argparse.Namespace) -> dict[str, object]:
    missing = [str(p) for p in args.inputs if not p.is_file()]
    if missing:
        raise ConfigurationError(f"input not found: {', '.join(missing)}")
    config = DecoderConfig(
        schemas=args.schemas,
        geo_city_db=args.geo_city_db,
        geo_isp_db=args.geo_isp_db,
        geo_city_filter=args.geo_city_filter,
        scrubber_rules=args.scrubber_rules,
        engine=args.engine,
    )
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
    dedup = NoDedup() if args.no_dedup else InMemoryDedupStore(window_seconds=None)
    trace = not args.no_stack_trace
    total_bytes = sum(p.stat().st_size for p in args.inputs)
    started = time.perf_counter()
    with FileSink(
        args.output,
        compress=args.gzip_output,
        decoded_template=args.decoded_template,
        error_template=args.error_template,
    ) as sink:
        service = DecoderService(context, sink, dedup, include_stack_trace=trace)
        progress = tqdm(
            unit="msg",
            disable=args.no_progress or total_bytes < PROGRESS_MIN_BYTES or None,
            file=sys.stderr,
        )
        with progress:
            for _size, item, line in _messages(args.inputs):
                if isinstance(item, UnreadableLine):
                    error = to_error_message(
                        Message(attributes={}, payload=line),
                        item,
                        READ_ERROR_TYPE,
                        include_stack_trace=trace,
                    )
                    sink.deliver([], [error])
                    service.counters.record(Outcome(errors=[error]))
                else:
                    service.process(item)
                progress.update()
        files = sorted(str(p.relative_to(args.output)) for p in sink.files_written)
    elapsed = time.perf_counter() - started
    counts = dict(sorted(service.counters.snapshot().items()))
    return {"counts": counts, "files": files, "seconds": round(elapsed, 3)}


def print_summary(summary: dict[str, object]) -> None:
    counts = summary["counts"]
    assert isinstance(counts, dict)
    seconds = float(summary["seconds"])  # type: ignore[arg-type]
    inputs = counts.get("input", 0)
    print(f"{'outcome':<40} {'count':>9}")
    print(f"{'-' * 40} {'-' * 9}")
    for key, value in counts.items():
        print(f"{key:<40} {value:>9}")
    rate = inputs / seconds if seconds > 0 else 0.0
    print(f"{inputs} input messages in {seconds:.2f} s ({rate:,.0f} msg/s)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        summary = decode_files(args)
    except ConfigurationError as exc:
        print(f"ingestion: error: {exc}", file=sys.stderr)
        return 2
    print_summary(summary)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
