"""Read-side use cases: one submission, one canonical order, a batch, the caller's organisations."""

import uuid
from decimal import Decimal

import msgspec

from order_intake.domain import catalogue
from order_intake.domain.answers import (
    Batch,
    BatchOutcome,
    CanonicalOrder,
    OrganisationEntry,
    Organisations,
    Submission,
)
from order_intake.domain.fields import could_be_stored
from order_intake.domain.order import CustomerOrder
from order_intake.service.ports import ProcessingStore, Store
from order_intake.service.records import ApiKey, Organisation

_order = msgspec.json.Decoder(CustomerOrder, float_hook=Decimal)


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def find_submission(*, store: Store, organisation: Organisation, submission_id: str) -> Submission | None:
    """The organisation's submission with this id; None when unknown to it (or not a UUID)."""
    parsed = _parse_id(submission_id)
    if parsed is None:
        return None
    stored = await store.get_submission(organisation.id, parsed)
    if stored is None:
        return None
    return Submission(
        status=200,
        id=stored.id,
        state=catalogue.SUBMISSION_ACCEPTED if stored.processed_at is None else catalogue.SUBMISSION_PROCESSED,
        received_at=stored.received_at,
        order=_order.decode(stored.normalised),
        processed_at=stored.processed_at,
        customer_order_id=stored.canonical_id,
    )


async def find_canonical(
    *, store: ProcessingStore, organisation: Organisation, order_ref: str
) -> CanonicalOrder | None:
    """The organisation's canonical order with this order_ref; None when there is none (yet).

    An order_ref no order can have (U+0000, too long, not UTF-8) is not looked up: drivers refuse some.
    """
    if not could_be_stored(order_ref):
        return None
    stored = await store.get_canonical(organisation.id, order_ref)
    if stored is None:
        return None
    return CanonicalOrder(
        status=200,
        id=stored.id,
        order_ref=stored.order_ref,
        version=stored.version,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        order=_order.decode(stored.document),
    )


def organisations_of(key: ApiKey) -> Organisations:
    """The organisations a key is linked to, sorted by trkref."""
    entries = sorted(
        (OrganisationEntry(o.trkref, o.name, o.customer_order_enabled) for o in key.organisations),
        key=lambda entry: entry.trkref,
    )
    return Organisations(status=200, organisations=tuple(entries))


_batch_outcome = msgspec.json.Decoder(BatchOutcome)


async def find_batch(*, store: Store, key: ApiKey, batch_id: str) -> Batch | None:
    """A batch every organisation of which this key holds (one that touched none: this key's own); else None."""
    parsed = _parse_id(batch_id)
    if parsed is None:
        return None
    stored = await store.get_batch(parsed, key.id, [o.id for o in key.organisations])
    if stored is None:
        return None
    answer = _batch_outcome.decode(stored.answer)
    return Batch(
        status=200,
        id=stored.id,
        received_at=stored.received_at,
        summary=answer.summary,
        ids=answer.ids,
        errors=answer.errors or (),
        warnings=answer.warnings,
    )
