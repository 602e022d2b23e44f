"""Idempotency-Key handling shared by single and batch submissions: one path for one rule."""

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from uuid import UUID

import msgspec

from order_intake.service.outcomes import IdempotencyInProgress, IdempotencyMismatch, Replayed
from order_intake.service.ports import IDEMPOTENCY_WINDOW, Store
from order_intake.service.records import IdempotencyRecord

T = TypeVar("T")


class _Identified(msgspec.Struct):
    """The one field every stored answer has: the id that Location points at."""

    id: UUID | None = None


_identified = msgspec.json.Decoder(_Identified)


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """What "the same request" means for a replay: same method, path and body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.digest()


def replay_or_mismatch(record: IdempotencyRecord, body_fingerprint: bytes) -> Replayed | IdempotencyMismatch:
    """The stored answer again when the request is the same; a mismatch otherwise."""
    if record.fingerprint != body_fingerprint:
        return IdempotencyMismatch()
    return Replayed(status=record.status, body=record.response, answer_id=_identified.decode(record.response).id)


class InFlight:
    """The Idempotency-Keys this process is handling right now, so that a twin answers 409."""

    def __init__(self) -> None:
        self._keys: set[tuple[int, str]] = set()

    @contextmanager
    def hold(self, api_key_id: int, key: str) -> Iterator[bool]:
        """Yields False when the key is already held (the caller answers 409), else holds it."""
        token = (api_key_id, key)
        if token in self._keys:
            yield False
            return
        self._keys.add(token)
        try:
            yield True
        finally:
            self._keys.discard(token)


async def guarded(  # noqa: PLR0913 - the request's identity, spelled out
    *,
    store: Store,
    in_flight: InFlight,
    api_key_id: int,
    key: str,
    body_fingerprint: bytes,
    now: dt.datetime,
    attempt: Callable[[], Awaitable[T]],
) -> T | Replayed | IdempotencyMismatch | IdempotencyInProgress:
    """Run `attempt` unless this key is in flight (409) or already answered (replay, or 422 mismatch)."""
    with in_flight.hold(api_key_id, key) as held:
        if not held:
            return IdempotencyInProgress()
        record = await store.find_idempotency(api_key_id, key, now - IDEMPOTENCY_WINDOW)
        if record is not None:
            return replay_or_mismatch(record, body_fingerprint)
        return await attempt()
