"""Migrations: they build exactly the tables the code declares, and several processes may run them at once."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.migrate import MIGRATIONS
from order_intake.adapters.migrations import HEAD
from order_intake.adapters.schema import metadata
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
    """No drift between adapters/schema.py and what the migrations build."""
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
