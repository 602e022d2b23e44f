"""Sending due invitations and reminders: claim a few, hand each to the mailer, record what happened.

Each message is recorded the moment the mail system has it, before the next is sent: a sender
killed mid-batch has sent at most one message that is not recorded (sent again later, with the same
`Message-ID`); the rest of its claim is taken up by any sender once the claim's lease is over.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from order_intake.domain import links
from order_intake.domain.delivery import (
    NO_REMINDER_REVIEWED,
    REMINDER_OFF_REVIEWED,
    Kind,
    Outcome,
    Result,
    item_labels,
    message_id,
    retry_delay,
    sent_line,
    without_addresses,
)
from order_intake.domain.invitations import Reason
from order_intake.service.delivery_records import Due, Letter
from order_intake.service.invitations import policy_of
from order_intake.service.loop import repeat
from order_intake.service.ports import Deliveries, Mailer, Suppressions

__all__ = ["Sender", "letter_of"]

log = logging.getLogger(__name__)
_decode = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal).decode
# A claim's messages are sent only while this much of its lease is left, so that none is sent twice
# because its lease ran out while a slow mail server held the sender.
_LEASE_MARGIN = 0.25
Counted = Callable[[Kind, Outcome], None]


def _name(customer: dict[str, Any]) -> str | None:
    parts = [str(customer[key]).strip() for key in ("first_name", "surname") if customer.get(key)]
    return " ".join(p for p in parts if p) or None


def letter_of(due: Due, *, secret: bytes, public_url: str, default_from: str, domain: str) -> Letter:
    """The message of a claimed invitation: its order's facts, the links signed for it, its stable Message-ID."""
    order = _decode(due.document)
    customer = order.get("customer") or {}
    day = order.get("order_date")  # "placed on": the order's date only
    return Letter(
        invitation_id=due.id,
        kind=due.kind,
        to_address=due.email,
        to_name=_name(customer),
        sender=policy_of(due.policy, default_from).sender,
        organisation=due.organisation,
        order_ref=due.order_ref,
        order_date=dt.date.fromisoformat(day) if isinstance(day, str) else None,
        items=tuple(item_labels(order.get("order_items") or ())),
        language=order.get("language"),
        locale=order.get("locale"),
        review_url=links.link(public_url, links.REVIEW, secret, due.id),
        unsubscribe_url=links.link(public_url, links.UNSUBSCRIBE, secret, due.id),
        message_id=message_id(due.id, due.kind, domain),
    )


class Sender:
    """One worker's sender: due invitations, then due reminders, a claim at a time, one message at a time."""

    def __init__(  # noqa: PLR0913 - the sender's collaborators and its two knobs
        self,
        store: Deliveries,
        mailers: tuple[Mailer, Mailer],  # (MAIL_URL's, SANDBOX_MAIL_URL's)
        suppressions: Suppressions,
        letter: Callable[[Due], Letter],
        *,
        lease: dt.timedelta,
        batch: int,
        counted: Counted | None = None,
    ) -> None:
        self._store = store
        self._mailer, self._sandbox = mailers
        self._suppressions = suppressions
        self._letter = letter
        self._lease = lease
        self._batch = batch
        self._counted = counted

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Send until `stop` is set; look for due messages every `idle` seconds while there are none."""
        try:
            await repeat(self.round, full=1, idle=idle, stop=stop, name="invitation sender")
        finally:
            await self._mailer.close()
            await self._sandbox.close()

    async def round(self) -> int:
        """Claim and send what is due now: invitations first, then reminders. How many were claimed."""
        claimed = 0
        for kind in (Kind.INVITATION, Kind.REMINDER):
            now = dt.datetime.now(dt.UTC)
            dues = await self._store.claim(kind, now, now + self._lease, self._batch)
            last_start = now + self._lease * (1 - _LEASE_MARGIN)
            for due in dues:
                if dt.datetime.now(dt.UTC) > last_start:
                    break  # the rest wait for the lease to end, then any sender takes them
                await self._deliver(due)
            claimed += len(dues)
        return claimed

    async def _deliver(self, due: Due) -> None:
        if due.kind is Kind.REMINDER and due.reviewed:
            # A review calls the reminder off when it is stored; this one was planned as the review came in.
            log.info("invitation reminder called off: reviewed", extra={"invitation": str(due.id)})
            await self._store.failed(due, dt.datetime.now(dt.UTC), (*due.explanation, REMINDER_OFF_REVIEWED))
            return
        mailer = self._sandbox if due.sandbox else self._mailer
        try:
            result = await mailer.send(self._letter(due))
        except Exception as exc:  # one message that cannot be made must not hold up the others
            log.exception("invitation e-mail could not be composed or sent", extra={"invitation": str(due.id)})
            result = Result(Outcome.TEMPORARY, f"{type(exc).__name__} while composing or sending")
        at = dt.datetime.now(dt.UTC)
        if result.outcome is Outcome.SENT:
            await self._sent(due, at)
        elif result.outcome is Outcome.UNDELIVERABLE:
            log.info("invitation e-mail undeliverable through this mail server", extra={"invitation": str(due.id)})
            line = f"the mail server cannot take this address: {result.error or 'no reason given'}"
            await self._store.failed(due, at, (*due.explanation, line))
        elif result.outcome is Outcome.TEMPORARY:
            log.info(
                "invitation e-mail deferred",
                extra={"invitation": str(due.id), "error": without_addresses(result.error)},
            )
            await self._store.retry(due, at + retry_delay(due.attempts + 1), result.error)
        else:
            await self._refused(due, result, at)
        if self._counted is not None:
            self._counted(due.kind, result.outcome)

    async def _sent(self, due: Due, at: dt.datetime) -> None:
        """Record the message sent, with the reminder the policy asks for unless the customer has reviewed."""
        lines = [*due.explanation, sent_line(due.kind, at)]
        days = policy_of(due.policy).reminder_days
        reminder_at = at + dt.timedelta(days=days) if due.kind is Kind.INVITATION and days > 0 else None
        if reminder_at is not None and due.reviewed:
            reminder_at = None
            lines.append(NO_REMINDER_REVIEWED)
        await self._store.sent(due, at, reminder_at, lines)

    async def _refused(self, due: Due, result: Result, at: dt.datetime) -> None:
        """The address is suppressed first (its other invitations with it), then this one ends `failed`."""
        log.info(
            "invitation e-mail refused", extra={"invitation": str(due.id), "error": without_addresses(result.error)}
        )
        await self._suppressions.by_customer(
            organisation_id=due.organisation_id, email=due.email, reason=Reason.BOUNCED.value, now=at
        )
        line = f"the mail server refused the address: {result.error or 'no reason given'}"
        await self._store.failed(due, at, (*due.explanation, line))
