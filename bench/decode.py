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

End to end (``end_to_end``): ``ingestion decode`` as a user runs it, in process
(``decode_files``: read the gzipped message files, decode, write the output files), with
``--gzip-output`` off and on, against a bare pass over the same files that does only what cannot
be avoided: gunzip each file, ``orjson.loads`` each line, base64-decode and gunzip the payload,
``orjson.loads`` + ``orjson.dumps`` the document, ``orjson.dumps`` an output line (attributes and
base64 payload) and write the lines, gzipped or not, in one piece per file. The bare pass's base
uses the standard library (zlib at its fastest level for the output, whose files come out about
the size of the sink's); a stricter base uses the decoder's own codecs (ISA-L when installed, at
the sink's level). The decoder runs on a context loaded and warmed once, as in a long run; the
start-up (loading the context) is measured on its own and reported beside the ratios.

Writes ``bench/results/decode.json`` and ``bench/results/decode.png``. Not a test: run
``make bench``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import shutil
import statistics
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any
from unittest import mock

import common
import orjson

from ingestion.adapters.file_sink import DEFLATE_LIBRARY, GZIP_LEVEL
from ingestion.context import Context, build_context
from ingestion.core.message import Message
from ingestion.entrypoints import decode_files as decode_files_module
from ingestion.entrypoints.decode_files import FileOptions, decode_files
from ingestion.resources.validators import ENGINES
from ingestion.service.decoder import DecoderService
from ingestion.steps.decompress import INFLATE_LIBRARY

# Messages each contender decodes in turn (see interleaved_round).
CHUNK = 50
# Rounds of the end-to-end measurement (each runs every contender once over all the files).
END_TO_END_REPEATS = 7
# The bare writer's gzip level with the standard library: zlib's fastest, whose files are about
# the size of the sink's (ISA-L at its level compresses this mix a little better).
BARE_DEFLATE_LEVEL = 1


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


def _entry(times: list[float], size: int, output_bytes: int, what: str) -> dict[str, Any]:
    seconds = statistics.median(times)
    return {
        "what": what,
        "seconds": round(seconds, 4),
        "messages_per_second": common.messages_per_second(size, seconds),
        "output_bytes": output_bytes,
    }


def _clear_lookup_caches(context: Context) -> None:
    for database in (context.geo_city, context.geo_isp):
        if database is not None:
            database.clear_lookup_cache()


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
        _clear_lookup_caches(service.context)
    seconds = {name: 0.0 for name, _ in contenders}
    for turn, start in enumerate(range(0, len(corpus), chunk)):
        part = corpus[start : start + chunk]
        shift = turn % len(contenders)
        for name, contender in contenders[shift:] + contenders[:shift]:
            seconds[name] += common.cpu_seconds(contender, part)
    return seconds


# --- end to end -----------------------------------------------------------------------------
def bare_end_to_end(
    inputs: list[Path],
    output: Path,
    compress: bool,
    inflate: Any = zlib,
    deflate: Any = zlib,
    level: int = BARE_DEFLATE_LEVEL,
) -> None:
    """What ``ingestion decode`` cannot avoid doing to the same files, and nothing else: one output
    file per input, each line written as it is made (through a buffered file, and a streaming
    deflater for ``compress``)."""
    output.mkdir(parents=True, exist_ok=True)
    suffix = ".ndjson.gz" if compress else ".ndjson"
    for index, path in enumerate(inputs):
        deflater = deflate.compressobj(level, zlib.DEFLATED, 31) if compress else None
        with (output / f"part-{index:05d}{suffix}").open("wb") as handle:
            for line in inflate.decompress(path.read_bytes(), 31).splitlines():
                record = orjson.loads(line)
                payload = base64.b64decode(record["payload"])
                if payload[:2] == b"\x1f\x8b":
                    payload = inflate.decompress(payload, 31)
                document = orjson.dumps(orjson.loads(payload))
                out = orjson.dumps(
                    {
                        "attributeMap": record["attributeMap"],
                        "payload": base64.b64encode(document).decode("ascii"),
                    },
                    option=orjson.OPT_APPEND_NEWLINE,
                )
                handle.write(deflater.compress(out) if deflater else out)
            if deflater:
                handle.write(deflater.flush())


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def end_to_end(
    corpus: list[Message], engine: str, repeats: int, folder: Path | None = None
) -> dict[str, Any]:
    """``ingestion decode`` over the corpus written as message files, against the bare pass.

    Each round runs every contender once over all the files, in an order that rotates; a
    contender's time is the process's CPU time of its run, the ratio of a round the decoder's
    time over the bare pass's in that round, and the medians over rounds are reported.
    """
    with tempfile.TemporaryDirectory(dir=folder) as name:
        work = Path(name)
        inputs = common.write_message_files(corpus, work / "in")
        config = common.resources(engine)
        with common.Stopwatch() as load:
            context = build_context(config)
        with common.Stopwatch() as cold:  # as a user runs it: loading the context included
            decode_files(inputs, config, FileOptions(work / "cold", progress=False))
        shutil.rmtree(work / "cold")
        options = {
            compress: FileOptions(work / "out", gzip_output=compress, progress=False)
            for compress in (False, True)
        }

        def decoder(compress: bool) -> None:
            decode_files(inputs, config, options[compress])

        def job(contender: tuple[str, bool]) -> Any:
            name, compress = contender
            if name == "decoder":
                return lambda: decoder(compress)
            if name == "bare":
                return lambda: bare_end_to_end(inputs, work / "out", compress)
            return lambda: bare_end_to_end(
                inputs, work / "out", compress, INFLATE_LIBRARY, DEFLATE_LIBRARY, GZIP_LEVEL
            )

        contenders = [
            (name, compress)
            for compress in (False, True)
            for name in ("bare", "decoder", "bare_same_codecs")
        ]
        seconds: dict[tuple[str, bool], list[float]] = {c: [] for c in contenders}
        output_bytes: dict[tuple[str, bool], int] = {}
        # The context loaded once and warm, as in a long run (its load is reported apart).
        with mock.patch.object(decode_files_module, "build_context", lambda _: context):
            for contender in contenders:  # once unmeasured: every schema compiled, caches warm
                job(contender)()
                output_bytes[contender] = _tree_bytes(work / "out")
                shutil.rmtree(work / "out")
            for turn in range(repeats):
                _clear_lookup_caches(context)
                shift = turn % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    seconds[contender].append(common.cpu_seconds(job(contender)))
                    shutil.rmtree(work / "out")
        input_bytes = sum(path.stat().st_size for path in inputs)
    size = len(corpus)
    variants: dict[str, Any] = {}
    for compress, variant in ((False, "plain"), (True, "gzip")):
        bare, mine, strict = (
            seconds[(n, compress)] for n in ("bare", "decoder", "bare_same_codecs")
        )
        ratios = [t / b for t, b in zip(mine, bare, strict=True)]
        strict_ratios = [t / b for t, b in zip(mine, strict, strict=True)]

        deflate = f", zlib level {BARE_DEFLATE_LEVEL} output" if compress else ""
        strict_deflate = (
            f" and deflater ({DEFLATE_LIBRARY.__name__} level {GZIP_LEVEL})" if compress else ""
        )
        variants[variant] = {
            "bare": _entry(
                bare,
                size,
                output_bytes[("bare", compress)],
                what=f"the bare pass, standard library{deflate}",
            ),
            "bare_same_codecs": _entry(
                strict,
                size,
                output_bytes[("bare_same_codecs", compress)],
                what=f"the bare pass with the decoder's inflater{strict_deflate}",
            ),
            "decoder": _entry(
                mine,
                size,
                output_bytes[("decoder", compress)],
                what="decode_files, context loaded once",
            ),
            "ratio_end_to_end": common.median(ratios, 3),
            "ratio_per_round": [round(r, 3) for r in ratios],
            "ratio_same_codecs": common.median(strict_ratios, 3),
        }
    return {
        "what": (
            "ingestion decode in process (decode_files: read the gzipped json-line files, decode,"
            " write), against the bare pass over the same files (gunzip, loads each line,"
            " base64-decode and gunzip the payload, loads + dumps the document, dumps and write"
            " an output line)"
        ),
        "engine": engine,
        "input_files": len(inputs),
        "input_bytes": input_bytes,
        "repeats": repeats,
        "timer": "process CPU time of each whole run; the contenders' order rotates every round",
        "startup": {
            "context_load_cpu_seconds": round(load.cpu, 4),
            "cold_run_cpu_seconds": round(cold.cpu, 4),
            "note": (
                "not in the ratios: a long run pays it once. Measured after the engines above"
                " loaded the same resources in this process (their context_load_seconds is a"
                " first load)"
            ),
        },
        "plain": variants["plain"],
        "gzip": variants["gzip"],
        "ratio_end_to_end": variants["gzip"]["ratio_end_to_end"],
        "ratio_end_to_end_plain": variants["plain"]["ratio_end_to_end"],
    }


def run(
    size: int,
    repeats: int,
    engine_names: tuple[str, ...] = ENGINES,
    end_to_end_repeats: int = END_TO_END_REPEATS,
) -> dict[str, Any]:
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
        **(
            {"end_to_end": end_to_end(corpus, engine_names[0], end_to_end_repeats)}
            if end_to_end_repeats
            else {}
        ),
    }


def chart(result: dict[str, Any], path: Path) -> None:
    end = result.get("end_to_end")
    with common.figure(path, columns=2 if end else 1, figsize=(14 if end else 8, 4.2)) as (_, axes):
        if end:
            _decoder_panel(result, axes[0])
            _end_to_end_panel(result, end, axes[1])
        else:
            _decoder_panel(result, axes)


def _decoder_panel(result: dict[str, Any], ax: Any) -> None:
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
    colors = ["#999999", "#cccccc", "#1f77b4", "#ff7f0e"][: len(names)]
    common.label_bars(ax, ax.bar(names, rates, color=colors), labels)
    ax.axhline(1000, color="red", linestyle="--", linewidth=1, label="target 1,000 msg/s/core")
    ax.set_ylabel("messages per second, one core")
    ax.set_title(
        f"Decoder vs bare gunzip+parse+dump ({result['corpus']['messages']} msgs mix; cost in CPU)"
    )
    ax.set_ylim(0, max(rates) * 1.15)
    ax.legend(loc="upper right")


def _end_to_end_panel(result: dict[str, Any], end: dict[str, Any], ax: Any) -> None:
    names, rates, labels, colors = [], [], [], []
    for variant in ("plain", "gzip"):
        entry = end[variant]
        names += [f"bare\n{variant}", f"same codecs\n{variant}", f"decode\n{variant}"]
        rates += [entry[k]["messages_per_second"] for k in ("bare", "bare_same_codecs", "decoder")]
        labels += [
            "base",
            "stricter base",
            f"{entry['ratio_end_to_end']:.2f}x base\n{entry['ratio_same_codecs']:.2f}x stricter",
        ]
        colors += ["#999999", "#cccccc", "#2ca02c"]
    common.label_bars(ax, ax.bar(names, rates, color=colors), labels)
    ax.axhline(1000, color="red", linestyle="--", linewidth=1, label="target 1,000 msg/s/core")
    ax.set_ylabel("messages per second, one core")
    ax.set_title(
        f"End to end: files in, files out ({result['corpus']['messages']} msgs in"
        f" {end['input_files']} .ndjson.gz; {end['engine']})"
    )
    ax.set_ylim(0, max(rates) * 1.2)
    ax.legend(loc="upper right")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="only this engine (repeatable)"
    )
    parser.add_argument(
        "--end-to-end-repeats",
        type=int,
        default=END_TO_END_REPEATS,
        help="rounds of the end-to-end measurement, with the first engine (0: skip it)",
    )
    args = parser.parse_args(argv)
    problem = common.corpus_unavailable()
    if problem:
        print(problem)
        return 1
    result = run(
        args.messages, args.repeats, tuple(args.engine or ENGINES), args.end_to_end_repeats
    )
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
    end = result.get("end_to_end")
    if end:
        for variant in ("plain", "gzip"):
            entry = end[variant]
            print(
                f"end to end, {variant + ' output:':<14} bare {entry['bare']['seconds']:.3f} s,"
                f" ingestion decode {entry['decoder']['seconds']:.3f} s:"
                f" ratio {entry['ratio_end_to_end']:.2f}"
                f" ({entry['ratio_same_codecs']:.2f} same codecs)"
            )
        startup = end["startup"]
        print(
            f"start-up (not in the ratios): context load {startup['context_load_cpu_seconds']:.2f}"
            f" s CPU; a cold run {startup['cold_run_cpu_seconds']:.2f} s"
        )
    print(f"results: {data}, {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
