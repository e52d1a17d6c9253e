"""Decoder throughput on a realistic message mix, against the bare cost of the same bytes.

Corpus: ``bench/common.py`` (real pings from ``../shared`` wrapped as edge messages, about 92.5 %
of payloads gzipped). For each validation engine the whole decoder
(``DecoderService.decode``: IP removal, geo, decompression, parsing, scrubbing, validation, user
agent, metadata) runs over the corpus several times on one core; in the same run the *bare* cost of
the same bytes (gunzip + ``orjson.loads`` + ``orjson.dumps``) is measured, and the ratio of the two
is the number that matters: how much the decoder costs on top of touching the data at all.

The base gunzips with the standard library's zlib. The decoder inflates with ISA-L when it is
installed, so a second, stricter base does the same with ISA-L, and both ratios are reported: the
first is what a user saves against the obvious implementation, the second what the decoder's own
steps cost.

Writes ``bench/results/decode.json`` and ``bench/results/decode.png``. Not a test: run
``make bench``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import zlib
from pathlib import Path
from typing import Any

import common
import orjson

from ingestion.context import build_context
from ingestion.core.message import Message
from ingestion.resources.validators import ENGINES
from ingestion.service.decoder import DecoderService
from ingestion.steps.decompress import INFLATE_LIBRARY

# Messages each contender decodes in turn (see interleaved_round).
CHUNK = 50


def bare_pass(corpus: list[Message], inflate: Any = zlib.decompress) -> None:
    for message in corpus:
        data = message.payload
        if data[:2] == b"\x1f\x8b":
            data = inflate(data, 31)
        orjson.dumps(orjson.loads(data))


def bare_same_inflater_pass(corpus: list[Message]) -> None:
    """The bare cost with the decoder's own inflater (ISA-L when installed): the stricter base."""
    bare_pass(corpus, INFLATE_LIBRARY.decompress)


def decoder_pass(service: DecoderService, corpus: list[Message]) -> dict[str, int]:
    outcomes = {"decoded": 0, "errors": 0, "dropped": 0}
    for message in corpus:
        outcome = service.decode(message)
        outcomes["decoded"] += len(outcome.decoded)
        outcomes["errors"] += len(outcome.errors)
        outcomes["dropped"] += len(outcome.dropped)
        # Freed now, as the bare pass frees its document, and as the function frees a request's
        # outputs once they are delivered: not after the next message has evicted them from cache.
        del outcome
    return outcomes


def interleaved_round(
    corpus: list[Message], services: dict[str, DecoderService], chunk: int = CHUNK
) -> dict[str, float]:
    """CPU seconds of one pass over ``corpus`` for the bare cost and each engine.

    The contenders take turns on every small chunk of the corpus, in an order that rotates, so
    that a noisy neighbour or a frequency change slows them alike: the ratio of the sums then
    varies far less between rounds than whole passes timed one after another.
    """
    contenders: list[tuple[str, Any]] = [
        ("bare", bare_pass),
        ("bare_same_inflater", bare_same_inflater_pass),
    ] + [
        (engine, lambda part, s=service: decoder_pass(s, part))
        for engine, service in services.items()
    ]
    for service in services.values():  # a cache warm from earlier rounds would only ever hit
        for database in (service.context.geo_city, service.context.geo_isp):
            if database is not None:
                database.clear_lookup_cache()
    seconds = {name: 0.0 for name, _ in contenders}
    for turn, start in enumerate(range(0, len(corpus), chunk)):
        part = corpus[start : start + chunk]
        shift = turn % len(contenders)
        for name, contender in contenders[shift:] + contenders[:shift]:
            seconds[name] += common.cpu_seconds(contender, part)
    return seconds


