"""What the customer's pages read of an invitation, as the stores read it (both backends)."""

from uuid import UUID

import msgspec

from order_intake.domain.reviews import Review


class ReviewSubject(msgspec.Struct, frozen=True, kw_only=True):
    """The invitation a customer's link names: its state, its organisation, its order and the reviews left."""

    invitation_id: UUID
    state: str
    organisation_id: int
    organisation_name: str
    email: str
    order_ref: str
    canonical_id: UUID
    document: bytes  # the canonical order's JSON
    reviews: tuple[Review, ...]
