"""``Workflow``: the steps of moving a source, over one registry and one way to run backfills.

    reserve -> backfill -> cutover -> fill-gap -> verify -> publish   (rollback after it)

Each step is a function of its own module (``reserve``, ``runs``, ``moves``, ``verify``) taking
the workflow; this class holds what they share and records the readable summary after every
change of a state document. The guide is docs/migration.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..registry import Registry
from .machine import Machine, Owner
from .moves import cutover, publish, rollback
from .outcome import Options, Outcome
from .ports import Backfills
from .records import Document, Records
from .reserve import reserve
from .runs import backfill, fill_gap
from .summary import summary_markdown
from .verify import verify


class Workflow:
    def __init__(
        self,
        registry: Registry,
        backfills: Backfills | None,
        *,
        options: Options | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = lambda line: None,
        owner: Owner | None = None,
        take_over: bool = False,
    ) -> None:
        self.registry = registry
        self._backfills = backfills
        self.options = options or Options()
        self.clock = clock
        self.sleep = sleep
        self.say = say
        self.records = Records(registry.bucket, registry.root)
        self.machine = Machine(
            self.records,
            clock=clock,
            owner=owner,
            take_over=take_over,
            lease_seconds=self.options.lease_seconds,
        )
        self.machine.on_change = self._summarise

    @property
    def backfills(self) -> Backfills:
        if self._backfills is None:
            raise RuntimeError("this workflow was built without a way to run backfills")
        return self._backfills

    def read(self, migration_id: str) -> Document:
        return self.records.read(migration_id)[0]

    def _summarise(self, document: Document) -> None:
        self.records.write_summary(document["id"], summary_markdown(document))

    # -- the steps ---------------------------------------------------------------------------------

    def reserve(self, source: str, to: str, **options: Any) -> Outcome:
        return reserve(self, source, to, **options)

    def backfill(self, migration_id: str, **options: Any) -> Outcome:
        return backfill(self, migration_id, **options)

    def cutover(self, migration_id: str, *, dry_run: bool = False) -> Outcome:
        return cutover(self, migration_id, dry_run=dry_run)

    def fill_gap(self, migration_id: str, **options: Any) -> Outcome:
        return fill_gap(self, migration_id, **options)

    def verify(self, migration_id: str, *, dry_run: bool = False) -> Outcome:
        return verify(self, migration_id, dry_run=dry_run)

    def publish(self, migration_id: str, *, dry_run: bool = False) -> Outcome:
        return publish(self, migration_id, dry_run=dry_run)

    def rollback(
        self, migration_id: str, *, writer: bool = False, force: bool = False, dry_run: bool = False
    ) -> Outcome:
        return rollback(self, migration_id, writer=writer, force=force, dry_run=dry_run)

    def status(self, migration_id: str | None = None) -> list[Document]:
        if migration_id is not None:
            return [self.read(migration_id)]
        return list(self.records.documents())
