"""Migrations: they build exactly the tables the code declares, and several processes may run them at once."""

import asyncio
import datetime as dt
import functools
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql.migrate import MIGRATIONS, alembic_upgrade
from order_intake.adapters.sql.migrations import HEAD
from order_intake.adapters.sql.schema import metadata
from tests.support.databases import database

BIN = Path(sys.executable).with_name("order-intake")


def test_head_constant_names_the_newest_migration() -> None:
    """The revision the fast start-up check compares with is Alembic's head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def _differences(connection: sa.Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def test_migrated_schema_matches_the_declared_tables(store_url: str) -> None:
    """No drift between adapters/sql/schema.py and what the migrations build."""
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        engine = sa.create_engine(url.sqlalchemy_url)
        with engine.connect() as conn:
            diffs = _differences(conn)
        engine.dispose()
    else:
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

        async def compare() -> list[object]:
            async_engine = create_async_engine(url.sqlalchemy_url)
            async with async_engine.connect() as conn:
                found = await conn.run_sync(_differences)
            await async_engine.dispose()
            return found

        diffs = asyncio.run(compare())
    assert diffs == []


def test_large_postgresql_columns_are_compressed_with_lz4(store_url: str) -> None:
    """Migration 0004: the large columns of submissions, canonical orders and the outbox use lz4 (ours has it)."""
    url = parse_database_url(store_url)
    if url.backend == "sqlite":
        pytest.skip("compression methods are PostgreSQL's")
    import asyncpg  # noqa: PLC0415

    async def methods() -> dict[tuple[str, str], str]:
        conn = await asyncpg.connect(url.dsn)
        try:
            rows = await conn.fetch(
                "SELECT attrelid::regclass::text AS t, attname, attcompression::text FROM pg_attribute"
                " WHERE attrelid IN ('submissions'::regclass, 'canonical_orders'::regclass, 'outbox'::regclass)"
                " AND attcompression <> ''"
            )
        finally:
            await conn.close()
        return {(r["t"], r["attname"]): r["attcompression"] for r in rows}

    assert asyncio.run(methods()) == {
        ("submissions", "body"): "l",
        ("submissions", "normalised"): "l",
        ("canonical_orders", "document"): "l",
        ("canonical_orders", "stamps"): "l",
        ("outbox", "payload"): "l",
    }


def test_several_processes_upgrading_one_new_database_at_once_all_succeed(backend: str, tmp_path: Path) -> None:
    """Four `db upgrade` started together on an empty database: every one exits 0."""
    with database(backend, tmp_path, "concurrent_upgrade") as url:
        processes = [
            subprocess.Popen(
                [str(BIN), "db", "upgrade"],
                env={"DATABASE_URL": url, "PATH": ""},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=60)[1] for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], errors


_ORDER = '{"trkref": "T1", "customer": {"email": "a@example.com"}, "order_items": [{"price": 55.99, "sku": "A"}]}'
_STAMPS = '{"customer.email": "2026-01-01T00:00:00+00:00/x", "order_items": "2026-01-01T00:00:00+00:00/y"}'


def test_documents_written_before_0005_read_back_the_same_after_it() -> None:
    """PostgreSQL's jsonb columns become json: rows already stored keep their documents, lz4 stays."""
    import asyncpg  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from order_intake.adapters.sql.migrate import upgrade  # noqa: PLC0415

    with database("postgres", Path(), "migrate_0005") as raw:
        url = parse_database_url(raw)

        async def at_0004_with_rows() -> None:
            engine = create_async_engine(url.sqlalchemy_url)
            async with engine.begin() as conn:
                await conn.run_sync(alembic_upgrade, "0004")
            await engine.dispose()
            db = await asyncpg.connect(url.dsn)
            await db.execute(
                "INSERT INTO organisations VALUES (1, 'T1', 'T', true, now());"
                " INSERT INTO api_keys (id, username, secret_salt, secret_hash, customer_order, created_at)"
                "  VALUES (1, 'k', '', '', true, now())"
            )
            await db.execute(
                "INSERT INTO submissions (id, organisation_id, api_key_id, received_at, body, normalised, order_ref)"
                " VALUES (gen_random_uuid(), 1, 1, now(), '', $1::jsonb, 'R1')",
                _ORDER,
            )
            await db.execute(
                "INSERT INTO canonical_orders"
                " VALUES (gen_random_uuid(), 1, 'R1', 1, $1::jsonb, $2::jsonb, now(), now())",
                _ORDER,
                _STAMPS,
            )
            await db.close()

        async def read() -> tuple[str, str, str, list[str]]:
            db = await asyncpg.connect(url.dsn)
            normalised = await db.fetchval("SELECT normalised::text FROM submissions")
            document, stamps = await db.fetchrow("SELECT document::text, stamps::text FROM canonical_orders")
            types = await db.fetch(
                "SELECT format_type(atttypid, atttypmod) || ' ' || attcompression::text FROM pg_attribute"
                " WHERE attname IN ('normalised', 'document', 'stamps') AND attrelid IN"
                " ('submissions'::regclass, 'canonical_orders'::regclass) ORDER BY attname"
            )
            await db.close()
            return normalised, document, stamps, [t[0] for t in types]

        asyncio.run(at_0004_with_rows())
        upgrade(url)
        normalised, document, stamps, types = asyncio.run(read())
    assert json.loads(normalised) == json.loads(document) == json.loads(_ORDER)
    assert json.loads(stamps) == json.loads(_STAMPS)
    assert types == ["json l", "json l", "json l"]


