"""Decoder throughput on a realistic message mix, against the bare cost of the same bytes.

Corpus: real pings from ``../shared`` (desktop main, event, crash; Glean baseline, metrics and
events) wrapped as edge messages with realistic attributes; about 92.5 % of payloads gzipped (the
production share, decoder-behaviour.md §8). For each validation engine the whole decoder
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
import gzip
import ipaddress
import json
import platform
import random
import statistics
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))

from ingestion.context import Context  # noqa: E402
from ingestion.core.message import Message  # noqa: E402
from ingestion.resources.geoip import GeoCityDatabase, GeoIspDatabase  # noqa: E402
from ingestion.resources.schemas import SchemaStore  # noqa: E402
from ingestion.resources.scrubber_rules import ScrubberRules  # noqa: E402
from ingestion.resources.user_agents import default_parser  # noqa: E402
from ingestion.resources.validators import ENGINES  # noqa: E402
from ingestion.service.decoder import DecoderService  # noqa: E402
from ingestion.steps.decompress import INFLATE_LIBRARY  # noqa: E402

SHARED = REPO.parent / "shared"
SCHEMAS = SHARED / "anchors/mozilla-pipeline-schemas/generated-schemas/schemas"
VALIDATION = SHARED / "anchors/mozilla-pipeline-schemas/validation"
BEAM = SHARED / "anchors/gcp-ingestion/ingestion-beam/src/test/resources"
RESULTS = REPO / "bench" / "results"

FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
GLEAN_AGENT = "Glean/61.2.0 (Rust on Windows)"
FENIX_UA = "Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0"
# Client addresses: a pool with about two messages per address, most inside the networks the
# GeoIP test databases know (the rest miss, as unknown addresses do), so the decoder's per-address
# lookup cache sees a realistic hit rate once it is cleared at the start of every round.
KNOWN_NETWORKS = (
    "67.43.156.0/24",
    "81.2.69.160/27",
    "89.160.20.128/25",
    "175.16.199.0/24",
    "202.196.224.0/20",
    "216.160.83.56/29",
)
UNKNOWN_NETWORK = "198.51.100.0/24"
KNOWN_SHARE = 0.8
MESSAGES_PER_ADDRESS = 2

# (share of messages, kind, ping file). Shares count messages, not bytes: most messages are small
# Glean pings. Desktop main pings are the real ones (138 KB and 383 KB uncompressed); the
# sub-4 KB main.4 files in the validation folder are schema fixtures, not pings a client sends.
MIX: list[tuple[float, str, str]] = [
    (0.06, "telemetry/main", "telemetry/main.4.gc_sample.pass.json"),
    (0.04, "telemetry/main", "telemetry/main.4.gc_sample_2.pass.json"),
    (0.02, "telemetry/main", "telemetry/main.4.sample.pass.json"),
    (0.015, "telemetry/main", "telemetry/main.4.profile.pass.json"),
    (0.015, "telemetry/main", "telemetry/main.4.latewrites.pass.json"),
    (0.10, "telemetry/event", "telemetry/event.4.sample.pass.json"),
    (0.03, "telemetry/crash", "telemetry/crash.4.sample.pass.json"),
    (0.02, "telemetry/crash", "telemetry/crash.4.stackTraces.pass.json"),
    (0.20, "org-mozilla-fenix/baseline", "glean/glean.1.baseline.pass.json"),
    (0.15, "firefox-desktop/baseline", "glean/glean.1.baseline.pass.json"),
    (0.15, "org-mozilla-fenix/metrics", "glean/glean.1.metrics.pass.json"),
    (0.10, "firefox-desktop/events", "glean/glean.1.events.pass.json"),
    (0.10, "firefox-desktop/events", "glean/glean.1.events_with_session.pass.json"),
]
GZIP_SHARE = 0.925
# Messages each contender decodes in turn (see interleaved_round).
CHUNK = 50


def client_addresses(count: int, rng: random.Random) -> list[str]:
    addresses: set[str] = set()
    while len(addresses) < count:
        network = ipaddress.ip_network(
            rng.choice(KNOWN_NETWORKS) if rng.random() < KNOWN_SHARE else UNKNOWN_NETWORK
        )
        addresses.add(str(network[rng.randrange(network.num_addresses)]))
    return sorted(addresses)


def _edge_attributes(kind: str, doc_id: str, client_ip: str, rng: random.Random) -> dict[str, str]:
    namespace, doctype = kind.split("/")
    if namespace == "telemetry":
        uri = f"/submit/telemetry/{doc_id}/{doctype}/Firefox/132.0/release/20261028094500"
        agent = {"user_agent": FIREFOX_UA, "x_pingsender_version": "1.0"}
    else:
        uri = f"/submit/{namespace}/{doctype}/1/{doc_id}"
        agent = (
            {"user_agent": FENIX_UA, "x_telemetry_agent": GLEAN_AGENT}
            if namespace.startswith("org-mozilla")
            else {"user_agent": FIREFOX_UA, "x_telemetry_agent": GLEAN_AGENT}
        )
    return {
        "submission_timestamp": "2026-11-20T10:15:30.123456Z",
        "uri": uri,
        "protocol": "HTTP/1.1",
        "method": "POST",
        "args": "",
        "host": "incoming.telemetry.mozilla.org",
        "remote_addr": "10.0.0.2",
        "x_forwarded_for": f"{client_ip}, 10.0.0.2, 35.191.0.1",
        "date": "Fri, 20 Nov 2026 10:15:30 GMT",
        "dnt": "1",
        **agent,
    }


def build_corpus(size: int, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    bodies = {path: orjson.dumps(json.loads((VALIDATION / path).read_text())) for _, _, path in MIX}
    compressed = {path: gzip.compress(body, compresslevel=6) for path, body in bodies.items()}
    corpus: list[Message] = []
    weights = [share for share, _, _ in MIX]
    addresses = client_addresses(max(size // MESSAGES_PER_ADDRESS, 1), rng)
    for _ in range(size):
        _, kind, path = rng.choices(MIX, weights)[0]
        doc_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        payload = compressed[path] if rng.random() < GZIP_SHARE else bodies[path]
        attributes = _edge_attributes(kind, doc_id, rng.choice(addresses), rng)
        corpus.append(Message(attributes=attributes, payload=payload))
    return corpus


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
            started = time.process_time()
            contender(part)
            seconds[name] += time.process_time() - started
    return seconds


def make_context(engine: str) -> tuple[Context, float]:
    started = time.perf_counter()
    context = Context(
        schemas=SchemaStore.from_path(SCHEMAS, engine=engine),
        scrubber=ScrubberRules.load(),
        user_agents=default_parser(),
        geo_city=GeoCityDatabase(BEAM / "cityDB/GeoIP2-City-Test.mmdb"),
        geo_isp=GeoIspDatabase(BEAM / "ispDB/GeoIP2-ISP-Test.mmdb"),
    )
    return context, time.perf_counter() - started


def run(size: int, repeats: int, engine_names: tuple[str, ...] = ENGINES) -> dict[str, Any]:
    corpus = build_corpus(size)
    wire_bytes = sum(len(m.payload) for m in corpus)
    raw_bytes = sum(
        len(zlib.decompress(m.payload, 31) if m.payload[:2] == b"\x1f\x8b" else m.payload)
        for m in corpus
    )
    services: dict[str, DecoderService] = {}
    engines: dict[str, Any] = {}
    for engine in engine_names:
        context, load_seconds = make_context(engine)
        services[engine] = DecoderService(context, sink=None)  # type: ignore[arg-type]
        started = time.process_time()
        outcomes = decoder_pass(services[engine], corpus)  # compiles every schema it meets
        engines[engine] = {
            "context_load_seconds": round(load_seconds, 4),
            "first_pass_seconds": round(time.process_time() - started, 4),
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
                "messages_per_second": round(size / seconds, 1),
                "wire_mb_per_second": round(wire_bytes / seconds / 1e6, 2),
                "decompressed_mb_per_second": round(raw_bytes / seconds / 1e6, 2),
                "ratio_to_bare": round(statistics.median(ratios), 3),
                "ratio_per_round": [round(r, 3) for r in ratios],
                "ratio_to_bare_same_inflater": round(statistics.median(strict_ratios), 3),
            }
        )
    return {
        "benchmark": "decode",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "corpus": {
            "messages": size,
            "wire_bytes": wire_bytes,
            "decompressed_bytes": raw_bytes,
            "gzip_share": GZIP_SHARE,
            "client_addresses": max(size // MESSAGES_PER_ADDRESS, 1),
            "geo_lookup_cache": "cleared at the start of every round",
            "mix": [{"share": s, "kind": k, "ping": p} for s, k, p in MIX],
        },
        "repeats": repeats,
        "timer": (
            "process CPU time of one process (one core); contenders take turns on every"
            f" {CHUNK} messages"
        ),
        "bare": {
            "what": "gunzip + orjson.loads + orjson.dumps",
            "seconds": round(bare, 4),
            "messages_per_second": round(size / bare, 1),
        },
        "bare_same_inflater": {
            "what": f"the same with the decoder's inflater ({INFLATE_LIBRARY.__name__})",
            "seconds": round(strict, 4),
            "messages_per_second": round(size / strict, 1),
        },
        "engines": engines,
        "targets": {"messages_per_second_per_core": 1000, "ratio_max": 2.0, "ratio_goal": 1.5},
    }


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig, ax = plt.subplots(figsize=(8, 4.2))
    bars = ax.bar(names, rates, color=["#999999", "#cccccc", "#1f77b4", "#ff7f0e"][: len(names)])
    for bar, label in zip(bars, labels, strict=True):
        ax.annotate(
            label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom"
        )
    ax.axhline(1000, color="red", linestyle="--", linewidth=1, label="target 1,000 msg/s/core")
    ax.set_ylabel("messages per second, one core")
    ax.set_title(
        f"Decoder vs bare gunzip+parse+dump ({result['corpus']['messages']} msgs mix; cost in CPU)"
    )
    ax.set_ylim(0, max(rates) * 1.15)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="only this engine (repeatable)"
    )
    args = parser.parse_args(argv)
    if not VALIDATION.is_dir():
        print(f"../shared not found ({VALIDATION}): the benchmark corpus is unavailable")
        return 1
    result = run(args.messages, args.repeats, tuple(args.engine or ENGINES))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "decode.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(result, args.output / "decode.png")
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
    print(f"results: {args.output / 'decode.json'}, {args.output / 'decode.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
