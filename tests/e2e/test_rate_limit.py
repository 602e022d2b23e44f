"""Rate limits per API key over a real socket: 429 and its headers, recovery, per-key buckets, Redis, fail open."""

import json
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tests.conftest import Tenants
from tests.support.cli import Credentials, cli_ok, create_key, run_cli
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows
from tests.support.redis_db import REDIS_URL, fresh_prefix, silent_listener
from tests.support.server import Server, free_port

TOO_MANY: Final = {"status": 429, "message": "Too many requests"}
ORGANISATIONS: Final = "/v4/organisations"
SINGLE: Final = "/v4/organisations/TRKREF123/customer_order"
# One token per 1000 s: no token comes back while a test runs, so every count below is exact.
SLOW: Final = ("--rate", "0.001")
FAIL_OPEN_WARNING: Final = "rate limit store unavailable: requests pass unchecked"


def limited_key(db_url: str, burst: int, *rate: str) -> Credentials:
    """A new key for TRKREF123 with this burst (and rate, SLOW unless given)."""
    return create_key(db_url, "--trkref", "TRKREF123", *(rate or SLOW), "--burst", str(burst))


def _get(client: httpx.Client, key: Credentials, path: str = ORGANISATIONS) -> httpx.Response:
    return client.get(path, auth=key.auth)


def _rate_limit(response: httpx.Response) -> dict[str, int]:
    """The RateLimit header's parameters: r and t."""
    name, *params = response.headers["ratelimit"].split(";")
    assert name == '"default"'
    return {k: int(v) for k, v in (p.split("=") for p in params)}


def _send(client: httpx.Client, key: Credentials, route: str) -> httpx.Response:
    """One request on an authenticated route (the batch and single routes with an order each)."""
    order_ref = f"RL-{uuid.uuid4().hex[:12]}"
    if route == "POST single":
        return client.post(SINGLE, json=an_order(order_ref=order_ref), auth=key.auth)
    if route == "GET single":
        return _get(client, key, f"{SINGLE}/{uuid.uuid4()}")
    if route == "POST batch":
        return client.post("/v4/customer_orders", json=[an_order(order_ref=order_ref)], auth=key.auth)
    if route == "GET batch":
        return _get(client, key, f"/v4/customer_orders/{uuid.uuid4()}")
    return _get(client, key)


ROUTES: Final = ["GET organisations", "POST single", "GET single", "POST batch", "GET batch"]


@pytest.mark.parametrize("route", ROUTES)
def test_past_its_burst_a_key_gets_429_with_retry_after_and_ratelimit_headers_on_every_route(
    client: httpx.Client, db_url: str, route: str
) -> None:
    """Burst 2: two usual answers (r=1, r=0), then 429 with the exact body, Retry-After and the draft's headers."""
    key = limited_key(db_url, 2)
    first, second, refused = (_send(client, key, route) for _ in range(3))
    assert 429 not in (first.status_code, second.status_code)
    assert [_rate_limit(r)["r"] for r in (first, second)] == [1, 0]
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert refused.headers["ratelimit-policy"] == '"default";q=2;w=2000'
    state = _rate_limit(refused)
    assert state["r"] == 0
    assert 1000 < state["t"] <= 2000
    # A token comes back one interval (1000 s) before the bucket is full: both round up the same debt.
    assert int(refused.headers["retry-after"]) == state["t"] - 1000


def test_a_refused_submission_stores_nothing(client: httpx.Client, db_url: str) -> None:
    """The 429 comes before the body is read: only the first (allowed) submission of the order_ref is stored."""
    key = limited_key(db_url, 1)
    order = an_order(order_ref=f"RL-{uuid.uuid4().hex[:12]}")
    answers = [client.post(SINGLE, json=order, auth=key.auth).status_code for _ in range(3)]
    assert answers == [202, 429, 429]
    assert count_rows(db_url, "SELECT count(*) FROM submissions WHERE order_ref = ?", order["order_ref"]) == 1