def run(size: int, repeats: int, engine_names: tuple[str, ...] = ENGINES) -> dict[str, Any]:
    corpus = common.build_corpus(size)
    wire_bytes = sum(len(m.payload) for m in corpus)
    raw_bytes = sum(
        len(zlib.decompress(m.payload, 31) if m.payload[:2] == b"\x1f\x8b" else m.payload)
        for m in corpus
    )
    services: dict[str, DecoderService] = {}
    engines: dict[str, Any] = {}
    for engine in engine_names:
        with common.Stopwatch() as load:
            context = build_context(common.resources(engine))
        services[engine] = DecoderService(context, sink=None)  # type: ignore[arg-type]
        with common.Stopwatch() as first_pass:
            outcomes = decoder_pass(services[engine], corpus)  # compiles every schema it meets
        engines[engine] = {
            "context_load_seconds": round(load.wall, 4),
            "first_pass_seconds": round(first_pass.cpu, 4),
            "outcomes": outcomes,
        }
    # As the CLI and the function do after loading: long-lived objects leave the collector's view.
    gc.collect()
    gc.freeze()
    bare_pass(corpus)  # warm caches
    bare_times: list[float] = []
    strict_times: list[float] = []
    engine_times: dict[str, list[float]] = {engine: [] for engine in engine_names}
    for _ in range(repeats):
        round_times = interleaved_round(corpus, services)
        bare_times.append(round_times.pop("bare"))
        strict_times.append(round_times.pop("bare_same_inflater"))
        for engine, seconds in round_times.items():
            engine_times[engine].append(seconds)
    bare = statistics.median(bare_times)
    strict = statistics.median(strict_times)
    for engine, times in engine_times.items():
        seconds = statistics.median(times)
        ratios = [t / b for t, b in zip(times, bare_times, strict=True)]
        strict_ratios = [t / b for t, b in zip(times, strict_times, strict=True)]
        engines[engine].update(
            {
                "seconds": round(seconds, 4),
                "messages_per_second": common.messages_per_second(size, seconds),
                "wire_mb_per_second": round(wire_bytes / seconds / 1e6, 2),
                "decompressed_mb_per_second": round(raw_bytes / seconds / 1e6, 2),
                "ratio_to_bare": common.median(ratios, 3),
                "ratio_per_round": [round(r, 3) for r in ratios],
                "ratio_to_bare_same_inflater": common.median(strict_ratios, 3),
            }
        )
    return {
        "benchmark": "decode",
        "machine": common.machine(),
        "corpus": {
            "messages": size,
            "wire_bytes": wire_bytes,
            "decompressed_bytes": raw_bytes,
            "gzip_share": common.GZIP_SHARE,
            "client_addresses": max(size // common.MESSAGES_PER_ADDRESS, 1),
            "geo_lookup_cache": "cleared at the start of every round",
            "mix": [{"share": s, "kind": k, "ping": p} for s, k, p in common.MIX],
        },
        "repeats": repeats,
        "timer": (
            "process CPU time of one process (one core); contenders take turns on every"
            f" {CHUNK} messages"
        ),
        "bare": {
            "what": "gunzip + orjson.loads + orjson.dumps",
            "seconds": round(bare, 4),
            "messages_per_second": common.messages_per_second(size, bare),
        },
        "bare_same_inflater": {
            "what": f"the same with the decoder's inflater ({INFLATE_LIBRARY.__name__})",
            "seconds": round(strict, 4),
            "messages_per_second": common.messages_per_second(size, strict),
        },
        "engines": engines,
        "targets": {"messages_per_second_per_core": 1000, "ratio_max": 2.0, "ratio_goal": 1.5},
    }


def chart(result: dict[str, Any], path: Path) -> None:
    engines = result["engines"]
    names = ["bare", "bare, same inflater", *engines]
    rates = [
        result["bare"]["messages_per_second"],
        result["bare_same_inflater"]["messages_per_second"],
    ] + [e["messages_per_second"] for e in engines.values()]
    labels = ["base", "stricter base"] + [
        f"{e['ratio_to_bare']:.2f}x base\n{e['ratio_to_bare_same_inflater']:.2f}x stricter"
        for e in engines.values()
    ]
    with common.figure(path, figsize=(8, 4.2)) as (_, ax):
        colors = ["#999999", "#cccccc", "#1f77b4", "#ff7f0e"][: len(names)]
        common.label_bars(ax, ax.bar(names, rates, color=colors), labels)
        ax.axhline(1000, color="red", linestyle="--", linewidth=1, label="target 1,000 msg/s/core")
        ax.set_ylabel("messages per second, one core")
        ax.set_title(
            f"Decoder vs bare gunzip+parse+dump ({result['corpus']['messages']} msgs mix;"
            " cost in CPU)"
        )
        ax.set_ylim(0, max(rates) * 1.15)
        ax.legend(loc="upper right")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="only this engine (repeatable)"
    )
    args = parser.parse_args(argv)
    problem = common.corpus_unavailable()
    if problem:
        print(problem)
        return 1
    result = run(args.messages, args.repeats, tuple(args.engine or ENGINES))
    data, picture = common.save(result, args.output, chart)
    bare, strict = result["bare"], result["bare_same_inflater"]
    print(f"bare (gunzip+loads+dumps): {bare['messages_per_second']:>10,.0f} msg/s")
    print(f"bare, decoder's inflater:  {strict['messages_per_second']:>10,.0f} msg/s")
    for name, e in result["engines"].items():
        print(
            f"{name:<15} {e['messages_per_second']:>10,.0f} msg/s/core  "
            f"{e['decompressed_mb_per_second']:>7.1f} MB/s  ratio {e['ratio_to_bare']:.2f}"
            f" ({e['ratio_to_bare_same_inflater']:.2f} same inflater)  "
            f"(load {e['context_load_seconds']:.2f} s, first pass {e['first_pass_seconds']:.2f} s)"
        )
    print(f"results: {data}, {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
