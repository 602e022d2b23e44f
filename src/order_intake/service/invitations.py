"""Review invitations in the service: canonical orders' facts planned with the domain's rule, kept as rows.

Every re-planning goes through replan(): processing (a canonical order changed), a policy change, a
suppression added or lifted, a cancellation. It takes all of one customer's invitations in one
organisation and plans them together (domain/invitations.py), so the outcome never depends on which
of these ran first.
"""

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from order_intake.domain.invitations import Invitation, Purchase, Reason, State, cancelled, plan_customer
from order_intake.domain.policy import DEFAULT_FROM, Policy, policy_from_json
from order_intake.service.invitation_records import CustomerInvitations, InvitationRow
from order_intake.service.processing_records import Claimed, OrderKey, StoredCanonical

CustomerKey = tuple[int, str]  # (organisation id, customer key)
Planned = Callable[[Sequence[InvitationRow]], None]
_decode = msgspec.json.Decoder(dict[str, Any]).decode


def customer_key(document: Mapping[str, Any]) -> str:
    """Whom cooldown counts as one customer: their customer_ref if the order has one, else their address."""
    customer = document.get("customer") or {}
    ref = customer.get("customer_ref")
    return f"ref:{ref}" if ref else f"email:{customer.get('email', '')}"


def email_hash(secret: bytes, email: str) -> bytes:
    """The keyed hash an address's suppression is found by (and kept as, once the address is erased)."""
    return hmac.new(secret, email.encode(), hashlib.sha256).digest()


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def fresh_row(
    *, organisation_id: int, canonical_id: uuid.UUID, document: Mapping[str, Any], sandbox: bool, now: dt.datetime
) -> InvitationRow:
    """A canonical order's facts as an invitation row not yet planned (state filled in by replan)."""
    customer = document.get("customer") or {}
    return InvitationRow(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        order_ref=str(document["order_ref"]),
        canonical_id=canonical_id,
        customer_key=customer_key(document),
        email=str(customer.get("email", "")),
        order_date=_date(document.get("order_date")),
        fulfilment_date=_date(document.get("fulfilment_date")),
        country=customer.get("country"),
        sandbox=sandbox,
        state=State.SCHEDULED.value,
        reason=None,
        send_at=None,
        sent_at=None,
        explanation=(),
        created_at=now,
        updated_at=now,
    )


def refreshed(row: InvitationRow, latest: InvitationRow) -> InvitationRow:
    """An existing invitation with its order's latest facts (its state and history kept)."""
    return msgspec.structs.replace(
        row,
        canonical_id=latest.canonical_id,
        customer_key=latest.customer_key,
        email=latest.email,
        order_date=latest.order_date,
        fulfilment_date=latest.fulfilment_date,
        country=latest.country,
        sandbox=latest.sandbox,
    )


def policy_of(stored: Mapping[str, object] | None, default_from: str = DEFAULT_FROM) -> Policy:
    """An organisation's policy from its stored settings (None: every default)."""
    return policy_from_json(dict(stored or {}), default_from)


def _purchase(row: InvitationRow, suppression: str | None) -> Purchase:
    return Purchase(
        row.order_ref, row.order_date, row.fulfilment_date, row.country, Reason(suppression) if suppression else None
    )


def _invitation(row: InvitationRow) -> Invitation:
    return Invitation(
        order_ref=row.order_ref,
        state=State(row.state),
        reason=Reason(row.reason) if row.reason else None,
        send_at=row.send_at,
        sent_at=row.sent_at,
        explanation=row.explanation,
    )


def replan(customer: CustomerInvitations, now: dt.datetime) -> list[InvitationRow]:
    """The customer's invitations planned again together; only the rows that changed come back."""
    policy = policy_of(customer.policy)
    orders = [(_purchase(r, customer.suppressions.get(r.email)), _invitation(r)) for r in customer.rows]
    changed = []
    for row, planned in zip(customer.rows, plan_customer(orders, policy, now), strict=True):
        if (planned.state.value, planned.reason, planned.send_at, planned.explanation) == (
            row.state,
            row.reason,
            row.send_at,
            row.explanation,
        ):
            continue
        changed.append(_with_plan(row, planned, now))
    return changed


def _with_plan(row: InvitationRow, planned: Invitation, now: dt.datetime) -> InvitationRow:
    return msgspec.structs.replace(
        row,
        state=planned.state.value,
        reason=planned.reason.value if planned.reason else None,
        send_at=planned.send_at,
        sent_at=planned.sent_at,
        explanation=planned.explanation,
        updated_at=now,
    )


