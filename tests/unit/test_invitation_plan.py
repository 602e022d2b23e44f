"""Planning review invitations: the contract's rules as a pure function, checked by example and by property."""

import datetime as dt
import itertools
import random
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_intake.domain.invitations import (
    FINAL_STATES,
    LATEST_DUE,
    Invitation,
    Purchase,
    Reason,
    State,
    plan_customer,
    reference_date,
    reminder_at,
)
from order_intake.domain.policy import (
    MAX_DAYS,
    Basis,
    Policy,
    Window,
    changed_policy,
    parse_window,
    policy_from_json,
)
from order_intake.domain.zones import zone_for
from tests.strategies import instants, policies, purchases

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
FROM_ERROR = "from must be one e-mail address, optionally with a display name: Name <addr>"
DEFAULT = Policy()


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _one(purchase: Purchase, policy: Policy = DEFAULT, now: dt.datetime = NOW) -> Invitation:
    return plan_customer([(purchase, None)], policy, now)[0]


def test_the_contract_example_is_scheduled_14_days_after_fulfilment_at_9_in_london() -> None:
    """Fulfilled 2026-12-06 in GB: 2026-12-20 09:00 Europe/London is 09:00Z in winter; every rule explained."""
    invitation = _one(Purchase("ABC123", dt.date(2026, 12, 1), dt.date(2026, 12, 6), "GB"))
    assert (invitation.state, invitation.reason) == (State.SCHEDULED, None)
    assert invitation.send_at == _utc("2026-12-20T09:00Z")
    assert invitation.explanation == (
        "reference date 2026-12-06 (fulfilment_date)",
        "plus 14 days: 2026-12-20",
        "send window 09:00-20:00 Europe/London",
        "not suppressed",
        "no other invitation to this customer within 30 days",
    )


def test_the_customers_country_decides_the_zone_through_zone_tab() -> None:
    """GB: Europe/London, JP: Asia/Tokyo, US: America/New_York; no country: the policy's zone."""
    assert [zone_for(c, "Europe/Paris").key for c in ("GB", "jp", "US", None)] == [
        "Europe/London",
        "Asia/Tokyo",
        "America/New_York",
        "Europe/Paris",
    ]
    tokyo = _one(Purchase("J1", dt.date(2026, 12, 6), None, "JP"))
    assert tokyo.send_at == _utc("2026-12-20T00:00Z")  # 09:00 in Tokyo (UTC+9)
    summer = Policy(delay_days=7, window=Window(600, 1080))
    new_york = _one(Purchase("U1", dt.date(2026, 6, 1), None, "US"), summer, _utc("2026-06-01T00:00Z"))
    assert new_york.send_at == _utc("2026-06-08T14:00Z")  # 10:00 EDT (UTC-4)


def test_the_basis_chooses_which_date_counts_first() -> None:
    """fulfilment: fulfilment_date else order_date; order: order_date else fulfilment_date."""
    both = Purchase("B", dt.date(2026, 12, 1), dt.date(2026, 12, 5), None)
    assert reference_date(both, Basis.FULFILMENT) == (dt.date(2026, 12, 5), "fulfilment_date")
    assert reference_date(both, Basis.ORDER) == (dt.date(2026, 12, 1), "order_date")
    only_order = Purchase("O", dt.date(2026, 12, 1), None, None)
    assert reference_date(only_order, Basis.FULFILMENT) == (dt.date(2026, 12, 1), "order_date")


def test_an_order_older_than_the_policy_allows_is_skipped_too_old() -> None:
    """The reference page's 2014 example: skipped, too_old, and the explanation says so."""
    invitation = _one(Purchase("ABC123", dt.date(2014, 12, 10), dt.date(2014, 12, 24), "GB"))
    assert (invitation.state, invitation.reason, invitation.send_at) == (State.SKIPPED, Reason.TOO_OLD, None)
    assert invitation.explanation == (
        "reference date 2014-12-24 (fulfilment_date)",
        "older than 180 days on 2026-12-06: not sent",
    )


