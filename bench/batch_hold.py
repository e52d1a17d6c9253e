"""The batch hold (``BATCH_HOLD_MS``) at production-like RPC latencies, which the emulators cannot
give: the real ``Batcher`` and ``BatchGroup`` on one event loop, with RPCs that take a set time.

Why: the function benchmark runs against local emulators that answer in about a millisecond, where
the hold ends with the first completion and costs no latency (``docs/capacity.md``, section 1.4).
In production a Firestore read or a Publish takes several milliseconds (*assumed*), so some holds
end at the cap instead. This measures what each cap then buys in batch size and costs in latency.

The model of one instance, one core:

- requests arrive at ``--rates`` per second (Poisson, open loop: like push deliveries, not a fixed
  number of clients), at most 80 in flight (the deployed concurrency); a request goes through the
  decoder's three steps: check (a Firestore read), decode, publish, mark (a Firestore write);
- the decode is ``DECODE_MS`` of CPU, spent on the loop (a busy wait), so the loop saturates as
  the real one does;
- each RPC costs ``RPC_CPU_MS`` plus ``ITEM_CPU_MS`` per item of CPU on the loop, then waits its
  latency (uniform within ±50 % of the profile's figure) without CPU;
- profiles: ``emulator`` (every RPC ~1 ms, as measured here) and ``production`` (read ~6 ms,
  Publish ~15 ms, write ~8 ms: *assumed*, to be replaced by measured figures from a deployment).

Reported per cell (profile × rate × cap): items per RPC of each step, the modelled CPU per message
(decode plus the RPCs' CPU, per message: what the batch sizes save), and request latency p50/p99
from arrival to answer. CPU figures are the model's, not measured; the batch sizes and latencies
are what the real batcher did under that model.

Writes ``bench/results/batch_hold.json`` and ``.png``. About a minute. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import common

from ingestion.service.batcher import Batcher, BatchGroup

DECODE_MS = 0.6  # the function's per-request CPU besides its RPCs (decode, HTTP, encoding)
RPC_CPU_MS = 0.3  # an RPC's CPU on the loop whatever it carries (measured: 0.30-0.36 ms unary)
ITEM_CPU_MS = 0.03  # and per item
MAX_IN_FLIGHT = 80
PROFILES: dict[str, dict[str, float]] = {
    "emulator": {"check": 1.0, "publish": 1.0, "mark": 1.0},
    "production": {"check": 6.0, "publish": 15.0, "mark": 8.0},
}
HOLDS_MS = (0.0, 2.0, 5.0, 10.0, 20.0)
RATES = (300, 600)


def busy(milliseconds: float) -> None:
    """Spend CPU on the loop, as the decode and an RPC's marshalling do."""
    end = time.perf_counter() + milliseconds / 1000
    while time.perf_counter() < end:
        pass


async def one_cell(profile: dict[str, float], rate: float, hold_ms: float, seconds: float) -> Any:
    rng = random.Random(f"{rate}-{hold_ms}")
    group = BatchGroup(hold_ms / 1000)
    rpcs = dict.fromkeys(profile, 0)
    cpu_ms = 0.0

    async def send(step: str, items: list[int]) -> list[int]:
        nonlocal cpu_ms
        rpcs[step] += 1
        cost = RPC_CPU_MS + ITEM_CPU_MS * len(items)
        cpu_ms += cost
        busy(cost)
        await asyncio.sleep(profile[step] * rng.uniform(0.5, 1.5) / 1000)
        return items

    make = functools.partial(Batcher, max_items=500, group=group)
    steps = {step: make(functools.partial(send, step), name=step) for step in profile}
    latencies: list[float] = []
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def request(number: int, arrived: float) -> None:
        nonlocal cpu_ms
        async with slots:
            await steps["check"].submit(number)
            cpu_ms += DECODE_MS
            busy(DECODE_MS)
            await steps["publish"].submit(number)
            await steps["mark"].submit(number)
        latencies.append(time.perf_counter() - arrived)

    tasks: list[asyncio.Task[None]] = []
    began = time.perf_counter()
    next_at = began
    number = 0
    while next_at - began < seconds:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        while time.perf_counter() >= next_at and next_at - began < seconds:  # catch up if late
            tasks.append(asyncio.create_task(request(number, next_at)))
            number += 1
            next_at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    for batcher in steps.values():
        await batcher.close()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": number,
        "achieved_per_second": round(number / wall, 1),
        "items_per_rpc": {step: round(number / count, 1) for step, count in rpcs.items()},
        "model_cpu_ms_per_message": round(cpu_ms / number, 3),
        "latency_ms": {
            "p50": round(1000 * statistics.median(ordered), 2),
            "p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2),
        },
    }


