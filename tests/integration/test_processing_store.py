"""Processing on the real stores: twice, concurrently, or over a rolled-back attempt gives one result."""

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.postgres.delivery import WALK_THE_INDEX, PgDeliveries, due_rows_statement
from order_intake.adapters.postgres.processing import PgProcessingStore
from order_intake.adapters.postgres.processing_sql import CLAIM_PENDING
from order_intake.domain.delivery import Kind
from order_intake.errors import PlanningFailed
from order_intake.service.ports import ProcessingStore, Store
from order_intake.service.processing import SET_ASIDE_FIRST, Processor, plan
from order_intake.service.records import NewSubmission, WriteUnit
from tests.integration.conftest import OnStore
from tests.support.inspect_db import WAITING, change_rows, count_rows, fetch_rows, requeue

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
REFS = 20


def _order(ref: str, n: int) -> bytes:
    customer: dict[str, Any] = {"email": f"n{n}@example.com"}
    if n % 3:
        customer["first_name"] = f"F{n}"
    order: dict[str, Any] = {
        "trkref": "ORG-A",
        "order_ref": ref,
        "customer": customer,
        "order_items": [{"sku": f"S{n}"}],
    }
    if n % 2:
        order["language"] = f"l{n}"
    return json.dumps(order).encode()


async def _submit(store: Store, prefix: str, count: int, *, first: int = 0, at: dt.datetime = T0) -> None:
    key = await store.find_key("key_a")
    assert key is not None
    rows = []
    for n in range(first, first + count):
        ref = f"{prefix}-{n % REFS}"
        rows.append(
            NewSubmission(
                id=uuid.uuid4(),
                organisation_id=key.organisations[0].id,
                api_key_id=key.id,
                received_at=at + dt.timedelta(milliseconds=n % 7),  # many share a time: the id decides
                body=b"{}",
                normalised=_order(ref, n),
                order_ref=ref,
                idempotency_key=None,
                request_id=None,
            )
        )
    await store.commit_units([WriteUnit(submissions=tuple(rows))])


def _snapshot(url: str, prefix: str) -> dict[str, tuple[int, Any]]:
    rows = fetch_rows(
        url, "SELECT order_ref, version, document FROM canonical_orders WHERE order_ref LIKE ?", f"{prefix}-%"
    )
    return {ref: (version, json.loads(document)) for ref, version, document in rows}


def _processing(url: str) -> ProcessingStore:
    return backend_for(parse_database_url(url)).processing_store()


async def _drain_with(url: str, processors: int, batch: int) -> int:
    stores = [_processing(url) for _ in range(processors)]
    for store in stores:
        await store.open()
    try:
        done = await asyncio.gather(*(Processor(store, batch=batch).drain() for store in stores))
    finally:
        for store in stores:
            await store.close()
    return sum(done)


def test_concurrent_processors_and_a_second_run_give_the_same_orders(on_store: OnStore, store_url: str) -> None:
    """Idempotent and order-free: a re-run writes nothing new; concurrent small batches end the same."""
    on_store(lambda store: _submit(store, "CONC", 200))
    assert asyncio.run(_drain_with(store_url, processors=1, batch=1000)) == 200
    alone = _snapshot(store_url, "CONC")
    events = count_rows(store_url, "SELECT count(*) FROM outbox")

    # Run again over every submission (as if none had been marked): nothing changes, no new event.
    requeue(store_url, "CONC-%")
    assert asyncio.run(_drain_with(store_url, processors=3, batch=7)) == 200
    assert _snapshot(store_url, "CONC") == alone
    assert count_rows(store_url, "SELECT count(*) FROM outbox") == events

    # The same submissions processed from scratch by three concurrent processors in small batches.
    requeue(store_url, "CONC-%")
    change_rows(
        store_url,
        "DELETE FROM outbox WHERE canonical_id IN (SELECT id FROM canonical_orders WHERE order_ref LIKE 'CONC-%')",
    )
    change_rows(store_url, "DELETE FROM canonical_orders WHERE order_ref LIKE 'CONC-%'")
    assert asyncio.run(_drain_with(store_url, processors=3, batch=7)) == 200
    again = _snapshot(store_url, "CONC")
    assert {ref: doc for ref, (_, doc) in again.items()} == {ref: doc for ref, (_, doc) in alone.items()}
    assert len(again) == REFS
    # Versions count changes: one per transaction that changed the order, each with one event
    # (the earlier events were deleted with their orders).
    assert count_rows(store_url, "SELECT count(*) FROM outbox") == sum(v for v, _ in again.values())