def test_sqlite_submissions_kept_whole_when_0006_copies_the_table_without_foreign_keys(tmp_path: Path) -> None:
    """SQLite drops a constraint by copying the table: every row, index and default must survive it."""
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "at_0005.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        alembic_upgrade(conn, "0005")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO organisations VALUES (1, 'T1', 'T', 1, '2026-01-01')")
        db.execute(
            "INSERT INTO api_keys (id, username, secret_salt, secret_hash, customer_order, created_at)"
            " VALUES (1, 'k', x'', x'', 1, '2026-01-01')"
        )
        db.executemany(
            "INSERT INTO submissions (id, organisation_id, api_key_id, received_at, body, normalised, order_ref)"
            " VALUES (?, 1, 1, '2026-01-01', x'7b7d', ?, ?)",
            [(f"id-{n}", _ORDER, f"R{n}") for n in range(3)],
        )
    before = _submission_rows(path)
    with engine.begin() as conn:
        alembic_upgrade(conn)
    with engine.connect() as conn:
        diffs = _differences(conn)
    engine.dispose()
    with sqlite3.connect(path) as db:
        foreign_keys = db.execute("PRAGMA foreign_key_list('submissions')").fetchall()
    assert (_submission_rows(path), diffs, foreign_keys) == (before, [], [])
    with sqlite3.connect(path) as db:  # accepted by default, so queued by 0009
        assert db.execute("SELECT submission_id FROM submission_queue ORDER BY seq").fetchall() == [
            (f"id-{n}",) for n in range(3)
        ]


def _submission_rows(path: Path) -> list[tuple[object, ...]]:
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT id, organisation_id, api_key_id, received_at, body, normalised, order_ref"
            " FROM submissions ORDER BY id"
        ).fetchall()


_AT_0008 = (
    "INSERT INTO organisations (id, trkref, name, customer_order_enabled, created_at) VALUES (1, 'T1', 'T', ?, ?)",
    (
        "INSERT INTO api_keys (id, username, secret_salt, secret_hash, customer_order, created_at)"
        " VALUES (1, 'k', ?, ?, ?, ?)"
    ),
)
_SUBMISSION_AT_0008 = (
    "INSERT INTO submissions (id, organisation_id, api_key_id, received_at, body, normalised, order_ref, state,"
    " processed_at, canonical_id) VALUES (?, 1, 1, ?, ?, ?, ?, ?, ?, ?)"
)


