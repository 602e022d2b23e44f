"""The delivery rules as pure functions: when a failed message is tried again, what items are called."""

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from order_intake.domain.delivery import (
    FIRST_RETRY,
    LONGEST_RETRY,
    Kind,
    Outcome,
    Result,
    item_labels,
    message_id,
    retry_delay,
    without_addresses,
)


def test_the_first_retry_comes_within_ten_seconds() -> None:
    """The contract: the first retry within 10 s."""
    assert retry_delay(1) <= dt.timedelta(seconds=10)
    assert retry_delay(1) == FIRST_RETRY


@given(st.integers(min_value=1, max_value=10_000))
def test_each_delay_is_at_most_double_the_last_and_never_over_fifteen_minutes(failures: int) -> None:
    """Back-off: never shrinks, at most doubles, capped at 15 minutes, however many failures."""
    before, now = retry_delay(failures), retry_delay(failures + 1)
    assert before <= now <= 2 * before
    assert now <= LONGEST_RETRY == dt.timedelta(minutes=15)


def test_the_delays_reach_the_cap() -> None:
    """A server away for long is tried every 15 minutes, not ever more rarely."""
    assert retry_delay(30) == LONGEST_RETRY


def test_a_message_id_is_stable_and_differs_between_invitation_and_reminder() -> None:
    """The same invitation gets the same Message-ID every time; its reminder another."""
    invitation = uuid.uuid4()
    first = message_id(invitation, Kind.INVITATION, "reviews.example")
    assert first == message_id(invitation, Kind.INVITATION, "reviews.example")
    assert first == f"<{invitation.hex}.invitation@reviews.example>"
    assert message_id(invitation, Kind.REMINDER, "reviews.example") != first


def test_items_are_named_from_their_metadata_else_their_sku_and_listed_once() -> None:
    """name, then product_name, then title; blank names ignored; a repeated sku listed once."""
    items = [
        {"sku": "K1", "metadata": {"title": "T", "name": "Kettle"}},
        {"sku": "K2", "metadata": {"product_name": "  Toaster "}},
        {"sku": "K3", "metadata": {"name": "   ", "title": 7}},
        {"sku": "K1", "metadata": {"name": "Other"}},
        {"sku": "K4"},
    ]
    assert item_labels(items) == ["Kettle", "Toaster", "K3", "K4"]


@given(st.text(max_size=2000))
def test_an_error_is_kept_as_one_short_line(text: str) -> None:
    """Whatever a mail server answers, operators see one line of at most 300 characters."""
    kept = Result(Outcome.TEMPORARY, text).error
    assert kept is not None
    assert len(kept) <= 300
    assert "\n" not in kept
    assert "\r" not in kept


def test_a_servers_answer_loses_every_address_before_it_is_logged() -> None:
    """The logs never hold an address, even one a mail server quoted in its refusal."""
    answer = "550 5.1.1 <ann.o'neil@example.com>: Recipient address rejected; also bob@example.org"
    assert without_addresses(answer) == "550 5.1.1 <<address>>: Recipient address rejected; also <address>"
    assert without_addresses("451 4.3.0 Try again later") == "451 4.3.0 Try again later"
    assert without_addresses(None) is None