def test_the_backlog_counts_the_unsent_events_only_when_asked(on_store: OnStore, store_url: str) -> None:
    """The lag always; the events not yet sent only for a node with a broker to send them (else None)."""
    on_store(lambda store: _submit(store, "BACKLOG", 5))
    asyncio.run(_drain_with(store_url, processors=1, batch=1000))
    pending = count_rows(store_url, "SELECT count(*) FROM outbox_pending")

    async def asked() -> tuple[tuple[float, int | None], tuple[float, int | None]]:
        store = _processing(store_url)
        await store.open()
        try:
            return await store.backlog(unsent=True), await store.backlog(unsent=False)
        finally:
            await store.close()

    (lag, unsent), (lag_alone, not_counted) = asyncio.run(asked())
    assert pending >= 5  # five new orders, an event each, and no relay
    assert (unsent, not_counted) == (pending, None)
    assert lag >= 0
    assert lag_alone >= 0


def test_a_failed_attempt_leaves_nothing_and_the_next_one_does_all(on_store: OnStore, store_url: str) -> None:
    """A crash inside the transaction (the planner raising) rolls everything back."""
    on_store(lambda store: _submit(store, "FAIL", 40))

    def broken(*_: object) -> Any:
        raise RuntimeError("crash in the middle")

    async def attempt() -> None:
        store = _processing(store_url)
        await store.open()
        try:
            await store.process(100, broken)
        finally:
            await store.close()

    try:
        asyncio.run(attempt())
    except RuntimeError:
        pass
    else:
        raise AssertionError("the planner's failure did not reach the caller")
    assert count_rows(store_url, WAITING + " WHERE s.order_ref LIKE 'FAIL-%'") == 40
    assert not _snapshot(store_url, "FAIL")
    assert asyncio.run(_drain_with(store_url, processors=1, batch=100)) == 40
    assert len(_snapshot(store_url, "FAIL")) == REFS


