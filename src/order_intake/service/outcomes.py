"""What a submission use case can come to; the HTTP layer turns each into an answer."""

from uuid import UUID

import msgspec

from order_intake.domain.answers import BatchOutcome, BatchRefused, OrderAccepted
from order_intake.domain.order import Rejected


class Stored(msgspec.Struct, frozen=True):
    """Committed: answer 202 with this body."""

    answer: OrderAccepted


class Replayed(msgspec.Struct, frozen=True):
    """A retry with the same Idempotency-Key and body: the original answer, again."""

    status: int
    body: bytes
    answer_id: UUID | None


class MalformedBody(msgspec.Struct, frozen=True):
    """The body is not JSON: 400."""

    detail: str


class IdempotencyMismatch(msgspec.Struct, frozen=True):
    """The Idempotency-Key was first used with another body: 422."""


class IdempotencyInProgress(msgspec.Struct, frozen=True):
    """Another request with this Idempotency-Key is being handled now: 409."""


SubmitOutcome = Stored | Replayed | Rejected | MalformedBody | IdempotencyMismatch | IdempotencyInProgress


class BatchStored(msgspec.Struct, frozen=True):
    """A batch whose elements were each accepted or rejected; the accepted ones are committed."""

    answer: BatchOutcome


class BatchRefusedWhole(msgspec.Struct, frozen=True):
    """A batch refused whole (not an array, empty, too many): 422, nothing stored."""

    answer: BatchRefused


BatchSubmitOutcome = (
    BatchStored | BatchRefusedWhole | Replayed | MalformedBody | IdempotencyMismatch | IdempotencyInProgress
)
