"""Steps 2 and 4, ``backfill`` and ``fill-gap``: history from the raw archive into the new
location, through the backfill (``ports.Backfills``).

- ``backfill`` covers ``[since, end)``, ``end`` recorded when the step begins: the hour before
  ``now - settle`` (or ``--until``), so what the raw archive still receives is left to the gap.
- ``fill-gap`` covers ``[backfill end, cutover + settle)`` rounded up to the hour, and begins
  only once ``cutover + settle`` has passed: by then the loader writes to the new location and
  the raw archive holds everything the old location received. The hours it shares with live
  traffic are written twice (at least once is the contract; readers dedup by document id).

The run id is recorded before the run starts (``{id}-history``, ``{id}-gap``), so a process
killed while waiting resumes the same run: the backfill function resumes the chunks that are not
done, the in-process runner redoes the run under the same object names (nothing is added
twice). ``--redo`` starts a fresh run (``-r2``, ...) over the same window, for a verification
that found records missing; it resets ``verify``.
"""

from __future__ import annotations

import datetime
import math
from typing import TYPE_CHECKING, Any

from ..core.errors import one_line
from .errors import OutOfOrder, StepFailed
from .machine import DONE, FAILED, epoch
from .outcome import Outcome
from .records import Document

if TYPE_CHECKING:
    from .workflow import Workflow

HOUR = 3600
POLL_SECONDS = 5.0


