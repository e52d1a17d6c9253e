"""``ingestion decode``: the whole decoder over message files, embedded in one command.

Lines are processed in input order. A uri counts as delivered once its decoded line is written, so
a later line with the same uri in the same run is a ``Duplicate`` (in-memory, for the whole run;
``--no-dedup`` turns it off).

Exit status: 0 when every input was read to its end; 1 when the run completed but some input was
damaged (its lines before the damage were processed; one stderr line per damaged file); 2 with a
one-line reason for usage and configuration errors (a template that would write outside
``--output`` included).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..adapters.file_sink import DEFAULT_DECODED_TEMPLATE, DEFAULT_ERROR_TEMPLATE
from ..context import ConfigurationError, ContextConfig
from ..core.limits import MAX_PAYLOAD_BYTES
from ..entrypoints.decode_files import FileOptions, decode_files
from ..resources.schemas import PROJECT_SCHEMAS
from ..resources.validators import DEFAULT_ENGINE, ENGINES


def add_commands(commands: Any) -> None:
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
    decode.add_argument(
        "--max-payload-bytes",
        type=_positive_int,
        default=MAX_PAYLOAD_BYTES,
        metavar="N",
        help=f"payload limit after decompression (default: {MAX_PAYLOAD_BYTES})",
    )
    decode.add_argument("--no-dedup", action="store_true", help="do not reject repeated uris")
    decode.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    decode.add_argument("--gzip-output", action="store_true", help="write .ndjson.gz files")
    decode.add_argument("--decoded-template", default=DEFAULT_DECODED_TEMPLATE)
    decode.add_argument("--error-template", default=DEFAULT_ERROR_TEMPLATE)
    decode.add_argument("--no-stack-trace", action="store_true", help="omit stack_trace*")
    decode.add_argument("--summary-json", type=Path, metavar="FILE")
    decode.add_argument("--no-progress", action="store_true")
    decode.set_defaults(run=run)


def _positive_int(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return int(text)


def _location(path: Path | None) -> str:
    return "" if path is None else str(path)


def run(args: argparse.Namespace) -> int:
    config = ContextConfig(
        schemas_location=str(args.schemas),
        geo_city_database=_location(args.geo_city_db),
        geo_isp_database=_location(args.geo_isp_db),
        geo_city_filter=_location(args.geo_city_filter),
        scrubber_rules=_location(args.scrubber_rules),
        validation_engine=args.engine,
        max_payload_bytes=args.max_payload_bytes,
    )
    options = FileOptions(
        output=args.output,
        gzip_output=args.gzip_output,
        decoded_template=args.decoded_template,
        error_template=args.error_template,
        dedup=not args.no_dedup,
        include_stack_trace=not args.no_stack_trace,
        progress=not args.no_progress,
    )
    try:
        summary = decode_files(args.inputs, config, options)
    except ConfigurationError as exc:
        print(f"ingestion: error: {exc}", file=sys.stderr)
        return 2
    print_summary(summary)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    damaged: list[dict[str, Any]] = summary["damaged"]
    for damage in damaged:
        print(
            f"ingestion: damaged input {damage['file']} at byte {damage['offset']} "
            f"after {damage['lines_read']} lines: {damage['reason']}",
            file=sys.stderr,
        )
    return 1 if damaged else 0


def print_summary(summary: dict[str, Any]) -> None:
    counts: dict[str, int] = summary["counts"]
    seconds = float(summary["seconds"])
    inputs = counts.get("input", 0)
    print(f"{'outcome':<40} {'count':>9}")
    print(f"{'-' * 40} {'-' * 9}")
    for key, value in counts.items():
        print(f"{key:<40} {value:>9}")
    rate = inputs / seconds if seconds > 0 else 0.0
    print(f"{inputs} input messages in {seconds:.2f} s ({rate:,.0f} msg/s)")