def test_a_time_already_past_moves_to_the_next_moment_in_the_window() -> None:
    """Planned yesterday: sent from now if the window is open, else at its next opening."""
    inside = _one(Purchase("P", dt.date(2026, 11, 1), None, "GB"), now=_utc("2026-12-06T10:00:30.5Z"))
    assert inside.send_at == _utc("2026-12-06T10:00:30Z")
    after = _one(Purchase("P", dt.date(2026, 11, 1), None, "GB"), now=_utc("2026-12-06T21:00Z"))
    assert after.send_at == _utc("2026-12-07T09:00Z")
    any_time = _one(Purchase("P", dt.date(2026, 11, 1), None, "GB"), Policy(window=Window(0, 1440)))
    assert any_time.send_at == NOW


def test_two_orders_of_one_customer_within_the_cooldown_send_only_the_earlier() -> None:
    """The earlier send_at takes the slot, whichever order came first; ties go to the smaller order_ref."""
    early = Purchase("B-LATE-REF", dt.date(2026, 12, 6), None, "GB")
    late = Purchase("A-EARLY-REF", dt.date(2026, 12, 10), None, "GB")
    for orders in ([(early, None), (late, None)], [(late, None), (early, None)]):
        planned = {i.order_ref: i for i in plan_customer(orders, Policy(), NOW)}
        assert planned["B-LATE-REF"].state is State.SCHEDULED
        assert (planned["A-EARLY-REF"].state, planned["A-EARLY-REF"].reason) == (State.SKIPPED, Reason.COOLDOWN)
    twin = Purchase("A-TWIN", dt.date(2026, 12, 6), None, "GB")
    planned = {i.order_ref: i.state for i in plan_customer([(early, None), (twin, None)], Policy(), NOW)}
    assert planned == {"A-TWIN": State.SCHEDULED, "B-LATE-REF": State.SKIPPED}


def test_a_suppressed_address_gets_no_invitation_and_the_reason_is_the_suppressions() -> None:
    """unsubscribed, bounced or suppressed by the retailer: suppressed, with that reason."""
    for reason in (Reason.UNSUBSCRIBED, Reason.BOUNCED, Reason.SUPPRESSED_BY_RETAILER):
        planned = plan_customer([(Purchase("S", dt.date(2026, 12, 6), None, None, reason), None)], Policy(), NOW)
        assert (planned[0].state, planned[0].reason, planned[0].send_at) == (State.SUPPRESSED, reason, None)


def test_an_order_dated_at_the_end_of_the_calendar_is_planned_for_the_latest_day_and_says_so() -> None:
    """31-12-9999 is a real date the contract accepts; 14 days later is past the last date there is."""
    invitation = _one(Purchase("END", dt.date(9999, 12, 31), None, "GB"))
    assert invitation.state is State.SCHEDULED
    assert invitation.send_at == dt.datetime.combine(LATEST_DUE, dt.time(9), tzinfo=ZoneInfo("Europe/London"))
    assert invitation.explanation[:2] == (
        "reference date 9999-12-31 (order_date)",
        f"plus 14 days: {LATEST_DUE.isoformat()} (the latest date invitations are planned for)",
    )


customers_of_any_day = st.lists(purchases((dt.date.min, dt.date.max)), min_size=1, max_size=4)


@given(customers_of_any_day, policies(most_days=MAX_DAYS), instants())
@settings(max_examples=300, deadline=None)
def test_any_dates_and_day_counts_are_planned_with_a_send_time_and_a_reminder_that_exist(
    orders: list[Purchase], policy: Policy, now: dt.datetime
) -> None:
    """Every real date with every delay and reminder the policy allows: planned, never an arithmetic overflow."""
    invitations = plan_customer([(p, None) for p in orders], policy, now)
    for purchase, invitation in zip(orders, invitations, strict=True):
        day, _ = reference_date(purchase, policy.basis)
        if invitation.state is State.SCHEDULED:
            assert invitation.send_at is not None
            assert invitation.send_at.date() <= max(LATEST_DUE, now.date()) + dt.timedelta(days=3)
            within = day.toordinal() + policy.delay_days <= LATEST_DUE.toordinal()
            earliest = day + dt.timedelta(days=policy.delay_days) if within else LATEST_DUE
            assert invitation.send_at.date() >= earliest - dt.timedelta(days=1)  # a zone west of UTC
            later = reminder_at(invitation, policy.reminder_days)
            assert later is None if policy.reminder_days == 0 else later > invitation.send_at
        else:
            assert invitation.send_at is None


