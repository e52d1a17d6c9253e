"""What a planned run will cost: invocations, CPU and dollars, from measured rates.

The rates are those ``bench/backfill.py`` measured for one chunk worker (docs/capacity.md, the
backfill section); the prices are the list-price assumptions of docs/capacity.md §2.4 (dated,
to be checked before a budget is set on them). An estimate is a plan's order of magnitude, not
a quote: decode cost per byte depends on the mix of pings.

Chunks pack whole objects up to the chunk size (``plan``), so ``chunks`` is about the run's
bytes over the chunk size whatever the object size: one task per chunk, plus a continuation
per time budget a chunk's CPU needs beyond the first.
"""

from __future__ import annotations

import dataclasses
import math

# Measured by bench/backfill.py (bench/results/backfill.json, "estimate_inputs"; three runs on
# a 2-core development machine shared with other work, 7.4-7.9 MB/s, the median used): one chunk
# worker reading the benchmark corpus as a gzip json-lines object from fake-gcs-server and
# writing its outputs back. Stored (gzip) input bytes per CPU-second of the worker (all its
# threads), and stored bytes per record of that corpus.
BYTES_PER_CPU_SECOND = 7.6e6
BYTES_PER_RECORD = 4056
# Assumed list prices (docs/capacity.md §2.4).
VCPU_SECOND_USD = 0.000024
GIB_SECOND_USD = 0.0000025
REQUEST_USD = 0.40 / 1e6
TASK_USD = 0.40 / 1e6  # Cloud Tasks operations beyond the free million
FIRESTORE_WRITE_USD = 0.09 / 1e5
# The deployed worker: 1 vCPU, 1 GiB (terraform/modules/backfill).
WORKER_MEMORY_GIB = 1.0


@dataclasses.dataclass(frozen=True)
class Estimate:
    invocations: int
    cpu_seconds: float
    records: int
    cost_usd: float
    wall_seconds_at_concurrency: dict[str, float]

    def as_json(self) -> dict[str, object]:
        return {
            "invocations": self.invocations,
            "cpu_seconds": round(self.cpu_seconds, 1),
            "records_estimated": self.records,
            "cost_usd": round(self.cost_usd, 4),
            "hours_at_concurrency": {
                key: round(value / 3600, 3)
                for key, value in self.wall_seconds_at_concurrency.items()
            },
            "basis": "measured worker rate and assumed list prices: docs/capacity.md",
        }


def estimate(total_bytes: int, chunks: int, budget_seconds: float, commit_bytes: int) -> Estimate:
    cpu = total_bytes / BYTES_PER_CPU_SECOND
    per_chunk = cpu / chunks if chunks else 0.0
    continuations = chunks * max(0, math.ceil(per_chunk / budget_seconds) - 1) if chunks else 0
    invocations = chunks + continuations
    checkpoints = invocations * 3 + math.ceil(total_bytes / commit_bytes)
    cost = (
        cpu * (VCPU_SECOND_USD + WORKER_MEMORY_GIB * GIB_SECOND_USD)
        + invocations * (REQUEST_USD + TASK_USD)
        + checkpoints * FIRESTORE_WRITE_USD
    )
    wall = {str(n): cpu / min(n, max(chunks, 1)) for n in (10, 100, 1000)}
    return Estimate(invocations, cpu, int(total_bytes / BYTES_PER_RECORD), cost, wall)
