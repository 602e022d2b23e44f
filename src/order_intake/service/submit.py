"""Submit one customer order: idempotency, validation, then a durable write through the writer."""

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec

from order_intake.adapters.records import ApiKey, IdempotencyRecord, NewSubmission, Organisation, WriteUnit
from order_intake.adapters.store import IDEMPOTENCY_WINDOW, Store
from order_intake.adapters.writer import GroupCommitWriter
from order_intake.domain import catalogue
from order_intake.domain.answers import OrderAccepted
from order_intake.domain.jsonbody import Malformed, parse_body
from order_intake.domain.order import Accepted
from order_intake.domain.validation import validate_order
from order_intake.service.idempotency import InFlight, fingerprint
from order_intake.service.outcomes import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    MalformedBody,
    Replayed,
    Stored,
    SubmitOutcome,
)

_encoder = msgspec.json.Encoder(decimal_format="number")
_accepted = msgspec.json.Decoder(OrderAccepted)


@dataclass(frozen=True, slots=True)
class Intake:
    """What the use cases need of the process: the store, its writer, the keys in flight."""

    store: Store
    writer: GroupCommitWriter
    in_flight: InFlight


@dataclass(frozen=True, slots=True)
class Request:
    """One submission as received."""

    key: ApiKey
    organisation: Organisation
    path: str
    body: bytes
    idempotency_key: str | None
    request_id: str | None
    received_at: dt.datetime


def _replay_or_mismatch(record: IdempotencyRecord, print_: bytes) -> Replayed | IdempotencyMismatch:
    if record.fingerprint != print_:
        return IdempotencyMismatch()
    submission_id = _accepted.decode(record.response).id if record.status == 202 else None  # noqa: PLR2004
    return Replayed(status=record.status, body=record.response, submission_id=submission_id)


async def _validate_and_store(intake: Intake, request: Request, print_: bytes) -> SubmitOutcome:
    value = parse_body(request.body)
    if isinstance(value, Malformed):
        return MalformedBody(value.detail)
    result = validate_order(value, trkref=request.organisation.trkref)
    if not isinstance(result, Accepted):
        return result
    answer = OrderAccepted(
        status=202,
        id=uuid.uuid4(),
        message=catalogue.ORDER_ACCEPTED,
        warnings=result.warnings or msgspec.UNSET,
    )
    submission = NewSubmission(
        id=answer.id,
        organisation_id=request.organisation.id,
        api_key_id=request.key.id,
        received_at=request.received_at,
        body=request.body,
        normalised=_encoder.encode(result.order),
        order_ref=result.order.order_ref,
        idempotency_key=request.idempotency_key,
        request_id=request.request_id,
    )
    claim = None
    if request.idempotency_key is not None:
        claim = IdempotencyRecord(
            api_key_id=request.key.id,
            key=request.idempotency_key,
            fingerprint=print_,
            status=202,
            response=_encoder.encode(answer),
            created_at=request.received_at,
        )
    earlier = await intake.writer.write(WriteUnit(submissions=(submission,), idempotency=claim))
    if earlier is not None:  # another process stored this Idempotency-Key first
        return _replay_or_mismatch(earlier, print_)
    return Stored(answer)


async def submit_order(*, intake: Intake, request: Request) -> SubmitOutcome:
    """Accept one order durably, or say why not; a retry with an Idempotency-Key stores nothing new."""
    key = request.idempotency_key
    if key is None:
        return await _validate_and_store(intake, request, b"")
    print_ = fingerprint("POST", request.path, request.body)
    with intake.in_flight.hold(request.key.id, key) as held:
        if not held:
            return IdempotencyInProgress()
        since = request.received_at - IDEMPOTENCY_WINDOW
        record = await intake.store.find_idempotency(request.key.id, key, since)
        if record is not None:
            return _replay_or_mismatch(record, print_)
        return await _validate_and_store(intake, request, print_)