def run(rates: tuple[int, ...], holds: tuple[float, ...], seconds: float) -> dict[str, Any]:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    cells: dict[str, Any] = {}
    for name, profile in PROFILES.items():
        for rate in rates:
            for hold in holds:
                cell = runner(one_cell(profile, rate, hold, seconds))
                cells.setdefault(name, {}).setdefault(str(rate), {})[f"{hold:g}"] = cell
                print(
                    f"{name:>10} {rate:>4}/s hold {hold:>4g} ms: "
                    f"{cell['model_cpu_ms_per_message']:.3f} ms/msg (model), items/RPC "
                    f"{cell['items_per_rpc']}, p50 {cell['latency_ms']['p50']} ms, "
                    f"p99 {cell['latency_ms']['p99']} ms"
                )
    return {
        "benchmark": "batch_hold",
        "machine": common.machine(),
        "what": (
            "Batcher + BatchGroup on one event loop, three steps per request with RPCs of set "
            "latencies; CPU per message is the model's (decode + RPC costs), batch sizes and "
            "latencies are measured"
        ),
        "model": {
            "decode_ms": DECODE_MS,
            "rpc_cpu_ms": RPC_CPU_MS,
            "item_cpu_ms": ITEM_CPU_MS,
            "max_in_flight": MAX_IN_FLIGHT,
            "rpc_latency_ms": PROFILES,
            "seconds_per_cell": seconds,
        },
        "cells": cells,
    }


def chart(result: dict[str, Any], path: Path) -> None:
    profiles = list(result["cells"])
    with common.figure(path, len(profiles), figsize=(14, 4.8)) as (_, axes):
        for axis, name in zip(axes, profiles, strict=True):
            latency_axis = axis.twinx()
            for rate, by_hold in result["cells"][name].items():
                holds = [float(hold) for hold in by_hold]
                cpu = [cell["model_cpu_ms_per_message"] for cell in by_hold.values()]
                p50 = [cell["latency_ms"]["p50"] for cell in by_hold.values()]
                axis.plot(holds, cpu, marker="o", label=f"CPU/msg, {rate}/s")
                latency_axis.plot(
                    holds, p50, marker="s", linestyle="--", label=f"p50 latency, {rate}/s"
                )
            axis.set_xlabel("BATCH_HOLD_MS")
            axis.set_ylabel("model CPU ms per message (solid)")
            latency_axis.set_ylabel("request latency p50 ms (dashed)")
            latencies = result["model"]["rpc_latency_ms"][name]
            axis.set_title(
                f"{name}: RPC latency read {latencies['check']:g} / Publish "
                f"{latencies['publish']:g} / write {latencies['mark']:g} ms"
            )
            lines = axis.get_legend_handles_labels()
            more = latency_axis.get_legend_handles_labels()
            axis.legend(
                lines[0] + more[0], lines[1] + more[1], fontsize="small", loc="center right"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=list(RATES))
    parser.add_argument("--holds", type=float, nargs="+", default=list(HOLDS_MS))
    parser.add_argument("--seconds", type=float, default=2.0, help="of arrivals per cell")
    parser.add_argument("--output", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    result = run(tuple(args.rates), tuple(args.holds), args.seconds)
    data, picture = common.save(result, args.output, chart)
    print(f"wrote {data} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
