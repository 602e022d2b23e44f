"""The store and the group-commit writer on real PostgreSQL and SQLite."""

import asyncio
import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql import admin
from order_intake.adapters.sqlite import intake as sqlite_adapter
from order_intake.adapters.writer import GroupCommitWriter
from order_intake.errors import StoreUnavailable, WriterClosed, WriterQueueFull
from order_intake.service.ports import Store
from order_intake.service.records import IdempotencyRecord, NewSubmission, UnitOutcome, WriteUnit
from tests.integration.conftest import OnStore
from tests.support.inspect_db import count_rows

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


async def _ids(store: Store) -> tuple[int, int]:
    key = await store.find_key("key_a")
    assert key is not None
    return key.id, key.organisations[0].id


def a_submission(key_id: int, org_id: int, **changes: object) -> NewSubmission:
    """A stored-ready submission with a fresh id."""
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "organisation_id": org_id,
        "api_key_id": key_id,
        "received_at": NOW,
        "body": b'{"raw": true}',
        "normalised": b'{"order_ref": "R1"}',
        "order_ref": "R1",
        "idempotency_key": None,
        "request_id": "req-1",
    }
    fields.update(changes)
    return NewSubmission(**fields)  # type: ignore[arg-type]


def a_claim(key_id: int, key: str, *, created_at: dt.datetime = NOW, fingerprint: bytes = b"f1") -> IdempotencyRecord:
    """An idempotency record for `key`."""
    return IdempotencyRecord(
        api_key_id=key_id, key=key, fingerprint=fingerprint, status=202, response=b"{}", created_at=created_at
    )


def test_committed_submissions_are_found_by_organisation_and_id(on_store: OnStore) -> None:
    """What commit_units stored, get_submission reads back, and only for its organisation."""

    async def scenario(store: Store) -> None:
        key_id, org_id = await _ids(store)
        sub = a_submission(key_id, org_id)
        assert await store.commit_units([WriteUnit(submissions=(sub,))]) == [None]
        found = await store.get_submission(org_id, sub.id)
        assert found is not None
        assert (found.id, found.processed_at, found.received_at) == (sub.id, None, NOW)  # accepted, not processed yet
        assert found.normalised.replace(b" ", b"") == sub.normalised.replace(b" ", b"")
        assert await store.get_submission(org_id + 1000, sub.id) is None
        assert await store.get_submission(org_id, uuid.uuid4()) is None

    on_store(scenario)


def test_second_claim_of_an_idempotency_key_stores_nothing_and_returns_the_first(on_store: OnStore) -> None:
    """The first unit with a key wins; a later one gets the first's record and its submission is not stored."""

    async def scenario(store: Store) -> None:
        key_id, org_id = await _ids(store)
        first, second = a_submission(key_id, org_id), a_submission(key_id, org_id)
        claim = a_claim(key_id, "k-second")
        assert await store.commit_units([WriteUnit((first,), claim)]) == [None]
        later = a_claim(key_id, "k-second", fingerprint=b"f2", created_at=NOW + dt.timedelta(seconds=1))
        outcome = await store.commit_units([WriteUnit((second,), later)])
        assert outcome == [claim]
        assert await store.get_submission(org_id, second.id) is None

    on_store(scenario)


def test_idempotency_key_older_than_24_hours_can_be_used_again(on_store: OnStore) -> None:
    """A record past the window is replaced by the new claim."""

    async def scenario(store: Store) -> None:
        key_id, org_id = await _ids(store)
        old = a_claim(key_id, "k-old", created_at=NOW - dt.timedelta(hours=25))
        await store.commit_units([WriteUnit((a_submission(key_id, org_id),), old)])
        assert await store.find_idempotency(key_id, "k-old", NOW - dt.timedelta(hours=24)) is None
        fresh = a_submission(key_id, org_id)
        assert await store.commit_units([WriteUnit((fresh,), a_claim(key_id, "k-old"))]) == [None]
        assert await store.get_submission(org_id, fresh.id) is not None
        found = await store.find_idempotency(key_id, "k-old", NOW - dt.timedelta(hours=24))
        assert found == a_claim(key_id, "k-old")

    on_store(scenario)


def test_writer_groups_concurrent_units_into_few_transactions(on_store: OnStore) -> None:
    """200 concurrent writes all commit, in fewer transactions than writes."""

    async def scenario(store: Store) -> tuple[int, int]:
        key_id, org_id = await _ids(store)
        calls: list[int] = []

        async def counting_commit(units: Sequence[WriteUnit]) -> list[UnitOutcome]:
            calls.append(len(units))
            return await store.commit_units(units)

        writer = GroupCommitWriter(counting_commit, max_batch=64)
        writer.start()
        subs = [a_submission(key_id, org_id) for _ in range(200)]
        outcomes = await asyncio.gather(*(writer.write(WriteUnit((s,))) for s in subs))
        await writer.stop()
        assert outcomes == [None] * 200
        for s in subs:
            assert await store.get_submission(org_id, s.id) is not None
        return len(calls), max(calls)

    transactions, largest = on_store(scenario)
    assert transactions < 200
    assert largest <= 64


