"""Group commit: the units that arrive together are stored in one transaction, then released."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from order_intake.errors import StoreUnavailable, WriterClosed, WriterQueueFull
from order_intake.service.records import UnitOutcome, WriteUnit

log = logging.getLogger("order_intake.writer")

Commit = Callable[[Sequence[WriteUnit]], Awaitable[list[UnitOutcome]]]
# Told of each committed transaction: its submissions, its oldest unit's queue wait, its duration (s).
CommitObserver = Callable[[int, float, float], None]
# A queued unit, the future its request awaits, and when it was queued (time.monotonic()).
_Pending = tuple[WriteUnit, "asyncio.Future[UnitOutcome]", float]
_QUEUE_FULL = "too many submissions waiting for the database"


class GroupCommitWriter:
    """One per process: `write` returns only once the unit's transaction has committed."""

    def __init__(
        self,
        commit: Commit,
        *,
        max_batch: int,
        max_inflight: int = 1,
        max_queued: int = 0,
        observe: CommitObserver | None = None,
    ) -> None:
        self._commit = commit
        self._observe = observe
        self._max_batch = max_batch
        # Submissions that may wait for a transaction at once (0: no limit); past it, StoreUnavailable.
        self._max_queued = max_queued
        self._waiting = 0  # submissions queued and not yet taken into a transaction
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._slots = asyncio.Semaphore(max_inflight)
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    def start(self) -> None:
        """Start gathering units (call from the running event loop)."""
        # hot path: the loop kept, not looked up per write: before 3.12 each lookup is a getpid system call
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._gather(), name="group-commit-writer")

    async def write(self, unit: WriteUnit) -> UnitOutcome:
        """Queue the unit and wait for its commit; raises what the commit raised.

        While the database is slow, submissions pile up here: once `max_queued` of them wait for a
        transaction, a unit is refused at once (StoreUnavailable, a 503), so that memory stays bounded
        (by `max_queued`, a unit and the transactions in flight). Any unit is taken while fewer wait,
        however large: a batch of the largest size is not refused for the few orders queued ahead of
        it, and orders keep being taken while it commits.
        """
        if self._closing or self._loop is None:
            raise WriterClosed
        if self._max_queued and self._waiting >= self._max_queued:
            raise WriterQueueFull(_QUEUE_FULL)
        self._waiting += len(unit.submissions)
        future: asyncio.Future[UnitOutcome] = self._loop.create_future()
        self._queue.put_nowait((unit, future, time.monotonic()))
        return await future

    async def stop(self) -> None:
        """Commit everything already queued, then stop."""
        self._closing = True
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        if self._inflight:
            await asyncio.gather(*self._inflight)

    async def _gather(self) -> None:
        done = False
        while not done:
            # hot path: the slot first, then the batch (docs/hot-path.md): what queued while the last
            # transaction committed joins the next one instead of waiting one transaction longer.
            await self._slots.acquire()
            first = await self._queue.get()
            if first is None:
                self._slots.release()
                break
            batch = [first]
            size = len(first[0].submissions)
            while size < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    done = True
                    break
                batch.append(item)
                size += len(item[0].submissions)
            self._waiting -= size
            task = asyncio.create_task(self._store(batch))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _store(self, batch: list[_Pending]) -> None:
        try:
            await self._commit_and_release(batch)
        finally:
            self._slots.release()

    async def _commit_and_release(self, batch: list[_Pending]) -> None:
        started = time.monotonic()
        outcomes: list[UnitOutcome] | None
        try:
            outcomes = await self._commit([unit for unit, _, _ in batch])
        except StoreUnavailable as exc:
            _fail(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                log.exception("commit failed")
                _fail(batch, exc)
                return
            outcomes = None
        if outcomes is None:
            # hot path: awaited outside the except block, where compiled code would leave the error
            # as every later exception's context (docs/hot-path.md).
            # One bad unit must not fail the others that happened to share its transaction.
            for pending in batch:
                await self._commit_and_release([pending])
            return
        if self._observe is not None:
            size = sum(len(unit.submissions) for unit, _, _ in batch)
            self._observe(size, started - batch[0][2], time.monotonic() - started)  # batch[0] queued first
        for (_, future, _), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


def _fail(batch: list[_Pending], exc: Exception) -> None:
    for _, future, _ in batch:
        if not future.done():
            future.set_exception(exc)
