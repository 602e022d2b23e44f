"""The token bucket as a pure function: what it lets through over any window, and what it tells the client."""

from fractions import Fraction
from itertools import accumulate
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_intake.domain.ratelimit import MICROS, Decision, Limit, interval_of, limit_problem, take
from tests.strategies import rate_limits, request_gaps

CI: Final = settings(max_examples=300, deadline=None)
START: Final = 1_700_000_000 * MICROS  # an instant like Redis's TIME gives; any will do


def _run(limit: Limit, instants: list[int], state: int = 0) -> list[Decision]:
    """Every request in turn through one bucket (full unless a state is given)."""
    decisions = []
    for now in instants:
        decision, state = take(limit, state, now)
        decisions.append(decision)
    return decisions


def _instants(gaps: list[int]) -> list[int]:
    return [START + t for t in accumulate(gaps)]


@CI
@given(st.data())
def test_no_window_lets_through_more_than_burst_plus_rate_times_its_length(data: st.DataObject) -> None:
    """For every run of consecutive requests: allowed <= burst + rate * (last - first), in exact arithmetic."""
    rate, burst = data.draw(rate_limits())
    limit = Limit(rate=rate, burst=burst)
    instants = _instants(data.draw(request_gaps(limit.interval)))
    allowed = [d.allowed for d in _run(limit, instants)]
    for first in range(len(instants)):
        passed = 0
        for last in range(first, len(instants)):
            passed += allowed[last]
            bound = burst + Fraction(rate) * Fraction(instants[last] - instants[first], MICROS)
            assert passed <= bound, (first, last, passed, bound)


@CI
@given(st.data())
def test_requests_one_interval_apart_are_never_refused(data: st.DataObject) -> None:
    """A client that keeps to the rate (each request at least one token's time after the last) always passes."""
    rate, burst = data.draw(rate_limits())
    limit = Limit(rate=rate, burst=burst)
    gaps = data.draw(st.lists(st.integers(limit.interval, 3 * limit.interval), min_size=1, max_size=50))
    assert all(d.allowed for d in _run(limit, _instants(gaps)))


@CI
@given(rate_limits())
def test_a_fresh_bucket_lets_exactly_burst_through_at_once_counting_down(limit_args: tuple[float, int]) -> None:
    """At one instant: burst requests pass with remaining burst-1 .. 0, the next is refused with remaining 0."""
    limit = Limit(*limit_args)
    decisions = _run(limit, [START] * (limit.burst + 1))
    assert [d.allowed for d in decisions] == [True] * limit.burst + [False]
    assert [d.remaining for d in decisions] == [*range(limit.burst - 1, -1, -1), 0]
    assert decisions[-1].until_one > 0
    assert decisions[-1].retry_after >= 1


@CI
@given(st.data())
def test_a_refusal_says_exactly_when_the_next_token_comes(data: st.DataObject) -> None:
    """Refused at t: refused again a microsecond before t + until_one, allowed at t + until_one."""
    rate, burst = data.draw(rate_limits())
    limit = Limit(rate=rate, burst=burst)
    state, now = 0, START
    for _ in range(burst):
        _, state = take(limit, state, now)
    refused, after = take(limit, state, now)
    assert not refused.allowed
    assert after == state  # a refused request takes nothing
    assert not take(limit, state, now + refused.until_one - 1)[0].allowed
    assert take(limit, state, now + refused.until_one)[0].allowed


@CI
@given(st.data())
def test_after_until_full_the_whole_burst_is_there_again(data: st.DataObject) -> None:
    """Whatever came before, at t + until_full a burst of `burst` requests passes at once."""
    rate, burst = data.draw(rate_limits())
    limit = Limit(rate=rate, burst=burst)
    instants = _instants(data.draw(request_gaps(limit.interval)))
    state = 0
    for now in instants:
        last, state = take(limit, state, now)
    full = instants[-1] + last.until_full
    assert all(d.allowed for d in _run(limit, [full] * burst, state))
    assert last.reset * MICROS >= last.until_full


@CI
@given(st.integers(min_value=0, max_value=5), st.lists(st.integers(0, 10**7), min_size=1, max_size=50))
def test_rate_zero_is_unlimited_whatever_the_burst(burst: int, gaps: list[int]) -> None:
    """With rate 0 every request passes, even with burst 0 and many at one instant."""
    decisions = _run(Limit(rate=0, burst=burst), _instants(gaps) * 3)
    assert all(d.allowed for d in decisions)


@CI
@given(st.floats(min_value=0.001, max_value=1e7, allow_nan=False))
def test_the_interval_is_the_smallest_whole_microsecond_count_not_faster_than_the_rate(rate: float) -> None:
    """A token's interval times the rate is at least 1 s (never faster than asked); a microsecond less is under."""
    interval = interval_of(rate)
    assert Fraction(interval) * Fraction(rate) >= MICROS
    if interval > 1:
        assert Fraction(interval - 1) * Fraction(rate) < MICROS


def test_the_policy_window_is_the_time_an_empty_bucket_takes_to_fill() -> None:
    """The default 100/s with burst 200 fills in 2 s; a part second counts as a whole one."""
    assert Limit(rate=100, burst=200).window == 2
    assert Limit(rate=3, burst=1).window == 1
    assert Limit(rate=0.01, burst=5).window == 500
    assert Limit(rate=2, burst=3).window == 2


@pytest.mark.parametrize(
    ("rate", "burst", "mentioning"),
    [
        (-1.0, 10, "rate must be 0"),
        (float("nan"), 10, "rate must be 0"),
        (float("inf"), 10, "rate must be 0"),
        (0.0001, 10, "at least 0.001"),
        (5.0, -1, "burst must not be negative"),
        (0.0, -1, "burst must not be negative"),
        (5.0, 0, "burst must be at least 1"),
        (5.0, 1_000_001, "at most 1000000"),
    ],
)
def test_unusable_limits_are_refused_with_a_reason(rate: float, burst: int, mentioning: str) -> None:
    """Negative, non-finite or tiny rates, negative or huge bursts, and burst 0 with a rate are refused."""
    problem = limit_problem(rate, burst)
    assert problem is not None
    assert mentioning in problem


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 0), (0.0, 200), (100.0, 200), (0.001, 1), (1e6, 1_000_000)])
def test_usable_limits_pass(rate: float, burst: int) -> None:
    """Rate 0 with any burst, and positive rates with a burst of at least 1, are accepted."""
    assert limit_problem(rate, burst) is None