def test_units_queued_while_a_transaction_commits_all_join_the_next_one(on_store: OnStore) -> None:
    """One transaction in flight: the three units that arrive meanwhile share the next, none waits for a third."""

    async def scenario(store: Store) -> list[int]:
        key_id, org_id = await _ids(store)
        calls: list[int] = []
        gate = asyncio.Event()

        async def gated_commit(units: Sequence[WriteUnit]) -> list[UnitOutcome]:
            calls.append(len(units))
            if len(calls) == 1:
                await gate.wait()  # the first transaction is still committing while the others arrive
            return await store.commit_units(units)

        writer = GroupCommitWriter(gated_commit, max_batch=64, max_inflight=1)
        writer.start()
        first = asyncio.create_task(writer.write(WriteUnit((a_submission(key_id, org_id),))))
        later = []
        for _ in range(3):
            await asyncio.sleep(0.01)  # each arrives on its own, the writer running in between
            later.append(asyncio.create_task(writer.write(WriteUnit((a_submission(key_id, org_id),)))))
        await asyncio.sleep(0.01)
        gate.set()
        assert await asyncio.gather(first, *later) == [None] * 4
        await writer.stop()
        return calls

    assert on_store(scenario) == [1, 3]


def test_one_failing_unit_does_not_fail_the_others_in_its_group(on_store: OnStore) -> None:
    """A unit that breaks a constraint fails alone; the units grouped with it still commit.

    Its error stays its own: no other task sees it as the exception being handled, during the retries
    or after them (it would become the context of every later exception in the process).
    """

    async def scenario(store: Store) -> list[BaseException]:
        key_id, org_id = await _ids(store)
        writer = GroupCommitWriter(store.commit_units, max_batch=100)
        stored = a_submission(key_id, org_id)
        assert await store.commit_units([WriteUnit((stored,))]) == [None]
        good = [a_submission(key_id, org_id) for _ in range(5)]
        bad = a_submission(key_id, org_id, id=stored.id)  # an id already stored: primary key violation
        units = [WriteUnit((s,)) for s in (*good[:2], bad, *good[2:])]
        seen: list[BaseException] = []
        writing = True

        async def watch() -> None:
            while writing:
                handled = sys.exc_info()[1]
                if handled is not None:
                    seen.append(handled)
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        writer.start()
        results = await asyncio.gather(*(writer.write(u) for u in units), return_exceptions=True)
        await writer.stop()
        writing = False
        await watcher
        assert [isinstance(r, Exception) for r in results] == [False, False, True, False, False, False]
        for s in good:
            assert await store.get_submission(org_id, s.id) is not None
        return seen

    assert on_store(scenario) == []
    assert sys.exc_info() == (None, None, None)


def test_stopping_writer_commits_what_is_queued_and_refuses_more(on_store: OnStore) -> None:
    """stop() drains the queue; a write after it raises WriterClosed."""

    async def scenario(store: Store) -> None:
        key_id, org_id = await _ids(store)
        writer = GroupCommitWriter(store.commit_units, max_batch=10)
        writer.start()
        subs = [a_submission(key_id, org_id) for _ in range(30)]
        pending = [asyncio.ensure_future(writer.write(WriteUnit((s,)))) for s in subs]
        await asyncio.sleep(0)  # let every write enqueue
        await writer.stop()
        assert [p.result() for p in pending] == [None] * 30
        with pytest.raises(WriterClosed):
            await writer.write(WriteUnit((a_submission(key_id, org_id),)))
        for s in subs:
            assert await store.get_submission(org_id, s.id) is not None

    on_store(scenario)