def _stored(backend: str, v: object) -> object:
    """A value as a query parameter of this backend: SQLite keeps UUIDs and times as text."""
    if backend == "postgres":
        return v
    return v.isoformat() if isinstance(v, dt.datetime) else str(v) if isinstance(v, uuid.UUID) else v


def test_0009_moves_each_submissions_state_into_the_queue_or_its_outcome(backend: str, tmp_path: Path) -> None:
    """Waiting submissions are queued in the order received, processed ones keep their outcome; new ones queue."""
    from order_intake.adapters.sql.migrate import upgrade  # noqa: PLC0415
    from tests.support.inspect_db import change_rows, fetch_rows  # noqa: PLC0415

    ids = [uuid.uuid4() for _ in range(4)]
    canonical = uuid.uuid4()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with database(backend, tmp_path, "migrate_0009") as raw:
        url = parse_database_url(raw)
        _upgrade_to(url, "0008")

        value = functools.partial(_stored, backend)

        enabled = True
        change_rows(raw, _AT_0008[0], enabled, value(start))
        change_rows(raw, _AT_0008[1], b"", b"", enabled, value(start))
        # Received newest first by id order: 3 waiting (received 3rd, 1st, 4th), one processed.
        for n, received in ((0, 2), (1, 0), (3, 3)):
            at = value(start + dt.timedelta(seconds=received))
            change_rows(raw, _SUBMISSION_AT_0008, value(ids[n]), at, b"{}", _ORDER, f"R{n}", "accepted", None, None)
        change_rows(
            raw,
            _SUBMISSION_AT_0008,
            value(ids[2]),
            value(start),
            b"{}",
            _ORDER,
            "R2",
            "processed",
            value(start),
            value(canonical),
        )
        upgrade(url)
        queued = [str(r[0]) for r in fetch_rows(raw, "SELECT submission_id FROM submission_queue ORDER BY seq")]
        outcomes = [
            tuple(map(str, r)) for r in fetch_rows(raw, "SELECT submission_id, canonical_id FROM submission_outcomes")
        ]
        new = uuid.uuid4()
        change_rows(
            raw,
            "INSERT INTO submissions (id, organisation_id, api_key_id, received_at, body, normalised, order_ref)"
            " VALUES (?, 1, 1, ?, ?, ?, 'R9')",
            value(new),
            value(start + dt.timedelta(seconds=9)),
            b"{}",
            _ORDER,
        )
        after = [str(r[0]) for r in fetch_rows(raw, "SELECT submission_id FROM submission_queue ORDER BY seq")]
    assert queued == [str(ids[1]), str(ids[0]), str(ids[3])]
    assert outcomes == [(str(ids[2]), str(canonical))]
    assert after == [*queued, str(new)]  # the trigger queues every new submission


def _upgrade_to(url: object, revision: str) -> None:
    _on_connection(url, lambda conn: alembic_upgrade(conn, revision))