def test_a_refused_key_passes_again_once_a_token_has_come_back(client: httpx.Client, db_url: str) -> None:
    """Rate 2/s, burst 1: refused right after a pass, then allowed again, never sooner than 1/rate after that pass."""
    key = limited_key(db_url, 1, "--rate", "2")
    deadline = time.monotonic() + 30
    refused = None
    while refused is None and time.monotonic() < deadline:
        sent_allowed = time.monotonic()
        if _get(client, key).status_code == 200:
            answer = _get(client, key)
            refused = answer if answer.status_code == 429 else None
    assert refused is not None, "never refused"
    assert refused.headers["retry-after"] == "1"
    recovered = None
    while recovered is None and time.monotonic() < deadline:
        answer = _get(client, key)
        recovered = time.monotonic() if answer.status_code == 200 else None
        time.sleep(0.02)
    assert recovered is not None, "never recovered"
    # The server let the pass through no sooner than we sent it, and the next no sooner than 0.5 s after.
    assert recovered - sent_allowed >= 0.5


def test_a_key_over_its_limit_does_not_touch_other_keys(client: httpx.Client, db_url: str, tenants: Tenants) -> None:
    """One key refused; another limited key and the unlimited main key still pass (the latter without headers)."""
    exhausted, other = limited_key(db_url, 1), limited_key(db_url, 1)
    assert [_get(client, exhausted).status_code for _ in range(2)] == [200, 429]
    assert _get(client, other).status_code == 200
    unlimited = _get(client, tenants.main)
    assert unlimited.status_code == 200
    assert "ratelimit" not in unlimited.headers
    assert "ratelimit-policy" not in unlimited.headers


def test_key_limit_changes_the_limit_at_once(client: httpx.Client, db_url: str) -> None:
    """`key limit` to burst 3 gives a new, full bucket; `--rate 0` lifts the limit (auth cache off in this server)."""
    key = limited_key(db_url, 1)
    assert [_get(client, key).status_code for _ in range(2)] == [200, 429]
    assert "0.001/s burst 3" in cli_ok(db_url, "key", "limit", key.username, "--burst", "3")
    raised = [_get(client, key) for _ in range(4)]
    assert [r.status_code for r in raised] == [200, 200, 200, 429]
    assert raised[0].headers["ratelimit-policy"] == '"default";q=3;w=3000'
    assert "unlimited" in cli_ok(db_url, "key", "limit", key.username, "--rate", "0")
    lifted = [_get(client, key) for _ in range(10)]
    assert {r.status_code for r in lifted} == {200}
    assert not any("ratelimit" in r.headers for r in lifted)


def test_rate_zero_is_unlimited_whatever_the_burst(client: httpx.Client, db_url: str) -> None:
    """--rate 0 --burst 1: twenty requests in a row all pass, with no rate-limit headers."""
    key = limited_key(db_url, 1, "--rate", "0")
    answers = [_get(client, key) for _ in range(20)]
    assert {r.status_code for r in answers} == {200}
    assert not any("ratelimit" in r.headers for r in answers)


def test_a_new_key_gets_100_per_second_with_a_burst_of_200(client: httpx.Client, db_url: str) -> None:
    """Without --rate or --burst: `key list` shows 100/s burst 200, and the answers carry q=200, w=2."""
    made = json.loads(cli_ok(db_url, "key", "create", "--trkref", "TRKREF123", "--json"))
    key = Credentials(made["username"], made["password"])
    answer = _get(client, key)
    assert answer.status_code == 200
    assert answer.headers["ratelimit-policy"] == '"default";q=200;w=2'
    assert _rate_limit(answer)["r"] == 199
    listed = {k["username"]: k for k in map(json.loads, cli_ok(db_url, "key", "list", "--json").splitlines())}
    assert (listed[key.username]["rate"], listed[key.username]["burst"]) == (100.0, 200)
    line = next(line for line in cli_ok(db_url, "key", "list").splitlines() if line.startswith(key.username))
    assert line.endswith("\t100/s burst 200")


