"""202 means durable: a server SIGKILLed under load loses no order (and no batch) it answered."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.inspect_db import count_rows
from tests.support.load import Load, Send
from tests.support.server import Server

ROUNDS = 3
BATCH_SIZE = 50


@pytest.fixture
def crash_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Credentials]]:
    """A database of its own, with an enabled organisation and a key."""
    with database(backend, tmp_path, "crash") as url:
        cli_ok(url, "org", "add", "CRASH", "--name", "Crash Test")
        cli_ok(url, "org", "enable", "CRASH")
        yield url, create_key(url, "--trkref", "CRASH")


def _kill_under_load(db: tuple[str, Credentials], logs: Path, *, threads: int, send: Send, answers: int) -> list[Load]:
    """ROUNDS times: start a 2-worker server, load it, SIGKILL it once `answers` requests were answered."""
    url, key = db
    loads = []
    for round_no in range(ROUNDS):
        server = Server(url, logs / f"{logs.name}-{round_no}.log", workers=2).start()
        with Load(server.base_url, key, f"R{round_no}", threads, send) as load:
            load.wait_for(answers)
            server.kill()
        loads.append(load)
    return loads


def _post_order(client: httpx.Client, order_ref: str) -> object:
    answer = client.post("/v4/organisations/CRASH/customer_order", json=an_order(trkref="CRASH", order_ref=order_ref))
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _post_batch(client: httpx.Client, batch: str) -> object:
    orders = [an_order(trkref="CRASH", order_ref=f"{batch}-{i}") for i in range(BATCH_SIZE)]
    answer = client.post("/v4/customer_orders", json=orders)
    assert answer.status_code == 202, answer.text
    return answer.json()["ids"]


def test_every_order_answered_202_survives_repeated_sigkill(crash_db: tuple[str, Credentials], tmp_path: Path) -> None:
    """Three SIGKILLs of a 2-worker server under 16 concurrent clients: every 202 id is found after restart."""
    url, key = crash_db
    loads = _kill_under_load(crash_db, tmp_path, threads=16, send=_post_order, answers=150)
    accepted = {order_ref: submission_id for load in loads for order_ref, submission_id in load.answered.items()}
    server = Server(url, tmp_path / "after.log").start()
    try:
        with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=10) as client:
            for order_ref, submission_id in accepted.items():
                found = client.get(f"/v4/organisations/CRASH/customer_order/{submission_id}")
                assert found.status_code == 200, (submission_id, found.text)
                assert found.json()["order"]["order_ref"] == order_ref
    finally:
        server.stop()
    assert len(accepted) >= ROUNDS * 150


def test_batches_are_all_or_nothing_across_sigkill(crash_db: tuple[str, Credentials], tmp_path: Path) -> None:
    """SIGKILL during batch load: every answered batch is wholly present; an unanswered one is all or nothing."""
    url, key = crash_db
    loads = _kill_under_load(crash_db, tmp_path, threads=6, send=_post_batch, answers=20)
    per_batch = "SELECT count(*) FROM submissions WHERE order_ref LIKE ?"
    unanswered = [batch for load in loads for batch in load.unanswered]
    assert unanswered, "the kill should have caught some batch in flight"
    for batch in unanswered:
        assert count_rows(url, per_batch, f"{batch}-%") in {0, BATCH_SIZE}, batch
    answered = {batch: ids for load in loads for batch, ids in load.answered.items()}
    for batch in answered:
        assert count_rows(url, per_batch, f"{batch}-%") == BATCH_SIZE, batch
    server = Server(url, tmp_path / "batch-after.log").start()
    try:
        with httpx.Client(base_url=server.base_url, auth=key.auth, timeout=10) as client:
            for batch, ids in answered.items():
                assert isinstance(ids, list)
                found = client.get(f"/v4/organisations/CRASH/customer_order/{ids[-1]}")
                assert found.json()["order"]["order_ref"] == f"{batch}-{BATCH_SIZE - 1}"
    finally:
        server.stop()
