"""Processing accepted submissions into canonical orders, each change announced by an outbox event."""

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from order_intake.domain import events, ids, merge
from order_intake.errors import PlanningFailed
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.loop import repeat
from order_intake.service.ports import ProcessingStore
from order_intake.service.processing_records import Claimed, OrderKey, OutboxEvent, Plan, StoredCanonical

# Prices stay exact from submission to event: a number with a fraction is kept as its JSON text
# (msgspec.Raw) and written back as it was read. The merge never looks inside a value; hot path: parsing
# prices into Decimal and writing them out again made decoding and encoding a document about a third
# slower (docs/hot-path.md).
_decode_order = msgspec.json.Decoder(dict[str, Any], float_hook=msgspec.Raw).decode
_encode = msgspec.json.Encoder(decimal_format="number").encode
_decode_stamps = msgspec.json.Decoder(dict[str, str | list[str]]).decode

log = logging.getLogger(__name__)

# A submission whose processing raised on its own is set aside (left queued, not claimed) this long,
# doubling each time it raises again, up to the longest (seconds).
SET_ASIDE_FIRST = 60.0
SET_ASIDE_LONGEST = 3600.0


def _submitted(claimed: Claimed) -> merge.Submitted:
    return merge.Submitted(stamp=merge.stamp(claimed.received_at, claimed.id), order=_decode_order(claimed.normalised))


def _canonical(stored: StoredCanonical) -> merge.Canonical:
    stamps = merge.unpack_stamps(_decode_stamps(stored.stamps))
    return merge.Canonical(document=_decode_order(stored.document), stamps=stamps)


def plan(
    claimed: Sequence[Claimed],
    existing: Mapping[OrderKey, StoredCanonical],
    *,
    now: dt.datetime,
    new_id: Callable[[], uuid.UUID] = ids.uuid4,
) -> Plan:
    """Merge the claimed submissions into their canonical orders; a new version and event per change."""
    by_order: dict[OrderKey, list[Claimed]] = defaultdict(list)
    for submission in claimed:
        by_order[submission.organisation_id, submission.order_ref].append(submission)
    canonicals: list[StoredCanonical] = []
    outbox: list[OutboxEvent] = []
    processed: list[tuple[uuid.UUID, uuid.UUID]] = []
    for key, group in by_order.items():
        stored = existing.get(key)
        before = _canonical(stored) if stored else None
        after = merge.fold(before, map(_submitted, group))
        canonical_id = stored.id if stored else new_id()
        processed.extend((s.id, canonical_id) for s in group)
        if after is None or after == before:
            continue
        version = stored.version + 1 if stored else 1
        document = _encode(after.document)
        canonicals.append(
            StoredCanonical(
                id=canonical_id,
                organisation_id=key[0],
                order_ref=key[1],
                version=version,
                document=document,
                stamps=_encode(merge.pack_stamps(after.stamps)),
                created_at=stored.created_at if stored else now,
                updated_at=now,
            )
        )
        event = events.CustomerOrderUpserted(
            event_id=new_id(),
            occurred_at=now,
            trkref=group[0].trkref,
            order_ref=key[1],
            customer_order_id=canonical_id,
            version=version,
            customer_order=msgspec.Raw(document),
            submission_ids=tuple(s.id for s in group),
        )
        outbox.append(
            OutboxEvent(
                event_id=event.event_id,
                organisation_id=key[0],
                canonical_id=canonical_id,
                version=version,
                routing_key=events.routing_key(event.trkref),
                payload=_encode(event),
                created_at=now,
            )
        )
    return Plan(canonicals=tuple(canonicals), events=tuple(outbox), processed=tuple(processed), processed_at=now)