def test_sqlite_writers_of_two_processes_take_turns_and_a_stuck_one_costs_an_error_not_a_hang(
    on_store: OnStore, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the file's write lock: a commit waits for it, then gives up with StoreUnavailable."""
    if not store_url.startswith("sqlite:///"):
        pytest.skip("the write lock is SQLite's; PostgreSQL has row locks and a statement timeout")
    monkeypatch.setattr(sqlite_adapter, "LOCK_TIMEOUT", 0.3)
    path = Path(store_url.removeprefix("sqlite:///"))
    stored = count_rows(store_url, "SELECT count(*) FROM submissions")
    # The lock is taken by a child process, as another server or worker would hold it.
    command = [sys.executable, "-c", _HOLD_LOCK, str(path.with_name(path.name + ".write-lock"))]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"

        async def commit(store: Store) -> None:
            key_id, org_id = await _ids(store)
            await store.commit_units([WriteUnit(submissions=(a_submission(key_id, org_id),))])

        with pytest.raises(StoreUnavailable):
            on_store(commit)
        holder.kill()  # the other process goes, and its lock with it
    on_store(commit)  # the next commit goes through
    assert count_rows(store_url, "SELECT count(*) FROM submissions") == stored + 1


_HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
"""


def test_all_keys_lists_every_key_as_find_key_reads_it(store_url: str, on_store: OnStore) -> None:
    """Keys of one organisation, of two, revoked: the same rows, one per key, as find_key answers for each."""
    now = dt.datetime.now(dt.UTC)

    def seed(conn: sa.Connection) -> None:
        admin.add_organisation(conn, "ORG-B", "Org B", now)
        for username, trkrefs in (("key_both", ["ORG-B", "ORG-A"]), ("key_gone", ["ORG-B"])):
            admin.add_key(
                conn,
                username=username,
                secret_salt=b"s",
                secret_hash=b"h",
                trkrefs=trkrefs,
                customer_order=False,
                now=now,
            )
        admin.revoke_key(conn, "key_gone", now)

    admin.run_repeatedly(parse_database_url(store_url), seed, again=lambda _: False)

    async def scenario(store: Store) -> None:
        listed = await store.all_keys()
        usernames = ["key_a", "key_both", "key_gone"]
        assert sorted(key.username for key in listed) == usernames
        assert sorted(listed, key=lambda key: key.username) == [await store.find_key(name) for name in usernames]
        both = next(key for key in listed if key.username == "key_both")
        assert [org.trkref for org in both.organisations] == ["ORG-A", "ORG-B"]

    on_store(scenario)


def test_a_full_queue_refuses_at_once_and_takes_units_again_once_it_drains(on_store: OnStore) -> None:
    """While a transaction hangs, units wait; once max_queued submissions wait, the next gets StoreUnavailable."""

    async def scenario(store: Store) -> list[str]:
        key_id, org_id = await _ids(store)
        gate = asyncio.Event()

        async def gated_commit(units: Sequence[WriteUnit]) -> list[UnitOutcome]:
            await gate.wait()  # the database is slow
            return await store.commit_units(units)

        def write_one() -> "asyncio.Task[UnitOutcome]":
            return asyncio.create_task(writer.write(WriteUnit((a_submission(key_id, org_id),))))

        writer = GroupCommitWriter(gated_commit, max_batch=64, max_queued=3)
        writer.start()
        committing = write_one()
        await asyncio.sleep(0.01)  # taken into the transaction that hangs
        waiting = [write_one() for _ in range(3)]
        await asyncio.sleep(0.01)
        outcomes = []
        with pytest.raises(WriterQueueFull, match="too many submissions waiting"):
            await writer.write(WriteUnit((a_submission(key_id, org_id),)))
        outcomes.append("refused")
        gate.set()
        assert await asyncio.gather(committing, *waiting) == [None] * 4
        outcomes.append("queued ones committed")
        assert await writer.write(WriteUnit((a_submission(key_id, org_id),))) is None
        outcomes.append("taken again")
        await writer.stop()
        return outcomes

    assert on_store(scenario) == ["refused", "queued ones committed", "taken again"]


def test_a_unit_larger_than_the_queue_is_taken_behind_a_few_and_others_are_taken_while_it_commits(
    on_store: OnStore,
) -> None:
    """A batch of the largest size is not refused for the orders ahead of it, nor are orders while it commits."""

    async def scenario(store: Store) -> list[int]:
        key_id, org_id = await _ids(store)
        gates = {1: asyncio.Event(), 3: asyncio.Event()}  # the first and the third transaction hang
        sizes: list[int] = []

        async def gated_commit(units: Sequence[WriteUnit]) -> list[UnitOutcome]:
            sizes.append(sum(len(unit.submissions) for unit in units))
            if (gate := gates.get(len(sizes))) is not None:
                await gate.wait()
            return await store.commit_units(units)

        def write(count: int) -> "asyncio.Task[UnitOutcome]":
            unit = WriteUnit(tuple(a_submission(key_id, org_id) for _ in range(count)))
            return asyncio.create_task(writer.write(unit))

        writer = GroupCommitWriter(gated_commit, max_batch=2, max_queued=3)
        writer.start()
        first = write(1)
        await asyncio.sleep(0.01)  # its transaction hangs
        ahead, large = write(2), write(10)  # 2 wait, fewer than 3: the large one is taken
        await asyncio.sleep(0.01)
        gates[1].set()  # the first commits, then the two; the large one's transaction hangs
        await asyncio.gather(first, ahead)
        await asyncio.sleep(0.01)
        behind = write(1)  # taken while the large one commits
        await asyncio.sleep(0.01)
        gates[3].set()
        assert await asyncio.gather(large, behind) == [None, None]
        await writer.stop()
        return sizes

    assert on_store(scenario) == [1, 2, 10, 1]
