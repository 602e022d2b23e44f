"""Stored answers (batches, Idempotency-Key replays) of erased submissions, scrubbed in the erasure's transaction."""

import datetime as dt
from collections.abc import Collection
from typing import Any
from uuid import UUID

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.privacy import chunks
from order_intake.adapters.sql.schema import batches, idempotency_keys
from order_intake.domain.erasure import scrub_answer

__all__ = ["ErasedRequest", "scrub_answers"]

# The request an erased submission came in: its key and receiving time, which its idempotency
# record shares (created_at), and its batch, if any.
ErasedRequest = tuple[int, dt.datetime, UUID | str | None]


def _rewritten(stored: bytes, erased: frozenset[str], key: str) -> bytes | None:
    answer = msgspec.json.decode(stored)
    scrubbed = scrub_answer(answer, erased, key)
    return None if scrubbed == answer else msgspec.json.encode(scrubbed)


def _scrub_batches(conn: sa.Connection, batch_ids: list[Any], erased: frozenset[str], key: str) -> int:
    changed = 0
    for part in chunks(batch_ids):
        for batch_id, answer in conn.execute(sa.select(batches.c.id, batches.c.answer).where(batches.c.id.in_(part))):
            scrubbed = _rewritten(answer, erased, key)
            if scrubbed is not None:
                conn.execute(batches.update().where(batches.c.id == batch_id).values(answer=scrubbed))
                changed += 1
    return changed


def scrub_answers(
    conn: sa.Connection, requests: Collection[ErasedRequest], erased: frozenset[str], key: str
) -> tuple[int, int]:
    """Scrub the answers that list erased submissions; (answers changed, idempotency records removed).

    A record whose Idempotency-Key itself holds the email is removed: a retry with it then stores anew.
    """
    batch_ids = list({batch_id for _, _, batch_id in requests if batch_id is not None})
    answered = erased | {str(batch_id) for batch_id in batch_ids}
    changed, removed = _scrub_batches(conn, batch_ids, erased, key), 0
    k = idempotency_keys.c
    for api_key_id, received_at in {(r[0], r[1]) for r in requests}:
        same_request = (k.api_key_id == api_key_id) & (k.created_at == received_at)
        for idempotency_key, response in conn.execute(sa.select(k.key, k.response).where(same_request)):
            if str(msgspec.json.decode(response).get("id")) not in answered:
                continue  # another request of the same key at the same instant
            this = same_request & (k.key == idempotency_key)
            if key in idempotency_key.lower():
                conn.execute(idempotency_keys.delete().where(this))
                removed += 1
            elif (scrubbed := _rewritten(response, erased, key)) is not None:
                conn.execute(idempotency_keys.update().where(this).values(response=scrubbed))
                changed += 1
    return changed, removed
