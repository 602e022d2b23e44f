"""The ports of the use cases: what they need of a database, a writer and a broker (adapters/ implements them)."""

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from order_intake.domain.delivery import Kind, Result
    from order_intake.domain.invitations import State
    from order_intake.domain.reviews import Review
    from order_intake.domain.suppressions import ListPosition
    from order_intake.service.delivery_records import Due, Letter
    from order_intake.service.invitation_records import (
        Cancellation,
        InvitationView,
        PurchaseRow,
        Removal,
        SuppressionAdded,
        SuppressionPage,
        SuppressionRow,
    )
    from order_intake.service.invitations import InvitationPlanning
    from order_intake.service.review_records import ReviewSubject

from order_intake.service.processing_records import Claimed, OrderKey, OutboxRow, Plan, StoredCanonical
from order_intake.service.records import (
    ApiKey,
    IdempotencyRecord,
    StoredBatch,
    StoredSubmission,
    UnitOutcome,
    WriteUnit,
)

# Idempotency-Keys are kept this long.
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


class Store(Protocol):
    """Everything the service asks of its database."""

    async def open(self) -> None:
        """Connect (pools, writer thread); the schema is already current."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> bool:
        """True while the database answers."""

    async def commit_units(self, units: Sequence[WriteUnit]) -> list[UnitOutcome]:
        """Store the units in one transaction; one outcome per unit, in order."""

    async def find_key(self, username: str) -> ApiKey | None:
        """The key with this username and its organisations, revoked or not."""

    async def all_keys(self) -> list[ApiKey]:
        """Every key and its organisations, revoked or not."""

    async def get_submission(self, organisation_id: int, submission_id: UUID) -> StoredSubmission | None:
        """One submission of this organisation."""

    async def get_batch(self, batch_id: UUID, api_key_id: int, organisation_ids: Sequence[int]) -> StoredBatch | None:
        """The batch, if these organisations include every one it touched (it touched none: if this key sent it)."""

    async def find_idempotency(self, api_key_id: int, key: str, since: dt.datetime) -> IdempotencyRecord | None:
        """The record stored under this key after `since`, if any."""


class Writer(Protocol):
    """The group-commit writer (adapters/writer.py): a unit in, committed with others, its outcome out."""

    async def write(self, unit: WriteUnit) -> UnitOutcome:
        """Commit the unit (with whatever else is queued); an earlier Idempotency-Key record, or None."""


Planner = Callable[[Sequence[Claimed], Mapping[OrderKey, StoredCanonical]], Plan]
Publisher = Callable[[Sequence[OutboxRow]], Awaitable[None]]


class ProcessingStore(Protocol):
    """The storage side of processing and of the event relay."""

    async def open(self) -> None:
        """Connect."""

    async def close(self) -> None:
        """Release every connection."""

    async def process(
        self,
        limit: int,
        plan: Planner,
        invitations: "InvitationPlanning | None" = None,
        skip: Collection[UUID] = (),
    ) -> int:
        """Claim up to `limit` accepted submissions and write what `plan` makes of them, in one transaction.

        `plan` gets the claimed submissions and their orders' current canonical versions; the answer
        is the number claimed (0: nothing waiting). With `invitations`, the changed orders' invitations
        (and their customers' others) are planned again and written in the same transaction. The
        submissions in `skip` stay queued, unclaimed (their processing raised: see Processor).
        """

    async def invitation(self, organisation_id: int, order_ref: str) -> "InvitationView | None":
        """One order's invitation and its organisation's policy settings."""

    async def purchases(self, organisation_id: int, email: str) -> "list[PurchaseRow]":
        """Every invited order of this address in the organisation."""

    async def cancel_invitation(
        self, planning: "InvitationPlanning", cancellation: "Cancellation"
    ) -> "InvitationView | State | None":
        """Cancel one order's invitation and plan the customer's others again; SENT if too late, None if none."""

    async def review_subject(self, invitation_id: UUID) -> "ReviewSubject | None":
        """The invitation a customer's link names, its organisation's name, its order and its reviews."""

    async def save_reviews(self, invitation_id: UUID, reviews: "Sequence[Review]", at: dt.datetime) -> bool:
        """Store the reviews and call off the invitation's unsent reminder, in one transaction.

        Each review replaces the item's earlier one. False, and nothing stored, if the invitation is gone or
        no longer reviewable.
        """

    async def signing_key(self) -> bytes:
        """The key links are signed and addresses hashed with (ORDER_INTAKE_SECRET_KEY, else the database's)."""

    async def relay(self, limit: int, publish: Publisher) -> int:
        """Hand up to `limit` unsent events, oldest first, to `publish`; they count as sent once it returns."""

    async def events_after(self, after_id: int, trkref: str | None, limit: int) -> list[OutboxRow]:
        """Events past position `after_id`, oldest first, of one organisation or all."""

    async def get_canonical(self, organisation_id: int, order_ref: str) -> StoredCanonical | None:
        """One canonical order."""

    async def backlog(self, *, unsent: bool) -> tuple[float, int | None]:
        """Age in seconds of the oldest unprocessed submission (0 when none), and unsent events if asked (else None)."""


class Suppressions(Protocol):
    """An organisation's suppressions: each change re-plans the address's customers and is audited, in one transaction.

    Addresses are given as the validator stores them. The audit rows are the admin commands'
    (`suppress.add`, `suppress.remove`, the trkref as target, never the address in clear).
    """

    async def add(self, *, trkref: str, email: str, actor: str, now: dt.datetime) -> "SuppressionAdded":
        """Suppress the address for the retailer (suppressed_by_retailer); one already suppressed keeps its reason."""

    async def remove(self, *, trkref: str, email: str, actor: str, now: dt.datetime) -> "Removal":
        """Lift the retailer's suppression of the address; the customer's own (unsubscribed, bounced) stays."""

    async def by_customer(self, *, organisation_id: int, email: str, reason: str, now: dt.datetime) -> bool:
        """Suppress an address for the customer (`unsubscribed`, `bounced`): no retailer can lift it."""

    async def find(self, *, trkref: str, email: str) -> "SuppressionRow | None":
        """The address's suppression, whatever its reason, if it has one."""

    async def page(self, *, trkref: str, after: "ListPosition | None", limit: int) -> "SuppressionPage":
        """Up to `limit` suppressions that still name their address, oldest first, from after `after`."""

    async def close(self) -> None:
        """Release every connection."""


class Deliveries(Protocol):
    """The invitations' delivery state: due ones claimed for a while, then recorded sent, retried or failed.

    A claim holds each invitation until `lease_until` (another sender skips it meanwhile); one whose
    sender died is claimed again once the lease is over.
    """

    async def claim(self, kind: "Kind", now: dt.datetime, lease_until: dt.datetime, limit: int) -> "list[Due]":
        """Up to `limit` due messages of this kind nobody holds, oldest due first, held until `lease_until`."""

    async def sent(
        self, due: "Due", at: dt.datetime, reminder_at: dt.datetime | None, explanation: Sequence[str]
    ) -> None:
        """The message was handed over: the invitation `sent` (its reminder due at `reminder_at`), or its reminder."""

    async def retry(self, due: "Due", at: dt.datetime, error: str | None) -> None:
        """A temporary failure: counted, the message due again at `at`, the error kept for operators."""

    async def failed(self, due: "Due", at: dt.datetime, explanation: Sequence[str]) -> None:
        """The invitation `failed` (the mail server refused the recipient), or a reminder called off.

        A reminder is called off when the mail server refused the recipient, or when the customer
        reviewed the order before it went.
        """


class DeliveryStore(Deliveries, Protocol):
    """Deliveries with their connections to open and close."""

    async def open(self) -> None:
        """Connect."""

    async def close(self) -> None:
        """Release every connection."""


class Mailer(Protocol):
    """Where messages go: an SMTP server over one reused connection, or a Maildir."""

    async def send(self, letter: "Letter") -> "Result":
        """Write the letter and hand it over; the outcome, never an exception for a mail problem."""

    async def close(self) -> None:
        """Close the connection, if any."""
