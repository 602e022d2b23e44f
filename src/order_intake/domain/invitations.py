"""Review invitations: whether and when each customer is asked for a review, as a pure function.

One invitation per canonical order. A customer's invitations within one organisation are planned
together (plan_customer), in send_at order, so the outcome never depends on the order in which
workers ran: the same facts always give the same invitations.
"""

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Final
from zoneinfo import ZoneInfo

from order_intake.domain.policy import MAX_DAYS, Basis, Policy, Window
from order_intake.domain.zones import zone_for


class State(enum.StrEnum):
    """Where an invitation stands."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    SKIPPED = "skipped"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# Never planned again once reached.
FINAL_STATES: Final = frozenset({State.SENT, State.CANCELLED, State.FAILED})


class Reason(enum.StrEnum):
    """Why an invitation is not (or no longer) scheduled."""

    TOO_OLD = "too_old"
    COOLDOWN = "cooldown"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    SUPPRESSED_BY_RETAILER = "suppressed_by_retailer"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    RETURNED = "returned"
    TEST = "test"
    REJECTED_BY_MAIL_SERVER = "rejected_by_mail_server"


CANCEL_REASONS: Final = frozenset({Reason.CANCELLED, Reason.REFUNDED, Reason.RETURNED, Reason.TEST})
SUPPRESSION_REASONS: Final = frozenset({Reason.UNSUBSCRIBED, Reason.BOUNCED, Reason.SUPPRESSED_BY_RETAILER})


# hot path: plain classes, not dataclasses: this module is compiled, and a dataclass's generated
# __init__ runs interpreted, several times per order planned; no attribute declared Final, which
# compiled code may free too early (docs/hot-path.md)
class _Value:
    """Compared, hashed and shown by its fields, as a frozen dataclass would be."""

    def _fields(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Value) and type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._fields()!r}"


class Purchase(_Value):
    """What planning needs of a canonical order."""

    def __init__(
        self,
        order_ref: str,
        order_date: dt.date | None,
        fulfilment_date: dt.date | None,
        country: str | None,
        suppressed: Reason | None = None,  # the address's suppression, if it has one
    ) -> None:
        self.order_ref = order_ref
        self.order_date = order_date
        self.fulfilment_date = fulfilment_date
        self.country = country
        self.suppressed = suppressed

    def _fields(self) -> tuple[object, ...]:
        return (self.order_ref, self.order_date, self.fulfilment_date, self.country, self.suppressed)


class Invitation(_Value):
    """An invitation as planned (or as it ended): state, reason, times in UTC, and why, in sentences."""

    def __init__(  # noqa: PLR0913, PLR0917 - one argument per field, positional as before
        self,
        order_ref: str,
        state: State,
        reason: Reason | None = None,
        send_at: dt.datetime | None = None,
        sent_at: dt.datetime | None = None,
        explanation: tuple[str, ...] = (),
    ) -> None:
        self.order_ref = order_ref
        self.state = state
        self.reason = reason
        self.send_at = send_at
        self.sent_at = sent_at
        self.explanation = explanation

    def _fields(self) -> tuple[object, ...]:
        return (self.order_ref, self.state, self.reason, self.send_at, self.sent_at, self.explanation)


def reference_date(purchase: Purchase, basis: Basis) -> tuple[dt.date, str]:
    """The date the delay counts from, and which field it is (a canonical order has at least one)."""
    first, second = (
        ((purchase.fulfilment_date, "fulfilment_date"), (purchase.order_date, "order_date"))
        if basis is Basis.FULFILMENT
        else ((purchase.order_date, "order_date"), (purchase.fulfilment_date, "fulfilment_date"))
    )
    for date, name in (first, second):
        if date is not None:
            return date, name
    msg = "a canonical order has an order_date or a fulfilment_date"
    raise ValueError(msg)


def _local(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """The wall-clock time `minute` minutes after midnight of `day` in `zone` (1440: the next midnight), in UTC."""
    return (dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(minutes=minute)).astimezone(dt.UTC)


def next_in_window(earliest: dt.datetime, window: Window, zone: ZoneInfo) -> dt.datetime:
    """The first instant at or after `earliest` whose local time in `zone` is inside the window (UTC)."""
    day = earliest.astimezone(zone).date()
    for offset in range(3):  # today or tomorrow; the third day only if a clock change swallowed a window
        opens = _local(day + dt.timedelta(days=offset), window.opens, zone)
        closes = _local(day + dt.timedelta(days=offset), window.closes, zone)
        if earliest < closes:
            return opens if earliest <= opens else earliest.astimezone(dt.UTC).replace(microsecond=0)
    msg = "a window of at least one minute opens within three days"
    raise AssertionError(msg)


# The last day an invitation is planned for. A reference date near the calendar's end plus the delay
# would pass the last date there is; planned for this day instead, its send time (a window's close
# is at most the next midnight, a clock change or the window three days on), its reminder (at most
# MAX_DAYS later) and its cooldown all stay real dates and times.
LATEST_DUE: Final = dt.date.max - dt.timedelta(days=MAX_DAYS + 7)


def due_day(day: dt.date, delay_days: int) -> dt.date:
    """The reference date plus the delay, or LATEST_DUE if that comes later."""
    return dt.date.fromordinal(min(day.toordinal() + delay_days, LATEST_DUE.toordinal()))


class _Candidate:
    def __init__(
        self, purchase: Purchase, current: Invitation | None, send_at: dt.datetime, lines: tuple[str, ...]
    ) -> None:
        self.purchase = purchase
        self.current = current
        self.send_at = send_at
        self.lines = lines


def _candidate(
    purchase: Purchase, current: Invitation | None, zone: ZoneInfo, policy: Policy, now: dt.datetime
) -> _Candidate:
    day, field = reference_date(purchase, policy.basis)
    due = due_day(day, policy.delay_days)
    planned = _local(due, policy.window.opens, zone)
    send_at = planned if planned >= now else next_in_window(now, policy.window, zone)
    latest = " (the latest date invitations are planned for)" if due == LATEST_DUE else ""
    lines: tuple[str, ...] = (
        f"reference date {day.isoformat()} ({field})",
        f"plus {policy.delay_days} days: {due.isoformat()}{latest}",
        f"send window {policy.window} {zone.key}",
    )
    if send_at != planned:
        lines = (*lines, f"that time has passed: the next time in the window, {_utc(send_at)}")
    return _Candidate(purchase, current, send_at, lines)


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conflicts(send_at: dt.datetime, other: dt.datetime, days: int) -> bool:
    return abs(send_at - other) < dt.timedelta(days=days)


class _Zones:
    """The customers' zones and today's date in each, looked up once per planning."""

    def __init__(self, policy: Policy, now: dt.datetime) -> None:
        self._policy = policy
        self._now = now
        self._zones: dict[str | None, tuple[ZoneInfo, dt.date]] = {}

    def of(self, country: str | None) -> tuple[ZoneInfo, dt.date]:
        found = self._zones.get(country)
        if found is None:
            zone = zone_for(country, self._policy.timezone)
            found = self._zones[country] = (zone, self._now.astimezone(zone).date())
        return found


def plan_customer(
    orders: Sequence[tuple[Purchase, Invitation | None]], policy: Policy, now: dt.datetime
) -> list[Invitation]:
    """Every invitation of one customer in one organisation, planned together (same order as `orders`).

    `orders` pairs each of the customer's canonical orders with its current invitation (None if it has
    none yet). Sent, cancelled and failed invitations come back unchanged. The others are decided in
    send_at order (ties: the smaller order_ref): too old, suppressed (the order's address), in
    another's cooldown, or scheduled. Too old and suppressed depend on no other order, so they are
    decided first, without a send time.
    """
    final = {p.order_ref: c for p, c in orders if c is not None and c.state in FINAL_STATES}
    taken = [c.sent_at for c in final.values() if c.state is State.SENT and c.sent_at is not None]
    zones = _Zones(policy, now)
    decided: dict[str, Invitation] = {}
    open_ones: list[_Candidate] = []
    for purchase, current in orders:
        ref = purchase.order_ref
        if ref in final:
            continue
        zone, today = zones.of(purchase.country)
        day, field = reference_date(purchase, policy.basis)
        if (today - day).days > policy.max_age_days:
            old: tuple[str, ...] = (
                f"reference date {day.isoformat()} ({field})",
                f"older than {policy.max_age_days} days on {now.date().isoformat()}: not sent",
            )
            decided[ref] = Invitation(ref, State.SKIPPED, Reason.TOO_OLD, None, None, old)
            continue
        candidate = _candidate(purchase, current, zone, policy, now)
        if (suppression := purchase.suppressed) is not None:
            line = f"the address is suppressed ({suppression.value}): not sent"
            decided[ref] = Invitation(ref, State.SUPPRESSED, suppression, None, None, (*candidate.lines, line))
        else:
            open_ones.append(candidate)
    open_ones.sort(key=lambda candidate: (candidate.send_at, candidate.purchase.order_ref))
    for candidate in open_ones:
        ref = candidate.purchase.order_ref
        if any(_conflicts(candidate.send_at, when, policy.cooldown_days) for when in taken):
            line = f"another invitation to this customer within {policy.cooldown_days} days: not sent (cooldown)"
            decided[ref] = Invitation(ref, State.SKIPPED, Reason.COOLDOWN, None, None, (*candidate.lines, line))
        else:
            taken.append(candidate.send_at)
            lines = (
                *candidate.lines,
                "not suppressed",
                f"no other invitation to this customer within {policy.cooldown_days} days",
            )
            decided[ref] = Invitation(ref, State.SCHEDULED, None, candidate.send_at, None, lines)
    return [final.get(p.order_ref) or decided[p.order_ref] for p, _ in orders]


def cancelled(current: Invitation, reason: Reason) -> Invitation:
    """The retailer's cancellation (never planned again); a sent one cannot be cancelled (the caller checks)."""
    line = f"cancelled by the retailer ({reason.value})"
    lines = (*current.explanation, line)
    return Invitation(current.order_ref, State.CANCELLED, reason, None, current.sent_at, lines)


def reminder_at(invitation: Invitation, reminder_days: int) -> dt.datetime | None:
    """When the one reminder goes (if the customer has not reviewed by then); None without reminders."""
    if reminder_days <= 0:
        return None
    base = invitation.sent_at if invitation.state is State.SENT else invitation.send_at
    if base is None or invitation.state not in {State.SENT, State.SCHEDULED}:
        return None
    return base + dt.timedelta(days=reminder_days)