def test_a_submission_whose_planning_raises_is_set_aside_and_the_others_are_processed(
    on_store: OnStore, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored document planning cannot read (a defect's stand-in): found by halving, left queued, the rest done."""
    on_store(lambda store: _submit(store, "ASIDE", 30))
    (poison,) = fetch_rows(store_url, "SELECT id FROM submissions WHERE order_ref = 'ASIDE-5' ORDER BY id LIMIT 1")
    change_rows(store_url, "UPDATE submissions SET normalised = '[]' WHERE id = ?", poison[0])
    poison_id = uuid.UUID(str(poison[0]))

    async def rounds() -> tuple[int, int, int, float]:
        store = _processing(store_url)
        await store.open()
        try:
            processor = Processor(store, batch=8)
            done, failures = 0, 0
            for _ in range(20):  # 30 submissions in rounds of 8 or more: far fewer rounds than this
                try:
                    got = await processor.process_once()
                except PlanningFailed:
                    failures += 1  # the loop logs it and pauses; the next round goes on without it
                    continue
                if not got:
                    break
                done += got
            else:
                raise AssertionError(f"still processing after 20 rounds: {done} done, {failures} failed")
            again = await processor.process_once()  # set aside: not claimed again so soon
            _, pause = processor._set_aside[poison_id]
            processor._set_aside[poison_id] = (time.monotonic() - 1, pause)  # its time is up
            with pytest.raises(PlanningFailed):
                await processor.process_once()  # claimed again: it still raises, and is set aside longer
            return done, failures, again, processor._set_aside[poison_id][1]
        finally:
            await store.close()

    try:
        assert asyncio.run(rounds()) == (29, 1, 0, 2 * SET_ASIDE_FIRST)
        assert count_rows(store_url, WAITING + " WHERE s.order_ref LIKE 'ASIDE-%'") == 1
        queued = "SELECT q.submission_id FROM submission_queue q JOIN submissions s ON s.id = q.submission_id"
        assert fetch_rows(store_url, queued + " WHERE s.order_ref LIKE 'ASIDE-%'") == [poison]
        assert len(_snapshot(store_url, "ASIDE")) == REFS
        logged = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
        assert logged == [
            f"processing submission {poison_id} raised; set aside for 60 s, the others go on",
            f"processing submission {poison_id} raised; set aside for 120 s, the others go on",
        ]
    finally:  # the module's later tests share this database: the poison goes
        change_rows(store_url, "DELETE FROM submission_queue WHERE submission_id = ?", poison[0])
        change_rows(store_url, "DELETE FROM submissions WHERE id = ?", poison[0])


def test_a_database_error_is_not_blamed_on_a_submission(store_url: str, on_store: OnStore) -> None:
    """A write the database refuses (a trigger stands in for a full disk) goes to the loop at once: none set aside."""
    on_store(lambda store: _submit(store, "REFUSED", 12))
    postgres = store_url.startswith("postgresql")
    trigger = (
        [
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
        if postgres
        else ["CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
    )
    for statement in trigger:
        change_rows(store_url, statement)

    async def attempt() -> tuple[str, dict[uuid.UUID, tuple[float, float]]]:
        store = _processing(store_url)
        await store.open()
        try:
            processor = Processor(store, batch=8)
            try:
                await processor.process_once()
            except PlanningFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever the database raised, as the loop gets it
                return type(exc).__name__, processor._set_aside
            return "nothing", processor._set_aside
        finally:
            await store.close()

    try:
        raised, aside = asyncio.run(attempt())
    finally:
        change_rows(store_url, "DROP TRIGGER refuse ON outbox" if postgres else "DROP TRIGGER refuse")
        if postgres:
            change_rows(store_url, "DROP FUNCTION refuse()")
    assert raised != "nothing"
    assert aside == {}
    assert asyncio.run(_drain_with(store_url, processors=1, batch=8)) >= 12


def test_a_plan_overtaken_before_its_write_is_made_again(on_store: OnStore, store_url: str) -> None:
    """SQLite plans outside the write lock: a plan whose orders changed meanwhile is dropped, not written.

    Between the read and the write, another writer moves one order to a new version and removes
    another (as an erasure would). Writing the stale plan would lose the first change and bring
    back the removed order's old content; instead the round is made again from what is there now.
    """
    if not store_url.startswith("sqlite:///"):
        pytest.skip("PostgreSQL's processor holds its locks from read to write: there is no such window")
    on_store(lambda store: _submit(store, "OVR", REFS))  # one submission per order
    assert asyncio.run(_drain_with(store_url, processors=1, batch=100)) == REFS
    removed = fetch_rows(store_url, "SELECT id FROM canonical_orders WHERE order_ref = 'OVR-1'")[0][0]
    # A later submission per order, with other content: each order changes once more.
    on_store(lambda store: _submit(store, "OVR", REFS, first=REFS, at=T0 + dt.timedelta(seconds=1)))
    calls = 0

    def interfering(claimed: Any, existing: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # after this round read its snapshot, before it writes
            change_rows(store_url, "UPDATE canonical_orders SET version = version + 1 WHERE order_ref = 'OVR-0'")
            change_rows(store_url, "DELETE FROM canonical_orders WHERE order_ref = 'OVR-1'")
        return plan(claimed, existing, now=T0)

    async def once() -> int:
        store = _processing(store_url)
        await store.open()
        try:
            return await store.process(100, interfering)
        finally:
            await store.close()

    assert asyncio.run(once()) == REFS
    assert calls == 2  # the first plan was dropped and the round made again
    orders = {ref: version for ref, version, _ in fetch_rows(store_url, _OVR_ORDERS)}
    assert orders["OVR-0"] == 3  # 1, moved on to 2 by the other writer, then this round's change
    assert orders["OVR-1"] == 1  # made anew from the waiting submission, not from the removed row
    assert all(version == 2 for ref, version in orders.items() if ref not in {"OVR-0", "OVR-1"})
    assert fetch_rows(store_url, "SELECT id FROM canonical_orders WHERE order_ref = 'OVR-1'")[0][0] != removed
    waiting = WAITING + " WHERE s.order_ref LIKE 'OVR-%'"
    assert count_rows(store_url, waiting) == 0
    # One event per version written by processing (the removed order's first one included): none
    # from the dropped plan.
    assert count_rows(store_url, _OVR_EVENTS, removed) == 2 * REFS


_OVR_ORDERS = "SELECT order_ref, version, document FROM canonical_orders WHERE order_ref LIKE 'OVR-%'"
_OVR_EVENTS = """SELECT count(*) FROM outbox
                  WHERE canonical_id IN (SELECT id FROM canonical_orders WHERE order_ref LIKE 'OVR-%')
                     OR canonical_id = ?"""


async def _rounds(url: str, processor_batch: int, max_batch: int, rounds: int) -> list[int]:
    store = _processing(url)
    await store.open()
    try:
        processor = Processor(store, batch=processor_batch, max_batch=max_batch)
        return [await processor.process_once() for _ in range(rounds)]
    finally:
        await store.close()


def test_a_backlog_is_taken_in_growing_batches_and_a_quiet_round_starts_small_again(
    on_store: OnStore, store_url: str
) -> None:
    """Each full batch doubles the next up to the cap; a round that finds less resets it to the first size."""
    asyncio.run(_drain_with(store_url, processors=1, batch=1000))  # what other tests left waiting
    on_store(lambda store: _submit(store, "GROW", 1000))
    assert asyncio.run(_rounds(store_url, 50, 300, 6)) == [50, 100, 200, 300, 300, 50]
    on_store(lambda store: _submit(store, "GROW", 120, first=1000))
    assert asyncio.run(_rounds(store_url, 50, 300, 3)) == [50, 70, 0]


def test_processors_sharing_one_store_share_the_work_on_postgresql(on_store: OnStore, store_url: str) -> None:
    """A worker's concurrent processors (one pool): every submission once, the same orders as one processor."""
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        pytest.skip("a SQLite worker runs one processor")
    asyncio.run(_drain_with(store_url, processors=1, batch=1000))  # what other tests left waiting
    on_store(lambda store: _submit(store, "SHARE", 300))

    async def together() -> list[int]:
        store = backend_for(url).processing_store(processors=3)
        await store.open()
        try:
            return await asyncio.gather(*(Processor(store, batch=10, max_batch=10).drain() for _ in range(3)))
        finally:
            await store.close()

    done = asyncio.run(together())
    assert sum(done) == 300
    assert all(done), f"a processor got nothing to do: {done}"
    assert count_rows(store_url, WAITING) == 0
    assert len(_snapshot(store_url, "SHARE")) == REFS


def test_background_pools_plan_each_statement_for_its_own_arguments_on_postgresql(store_url: str) -> None:
    """Processing's and the sender's sessions never settle on a generic plan made while the tables were small."""
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        pytest.skip("SQLite plans every statement as it runs it")
    backend = backend_for(url)

    async def modes() -> list[str]:
        found = []
        for store in (backend.processing_store(), backend.deliveries()):
            await store.open()
            try:
                pool = getattr(store, "_pool", None)  # the session setting is what is checked
                assert isinstance(pool, asyncpg.Pool)
                found.append(await pool.fetchval("SHOW plan_cache_mode"))
            finally:
                await store.close()
        return found

    assert asyncio.run(modes()) == ["force_custom_plan", "force_custom_plan"]


_EVENTS = """
INSERT INTO outbox (event_id, organisation_id, canonical_id, version, routing_key, payload, created_at)
SELECT gen_random_uuid(), (SELECT min(id) FROM organisations), gen_random_uuid(), 1, 'r', '\\x7b7d', now()
  FROM generate_series(1, $1)
"""


def _rows_read(node: dict[str, Any], table: str) -> int:
    """The most rows one scan of `table` returned, anywhere in an EXPLAIN (FORMAT JSON) plan."""
    here = node["Actual Rows"] if node.get("Relation Name") == table else 0
    return max([here, *(_rows_read(child, table) for child in node.get("Plans", []))])


def _plan_of_a_backlog_without_statistics(  # noqa: PLR0913 - a scene: where, what waits, what runs
    store: PgProcessingStore | PgDeliveries,  # their own sessions, with their settings, are what count
    *,
    setup: Sequence[str],
    table: str,
    backlog: str,
    rows: int,
    statement: str,
    args: Sequence[object],
) -> dict[str, Any]:
    """`statement`'s plan as it ran (EXPLAIN ANALYZE) in one of the store's sessions, rolled back after.

    `table` holds `rows` rows made by `backlog` and has no statistics, as in a fresh database before
    autovacuum's first look: PostgreSQL then guesses how many rows match (0.5% for IS NULL).
    """

    async def explain() -> dict[str, Any]:
        await store.open()
        try:
            pool = getattr(store, "_pool", None)  # the store's own sessions, with their settings
            assert isinstance(pool, asyncpg.Pool)
            async with pool.acquire() as conn:
                undone = conn.transaction()
                await undone.start()
                for step in setup:
                    await conn.execute(step)
                await conn.execute("DELETE FROM pg_statistic WHERE starelid = $1::text::regclass", table)
                await conn.execute(backlog, rows)
                explained = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *args)
                await undone.rollback()
            return dict(json.loads(explained)[0]["Plan"])
        finally:
            await store.close()

    return asyncio.run(explain())


def test_the_relay_reads_a_batch_of_a_backlog_not_all_of_it_whatever_the_statistics_on_postgresql(
    store_url: str,
) -> None:
    """40,000 events wait (a broker away) and PostgreSQL has no statistics: one batch reads about a batch.

    Planned for the few waiting events an estimate promised, a claim had read and sorted every
    unsent event (on disk, past 40,000) for each batch of 500: a backlog drained in time that grew
    with its square. The claim also reads the events it took by key, never by a scan of the outbox.
    """
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        pytest.skip("SQLite keeps no statistics of its own unless asked")
    plan = _plan_of_a_backlog_without_statistics(
        backend_for(url).processing_store(),
        setup=["DELETE FROM outbox", "DELETE FROM pg_statistic WHERE starelid = 'outbox'::regclass"],
        table="outbox_pending",  # filled by the trigger, with the outbox
        backlog=_EVENTS,
        rows=40_000,
        statement=CLAIM_PENDING,
        args=[500],
    )
    assert plan["Actual Rows"] == 500
    for table in ("outbox", "outbox_pending"):
        read_at_most = _rows_read(plan, table)
        assert read_at_most <= 2 * 500, f"a scan of {table} returned {read_at_most} rows for a batch of 500"


_DUE_INVITATIONS = """
INSERT INTO invitations (id, organisation_id, order_ref, canonical_id, customer_key, email, sandbox, state, send_at,
                         explanation, created_at, updated_at)
SELECT gen_random_uuid(), 1, 'due-' || g, gen_random_uuid(), 'ref:c' || g, 'c@example.com', false, 'scheduled',
       now() - interval '1 day', '[]', now(), now()
  FROM generate_series(1, $1) g
"""


def test_the_sender_reads_a_batch_of_what_is_due_not_all_of_it_whatever_the_statistics_on_postgresql(
    store_url: str,
) -> None:
    """40,000 invitations due at once (a policy change) where PostgreSQL guesses a few: a claim of 50 reads 50."""
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        pytest.skip("SQLite keeps no statistics of its own unless asked")
    plan = _plan_of_a_backlog_without_statistics(
        backend_for(url).deliveries(),
        setup=[WALK_THE_INDEX],  # as the sender's claim runs it
        table="invitations",
        backlog=_DUE_INVITATIONS,
        rows=40_000,
        statement=due_rows_statement(Kind.INVITATION),
        args=[dt.datetime.now(dt.UTC), 50],
    )
    read_at_most = _rows_read(plan, "invitations")
    assert read_at_most == 50, f"a scan of invitations returned {read_at_most} rows for a batch of 50"