@pytest.mark.parametrize(
    ("args", "mentioning"),
    [
        (("key", "create", "--trkref", "TRKREF123", "--rate", "-1"), "rate must be 0 (unlimited) or"),
        (("key", "create", "--trkref", "TRKREF123", "--burst", "-5"), "burst must not be negative"),
        (("key", "create", "--trkref", "TRKREF123", "--rate", "5", "--burst", "0"), "burst must be at least 1"),
        (("key", "create", "--trkref", "TRKREF123", "--rate", "nan"), "rate must be 0 (unlimited) or"),
        (("key", "limit", "key_nope", "--rate", "1"), "unknown key 'key_nope'"),
        (("key", "limit", "KEY", "--rate", "-0.5"), "rate must be 0 (unlimited) or"),
        (("key", "limit", "KEY", "--burst", "0"), "burst must be at least 1"),
        (("key", "limit", "KEY"), "give --rate, --burst or both"),
    ],
)
def test_unusable_limits_fail_with_one_line_and_change_nothing(
    db_url: str, args: tuple[str, ...], mentioning: str
) -> None:
    """Negative rates or bursts, burst 0 with a rate, NaN, an unknown key: one line on stderr, exit 1."""
    key = limited_key(db_url, 2)
    before = count_rows(db_url, "SELECT count(*) FROM api_keys")
    result = run_cli(db_url, *(key.username if a == "KEY" else a for a in args))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert mentioning in result.stderr
    assert count_rows(db_url, "SELECT count(*) FROM api_keys") == before
    limits = count_rows(db_url, "SELECT count(*) FROM api_keys WHERE username = ? AND burst = 2", key.username)
    assert limits == 1


@pytest.fixture
def two_nodes(db_url: str, tenants: Tenants, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes (as two nodes) sharing one Redis database under a prefix of their own."""
    del tenants  # TRKREF123 exists before the servers start
    env = {"REDIS_URL": REDIS_URL, "ORDER_INTAKE_REDIS_PREFIX": fresh_prefix(), "ORDER_INTAKE_AUTH_CACHE_SECONDS": "0"}
    first = Server(db_url, tmp_path / "node-1.log", **env).start()
    try:
        second = Server(db_url, tmp_path / "node-2.log", **env).start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_with_redis_two_processes_share_one_bucket(two_nodes: tuple[Server, Server], db_url: str) -> None:
    """Burst 4 split across two processes: r counts down 3, 2, 1, 0 across both, then both refuse."""
    key = limited_key(db_url, 4)
    clients = [httpx.Client(base_url=node.base_url, timeout=10) for node in two_nodes]
    try:
        answers = [_get(clients[i % 2], key) for i in range(6)]
    finally:
        for c in clients:
            c.close()
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429, 429]
    assert [_rate_limit(a)["r"] for a in answers] == [3, 2, 1, 0, 0, 0]


def _warnings(log: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("msg") == FAIL_OPEN_WARNING]


@pytest.mark.parametrize("redis_is", ["down", "silent"])
def test_with_redis_down_or_silent_requests_pass_and_the_log_says_so_once(
    db_url: str, tenants: Tenants, tmp_path: Path, redis_is: str
) -> None:
    """Fail open: a burst-1 key passes every time; one warning line (at most one a minute), no URL in it."""
    del tenants
    with silent_listener() as silent:
        port = free_port() if redis_is == "down" else silent
        redis_url = f"redis://:secret-password@127.0.0.1:{port}/0"
        server = Server(db_url, tmp_path / "fail-open.log", REDIS_URL=redis_url, ORDER_INTAKE_AUTH_CACHE_SECONDS="0")
        server.start()
        try:
            key = limited_key(db_url, 1)
            started = time.monotonic()
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                answers = [_get(client, key) for _ in range(20)]
            minutes = math.floor((time.monotonic() - started) / 60)
            deadline = time.monotonic() + 10
            while not _warnings(server.log()) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            server.stop()
    assert {a.status_code for a in answers} == {200}
    warnings = _warnings(server.log())
    assert 1 <= len(warnings) <= 1 + minutes
    assert warnings[0]["level"] == "warning"
    assert "secret-password" not in server.log()
