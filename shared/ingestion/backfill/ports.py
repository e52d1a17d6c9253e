"""The ports the backfill is given: where run and chunk state live, and how chunks fan out.

``adapters.backfill_store`` implements ``RunStore`` on Firestore (and in memory);
``adapters.cloud_tasks`` implements ``Dispatcher`` on Cloud Tasks and on Pub/Sub.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ..adapters.backfill_store import ChunkAnswer, ChunkQuery, Document, Update
from ..adapters.cloud_tasks import Dispatcher

__all__ = ["ChunkAnswer", "ChunkQuery", "Dispatcher", "Document", "RunStore", "Update"]


class RunStore(Protocol):
    def get_run(self, run_id: str) -> Document | None: ...

    def create_run(self, run_id: str, document: Document) -> bool: ...

    def update_run(self, run_id: str, fields: Document) -> None: ...

    def put_chunks(self, run_id: str, chunks: Sequence[tuple[str, Document]]) -> None: ...

    def update_chunks(self, run_id: str, chunk_ids: Iterable[str], fields: Document) -> None: ...

    def chunks(self, run_id: str) -> list[tuple[str, Document]]: ...

    # Counts, sums and the first few chunks without reading every chunk (a run's status).
    def query_chunks(self, run_id: str, query: ChunkQuery) -> ChunkAnswer: ...

    def transact(self, run_id: str, chunk_id: str, update: Update) -> Document | None: ...

    def get_marks(self, run_id: str, keys: Sequence[str]) -> dict[str, Document]: ...

    def put_marks(self, run_id: str, marks: Sequence[tuple[str, Document]]) -> None: ...