def group_by_customer(rows: Sequence[InvitationRow]) -> dict[tuple[int, str], list[InvitationRow]]:
    """Rows by (organisation, customer), in order_ref order (so that planning sees a stable sequence)."""
    groups: dict[tuple[int, str], list[InvitationRow]] = {}
    for row in sorted(rows, key=lambda r: (r.organisation_id, r.customer_key, r.order_ref)):
        groups.setdefault((row.organisation_id, row.customer_key), []).append(row)
    return groups


class InvitationPlanning:
    """What a processing store needs to keep invitations planned as it writes canonical orders.

    The store reads and writes (in the transaction that writes the canonical orders); this says what
    to read and what to write: targets() the changed orders' rows, customers() whose invitations to
    read with them, assemble() the rows to write. `planned` sees every row written (metrics).
    """

    def __init__(self, secret: bytes, planned: Planned | None = None) -> None:
        self.secret = secret
        self._planned = planned

    def email_hash(self, email: str) -> bytes:
        """The address's suppression key."""
        return email_hash(self.secret, email)

    def targets(
        self, changed: Sequence[StoredCanonical], claimed: Sequence[Claimed], now: dt.datetime
    ) -> list[InvitationRow]:
        """A fresh row for each changed canonical order, with its latest facts.

        Sandbox or not as the order's newest claimed submission's key was.
        """
        oldest_first = sorted(claimed, key=lambda c: c.received_at)  # the newest is written last, and wins
        sandbox: dict[OrderKey, bool] = {(c.organisation_id, c.order_ref): c.sandbox for c in oldest_first}
        return [
            fresh_row(
                organisation_id=c.organisation_id,
                canonical_id=c.id,
                document=_decode(c.document),
                sandbox=sandbox.get((c.organisation_id, c.order_ref), False),
                now=now,
            )
            for c in changed
        ]

    @staticmethod
    def customers(targets: Iterable[InvitationRow], existing: Iterable[InvitationRow]) -> set[CustomerKey]:
        """The customers to plan again: the orders' customers now, and before (a customer_ref may have come)."""
        return {(r.organisation_id, r.customer_key) for rows in (targets, existing) for r in rows}

    def assemble(  # noqa: PLR0913 - everything one planning round reads
        self,
        *,
        targets: Sequence[InvitationRow],
        existing: Sequence[InvitationRow],
        customer_rows: Sequence[InvitationRow],
        policies: Mapping[int, dict[str, object] | None],
        suppressions: Mapping[tuple[int, bytes], str],
        now: dt.datetime,
    ) -> list[InvitationRow]:
        """The rows to write: the changed orders' (new or with new facts) and every row whose plan changed."""
        before = {(r.organisation_id, r.order_ref): r for r in existing}
        current = {(r.organisation_id, r.order_ref): r for r in customer_rows}
        facts: dict[OrderKey, InvitationRow] = {}
        for target in targets:
            key = (target.organisation_id, target.order_ref)
            old = before.get(key)
            facts[key] = refreshed(old, target) if old is not None else target
        current.update(facts)
        out: dict[OrderKey, InvitationRow] = dict(facts)
        for (organisation_id, customer), rows in group_by_customer(list(current.values())).items():
            reasons = suppressions_of(self, rows, suppressions)
            plan = CustomerInvitations(organisation_id, customer, tuple(rows), policies.get(organisation_id), reasons)
            out.update({(r.organisation_id, r.order_ref): r for r in replan(plan, now)})
        written = list(out.values())
        if self._planned is not None:
            self._planned(written)
        return written


def cancel(
    row: InvitationRow,
    customer: CustomerInvitations,
    reason: Reason,
    now: dt.datetime,
) -> list[InvitationRow]:
    """The retailer's cancellation: the row cancelled, and the customer's others planned again without it.

    `customer` holds all of the customer's rows (this one included). A cancelled invitation frees its
    cooldown slot, so a skipped one may now be scheduled.
    """
    ended = _with_plan(row, cancelled(_invitation(row), reason), now)
    rows = tuple(ended if r.order_ref == row.order_ref else r for r in customer.rows)
    without = CustomerInvitations(
        customer.organisation_id, customer.customer_key, rows, customer.policy, customer.suppressions
    )
    others = replan(without, now)
    return [ended, *others]


def suppressions_of(
    planning: "InvitationPlanning", rows: Sequence[InvitationRow], found: Mapping[tuple[int, bytes], str]
) -> dict[str, str]:
    """The suppression reason of each of these rows' addresses that has one."""
    reasons = {r.email: found.get((r.organisation_id, planning.email_hash(r.email))) for r in rows}
    return {email: reason for email, reason in reasons.items() if reason is not None}