def test_policy_settings_are_checked_and_every_error_reported() -> None:
    """Bad values change nothing and each says what it must be."""
    policy, errors = changed_policy(Policy(), {"delay_days": "-1", "window": "20:00-09:00", "timezone": "Mars/Base"})
    assert policy == Policy()
    assert errors == [
        "delay-days must be a whole number of days from 0 to 3650",
        "window must be HH:MM-HH:MM, opening before closing (00:00-24:00: any time)",
        "unknown time zone: Mars/Base",
    ]
    changes = {"window": "00:00-24:00", "basis": "order", "from": "Shop <r@shop.example>"}
    changed, errors = changed_policy(Policy(), changes)
    assert errors == []
    assert (str(changed.window), changed.basis, changed.sender) == ("00:00-24:00", Basis.ORDER, "Shop <r@shop.example>")
    assert parse_window("09:00-24:00") == Window(540, 1440)
    assert parse_window("24:00-24:00") is None


@pytest.mark.parametrize(
    "sender",
    [
        "a@b.example, c@d.example",
        "a@b.example <d@e.example>",
        "Evil <a@b.example> extra",
        "a b@c.example",
        "jü@x.example",
        "Shop <shöp@x.example>",
        "Name <>",
        "@",
        "no-at-sign",
        "Shop <r@x.example>\r\nBcc: v@x.example",
    ],
)
def test_from_is_one_address_with_an_ascii_local_part_or_nothing_changes(sender: str) -> None:
    """Two addresses, a name that looks like one, words after it, a local part beyond ASCII: refused."""
    policy, errors = changed_policy(Policy(), {"from": sender})
    assert (policy, errors) == (Policy(), [FROM_ERROR])


@pytest.mark.parametrize(
    "sender",
    [
        "reviews@localhost",
        "<r@shop.example>",
        "Shop <r@shop.example>",
        '"Kettles & Co" <r@k.example>',
        "Shöp <r@bücher.de>",
        '"Shop, Inc." <shop@example.com>',
        "Shop<shop@example.com>",
        "Shop  Team <shop@example.com>",
        "shop@example.com (Shop)",
    ],
)
def test_from_takes_an_address_alone_or_with_a_display_name(sender: str) -> None:
    """A display name beyond ASCII and a domain beyond ASCII are fine (the domain is sent as IDNA)."""
    policy, errors = changed_policy(Policy(), {"from": f" {sender} "})
    assert (policy.sender, errors) == (sender, [])


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "posix/Europe/London", "../zoneinfo/UTC", ""])
def test_a_timezone_is_a_name_of_the_tz_database_not_a_file_of_this_machine(zone: str) -> None:
    """`localtime` and `posixrules` are the host's set-up (another zone on another node); Factory is no place."""
    assert changed_policy(Policy(), {"timezone": zone}) == (Policy(), [f"unknown time zone: {zone}"])
    assert changed_policy(Policy(), {"timezone": "Asia/Kathmandu"})[0].timezone == "Asia/Kathmandu"


def test_a_stored_policy_keeps_each_setting_it_can_read_and_a_from_stored_under_the_earlier_rule() -> None:
    """A setting this version refuses keeps its default alone; a `from` an earlier version took stays as stored."""
    stored = {
        "delay_days": 3,
        "window": "25:00-26:00",
        "timezone": "Europe/Berlin",
        "from": "Shop: Reviews <a@b.example>",
    }
    policy = policy_from_json(stored, "reviews@localhost")
    assert (policy.delay_days, policy.window, policy.timezone) == (3, Policy().window, "Europe/Berlin")
    assert policy.sender == "Shop: Reviews <a@b.example>"
    assert policy_from_json({"from": "no address"}, "reviews@localhost").sender == "reviews@localhost"


customers = st.lists(purchases(), min_size=1, max_size=6, unique_by=lambda p: p.order_ref)


def _as_dict(invitations: list[Invitation]) -> dict[str, Invitation]:
    return {i.order_ref: i for i in invitations}


