"""What single and batch submission endpoints share: reading the request, answering the common outcomes."""

import datetime as dt
from collections.abc import Callable
from uuid import UUID

from order_intake.domain import catalogue
from order_intake.entrypoints.http import replies
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.service.outcomes import IdempotencyInProgress, IdempotencyMismatch, MalformedBody, Replayed
from order_intake.service.records import ApiKey, Organisation
from order_intake.service.submit import Request

Shared = Replayed | MalformedBody | IdempotencyMismatch | IdempotencyInProgress


def _idempotency_key(ex: Exchange) -> str | None:
    """The header's value, None when absent; Refused (400) when unusable, or sent twice (which one holds?)."""
    if ex.header_count("idempotency-key") > 1:
        raise replies.refusal(400, catalogue.INVALID_IDEMPOTENCY_KEY)
    raw = ex.header("idempotency-key")
    if raw is None:  # granian hides a value that is not ASCII, but the name is still there
        if ex.has_header("idempotency-key"):
            raise replies.refusal(400, catalogue.INVALID_IDEMPOTENCY_KEY)
        return None
    key = raw.strip()
    if 0 < len(key) <= catalogue.MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable():
        return key
    raise replies.refusal(400, catalogue.INVALID_IDEMPOTENCY_KEY)


async def receive(ex: Exchange, key: ApiKey, organisation: Organisation | None, limit: int) -> Request:
    """The request once its Idempotency-Key and body pass (400 or 413 refused)."""
    idempotency_key = _idempotency_key(ex)
    body = await ex.read_body(limit)
    if body is None:
        # The answer waits until the rest of the body is read and dropped, or says the connection closes
        # (Exchange.answer_bytes, linger.py): a client that sends it all before reading still hears it.
        raise replies.refusal(413, catalogue.PAYLOAD_TOO_LARGE)
    return Request(
        key=key,
        organisation=organisation,
        path=ex.path,
        body=body,
        idempotency_key=idempotency_key,
        request_id=ex.request_id,
        received_at=dt.datetime.now(dt.UTC),
    )


def location(path: str) -> tuple[str, str]:
    """A Location header."""
    return "location", path


async def answer_shared(ex: Exchange, outcome: Shared, location_of: Callable[[UUID], str]) -> None:
    """Answer an outcome that single and batch submissions have in common."""
    match outcome:
        case Replayed(status, body, answer_id):
            extra = [("idempotent-replayed", "true")]
            if answer_id is not None:
                extra.append(location(location_of(answer_id)))
            await ex.answer_bytes(status, body, extra)
        case MalformedBody():
            await replies.message(ex, 400, catalogue.MALFORMED_JSON)
        case IdempotencyMismatch():
            await replies.invalid(ex, catalogue.IDEMPOTENCY_KEY_REUSED, (catalogue.IDEMPOTENCY_KEY_REUSED_DETAIL,))
        case IdempotencyInProgress():
            await replies.message(ex, 409, catalogue.IDEMPOTENCY_KEY_IN_PROGRESS)
