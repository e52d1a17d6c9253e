"""Deduplication within a run (``"dedup": "run"``): a uri delivered by any chunk of the run
makes later copies ``Duplicate`` errors, as the live decoder does within its window.

Marks live with the run (``RunStore.get_marks/put_marks``, keyed by the uri's sha256) and record
which chunk delivered the uri and at which committed position. They are read once per batch
(``prefetch``: one ``get_all``) and written at the runner's commit, after the outputs, so a uri
is never marked before its output is durable. A retried chunk does not see its own marks from
the part it is redoing (position at or after where it resumed) as duplicates, so a retry gives
the same outputs. Best effort across chunks, like the live decoder: two chunks that decode the
same uri at the same moment both deliver it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..adapters.firestore_dedup import document_id
from ..core.message import Message
from ..service.decoder import Input, dedup_key
from .ports import Document, RunStore


class RunDedup:
    def __init__(self, store: RunStore, run_id: str, chunk_id: str, resumed_at: int) -> None:
        self._store = store
        self._run_id = run_id
        self._chunk_id = chunk_id
        self._resumed_at = resumed_at
        self._delivered: set[str] = set()  # by this task, committed or not
        self._seen: dict[str, Document] = {}  # the stored marks of the current batch
        self._pending: list[str] = []  # delivered since the last commit
        self.hits = 0

    def prefetch(self, batch: Sequence[Input]) -> None:
        keys = [
            document_id(key)
            for item in batch
            if isinstance(item, Message) and (key := dedup_key(item)) is not None
        ]
        self._seen = self._store.get_marks(self._run_id, keys) if keys else {}

    def is_duplicate(self, uri: str) -> bool:
        if uri in self._delivered:
            self.hits += 1
            return True
        mark = self._seen.get(document_id(uri))
        if mark is None:
            return False
        mine = mark.get("chunk") == self._chunk_id and mark.get("position", 0) >= self._resumed_at
        if not mine:
            self.hits += 1
        return not mine

    def mark_delivered(self, uri: str) -> None:
        self._delivered.add(uri)
        self._pending.append(uri)

    def commit(self, position: int) -> None:
        marks = [
            (document_id(uri), {"chunk": self._chunk_id, "position": position})
            for uri in self._pending
        ]
        self._pending = []
        if marks:
            self._store.put_marks(self._run_id, marks)

    def counter_values(self) -> dict[str, int]:
        return {"hits": self.hits}