class Processor:
    """Claims accepted submissions in batches and processes them until stopped.

    A round that finds a full batch waiting doubles the next round's batch, up to `max_batch`; a
    round that finds less goes back to `batch`. Under a backlog, fewer and larger transactions
    spend less per submission (statements, round trips, commits), so a processor catches up instead
    of falling further behind; when it keeps up, transactions stay small and short.

    Between rounds: none after a full batch, `busy_seconds` (at most `idle_seconds`) after a round
    that found some work, and `idle_seconds` after one that found none. Under a steady load the work
    is taken in small, even portions instead of a large one every `idle_seconds`, which the HTTP
    processes on the same cores feel as a burst (docs/performance.md); an idle database is still
    asked every `idle_seconds`.
    """

    def __init__(  # noqa: PLR0913 - the store, the batch sizes, the pauses and the planning
        self,
        store: ProcessingStore,
        *,
        batch: int = 100,
        max_batch: int = 1000,
        idle_seconds: float = 0.2,
        busy_seconds: float = 0.05,
        invitations: InvitationPlanning | None = None,
    ) -> None:
        self._store = store
        self._invitations = invitations
        self._batch = batch
        self._max_batch = max(batch, max_batch)
        self._limit = batch
        self._idle = idle_seconds
        self._busy = min(busy_seconds, idle_seconds)
        # Submissions whose planning raised on their own: (until when, for how long) by id, in monotonic
        # time; kept for an hour once past, so that a second set-aside lasts twice as long.
        self._set_aside: dict[uuid.UUID, tuple[float, float]] = {}
        self._claimed: list[uuid.UUID] = []  # what the last round's plan was given

    def _plan(self, claimed: Sequence[Claimed], existing: Mapping[OrderKey, StoredCanonical]) -> Plan:
        self._claimed = [c.id for c in claimed]
        try:
            return plan(claimed, existing, now=dt.datetime.now(dt.UTC))
        except Exception as exc:
            raise PlanningFailed(type(exc).__name__) from exc

    async def _round(self, limit: int) -> int:
        skip: list[uuid.UUID] = []
        if self._set_aside:  # hot path: nothing to look at in every round but after a set-aside
            now = time.monotonic()
            # forgotten an hour after it ended (a later set-aside of the same one starts short again)
            aside = self._set_aside.items()
            self._set_aside = {key: value for key, value in aside if value[0] + SET_ASIDE_LONGEST > now}
            skip = [key for key, (until, _) in self._set_aside.items() if until > now]
        self._claimed = []
        return await self._store.process(limit, self._plan, self._invitations, skip)

    async def process_once(self) -> int:
        """One transaction's worth; the number of submissions processed.

        A round in which processing's own code raised on the data it was given (PlanningFailed: the
        merge or the invitations' planning, never the database) is made again on the first half of
        what it claimed, then on half of that, until the submission that raises alone is found. That
        one is set aside: left queued but unclaimed by this processor for a minute (doubling each time
        it raises again, up to an hour), and the error goes on to the loop, which logs it and pauses
        as after any failure; the next round takes the others. Nothing is lost (it stays queued, and
        the lag metric shows its age), and the order in which submissions are processed never changes
        the result (docs/events.md). Any other error (the database's) goes to the loop at once.
        """
        limit = self._limit
        while True:
            try:
                done = await self._round(limit)
                break
            except PlanningFailed:
                if len(self._claimed) > 1:
                    limit = len(self._claimed) // 2
                    continue
                culprit = self._claimed[0]
                log.error(  # noqa: TRY400 - the loop logs the trace as it pauses
                    "processing submission %s raised; set aside for %.0f s, the others go on",
                    culprit,
                    self._put_aside(culprit),
                    extra={"submission": str(culprit)},
                )
                raise
        self._limit = min(self._limit * 2, self._max_batch) if done >= self._limit else self._batch
        return done

    def _put_aside(self, submission_id: uuid.UUID) -> float:
        """Leave it unclaimed for twice as long as last time (the first: SET_ASIDE_FIRST); how long."""
        _, last = self._set_aside.get(submission_id, (0.0, SET_ASIDE_FIRST / 2))
        pause = min(last * 2, SET_ASIDE_LONGEST)
        self._set_aside[submission_id] = (time.monotonic() + pause, pause)
        return pause

    async def drain(self) -> int:
        """Process until nothing is waiting; the number processed."""
        total = 0
        while done := await self.process_once():
            total += done
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Process until `stop` is set."""
        await repeat(
            self.process_once, full=self._batch, idle=self._idle, busy=self._busy, stop=stop, name="processing"
        )