@given(customers, policies(), instants(), st.randoms())
@settings(max_examples=300, deadline=None)
def test_planning_is_deterministic_and_independent_of_the_order_of_the_customers_orders(
    orders: list[Purchase], policy: Policy, now: dt.datetime, rnd: random.Random
) -> None:
    """Any permutation of the same facts gives the same invitations."""
    first = _as_dict(plan_customer([(p, None) for p in orders], policy, now))
    shuffled = list(orders)
    rnd.shuffle(shuffled)
    assert _as_dict(plan_customer([(p, None) for p in shuffled], policy, now)) == first


@given(customers, policies(), instants(), st.randoms())
@settings(max_examples=300, deadline=None)
def test_planning_as_orders_arrive_one_by_one_ends_where_planning_them_all_at_once_does(
    orders: list[Purchase], policy: Policy, now: dt.datetime, rnd: random.Random
) -> None:
    """Workers that see a customer's orders in any sequence (cooldown included) reach the same invitations."""
    arrival = list(orders)
    rnd.shuffle(arrival)
    current: dict[str, Invitation] = {}
    for count in range(1, len(arrival) + 1):
        seen = arrival[:count]
        current = _as_dict(plan_customer([(p, current.get(p.order_ref)) for p in seen], policy, now))
    assert current == _as_dict(plan_customer([(p, None) for p in orders], policy, now))


@given(customers, policies(), instants())
@settings(max_examples=300, deadline=None)
def test_send_at_is_inside_the_window_in_the_customers_zone_and_never_before_the_reference_date_plus_delay(
    orders: list[Purchase], policy: Policy, now: dt.datetime
) -> None:
    """Each scheduled invitation: local time within the window, on or after the day due, and not in the past."""
    for purchase, invitation in zip(orders, plan_customer([(p, None) for p in orders], policy, now), strict=True):
        if invitation.state is not State.SCHEDULED:
            continue
        assert invitation.send_at is not None
        zone = zone_for(purchase.country, policy.timezone)
        local = invitation.send_at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        # A clock change can move a wall time: allow the hour it shifts by.
        in_window = policy.window.opens <= minute < policy.window.closes
        assert in_window or _shifted_by_a_clock_change(invitation.send_at, zone), (local, policy.window)
        day, _ = reference_date(purchase, policy.basis)
        due = dt.datetime.combine(day + dt.timedelta(days=policy.delay_days), dt.time(), tzinfo=zone)
        assert invitation.send_at >= due.astimezone(dt.UTC) - dt.timedelta(hours=1)
        assert invitation.send_at >= now.replace(microsecond=0)


def _shifted_by_a_clock_change(instant: dt.datetime, zone: ZoneInfo) -> bool:
    before, after = (instant + dt.timedelta(hours=h) for h in (-3, 3))
    return before.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset()


@given(customers, policies(), instants())
@settings(max_examples=300, deadline=None)
def test_scheduled_invitations_of_one_customer_are_a_cooldown_apart(
    orders: list[Purchase], policy: Policy, now: dt.datetime
) -> None:
    """No two scheduled invitations closer than cooldown_days; each skipped one is close to a scheduled one."""
    planned = plan_customer([(p, None) for p in orders], policy, now)
    times = sorted(i.send_at for i in planned if i.state is State.SCHEDULED and i.send_at is not None)
    gap = dt.timedelta(days=policy.cooldown_days)
    assert all(later - earlier >= gap for earlier, later in itertools.pairwise(times))
    assert all(i.reason is not Reason.COOLDOWN or times for i in planned)


@given(customers, policies(), instants(), st.data())
@settings(max_examples=300, deadline=None)
def test_a_sent_cancelled_or_failed_invitation_is_never_planned_again(
    orders: list[Purchase], policy: Policy, now: dt.datetime, data: st.DataObject
) -> None:
    """Whatever else changes, those come back exactly as they were."""
    ended = {
        p.order_ref: Invitation(p.order_ref, state, None, None, now - dt.timedelta(days=1), ("as it was",))
        for p in orders
        if (state := data.draw(st.sampled_from([*FINAL_STATES, None]))) is not None
    }
    bounced = [Purchase(p.order_ref, p.order_date, p.fulfilment_date, p.country, Reason.BOUNCED) for p in orders]
    planned = plan_customer([(p, ended.get(p.order_ref)) for p in bounced], policy, now)
    for invitation in planned:
        if invitation.order_ref in ended:
            assert invitation == ended[invitation.order_ref]
        else:
            assert invitation.state in {State.SUPPRESSED, State.SKIPPED}
