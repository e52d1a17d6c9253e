"""The whole migration, with live traffic at its places, driven through crashes.

Traffic (what the loader writes while the workflow runs) happens once at its place in the plan,
whatever crashes; steps are run until one completes, each attempt by a new "process" (a new
workflow over new bucket objects) that takes the crashed one's steps over.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestion.migration import Owner, Workflow

from .world import NEW_LAYOUT, SOURCE, TO, Countdown, SimulatedCrash, World

PLAN = (
    "reserve",
    "traffic-before-cutover",
    "backfill",
    "cutover",
    "traffic-after-cutover",
    "fill-gap",
    "verify",
    "publish",
)


def migration_id(world: World) -> str:
    return next(iter(world.workflow().records.ids()))


def act(world: World, w: Workflow, item: str) -> None:
    if item == "reserve":
        w.reserve(SOURCE, TO, schema=NEW_LAYOUT, migration_id="m1")
    elif item == "traffic-before-cutover":  # in the old location, in the gap's window
        world.archive("before-cutover.ndjson", "2026-03-10T12:25:00Z", 10, 10)
        world.load("2026-03-10T12", "2026-03-10T13", "live-before")
    elif item == "traffic-after-cutover":  # the loader follows the writer entry
        world.archive("after-cutover.ndjson", "2026-03-10T12:31:00Z", 10, 11)
        world.load("2026-03-10T12", "2026-03-10T13", "live-after")
    else:
        getattr(w, item.replace("-", "_"))("m1")


def drive(world: World, crashes: Sequence[int] = ()) -> tuple[int, int]:
    """Run the plan, each process crashing after the given number of its writes; returns
    (processes used, writes of the last process)."""
    done: set[str] = set()
    pending = [*crashes, None]
    for attempt, crash in enumerate(pending, start=1):
        countdown = Countdown(crash)
        w = world.workflow(
            countdown, owner=Owner("host", 10_000 + attempt, f"p{attempt}"), take_over=True
        )
        try:
            for item in PLAN:
                if item not in done:
                    act(world, w, item)
                    done.add(item)
        except SimulatedCrash:
            continue
        return attempt, countdown.writes
    raise AssertionError("the last process may not crash")