def hour_text(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H")


def hour_epoch(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=datetime.UTC).timestamp()


def request(document: Document, run_id: str, window: dict[str, str], fmt: str) -> dict[str, Any]:
    """The backfill function's request body for one run of this migration."""
    staging = document["staging"]
    return {
        "source": document["raw_source"],
        "window": window,
        "format": fmt,
        "destination": {"decoded": staging["decoded"], "error": staging["errors"]},
        "run_id": run_id,
    }


def backfill(
    w: Workflow,
    migration_id: str,
    *,
    until: str | None = None,
    redo: bool = False,
    dry_run: bool = False,
) -> Outcome:
    document = w.read(migration_id)
    step = w.machine.step(document, "backfill")
    if step.get("window"):
        window = step["window"]
    else:
        end = hour_epoch(until) if until else w.clock() - document["settle_seconds"]
        window = {"start": document["since"], "end": hour_text(math.floor(end / HOUR) * HOUR)}
    return _run_step(w, document, "backfill", "history", window, redo=redo, dry_run=dry_run)


def fill_gap(
    w: Workflow, migration_id: str, *, redo: bool = False, dry_run: bool = False
) -> Outcome:
    document = w.read(migration_id)
    cutover = w.machine.step(document, "cutover")
    if cutover.get("state") != DONE:
        w.machine.require(document, "fill-gap")  # says why
    ready_at = epoch(cutover["at"]) + float(document["settle_seconds"])
    window = {
        "start": w.machine.step(document, "backfill")["window"]["end"],
        "end": hour_text(math.ceil(ready_at / HOUR) * HOUR),
    }
    return _run_step(
        w, document, "fill-gap", "gap", window, redo=redo, dry_run=dry_run, ready_at=ready_at
    )


def _run_step(
    w: Workflow,
    document: Document,
    name: str,
    stem: str,
    window: dict[str, str],
    *,
    redo: bool,
    dry_run: bool,
    ready_at: float | None = None,
) -> Outcome:
    migration_id = document["id"]
    step = w.machine.step(document, name)
    state = step.get("state")
    if state == DONE and not redo:
        return Outcome(name, [f"{migration_id}: {name} already done", *_describe(step)], step)
    if redo and state not in (DONE, FAILED):
        raise OutOfOrder(f"{name} --redo needs a finished {name} (it is {state or 'not started'})")
    w.machine.require(document, name)
    runs = list(step.get("runs") or [])
    if redo or not step.get("run_id"):
        run_id = f"{migration_id}-{stem}" + (f"-r{len(runs) + 1}" if runs else "")
    else:
        run_id = step["run_id"]
    body = request(document, run_id, window, w.options.raw_format)
    empty = hour_epoch(window["end"]) <= hour_epoch(window["start"])
    if dry_run:
        lines = [f"{name}: window [{window['start']}, {window['end']}) as run {run_id}"]
        if ready_at is not None and w.clock() < ready_at:
            lines.append(f"  would first wait until {_at(ready_at)} (cutover + settle)")
        if empty:
            return Outcome(name, [*lines, "  the window is empty: nothing to backfill"], {}, True)
        answer = w.backfills.dry_run(body)
        return Outcome(name, [*lines, *_plan_lines(answer)], answer, True)
    intent = {"run_id": run_id, "window": window}
    # A redo's new intent replaces the recorded one; otherwise what was recorded stands.
    step = w.machine.begin(migration_id, name, intent, replace=redo)
    run_id, window = step["run_id"], step["window"]
    if ready_at is not None:
        _wait_until(w, migration_id, name, ready_at)
    if empty:
        status: dict[str, Any] = {"state": "done", "counts": {}, "chunks": {"total": 0}}
    else:
        w.say(f"{name}: backfilling [{window['start']}, {window['end']}) as run {run_id}")
        try:
            status = w.backfills.run(
                request(document, run_id, window, w.options.raw_format),
                lambda progress: w.machine.renew(migration_id, name, _brief(progress)),
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise StepFailed(f"{name}: the backfill could not be run: {one_line(exc)}") from exc
    summary = {"run_id": run_id, "window": window, **_brief(status)}
    result = {"runs": [*runs, summary], "counts": summary["counts"], "chunks": summary["chunks"]}
    if status.get("state") != "done":
        w.machine.finish(
            migration_id, name, {**result, "errors": status.get("errors", [])}, state=FAILED
        )
        raise StepFailed(
            f"{name}: run {run_id} ended {status.get('state')}: "
            f"{_first_error(status)}; run the step again to resume it, or with --redo"
        )
    later = ("verify",) if redo else ()
    done = w.machine.finish(migration_id, name, result, reset=later)
    return Outcome(
        name, [f"{migration_id}: {name} done", *_describe(w.machine.step(done, name))], done
    )


def _wait_until(w: Workflow, migration_id: str, name: str, ready_at: float) -> None:
    if w.clock() < ready_at:
        w.say(f"{name}: waiting until {_at(ready_at)} (cutover + settle)")
    while (left := ready_at - w.clock()) > 0:
        w.sleep(min(left, POLL_SECONDS))
        w.machine.renew(migration_id, name)


def _brief(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "state": status.get("state"),
        "counts": dict(status.get("counts") or {}),
        "chunks": dict(status.get("chunks") or {}),
    }


def _first_error(status: dict[str, Any]) -> str:
    errors = status.get("errors") or []
    if not errors:
        return "no chunk error noted"
    first = errors[0]
    return f"{first.get('type')}: {str(first.get('reason'))[:200]}"


def _plan_lines(answer: dict[str, Any]) -> list[str]:
    plan = answer.get("plan") or {}
    guess = answer.get("estimate") or {}
    return [
        f"  objects: {plan.get('objects', 0)}, bytes: {plan.get('bytes', 0)}, "
        f"chunks: {plan.get('chunks', 0)}",
        f"  estimate: {guess.get('invocations', 0)} invocations, "
        f"{guess.get('cpu_seconds', 0)} CPU-seconds, ${guess.get('cost_usd', 0)}, "
        f"~{guess.get('records_estimated', 0)} records",
    ]


def _describe(step: dict[str, Any]) -> list[str]:
    lines = []
    for run in step.get("runs") or []:
        counts = run.get("counts") or {}
        lines.append(
            f"  run {run['run_id']} [{run['window']['start']}, {run['window']['end']}): "
            f"{run.get('state')}, records {counts.get('records', 0)}, decoded "
            f"{counts.get('decoded', 0)}, errors {counts.get('error', 0)}"
        )
    return lines


def _at(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="seconds")
