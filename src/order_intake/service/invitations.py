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
from typing import Final

import msgspec

from order_intake.domain import ids
from order_intake.domain.invitations import Invitation, Purchase, Reason, State, cancelled, plan_customer
from order_intake.domain.policy import DEFAULT_FROM, Policy, policy_from_json
from order_intake.errors import PlanningFailed
from order_intake.service.invitation_records import CustomerInvitations, InvitationRow, OrderFacts
from order_intake.service.processing_records import Claimed, OrderKey, StoredCanonical

CustomerKey = tuple[int, str]  # (organisation id, customer key)
Planned = Callable[[Sequence[InvitationRow]], None]
# Address hashes one planning object keeps (each 32 bytes and its address): past this, it starts over.
_REMEMBERED_HASHES = 10_000


def customer_key(customer_ref: str | None, email: str) -> str:
    """Whom cooldown counts as one customer: their customer_ref if the order has one, else their address."""
    return f"ref:{customer_ref}" if customer_ref else f"email:{email}"


def email_hash(secret: bytes, email: str) -> bytes:
    """The keyed hash an address's suppression is found by (and kept as, once the address is erased)."""
    return hmac.new(secret, email.encode(), hashlib.sha256).digest()


# hot path: only the fields planning needs are decoded, not the order's items (docs/hot-path.md)
_facts = msgspec.json.Decoder(OrderFacts)


def fresh_row(
    *, organisation_id: int, canonical_id: uuid.UUID, document: bytes, sandbox: bool, now: dt.datetime
) -> InvitationRow:
    """A canonical order's facts (its JSON document) as an invitation row not yet planned (replan fills it in)."""
    facts = _facts.decode(document)
    customer = facts.customer
    return InvitationRow(
        id=ids.uuid4(),
        organisation_id=organisation_id,
        order_ref=facts.order_ref,
        canonical_id=canonical_id,
        customer_key=customer_key(customer.customer_ref, customer.email),
        email=customer.email,
        order_date=facts.order_date,
        fulfilment_date=facts.fulfilment_date,
        country=customer.country,
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


# hot path: the members by their stored values, a dictionary lookup where calling the enum class runs
# its interpreted __call__ (docs/hot-path.md)
_STATES: Final = {state.value: state for state in State}
_REASONS: Final = {reason.value: reason for reason in Reason}


def _purchase(row: InvitationRow, suppression: str | None) -> Purchase:
    return Purchase(
        row.order_ref, row.order_date, row.fulfilment_date, row.country, _REASONS[suppression] if suppression else None
    )


def _invitation(row: InvitationRow) -> Invitation:
    return Invitation(
        order_ref=row.order_ref,
        state=_STATES[row.state],
        reason=_REASONS[row.reason] if row.reason else None,
        send_at=row.send_at,
        sent_at=row.sent_at,
        explanation=row.explanation,
    )


def replan(customer: CustomerInvitations, now: dt.datetime, policy: Policy | None = None) -> list[InvitationRow]:
    """The customer's invitations planned again together; only the rows that changed come back.

    `policy`: the organisation's, already read from `customer.policy` (a caller planning many customers
    reads it once).
    """
    policy = policy or policy_of(customer.policy)
    orders = [(_purchase(r, customer.suppressions.get(r.email)), _invitation(r)) for r in customer.rows]
    changed = []
    for row, planned in zip(customer.rows, plan_customer(orders, policy, now), strict=True):
        if (planned.state, planned.reason, planned.send_at, planned.explanation) == (
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
        self._hashes: dict[str, bytes] = {}

    def email_hash(self, email: str) -> bytes:
        """The address's suppression key (remembered: a batch asks for the same addresses several times)."""
        found = self._hashes.get(email)
        if found is None:
            if len(self._hashes) >= _REMEMBERED_HASHES:
                self._hashes.clear()
            found = self._hashes[email] = email_hash(self.secret, email)
        return found

    def targets(
        self, changed: Sequence[StoredCanonical], claimed: Sequence[Claimed], now: dt.datetime
    ) -> list[InvitationRow]:
        """A fresh row for each changed canonical order, with its latest facts (PlanningFailed if that raises).

        Sandbox or not as the order's newest claimed submission's key was.
        """
        try:
            return self._targets(changed, claimed, now)
        except Exception as exc:
            raise PlanningFailed(type(exc).__name__) from exc

    @staticmethod
    def _targets(
        changed: Sequence[StoredCanonical], claimed: Sequence[Claimed], now: dt.datetime
    ) -> list[InvitationRow]:
        oldest_first = sorted(claimed, key=lambda c: c.received_at)  # the newest is written last, and wins
        sandbox: dict[OrderKey, bool] = {(c.organisation_id, c.order_ref): c.sandbox for c in oldest_first}
        return [
            fresh_row(
                organisation_id=c.organisation_id,
                canonical_id=c.id,
                document=c.document,
                sandbox=sandbox.get((c.organisation_id, c.order_ref), False),
                now=now,
            )
            for c in changed
        ]

    @staticmethod
    def invited_before(changed: Iterable[StoredCanonical]) -> list[OrderKey]:
        """The changed orders that may have an invitation already: all but the ones made just now.

        An order's invitation is made in the transaction that makes the order (its version 1) and is
        deleted with it (purge, erasure), so an order at its first version has none to look up: under a
        stream of new orders, the lookup by order was processing's costliest statement.
        """
        return sorted({(c.organisation_id, c.order_ref) for c in changed if c.version > 1})

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
        """The rows to write: the changed orders' (new or with new facts) and every row whose plan changed.

        An order sent again with the same facts (its email, dates, country, ...) leaves its row as it
        was: unless its plan changes, nothing of it is written. PlanningFailed if planning raises.
        """
        try:
            out, current = _with_new_facts(targets, existing, customer_rows)
            read = {organisation_id: policy_of(stored) for organisation_id, stored in policies.items()}
            for (organisation_id, customer), rows in group_by_customer(list(current.values())).items():
                reasons = suppressions_of(self, rows, suppressions)
                stored = policies.get(organisation_id)
                plan = CustomerInvitations(organisation_id, customer, tuple(rows), stored, reasons)
                planned = replan(plan, now, read.get(organisation_id))
                out.update({(r.organisation_id, r.order_ref): r for r in planned})
        except Exception as exc:
            raise PlanningFailed(type(exc).__name__) from exc
        written = list(out.values())
        if self._planned is not None:
            self._planned(written)
        return written


def _with_new_facts(
    targets: Sequence[InvitationRow], existing: Sequence[InvitationRow], customer_rows: Sequence[InvitationRow]
) -> tuple[dict[OrderKey, InvitationRow], dict[OrderKey, InvitationRow]]:
    """The changed orders' rows to write (new, or with new facts), and every row of their customers as it is now."""
    before = {(r.organisation_id, r.order_ref): r for r in existing}
    current = {(r.organisation_id, r.order_ref): r for r in customer_rows}
    out: dict[OrderKey, InvitationRow] = {}
    for target in targets:
        key = (target.organisation_id, target.order_ref)
        old = before.get(key)
        fact = refreshed(old, target) if old is not None else target
        current[key] = fact
        if fact != old:
            out[key] = fact
    return out, current


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