def _downgrade_to(url: object, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    def down(conn: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)

    _on_connection(url, down)


def _on_connection(url: object, step: Callable[[sa.Connection], None]) -> None:
    """Run a migration step in one transaction of the database at `url`."""
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from order_intake.adapters.database_url import DatabaseUrl  # noqa: PLC0415

    assert isinstance(url, DatabaseUrl)
    if url.backend == "sqlite":
        engine = sa.create_engine(url.sqlalchemy_url)
        with engine.begin() as conn:
            step(conn)
        engine.dispose()
        return

    async def run() -> None:
        async_engine = create_async_engine(url.sqlalchemy_url)
        async with async_engine.begin() as conn:
            await conn.run_sync(step)
        await async_engine.dispose()

    asyncio.run(run())


def _plant_two_events(raw: str, value: Callable[[object], object], canonical: uuid.UUID, at: dt.datetime) -> None:
    """Two events of one order, made at `at`: version 1 sent then, version 2 not sent."""
    from tests.support.inspect_db import change_rows  # noqa: PLC0415

    for version, sent in ((1, value(at)), (2, None)):
        change_rows(
            raw,
            "INSERT INTO outbox (event_id, organisation_id, canonical_id, version, routing_key, payload,"
            " created_at, sent_at) VALUES (?, 1, ?, ?, 'T1', ?, ?, ?)",
            value(uuid.uuid4()),
            value(canonical),
            version,
            f'{{"version": {version}}}'.encode(),
            value(at),
            sent,
        )


def _two_events_at(
    raw: str, revision: str, value: Callable[[object], object], canonical: uuid.UUID, at: dt.datetime
) -> object:
    """The database at `revision`, its organisation enabled, with _plant_two_events' events; its parsed URL."""
    from tests.support.inspect_db import change_rows  # noqa: PLC0415

    url = parse_database_url(raw)
    _upgrade_to(url, revision)
    enabled = True
    change_rows(raw, _AT_0008[0], enabled, value(at))
    _plant_two_events(raw, value, canonical, at)
    return url


_FOREIGN_KEYS = {
    "sqlite": 'SELECT m.name, f."table" FROM sqlite_master m, pragma_foreign_key_list(m.name) f'
    " WHERE m.name IN ('canonical_orders', 'outbox')",
    "postgres": "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
    " WHERE c.contype = 'f' AND c.conrelid::regclass::text IN ('canonical_orders', 'outbox')",
}
_UNSENT_INDEX = {
    "sqlite": "SELECT sql FROM sqlite_master WHERE name = 'outbox_unsent'",
    "postgres": "SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_unsent'",
}


def test_0010_drops_the_organisation_keys_of_orders_and_events_and_keeps_their_rows(
    backend: str, tmp_path: Path
) -> None:
    """Canonical orders and events lose their foreign key; every row and the unsent events' index stay."""
    from tests.support.inspect_db import change_rows, fetch_rows  # noqa: PLC0415

    value = functools.partial(_stored, backend)

    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    canonical = uuid.uuid4()
    events = "SELECT id, event_id, canonical_id, version, payload, sent_at FROM outbox ORDER BY id"
    with database(backend, tmp_path, "migrate_0010") as raw:
        _upgrade_to(parse_database_url(raw), "0009")
        before_keys = sorted(fetch_rows(raw, _FOREIGN_KEYS[backend]))
        enabled = True
        change_rows(raw, _AT_0008[0], enabled, value(at))
        change_rows(
            raw,
            "INSERT INTO canonical_orders (id, organisation_id, order_ref, version, document, stamps, created_at,"
            " updated_at) VALUES (?, 1, 'R1', 2, ?, ?, ?, ?)",
            value(canonical),
            _ORDER,
            _STAMPS,
            value(at),
            value(at),
        )
        _plant_two_events(raw, value, canonical, at)
        orders = "SELECT id, organisation_id, order_ref, version, document, stamps FROM canonical_orders"
        rows_before = (fetch_rows(raw, orders), fetch_rows(raw, events))
        _upgrade_to(parse_database_url(raw), "0010")
        after_keys = fetch_rows(raw, _FOREIGN_KEYS[backend])
        rows_after = (fetch_rows(raw, orders), fetch_rows(raw, events))
        (unsent_index,) = fetch_rows(raw, _UNSENT_INDEX[backend])
    assert before_keys == [("canonical_orders", "organisations"), ("outbox", "organisations")]
    assert after_keys == []
    assert rows_after == rows_before
    assert len(rows_after[1]) == 2
    assert "WHERE" in unsent_index[0]
    assert "sent_at IS NULL" in unsent_index[0]


_OUTBOX_INDEXES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'",
    "postgres": "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'",
}
_OUTBOX_BEFORE_0011 = {
    "sqlite": {"sqlite_autoindex_outbox_1", "outbox_unsent"},  # the first: event_id's unique constraint
    "postgres": {"outbox_pkey", "outbox_event_id_key", "outbox_unsent"},
}


