"""Submit one customer order: idempotency, validation, then a durable write through the writer."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from order_intake.domain import catalogue, ids
from order_intake.domain.answers import OrderAccepted
from order_intake.domain.jsonbody import Malformed, parse_body
from order_intake.domain.order import Accepted
from order_intake.domain.validation import validate_order
from order_intake.service.idempotency import InFlight, fingerprint, guarded, replay_or_mismatch
from order_intake.service.outcomes import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    MalformedBody,
    Replayed,
    Stored,
    SubmitOutcome,
)
from order_intake.service.ports import Store, Writer
from order_intake.service.records import ApiKey, IdempotencyRecord, NewSubmission, Organisation, WriteUnit

T = TypeVar("T")

encoder = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True, slots=True)
class Intake:
    """What the use cases need of the process: the store, its writer, the keys in flight."""

    store: Store
    writer: Writer
    in_flight: InFlight


# hot path: a native class, not a frozen dataclass: its constructor is compiled (docs/hot-path.md)
class Request:
    """A submission (single or batch) as received; `organisation` is None for batches.

    A plain class rather than a frozen dataclass: compiled, its constructor is native code (a frozen
    dataclass's generated __init__ runs interpreted: 11,000 instructions a request). Its attributes are
    not declared Final, which compiled code may free too early (docs/hot-path.md).
    """

    def __init__(  # noqa: PLR0913 - one argument per part of the request
        self,
        *,
        key: ApiKey,
        organisation: Organisation | None,
        path: str,
        body: bytes,
        idempotency_key: str | None,
        request_id: str | None,
        received_at: dt.datetime,
    ) -> None:
        self.key = key
        self.organisation = organisation
        self.path = path
        self.body = body
        self.idempotency_key = idempotency_key
        self.request_id = request_id
        self.received_at = received_at


def new_submission(  # noqa: PLR0913 - one argument per column that is not the order's
    request: Request,
    *,
    submission_id: uuid.UUID,
    organisation: Organisation,
    body: bytes,
    accepted: Accepted,
    batch_id: uuid.UUID | None = None,
) -> NewSubmission:
    """The row of one accepted order."""
    return NewSubmission(
        id=submission_id,
        organisation_id=organisation.id,
        api_key_id=request.key.id,
        received_at=request.received_at,
        body=body,
        normalised=encoder.encode(accepted.order),
        order_ref=accepted.order.order_ref,
        idempotency_key=request.idempotency_key if batch_id is None else None,
        request_id=request.request_id,
        batch_id=batch_id,
    )


def claim(request: Request, body_fingerprint: bytes, status: int, answer: bytes) -> IdempotencyRecord | None:
    """The idempotency record to store with the request's rows, when it has a key."""
    if request.idempotency_key is None:
        return None
    return IdempotencyRecord(
        api_key_id=request.key.id,
        key=request.idempotency_key,
        fingerprint=body_fingerprint,
        status=status,
        response=answer,
        created_at=request.received_at,
    )


async def _validate_and_store(intake: Intake, request: Request, body_fingerprint: bytes) -> SubmitOutcome:
    assert request.organisation is not None  # noqa: S101 - single submissions always name one
    value = parse_body(request.body)
    if isinstance(value, Malformed):
        return MalformedBody(value.detail)
    result = validate_order(value, trkref=request.organisation.trkref)
    if not isinstance(result, Accepted):
        return result
    answer = OrderAccepted(
        status=202,
        id=ids.uuid4(),
        message=catalogue.ORDER_ACCEPTED,
        warnings=result.warnings or msgspec.UNSET,
    )
    row = new_submission(
        request, submission_id=answer.id, organisation=request.organisation, body=request.body, accepted=result
    )
    unit = WriteUnit(submissions=(row,), idempotency=claim(request, body_fingerprint, 202, encoder.encode(answer)))
    earlier = await intake.writer.write(unit)
    if earlier is not None:  # another process stored this Idempotency-Key first
        return replay_or_mismatch(earlier, body_fingerprint)
    return Stored(answer)


async def idempotently(
    intake: Intake, request: Request, attempt: Callable[[bytes], Awaitable[T]]
) -> T | Replayed | IdempotencyMismatch | IdempotencyInProgress:
    """Run `attempt(fingerprint)` under the request's Idempotency-Key, if it has one."""
    if request.idempotency_key is None:
        return await attempt(b"")
    body_fingerprint = fingerprint("POST", request.path, request.body)
    return await guarded(
        store=intake.store,
        in_flight=intake.in_flight,
        api_key_id=request.key.id,
        key=request.idempotency_key,
        body_fingerprint=body_fingerprint,
        now=request.received_at,
        attempt=lambda: attempt(body_fingerprint),
    )


async def submit_order(*, intake: Intake, request: Request) -> SubmitOutcome:
    """Accept one order durably, or say why not; a retry with an Idempotency-Key stores nothing new."""
    return await idempotently(
        intake, request, lambda body_fingerprint: _validate_and_store(intake, request, body_fingerprint)
    )
