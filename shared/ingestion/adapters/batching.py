"""What an adapter needs of a cross-request micro-batcher, as a port.

The batcher itself (``ingestion.service.batcher.Batcher``) belongs to the service layer, which
adapters do not import; the composition root hands it in as a factory. ``Batcher`` satisfies
``BatcherFactory`` as it is (a ``functools.partial`` of it too, to set more options).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

ItemT = TypeVar("ItemT", contravariant=True)
ResultT = TypeVar("ResultT", covariant=True)

# One RPC for a batch: one outcome per item, in order (an exception instance fails that item).
Send = Callable[[list[Any]], Awaitable[Sequence[Any]]]


class BatchQueue(Protocol, Generic[ItemT, ResultT]):
    async def submit(self, item: ItemT) -> ResultT:
        """The item's own outcome, once the RPC that carried it has answered."""
        ...

    async def close(self) -> None:
        """Send what is queued, wait for what is in flight, refuse more."""
        ...

    def counter_values(self) -> dict[str, int]: ...


class BatcherFactory(Protocol):
    def __call__(
        self,
        send: Send,
        *,
        max_items: int,
        name: str,
        max_bytes: int | None = ...,
        size: Callable[[Any], int] | None = ...,
    ) -> BatchQueue[Any, Any]: ...
