"""Idempotency-Key: replays answer the original 202, other bodies 422, twins in flight 409."""

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    accepted_id,
    assert_answer,
    encode,
    json_body,
    post_order,
    stored_submissions,
    submission_path,
    submit_path,
    unique_ref,
)
from tests.support.cli import create_key
from tests.support.factories import an_order
from tests.support.server import Server

WARNINGS = ["unknown field customer.cutomer_ref"]
INVALID_KEY = {"status": 400, "message": "Invalid Idempotency-Key"}
IN_PROGRESS = {"status": 409, "message": "A request with this Idempotency-Key is in progress"}


def a_key() -> str:
    """An Idempotency-Key nobody has used."""
    return "idem-" + secrets.token_hex(12)


def test_a_retry_with_the_same_key_and_body_replays_the_original_answer(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Same key, same body: the original 202 again (same id), `Idempotent-Replayed: true`, nothing new stored."""
    order_ref, key = unique_ref(), a_key()
    body = encode(an_order(order_ref=order_ref))
    first = post_order(client, tenants.main.auth, content=body, headers={"Idempotency-Key": key})
    submission_id = accepted_id(first, WARNINGS)
    assert "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = post_order(client, tenants.main.auth, content=body, headers={"Idempotency-Key": key})
        assert accepted_id(again, WARNINGS) == submission_id
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"] == submission_path(submission_id)
    assert stored_submissions(db_url, order_ref) == 1


def test_the_same_key_with_a_different_body_answers_422_and_stores_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Reusing a key for another body is refused: 422 Idempotency-Key reused with a different body."""
    key, changed_ref = a_key(), unique_ref()
    accepted_id(post_order(client, tenants.main.auth, headers={"Idempotency-Key": key}), WARNINGS)
    answer = post_order(client, tenants.main.auth, an_order(order_ref=changed_ref), headers={"Idempotency-Key": key})
    body = json_body(answer)
    assert_answer(
        answer,
        422,
        {"status": 422, "message": "Idempotency-Key reused with a different body", "errors": body["errors"]},
    )
    assert isinstance(body["errors"], list)
    assert body["errors"]
    assert all(isinstance(error, str) and error for error in body["errors"])
    assert "idempotent-replayed" not in answer.headers
    assert stored_submissions(db_url, changed_ref) == 0


def test_an_idempotency_key_longer_than_255_characters_answers_400(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """256 characters: 400 Invalid Idempotency-Key, nothing stored."""
    order_ref = unique_ref()
    too_long = {"Idempotency-Key": "k" * 256}
    answer = post_order(client, tenants.main.auth, an_order(order_ref=order_ref), headers=too_long)
    assert_answer(answer, 400, INVALID_KEY)
    assert stored_submissions(db_url, order_ref) == 0


def test_two_idempotency_key_headers_answer_400_and_store_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Two keys in one request: which one a retry would match is anyone's guess, so neither is taken."""
    order_ref = unique_ref()
    body = encode(an_order(order_ref=order_ref))
    headers = [("Content-Type", "application/json"), ("Idempotency-Key", a_key()), ("Idempotency-Key", a_key())]
    answer = client.post(submit_path(), content=body, headers=headers, auth=tenants.main.auth)
    assert_answer(answer, 400, INVALID_KEY)
    assert stored_submissions(db_url, order_ref) == 0


def test_an_idempotency_key_of_255_characters_is_accepted_and_replays(client: httpx.Client, tenants: Tenants) -> None:
    """255 characters is the limit itself."""
    key = a_key() + "k" * (255 - len(a_key()))
    assert len(key) == 255
    first = accepted_id(post_order(client, tenants.main.auth, headers={"Idempotency-Key": key}), WARNINGS)
    again = post_order(client, tenants.main.auth, headers={"Idempotency-Key": key})
    assert (accepted_id(again, WARNINGS), again.headers["idempotent-replayed"]) == (first, "true")


def test_keys_are_scoped_to_the_api_key(client: httpx.Client, tenants: Tenants, db_url: str) -> None:
    """Two API keys may use the same Idempotency-Key independently: each gets its own submission."""
    key, order_ref = a_key(), unique_ref()
    body = encode(an_order(order_ref=order_ref))
    second_key = create_key(db_url, "--trkref", "TRKREF123")
    mine = post_order(client, tenants.main.auth, content=body, headers={"Idempotency-Key": key})
    theirs = post_order(client, second_key.auth, content=body, headers={"Idempotency-Key": key})
    assert accepted_id(mine, WARNINGS) != accepted_id(theirs, WARNINGS)
    assert "idempotent-replayed" not in theirs.headers
    assert stored_submissions(db_url, order_ref) == 2
    replay = post_order(client, second_key.auth, content=body, headers={"Idempotency-Key": key})
    assert accepted_id(replay, WARNINGS) == accepted_id(theirs, WARNINGS)


def test_a_key_used_with_another_tenant_does_not_replay_across_tenants(client: httpx.Client, tenants: Tenants) -> None:
    """The same Idempotency-Key from another tenant's key is a fresh submission of that tenant."""
    key = a_key()
    accepted_id(post_order(client, tenants.main.auth, headers={"Idempotency-Key": key}), WARNINGS)
    other = an_order(trkref="OTHER-ORG")
    answer = post_order(client, tenants.other.auth, other, trkref="OTHER-ORG", headers={"Idempotency-Key": key})
    submission_id = accepted_id(answer, WARNINGS)
    assert "idempotent-replayed" not in answer.headers
    assert answer.headers["location"] == submission_path(submission_id, "OTHER-ORG")


def send_twins(client: httpx.Client, auth: tuple[str, str], body: bytes, key: str, twins: int) -> list[httpx.Response]:
    """The same request from `twins` threads released at once."""
    start = threading.Barrier(twins)

    def send(_: int) -> httpx.Response:
        start.wait(timeout=10)
        return post_order(client, auth, content=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=twins) as pool:
        return list(pool.map(send, range(twins)))


def assert_one_submission(answers: list[httpx.Response]) -> str:
    """Every answer is the one submission's 202 (once original, else replayed) or 409 in progress."""
    accepted = [a for a in answers if a.status_code == 202]
    for answer in answers:
        if answer.status_code != 202:
            assert_answer(answer, 409, IN_PROGRESS)
            assert "idempotent-replayed" not in answer.headers
    ids = {accepted_id(answer, WARNINGS) for answer in accepted}
    assert len(ids) == 1, ids
    replayed = [a.headers.get("idempotent-replayed") for a in accepted]
    assert set(replayed) <= {None, "true"}
    assert replayed.count(None) == 1  # the one request that stored it
    return ids.pop()


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_twins_get_one_submission_and_either_its_replay_or_409(
    client: httpx.Client, tenants: Tenants, db_url: str, attempt: int
) -> None:
    """Many identical requests at once: one submission; every other answer is its replay or 409 in progress."""
    del attempt  # repeated: the interleaving differs from run to run
    key, order_ref = a_key(), unique_ref()
    body = encode(an_order(order_ref=order_ref))
    submission_id = assert_one_submission(send_twins(client, tenants.main.auth, body, key, 24))
    assert stored_submissions(db_url, order_ref) == 1
    replay = post_order(client, tenants.main.auth, content=body, headers={"Idempotency-Key": key})
    assert accepted_id(replay, WARNINGS) == submission_id
    assert replay.headers["idempotent-replayed"] == "true"


def test_concurrent_twins_across_worker_processes_get_one_submission(
    db_url: str, tenants: Tenants, run_dir: Path
) -> None:
    """With several server processes, twins landing on different workers still make one submission."""
    server = Server(db_url, run_dir / f"twins-{secrets.token_hex(3)}.log", workers=2).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as c:
            for _ in range(3):
                key, order_ref = a_key(), unique_ref()
                body = encode(an_order(order_ref=order_ref))
                submission_id = assert_one_submission(send_twins(c, tenants.main.auth, body, key, 24))
                assert stored_submissions(db_url, order_ref) == 1
                replay = post_order(c, tenants.main.auth, content=body, headers={"Idempotency-Key": key})
                assert accepted_id(replay, WARNINGS) == submission_id
    finally:
        server.stop()
