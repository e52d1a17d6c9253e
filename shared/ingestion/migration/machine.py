"""The state machine under every step: order, intent before action, leases, results.

A step's life in the state document (``steps[name]``)::

    (absent) --begin--> running {owner, lease_until, intent...} --finish--> done | failed

``begin`` records the step's intent (run ids, windows, the cutover time) before anything
outside the document is changed, so a process that dies anywhere after it is resumed with the
same intent: every action is idempotent given it (a backfill run id resumes its run; a registry
entry already changed is recognised and not changed twice). A running step belongs to its
owner while its lease lasts; another process may take it over once the lease ran out, once the
owner's process is gone (same host), or when told to (``--take-over``). Two processes racing
for one step: one ``begin`` wins the compare-and-swap, the other gets ``MigrationConflict``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from .errors import MigrationConflict, OutOfOrder
from .records import Document, Records

ORDER = ("reserve", "backfill", "cutover", "fill-gap", "verify", "publish")
RUNNING, DONE, FAILED = "running", "done", "failed"
ACTIVE, PUBLISHED, ROLLED_BACK, ABANDONED = "active", "published", "rolled_back", "abandoned"
MAX_LOG = 200  # log entries kept in the document (the oldest are dropped)


def iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="seconds")


def epoch(text: str) -> float:
    return datetime.datetime.fromisoformat(text).timestamp()


@dataclasses.dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), secrets.token_hex(4))

    def as_json(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "token": self.token}


def _gone(owner: dict[str, Any], me: Owner) -> bool:
    """Whether a recorded owner is this workflow, or a process known to have ended (a process
    on this host that no longer exists)."""
    if owner.get("token") == me.token:
        return True
    pid = owner.get("pid")
    if owner.get("host") != me.host or not isinstance(pid, int) or pid <= 0 or pid == me.pid:
        return False  # another host, or another workflow of this very process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Machine:
    def __init__(
        self,
        records: Records,
        *,
        clock: Callable[[], float] = time.time,
        owner: Owner | None = None,
        take_over: bool = False,
        lease_seconds: float = 300.0,
    ) -> None:
        self.records = records
        self.clock = clock
        self.owner = owner or Owner.this_process()
        self.take_over = take_over
        self.lease_seconds = lease_seconds
        self._renewed = 0.0
        self.on_change: Callable[[Document], None] = lambda document: None

    # -- order -----------------------------------------------------------------------------------

    @staticmethod
    def step(document: Document, name: str) -> dict[str, Any]:
        return dict(document.get("steps", {}).get(name) or {})

    def require(self, document: Document, name: str) -> None:
        """Refuse ``name`` unless the migration is active and the step before it is done."""
        status = document.get("status")
        if status != ACTIVE:
            raise OutOfOrder(f"migration {document['id']!r} is {status}: {name} no longer applies")
        index = ORDER.index(name)
        if index == 0:
            return
        before = ORDER[index - 1]
        state = self.step(document, before).get("state", "not started")
        if state != DONE:
            raise OutOfOrder(
                f"migration {document['id']!r}: {name} needs {before} done first ({before} is "
                f"{state}); run `ingestion migrate {before} {document['id']}`"
            )

    def is_done(self, document: Document, name: str) -> bool:
        return self.step(document, name).get("state") == DONE

    # -- changes ---------------------------------------------------------------------------------

    def _log(self, document: Document, step: str, event: str) -> None:
        entry = {"time": iso(self.clock()), "step": step, "event": event, "by": self.owner.token}
        document["log"] = [*document.get("log", []), entry][-MAX_LOG:]
        document["revision"] = int(document.get("revision", 0)) + 1

    def change(
        self, migration_id: str, step: str, event: str, update: Callable[[Document], None]
    ) -> Document:
        def apply(document: Document) -> Document:
            update(document)
            self._log(document, step, event)
            return document

        document, _ = self.records.change(migration_id, apply)
        self.on_change(document)
        return document

    def begin(
        self, migration_id: str, name: str, intent: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Make ``name`` running under this process; the step as recorded (an intent recorded
        by an earlier, dead attempt wins over ``intent`` unless ``replace``)."""
        now = self.clock()
        taken: dict[str, Any] = {}

        def update(document: Document) -> None:
            current = self.step(document, name)
            if current.get("state") == RUNNING:
                self._check_may_take(document["id"], name, current, now)
            kept = {} if replace else {k: v for k, v in current.items() if k in intent}
            merged = {**intent, **kept}
            taken.update(
                {
                    **current,
                    **merged,
                    "state": RUNNING,
                    "owner": self.owner.as_json(),
                    "lease_until": iso(now + self.lease_seconds),
                    "started_at": current.get("started_at") or iso(now),
                    "attempts": int(current.get("attempts", 0)) + 1,
                }
            )
            document.setdefault("steps", {})[name] = taken
            event = "resumed" if current.get("state") == RUNNING else "started"
            self._log(document, name, event)

        document, _ = self.records.change(migration_id, _applying(update))
        self._renewed = now
        self.on_change(document)
        return taken

    def _check_may_take(
        self, migration_id: str, name: str, step: dict[str, Any], now: float
    ) -> None:
        owner = step.get("owner") or {}
        lease = step.get("lease_until")
        expired = lease is None or epoch(lease) <= now
        if self.take_over or expired or _gone(owner, self.owner):
            return
        raise MigrationConflict(
            f"migration {migration_id!r}: {name} is being run by another process "
            f"({owner.get('host')}, pid {owner.get('pid')}, lease until {lease}); if that "
            "process is gone, run the step again with --take-over"
        )

    def renew(self, migration_id: str, name: str, progress: dict[str, Any] | None = None) -> None:
        """Extend this process's lease on ``name`` (at most every quarter lease)."""
        now = self.clock()
        if now - self._renewed < self.lease_seconds / 4:
            return

        def update(document: Document) -> None:
            step = document.get("steps", {}).get(name) or {}
            if (step.get("owner") or {}).get("token") != self.owner.token:
                raise MigrationConflict(
                    f"migration {migration_id!r}: {name} was taken over by another process"
                )
            step["lease_until"] = iso(now + self.lease_seconds)
            if progress is not None:
                step["progress"] = progress

        self.records.change(migration_id, _applying(update))
        self._renewed = now

    def finish(
        self,
        migration_id: str,
        name: str,
        result: dict[str, Any],
        *,
        state: str = DONE,
        status: str | None = None,
        reset: tuple[str, ...] = (),
    ) -> Document:
        """Record ``name``'s result; ``reset``: later steps whose results no longer hold."""

        def update(document: Document) -> None:
            step = document.setdefault("steps", {}).get(name) or {}
            owner = (step.get("owner") or {}).get("token")
            if step.get("state") == RUNNING and owner != self.owner.token:
                raise MigrationConflict(
                    f"migration {migration_id!r}: {name} was taken over by another process"
                )
            step.update(result)
            step.update({"state": state, "finished_at": iso(self.clock())})
            step.pop("lease_until", None)
            document["steps"][name] = step
            for later in reset:
                document["steps"].pop(later, None)
            if status is not None:
                document["status"] = status

        return self.change(migration_id, name, state, update)


def _applying(update: Callable[[Document], None]) -> Callable[[Document], Document]:
    def apply(document: Document) -> Document:
        update(document)
        return document

    return apply