def test_0011_indexes_events_by_their_order_in_place_of_event_id_and_keeps_every_event(
    backend: str, tmp_path: Path
) -> None:
    """Events keep their rows; event_id's unique index goes, canonical_id gets one; downgrade puts it back."""
    from tests.support.inspect_db import fetch_rows  # noqa: PLC0415

    value = functools.partial(_stored, backend)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    events = "SELECT id, event_id, canonical_id, version, payload, sent_at FROM outbox ORDER BY id"
    with database(backend, tmp_path, "migrate_0011") as raw:
        url = _two_events_at(raw, "0010", value, uuid.uuid4(), at)
        indexes_before = {row[0] for row in fetch_rows(raw, _OUTBOX_INDEXES[backend])}
        rows_before = fetch_rows(raw, events)
        _upgrade_to(url, "0011")
        indexes_after = {row[0] for row in fetch_rows(raw, _OUTBOX_INDEXES[backend])}
        rows_after = fetch_rows(raw, events)
        (unsent_index,) = fetch_rows(raw, _UNSENT_INDEX[backend])
        _downgrade_to(url, "0010")
        indexes_down = {row[0] for row in fetch_rows(raw, _OUTBOX_INDEXES[backend])}
    assert indexes_before == _OUTBOX_BEFORE_0011[backend]
    assert indexes_after == _OUTBOX_BEFORE_0011[backend] - {"sqlite_autoindex_outbox_1", "outbox_event_id_key"} | {
        "outbox_canonical"
    }
    assert rows_after == rows_before
    assert len(rows_after) == 2
    assert "sent_at IS NULL" in unsent_index[0]
    assert indexes_down == indexes_before


_OUTBOX_COLUMNS = {
    "sqlite": "SELECT name FROM pragma_table_info('outbox')",
    "postgres": "SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'",
}


def test_0012_lists_the_unsent_events_and_keeps_the_list_as_events_come_and_go(backend: str, tmp_path: Path) -> None:
    """The unsent event is listed, the sent one not; new events are listed, deleted ones leave; downgrade undoes it."""
    from order_intake.adapters.sql.migrate import upgrade  # noqa: PLC0415
    from tests.support.inspect_db import change_rows, fetch_rows  # noqa: PLC0415

    value = functools.partial(_stored, backend)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    canonical = uuid.uuid4()
    pending = "SELECT e.version FROM outbox_pending p JOIN outbox e ON e.id = p.id ORDER BY e.version"
    events = "SELECT id, event_id, canonical_id, version, payload FROM outbox ORDER BY id"
    with database(backend, tmp_path, "migrate_0012") as raw:
        url = _two_events_at(raw, "0011", value, canonical, at)
        rows_before = fetch_rows(raw, events)
        upgrade(url)
        listed = [row[0] for row in fetch_rows(raw, pending)]
        rows_after = fetch_rows(raw, events)
        columns = {row[0] for row in fetch_rows(raw, _OUTBOX_COLUMNS[backend])}
        index_left = fetch_rows(raw, _UNSENT_INDEX[backend])
        change_rows(
            raw,
            "INSERT INTO outbox (event_id, organisation_id, canonical_id, version, routing_key, payload, created_at)"
            " VALUES (?, 1, ?, 3, 'T1', ?, ?)",
            value(uuid.uuid4()),
            value(canonical),
            b'{"version": 3}',
            value(at),
        )
        with_new = [row[0] for row in fetch_rows(raw, pending)]
        change_rows(raw, "DELETE FROM outbox WHERE version = 2")
        after_delete = [row[0] for row in fetch_rows(raw, pending)]
        _downgrade_to(url, "0011")
        sent_down = fetch_rows(raw, "SELECT version, sent_at IS NULL FROM outbox ORDER BY version")
        (unsent_index,) = fetch_rows(raw, _UNSENT_INDEX[backend])
    assert listed == [2]  # version 1 was sent
    assert rows_after == rows_before
    assert "sent_at" not in columns
    assert index_left == []
    assert with_new == [2, 3]  # the trigger lists every new event
    assert after_delete == [3]  # and forgets a deleted one
    assert [(v, bool(unsent)) for v, unsent in sent_down] == [(1, False), (3, True)]
    assert "sent_at IS NULL" in unsent_index[0]
