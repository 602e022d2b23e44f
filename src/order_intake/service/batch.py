"""Submit a batch: each element validated like a single order, the accepted ones stored in one transaction."""

import asyncio
import uuid
from dataclasses import dataclass, field

import msgspec

from order_intake.domain import catalogue, ids
from order_intake.domain.answers import (
    BatchOutcome,
    BatchRefused,
    BatchSummary,
    ElementErrors,
    ElementWarnings,
)
from order_intake.domain.jsonbody import Malformed, NotArray, TooMany, parse_batch, parse_body
from order_intake.domain.order import Accepted, Rejected
from order_intake.domain.validation import validate_order
from order_intake.service.idempotency import replay_or_mismatch
from order_intake.service.outcomes import BatchRefusedWhole, BatchStored, BatchSubmitOutcome, MalformedBody
from order_intake.service.records import ApiKey, NewBatch, NewSubmission, Organisation, WriteUnit
from order_intake.service.submit import Intake, Request, claim, encoder, idempotently, new_submission

# Elements validated between two yields to the event loop.
_YIELD_EVERY = 100


def _order_ref(value: object) -> str | None:
    ref = value.get("order_ref") if isinstance(value, dict) else None
    return ref.strip() if isinstance(ref, str) and ref.strip() else None


def _judge(value: object, key: ApiKey, max_errors: int) -> tuple[Organisation | None, Accepted | Rejected]:
    """The element's organisation (from its own trkref, or the key's only one) and its validation."""
    trkref = value.get("trkref") if isinstance(value, dict) else None
    named = isinstance(trkref, str) and trkref.strip() != ""
    if named:
        org = next((o for o in key.organisations if o.trkref == trkref), None)
        if org is None:
            return None, Rejected(catalogue.INVALID_ORDER, (catalogue.INVALID_TRKREF,))
    elif trkref is None or isinstance(trkref, str):
        org = key.organisations[0] if len(key.organisations) == 1 else None
    else:
        org = None  # a trkref of the wrong type: the validator says `invalid trkref`
    if org is not None and not org.customer_order_enabled:
        return org, Rejected(catalogue.INVALID_ORDER, (catalogue.ACCESS_DENIED,))
    return org, validate_order(
        value, trkref=org.trkref if org else "", trkref_optional=org is not None and not named, max_errors=max_errors
    )


@dataclass
class _Tally:
    """The answer being built, element by element."""

    ids: list[uuid.UUID | None] = field(default_factory=list)
    errors: list[ElementErrors] = field(default_factory=list)
    warnings: list[ElementWarnings] = field(default_factory=list)
    rows: list[NewSubmission] = field(default_factory=list)
    organisation_ids: set[int] = field(default_factory=set)
    # Error strings listed so far: past MAX_BATCH_ERRORS, an element lists only its first error.
    listed: int = 0


def _refused(message: str, rejected: int) -> BatchRefusedWhole:
    return BatchRefusedWhole(
        BatchRefused(
            status=422,
            id=ids.uuid4(),
            message=catalogue.BATCH_INVALID,
            summary=BatchSummary(accepted=0, rejected=rejected),
            errors=(message,),
        )
    )


def _outcome(batch_id: uuid.UUID, tally: _Tally) -> BatchOutcome:
    accepted = len(tally.rows)
    rejected = len(tally.ids) - accepted
    status, message = (
        (202, catalogue.BATCH_ACCEPTED)
        if rejected == 0
        else (422, catalogue.BATCH_INVALID)
        if accepted == 0
        else (206, catalogue.BATCH_PARTIAL)
    )
    return BatchOutcome(
        status=status,
        id=batch_id,
        message=message,
        summary=BatchSummary(accepted=accepted, rejected=rejected),
        ids=tuple(tally.ids),
        errors=tuple(tally.errors) if tally.errors else msgspec.UNSET,
        warnings=tuple(tally.warnings) if tally.warnings else msgspec.UNSET,
    )


async def _judge_all(elements: list[msgspec.Raw], request: Request, batch_id: uuid.UUID) -> _Tally | Malformed:
    """Each element decoded, then accepted (its row made) or rejected (its errors kept), in order.

    Only the element being judged is held decoded; Malformed as soon as one element is.
    """
    tally = _Tally()
    for index, raw in enumerate(elements):
        if index % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)  # a 10,000-order batch must not hold the event loop for seconds
        if len(raw) > catalogue.MAX_ORDER_BYTES:  # not decoded: as a single order it would be refused unread
            tally.ids.append(None)
            tally.listed += 1
            tally.errors.append(ElementErrors(index=index, order_ref=None, errors=(catalogue.PAYLOAD_TOO_LARGE,)))
            continue
        exact = bytes(raw)
        value = parse_body(exact)
        if isinstance(value, Malformed):
            return value
        max_errors = catalogue.MAX_ERRORS if tally.listed < catalogue.MAX_BATCH_ERRORS else 1
        org, result = _judge(value, request.key, max_errors)
        if org is not None:
            tally.organisation_ids.add(org.id)
        if isinstance(result, Rejected) or org is None:
            tally.ids.append(None)
            errors = result.errors if isinstance(result, Rejected) else (catalogue.blank("trkref"),)
            tally.listed += len(errors)
            tally.errors.append(ElementErrors(index=index, order_ref=_order_ref(value), errors=errors))
            continue
        submission_id = ids.uuid4()
        tally.ids.append(submission_id)
        tally.rows.append(
            new_submission(
                request, submission_id=submission_id, organisation=org, body=exact, accepted=result, batch_id=batch_id
            )
        )
        if result.warnings:
            tally.warnings.append(
                ElementWarnings(index=index, order_ref=result.order.order_ref, warnings=result.warnings)
            )
    return tally


def _elements(body: bytes) -> list[msgspec.Raw] | MalformedBody | BatchRefusedWhole:
    """The batch's elements, undecoded, or the answer to a body that is not a batch."""
    elements = parse_batch(body, catalogue.MAX_BATCH)
    if isinstance(elements, Malformed):
        return MalformedBody(elements.detail)
    if isinstance(elements, NotArray):
        return _refused(catalogue.BATCH_NOT_ARRAY, 0)
    if isinstance(elements, TooMany):
        return _refused(catalogue.BATCH_TOO_MANY, elements.count)
    return elements or _refused(catalogue.BATCH_EMPTY, 0)


async def _validate_and_store(intake: Intake, request: Request, body_fingerprint: bytes) -> BatchSubmitOutcome:
    elements = _elements(request.body)
    if not isinstance(elements, list):
        return elements
    batch_id = ids.uuid4()
    tally = await _judge_all(elements, request, batch_id)
    if isinstance(tally, Malformed):
        return MalformedBody(tally.detail)
    answer = _outcome(batch_id, tally)
    encoded = encoder.encode(answer)
    batch = NewBatch(
        id=batch_id,
        api_key_id=request.key.id,
        received_at=request.received_at,
        answer=encoded,
        organisation_ids=tuple(sorted(tally.organisation_ids)),
    )
    unit = WriteUnit(
        submissions=tuple(tally.rows), idempotency=claim(request, body_fingerprint, answer.status, encoded), batch=batch
    )
    earlier = await intake.writer.write(unit)
    if earlier is not None:
        return replay_or_mismatch(earlier, body_fingerprint)
    return BatchStored(answer)


async def submit_batch(*, intake: Intake, request: Request) -> BatchSubmitOutcome:
    """Accept each valid element durably (all in one transaction) and say why each other one was not."""
    return await idempotently(
        intake, request, lambda body_fingerprint: _validate_and_store(intake, request, body_fingerprint)
    )
